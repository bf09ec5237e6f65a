"""Offline IP country and AS data (geoip2fast + iptocc) and the EU jurisdiction of a country."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.attribute.geo import GeoDB
from analysis.attribute.geo import RirDelegations
from analysis.attribute.geo import default_geodb
from analysis.attribute.geo import ip_scope
from analysis.attribute.jurisdiction import default_jurisdiction
from analysis.attribute.jurisdiction import load_jurisdiction
from analysis.errors import PrivlabError


@pytest.fixture(scope="module")
def geo() -> GeoDB:
    return default_geodb()


@pytest.mark.parametrize(
    ("ip", "scope"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.2.15", "private"),
        ("192.168.1.11", "private"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("8.8.8.8", "public"),
        ("not an ip", "invalid"),
    ],
)
def test_ip_scope(ip: str, scope: str) -> None:
    assert ip_scope(ip) == scope


def test_loopback_and_private_are_never_looked_up(geo: GeoDB) -> None:
    for ip, label in (("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.2.15", "private")):
        info = geo.lookup(ip)
        assert info.country == label and info.registered_country == label
        assert info.asn == ""  # geoip2fast itself would answer "IANA.ORG" (and maps ::1 to 0.0.0.0/8)


def test_known_addresses_both_sources(geo: GeoDB) -> None:
    google = geo.lookup("8.8.8.8")
    assert (google.country, google.registered_country, google.asn) == ("US", "US", "GOOGLE")
    assert google.asn_prefix == "8.8.8.0/24"
    bd = geo.lookup("130.44.212.1")
    assert bd.asn == "BYTEDANCE"
    v6 = geo.lookup("2001:4860:4860::8888")
    assert v6.country == "US" and v6.asn == "GOOGLE"
    # A CDN range: the geolocated and the registered country disagree, and both are reported.
    akamai = geo.lookup("23.32.0.1")
    assert akamai.country == "BR" and akamai.registered_country == "US"


def test_sources_are_named_and_dated(geo: GeoDB) -> None:
    g, r = geo.sources
    assert g.kind == "geolocated" and "GeoLite2" in g.data and g.date == "2024-06-18"
    assert r.kind == "registered" and r.data.startswith("IPTOCC:") and r.date >= "2026-01-01"
    info = geo.lookup("8.8.8.8")
    assert info.geo_source == g.data and info.registry_source == r.data
    assert "2024-06-18" in g.label() and "geolocated" in g.label()


def test_user_geoip_file_errors(tmp_path: Path) -> None:
    bogus = tmp_path / "geo.dat.gz"
    bogus.write_bytes(b"not gzip at all")
    with pytest.raises(PrivlabError, match="geo.dat.gz: not a geoip2fast"):
        GeoDB(bogus)
    with pytest.raises(PrivlabError, match="not found"):
        GeoDB(tmp_path / "missing.dat.gz")


def test_user_geoip_file_is_used(geo: GeoDB) -> None:
    # The bundled IPv4-only ASN file, named explicitly as a user would name a newer one.
    path = Path(geo.geo_source.path).with_name("geoip2fast-asn.dat.gz")
    other = GeoDB(path)
    assert other.geo_source.path == str(path) and other.geo_source.data != geo.geo_source.data
    assert other.lookup("8.8.8.8").asn == "GOOGLE"
    # The default database still answers correctly after the other one was loaded (geoip2fast keeps its
    # tables in module globals): an IPv6 address, not cached yet, which the IPv4-only file cannot answer.
    assert geo.lookup("2001:4860:4860::8844").asn == "GOOGLE"


RIR_SAMPLE = """2|ripencc|20261101|4|19830705|20261031|+0100
ripencc|*|ipv4|*|2|summary
ripencc|*|ipv6|*|1|summary
ripencc|IE|ipv4|185.0.0.0|1024|20120101|allocated|abc
ripencc|SG|ipv4|185.0.4.0|256|20120101|assigned|def
ripencc|DE|ipv6|2a00:1450::|32|20090101|allocated|ghi
ripencc||ipv4|185.0.5.0|256||available
"""


def test_rir_delegation_files(tmp_path: Path) -> None:
    f = tmp_path / "delegated-ripencc-extended-latest"
    f.write_text(RIR_SAMPLE)
    rir = RirDelegations([f])
    assert rir.country("185.0.3.255") == "IE"
    assert rir.country("185.0.4.1") == "SG"
    assert rir.country("185.0.5.1") is None  # available, not allocated
    assert rir.country("2a00:1450:4001::1") == "DE"
    assert rir.source.date == "2026-10-31" and rir.source.kind == "registered"
    db = GeoDB(rir_files=[f])
    assert db.lookup("185.0.0.1").registered_country == "IE"
    assert db.registry_source.data.startswith("RIR:")
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n")
    with pytest.raises(PrivlabError, match="no ipv4/ipv6 allocations"):
        RirDelegations([empty])


# -- jurisdiction -------------------------------------------------------------------------------------


def test_jurisdiction_classify() -> None:
    j = default_jurisdiction()
    assert j.as_of and len(j.eea) == 30
    assert j.classify("IE").status == "EEA"
    assert j.classify("NO").status == "EEA"  # EEA, not EU
    assert j.classify("CH").status == "adequacy" and "2000/518/EC" in j.classify("CH").basis
    assert j.classify("JP").status == "adequacy" and "APPI" in j.classify("JP").note
    assert j.classify("CN").status == "third-country"
    assert j.classify("SG").status == "third-country"
    assert j.classify("loopback").status == "unknown"
    assert j.classify(None).status == "unknown"


def test_us_adequacy_only_for_certified_organisations() -> None:
    j = default_jurisdiction()
    assert j.classify("US").status == "third-country"
    assert "not established" in j.classify("US").note
    assert j.classify("US", certified=False).status == "third-country"
    certified = j.classify("US", certified=True)
    assert certified.status == "adequacy" and "2023/1795" in certified.basis


def test_jurisdiction_combine_takes_the_least_protected() -> None:
    j = default_jurisdiction()
    assert j.combine(["IE", "DE"]).status == "EEA"
    assert j.combine(["IE", "CH"]).status == "adequacy"
    assert j.combine(["IE", "SG", "CH"]).status == "third-country"
    assert j.combine(["loopback", "private"]).status == "unknown"
    assert j.combine(["loopback", "DE"]).status == "EEA"


def test_jurisdiction_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "j.toml"
    bad.write_text('as_of = "x"\n')
    with pytest.raises(PrivlabError, match="j.toml: malformed jurisdiction data"):
        load_jurisdiction(bad)

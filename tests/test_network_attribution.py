"""IP-only hosts: the network that announces the address, as a last and clearly weaker basis.

The AS organisation names come from geoip2fast's bundled MaxMind GeoLite2 ASN data (the real, offline
data privlab ships with); the addresses below were looked up there by hand (sources.toml,
`geoip2fast-asn`): 157.240.20.15 -> FACEBOOK 157.240.0.0/17 (graph.facebook.com's server in the
ReportHAR capture), 71.18.0.1 -> BYTEDANCE 71.18.0.0/21, 52.1.1.1 -> AMAZON-AES, 34.1.1.1 -> GOOGLE.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.attribute.destinations import NETWORK_BASIS
from analysis.attribute.destinations import build_destinations
from analysis.attribute.entities import RegistryError
from analysis.attribute.entities import load_registry
from analysis.attribute.geo import default_geodb
from analysis.findings.coverage import registry_coverage
from analysis.findings.model import Coverage
from analysis.schema import FLOWS


def _flows(hosts: list[str]) -> pd.DataFrame:
    base = {"t_request": pd.Timestamp("2026-11-28", tz="UTC"), "via": "proxy", "request_body_size": 10,
            "response_body_size": 0, "client": "10.0.2.16:40000", "server_port": 443, "path": "/"}  # fmt: skip
    rows = [{**base, "flow_id": f"f{i}", "host": h, "server_ip": h} for i, h in enumerate(hosts)]
    return pd.DataFrame(rows, columns=FLOWS.names)


def test_ip_only_hosts_by_their_network_operator_never_by_a_cloud() -> None:
    hosts = ["157.240.20.15", "71.18.0.1", "52.1.1.1", "34.1.1.1", "198.51.100.9"]
    dest = build_destinations(_flows(hosts), None, "tld.sample.app", load_registry(), default_geodb())
    rows = {r["host"]: r for r in dest.to_dict("records")}
    meta = rows["157.240.20.15"]
    # Before: entity None, party unknown, "an IP address with no host name in the session ...".
    assert (meta["entity"], meta["party"]) == ("Meta", "third")
    assert (
        f"basis: {NETWORK_BASIS}: 157.240.20.15 is in 157.240.0.0/17 announced by FACEBOOK"
        in meta["party_reason"]
    )
    assert "weaker than a host name" in meta["party_reason"]
    assert "geoip2fast" in meta["sources"] and "2024-06-18" in meta["sources"]
    bd = rows["71.18.0.1"]
    assert (bd["entity"], bd["party"]) == ("ByteDance", "third") and "BYTEDANCE" in bd["party_reason"]
    for ip, provider in (("52.1.1.1", "Amazon Web Services"), ("34.1.1.1", "Google (Google Cloud")):
        r = rows[ip]
        assert pd.isna(r["entity"]) and r["party"] == "unknown", ip
        assert (
            f"hosted at {provider}" in r["party_reason"]
            and "does not identify the owner" in r["party_reason"]
        )
    # A network the registry does not know says nothing: the plain reason stays.
    assert rows["198.51.100.9"]["party_reason"].startswith("an IP address with no host name in the session")
    # For TikTok, ByteDance's own network is first party (same ultimate parent).
    tt = build_destinations(
        _flows(["71.18.0.1"]), None, "com.zhiliaoapp.musically", load_registry(), default_geodb()
    )
    assert tt["party"].tolist() == ["first"]
    # The registry coverage line counts the network-attributed hosts as attributed and says how.
    c = Coverage()
    registry_coverage(c, dest)
    assert (c.registry_hosts, c.registry_hosts_attributed) == (5, 2)
    assert any(f"2 only by their {NETWORK_BASIS}" in n for n in c.notes)


def test_a_network_cannot_be_both_an_operator_and_a_host_of_others(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[source.me]\ntitle = "my notes"\n\n[[entity]]\nid = "acme"\nname = "Acme"\n'
        '[entity.networks]\n"AMAZON-02" = ["me"]\n'
    )
    with pytest.raises(RegistryError, match="AMAZON-02.*also listed as a hosting network"):
        load_registry([extra])
    bad = tmp_path / "bad.toml"
    bad.write_text('[hosting_network."X-NET"]\nprovider = "X"\nsources = ["nowhere"]\n')
    with pytest.raises(RegistryError, match="hosting network 'X-NET' cites unknown source 'nowhere'"):
        load_registry([bad])

"""Attribution breadth: the proxy's own page is no destination, IP-only hosts joined to the names the same
session gave their address, `--registry` on analyze and report, and the registry's coverage line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.analyze.load import load_session
from analysis.attribute.destinations import build_destinations
from analysis.attribute.entities import load_registry
from analysis.attribute.geo import default_geodb
from analysis.capture.import_ import import_capture
from analysis.cli import main
from analysis.ingest.packets import rows_to_frame
from analysis.schema import FLOWS

DIFF_DATA = Path(__file__).parent / "data" / "mitm_dumps" / "flows" / "diff_data.har"


def _flows(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"t_request": pd.Timestamp("2026-11-28", tz="UTC"), "via": "proxy", "request_body_size": 10,
            "response_body_size": 0, "client": "10.0.2.16:40000", "server_port": 443}  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows], columns=FLOWS.names)


def test_mitm_it_is_the_proxy_not_a_destination() -> None:
    flows = _flows([
        {"flow_id": "a", "host": "mitm.it", "server_ip": None, "path": "/cert/pem"},
        {"flow_id": "b", "host": "graph.facebook.com", "server_ip": "157.240.20.15", "path": "/v14.0/x"},
    ])  # fmt: skip
    dest = build_destinations(flows, None, "tld.sample.app", load_registry(), default_geodb())
    assert list(dest["host"]) == ["graph.facebook.com"]  # before: mitm.it was a destination too


def test_ip_only_host_takes_the_owner_of_the_name_the_session_gave_its_address() -> None:
    flows = _flows([
        {"flow_id": "a", "host": "graph.facebook.com", "server_ip": "157.240.20.15", "path": "/x"},
        {"flow_id": "b", "host": "157.240.20.15", "server_ip": "157.240.20.15", "path": "/y"},
        {"flow_id": "c", "host": "35.186.205.6", "server_ip": "35.186.205.6", "path": "/"},
        {"flow_id": "d", "host": "198.51.100.9", "server_ip": "198.51.100.9", "path": "/"},
    ])  # fmt: skip
    dns = rows_to_frame([
        {"t": 1.7e9, "proto": "dns", "src": "8.8.8.8:53", "dst": "10.0.2.16:5000", "dns_qname": "notify.bugsnag.com",
         "dns_qtype": "A", "dns_response": True, "dns_answers": ["35.186.205.6"], "bytes": 90, "packets": 1},
    ])  # fmt: skip
    dest = build_destinations(flows, dns, "tld.sample.app", load_registry(), default_geodb())
    rows = {h: r for h, r in zip(dest["host"], dest.to_dict("records"), strict=True)}
    assert (
        rows["157.240.20.15"]["entity"] == "Meta"
        and "via graph.facebook.com" in rows["157.240.20.15"]["party_reason"]
    )
    assert (
        rows["35.186.205.6"]["entity"] == "Bugsnag"
        and "via notify.bugsnag.com" in rows["35.186.205.6"]["party_reason"]
    )
    assert pd.isna(rows["198.51.100.9"]["entity"]) and rows["198.51.100.9"]["party"] == "unknown"
    assert "IP address" in rows["198.51.100.9"]["party_reason"]


@pytest.mark.parametrize(
    ("host", "entity", "root"),
    [
        ("sessions.bugsnag.com", "Bugsnag", "SmartBear"),
        ("api2.amplitude.com", "Amplitude", "Amplitude"),
        ("abc123.device.marketingcloudapis.com", "Salesforce Marketing Cloud", "Salesforce"),
        ("decision.flagship.io", "AB Tasty", "AB Tasty"),
        ("try.abtasty.com", "AB Tasty", "AB Tasty"),
        ("app-analytics-services.com", "Firebase", "Alphabet"),
        ("g.alicdn.com", "Alibaba", "Alibaba"),
        ("h5api.m.taobao.com", "Alibaba", "Alibaba"),
    ],
)
def test_registry_knows_the_vendors_real_captures_showed(host: str, entity: str, root: str) -> None:
    reg = load_registry()
    e = reg.entity_for_host(host)
    assert e is not None and e.name == entity and reg.root(e).name == root
    assert all(e.sources_of(f"domain:{d}") for d in e.domains)  # every domain has a cited source


def _slack_registry(tmp_path: Path) -> Path:
    p = tmp_path / "extra.toml"
    p.write_text(
        '[source.test-list]\ntitle = "a list the analyst brings (test)"\nurl = ""\ndate = "2026"\n'
        'checked = "test"\n\n[[entity]]\nid = "slack"\nname = "Slack"\nlegal_name = "Slack Technologies, LLC"\n'
        'parent = ""\nhq_country = "US"\ncategories = ["productivity"]\n\n[entity.facts]\n'
        'legal_name = ["test-list"]\nhq_country = ["test-list"]\n\n[entity.domains]\n"slack.com" = ["test-list"]\n'
    )
    return p


def test_registry_option_on_analyze_and_report_and_the_coverage_line(tmp_path: Path) -> None:
    s = import_capture(DIFF_DATA, tmp_path, app="com.android.chrome", owner="Google").session
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", str(s.path)])
    assert out.exit_code == 0, out.output
    dest = load_session(s.path, refresh=False).destinations
    assert dest.loc[dest["host"] == "slack.com", "entity"].isna().all()
    extra = _slack_registry(tmp_path)
    out = runner.invoke(main, ["analyze", str(s.path), "--registry", str(extra)])
    assert out.exit_code == 0, out.output
    dest = load_session(s.path, refresh=False).destinations
    row = dest[dest["host"] == "slack.com"].iloc[0]
    assert (row["entity"], row["party"]) == ("Slack", "third")
    rep = runner.invoke(main, ["report", str(s.path), "--format", "json,html", "--registry", str(extra)])
    assert rep.exit_code == 0, rep.output
    doc = json.loads((s.path / "report" / "findings.json").read_text())
    cov = doc["coverage"]
    assert (cov["registry_hosts"], cov["registry_hosts_attributed"], cov["registry_unattributed"]) == (
        5,
        4,
        ["www.vskills.in"],
    )
    assert "Hosts the entity registry attributes" in (s.path / "report" / "report.html").read_text()


# -- the first party, from each source in turn ------------------------------------------------------------


def _fp(**kw: object):  # type: ignore[no-untyped-def]
    from analysis.attribute.domains import default_namer
    from analysis.attribute.parties import establish

    return establish(load_registry(), default_namer(), **kw)  # type: ignore[arg-type]


def _party(fp: object, host: str) -> tuple[str, str]:
    from analysis.attribute.domains import default_namer
    from analysis.attribute.parties import classify

    reg = load_registry()
    return classify(fp, reg, default_namer(), host, reg.entity_for_host(host))  # type: ignore[arg-type]


def test_first_party_from_the_registry_publisher() -> None:
    fp = _fp(package="com.zhiliaoapp.musically")
    assert fp.owner is not None and fp.owner.name == "TikTok"
    assert _party(fp, "api16-normal-c-useast1a.tiktokv.com")[0] == "first"
    assert _party(fp, "api16-access-sg.pangle.io")[0] == "first"  # ByteDance's own, by ownership
    party, why = _party(fp, "graph.facebook.com")
    assert party == "third" and "Meta" in why and "TikTok" in why


def test_first_party_from_the_package_name_and_the_apks_certificate() -> None:
    static = {
        "app": {"package": "com.spotify.music"},
        "signing": {"certificates": [{"subject": "CN=Spotify, OU=Spotify, O=Spotify AB, C=SE"}]},
    }
    fp = _fp(static=static)
    assert fp.package == "com.spotify.music" and fp.domains == ("spotify.com",)
    assert fp.owner_name == "Spotify AB"
    assert any("certificate" in b for b in fp.basis) and any("spotify.com" in b for b in fp.basis)
    assert _party(fp, "spclient.wg.spotify.com") == ("first", "spotify.com is the app's own domain")
    assert _party(fp, "app-measurement.com")[0] == "third"
    party, why = _party(fp, "api.example-unknown.net")
    assert party == "unknown" and "not in the entity registry" in why


def test_declared_owner_in_the_registry() -> None:
    fp = _fp(package="com.example.shop", declared_owner="Alibaba")
    assert fp.owner is not None and fp.owner.name == "Alibaba"
    assert _party(fp, "g.alicdn.com")[0] == "first"
    assert _party(fp, "sessions.bugsnag.com")[0] == "third"
    assert "example.com" not in fp.domains  # "example" is not a company's name


def test_ip_only_host_joined_through_a_pcap_sni() -> None:
    # The proxy saw a request to a bare IP; the pcap saw a TLS connection to that IP with an SNI.
    flows = _flows([{"flow_id": "a", "host": "34.120.5.9", "server_ip": "34.120.5.9", "path": "/v1/e"}])
    packets = rows_to_frame([
        {"t": 1.7e9, "t_last": 1.7e9 + 2, "proto": "tcp", "src": "10.0.2.16:41000", "dst": "34.120.5.9:443",
         "app": "tls", "sni": "api2.amplitude.com", "bytes": 5000, "bytes_up": 3000, "bytes_down": 2000,
         "packets": 12, "note": ""},
    ])  # fmt: skip
    dest = build_destinations(flows, packets, "tld.sample.app", load_registry(), default_geodb())
    row = dest[dest["host"] == "34.120.5.9"].iloc[0]
    assert row["entity"] == "Amplitude" and "via api2.amplitude.com" in row["party_reason"]

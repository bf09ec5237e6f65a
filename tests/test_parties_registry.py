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

"""Destinations: owner, party, purpose, IPs with dated country/AS data, jurisdiction; proxy vs pcap line-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from analysis.attribute.destinations import build_destinations
from analysis.attribute.destinations import pcap_only_connections
from analysis.attribute.destinations import pcap_only_flows
from analysis.attribute.destinations import split_endpoint
from analysis.attribute.entities import Registry
from analysis.attribute.entities import load_registry
from analysis.attribute.geo import GeoDB
from analysis.attribute.geo import default_geodb
from analysis.ingest.packets import build_packets
from analysis.ingest.packets import rows_to_frame
from analysis.ingest.tables import flows_table
from analysis.schema import DESTINATIONS
from analysis.schema import FLOWS
from analysis.session.flows import read_flows

TIKTOK = "com.zhiliaoapp.musically"


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry()


@pytest.fixture(scope="module")
def geo() -> GeoDB:
    return default_geodb()


def by_host(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Destination rows keyed by host, cells as plain Python values (None for missing)."""
    return {
        str(r["host"]): {
            str(k): (None if v is None or (isinstance(v, float) and pd.isna(v)) else v) for k, v in r.items()
        }
        for r in df.to_dict("records")
    }


def _flows(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"t_request": pd.Timestamp("2026-11-28", tz="UTC"), "via": "proxy", "request_body_size": 0,
            "response_body_size": 0}  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows], columns=FLOWS.names)


def test_split_endpoint() -> None:
    assert split_endpoint("127.0.0.1:443") == ("127.0.0.1", 443)
    assert split_endpoint("[::1]:443") == ("::1", 443)
    assert split_endpoint("::1:443") == ("::1", 443)  # mitmproxy's "ip:port" for IPv6, no brackets
    assert split_endpoint("[::ffff:10.0.2.2]:8080") == ("10.0.2.2", 8080)
    assert split_endpoint("") == (None, None)


def test_control_app_session_flows_and_pcap_line_up(sample_session: Path, reg: Registry, geo: GeoDB) -> None:
    """The sample is a control-app capture with --pcap: every flow has its connection in the pcap and
    every data-carrying connection in the pcap belongs to a flow."""
    flows = flows_table(read_flows(sample_session / "flows.jsonl")).to_pandas()
    packets = build_packets(sample_session / "traffic.pcap")
    assert pcap_only_connections(flows, packets).empty
    conns = packets[packets["proto"] == "tcp"]
    conn_srcs = {split_endpoint(s) for s in conns["src"]}
    assert {split_endpoint(c) for c in flows["client"]} <= conn_srcs
    pcap_snis = set(packets.loc[packets["proto"] == "tls", "sni"].dropna())
    flow_snis = set(flows["sni"].dropna())
    assert flow_snis and flow_snis <= pcap_snis

    dest = build_destinations(flows, packets, TIKTOK, reg, geo)
    assert set(flows["host"].str.lower()) == set(dest["host"])
    assert (dest["via"] == "proxy").all()
    assert dest["flows"].sum() == len(flows)
    rows = by_host(dest)
    for host in ("log-va.tiktokv.com", "api16-normal-c-useast1a.tiktokv.com", "mon-va.byteoversea.com"):
        assert rows[host]["party"] == "first", host
        assert rows[host]["hq_jurisdiction"] == "third-country", host  # ByteDance: HQ in China
    assert rows["log-va.tiktokv.com"]["parent"] == "ByteDance"
    assert rows["mon-va.byteoversea.com"]["parent"] is None  # ByteDance itself has none
    assert rows["api16-access-sg.pangle.io"]["entity"] == "Pangle"
    assert rows["api16-access-sg.pangle.io"]["category"] == "ads"
    assert rows["api16-access-sg.pangle.io"]["party"] == "first"
    for host in ("t.appsflyer.com", "graph.facebook.com", "www.googleadservices.com"):
        assert rows[host]["party"] == "third", host
    assert "device registration" in rows["log-va.tiktokv.com"]["purpose"]
    # The lab proxy connects to a loopback server: the country is "loopback", never a lookup guess.
    for host, r in rows.items():
        for ip, country, evidence in zip(r["ips"], r["ip_countries"], r["ip_evidence"], strict=True):
            if "flow" in evidence:
                assert (ip, country) == ("127.0.0.1", "loopback"), host
    assert rows["log-va.tiktokv.com"]["jurisdiction"] == "unknown"
    # The lab upstream is reached without DNS: only the address the proxy really connected to is known,
    # and no country is guessed for it.
    api = rows["api16-normal-c-useast1a.tiktokv.com"]
    assert list(api["ips"]) == ["127.0.0.1"] and list(api["ip_evidence"]) == ["flow"]
    assert api["jurisdiction"] == "unknown"
    table = pa.Table.from_pandas(dest, schema=DESTINATIONS, preserve_index=False)
    assert table.num_rows == len(dest)


def test_dns_answers_give_countries_and_jurisdiction(reg: Registry, geo: GeoDB) -> None:
    flows = _flows(
        [
            {"flow_id": "a", "client": "10.0.2.15:40000", "server_ip": "127.0.0.1", "server_port": 443,
             "host": "log-va.tiktokv.com", "sni": "log-va.tiktokv.com", "path": "/service/2/device_register/",
             "request_body_size": 500, "response_body_size": 20},
            {"flow_id": "b", "client": "10.0.2.15:40001", "server_ip": "8.8.8.8", "server_port": 443,
             "host": "app-measurement.com", "path": "/a", "request_body_size": 10},
        ]
    )  # fmt: skip
    packets = rows_to_frame(
        [
            {"t": 1.0, "proto": "dns", "src": "10.0.2.3:53", "dst": "10.0.2.15:5000", "dns_qname": "log-va.tiktokv.com",
             "dns_qtype": "A", "dns_response": True, "dns_answers": ["log-va.tiktokv.com.edgekey.net", "130.44.212.1"]},
        ]
    )  # fmt: skip
    dest = build_destinations(flows, packets, TIKTOK, reg, geo).set_index("host")
    log = dest.loc["log-va.tiktokv.com"]
    assert log.ips == ["127.0.0.1", "130.44.212.1"]
    assert log.ip_evidence == ["flow", "dns"]
    assert log.ip_countries == ["loopback", "US"] and log.asn == ["", "BYTEDANCE"]
    # US: adequacy only for DPF-certified organisations, which is not established here.
    assert log.jurisdiction == "third-country" and "certification" in log.jurisdiction_note
    assert log.category == "device-registration" and log.bytes == 520
    fb = dest.loc["app-measurement.com"]
    assert (fb.entity, fb.parent, fb.party, fb.asn) == ("Firebase", "Alphabet", "third", ["GOOGLE"])
    assert "2024-06-18" in fb.sources and "Public Suffix List" in fb.sources and "X-Ray" in fb.sources


def test_pcap_only_destination_named_by_dns(reg: Registry, geo: GeoDB) -> None:
    """A QUIC connection without SNI the proxy never saw: named by the DNS answer the device got."""
    flows = _flows([{"flow_id": "a", "client": "10.0.2.15:40000", "server_ip": "127.0.0.1", "server_port": 443,
                     "host": "api16-normal-c-useast1a.tiktokv.com"}])  # fmt: skip
    packets = rows_to_frame(
        [
            {"t": 1.0, "proto": "dns", "src": "10.0.2.3:53", "dst": "10.0.2.15:5000", "dns_qname": "v16m.tiktokcdn.com",
             "dns_qtype": "A", "dns_response": True, "dns_answers": ["23.32.0.1"]},
            {"t": 2.0, "proto": "udp", "src": "10.0.2.15:45000", "dst": "23.32.0.1:443", "app": "quic",
             "bytes": 9000, "packets": 12, "note": "client Initial not decryptable"},
            {"t": 3.0, "proto": "tcp", "src": "10.0.2.15:40000", "dst": "10.0.2.2:8080", "app": "tls",
             "sni": "api16-normal-c-useast1a.tiktokv.com", "bytes": 4000, "packets": 10},
            {"t": 4.0, "proto": "tcp", "src": "10.0.2.15:40005", "dst": "10.0.2.2:8080", "bytes": 120,
             "packets": 2, "note": "no payload"},
        ]
    )  # fmt: skip
    dest = build_destinations(flows, packets, TIKTOK, reg, geo).set_index("host")
    cdn = dest.loc["v16m.tiktokcdn.com"]
    assert (cdn.via, cdn.flows, cdn.bytes, cdn.entity, cdn.party, cdn.category) == (
        "pcap-only",
        0,
        9000,
        "TikTok",
        "first",
        "cdn",
    )
    # Akamai: geolocated BR, registered US -- both reported, labelled.
    assert cdn.ip_countries == ["BR"] and cdn.ip_registered_countries == ["US"]
    assert sorted(cdn.ip_evidence[0].split(",")) == ["dns", "pcap"]
    assert dest.loc["api16-normal-c-useast1a.tiktokv.com", "via"] == "proxy"
    assert "10.0.2.2" not in dest.index  # the empty probe connection is not a destination
    extra = pcap_only_flows(flows, packets)
    assert list(extra["server_ip"]) == ["23.32.0.1"] and list(extra["via"]) == ["pcap-only"]
    assert extra.iloc[0].flow_id.startswith("pcap:") and "not decryptable" in extra.iloc[0].error
    assert pa.Table.from_pandas(extra, schema=FLOWS, preserve_index=False).num_rows == 1


def test_unknown_app_and_empty_inputs(reg: Registry, geo: GeoDB) -> None:
    flows = _flows([{"flow_id": "a", "client": "1.2.3.4:1", "server_ip": "127.0.0.1", "server_port": 443,
                     "host": "graph.facebook.com"}])  # fmt: skip
    dest = build_destinations(flows, None, "org.example.unknown", reg, geo)
    # Issue 13: a known SDK vendor the registry does not name as the app's publisher is third party
    # (it was "unknown" before); the reason says which app and why.
    assert list(dest["party"]) == ["third"] and list(dest["entity"]) == ["Meta"]
    assert "org.example.unknown" in dest["party_reason"].iloc[0]
    nobody = build_destinations(flows, None, None, reg, geo)
    assert list(nobody["party"]) == ["unknown"] and "not established" in nobody["party_reason"].iloc[0]
    empty = build_destinations(_flows([]), None, TIKTOK, reg, geo)
    assert empty.empty and list(empty.columns) == DESTINATIONS.names

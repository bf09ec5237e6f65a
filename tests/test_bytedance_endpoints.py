"""ByteDance endpoint purposes (data file and loader), and the coverage statement of ByteDance's layer."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from analysis.analyze.evidence import load_evidence
from analysis.analyze.load import load_session
from analysis.attribute.bytedance_endpoints import PURPOSES
from analysis.attribute.bytedance_endpoints import default_endpoints
from analysis.attribute.bytedance_endpoints import endpoint_purpose
from analysis.attribute.bytedance_endpoints import load_endpoints
from analysis.attribute.bytedance_endpoints import unknown_paths
from analysis.errors import PrivlabError
from analysis.schema import FlowRecord
from analysis.session import Session
from analysis.session.flows import record_line
from analysis.validation import bytedance_client
from analysis.validation.planted import CANARIES
from analysis.validation.planted import value


def test_data_file_covers_every_purpose_and_cites_every_entry() -> None:
    m = default_endpoints()
    assert {e.purpose for e in m.endpoints} == set(PURPOSES)
    assert all(e.sources and all(s in m.sources for s in e.sources) for e in m.endpoints)
    ep = m.purpose_of("log-va.tiktokv.com", "/service/2/app_log/")
    assert ep is not None and "applog-uriconfig" in ep.sources
    assert "com.bytedance.applog.UriConfig" in m.cite(ep)


@pytest.mark.parametrize(
    ("host", "path", "purpose"),
    [
        ("log-va.tiktokv.com", "/service/2/device_register/", "device registration"),
        ("log22-normal-useast1a.tiktokv.com", "/service/2/app_log/", "analytics log"),
        ("log-va.tiktokv.com", "/service/2/log_settings/", "log settings"),
        ("mon-va.byteoversea.com", "/monitor/collect/batch/", "monitoring/crash upload"),
        ("mssdk16-normal-useast5.tiktokv.us", "/ri/report", "security fingerprint"),
        ("frontier-va.tiktokv.com", "/ws/v2", "push/WebSocket"),
        ("frontier-va.tiktokv.com", "/anything", "push/WebSocket"),  # host-specific entry
        ("api16-normal-c-useast1a.tiktokv.com", "/passport/user/login/", "login/passport"),
        ("api16-normal-c-useast1a.tiktokv.com", "/aweme/v1/feed/", "content API"),
        ("api16-normal-c-useast1a.tiktokv.com", "/aweme/v1/settings/", "log settings"),  # longer prefix wins
        ("analytics.tiktok.com", "/api/v2/pixel", "ads"),
        ("t.appsflyer.com", "/service/2/app_log/", None),  # not a ByteDance host
        ("log-va.tiktokv.com", "/unheard/of/", None),
    ],
)
def test_purposes(host: str, path: str, purpose: str | None) -> None:
    assert endpoint_purpose(host, path) == purpose


def test_unknown_bytedance_paths_are_listed() -> None:
    reqs = [("log-va.tiktokv.com", "/new/x"), ("log-va.tiktokv.com", "/new/x"), ("t.appsflyer.com", "/y"),
            ("log-va.tiktokv.com", "/service/2/app_log/")]  # fmt: skip
    assert unknown_paths(reqs) == [("log-va.tiktokv.com", "/new/x", 2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[endpoint]\n", "not valid TOML"),
        (
            '[sources]\na = "x"\n[[endpoint]]\npath = "nope"\npurpose = "ads"\nsources = ["a"]\n',
            "path starting",
        ),
        (
            '[sources]\na = "x"\n[[endpoint]]\npath = "/x"\npurpose = "fun"\nsources = ["a"]\n',
            "is not one of",
        ),
        (
            '[sources]\na = "x"\n[[endpoint]]\npath = "/x"\npurpose = "ads"\nsources = ["b"]\n',
            "needs sources",
        ),
    ],
)
def test_bad_data_file_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(PrivlabError, match=message) as e:
        load_endpoints(text, "my.toml")
    assert str(e.value).startswith("my.toml")


def _rec(fid: str, host: str, path: str, query: str, headers: dict[str, str], body: bytes) -> FlowRecord:
    return FlowRecord(
        fid, 1_700_000_010.0, 1_700_000_010.2, "10.0.2.16:5000", "192.0.2.9", 443, host, host, "https", "HTTP/2.0",
        "POST" if body else "GET", f"https://{host}{path}?{query}", path, query, 200, list(headers.items()), [],
        len(body), 0, None, None, request_body=body,
    )  # fmt: skip


def test_session_coverage_says_what_the_bytedance_layer_hid(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "tiktok", canaries=list(CANARIES))
    tt = {"content-type": bytedance_client.TT_CONTENT_TYPE}
    register = bytedance_client.register_body({"udid": value("imei")})
    signed = bytedance_client.signed_headers("aid=1233", b"", value("install_id"), 1700000000)
    signed |= {"x-helios": "aGVsaW9zLW9wYXF1ZQ==", "x-medusa": "bWVkdXNh" * 10}
    damaged = register[:-16]
    flows = [
        _rec("reg", "log-va.tiktokv.com", "/service/2/device_register/", "tt_data=a", tt, register),
        _rec("bad", "log-va.tiktokv.com", "/service/2/app_log/", "tt_data=a", tt, damaged),
        _rec("nomagic", "log-va.tiktokv.com", "/service/2/app_log/", "tt_data=a", tt, b"\x00\x01garbage" * 4),
        _rec("feed", "api16-normal-c-useast1a.tiktokv.com", "/aweme/v1/feed/", "aid=1233", signed, b""),
        _rec("ri", "mssdk16-normal-useast5.tiktokv.us", "/ri/report", "lc_id=1", {}, os.urandom(512)),
        _rec("odd", "log-va.tiktokv.com", "/brand/new/", "", {}, b""),
    ]
    s.append("flows.jsonl", b"".join(record_line(r) for r in flows), kind="flow-records", ref="test")
    tables = load_session(s.path)
    layers = tables.bytedance_layers
    assert layers is not None
    by = {r.flow_id: r for r in layers.itertuples()}
    assert by["reg"].ttencrypt == "decrypted" and by["reg"].purpose == "device registration"
    assert by["bad"].ttencrypt == "failed" and "padding is invalid" in by["bad"].ttencrypt_detail
    assert by["nomagic"].ttencrypt == "announced-without-magic"
    assert by["ri"].opaque == "security SDK report (encrypted, no public algorithm)"
    assert pd.isna(by["odd"].purpose)
    notes = load_evidence(s.path).coverage.notes
    text = "\n".join(notes)
    assert (
        "ByteDance layer: 3 request bodies were ttEncrypt'd; 1 decrypted, 2 not (1 failed to decrypt, 1 announced"
        in text
    )
    assert "X-Argus 1/1 (decrypted)" in text and "X-Ladon 1/1 (decrypted)" in text
    assert "X-Gorgon 1/1 (version read)" in text and "X-Khronos 1/1 (time read)" in text
    assert "X-Helios 0/1 (no public algorithm, classified only)" in text and "X-Medusa 0/1" in text
    assert "mssdk16-normal-useast5.tiktokv.us/ri/report (1)" in text
    assert "ByteDance paths with no known purpose: log-va.tiktokv.com/brand/new/ (1)" in text
    dests = tables.destinations
    assert dests is not None
    row = dests[dests["host"] == "log-va.tiktokv.com"].iloc[0]
    assert set(row["endpoint_purpose"].split("; ")) == {"device registration", "analytics log"}
    findings = tables.findings
    assert findings is not None
    imei = findings[findings["data_type"] == "imei"].iloc[0]
    assert imei["endpoint_purpose"] == "device registration"

"""App-log events as rows (`app_events`), and a finding's sentence naming the event that carried a value."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

from analysis.analyze.load import load_session
from analysis.decode.bytedance_applog import app_events
from analysis.schema import FlowRecord
from analysis.session import Session
from analysis.session.flows import record_line
from analysis.validation import bytedance_client
from analysis.validation.planted import CANARIES
from analysis.validation.planted import value

SESSION_ID = "5e1f0a7c-0000-4000-8000-000000000001"


def _record(fid: str, body: bytes, path: str, headers: list[tuple[str, str]] | None = None) -> FlowRecord:
    return FlowRecord(
        fid, 1_700_000_005.0, 1_700_000_005.2, "10.0.2.16:5000", "192.0.2.9", 443, "log-va.tiktokv.com",
        "log-va.tiktokv.com", "https", "HTTP/2.0", "POST", f"https://log-va.tiktokv.com{path}?tt_data=a", path,
        "tt_data=a", 200, headers or [("content-type", bytedance_client.TT_CONTENT_TYPE)], [], len(body), 0,
        None, None, request_body=body,
    )  # fmt: skip


def _app_log() -> bytes:
    return bytedance_client.app_log_body(
        {"install_id": value("install_id")},
        [
            {"event": "enter_homepage", "params": {"enter_from": "launch"}},
            {"event": "comment_paste", "params": {"text": value("clipboard")}},
        ],
        SESSION_ID,
    )


def test_every_entry_of_a_ttencrypted_app_log_is_a_row() -> None:
    rows = app_events(_record("f1", _app_log(), "/service/2/app_log/"))
    assert [(r.kind, r.event, r.part) for r in rows] == [
        ("event_v3", "enter_homepage", "body:event_v3[0]"),
        ("event_v3", "comment_paste", "body:event_v3[1]"),
        ("launch", "launch", "body:launch[0]"),
    ]
    by_event = {r.event: r for r in rows}
    paste = by_event["comment_paste"]
    assert json.loads(paste.params) == {"text": value("clipboard")}
    assert paste.session_id == SESSION_ID and paste.local_time == 1_700_000_001.0
    assert paste.encoding == "ttencrypt>gzip>json"
    assert by_event["launch"].local_time == 1_700_000_000.0  # datetime "2023-11-14 22:13:20"


def test_older_event_log_data_terminate_and_plain_gzip_bodies() -> None:
    doc = {
        "header": {"aid": 1233, "session_id": "hs"},
        "event": [{"category": "umeng", "tag": "video_play", "label": "feed", "value": 7}],
        "log_data": [{"log_type": "service_monitor", "service": "net"}],
        "terminate": [{"session_id": "t-1", "duration": 42, "local_time_ms": 1_700_000_100_000}],
    }
    rec = _record(
        "g", gzip.compress(json.dumps(doc).encode()), "/service/2/app_log/", [("content-encoding", "gzip")]
    )
    rows = app_events(rec)
    assert [(r.kind, r.event, r.session_id) for r in rows] == [
        ("event", "video_play", "hs"),
        ("log_data", "service_monitor", "hs"),
        ("terminate", "terminate", "t-1"),
    ]
    assert json.loads(rows[0].params) == {"category": "umeng", "label": "feed", "value": 7}
    assert rows[0].encoding == "gzip>json" and rows[2].local_time == 1_700_000_100.0


def test_other_bodies_give_no_rows() -> None:
    assert (
        app_events(_record("x", json.dumps({"event_v3": [{"event": "a"}]}).encode(), "/x", [])) == []
    )  # no header
    assert (
        app_events(_record("y", b"\x74\x63\x05\x10\x00\x00" + bytes(40), "/service/2/app_log/")) == []
    )  # damaged
    assert app_events(_record("z", b"", "/service/2/app_log/")) == []


def test_analyze_writes_app_events_and_the_finding_names_the_event(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "tiktok", canaries=list(CANARIES))
    register = bytedance_client.register_body({"openudid": value("openudid"), "udid": value("imei")})
    flows = [
        _record("f-reg", register, "/service/2/device_register/"),
        _record("f-log", _app_log(), "/service/2/app_log/"),
    ]
    s.append("flows.jsonl", b"".join(record_line(r) for r in flows), kind="flow-records", ref="test")
    tables = load_session(s.path)
    ev = tables.app_events
    assert ev is not None
    assert list(ev["event"]) == ["enter_homepage", "comment_paste", "launch"]
    assert set(ev["flow_id"]) == {"f-log"}  # the register body has a header but no entries
    assert isinstance(ev["local_time"].dtype, pd.DatetimeTZDtype)
    assert (ev["event"] == "comment_paste").sum() == 1
    findings = tables.findings
    assert findings is not None
    from analysis.analyze.evidence import load_evidence

    evidence = load_evidence(s.path)
    clip = [f for f in evidence.findings if f.data_type == "clipboard" and f.kind == "transmission"]
    assert clip, [f.summary for f in evidence.findings]
    assert "The app-log event `comment_paste` at 22:13:21 UTC (device time) carried it." in clip[0].summary
    imei = [f for f in evidence.findings if f.data_type == "imei" and f.kind == "transmission"]
    assert imei and "app-log event" not in imei[0].summary  # the register header is not an event


def test_notebook_05_shows_the_events_and_the_value_they_carried(tmp_path: Path) -> None:
    """The notebook, executed headless (nbclient + ipykernel) on a ttEncrypt'd TikTok session."""
    import os

    import nbformat
    from nbclient import NotebookClient

    s = Session.create(tmp_path / "s", "tiktok", canaries=list(CANARIES))
    s.append("flows.jsonl", record_line(_record("f-log", _app_log(), "/service/2/app_log/")), kind="flow-records",
             ref="test")  # fmt: skip
    nb = nbformat.read(
        Path(__file__).resolve().parents[1] / "notebooks" / "05-tiktok-app-log.ipynb", as_version=4
    )
    old = os.environ.get("PRIVLAB_SESSION")
    os.environ["PRIVLAB_SESSION"] = str(s.path)
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        if old is None:
            os.environ.pop("PRIVLAB_SESSION", None)
        else:
            os.environ["PRIVLAB_SESSION"] = old
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "Traceback" not in text
    assert "3 app-log entries in 1 request(s)" in text
    assert "event `comment_paste` at 22:13:21 carried the clipboard" in text
    assert "The app-log event `comment_paste` at 22:13:21 UTC (device time) carried it." in text
    assert "ByteDance layer: 1 request body was ttEncrypt'd; 1 decrypted." in text
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def test_app_log_keys_spelled_with_escapes_are_still_read() -> None:
    # The app-log table skips bodies whose text names no app-log key before parsing them; a key spelled
    # with a JSON escape (`\u0068eader`) is still an app log, and a plain JSON body still is not.
    from analysis.decode.bytedance_applog import app_event_rows

    escaped = b'{"\\u0068eader": {"session_id": "s1"}, "event_v3": [{"event": "launch", "params": {}}]}'
    rows = app_event_rows(_record("e", escaped, "/service/2/app_log/"))
    assert [(r[2], r[3], r[5]) for r in rows] == [("event_v3", "launch", "s1")]
    assert app_event_rows(_record("p", b'{"event_v3": [{"event": "launch"}]}', "/x")) == []

"""`privlab analyze`: stamped derived tables, no-op re-runs, raw files untouched, load_session, CLI."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner

from analysis.analyze.load import load_session
from analysis.analyze.load import load_sessions
from analysis.analyze.stages import STAGES
from analysis.analyze.stages import STAMP_KEY
from analysis.analyze.stages import analyze
from analysis.cli import main
from analysis.schema import Canary
from analysis.schema import FlowRecord
from analysis.session import Session
from analysis.session.flows import record_line

IMEI = "354918090031248"


def _copy(sample: Path, dest: Path) -> Path:
    shutil.copytree(sample, dest, ignore=shutil.ignore_patterns("derived"))
    return dest


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "derived" not in p.parts
    }


def test_analyze_stamps_tables_and_reruns_as_a_no_op(sample_session: Path, tmp_path: Path) -> None:
    session = _copy(sample_session, tmp_path / "s")
    raw = _hashes(session)
    first = analyze(session, show_progress=False)
    assert set(first.written) == {
        "flows", "packets", "hook_events", "detections", "decode_issues", "destinations", "app_events",
        "bytedance_layers", "findings", "coverage", "flow_destinations",
    }  # fmt: skip
    stamps = {
        t: pq.read_schema(session / "derived" / f"{t}.parquet").metadata[STAMP_KEY] for t in first.written
    }
    mtimes = {p.name: p.stat().st_mtime_ns for p in (session / "derived").iterdir()}
    second = analyze(session, show_progress=False)
    assert second.written == [] and set(second.skipped) == set(first.written)
    assert {p.name: p.stat().st_mtime_ns for p in (session / "derived").iterdir()} == mtimes
    assert _hashes(session) == raw  # analysis only reads the raw files
    # New ground truth: detections are rebuilt, flows are not.
    canaries = json.loads((session / "canaries.json").read_text())
    (session / "canaries.json").write_text(json.dumps(canaries[:3]))
    third = analyze(session, show_progress=False)
    # Findings depend on detections, so they are rebuilt too; flows, hook events, packets, destinations not.
    assert third.written == ["detections", "decode_issues", "findings", "coverage", "flow_destinations"]
    assert third.skipped == [
        "flows",
        "hook_events",
        "packets",
        "destinations",
        "app_events",
        "bytedance_layers",
    ]
    assert (
        pq.read_schema(session / "derived" / "detections.parquet").metadata[STAMP_KEY] != stamps["detections"]
    )


def test_stages_are_a_list_of_functions() -> None:
    assert [s.__name__ for s in STAGES] == [
        "flows_stage", "hook_events_stage", "packets_stage", "detections_stage", "destinations_stage",
        "app_events_stage", "bytedance_layers_stage", "findings_stage", "capability_stage",
    ]  # fmt: skip


def _record(flow_id: str, body: bytes, headers: list[tuple[str, str]]) -> FlowRecord:
    return FlowRecord(
        flow_id, 1_700_000_000.0, 1_700_000_000.2, "10.0.2.16:5000", "192.0.2.9", 443, "h.example", "h.example",
        "https", "HTTP/2.0", "POST", "https://h.example/log", "/log", "", 200, headers, [], len(body), 0,
        None, None, request_body=body,
    )  # fmt: skip


def _session_with_hooks(root: Path) -> Session:
    s = Session.create(root, "hooks", canaries=[Canary("imei", "imei", IMEI)])
    flows = [
        _record("f-ok", json.dumps({"clip": "copied secret words", "udid": IMEI}).encode(), []),
        _record("f-bad", b"not gzip at all", [("content-encoding", "gzip")]),
        _record("f-bomb", gzip.compress(bytes(64 << 20)), [("content-encoding", "gzip")]),  # 64 MiB in 64 KB
    ]
    s.append("flows.jsonl", b"".join(record_line(r) for r in flows), kind="flow-records", ref="test")
    plaintext = base64.b64encode(b"POST /t HTTP/1.1\r\n\r\nimei=" + IMEI.encode()).decode()
    events = [
        {"seq": 0, "t": 1_699_999_999.0, "pid": 1, "tid": 2, "category": "clipboard",
         "api": "ClipboardManager.getPrimaryClip", "args": [],
         "ret": {"$class": "android.content.ClipData", "value": "ClipData", "texts": ["copied secret words"]},
         "stack": ["com.example.Sdk.read"]},
        {"seq": 1, "t": 1_700_000_001.0, "pid": 1, "tid": 3, "category": "tls-plaintext", "api": "SSL_write",
         "args": [{"ssl": "0x1", "lib": "libssl.so"}, {"$b64": plaintext}], "ret": 40, "stack": []},
    ]  # fmt: skip
    s.append("hooks.jsonl", "".join(json.dumps(e) + "\n" for e in events).encode(), kind="hooks", ref="test")
    return s


def test_hooks_runtime_values_tls_plaintext_and_decode_issues(tmp_path: Path) -> None:
    s = _session_with_hooks(tmp_path)
    tables = load_session(s.path)
    assert list(tables.hook_events["seq"]) == [0, 1]
    assert str(tables.hook_events["t"].dt.tz) == "UTC"
    det = tables.detections
    rows = set(zip(det["flow_id"], det["data_type"], det["method"], det["part"], strict=True))
    assert ("f-ok", "clipboard", "runtime-value", "body:clip") in rows
    assert ("f-ok", "imei", "canary", "body:udid") in rows
    assert ("hook:1", "imei", "canary", "body:form:imei") in rows  # the plaintext is an HTTP/1 request
    issues = tables.decode_issues
    assert list(zip(issues["flow_id"], issues["issue"], strict=True)) == [
        ("f-bad", "corrupt"),
        ("f-bomb", "bomb"),
    ]
    assert len(tables.flows) == 3


def test_truncated_mitm_is_analysed_up_to_the_damage(sample_session: Path, tmp_path: Path) -> None:
    session = tmp_path / "cut"
    shutil.copytree(sample_session, session, ignore=shutil.ignore_patterns("derived", "flows.jsonl"))
    data = (session / "flows.mitm").read_bytes()
    (session / "flows.mitm").write_bytes(data[: len(data) // 2])
    result = analyze(session, show_progress=False)
    flows = load_session(session, refresh=False).flows
    assert 0 < len(flows) < 25
    assert "flows" in result.written


def test_load_sessions_concatenates(sample_session: Path, tmp_path: Path) -> None:
    a = _copy(sample_session, tmp_path / "a")
    b = _session_with_hooks(tmp_path / "b").path
    both = load_sessions([a, b])
    assert set(both.flows["session_id"]) == {load_session(a).session_id, load_session(b).session_id}
    assert len(both.flows) == len(load_session(a).flows) + 3
    assert set(both.packets["session_id"]) == {"sample"}  # only the sample has a pcap


def test_cli_analyze_and_detections(sample_session: Path, tmp_path: Path) -> None:
    session = _copy(sample_session, tmp_path / "s")
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", str(session)])
    assert out.exit_code == 0, out.output
    assert "derived/detections.parquet" in out.output
    out = runner.invoke(main, ["analyze", str(session)])
    assert "up to date" in out.output
    out = runner.invoke(main, ["detections", str(session), "--method", "canary"], env={"COLUMNS": "240"})
    assert out.exit_code == 0
    assert "log-va.tiktokv.com" in out.output and "gzip>json" in out.output
    out = runner.invoke(main, ["analyze", str(tmp_path / "missing")])
    assert out.exit_code == 2 and "no such session folder" in out.output


def test_load_session_refreshes_stale_tables(sample_session: Path, tmp_path: Path) -> None:
    session = _copy(sample_session, tmp_path / "s")
    before = load_session(session).detections
    (session / "canaries.json").write_text("[]")
    after = load_session(session).detections
    assert len(before[before["method"] == "canary"]) > 40
    assert (after["method"] == "canary").sum() == 0

"""Data flows one way: `privlab analyze` builds the findings once and writes them (with exhibits, access
events, provisions, coverage and per-flow receivers) to derived/; `privlab report`, `load_evidence` and
`privlab destinations` only read them. Runs on copies of the committed sample session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import analysis.analyze.stages as stages_mod
import analysis.findings.build as build_mod
from analysis.analyze.evidence import load_evidence
from analysis.analyze.evidence import read_evidence
from analysis.cli import main
from analysis.errors import PrivlabError
from analysis.findings import AccessEvent
from analysis.findings import Coverage
from analysis.findings import Exhibit
from analysis.findings import Finding
from analysis.findings import Provision
from analysis.findings import session_findings
from analysis.findings.rows import coverage_from_table
from analysis.findings.rows import coverage_table
from analysis.findings.rows import findings_from_table
from analysis.findings.rows import findings_table
from analysis.schema import COVERAGE
from analysis.schema import FINDINGS
from analysis.session import Session
from analysis.session.derived import read_rows
from analysis.session.derived import read_tables


def _copy(sample: Path, dest: Path) -> Path:
    shutil.copytree(sample, dest, ignore=shutil.ignore_patterns("derived", "report"))
    return dest


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Wrap `module.name` so each call is counted; returns the counter."""
    calls: list[int] = []
    real = getattr(module, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_findings_are_built_once_by_analyze_and_never_by_report(
    sample_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = _copy(sample_session, tmp_path / "s")
    calls = _count_calls(monkeypatch, build_mod, "build_findings")

    analysed = CliRunner().invoke(main, ["analyze", str(session)])
    assert analysed.exit_code == 0, analysed.output
    assert len(calls) == 1
    for table in ("findings", "coverage", "flow_destinations"):
        assert (session / "derived" / f"{table}.parquet").exists(), table

    reported = CliRunner().invoke(
        main, ["report", str(session), "--format", "json,html", "--out", str(tmp_path / "r")]
    )
    assert reported.exit_code == 0, reported.output
    evidence = load_evidence(session)  # the notebooks' entry point: reads, analysis is a no-op
    assert len(calls) == 1  # neither the report nor load_evidence built a finding

    # The report states the findings derived/ holds, exhibit for exhibit.
    doc = json.loads((tmp_path / "r" / "findings.json").read_bytes())
    assert len(evidence.findings) > 0
    assert [
        (
            f["finding_id"],
            f["count"],
            f["summary"],
            [e["ref"] for e in f["exhibits"]],
            [a["seq"] for a in f["access"]],
        )
        for f in doc["findings"]
    ] == [
        (f.finding_id, f.count, f.summary, [e.ref for e in f.exhibits], [a.seq for a in f.access])
        for f in evidence.findings
    ]
    assert doc["coverage"]["flows_total"] == evidence.coverage.flows_total > 0
    # And what derived/ holds is exactly what a fresh build from the same tables gives.
    fresh, coverage = session_findings(Session.open(session), read_tables(session))
    assert fresh == evidence.findings and coverage == evidence.coverage


def test_read_evidence_refuses_a_session_never_analysed(sample_session: Path, tmp_path: Path) -> None:
    session = _copy(sample_session, tmp_path / "s")
    with pytest.raises(PrivlabError, match=r"no findings\.parquet.*run `privlab analyze"):
        read_evidence(session)


def test_destinations_command_reads_the_stage_output(
    sample_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = _copy(sample_session, tmp_path / "s")
    CliRunner().invoke(main, ["analyze", str(session)])
    calls = _count_calls(monkeypatch, stages_mod, "build_destinations")
    shown = CliRunner().invoke(main, ["destinations", str(session)], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert calls == [] and "log-va.tiktokv.com" in shown.output
    # An overridden app is a what-if view through the stage's own function, never written to derived/.
    before = pq.read_table(session / "derived" / "destinations.parquet")
    other = CliRunner().invoke(main, ["destinations", str(session), "--app", "com.example.other"])
    assert other.exit_code == 0, other.output
    assert len(calls) == 1
    assert pq.read_table(session / "derived" / "destinations.parquet").equals(before)


def test_rows_keep_their_shape_through_parquet(tmp_path: Path) -> None:
    exhibit = Exhibit(
        "E-1", "f1", 1_700_000_000.123456, "POST", "https://h.example/x", "h.example", None, None, "HTTP/2.0",
        "proxy", "body:$.id", "android_id", "json>base64", "canary", 0.9, None, "a«b»c",
        (("content-type", "application/json"),), None,
    )  # fmt: skip
    with_custody = Exhibit(
        **{**exhibit.__dict__, "ref": "E-2", "server_ip": "192.0.2.1", "status": 200,
           "custody": {"seq": 4, "file": "flows.mitm", "offset": 0, "length": 9, "sha256": "ab"}}
    )  # fmt: skip
    access = AccessEvent(3, 1_699_999_999.000001, "Settings.Secure.getString", "identifiers", "android_id",
                         None, None, '"abc"', ("com.x.A.b",), "value", None)  # fmt: skip
    finding = Finding(
        "abc123", "transmission", "android_id", "Example", None, "US", "third-country", "third",
        ["h.example"], "before-consent", 1_700_000_000.123456, 1_700_000_001.5, 2, ["f1", "f2"], [3],
        exhibits=[exhibit, with_custody], access=[access], related=["def456"],
        provisions=[Provision("GDPR", "Art. 6", "lawful basis")], summary="sent",
    )  # fmt: skip
    path = tmp_path / "findings.parquet"
    pq.write_table(findings_table([finding]), path)
    table = pq.read_table(path)
    assert table.schema.names == FINDINGS.names
    assert findings_from_table(table) == [finding]

    coverage = Coverage(flows_total=3, tls_failure_hosts=[("a.example", 2)],
                        hook_modules_failed=[("net", "no Java")], detections_by_method={"pattern": 1, "canary": 4},
                        consent_marks=[(1_700_000_000.5, "consent-accept")], notes=["n"])  # fmt: skip
    pq.write_table(coverage_table(coverage), tmp_path / "coverage.parquet")
    table = pq.read_table(tmp_path / "coverage.parquet")
    assert table.schema.names == COVERAGE.names and table.num_rows == 1
    back = coverage_from_table(table)
    assert back == coverage and list(back.detections_by_method) == ["pattern", "canary"]


def test_findings_read_header_lists_and_app_log_entries_for_exhibits_only(
    sample_session: Path, tmp_path: Path
) -> None:
    """The findings stage reads the tables without header lists and app-log entries (most of a large
    session's memory) and fetches the rows its exhibits cite: the findings are the same as from the
    whole tables, exhibits keep their headers and custody, summaries still name the app-log event."""
    session = _copy(sample_session, tmp_path / "s")
    assert CliRunner().invoke(main, ["analyze", str(session)]).exit_code == 0
    leave_out: dict[str, Any] = {
        "flows": ("request_headers", "response_headers"),
        "app_events": "*",
    }
    lean = read_tables(session, leave_out=leave_out)
    assert "request_headers" not in lean.flows.columns and lean.app_events is None
    assert len(lean.flows) > 0
    lean_findings, lean_coverage = session_findings(Session.open(session), lean)
    full_findings, full_coverage = session_findings(Session.open(session), read_tables(session))
    assert lean_findings == full_findings and lean_coverage == full_coverage
    proxied = [e for f in lean_findings for e in f.exhibits if e.via == "proxy"]
    assert proxied and all(e.request_headers and e.custody for e in proxied)
    assert any("app-log event" in f.summary for f in lean_findings)

    cited = proxied[0].flow_id
    rows = read_rows(session, "flows", {cited}, ("flow_id", "request_headers"))
    assert list(rows["flow_id"]) == [cited] and len(rows["request_headers"].iloc[0]) > 0
    assert list(read_rows(session, "flows", set(), ("flow_id",)).columns) == ["flow_id"]
    (session / "derived" / "app_events.parquet").unlink()  # a table the session lacks: empty, typed
    absent = read_rows(session, "app_events", {cited}, ("flow_id", "event"))
    assert absent.empty and list(absent.columns) == ["flow_id", "event"]

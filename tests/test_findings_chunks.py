"""The findings stage reads a large session a chunk at a time: only the flow columns findings use, the
detections in chunks (grouped in one pass, the exhibits' detections found in a second), the per-flow
receivers written part by part. The findings must be those the whole tables give, whatever the chunk
size. Runs on a copy of the committed sample session and on the report fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_report_fixtures import CANARIES
from test_report_fixtures import T0
from test_report_fixtures import make_tables

import analysis.findings.build as build_mod
import analysis.findings.transmissions as transmissions_mod
from analysis.cli import main
from analysis.findings import TableSet
from analysis.findings import build_findings
from analysis.findings import flow_destinations
from analysis.findings import session_findings
from analysis.findings.build import LAYER_COLUMNS
from analysis.findings.rows import findings_from_table
from analysis.findings.transmissions import FLOW_COLUMNS
from analysis.findings.transmissions import flow_destination_parts
from analysis.session import Session
from analysis.session.derived import read_table
from analysis.session.derived import read_tables


def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few rows: every chunk boundary of the sample's 97 detections and 40 flows is crossed."""
    monkeypatch.setattr(build_mod, "CHUNK_ROWS", 7)
    monkeypatch.setattr(build_mod, "_EXHIBIT_ROWS", 5)
    monkeypatch.setattr(transmissions_mod, "CHUNK_ROWS", 3)


def test_findings_from_streamed_detections_equal_those_of_the_whole_tables(
    sample_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = shutil.copytree(
        sample_session, tmp_path / "s", ignore=shutil.ignore_patterns("derived", "report")
    )
    assert CliRunner().invoke(main, ["analyze", str(session)]).exit_code == 0
    whole = read_tables(session)
    full_findings, full_coverage = session_findings(Session.open(session), whole)
    assert full_findings and full_coverage.detections == len(whole.detections) > 0
    # What `privlab analyze` wrote is what the whole tables give.
    assert findings_from_table(pq.read_table(session / "derived" / "findings.parquet")) == full_findings

    _small_chunks(monkeypatch)
    lean = {  # as the findings stage reads them: no detections (read from the file), few flow columns
        "flows": read_table(session, "flows", FLOW_COLUMNS),
        "hook_events": read_table(session, "hook_events"),
        "destinations": read_table(session, "destinations"),
        "packets": read_table(session, "packets"),
        "bytedance_layers": read_table(session, "bytedance_layers", LAYER_COLUMNS, shared_lists=True),
    }
    assert sorted(lean["flows"].columns) == sorted(FLOW_COLUMNS)
    findings, coverage = session_findings(Session.open(session), lean)
    assert findings == full_findings and coverage == full_coverage
    assert any("ByteDance signature headers" in n for n in coverage.notes)  # the shared lists were read

    parts = list(flow_destination_parts(lean, rows=6))
    assert len(parts) == 7 and max(len(p) for p in parts) == 6
    assert pd.concat(parts, ignore_index=True).equals(flow_destinations(whole))


def test_a_hook_plaintext_detection_groups_the_same_in_any_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = make_tables()
    hooked = tables.detections.iloc[[0]].assign(detection_id="dh", flow_id="hook:1")
    tables.detections = pd.concat([tables.detections, hooked], ignore_index=True)
    meta = {"marks": []}
    whole, _ = build_findings(tables, meta, canaries=CANARIES)
    assert any(f.flow_ids == ["hook:1"] for f in whole)
    _small_chunks(monkeypatch)
    monkeypatch.setattr(build_mod, "CHUNK_ROWS", 1)
    assert build_findings(tables, meta, canaries=CANARIES)[0] == whole


def test_a_repeated_flow_id_counts_at_its_last_row() -> None:
    """Flow ids are unique in every table privlab writes; of an id a hand-made table repeats, the last row
    is the flow (as when flows were looked up in a dict from id to row)."""
    tables = make_tables()
    f1 = tables.flows[tables.flows["flow_id"] == "f1"]
    moved = f1.assign(host="elsewhere.example", sni="elsewhere.example", t_request=pd.Timestamp(T0 + 1, unit="s", tz="UTC"))  # fmt: skip
    meta = {"marks": []}

    def android_id(flows: pd.DataFrame) -> list[tuple[str, list[str], float]]:
        t = TableSet(flows, tables.hook_events, tables.detections, tables.destinations, tables.packets)
        found = build_findings(t, meta, canaries=CANARIES)[0]
        return [(f.entity, f.hosts, f.first_seen) for f in found if f.data_type == "android_id"]

    original = android_id(tables.flows)
    assert android_id(pd.concat([moved, tables.flows], ignore_index=True)) == original
    last = android_id(pd.concat([tables.flows, moved], ignore_index=True))
    assert ("elsewhere.example", ["elsewhere.example"], pytest.approx(T0 + 1)) in last and last != original


def test_the_findings_memory_benchmark_runs_on_an_analysed_session(
    sample_session: Path, tmp_path: Path
) -> None:
    """benchmarks/bench_findings_memory.py at a tiny size (no timed assert: only that it still runs)."""
    session = shutil.copytree(
        sample_session, tmp_path / "s", ignore=shutil.ignore_patterns("derived", "report")
    )
    assert CliRunner().invoke(main, ["analyze", str(session)]).exit_code == 0
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "bench_findings_memory.py"), str(session), "--times", "1,3",
         "--keep", str(tmp_path / "work")],
        capture_output=True, text=True, cwd=repo, env=dict(os.environ, PYTHONPATH=str(repo)), timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    flows = len(pq.read_table(session / "derived" / "flows.parquet"))
    assert [int(r[0]) for r in rows] == [flows, 3 * flows]
    copy = tmp_path / "work" / "x3" / session.name / "derived"
    ids = pq.read_table(copy / "flow_destinations.parquet").column("flow_id").to_pylist()
    assert len(ids) == len(set(ids)) == 3 * flows  # fresh ids, and the findings stage wrote every flow

"""The analyze speed and memory work (issue 16, issue 18): what it changed must not change what is found.

- the per-flow tables are built in one pass over the flows file; read in worker processes in small
  ranges they are the same tables, row for row, as read in this process;
- identical requests reuse the detector's earlier result: the same detections as a fresh decoding, with
  each flow's own id and detection id;
- a body over `DecodeLimits.stream_from` is searched window by window: a canary cut by a window edge is
  still found, once, and the decode issue says the body was not decoded.
No timing is asserted here (benchmarks/bench_analyze.py measures it).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import analysis.analyze.stages as stages
import analysis.session.flows as flows_mod
from analysis.analyze.stages import analyze
from analysis.decode.limits import DecodeLimits
from analysis.detect.detector import Detector
from analysis.schema import Canary
from analysis.schema import FlowRecord

PER_FLOW = ["flows", "detections", "decode_issues", "app_events", "bytedance_layers"]
IMEI = "354918090031248"
EMAIL = "privlab.canary.7f3a@example.org"
CANARIES = [Canary("imei", "imei", IMEI), Canary("mail", "email", EMAIL)]


def _tables(session: Path) -> dict[str, list[dict[str, object]]]:
    return {t: pq.read_table(session / "derived" / f"{t}.parquet").to_pylist() for t in PER_FLOW}


def _serial_and_ranged(
    sample_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """The sample analysed in one process, and a fresh copy to analyse with two workers and ranges of
    ~4 KB (the sample's flows file cut into many pieces)."""
    serial = tmp_path / "serial"
    shutil.copytree(sample_session, serial, ignore=shutil.ignore_patterns("derived"))
    ranged = tmp_path / "ranged"
    shutil.copytree(sample_session, ranged, ignore=shutil.ignore_patterns("derived"))
    monkeypatch.setenv("PRIVLAB_WORKERS", "1")
    analyze(serial, show_progress=False)
    monkeypatch.setenv("PRIVLAB_WORKERS", "2")
    monkeypatch.setattr(flows_mod, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(stages, "RANGE_BYTES", 4_000)
    return serial, ranged


def test_worker_ranges_give_the_same_tables(
    sample_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial, parallel = _serial_and_ranged(sample_session, tmp_path, monkeypatch)
    assert len(stages._bounded_ranges(parallel / "flows.jsonl")) > 8
    analyze(parallel, show_progress=False)
    want, got = _tables(serial), _tables(parallel)
    assert len(want["flows"]) >= 20 and len(want["detections"]) > 0
    for t in PER_FLOW:
        assert got[t] == want[t], t


def test_workers_collect_cyclic_garbage_rarely_and_share_the_work_in_small_ranges(
    sample_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real worker processes (spawned as the pass spawns them): their collector threshold is raised.
    with flows_mod.worker_pool(1) as pool:
        assert pool.submit(gc.get_threshold).result()[0] == flows_mod.WORKER_GC_THRESHOLD
    assert gc.get_threshold()[0] < flows_mod.WORKER_GC_THRESHOLD  # (this process keeps its own)
    monkeypatch.setenv("PRIVLAB_WORKERS", "2")
    ranges = stages._bounded_ranges(sample_session / "flows.jsonl")
    # (40 records of uneven size: a few of the 32 cuts fall on the same record boundary)
    assert 0.75 * 2 * flows_mod.RANGES_PER_WORKER <= len(ranges) <= 2 * flows_mod.RANGES_PER_WORKER


def test_without_worker_processes_the_pass_runs_here(
    sample_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine where no process pool can start (no POSIX semaphores, as in some containers).
    def no_pool(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")

    serial, fallback = _serial_and_ranged(sample_session, tmp_path, monkeypatch)
    monkeypatch.setattr(stages, "ProcessPoolExecutor", no_pool)
    analyze(fallback, show_progress=False)
    assert _tables(fallback) == _tables(serial)
    assert stages._DETECTORS == {}  # this process keeps no detector past the pass


def _rec(flow_id: str, body: bytes, query: str = "") -> FlowRecord:
    return FlowRecord(
        flow_id, 1.0, None, "", None, None, None, "h.example", "https", "HTTP/1.1", "POST",
        "https://h.example/x", "/x", query, 200, [("content-type", "application/json")], [], len(body), 0,
        None, None, request_body=body,
    )  # fmt: skip


def test_identical_requests_reuse_the_result_with_their_own_ids() -> None:
    body = b'{"udid": "%s", "user": {"email": "%s"}, "n": 3}' % (IMEI.encode(), EMAIL.encode())
    recs = [
        _rec("f1", body, "a=1"),
        _rec("f2", body, "a=1"),
        _rec("f3", body, "a=2"),
        _rec("f4", body, "a=1"),
    ]
    memo = Detector(CANARIES)
    for rec in recs:
        fresh = Detector(CANARIES, memo=0).flow(rec)
        got = memo.flow(rec)
        assert got.detections == fresh.detections
        assert got.issues == fresh.issues
        assert {d.flow_id for d in got.detections} == {rec.flow_id}
        assert {d.canary_id for d in got.detections} >= {"imei", "mail"}
    assert len(memo._memo) == 2  # f2 and f4 were answered from f1


def test_repeated_requests_give_the_app_log_rows_of_a_fresh_decoding() -> None:
    # The memo keeps no bodies; for a repeated request whose document is not an app log it says so
    # (`(None, chain)`), and an app log is unwrapped again: the rows are those of fresh decodings.
    app_log = json.dumps({"header": {"aid": 1233}, "event_v3": [{"event": "launch", "params": {"a": 1}}]})
    other = b'{"n": 1, "items": [1, 2], "note": "not an app log"}'
    recs = [_rec(f"f{i}", body) for i, body in enumerate([app_log.encode(), other] * 2)]
    wanted = frozenset(stages.PASS_TABLES)
    with_memo = stages.pass_records(recs, wanted, Detector(CANARIES))["app_events"].to_pylist()
    fresh = stages.pass_records(recs, wanted, Detector(CANARIES, memo=0))["app_events"].to_pylist()
    assert with_memo == fresh
    assert [(r["flow_id"], r["event"]) for r in fresh] == [("f0", "launch"), ("f2", "launch")]
    detector = Detector(CANARIES)
    assert detector.flow(recs[1]).document == (json.loads(other), "json")
    assert detector.flow(recs[3]).document == (None, "json")  # answered from the memo
    detector.flow(recs[0])
    assert detector.flow(recs[2]).document is None  # an app log: its rows need the document


def test_a_body_over_the_stream_limit_is_searched_in_windows() -> None:
    limits = DecodeLimits(stream_from=64 * 1024, stream_window=16 * 1024)
    filler = b"lorem ipsum dolor sit amet " * 8000  # ~216 KB of text: 14 windows
    cut = limits.stream_window - 5  # the IMEI straddles the first window edge
    body = filler[:cut] + b" " + IMEI.encode() + b" " + filler[cut:] + b" " + EMAIL.encode() + b"\n"
    rec = dataclasses.replace(_rec("big", body), request_headers=[("content-type", "text/plain")])
    streamed = Detector(CANARIES, limits=limits).flow(rec)
    whole = Detector(CANARIES).flow(rec)  # under the default limits the same body is decoded whole
    key = {(d.canary_id, d.part, d.encoding) for d in whole.detections}
    assert {(d.canary_id, d.part, d.encoding) for d in streamed.detections} == key
    assert ("imei", "body", "plain") in key and ("mail", "body", "plain") in key
    assert len(streamed.detections) == len({d.detection_id for d in streamed.detections})
    assert [(i.part, i.issue) for i in streamed.issues] == [("body", "too-large")]
    assert whole.issues == []


def test_a_flows_file_that_cannot_be_read_leaves_no_temporary_table(
    sample_session: Path, tmp_path: Path
) -> None:
    from analysis.errors import PrivlabError

    session = tmp_path / "broken"
    shutil.copytree(sample_session, session, ignore=shutil.ignore_patterns("derived"))
    (session / "flows.jsonl").write_bytes(b"{not json\n")
    (session / "flows.mitm").write_bytes(b"garbage that is not a flow file")
    with pytest.raises(PrivlabError):
        analyze(session, show_progress=False)
    assert list((session / "derived").glob(".*.tmp")) == []

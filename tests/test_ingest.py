"""Ingest: flows.jsonl and flows.mitm give the same flows table; hooks.jsonl becomes hook_events."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from analysis.errors import PrivlabError
from analysis.ingest.tables import flows_table
from analysis.ingest.tables import hook_events_table
from analysis.ingest.tables import read_hooks
from analysis.schema import FLOWS
from analysis.schema import HOOK_EVENTS
from analysis.session.flows import flow_source
from analysis.session.flows import read_flows


def test_jsonl_and_mitm_give_the_same_flows(sample_session: Path) -> None:
    from_jsonl = list(read_flows(sample_session / "flows.jsonl"))
    from_mitm = list(read_flows(sample_session / "flows.mitm"))
    assert len(from_jsonl) == len(from_mitm) > 20
    assert [r.request_body for r in from_jsonl] == [r.request_body for r in from_mitm]
    a, b = flows_table(from_jsonl), flows_table(from_mitm)
    assert a.schema == FLOWS
    assert a.equals(b)


def test_flow_source_prefers_jsonl(sample_session: Path, tmp_path: Path) -> None:
    assert flow_source(sample_session) == sample_session / "flows.jsonl"
    (tmp_path / "flows.mitm").write_bytes((sample_session / "flows.mitm").read_bytes())
    assert flow_source(tmp_path) == tmp_path / "flows.mitm"
    assert flow_source(tmp_path / "nothing") is None


def test_flows_table_times_are_utc(sample_session: Path) -> None:
    df = flows_table(read_flows(sample_session / "flows.jsonl")).to_pandas()
    assert str(df["t_request"].dt.tz) == "UTC"
    assert df["websocket_messages"].max() >= 1


def _event(seq: int) -> dict[str, object]:
    return {"seq": seq, "t": 1_700_000_000.5 + seq, "pid": 9, "tid": 10, "category": "clipboard",
            "api": "ClipboardManager.getPrimaryClip", "args": [], "ret": {"text": "hi there"}, "stack": ["a.b"]}  # fmt: skip


def test_hook_events_with_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "hooks.jsonl"
    lines = [json.dumps(_event(i)) + "\n" for i in range(3)]
    path.write_text("".join(lines) + '{"seq": 3, "t"')  # the runner was killed mid-line
    events = list(read_hooks(path))
    assert [e.seq for e in events] == [0, 1, 2]
    table = hook_events_table(events)
    assert table.schema == HOOK_EVENTS
    assert json.loads(table.column("ret")[0].as_py()) == {"text": "hi there"}
    assert table.column("t").type == pa.timestamp("us", tz="UTC")


def test_bad_hook_line_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "hooks.jsonl"
    path.write_text('{"seq": 0}\n')
    with pytest.raises(PrivlabError, match="hooks.jsonl: line 1"):
        list(read_hooks(path))


def test_fast_mitm_reader_matches_flowreader(ref_data: Path, sample_session: Path) -> None:
    from analysis.session.flows import mitm_records
    from analysis.session.flows import read_mitm
    from analysis.session.flows import record_from_flow

    files = sorted((ref_data / "mitm_dumps").rglob("*.mitm")) + [sample_session / "flows.mitm"]
    assert len(files) > 10
    for path in files:
        try:
            expected: object = [record_from_flow(f) for f in read_mitm(path)]
        except PrivlabError as e:
            expected = str(e)
        try:
            got: object = list(mitm_records(path))
        except PrivlabError as e:
            got = str(e)
        assert got == expected, path.name


def test_ranges_and_workers_give_the_same_records(
    sample_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analysis.session.flows as ingest

    for name in ("flows.jsonl", "flows.mitm"):
        path = sample_session / name
        ranges = ingest.source_ranges(path, 4)
        assert len(ranges) == 4 and ranges[0][0] == 0 and ranges[-1][1] == path.stat().st_size
        whole = [r.flow_id for r in read_flows(path)]
        assert [r.flow_id for a, b in ranges for r in ingest.read_range(path, a, b)] == whole
    monkeypatch.setattr(ingest, "workers", lambda: 2)  # two worker processes, whatever the machine's load
    path = sample_session / "flows.mitm"
    chunks = [chunk for _, _, chunk in ingest.map_ranges(path, ingest.read_range)]
    assert [r.flow_id for chunk in chunks for r in chunk] == [r.flow_id for r in read_flows(path)]


def test_short_jsonl_falls_back_to_the_mitm_evidence(sample_session: Path, tmp_path: Path) -> None:
    lines = (sample_session / "flows.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "flows.mitm").write_bytes((sample_session / "flows.mitm").read_bytes())
    (tmp_path / "flows.jsonl").write_bytes(b"".join(lines[:-3]))  # the addon stopped three flows early
    warnings: list[str] = []
    assert flow_source(tmp_path, warnings) == tmp_path / "flows.mitm"
    assert "flows.mitm" in warnings[0]
    (tmp_path / "flows.jsonl").write_bytes(b"".join(lines))
    assert flow_source(tmp_path) == tmp_path / "flows.jsonl"

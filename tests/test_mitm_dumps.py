"""mitmproxy's own test dumps (tests/data/mitm_dumps, see tests/data/NOTICE.md) read through privlab's flow reader and record builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import PrivlabError
from analysis.session.flows import read_mitm
from analysis.session.flows import record_from_flow
from analysis.session.flows import record_from_json
from analysis.session.flows import record_line
from analysis.session.flows import record_to_json

EXPECTED = {
    "dumpfile-011.mitm": 1,
    "dumpfile-018.mitm": 1,
    "dumpfile-019.mitm": 1,
    "dumpfile-7.mitm": 2,
    "dumpfile-10.mitm": 1,
    "dumpfile-19.mitm": 1,
    "dumpfile-7-websocket.mitm": 6,
}


@pytest.mark.parametrize(("name", "count"), sorted(EXPECTED.items()))
def test_dumps_load_with_known_flow_counts(ref_data: Path, name: str, count: int) -> None:
    flows = list(read_mitm(ref_data / "mitm_dumps" / name))
    assert len(flows) == count
    for f in flows:
        rec = record_from_flow(f)
        assert rec.flow_id == f.id and rec.host
        # The flows.jsonl line format round-trips every field.
        assert record_to_json(record_from_json(record_to_json(rec))) == record_to_json(rec)
        assert record_line(rec).endswith(b"\n")


def test_http3_dump_keeps_its_version(ref_data: Path) -> None:
    (flow,) = read_mitm(ref_data / "mitm_dumps" / "dumpfile-19.mitm")
    rec = record_from_flow(flow)
    assert rec.http_version == "HTTP/3"
    assert rec.host == "cloudflare-quic.com"


def test_websocket_dump_messages(ref_data: Path) -> None:
    recs = [record_from_flow(f) for f in read_mitm(ref_data / "mitm_dumps" / "dumpfile-7-websocket.mitm")]
    assert any(r.websocket for r in recs)


def test_old_format_is_refused_with_a_clear_message(ref_data: Path) -> None:
    path = ref_data / "mitm_dumps" / "dumpfile-010.mitm"
    with pytest.raises(PrivlabError, match=r"dumpfile-010\.mitm: flow file too old"):
        list(read_mitm(path))


def test_not_a_flow_file(tmp_path: Path) -> None:
    bogus = tmp_path / "flows.mitm"
    bogus.write_bytes(b"this is not a tnetstring at all\n")
    with pytest.raises(PrivlabError, match="flows.mitm: not a readable mitmproxy flow file"):
        list(read_mitm(bogus))
    with pytest.raises(PrivlabError, match="cannot open"):
        list(read_mitm(tmp_path / "absent.mitm"))


def test_truncated_dump_yields_complete_flows(tmp_path: Path, sample_session: Path) -> None:
    data = (sample_session / "flows.mitm").read_bytes()
    cut = tmp_path / "cut.mitm"
    cut.write_bytes(data[: len(data) - 100])  # the last flow cut short, as by a kill -9 mid-write
    flows = []
    with pytest.raises(PrivlabError):
        for f in read_mitm(cut):
            flows.append(f)
    assert len(flows) == len(list(read_mitm(sample_session / "flows.mitm"))) - 1


@pytest.mark.parametrize("line", [b'"a string"', b"[1, 2]", b"42", b'{"flow_id": "x"}'])
def test_a_flows_jsonl_line_that_is_no_record_is_a_one_line_error(tmp_path: Path, line: bytes) -> None:
    from analysis.session.flows import read_jsonl

    jsonl = tmp_path / "flows.jsonl"
    jsonl.write_bytes(line + b"\n")
    with pytest.raises(PrivlabError, match=r"flows\.jsonl: line 1 is not a flow record"):
        list(read_jsonl(jsonl))


def test_a_record_read_back_equals_the_one_written(ref_data: Path) -> None:
    # The fast path (every field present) builds the same record as the dataclass's constructor.
    from analysis.schema import FlowRecord

    for f in read_mitm(ref_data / "mitm_dumps" / "dumpfile-7-websocket.mitm"):
        rec = record_from_flow(f)
        back = record_from_json(record_to_json(rec))
        assert back == rec and type(back) is FlowRecord and vars(back) == vars(rec)

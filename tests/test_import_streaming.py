"""`privlab import` at scale: the fast .mitm indexer gives mitmproxy's records byte for byte, a HAR is read
one entry at a time (a `.zhar` never inflated in memory), and memory follows the largest entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.capture import import_ as importer
from analysis.capture.flowindex import index_range
from analysis.capture.import_ import LineSpool
from analysis.cli import main
from analysis.session.flows import read_mitm
from analysis.session.flows import record_from_flow
from analysis.session.flows import record_line

DUMPS = Path(__file__).parent / "data" / "mitm_dumps"
REPO = Path(__file__).resolve().parents[1]


def _mitmproxy_lines(path: Path) -> bytes:
    return b"".join(record_line(record_from_flow(f)) for f in read_mitm(path))


@pytest.mark.parametrize(
    "name",
    ["flows/successful_log.mitm", "flows/websocket.mitm", "flows/error_log.mitm", "flows/diff_data.mitm",
     "flows/event_stream.mitm", "flows/corrupted_gzip_body.mitm", "dumpfile-019.mitm", "dumpfile-7-websocket.mitm"],
)  # fmt: skip
def test_fast_index_is_mitmproxys_records_byte_for_byte(name: str) -> None:
    """Old and new flow formats, WebSockets, errors: the same lines as mitmproxy's reader + record_from_flow."""
    path = DUMPS / name
    got = index_range(path, 0, path.stat().st_size)
    assert got.damage is None
    assert got.lines == _mitmproxy_lines(path)
    assert got.count == got.lines.count(b"\n") > 0


def test_fast_index_of_a_captured_session(sample_session: Path) -> None:
    path = sample_session / "flows.mitm"
    got = index_range(path, 0, path.stat().st_size)
    assert got.lines == _mitmproxy_lines(path) and got.count > 20


def test_a_field_of_the_wrong_type_takes_mitmproxys_path(sample_session: Path, tmp_path: Path) -> None:
    """A request whose port is text is refused by mitmproxy's checks, not indexed by the fast reader."""
    from mitmproxy.io import tnetstring

    with open(sample_session / "flows.mitm", "rb") as fh:
        states = [tnetstring.load(fh) for _ in range(3)]
    states[1]["request"]["port"] = "443"
    bad = tmp_path / "bad.mitm"
    bad.write_bytes(b"".join(tnetstring.dumps(s) for s in states))
    got = index_range(bad, 0, bad.stat().st_size)
    assert got.count == 1 and got.damage and "after 1 flows" in got.damage


def test_spooled_large_body_line_is_record_line(sample_session: Path) -> None:
    """A body over the piecewise threshold is base64-encoded in pieces; the line is record_line's."""
    flow = next(iter(read_mitm(sample_session / "flows.mitm")))
    rec = replace(record_from_flow(flow), request_body=os.urandom(3 * 1024 * 1024 + 7) * 2)
    spool = LineSpool()
    try:
        spool.add(rec)
        assert b"".join(spool.chunks()) == record_line(rec)
    finally:
        spool.close()


def _zhar(path: Path, body_mb: int) -> Path:
    entry = {
        "startedDateTime": "2024-01-01T00:00:00Z", "time": 1,
        "request": {"method": "POST", "url": "http://a.example/x", "httpVersion": "HTTP/1.1", "headers": [],
                    "bodySize": 0, "postData": {"mimeType": "text/plain", "text": "a" * (body_mb << 20)}},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [],
                     "content": {"size": 0, "mimeType": "text/plain"}, "bodySize": 0},
    }  # fmt: skip
    doc = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry]}}
    path.write_bytes(zlib.compress(json.dumps(doc).encode(), 9))
    return path


def _peak_mb(src: Path, out: Path) -> int:
    code = (
        "import resource, sys; from analysis.capture.import_ import import_capture; "
        "r = import_capture(sys.argv[1], sys.argv[2]); assert r.flows == 1; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(src), str(out)], env=env, capture_output=True, check=True
    )
    return int(done.stdout.split()[-1])


def test_zhar_import_memory_follows_the_largest_entry_not_the_file(tmp_path: Path) -> None:
    """Issue 18: a 0.2 MB .zhar holding one 180 MB body peaked at 1.3 GB (about 7x the body: compressed,
    inflated text, parsed tree, records, lines all at once). Now the body costs at most about 3.5x."""
    base = _peak_mb(_zhar(tmp_path / "small.zhar", 1), tmp_path / "o1")
    big = _zhar(tmp_path / "big.zhar", 96)
    assert big.stat().st_size < 200_000  # a small file that inflates about 1000:1
    peak = _peak_mb(big, tmp_path / "o2")
    assert peak - base < 3.5 * 96, f"peak {peak} MB, baseline {base} MB"
    (session,) = (tmp_path / "o2").iterdir()
    line = (session / "flows.jsonl").read_bytes()
    assert line.count(b"\n") == 1 and len(line) > 96 * 4 / 3 * (1 << 20)


@pytest.mark.parametrize(
    ("cap", "value", "name", "body_mb", "message"),
    [
        ("_MAX_ZHAR", 4 << 20, "bomb.zhar", 8, "bomb.zhar: compressed HAR inflates to more than 4 MB"),
        ("_MAX_ENTRY", 1 << 20, "wide.zhar", 2, "wide.zhar: entry 0 is 2 MB of JSON, more than the 1 MB"),
    ],
)
def test_a_zhar_over_a_cap_is_refused_in_one_line_before_it_is_decoded(
    cap: str,
    value: int,
    name: str,
    body_mb: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inflated size is counted while inflating, an entry's size checked before it is decoded."""
    monkeypatch.setattr(importer, cap, value)
    src = _zhar(tmp_path / name, body_mb)
    out = CliRunner().invoke(main, ["import", str(src), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2 and "Traceback" not in out.output and message in out.output
    assert not (tmp_path / "o").exists()


def test_cut_short_zhar_is_named(tmp_path: Path) -> None:
    src = _zhar(tmp_path / "cut.zhar", 1)
    src.write_bytes(src.read_bytes()[:-40])
    out = CliRunner().invoke(main, ["import", str(src), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2 and "cut.zhar: compressed HAR is cut short" in out.output

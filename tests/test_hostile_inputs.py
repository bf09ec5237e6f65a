"""Hostile files handed to `privlab import`, then `analyze` and `report`: each imports and analyses, or is
refused with one line; never a traceback (issue 18, defect 6). All files are made here, with the real
writers where one exists (mitmproxy's FlowWriter, scapy's wrpcap)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.session.flows import read_flows


def _har(path: Path, *, status: int = 200, started: str = "2024-01-01T00:00:00Z", time: float = 5.0,
         body: str | None = None) -> None:  # fmt: skip
    request: dict = {"method": "POST" if body else "GET", "url": "http://a.example/x", "httpVersion": "HTTP/1.1",
                     "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0}  # fmt: skip
    if body is not None:
        request["postData"] = {"mimeType": "application/json", "text": body}
    entry = {
        "startedDateTime": started, "time": time, "request": request,
        "response": {"status": status, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1,
                     "bodySize": 0},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
    }  # fmt: skip
    doc = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry]}}
    path.write_text(json.dumps(doc))


def _nested_tnetstring(path: Path) -> None:
    inner = b"0:]"
    for _ in range(5000):
        inner = b"%d:%s]" % (len(inner), inner)
    path.write_bytes(inner)


def _mitm_with_bad_bytes(path: Path) -> None:
    from mitmproxy import io
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    flow.request.headers.fields = ((b"Content-Type", b"text/\xed\xa0\x80\xff"), (b"X-\xff", b"\x00\x1b"))
    flow.request.method = "P\udcffST"
    flow.request.path = "/a\udcff"
    with open(path, "wb") as fh:
        io.FlowWriter(fh).add(flow)


def _pcap_huge_content_length(path: Path) -> None:
    from scapy.all import IP
    from scapy.all import TCP
    from scapy.all import Ether
    from scapy.all import Raw
    from scapy.all import wrpcap

    req = b"POST /x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100000000000000000000\r\n\r\nabc"
    ip = IP(src="10.0.0.2", dst="10.0.0.3")
    wrpcap(str(path), [Ether() / ip / TCP(sport=40000, dport=80, flags="S", seq=1),
                       Ether() / ip / TCP(sport=40000, dport=80, flags="PA", seq=2) / Raw(req)])  # fmt: skip


HOSTILE: dict[str, tuple[str, Callable[[Path], None]]] = {
    "deeply nested HAR": ("nested.har", lambda p: p.write_text('{"log":{"entries":' + "[" * 50000 + "]" * 50000 + "}}")),
    "deeply nested mitm structure": ("nested.mitm", _nested_tnetstring),
    "huge mitm length prefix": ("huge.mitm", lambda p: p.write_bytes(b"99999999999:" + b"x" * 100)),
    "HAR status 10^20": ("status.har", lambda p: _har(p, status=10**20)),
    "HAR time 1e308": ("time.har", lambda p: _har(p, time=1e308, started="+99999-01-01T00:00:00Z")),
    "HAR body nested 200k deep": ("deepbody.har", lambda p: _har(p, body="[" * 200_000 + "]" * 200_000)),
    "HAR body object nested 100k deep": ("deepobj.har", lambda p: _har(p, body='{"a":' * 100_000 + "1" + "}" * 100_000)),
    "mitm with surrogates and invalid bytes": ("bad.mitm", _mitm_with_bad_bytes),
    "pcap with Content-Length 10^20": ("cl.pcap", _pcap_huge_content_length),
}  # fmt: skip


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_imports_and_analyses_or_is_refused_in_one_line(case: str, tmp_path: Path) -> None:
    name, make = HOSTILE[case]
    src = tmp_path / name
    make(src)
    runner = CliRunner()
    out = runner.invoke(main, ["import", str(src), "--out", str(tmp_path / "caps")])
    _no_traceback(out)
    if out.exit_code != 0:
        assert out.exit_code == 2
        lines = [line for line in out.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "privlab: error:" in lines[0], out.output
        assert name in lines[0]  # the line names the input
        return
    session = next((tmp_path / "caps").iterdir())
    for args in (["analyze", str(session)], ["report", str(session), "--format", "json,html"],
                 ["verify", str(session)]):  # fmt: skip
        res = runner.invoke(main, args)
        _no_traceback(res)
        assert res.exit_code == 0, f"{args[0]}: {res.output}"


def test_pcap_content_length_beyond_the_capture_is_named_with_its_flow(tmp_path: Path) -> None:
    """Issue 18: Content-Length 10^20 was refused only by the CLI's last-resort OverflowError handler. The
    request is kept with the bytes the capture holds, and one line names the file and the flow."""
    src = tmp_path / "cl.pcap"
    _pcap_huge_content_length(src)
    out = CliRunner().invoke(main, ["import", str(src), "--out", str(tmp_path / "caps")])
    assert out.exit_code == 0, out.output
    warning = next(line for line in out.output.splitlines() if line.startswith("warning:"))
    assert "cl.pcap: request POST /x (10.0.0.2:40000 -> 10.0.0.3:80) declares Content-Length " in warning
    assert "100000000000000000000, but 3 bytes follow its headers" in warning
    session = next((tmp_path / "caps").iterdir())
    (record,) = read_flows(session / "flows.jsonl")
    assert record.request_body == b"abc" and record.via == "pcap-only"

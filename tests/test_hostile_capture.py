"""The app under test is the adversary: nothing it sends may stop the evidence chain.

Real mitmdump with privlab's addons, real loopback sockets; the "app" is `tests/fuzz_http_client.py`,
which writes random request lines, headers and bodies (invalid UTF-8 included) byte by byte. After the
capture the session must be sealed, verify intact, and `analyze` and `report` must run on it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from origin_app import ORIGIN

from analysis.capture.host import HostCapture
from analysis.capture.host import capture_host
from analysis.cli import main
from analysis.session import Session
from analysis.session.flows import display_text
from analysis.session.flows import read_jsonl
from analysis.session.flows import read_mitm
from analysis.session.verify import verify_session

FUZZ_CLIENT = Path(__file__).with_name("fuzz_http_client.py")
# 1,000 random requests take about 15 s of capture here; PRIVLAB_FUZZ_REQUESTS changes the count.
FUZZ_REQUESTS = int(os.environ.get("PRIVLAB_FUZZ_REQUESTS", "1000"))

ONE_BAD_BYTE = (
    ORIGIN
    + """
with socket.create_connection((host, int(pport))) as s:
    s.sendall(b'POST http://127.0.0.1:%d/x HTTP/1.1\\r\\nHost: 127.0.0.1:%d\\r\\nContent-Type: text/\\xffplain\\r\\n'
              b'X-Id: \\xc3(\\r\\nContent-Length: 3\\r\\nConnection: close\\r\\n\\r\\nabc' % (port, port))
    print(s.recv(100)[:12])
"""
)


@pytest.fixture(scope="module")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mitmconf")


def _analyse_and_report(session: Path) -> dict[str, object]:
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", str(session)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["report", str(session), "--format", "html,json"])
    assert out.exit_code == 0, out.output
    return json.loads(next((session / "report").glob("*.json")).read_text())


def test_display_text_keeps_every_byte_visible() -> None:
    assert display_text(b"text/\xffplain") == "text/\\xffplain"
    assert display_text("text/\udcffplain") == "text/\\xffplain"  # mitmproxy's surrogateescape form
    assert display_text("d\ud800x") == "d\\xed\\xa0\\x80x"  # a surrogate no byte made
    assert display_text("évaluation") == "évaluation"
    assert display_text(None) == ""
    for s in (display_text(b"\xc3("), display_text("a\udc80")):
        s.encode("utf-8")  # always writable


def test_one_non_utf8_content_type_does_not_stop_the_chain(tmp_path: Path, confdir: Path) -> None:
    result = capture_host(HostCapture(command=[sys.executable, "-c", ONE_BAD_BYTE], root=tmp_path,
                                      confdir=confdir))  # fmt: skip
    assert result.status == "sealed", result.reason
    path = result.session.path
    (rec,) = read_jsonl(path / "flows.jsonl")
    assert rec.request_content_type == "text/\\xffplain"
    assert ("X-Id", "\\xc3(") in rec.request_headers
    (flow,) = read_mitm(path / "flows.mitm")
    assert flow.request.headers.fields[1][1] == b"text/\xffplain"  # the evidence keeps the bytes
    assert verify_session(path).intact
    doc = _analyse_and_report(path)
    assert doc


def test_fuzzed_requests_through_real_mitmdump_seal_verify_and_analyse(tmp_path: Path, confdir: Path) -> None:
    cmd = [sys.executable, str(FUZZ_CLIENT), str(FUZZ_REQUESTS), "18"]
    result = capture_host(HostCapture(command=cmd, root=tmp_path, confdir=confdir))
    assert result.status == "sealed", result.reason
    assert result.exit_code == 0
    path = result.session.path
    flows = list(read_mitm(path / "flows.mitm"))
    records = list(read_jsonl(path / "flows.jsonl"))
    # Most random requests are valid enough to be flows (about one in ten is refused by mitmproxy).
    assert len(flows) >= FUZZ_REQUESTS // 2
    assert len(records) == len(flows)  # every recorded flow indexed: none lost to a hostile byte
    assert "index_failed" not in Session.open(path).meta.get("capture", {})
    assert any("\\x" in r.request_content_type for r in records if r.request_content_type)
    report = verify_session(path)
    assert report.intact, report.problems
    _analyse_and_report(path)
    assert verify_session(path).intact  # analysis wrote only derived data


def test_a_flow_that_cannot_be_indexed_is_marked_not_the_session(tmp_path: Path, confdir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Whatever breaks indexing of one flow (here: a fault injected into the index writer for one flow)
    leaves the others indexed and the session sealed, with the flow named in session.json."""
    from analysis.capture import flowindex

    real = flowindex.record_from_flow
    calls = {"n": 0}

    def flaky(flow):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected fault")
        return real(flow)

    monkeypatch.setattr(flowindex, "record_from_flow", flaky)
    cmd = [sys.executable, str(FUZZ_CLIENT), "5", "3"]
    result = capture_host(HostCapture(command=cmd, root=tmp_path, confdir=confdir))
    assert result.status == "sealed"
    path = result.session.path
    flows = list(read_mitm(path / "flows.mitm"))
    records = list(read_jsonl(path / "flows.jsonl"))
    failed = Session.open(path).meta["capture"]["index_failed"]
    assert len(records) == len(flows) - 1
    assert failed[0]["flow_id"] == flows[1].id and "injected fault" in failed[0]["error"]
    assert verify_session(path).intact

"""Round trip: a real privlab capture -> mitmproxy's own HAR exporter -> `privlab import` -> the same evidence.

The capture is the control app through a real mitmdump with real TLS (as in tests/test_capture.py); the
HAR is written by mitmproxy 12's `SaveHar.make_har`, the exporter researchers use. Importing the HAR must
give the flows, the bytes and the detections that importing the `.mitm` gives.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.addons.savehar import SaveHar

from analysis.analyze.load import load_session
from analysis.analyze.stages import analyze
from analysis.capture.import_ import import_capture
from analysis.session.flows import read_jsonl
from analysis.session.flows import read_mitm
from analysis.validation.run import capture_control_app


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("roundtrip")
    result = capture_control_app(root, pcap=False, confdir=tmp_path_factory.mktemp("mitmconf"))
    assert result.status == "sealed", result.reason
    return result.session.path


def _decoded(headers: list[tuple[str, str]], body: bytes) -> bytes:
    enc = dict((k.lower(), v) for k, v in headers).get("content-encoding", "").lower()
    if enc in ("gzip", "deflate"):
        return zlib.decompress(body, 47 if enc == "gzip" else 15) if body else body
    return body


def test_har_export_of_a_capture_imports_as_the_same_evidence(captured: Path, tmp_path: Path) -> None:
    flows = list(read_mitm(captured / "flows.mitm"))
    har = tmp_path / "capture.har"
    har.write_text(json.dumps(SaveHar().make_har(flows)))
    canaries = captured / "canaries.json"
    from_mitm = import_capture(captured / "flows.mitm", tmp_path / "m", canaries=canaries).session
    from_har = import_capture(har, tmp_path / "h", canaries=canaries).session
    m = list(read_jsonl(from_mitm.path / "flows.jsonl"))
    h = list(read_jsonl(from_har.path / "flows.jsonl"))
    assert len(m) == len(h) == len([f for f in flows if isinstance(f, http.HTTPFlow)]) >= 10
    for a, b in zip(m, h, strict=True):
        assert (a.method, a.url, a.status, a.http_version) == (b.method, b.url, b.status, b.http_version)
        # HAR has serverIPAddress but no server port: the import takes the URL's (the lab redirects the
        # capture to a local port, so only the address can be compared).
        assert a.server_ip == b.server_ip == "127.0.0.1"
        assert a.request_headers == b.request_headers and a.response_headers == b.response_headers
        assert _decoded(a.request_headers, a.request_body) == _decoded(b.request_headers, b.request_body)
        if "content-encoding" not in {k.lower() for k, _ in a.request_headers}:
            assert a.request_body == b.request_body  # byte for byte
        assert a.response_body_size == b.response_body_size
        assert [(x.from_client, x.content) for x in a.websocket] == [
            (x.from_client, x.content) for x in b.websocket
        ]
    # The same detections: same data, same flow (by position), same part and encoding chain.
    for s in (from_mitm, from_har):
        analyze(s.path, show_progress=False)
    pos_m = {r.flow_id: i for i, r in enumerate(m)}
    pos_h = {r.flow_id: i for i, r in enumerate(h)}

    def found(s_path: Path, pos: dict[str, int]) -> list[tuple[int, str, str, str, str, str]]:
        d = load_session(s_path, refresh=False).detections
        return sorted(
            (pos[f], str(t), c if isinstance(c, str) else "-", str(p), str(e), str(meth))
            for f, t, c, p, e, meth in zip(
                d["flow_id"],
                d["data_type"],
                d["canary_id"],
                d["part"],
                d["encoding"],
                d["method"],
                strict=True,
            )
            if f in pos
        )

    dm, dh = found(from_mitm.path, pos_m), found(from_har.path, pos_h)
    assert dm == dh
    assert sum(1 for x in dm if x[5] == "canary") >= 5  # the control app's planted values were found

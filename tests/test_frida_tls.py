"""End to end on this host, all real: Frida 17 + the built agent + mitmdump + OpenSSL 3.

The control app (tests/hooks/control_app.py) is spawned under the runner and POSTs a planted value
through a real `mitmdump` to a loopback TLS server, then directly to that server. The plaintext the
agent captured from `SSL_write_ex` must be byte for byte the request mitmproxy recorded, and the
`getaddrinfo`/`connect` events must name the host and the peer.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mitmproxy.net.http.http1.assemble import assemble_request

from analysis.capture.frida import FridaRunner
from analysis.session import Session
from analysis.session.flows import read_mitm
from analysis.validation.upstream import make_certificate

REPO = Path(__file__).resolve().parents[1]
CONTROL_APP = REPO / "tests" / "hooks" / "control_app.py"
MITMDUMP = Path(sys.executable).parent / "mitmdump"
PLANTED = '{"email": "canary-7f3a@example.org", "imei": "358240051111110"}'


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Handler.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    cert, key = make_certificate(tmp_path, ("localhost",))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def mitmdump(tmp_path: Path, tls_server: tuple[int, Path]) -> Iterator[tuple[int, Path, Path]]:
    """A real mitmdump writing flows.mitm; yields (port, its CA cert, the flow file)."""
    port, server_cert = tls_server
    proxy_port = _free_port()
    confdir = tmp_path / "mitmconf"
    flows = tmp_path / "flows.mitm"
    proc = subprocess.Popen(
        [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(proxy_port)]
        + ["--set", f"confdir={confdir}", "--set", f"ssl_verify_upstream_trusted_ca={server_cert}"]
        + ["-w", str(flows)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    ca = confdir / "mitmproxy-ca-cert.pem"
    for _ in range(300):  # up to 30 s on a loaded machine; normally under 1 s
        if proc.poll() is not None:
            pytest.fail(f"mitmdump exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", proxy_port), timeout=0.2):
                if ca.exists():
                    break
        except OSError:
            time.sleep(0.1)
    yield proxy_port, ca, flows
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)


def _events(session: Session) -> list[dict[str, Any]]:
    return [json.loads(line) for line in session.file("hooks.jsonl").read_text().splitlines()]


def test_ssl_write_plaintext_matches_what_mitmproxy_recorded(
    tmp_path: Path, tls_server: tuple[int, Path], mitmdump: tuple[int, Path, Path]
) -> None:
    server_port, server_cert = tls_server
    proxy_port, mitm_ca, flows = mitmdump
    session = Session.create(tmp_path / "captures", "frida-tls")
    runner = FridaRunner(session, modules=["ssl", "connect", "getaddrinfo"])
    argv = [
        sys.executable,
        str(CONTROL_APP),
        "--proxy",
        f"127.0.0.1:{proxy_port}",
        "--proxy-ca",
        str(mitm_ca),
    ]
    argv += ["--target", f"localhost:{server_port}", "--server-ca", str(server_cert), "--body", PLANTED]
    pid = runner.spawn(argv, env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert runner.wait(60), "control app did not finish"
    summary = runner.stop()
    os.kill(os.getpid(), 0)  # still here: the runner did not take the test process down with it

    assert summary["modules_attached"] == ["connect", "getaddrinfo", "ssl"]
    assert summary["gaps"] == []
    events = _events(session)
    assert [e["seq"] for e in events] == list(range(len(events)))

    # The request mitmproxy recorded, as bytes on the wire.
    recorded = [f for f in read_mitm(flows) if f.request.path == "/collect"]
    assert len(recorded) == 1
    assert recorded[0].request.content == PLANTED.encode()
    wire = assemble_request(recorded[0].request)

    writes = [e for e in events if e["category"] == "tls-plaintext" and e["api"] == "SSL_write_ex"]
    assert writes and all(e["pid"] == pid for e in writes)
    plaintext = b"".join(base64.b64decode(e["args"][1]["$b64"]) for e in writes)
    # First the proxied request (exactly what mitmproxy recorded), then the direct one.
    assert plaintext[: len(wire)] == wire
    assert plaintext[len(wire) :].startswith(b"POST /collect HTTP/1.1\r\n")
    assert plaintext.count(PLANTED.encode()) == 2
    assert _Handler.bodies[-2:] == [PLANTED.encode(), PLANTED.encode()]
    assert {e["args"][0]["lib"] for e in writes} == {"libssl.so.3"}

    reads = [e for e in events if e["category"] == "tls-plaintext" and e["api"] == "SSL_read_ex"]
    responses = b"".join(base64.b64decode(e["ret"]["$b64"]) for e in reads)
    assert responses.count(b"HTTP/1.") == 2

    lookups = [e for e in events if e["api"] == "getaddrinfo"]
    assert ["localhost", str(server_port)] in [e["args"] for e in lookups]
    peers = {e["args"][1] for e in events if e["api"] == "connect"}
    assert f"127.0.0.1:{proxy_port}" in peers and f"127.0.0.1:{server_port}" in peers

    # Custody: every byte of hooks.jsonl is covered by a "hooks" record, batch by batch.
    chain = [json.loads(line) for line in session.file("custody.jsonl").read_text().splitlines()]
    batches = [r for r in chain if r.get("kind") == "hooks"]
    assert sum(r["length"] for r in batches) == session.file("hooks.jsonl").stat().st_size
    meta = json.loads(session.file("session.json").read_text())
    assert meta["frida"]["agent"]["sha256"] == summary["agent_sha256"]
    assert meta["frida"]["frida"] and meta["frida"]["summary"]["events"] == summary["events"]


PINNED_APP = REPO / "tests" / "hooks" / "pinned_app.py"
BORINGSSL_STANDIN = REPO / "tests" / "hooks" / "boringssl_standin.c"


@pytest.fixture(scope="module")
def boringssl_standin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The STAND-IN BoringSSL (tests/hooks/boringssl_standin.c) built as libttboringssl.so."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is needed to build the BoringSSL stand-in (apt-get install gcc)")
    lib = tmp_path_factory.mktemp("boringssl") / "libttboringssl.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-O1", "-o", str(lib), str(BORINGSSL_STANDIN)], check=True)
    return lib


def _run_pinned_app(tmp_path: Path, lib: Path, ca_der: bytes | None) -> tuple[dict[str, Any], Session]:
    ours, other = tmp_path / "ours.der", tmp_path / "other.der"
    ours.write_bytes(b"0\x82our-interception-ca")
    other.write_bytes(b"0\x82someone-elses-ca")
    out = tmp_path / "result.json"
    session = Session.create(tmp_path / "captures", "pinned")
    runner = FridaRunner(session, modules=["tls-native"], ca_der=ca_der)
    runner.spawn([sys.executable, str(PINNED_APP), str(lib), str(ours), str(other), str(out)])
    assert runner.wait(60)
    runner.stop()
    return json.loads(out.read_text()), session


def test_native_pinning_bypass_trusts_our_ca_and_nothing_else(
    tmp_path: Path, boringssl_standin: Path
) -> None:
    result, session = _run_pinned_app(tmp_path, boringssl_standin, b"0\x82our-interception-ca")
    # Our CA in the chain: accepted without asking the app's pinning callback.
    assert result["ours"] == 0
    # Any other chain: the app's own callback decides (and rejects), exactly as without the agent.
    assert result["other"] == 1 and result["app_callback_calls"] == 1
    (event,) = [e for e in _events(session) if e["category"] == "tls"]
    assert event["api"] == "libttboringssl.so!custom_verify" and event["ret"] == "accepted-our-ca"


def test_without_a_ca_native_pinning_is_left_alone(tmp_path: Path, boringssl_standin: Path) -> None:
    result, session = _run_pinned_app(tmp_path, boringssl_standin, None)
    assert result == {"ours": 1, "other": 1, "app_callback_calls": 2}
    ready = [e for e in _events(session) if e["api"] == "ready"]
    assert ready[0]["args"][0]["status"] == "skipped"

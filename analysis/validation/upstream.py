"""The local upstream that answers the control app in place of TikTok's servers.

A threaded HTTP server on loopback, one TLS port and one plain port, with a self-signed certificate
whose names cover the hosts the control app uses (mitmproxy verifies it with
`ssl_verify_upstream_trusted_ca`). It answers every request with a small JSON body, echoes
WebSocket messages, and records the SNI it saw so tests can check that the original name was kept.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import ssl
import struct
import threading
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Names the certificate covers: every host the control app and the tests talk to.
CERT_NAMES = (
    "localhost",
    "*.tiktokv.com",
    "*.tiktok.com",
    "*.byteoversea.com",
    "*.tiktokcdn.com",
    "*.pangle.io",
    "*.appsflyer.com",
    "*.googleadservices.com",
    "*.googleapis.com",
    "*.facebook.com",
    "*.example.org",
    "example.org",
)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def make_certificate(directory: Path, names: tuple[str, ...] = CERT_NAMES) -> tuple[Path, Path]:
    """Write a self-signed cert and key for `names`; returns (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "privlab lab upstream")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "upstream-cert.pem", directory / "upstream-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Seen:
    """What the upstream observed (for tests): (sni, host header, path) per request."""

    requests: list[tuple[str | None, str | None, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # without it each POST waits on delayed ACKs (~40 ms)
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        return

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _answer(self) -> None:
        self._body()
        sni = getattr(self.connection, "privlab_sni", None)
        with self.server.seen.lock:
            self.server.seen.requests.append((sni, self.headers.get("host"), self.path))
        if self.headers.get("upgrade", "").lower() == "websocket":
            self._websocket()
            return
        payload = json.dumps({"status_code": 0, "message": "success", "sni": sni}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def _websocket(self) -> None:
        accept = base64.b64encode(
            hashlib.sha1((self.headers["sec-websocket-key"] + WS_GUID).encode()).digest()
        )
        self.send_response(101)
        self.send_header("upgrade", "websocket")
        self.send_header("connection", "Upgrade")
        self.send_header("sec-websocket-accept", accept.decode())
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                break
            opcode, n = head[0] & 0x0F, head[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            reply_len = bytes([len(data)]) if len(data) < 126 else bytes([126]) + struct.pack(">H", len(data))
            self.wfile.write(bytes([0x80 | opcode]) + reply_len + data)  # echo (a close is echoed too)
            self.wfile.flush()
            if opcode == 0x8:
                break
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: Seen


@dataclass
class UpstreamServer:
    """A running lab upstream; `tls` and `plain` are `host:port` for the upstream addon's options."""

    tls_server: _Server
    plain_server: _Server
    cert: Path
    seen: Seen

    @property
    def tls(self) -> str:
        return f"127.0.0.1:{self.tls_server.server_address[1]}"

    @property
    def plain(self) -> str:
        return f"127.0.0.1:{self.plain_server.server_address[1]}"

    def stop(self) -> None:
        for s in (self.tls_server, self.plain_server):
            s.shutdown()
            s.server_close()


def start_upstream(directory: Path) -> UpstreamServer:
    """Start both servers on free loopback ports in background threads."""
    cert, key = make_certificate(directory)
    seen = Seen()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])

    def remember_sni(sock: ssl.SSLObject, name: str, _ctx: ssl.SSLContext) -> None:
        sock.privlab_sni = name  # type: ignore[attr-defined]

    ctx.sni_callback = remember_sni
    tls_server = _Server(("127.0.0.1", 0), _Handler)
    tls_server.socket = ctx.wrap_socket(tls_server.socket, server_side=True)
    plain_server = _Server(("127.0.0.1", 0), _Handler)
    for s in (tls_server, plain_server):
        s.seen = seen
        threading.Thread(target=s.serve_forever, daemon=True, name="privlab-upstream").start()
    return UpstreamServer(tls_server, plain_server, cert, seen)

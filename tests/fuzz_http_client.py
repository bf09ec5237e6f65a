"""A hostile app for the capture fuzz test: random HTTP/1.1 requests over raw sockets, through the proxy.

    python tests/fuzz_http_client.py COUNT SEED

Run as the captured program (`privlab capture --host-command`): it reads the proxy from `PRIVLAB_PROXY`,
starts its own loopback origin server, and sends COUNT requests whose request line, header names,
header values and bodies are random bytes, invalid UTF-8 (0xff, lone continuation bytes), NULs and
control characters included. Raw sockets, because an HTTP library would refuse or normalise exactly
the bytes the test is about. Everything stays on 127.0.0.1. The origin answers with random headers
too, so the response side is exercised. Framing is kept valid (a correct Content-Length, no CR/LF
inside a header): a request the proxy cannot even parse is no flow, and this test is about flows.

Prints one line: `sent N answered M`.
"""

from __future__ import annotations

import os
import random
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"HEAD"]
FRAMING = {b"content-length", b"transfer-encoding", b"connection", b"host", b"upgrade", b"expect",
           b"proxy-connection", b"te", b"keep-alive", b"trailer"}  # fmt: skip
# Bytes a value may hold: everything but CR and LF (those end the header; framing is not the point).
VALUE_BYTES = bytes(b for b in range(256) if b not in (10, 13))
TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _rand_bytes(rng: random.Random, alphabet: bytes, lo: int, hi: int) -> bytes:
    return bytes(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _value(rng: random.Random) -> bytes:
    """A header value: usually text with one hostile byte, sometimes all random bytes."""
    kind = rng.random()
    if kind < 0.4:
        base = bytearray(b"text/plain; charset=utf-8")
        base.insert(rng.randrange(len(base) + 1), rng.choice([0xFF, 0xFE, 0x80, 0xC3, 0x00, 0x1B, 0x7F]))
        return bytes(base).strip(b" \t")
    if kind < 0.8:
        return _rand_bytes(rng, VALUE_BYTES, 1, 60).strip(b" \t") or b"x"
    return "évaluation ✓ 日本".encode() + bytes([rng.randrange(0x80, 0x100)])


def _name(rng: random.Random) -> bytes:
    while True:
        name = _rand_bytes(rng, TOKEN, 1, 16)
        if rng.random() < 0.15:
            name = b"Content-Type"
        if name.lower() not in FRAMING:
            return name


def make_request(rng: random.Random, origin: str) -> bytes:
    """One random request in absolute form for the proxy, with a correct Content-Length."""
    method = rng.choice(METHODS) if rng.random() < 0.7 else _rand_bytes(rng, TOKEN, 1, 10)
    # mitmproxy refuses a request line with bytes over 0x7f (no flow then): one in ten has some.
    path_bytes = bytes(range(33, 256)) if rng.random() < 0.1 else bytes(range(33, 127))
    path = b"/" + _rand_bytes(rng, path_bytes.replace(b"#", b""), 0, 40)
    if rng.random() < 0.3:
        path += b"?" + _rand_bytes(rng, path_bytes, 0, 40)
    headers = [(b"Host", origin.encode()), (b"Connection", b"close")]
    headers += [(_name(rng), _value(rng)) for _ in range(rng.randint(0, 8))]
    body = os.urandom(rng.randint(0, 2048)) if rng.random() < 0.7 else b""
    if body or method in (b"POST", b"PUT", b"PATCH"):
        headers.append((b"Content-Length", str(len(body)).encode()))
    head = b"%s http://%s%s HTTP/1.1\r\n" % (method, origin.encode(), path)
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return head + b"\r\n" + body


class Origin:
    """A loopback HTTP origin that answers every request with random header bytes and a small body."""

    def __init__(self, seed: int) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.rng = random.Random(seed ^ 0x5EED)
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
                with self.lock:
                    value = _value(self.rng)
                    body = os.urandom(self.rng.randint(0, 256))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: " + value + b"\r\nX-Fuzz: " + value
                             + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)  # fmt: skip
            except OSError:
                return


def send(proxy: tuple[str, int], request: bytes) -> bool:
    """Send one request on its own connection; True when an HTTP answer came back."""
    try:
        with socket.create_connection(proxy, timeout=10) as s:
            s.sendall(request)
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return answer.startswith(b"HTTP/")
    except OSError:
        return False


def main() -> None:
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    host, port = os.environ["PRIVLAB_PROXY"].removeprefix("http://").rsplit(":", 1)
    origin = Origin(seed)
    rng = random.Random(seed)
    requests = [make_request(rng, origin.address) for _ in range(count)]
    with ThreadPoolExecutor(8) as pool:
        answered = sum(pool.map(lambda r: send((host, int(port)), r), requests))
    print(f"sent {count} answered {answered}", flush=True)


if __name__ == "__main__":
    main()

"""Run a real `mitmdump` with privlab's addons on a loopback port, with its own confdir (and CA)."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from dataclasses import field
from importlib import resources
from pathlib import Path

from analysis.device.ca import DEFAULT_CONFDIR
from analysis.errors import CaptureError
from analysis.session.processes import die_with_parent

# The top-level `addons` package: a folder of the checkout, shipped as a package in the wheel (pyproject.toml).
# Found through the import system, so an installed privlab never looks for a checkout.
ADDONS_DIR = Path(str(resources.files("addons")))
CAPTURE_SCRIPT = "privlab.py"  # capture + TLS failures + lab routing, one script (see its docstring)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def mitmdump_binary() -> Path:
    exe = Path(sys.executable).parent / "mitmdump"
    if not exe.exists():
        raise CaptureError(f"{exe}: mitmdump not found next to this Python; run `make venv`")
    return exe


def ca_cert(confdir: Path) -> Path:
    """The CA certificate mitmproxy generated in `confdir` (the file clients must trust)."""
    return confdir / "mitmproxy-ca-cert.pem"


@dataclass
class Upstream:
    """Where to send intercepted connections instead of the real hosts (lab runs)."""

    tls: str  # host:port
    plain: str
    trusted_ca: Path | None = None

    @property
    def on_loopback(self) -> bool:
        """Every upstream given is an IPv4 loopback address (a lab server on this host)."""
        targets = [t for t in (self.tls, self.plain) if t]
        return bool(targets) and all(_ipv4_loopback(t.rsplit(":", 1)[0]) for t in targets)


def _ipv4_loopback(host: str) -> bool:
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


def lab_source_address(port: int) -> str:
    """The loopback address a proxy on `port` connects to a lab upstream from (127.77.<port>).

    Two captures may share one lab upstream port; with each proxy's upstream connections coming from an
    address of its own, each capture's pcap filter keeps only its own (issue 18: concurrent captures put
    each other's upstream connections in their pcaps). All of 127/8 is this host's on Linux.
    """
    return f"127.77.{port >> 8}.{port & 0xFF}"


@dataclass
class Proxy:
    """A running mitmdump. Use `ProxyConfig.start()`; stop with `stop()` (SIGINT, so flows are flushed)."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    confdir: Path
    log_path: Path
    source: str | None = None  # the address upstream connections come from (lab upstreams only)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ca(self) -> Path:
        return ca_cert(self.confdir)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """Stop mitmdump cleanly (flows still open are written by the addon's `done`); returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


@dataclass
class ProxyConfig:
    session_path: Path
    host: str = "127.0.0.1"
    port: int | None = None
    confdir: Path = field(default_factory=lambda: DEFAULT_CONFDIR)
    upstream: Upstream | None = None
    extra_args: list[str] = field(default_factory=list)

    def command(self, port: int) -> list[str]:
        cmd = [
            str(mitmdump_binary()),
            "-s", str(ADDONS_DIR / CAPTURE_SCRIPT),
            "--listen-host", self.host,
            "--listen-port", str(port),
            "--set", f"confdir={self.confdir}",
            # lazy: connect upstream only when a request needs it, so CONNECT to names that do not resolve
            # still gets intercepted, and HTTP/2 can be offered to the client.
            "--set", "connection_strategy=lazy",
            "--set", f"privlab_session={self.session_path}",
        ]  # fmt: skip
        if self.upstream is not None:
            cmd += [
                "--set",
                f"upstream_tls={self.upstream.tls}",
                "--set",
                f"upstream_plain={self.upstream.plain}",
            ]
            if self.upstream.trusted_ca is not None:
                cmd += ["--set", f"ssl_verify_upstream_trusted_ca={self.upstream.trusted_ca}"]
            if self.upstream.on_loopback:
                cmd += ["--set", f"connect_addr={lab_source_address(port)}"]
        return cmd + self.extra_args

    def start(self, log_path: Path, timeout: float = 20.0) -> Proxy:
        """Start mitmdump and wait until it accepts connections; one-line CaptureError otherwise."""
        if self.port is not None and port_in_use(self.host, self.port):
            raise CaptureError(f"port {self.port} on {self.host} is already in use; pick another with --port")
        port = self.port or free_port(self.host)
        self.confdir.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            self.command(port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            # Its own process group (Ctrl-C on the terminal must not reach it before we stop it in order),
            # and SIGTERM (a clean shutdown for mitmdump) if the capture process dies.
            preexec_fn=die_with_parent,
        )
        log.close()
        source = lab_source_address(port) if self.upstream is not None and self.upstream.on_loopback else None
        proxy = Proxy(proc, self.host, port, self.confdir, log_path, source)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CaptureError(f"mitmdump exited at start (code {proc.returncode}): {proxy.log_tail()}")
            try:
                with socket.create_connection((self.host, port), timeout=0.5):
                    if ca_cert(self.confdir).exists():
                        return proxy
            except OSError:
                pass
            time.sleep(0.05)
        proxy.stop()
        raise CaptureError(f"mitmdump did not start listening on {self.host}:{port} within {timeout:.0f} s")

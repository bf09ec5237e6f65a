"""Host capture: record a local program's HTTP(S) traffic through a real mitmdump into a sealed session.

    session = capture_host(HostCapture(command=["curl", "https://example.org"], root=Path("captures")))

Order matters for evidence: the session (and its chain) exists before the proxy starts, the proxy and
tcpdump are up before the program runs, and the program has ended before the proxy is stopped (with
SIGINT, so half-finished flows are written) and the session sealed. A proxy that dies during the run
makes the session `incomplete` with the reason; nothing captured before is lost.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from analysis.capture.flowindex import write_flow_index
from analysis.capture.pcap import PacketCapture
from analysis.capture.pcap import start_tcpdump
from analysis.capture.proxy import DEFAULT_CONFDIR
from analysis.capture.proxy import Proxy
from analysis.capture.proxy import ProxyConfig
from analysis.capture.proxy import Upstream
from analysis.capture.proxy import port_in_use
from analysis.errors import CaptureError
from analysis.schema import Canary
from analysis.session import PCAP
from analysis.session import Session
from analysis.session.custody import sha256_file
from analysis.session.processes import Watchdog
from analysis.session.processes import die_with_parent
from analysis.session.processes import register
from analysis.session.seal import reserve_seal_space
from analysis.session.seal import seal_session

EXIT_WRITE_FAILED = 74  # addons/capture.py exits with this when evidence cannot be written


@dataclass
class CaptureOptions:
    """How to record, whatever runs the app (a host program or an Android device)."""

    root: Path = Path("captures")
    name: str = "host"
    pcap: bool = False
    pcap_interface: str = "lo"
    pcap_filter: str | None = None  # default: the proxy's and upstream's ports, DNS and QUIC
    port: int | None = None
    confdir: Path = DEFAULT_CONFDIR
    upstream: Upstream | None = None
    note: str = ""
    signing_key: Path | None = None
    session_id: str | None = None
    conditions: dict[str, str] = field(default_factory=dict)  # e.g. {"consent": "refused"}
    # Called with the open session after the app ended and before sealing (e.g. to add ground truth).
    before_seal: Callable[[Session], None] | None = None


@dataclass
class HostCapture(CaptureOptions):
    """Capture a program on this machine."""

    command: list[str] = field(default_factory=list)
    canaries: list[Canary] = field(default_factory=list)
    app: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    frida: bool = False
    # (class, method) pairs the agent's `watch` module hooks (with `frida`); recorded in session.json.
    watch: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CaptureResult:
    session: Session
    status: str
    reason: str | None
    exit_code: int | None
    seal: dict[str, Any]


def parse_command(text: str) -> list[str]:
    """Split a `--host-command` string and check the program exists (one-line error otherwise)."""
    try:
        argv = shlex.split(text)
    except ValueError as e:
        raise CaptureError(f"--host-command {text!r}: cannot parse ({e})") from None
    if not argv:
        raise CaptureError("--host-command is empty")
    if shutil.which(argv[0]) is None:
        raise CaptureError(f"--host-command: program {argv[0]!r} not found (not on PATH or not executable)")
    return argv


def proxy_env(proxy: Proxy) -> dict[str, str]:
    """Environment that sends a program's HTTP(S) through the proxy and trusts only its CA."""
    ca = str(proxy.ca)
    env = {
        "HTTP_PROXY": proxy.url,
        "HTTPS_PROXY": proxy.url,
        "http_proxy": proxy.url,
        "https_proxy": proxy.url,
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "CURL_CA_BUNDLE": ca,
        "NODE_EXTRA_CA_CERTS": ca,
        "PRIVLAB_PROXY": proxy.url,
        "PRIVLAB_CA": ca,
    }
    return env


def default_bpf(proxy: Proxy, upstream: Upstream | None) -> str:
    """Only this capture's traffic on a shared loopback: proxy and upstream ports, DNS, QUIC (UDP/443).

    A lab upstream is matched with this proxy's own source address as well, so a second capture using
    the same upstream port is not recorded here. DNS and UDP/443 stay shared: the app sends those itself.
    """
    terms = [f"tcp port {proxy.port}"]
    if upstream is not None:
        for port in sorted({int(t.rsplit(":", 1)[1]) for t in (upstream.tls, upstream.plain) if t}):
            terms.append(f"(host {proxy.source} and tcp port {port})" if proxy.source else f"tcp port {port}")
    return " or ".join(terms + ["udp port 53", "udp port 443"])


def run_program(
    argv: list[str], env: dict[str, str], proxy: Proxy, session: Session | None = None
) -> tuple[int | None, str | None]:
    """Run the program until it exits, Ctrl-C, or the proxy dies; returns (exit code, incomplete reason).

    The program runs in its own process group (recorded in session.json when `session` is given), so
    it and everything it starts is ended together, by us or by the watchdog if we die.
    """
    try:
        proc = subprocess.Popen(argv, env=env, preexec_fn=die_with_parent)
    except OSError as e:
        raise CaptureError(f"cannot run {argv[0]!r}: {e.strerror}") from None
    if session is not None:
        register(session, "app", proc.pid)
    try:
        while True:
            try:
                return proc.wait(timeout=0.2), None
            except subprocess.TimeoutExpired:
                pass
            if not proxy.alive():
                _terminate_group(proc)
                _reap(proc)
                return proc.returncode, f"mitmdump exited with code {proxy.process.returncode} during capture"
    except KeyboardInterrupt:
        _terminate_group(proc)
        _reap(proc)
        return proc.returncode, None
    finally:
        if proc.poll() is None:  # an exception on our side: the program must not outlive the capture
            _terminate_group(proc)
            _reap(proc)


def _terminate_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        proc.terminate()


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Wait for the program, then end what is left of its process group (children it started)."""
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    with contextlib.suppress(OSError):  # the group is empty: nothing left
        os.killpg(proc.pid, signal.SIGTERM)


# What runs the app while the proxy records: returns (exit code, reason the session is incomplete).
AppRunner = Callable[[Session, Proxy], tuple[int | None, str | None]]


def record(session: Session, opts: CaptureOptions, run_app: AppRunner) -> CaptureResult:
    """Proxy (and tcpdump) up, `run_app`, proxy and tcpdump down in order, seal."""
    (session.path / "logs").mkdir(exist_ok=True)
    reason: str | None = None
    exit_code: int | None = None
    packets: PacketCapture | None = None
    proxy: Proxy | None = None
    # Ends mitmdump, tcpdump and the app if this process dies (SIGKILL included) before the end below.
    watchdog = Watchdog(session.path)
    reserve_seal_space(session)  # a disk that fills during the capture still leaves room for the seal
    try:
        proxy = ProxyConfig(session.path, port=opts.port, confdir=opts.confdir, upstream=opts.upstream).start(
            session.path / "logs" / "mitmdump.log"
        )
        register(session, "mitmdump", proxy.process.pid)
        facts = {
            "proxy": proxy.url,
            "proxy_pid": proxy.process.pid,
            "mitmproxy_ca_sha256": sha256_file(proxy.ca),
        }
        session.update_meta(lambda m: m.setdefault("capture", {}).update(facts), reason="proxy-started")
        if opts.pcap:
            bpf = opts.pcap_filter if opts.pcap_filter is not None else default_bpf(proxy, opts.upstream)
            packets = start_tcpdump(session.path / PCAP, session.path / "logs" / "tcpdump.log",
                                    interface=opts.pcap_interface, bpf=bpf)  # fmt: skip
            if packets.process is not None:
                register(session, "tcpdump", packets.process.pid)
            pcap_facts = {"pcap_filter": bpf, **({"pcap_note": packets.note} if packets.note else {})}
            session.update_meta(lambda m: m["capture"].update(pcap_facts), reason="pcap")
        session.mark("app-start")
        exit_code, reason = run_app(session, proxy)
    except CaptureError as e:
        reason = str(e)
        raise
    finally:
        if proxy is not None:
            was_alive = proxy.alive()
            code = proxy.stop()
            if not was_alive and reason is None:
                reason = f"mitmdump exited with code {code} during capture"
            if code == EXIT_WRITE_FAILED:
                reason = f"mitmdump stopped: evidence could not be written ({proxy.log_tail(1)})"
        if packets is not None and packets.process is not None:
            packets.stop()
            if (session.path / PCAP).exists():
                session.record_file(PCAP, kind="pcap")
        try:
            write_flow_index(session)
        except Exception as e:  # noqa: BLE001 - the seal must follow whatever the captured data holds
            reason = reason or f"flows.jsonl could not be written ({type(e).__name__}: {e})"
        watchdog.done()  # every child has been stopped in order
        if opts.before_seal is not None and reason is None:
            opts.before_seal(session)
        try:
            seal = seal_session(
                session, status="incomplete" if reason else "sealed", reason=reason,
                signing_key=opts.signing_key, extra={"exit_code": exit_code},
            )  # fmt: skip
        except OSError as e:
            raise CaptureError(
                f"{session.path}: cannot seal ({e.strerror or e}); free space, then "
                f"`privlab seal {session.path} --incomplete 'disk full'`"
            ) from None
    return CaptureResult(session, "incomplete" if reason else "sealed", reason, exit_code, seal)


def capture_host(cfg: HostCapture) -> CaptureResult:
    """Create a session, capture `cfg.command` through mitmdump (and tcpdump), seal it."""
    if not cfg.command or shutil.which(cfg.command[0]) is None:
        raise CaptureError(f"program {(cfg.command or [''])[0]!r} not found (not on PATH or not executable)")
    if cfg.watch and not cfg.frida:
        raise CaptureError("a watch list needs the Frida agent (--frida): nothing else can watch a method")
    if cfg.port is not None and port_in_use("127.0.0.1", cfg.port):
        raise CaptureError(f"port {cfg.port} on 127.0.0.1 is already in use; pick another with --port")
    session = Session.create(
        cfg.root, cfg.name, mode="host", app=cfg.app, canaries=cfg.canaries, note=cfg.note,
        extra={"capture": {"command": cfg.command, "pcap": cfg.pcap}}, session_id=cfg.session_id,
        conditions=cfg.conditions,
    )  # fmt: skip

    def run_app(session: Session, proxy: Proxy) -> tuple[int | None, str | None]:
        env = {**os.environ, **proxy_env(proxy), "PRIVLAB_SESSION": str(session.path), **cfg.extra_env}
        if cfg.frida:
            return run_under_frida(session, cfg.command, env, proxy, watch=cfg.watch)
        return run_program(cfg.command, env, proxy, session)

    return record(session, cfg, run_app)


def run_under_frida(
    session: Session,
    argv: list[str],
    env: dict[str, str],
    proxy: Proxy,
    *,
    watch: Sequence[tuple[str, str]] = (),
) -> tuple[int | None, str | None]:
    """Spawn the program under the Frida agent (hooks.jsonl), then wait like `_run_program`.

    A Java program (`java ...`) is started behind the agent's gate and attached once its VM is up.
    `watch` lists the (class, method) pairs the agent's `watch` module hooks (session.json `frida.watch`)."""
    from analysis.capture.frida import FridaRunner
    from analysis.capture.frida import is_jvm_command

    runner = FridaRunner(session, watch=watch)
    if is_jvm_command(argv):
        runner.launch_jvm(argv, env=env)
    else:
        runner.spawn(argv, env=env)
    reason: str | None = None
    try:
        while not runner.wait(timeout=0.2):
            if not proxy.alive():
                reason = f"mitmdump exited with code {proxy.process.returncode} during capture"
                break
    except KeyboardInterrupt:
        pass  # Ctrl-C ends the capture like the app's exit: stop the runner, then seal
    finally:
        runner.stop()  # records its summary (modules attached or failed, events, gaps) in session.json
    return runner.exit_code, reason

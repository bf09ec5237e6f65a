"""`privlab capture`, `mark`, `seal` and `keygen`: making and closing sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from analysis.capture.flowindex import write_flow_index
from analysis.capture.frida import TIKTOK_WATCH_FILE
from analysis.capture.frida import parse_watch
from analysis.capture.frida import read_watch_file
from analysis.capture.host import CaptureResult
from analysis.capture.host import HostCapture
from analysis.capture.host import capture_host
from analysis.capture.host import parse_command
from analysis.capture.proxy import DEFAULT_CONFDIR
from analysis.capture.proxy import Upstream
from analysis.capture.summary import summarize
from analysis.errors import CaptureError
from analysis.session import Session
from analysis.session import parse_condition
from analysis.session.processes import end_command
from analysis.session.processes import still_running
from analysis.session.provenance import analyst_mark
from analysis.session.provenance import parse_time
from analysis.session.seal import generate_key
from analysis.session.seal import seal_session

console = Console(highlight=False, soft_wrap=True)


def print_capture(result: CaptureResult) -> None:
    """Flows per host, bytes, duration, and where the session is."""
    s = summarize(result.session)
    table = Table(title=f"session {result.session.id}", show_edge=False)
    table.add_column("host")
    table.add_column("flows", justify="right")
    table.add_column("bytes", justify="right")
    for host, n in sorted(s.per_host.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(host, str(n), f"{s.bytes_per_host[host]:,}")
    console.print(table)
    duration = f"{s.duration:.1f} s" if s.duration is not None else "?"
    console.print(
        f"{s.flows} flows, {s.request_bytes:,} bytes sent, {s.response_bytes:,} bytes received, {duration}"
    )
    frida_meta = result.session.meta.get("frida") or {}
    if frida_meta.get("watch"):
        # What the operator asked to watch, and what this app did not have (noted, not an error).
        report = (frida_meta.get("summary") or {}).get("modules", {}).get("watch") or {}
        missing = report.get("missing") or []
        console.print(
            f"watched: {', '.join(f'{c}.{m}' for c, m in frida_meta['watch'])} "
            f"({report.get('hooks', 0)} hooked"
            + (f"; not in this app: {', '.join(missing)}" if missing else "")
            + ")"
        )
    colour = "green" if result.status == "sealed" else "yellow"
    console.print(f"status: [{colour}]{result.status}[/]" + (f" ({result.reason})" if result.reason else ""))
    console.print(f"session: {result.session.path}")


def watch_list(entries: Sequence[str], files: Sequence[Path]) -> list[tuple[str, str]]:
    """The (class, method) pairs of `--watch` entries and `--watch-file` files, in order, without repeats."""
    pairs = [parse_watch(e) for e in entries] + [p for f in files for p in read_watch_file(f)]
    return list(dict.fromkeys(pairs))


def parse_duration(text: str | None) -> float | None:
    """`90s`, `10m`, `1h` or plain seconds -> seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise CaptureError(f"--duration {text!r}: use a number with s, m or h (e.g. 10m)") from None
    if value <= 0:
        raise CaptureError(f"--duration {text!r}: must be positive")
    return value


@click.command()
@click.option(
    "--host-command",
    "host_command",
    default=None,
    help="The program to run through the proxy (with --device: a stand-in run in the app's place).",
)
@click.option(
    "--device", "serial", default=None, help="adb serial of a rooted emulator (see `privlab device check`)."
)
@click.option(
    "--app", default="com.zhiliaoapp.musically", show_default=True, help="With --device: the app to spawn."
)
@click.option("--duration", default=None, help="With --device: stop after this long (e.g. 90s, 10m, 1h).")
@click.option(
    "--plant",
    type=click.Path(path_type=Path),
    default=None,
    help="With --device: a canaries.toml of values to plant (location, clipboard, contact).",
)
@click.option("--name", default="host", show_default=True, help="A name for the session id.")
@click.option("--out", "root", type=click.Path(path_type=Path), default=Path("captures"), show_default=True)
@click.option("--pcap", is_flag=True, help="Also record loopback packets to traffic.pcap with tcpdump.")
@click.option("--pcap-interface", default="lo", show_default=True)
@click.option("--port", type=int, default=None, help="Proxy port (default: a free one).")
@click.option("--confdir", type=click.Path(path_type=Path), default=DEFAULT_CONFDIR, show_default=True,
              help="mitmproxy confdir (its CA is the one clients must trust).")  # fmt: skip
@click.option(
    "--upstream-tls",
    default=None,
    metavar="HOST:PORT",
    help="Lab mode: send every TLS connection to this local server (Host and SNI are kept).",
)
@click.option(
    "--upstream-plain", default=None, metavar="HOST:PORT", help="Lab mode: the same for plain HTTP."
)
@click.option("--upstream-ca", type=click.Path(path_type=Path), default=None,
              help="CA (or self-signed cert) that the lab upstream's certificate verifies against.")  # fmt: skip
@click.option("--frida", is_flag=True, help="Spawn the program under the Frida agent (hooks.jsonl).")
@click.option("--watch", "watch", multiple=True, metavar="CLASS.METHOD",
              help="With --frida: also record every call of this Java method, arguments, result and stack "
                   "(repeatable; CLASS#METHOD works too).")  # fmt: skip
@click.option("--watch-file", "watch_files", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="With --frida: methods to watch, one CLASS.METHOD or CLASS#METHOD a line, # comments "
                   f"(TikTok's known signing entry points: {TIKTOK_WATCH_FILE}).")  # fmt: skip
@click.option(
    "--sign-key", type=click.Path(path_type=Path), default=None, help="ed25519 key to sign the seal."
)
@click.option("--note", default="", help="Operator note stored in session.json.")
@click.option("--condition", "conditions", multiple=True, metavar="KEY=VALUE",
              help="A condition the session runs under (repeatable): consent=refused, account=none, ...")  # fmt: skip
def capture(host_command: str | None, serial: str | None, app: str, duration: str | None, plant: Path | None,
            name: str, root: Path, pcap: bool, pcap_interface: str, port: int | None,
            confdir: Path, upstream_tls: str | None, upstream_plain: str | None, upstream_ca: Path | None,
            frida: bool, watch: tuple[str, ...], watch_files: tuple[Path, ...], sign_key: Path | None, note: str,
            conditions: tuple[str, ...]) -> None:  # fmt: skip
    """Record a program's (or a device app's) HTTP(S) traffic into captures/<session-id>/ and seal it."""
    if not host_command and not serial:
        raise CaptureError("say what to capture: --host-command CMD, or --device SERIAL --app PACKAGE")
    watched = watch_list(watch, watch_files)
    if watched and (serial or not frida):
        raise CaptureError("--watch/--watch-file need --frida on a --host-command capture")
    argv = parse_command(host_command) if host_command else []
    condition_map = dict(parse_condition(c) for c in conditions)
    upstream = None
    if upstream_tls or upstream_plain:
        upstream = Upstream(tls=upstream_tls or "", plain=upstream_plain or "", trusted_ca=upstream_ca)
    if serial:
        from analysis.capture.device import DeviceCapture
        from analysis.capture.device import capture_device

        dcfg = DeviceCapture(serial=serial, app=app, plant=plant, duration=parse_duration(duration),
                             stand_in_command=argv, root=root, name=name if name != "host" else app,
                             pcap=pcap, pcap_interface=pcap_interface, port=port, confdir=confdir,
                             upstream=upstream, signing_key=sign_key, note=note,
                             conditions=condition_map)  # fmt: skip
        result = capture_device(dcfg)
    else:
        cfg = HostCapture(command=argv, root=root, name=name, pcap=pcap, pcap_interface=pcap_interface, port=port,
                          confdir=confdir, upstream=upstream, frida=frida, watch=watched, signing_key=sign_key,
                          note=note, conditions=condition_map)  # fmt: skip
        result = capture_host(cfg)
    print_capture(result)
    if result.status != "sealed":
        raise SystemExit(1)


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.argument("label")
@click.option(
    "--at",
    "at",
    default=None,
    metavar="TIME",
    help="When it happened (ISO 8601, epoch seconds or +SECONDS after the start): an analyst's assertion.",
)
@click.option("--note", default="", help="Why the analyst places the mark there (kept in custody).")
@click.option(
    "--sign-key",
    type=click.Path(path_type=Path),
    default=None,
    help="ed25519 key to sign a mark added to a sealed session (as for seals).",
)
def mark(session: Path, label: str, at: str | None, note: str, sign_key: Path | None) -> None:
    """Add a phase mark (e.g. consent-accepted): now to a running session, or --at TIME to any session.

    A mark with --at is recorded as the analyst's assertion, with the time it was made and the note, and
    the report shows it as such. On a sealed session it goes beside the seal, into annotations.jsonl (a
    hash chain bound to the seal that `privlab verify` checks); the sealed evidence is not touched.
    """
    s = Session.open(session)
    if at is None and s.status == "open":
        m = s.mark(label)
        console.print(f"marked {label!r} at {m['t']:.3f} in {s.id}")
        return
    if at is None:
        raise CaptureError(
            f"{session}: session is {s.status}; give the time of the mark with --at TIME (and --note WHY)"
        )
    t = parse_time(at, s.meta.get("created"))
    m = analyst_mark(s, label, t, note, sign_key)
    where = "annotations.jsonl, beside the seal" if "seq" in m else "custody"
    console.print(
        f"marked {label!r} at {datetime.fromtimestamp(m['t'], UTC).isoformat()} in {s.id} "
        f"(analyst's assertion, recorded in {where})"
    )


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.argument("condition", metavar="KEY=VALUE")
@click.option("--note", default="", help="Why the analyst asserts it (stored with the condition).")
def condition(session: Path, condition: str, note: str) -> None:
    """Record a condition the session ran under (e.g. consent=refused), as an analyst's assertion."""
    key, value = parse_condition(condition)
    entry = Session.open(session).set_condition(key, value, note)
    console.print(f"condition {key}={value} recorded at {entry['t']:.3f} in {session}")


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option("--incomplete", "reason", default=None, help="Seal as incomplete, with this reason.")
@click.option("--sign-key", type=click.Path(path_type=Path), default=None)
def seal(session: Path, reason: str | None, sign_key: Path | None) -> None:
    """Seal a session left open (e.g. after a crash of the capture itself)."""
    s = Session.open(session)
    if s.status != "open":
        raise CaptureError(f"{session}: session is {s.status}, not open")
    running = still_running(s.meta)
    if running:
        # A seal made under a live writer is broken by its next write: end them first.
        names = ", ".join(f"{p.name} (pid {p.pid})" for p in running)
        raise CaptureError(
            f"{session}: {names} still running and writing into the session; end them with "
            f"`{end_command(running)}` (or wait for the capture to finish), then seal"
        )
    write_flow_index(s)  # the index a crashed capture did not get to write
    doc = seal_session(s, status="incomplete" if reason else "sealed", reason=reason, signing_key=sign_key)
    console.print(
        f"sealed {s.id} as {doc['status']}: {len(doc['files'])} files, chain head {doc['chain_head']['seq']}"
    )


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
def keygen(path: Path) -> None:
    """Make an ed25519 key pair for signing seals (PATH and PATH.pub)."""
    pub = generate_key(path)
    console.print(f"wrote {path} and {path.with_suffix('.pub')}; public key {pub}")


commands = [capture, mark, condition, seal, keygen]

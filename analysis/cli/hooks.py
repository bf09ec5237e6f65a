"""`privlab hooks`: build or check the Frida agent bundle, or attach it to a running process."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from analysis.capture.frida import MODULES
from analysis.capture.frida import FridaRunner
from analysis.capture.frida import agent_builder
from analysis.errors import CaptureError
from analysis.session import Session

console = Console(highlight=False, soft_wrap=True)


@click.group()
def hooks() -> None:
    """The Frida agent in hooks/: build it, prove the committed bundle, attach it."""


@hooks.command()
def build() -> None:
    """Rebuild hooks/_agent.js from hooks/src (type-checked; needs `npm ci` in hooks/)."""
    if agent_builder().main([]) != 0:
        raise CaptureError("hooks/src: the agent did not build (see the message above)")


@hooks.command()
def check() -> None:
    """Exit 1 unless the committed hooks/_agent.js is exactly what hooks/src builds."""
    code = agent_builder().main(["--check"])
    if code != 0:
        raise SystemExit(code)


@hooks.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option("--pid", type=int, required=True, help="The running process to attach to.")
@click.option(
    "--device", "device_id", default=None, help="Frida device id, 'usb', or host:port (default: this host)."
)
@click.option(
    "--module", "modules", multiple=True, type=click.Choice(MODULES), help="Only these modules (repeatable)."
)
@click.option(
    "--watch", multiple=True, metavar="CLASS#METHOD", help="A Java method for the watch module (repeatable)."
)
@click.option(
    "--duration", type=float, default=None, help="Stop after this many seconds (default: when it ends)."
)
def attach(
    session: Path,
    pid: int,
    device_id: str | None,
    modules: tuple[str, ...],
    watch: tuple[str, ...],
    duration: float | None,
) -> None:
    """Load the agent into a running process and record its events into SESSION's hooks.jsonl."""
    pairs: list[tuple[str, str]] = []
    for item in watch:
        cls, sep, method = item.partition("#")
        if not sep or not cls or not method:
            raise CaptureError(f"--watch {item!r}: write it as CLASS#METHOD, e.g. com.example.Crypto#encrypt")
        pairs.append((cls, method))
    runner = FridaRunner(Session.open(session), device_id=device_id, modules=modules or None, watch=pairs)
    runner.attach(pid)
    console.print(f"attached to pid {pid}; recording (Ctrl-C to stop)")
    started = time.monotonic()
    try:
        while not runner.wait(0.5):
            if duration is not None and time.monotonic() - started >= duration:
                break
    finally:
        summary = runner.stop()
    console.print(
        f"{summary['events']} events; modules attached: {', '.join(summary['modules_attached']) or 'none'}; "
        f"failed: {', '.join(summary['modules_failed']) or 'none'}; {len(summary['warnings'])} warning(s); "
        f"{len(summary['gaps'])} gap(s)"
    )


commands = [hooks]

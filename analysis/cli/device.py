"""`privlab device check|setup|reset`: get a rooted emulator or phone ready for a live session."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TextColumn
from rich.table import Table

from analysis.device.ca import DEFAULT_CONFDIR
from analysis.device.checks import FAIL
from analysis.device.checks import OK
from analysis.device.checks import SKIP
from analysis.device.checks import WARN
from analysis.device.checks import Check
from analysis.device.checks import ready
from analysis.device.checks import run_checks
from analysis.device.facts import TIKTOK
from analysis.device.setup import SetupOptions
from analysis.device.setup import StepResult
from analysis.device.setup import reset
from analysis.device.setup import setup

console = Console(highlight=False)

_MARK = {OK: "[green]✓[/]", FAIL: "[red]✗[/]", WARN: "[yellow]![/]", SKIP: "[dim]–[/]"}

serial_option = click.option(
    "--serial", "-s", default=None, help="adb serial (emulator-5554, host:port); default: the only device."
)
port_option = click.option(
    "--port", "proxy_port", default=8080, show_default=True, help="Host port mitmdump listens on."
)
confdir_option = click.option(
    "--confdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CONFDIR,
    show_default=True,
    help="mitmproxy confdir holding the CA.",
)


def render(checks: list[Check]) -> Table:
    """The check list as a table: status, what, found, fix."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("", "check", "found", "fix"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(
            _MARK[c.status], c.title, c.detail, f"[cyan]{c.fix}[/]" if c.fix and c.status != OK else ""
        )
    return table


@click.group("device")
def device() -> None:
    """Check, set up and reset an Android device (rooted emulator) for live capture."""


@device.command("check")
@serial_option
@click.option("--app", default=TIKTOK, show_default=True, help="Package that will be captured.")
@port_option
@confdir_option
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON list instead of a table.")
def check_cmd(serial: str | None, app: str, proxy_port: int, confdir: Path, as_json: bool) -> None:
    """List what is ready and what is not, each with the command that fixes it (exit 1 when not ready)."""
    checks = run_checks(serial, app=app, confdir=confdir, proxy_port=proxy_port)
    if as_json:
        click.echo(json.dumps([asdict(c) for c in checks], indent=2))
        raise SystemExit(0 if ready(checks) else 1)
    console.print(render(checks))
    if not ready(checks):
        console.print("[red]not ready[/]: run the fixes above (most are `privlab device setup`)")
        raise SystemExit(1)
    console.print("[green]ready[/] for `privlab capture --device`")


def _report(result: StepResult) -> None:
    mark = {"done": "[green]✓[/]", "already": "[dim]=[/]"}.get(result.outcome, "[dim]–[/]")
    console.print(f"{mark} {result.step}: {result.detail}", soft_wrap=True)


@device.command("setup")
@serial_option
@click.option(
    "--frida-server",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="frida-server binary (or its .xz) to push.",
)
@port_option
@confdir_option
def setup_cmd(serial: str | None, frida_server: Path | None, proxy_port: int, confdir: Path) -> None:
    """Root, mitmproxy CA (tmpfs, APEX on 14+), proxy route, QUIC block, frida-server; idempotent."""
    bar = Progress(
        TextColumn("CA into app namespaces"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("apex", total=None, start=False)

    def tick(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    def report(result: StepResult) -> None:
        if bar.live.is_started:
            bar.stop()
        _report(result)

    try:
        setup(
            serial,
            SetupOptions(confdir=confdir, proxy_port=proxy_port, frida_server=frida_server),
            progress=report,
            tick=tick,
        )
    finally:
        if bar.live.is_started:
            bar.stop()
    console.print("[green]device set up[/]; `privlab device reset` undoes it")


@device.command("reset")
@serial_option
@port_option
@confdir_option
def reset_cmd(serial: str | None, proxy_port: int, confdir: Path) -> None:
    """Undo `privlab device setup`: stop frida-server, remove the QUIC rule, proxy route and CA mounts."""
    reset(serial, SetupOptions(confdir=confdir, proxy_port=proxy_port), progress=_report)
    console.print("[green]device reset[/]")


commands = [device]

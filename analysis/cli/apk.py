"""`privlab apk`: static analysis of the APK that was run (what it is able to do)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress
from rich.progress import SpinnerColumn
from rich.progress import TextColumn
from rich.progress import TimeElapsedColumn

from analysis.apk.bundle import Limits
from analysis.apk.store import Outcome
from analysis.apk.store import run

console = Console(stderr=True, highlight=False)


@click.command("apk")
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for static.json (default ./apk), or a session folder to add the APK to.",
)
@click.option(
    "--trackers",
    "trackers",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    multiple=True,
    help="Extra code-signature list (Exodus/X-Ray/... JSON, or registry TOML); repeatable.",
)
@click.option(
    "--max-dex-mb",
    type=click.IntRange(min=1),
    default=1024,
    show_default=True,
    help="DEX analysed before stopping (partial result).",
)
def apk_command(target: Path, out: Path | None, trackers: tuple[Path, ...], max_dex_mb: int) -> None:
    """Analyse an APK, split-APK folder, XAPK/APKS bundle, or a session's APKs; write static.json."""
    limits = Limits(max_dex_bytes=max_dex_mb << 20)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # no stray blank line in logs and pipes,
    ) as progress:
        task = progress.add_task("loading", total=None)
        outcome = run(
            target,
            out,
            registry_paths=list(trackers),
            limits=limits,
            step=lambda label: progress.update(task, description=label),
        )
    _summary(outcome)


def _summary(outcome: Outcome) -> None:
    r = outcome.report
    app = r.app
    name = f"{app.package} {app.version_name} (target SDK {app.target_sdk})" if app else "no manifest"
    click.echo(
        f"{name}: {r.classes} classes, {len(r.permissions)} permissions, {len(r.sdks)} SDKs, "
        f"{len(r.call_sites)} call sites, {len(r.native_libs)} native libraries, {len(r.hosts)} hosts"
    )
    for problem in r.problems:
        console.print(f"[yellow]partial:[/] {problem}", soft_wrap=True)
    where = f" (session {outcome.session})" if outcome.session else ""
    note = " (unchanged)" if outcome.unchanged else ""
    if outcome.added:
        click.echo(f"added to the session: {', '.join('apk/' + a for a in outcome.added)}")
    click.echo(f"wrote {outcome.static_path}{where}{note}")


commands = [apk_command]

"""`privlab import <file>`: a .mitm, HAR or pcap made elsewhere -> an `imported` session folder."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from analysis.capture.import_ import import_capture

console = Console(highlight=False)


@click.command(name="import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("captures"),
    show_default=True,
    help="Folder the new session folder is made in.",
)
@click.option(
    "--canaries",
    type=click.Path(path_type=Path),
    default=None,
    help="canaries.json with the values planted on the device that made the capture.",
)
@click.option(
    "--app", default=None, metavar="PACKAGE", help="The app's package name, recorded in session.json."
)
def import_cmd(source: Path, out: Path, canaries: Path | None, app: str | None) -> None:
    """Turn a capture made elsewhere into a session folder the same analysis runs on."""
    result = import_capture(source, out, canaries=canaries, app=app)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(
        f"imported {result.flows} flows from {source} ({result.source_format}) into {result.session.path}"
    )


commands = [import_cmd]

"""`privlab import <file>`: a .mitm, HAR or pcap made elsewhere -> an `imported` session folder."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console

from analysis.capture.import_ import import_capture
from analysis.cli.options import first_party_option
from analysis.cli.options import owner_option
from analysis.session.provenance import made_by

console = Console(highlight=False, soft_wrap=True)


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
@first_party_option
@owner_option
def import_cmd(
    source: Path,
    out: Path,
    canaries: Path | None,
    app: str | None,
    first_party: tuple[str, ...],
    owner: str | None,
) -> None:
    """Turn a capture made elsewhere into a session folder the same analysis runs on."""
    result = import_capture(source, out, canaries=canaries, app=app, first_party=first_party, owner=owner)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    prov = result.session.meta.get("provenance", {})
    span = prov.get("capture_time", {})
    when = (
        f", captured {_utc(span.get('first'))} to {_utc(span.get('last'))}"
        if span.get("first") is not None
        else ""
    )
    if result.source_format == "pcap":
        # A pcap's encrypted traffic is not flows: say what the file holds, not "0 flows".
        console.print(
            f"imported {source} (pcap, {result.packets} packets{when}) into {result.session.path}: "
            f"{result.flows} cleartext HTTP request(s) became flows; run `privlab analyze` for the "
            "per-connection table (DNS, TLS and QUIC names, bytes each way)"
        )
    else:
        console.print(
            f"imported {result.flows} flows from {source} ({result.source_format}, made by "
            f"{made_by(result.session.meta)}{when}) into {result.session.path}"
        )


def _utc(t: float | None) -> str:
    if t is None:
        return "unknown"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


commands = [import_cmd]

"""`privlab verify`: is the session intact? Exit 0 only when it is."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from analysis.session.seal import load_public_key
from analysis.session.timestamp import load_certificates
from analysis.session.verify import verify_session

console = Console(highlight=False, soft_wrap=True)


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option("--pubkey", type=click.Path(path_type=Path), default=None,
              help="The operator's ed25519 public key the seal must be signed with.")  # fmt: skip
@click.option("--tsa-cert", type=click.Path(path_type=Path), default=None,
              help="PEM certificate of the time-stamping authority (or its CA) that signed seal.tsr.")  # fmt: skip
def verify(session: Path, pubkey: Path | None, tsa_cert: Path | None) -> None:
    """Re-hash every file, walk the custody chain and check the seal, its signature and its timestamp."""
    if pubkey is not None:
        load_public_key(pubkey)  # a key that cannot be read is a one-line error before any checking
    if tsa_cert is not None:
        load_certificates(tsa_cert)
    report = verify_session(session, pubkey=pubkey, tsa_cert=tsa_cert)
    for notice in report.notices:
        console.print(f"[yellow]note:[/] {notice}")
    for problem in report.problems:
        console.print(f"[red]DIFFERS:[/] {problem}", soft_wrap=True)
    signed = f", signed by {report.signed_by[:16]}…" if report.signed_by else ""
    if report.intact:
        console.print(f"[green]intact[/]: {report.session_id} ({report.status}), {report.records} custody records, "
                      f"{report.files} files{signed}")  # fmt: skip
    else:
        console.print(f"[red]NOT intact[/]: {report.session_id}: {len(report.problems)} difference(s)")
        raise SystemExit(1)


commands = [verify]

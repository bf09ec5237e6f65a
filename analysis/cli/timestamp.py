"""`privlab timestamp SESSION --tsa URL`: an RFC 3161 timestamp of the seal from a time-stamping authority."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from analysis.session.timestamp import SEAL_TSR
from analysis.session.timestamp import load_certificates
from analysis.session.timestamp import seal_hash
from analysis.session.timestamp import timestamp_session

console = Console(highlight=False, soft_wrap=True)


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option("--tsa", "tsa_url", required=True, metavar="URL",
              help="The time-stamping authority's RFC 3161 URL (HTTP POST, application/timestamp-query).")  # fmt: skip
@click.option("--tsa-cert", type=click.Path(path_type=Path), default=None,
              help="PEM certificate of the TSA (or its CA): the reply is checked before it is stored.")  # fmt: skip
def timestamp(session: Path, tsa_url: str, tsa_cert: Path | None) -> None:
    """Ask a time-stamping authority to countersign the seal hash; store its token as seal.tsr.

    Nothing sealed changes. Check later with `privlab verify SESSION --tsa-cert CA.pem`, or without
    privlab: `openssl ts -verify -digest <seal sha256> -in seal.tsr -CAfile CA.pem`.
    """
    if tsa_cert is not None:
        load_certificates(tsa_cert)  # an unreadable certificate is a one-line error before anything is sent
    digest = seal_hash(session)
    token = timestamp_session(session, tsa_url, tsa_cert)
    checked = "signature verified" if tsa_cert else "signature not checked (no --tsa-cert)"
    console.print(
        f"timestamped seal sha256 {digest} of {session}: by {token.tsa} at {token.gen_time.isoformat()}, "
        f"serial {token.serial}; {checked}; token in {session / SEAL_TSR}"
    )


commands = [timestamp]

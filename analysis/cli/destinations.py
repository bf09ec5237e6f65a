"""`privlab destinations <session>`: who received the traffic, where, and under which law."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from analysis.attribute.destinations import DATA_PREFIX
from analysis.attribute.entities import load_registry
from analysis.attribute.geo import GeoDB
from analysis.cli.options import first_party_option
from analysis.cli.options import owner_option
from analysis.cli.options import registry_option
from analysis.cli.terminal import table_console
from analysis.errors import PrivlabError
from analysis.findings.frames import empty_frame
from analysis.findings.frames import frame_rows
from analysis.schema import DESTINATIONS
from analysis.session import Session


def session_destinations(
    session_dir: Path,
    *,
    app_package: str | None = None,
    registry_files: Sequence[Path] = (),
    geoip_file: Path | None = None,
    rir_files: Sequence[Path] = (),
    first_party: Sequence[str] = (),
    owner: str | None = None,
) -> pd.DataFrame:
    """The destinations of a session: derived/destinations.parquet as `privlab analyze` wrote it, or,
    when a database or the app is overridden, the destinations stage's own computation with those
    (`analyze.stages.destinations_of`), shown and never written to derived/."""
    from analysis.analyze.load import load_session
    from analysis.analyze.stages import destinations_of

    session = Session.open(session_dir)
    tables = load_session(session.path)
    overridden = bool(registry_files or geoip_file or rir_files or app_package or first_party or owner)
    if not overridden:
        return tables.destinations if tables.destinations is not None else empty_frame(DESTINATIONS)
    return destinations_of(
        session,
        tables.flows,
        tables.packets,
        load_registry(registry_files),
        GeoDB(geoip_file, rir_files),
        app_package=app_package,
        declared_domains=first_party,
        declared_owner=owner,
    )


def _cell(v: object) -> str:
    return "-" if v is None else str(v)


def destinations_table(df: pd.DataFrame) -> Table:
    """A rich table of a DESTINATIONS frame."""
    table = Table(header_style="bold", show_lines=False)
    for col in ("host", "domain", "entity (legal name)", "parent", "HQ", "party", "category: purpose",
                "IPs: geo/registered country, AS", "jurisdiction", "bytes", "sent", "flows", "via"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for r in frame_rows(df, DESTINATIONS):
        ips = []
        for ip, geo, reg, asn in zip(
            r["ips"] or [], r["ip_countries"] or [], r["ip_registered_countries"] or [], r["asn"] or [],
            strict=False,
        ):  # fmt: skip
            ips.append(f"{ip} {geo}/{reg}" + (f" {asn}" if asn else ""))
        entity = _cell(r["entity"]) + (f" ({r['legal_name']})" if _cell(r["legal_name"]) != "-" else "")
        purpose = _cell(r["category"]) + (f": {r['purpose']}" if _cell(r["purpose"]) != "-" else "")
        jur = _cell(r["jurisdiction"])
        if _cell(r["hq_jurisdiction"]) not in ("-", "unknown"):
            jur += f" (HQ: {r['hq_jurisdiction']})"
        party_style = {"first": "green", "third": "red"}.get(str(r["party"]), "yellow")
        table.add_row(
            _cell(r["host"]),
            _cell(r["etld1"]),
            entity,
            _cell(r["parent"]),
            _cell(r["hq_country"]),
            f"[{party_style}]{_cell(r['party'])}[/]",
            purpose,
            "\n".join(ips) or "-",
            jur,
            f"{int(r['bytes']):,}",
            # Bytes the device sent (request bodies; on-the-wire bytes up for pcap-only connections).
            f"{int(r['bytes_sent']):,}" if "bytes_sent" in r and pd.notna(r["bytes_sent"]) else "-",
            str(int(r["flows"])),
            _cell(r["via"]),
        )
    return table


EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
GEOIP_HELP = "A newer geoip2fast .dat.gz (geolocated country + ASN) instead of the bundled 2024-06 data."
RIR_HELP = "RIR delegated-*-extended files for the registered country instead of iptocc's (repeatable)."


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option(
    "--app", "app_package", help="App package that is the first party (default: from session.json)."
)
@registry_option
@first_party_option
@owner_option
@click.option("--geoip", "geoip_file", type=EXISTING_FILE, help=GEOIP_HELP)
@click.option("--rir", "rir_files", multiple=True, type=EXISTING_FILE, help=RIR_HELP)
@click.option(
    "--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the rows as CSV."
)
def destinations(
    session: Path,
    app_package: str | None,
    registry_files: tuple[Path, ...],
    geoip_file: Path | None,
    rir_files: tuple[Path, ...],
    csv_out: Path | None,
    first_party: tuple[str, ...],
    owner: str | None,
) -> None:
    """Print each host contacted: owner, parent, HQ, party, purpose, IPs with country and AS, jurisdiction."""
    console = table_console()  # made per call: picks up the terminal's current width
    df = session_destinations(
        session,
        app_package=app_package,
        registry_files=registry_files,
        geoip_file=geoip_file,
        rir_files=rir_files,
        first_party=first_party,
        owner=owner,
    )
    if df.empty:
        console.print("no destinations (the session has no flows and no pcap connections)")
        return
    console.print(destinations_table(df))
    third = int((df["party"] == "third").sum())
    pcap_only = int((df["via"] == "pcap-only").sum())
    if df.attrs.get("first_party"):
        console.print(str(df.attrs["first_party"]), soft_wrap=True)
    if "party_reason" in df.columns:
        for host, reason in zip(
            df["host"][df["party"] == "unknown"], df["party_reason"][df["party"] == "unknown"], strict=True
        ):
            console.print(f"[yellow]unknown party[/] {host}: {_cell(reason)}", soft_wrap=True)
    first = int((df["party"] == "first").sum())
    console.print(
        f"{len(df)} hosts; {first} first-party; {third} third-party; {pcap_only} seen only in the pcap (not via the proxy)"
    )
    label = df.attrs.get("sources") or str(df["sources"].iloc[0]).rsplit(DATA_PREFIX, 1)[-1]
    console.print(f"[dim]sources: {label}[/]", soft_wrap=True)
    if csv_out is not None:
        try:
            df.to_csv(csv_out, index=False)
        except OSError as e:
            raise PrivlabError(f"{csv_out}: cannot write CSV ({e.strerror or e})") from None
        console.print(f"wrote {csv_out}")


commands = [destinations]

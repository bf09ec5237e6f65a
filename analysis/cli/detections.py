"""`privlab detections <session>`: the detections as a readable table."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from analysis.analyze.load import load_session
from analysis.cli.terminal import table_console
from analysis.findings.frames import frame_rows
from analysis.schema import DETECTIONS
from analysis.vocabulary import DetectionMethod


def detections_table(detections: pd.DataFrame, flows: pd.DataFrame, limit: int | None = None) -> Table:
    """A rich table: data type, canary, host, part, encoding chain, method, confidence, excerpt."""
    hosts = dict(zip(flows["flow_id"], flows["host"], strict=False)) if len(flows) else {}
    table = Table(show_lines=False, header_style="bold")
    for col in ("data type", "canary", "host", "part", "encoding", "method", "conf.", "excerpt"):
        table.add_column(col, overflow="fold")
    rows = detections.sort_values(["method", "data_type", "flow_id"], kind="stable")
    if limit is not None:
        rows = rows.head(limit)
    for d in frame_rows(rows, DETECTIONS):
        flow_id = str(d["flow_id"])
        host = hosts.get(flow_id) or (flow_id if flow_id.startswith("hook:") else "")
        table.add_row(
            str(d["data_type"]),
            _cell(d["canary_id"]),
            str(host),
            str(d["part"]),
            str(d["encoding"]),
            str(d["method"]),
            "-" if pd.isna(d["confidence"]) else f"{d['confidence']:.2f}",
            str(d["excerpt"])[:90],
        )
    return table


def _cell(value: object) -> str:
    # A pattern hit has no canary: the column is null (NaN once in pandas), shown as "-", never "nan".
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return "-"
    return str(value)


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option(
    "--method",
    type=click.Choice(["all", *(m.value for m in DetectionMethod)]),
    default="all",
    show_default=True,
)
@click.option("--limit", type=int, default=None, help="Show at most this many rows.")
def detections(session: Path, method: str, limit: int | None) -> None:
    """Print what was found where: data type, canary, host, part and encoding chain."""
    console = table_console()
    tables = load_session(session)
    found = tables.detections
    if method != "all":
        found = found[found["method"] == method]
    if found.empty:
        console.print("no detections")
    else:
        console.print(detections_table(found, tables.flows, limit))
        console.print(f"{len(found)} detections in {found['flow_id'].nunique()} messages")
    if not tables.decode_issues.empty:
        console.print(
            f"[yellow]{len(tables.decode_issues)} parts could not be decoded[/] (decode_issues table)"
        )


commands = [detections]

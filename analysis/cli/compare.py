"""`privlab compare`: several sessions grouped by a condition, in four formats."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from analysis.compare.table import compare_sessions
from analysis.report.compare import write_comparison


@click.command()
@click.argument("sessions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--by", "by", default="consent", show_default=True, help="The condition to group the sessions by."
)
@click.option("--out", type=click.Path(path_type=Path), default=Path("comparison"), show_default=True,
              help="Folder for comparison.json, .html, .pdf and .docx.")  # fmt: skip
def compare(sessions: tuple[Path, ...], by: str, out: Path) -> None:
    """Compare sessions grouped by a condition: what each group sent or read, how often, the difference."""
    # Piped output keeps whole rows (a table cut at 80 columns cannot be read back).
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
    began = time.monotonic()
    cmp = compare_sessions(sessions, by)
    paths = write_comparison(cmp, out)
    table = Table(title=f"{len(cmp.sessions)} sessions by {by}: behaviours that differ", expand=False)
    for col in ("kind", "data type", "recipient / reader", "phase", *cmp.groups, "Fisher p"):
        table.add_column(col)
    for c in cmp.cells:
        if c.differs:
            p = "; ".join(f"{v:.4g}" for v in c.p_values.values())
            table.add_row(
                c.kind, c.data_type, c.party, c.phase, *(c.groups[g].consistency for g in cmp.groups), p
            )
    console.print(table)
    console.print(
        f"compared {len(cmp.sessions)} sessions in {time.monotonic() - began:.1f} s; wrote {paths[1]}",
        soft_wrap=True,
    )


commands = [compare]

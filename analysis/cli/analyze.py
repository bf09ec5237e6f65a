"""`privlab analyze <session>`: build derived/*.parquet from the raw files (a no-op when up to date)."""

from __future__ import annotations

from pathlib import Path

import click
import pyarrow.parquet as pq
from rich.console import Console

from analysis.analyze.stages import analyze as run_analysis
from analysis.cli.options import registry_option
from analysis.detect.scanner import ENGINES
from analysis.vocabulary import DetectionMethod

console = Console(highlight=False)


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Rebuild every table even when its inputs are unchanged.")
@click.option(
    "--engine",
    type=click.Choice(["auto", *ENGINES]),
    default="auto",
    show_default=True,
    help="Multi-pattern search engine (both give identical detections).",
)
@registry_option
@click.option(
    "--quiet", is_flag=True, help="No progress bars (they are never drawn when output is not a terminal)."
)
def analyze(session: Path, force: bool, engine: str, registry_files: tuple[Path, ...], quiet: bool) -> None:
    """Decode every request, detect planted and read values, write derived/*.parquet."""
    result = run_analysis(
        session, force=force, engine=engine, registry_files=registry_files, show_progress=not quiet
    )
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    if result.written:
        console.print(f"wrote {', '.join(f'derived/{t}.parquet' for t in result.written)}")
    if result.skipped:
        console.print(f"up to date: {', '.join(result.skipped)}")
    if not result.written and not result.skipped:
        console.print("nothing to analyse: the session has no flows or hooks")
        return
    derived = result.session / "derived"
    if (derived / "detections.parquet").exists():
        methods = (
            pq.read_table(derived / "detections.parquet", columns=["method"]).column("method").to_pylist()
        )
        counts = ", ".join(f"{m} {methods.count(m)}" for m in DetectionMethod)
        console.print(f"{len(methods)} detections ({counts})")
    if (derived / "decode_issues.parquet").exists():
        issues = pq.read_metadata(derived / "decode_issues.parquet").num_rows
        if issues:
            console.print(
                f"[yellow]{issues} message parts could not be decoded[/] (corrupt, bomb, ...): see decode_issues"
            )


commands = [analyze]

"""`privlab corpus build|analyze` and `privlab query`: many sessions, one query, many machines."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TextColumn
from rich.progress import TimeElapsedColumn
from rich.table import Table

from analysis.errors import PrivlabError

DEFAULT_CORPUS = Path("corpus")


def _console() -> Console:
    # Piped output keeps whole rows (a table cut at 80 columns cannot be read back).
    return Console(highlight=False, width=None if sys.stdout.isatty() else 240)


@click.group()
def corpus() -> None:
    """Many sessions: index them, analyse them on a cluster, query them with SQL (`privlab query`)."""


@corpus.command("build")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_CORPUS, show_default=True,
              help="Folder for catalogue.parquet (the derived tables stay where they are).")  # fmt: skip
def build(dirs: tuple[Path, ...], out: Path) -> None:
    """Index every session folder under DIRS (no copy of any table)."""
    from analysis.corpus.catalogue import build_catalogue
    from analysis.corpus.catalogue import read_catalogue

    path = build_catalogue(dirs, out)
    entries = read_catalogue(path)
    analysed = sum(1 for e in entries if "findings" in e.tables)
    _console().print(f"catalogued {len(entries)} sessions ({analysed} analysed) in {path}")
    if analysed < len(entries):
        _console().print(
            f"{len(entries) - analysed} sessions have no findings yet: run `privlab corpus analyze`"
        )


@corpus.command("analyze")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--workers", type=int, default=2, show_default=True, help="Worker processes of the local cluster."
)
@click.option(
    "--scheduler", default=None, metavar="tcp://HOST:8786", help="A running Dask scheduler to use instead."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def analyze_cmd(dirs: tuple[Path, ...], workers: int, scheduler: str | None, quiet: bool) -> None:
    """Analyse every session under DIRS in parallel with Dask; one failing session never stops the rest."""
    from analysis.corpus.catalogue import find_sessions
    from analysis.corpus.cluster import SessionOutcome
    from analysis.corpus.cluster import analyze_corpus

    console = _console()
    sessions = find_sessions(dirs)
    if not sessions:
        raise PrivlabError(f"no session folders under {', '.join(map(str, dirs))}")
    began = time.monotonic()
    progress = Progress(TextColumn("analysing sessions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=True, disable=quiet)  # fmt: skip
    with progress:
        task = progress.add_task("sessions", total=len(sessions))

        def done(_: SessionOutcome) -> None:
            progress.advance(task)

        outcomes = analyze_corpus(sessions, workers=workers, scheduler=scheduler, on_done=done)
    failed = [o for o in outcomes if not o.ok]
    elapsed = time.monotonic() - began
    console.print(
        f"analysed {len(outcomes) - len(failed)} of {len(outcomes)} sessions in {elapsed:.1f} s "
        f"({len(outcomes) / elapsed:.2f} sessions/s)"
    )
    for o in failed:
        console.print(f"failed: {o.session}: {o.error}", soft_wrap=True)
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("sql")
@click.option("--corpus", "catalogue", type=click.Path(path_type=Path), default=DEFAULT_CORPUS, show_default=True,
              help="The corpus folder (or catalogue.parquet) made by `privlab corpus build`.")  # fmt: skip
@click.option(
    "--csv", "csv_out", type=click.Path(path_type=Path), default=None, help="Write the result as CSV."
)
@click.option(
    "--parquet",
    "parquet_out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the result as Parquet.",
)
def query(sql: str, catalogue: Path, csv_out: Path | None, parquet_out: Path | None) -> None:
    """Run SQL (DuckDB) over every session of a corpus: views sessions, flows, detections, destinations,
    findings, hook_events, packets, app_events."""
    from analysis.corpus.query import query as run_query
    from analysis.corpus.query import query_arrow

    if parquet_out:
        import pyarrow.parquet as pq

        pq.write_table(query_arrow(sql, catalogue), parquet_out)
        _console().print(f"wrote {parquet_out}")
        return
    df = run_query(sql, catalogue)
    if csv_out:
        df.to_csv(csv_out, index=False)
        _console().print(f"wrote {len(df)} rows to {csv_out}")
        return
    table = Table(show_lines=False)
    for col in df.columns:
        table.add_column(str(col))
    for row in df.itertuples(index=False):
        table.add_row(*("" if v is None else str(v) for v in row))
    _console().print(table)
    _console().print(f"{len(df)} rows")


commands = [corpus, query]

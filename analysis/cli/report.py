"""`privlab report <session>`: findings.json, report.html, report.pdf, report.docx and the charts."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from analysis.cli.options import registry_option
from analysis.errors import PrivlabError
from analysis.errors import require_file
from analysis.report import FORMATS
from analysis.report import build_report
from analysis.report import parse_formats
from analysis.session import Session
from analysis.validation.measure import DEFAULT_VALIDATION
from analysis.validation.measure import load_validation

console = Console(highlight=False, soft_wrap=True)


@click.command()
@click.argument("session", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "formats",
    default=",".join(FORMATS),
    show_default=True,
    help="Comma-separated exports: html, pdf, docx, json.",
)
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), help="Output folder [default: <session>/report]."
)
@click.option(
    "--no-redact",
    is_flag=True,
    help="Show captured credentials (cookies, tokens) as captured; the report states that it is unredacted.",
)
@click.option(
    "--validation",
    "validation_path",
    type=click.Path(path_type=Path),
    help=f"Stored `privlab validate` record to quote [default: {DEFAULT_VALIDATION} if present].",
)
@registry_option
def report(
    session: Path,
    formats: str,
    out_dir: Path | None,
    no_redact: bool,
    validation_path: Path | None,
    registry_files: tuple[Path, ...],
) -> None:
    """Write the evidence report of a session and print where each file is."""
    fmts = parse_formats(formats)  # fail on a typo before any analysis runs
    Session.open(session)
    if validation_path is not None and not validation_path.exists():
        raise PrivlabError(f"{validation_path}: validation record not found (run `privlab validate`)")
    if validation_path is not None:
        require_file(validation_path, "a validation record (run `privlab validate`)")  # a FIFO would block
    validation = load_validation(validation_path or DEFAULT_VALIDATION)
    # The report reads what `privlab analyze` wrote to derived/ (running it first when stale). With
    # `--registry`, analyze runs with the extra lists first and the report reads that without a refresh
    # (a refresh without the lists would attribute again without them).
    source = None
    if registry_files:
        from analysis.analyze.evidence import read_evidence
        from analysis.analyze.stages import analyze as run_analysis

        run_analysis(session, registry_files=registry_files, show_progress=False)
        source = read_evidence(session)
    written = build_report(
        session, source, fmts, out_dir, redact=not no_redact, validation=validation, progress=True
    )
    for key in sorted(written, key=lambda k: (k.startswith("chart:"), k)):
        console.print(f"{key:<28} {written[key]}")
    if validation is None:
        console.print(
            "[yellow]note:[/] no validation score: the methodology says the error rates are not measured"
        )
    if no_redact:
        console.print("[yellow]note:[/] unredacted report: it contains captured credentials")
    if "html" in written:
        console.print(f"[bold]HTML report:[/] {written['html']}")


commands = [report]

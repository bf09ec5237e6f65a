"""The evidence report: findings.json, report.html, report.pdf, report.docx and the charts.

    from analysis.report import build_report
    paths = build_report(session_path, None, ["html", "json"], out_dir)

The report builds no finding: it reads what `privlab analyze` wrote to derived/ (findings with their
exhibits and access events, coverage, per-flow receivers, capability) through
`analysis.analyze.evidence.load_evidence`. One document (`document.build_document`) is made from that
evidence and redacted once; every export renders it, so the exports agree. Steps: `session_evidence`,
`output_folder`, `write_charts`, `report_document`, then `export` per format. The session folder is only read: the report goes to `report/` (or
`--out`), which is never evidence.

Modules: `document` (the content), `redact` (credentials out), `findings_json`, `html`, `pdf`, `docx`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from analysis.errors import PrivlabError
from analysis.session import DERIVED
from analysis.session import REPORT
from analysis.session import Session

FORMATS = ("html", "pdf", "docx", "json")
OUTPUT_NAMES = {"html": "report.html", "pdf": "report.pdf", "docx": "report.docx", "json": "findings.json"}


def parse_formats(spec: str | Iterable[str]) -> list[str]:
    """`html,pdf` or a list -> validated formats in the fixed order; PrivlabError names a bad one."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    wanted = {x.strip().lower() for x in items if x.strip()}
    bad = sorted(wanted - set(FORMATS))
    if bad:
        raise PrivlabError(f"unknown report format {', '.join(bad)}: choose from {', '.join(FORMATS)}")
    if not wanted:
        raise PrivlabError(f"no report format given: choose from {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in wanted]


def _check_out_dir(session_path: Path, out_dir: Path) -> None:
    """Refuse to write into the evidence part of a session folder (it would break the seal)."""
    root = session_path.resolve()
    target = out_dir.resolve()
    if target == root or (
        root in target.parents and target.relative_to(root).parts[0] not in (REPORT, DERIVED)
    ):
        raise PrivlabError(
            f"{out_dir}: inside the session's evidence; write reports to {session_path / REPORT}"
        )


def _generator() -> str:
    from importlib import metadata

    try:
        return f"privlab {metadata.version('privlab')}"
    except metadata.PackageNotFoundError:
        return "privlab"


@dataclass
class Charts:
    """The charts of one report: SVG text (HTML, PDF), PNG bytes (DOCX) and the files written."""

    svgs: dict[str, str] = field(default_factory=dict)
    pngs: dict[str, bytes] = field(default_factory=dict)
    written: dict[str, Path] = field(default_factory=dict)


def session_evidence(session_path: Path, source: Any = None) -> Any:
    """The evidence a report states: read from derived/ (analysing first when it is stale).

    `source` may be a `SessionEvidence` already read, or tables that are not the session's derived/
    (test fixtures, benchmarks), which `analysis.analyze.evidence.analyse_tables` turns into evidence.
    Tables loaded from this session's derived/ (`load_session`) are read from derived/, never rebuilt.
    """
    from analysis.analyze.evidence import SessionEvidence
    from analysis.analyze.evidence import analyse_tables
    from analysis.analyze.evidence import load_evidence
    from analysis.session.derived import SessionTables

    if isinstance(source, SessionEvidence):
        return source
    if source is None or (
        isinstance(source, SessionTables)
        and source.path is not None
        and source.path.resolve() == session_path.resolve()
    ):
        return load_evidence(session_path)
    return analyse_tables(session_path, source)


def output_folder(session_path: Path, out_dir: Path | str | None) -> Path:
    """The folder the report goes to (default `<session>/report`), created; never the evidence."""
    out = Path(out_dir) if out_dir is not None else session_path / REPORT
    _check_out_dir(session_path, out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PrivlabError(f"{out}: cannot create the report folder ({e.strerror})") from None
    return out


def write_charts(evidence: Any, out: Path, png: bool) -> Charts:
    """Every chart as `chart-<name>.svg` in `out` (and as PNG bytes when the DOCX needs them)."""
    from analysis.findings import epoch
    from analysis.report.charts import all_charts
    from analysis.report.charts import png_bytes
    from analysis.report.charts import svg_text

    figs = all_charts(
        evidence.findings, evidence.flow_dest, evidence.marks, epoch(evidence.meta.get("created"))
    )
    result = Charts()
    for name, fig in figs.items():
        result.svgs[name] = svg_text(fig)
        if png:
            result.pngs[name] = png_bytes(fig)
        p = out / f"chart-{name}.svg"
        p.write_text(result.svgs[name], encoding="utf-8")
        result.written[f"chart:{name}"] = p
    return result


def report_document(evidence: Any, charts: Charts, *, redact: bool, validation: Any) -> dict[str, Any]:
    """The one document every export renders (`document.build_document`), from the evidence."""
    from analysis.findings import table
    from analysis.report.decode_coverage import add_decode_coverage
    from analysis.report.document import build_document
    from analysis.report.document import integrity
    from analysis.schema import DESTINATIONS

    doc = build_document(
        evidence.findings,
        evidence.coverage,
        evidence.meta,
        table(evidence.tables, "destinations", DESTINATIONS),
        evidence.flow_dest,
        integrity(evidence.path, evidence.seal),
        redacted=redact,
        validation=validation,
        charts=[f"chart-{n}.svg" for n in charts.svgs],
        generator=_generator(),
        capability=evidence.capability,
    )
    # Bodies not fully searched (bombs, over-size, corrupt) and flows that could not be indexed, by flow.
    add_decode_coverage(doc, evidence.tables, evidence.meta)
    return doc


def export(fmt: str, doc: dict[str, Any], charts: Charts, path: Path) -> Path:
    """Write one export of the document to `path`."""
    if fmt == "json":
        from analysis.report.findings_json import write_findings_json

        return write_findings_json(doc, path)
    if fmt == "html":
        from analysis.report.html import write_html

        return write_html(doc, charts.svgs, path)
    if fmt == "pdf":
        from analysis.report.pdf import write_pdf

        return write_pdf(doc, charts.svgs, path)
    from analysis.report.docx import write_docx

    return write_docx(doc, charts.pngs, path)


def _run_steps(steps: Sequence[tuple[str, Callable[[], None]]], progress: bool) -> None:
    """Run the steps in order, with one progress bar line when asked."""
    if not progress:
        for _, step in steps:
            step()
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("report", total=len(steps))
        for label, step in steps:
            bar.update(task, description=f"report: {label}")
            step()
            bar.advance(task)


def build_report(
    session_path: Path | str,
    tables: Any = None,
    formats: Sequence[str] | str = FORMATS,
    out_dir: Path | str | None = None,
    redact: bool = True,
    validation: Any = None,
    *,
    progress: bool = False,
) -> dict[str, Path]:
    """Build the report of one session; returns {format or chart name: path written}.

    The findings, coverage and per-flow receivers are read from derived/ (`privlab analyze` wrote them);
    `tables` is None for that, a `SessionEvidence`, or tables to analyse in memory (`session_evidence`).
    `validation` is the method's measured error rates (`ValidationScore` or its dict), stated as "not
    measured" if None.
    """
    session_path = Path(session_path)
    Session.open(session_path)  # a bad folder fails here, in one line, before anything is written
    fmts = parse_formats(formats)
    out = output_folder(session_path, out_dir)
    # Imports inside the functions above, not at module level: `privlab` loads every CLI module at
    # start, and matplotlib, pandas and the report stack should cost only the command that uses them.
    state: dict[str, Any] = {}
    written: dict[str, Path] = {}

    def evidence_step() -> None:
        state["evidence"] = session_evidence(session_path, tables)

    def charts_step() -> None:
        charts = state["charts"] = write_charts(state["evidence"], out, png="docx" in fmts)
        written.update(charts.written)
        state["doc"] = report_document(state["evidence"], charts, redact=redact, validation=validation)

    def export_step(fmt: str) -> Callable[[], None]:
        def run() -> None:
            written[fmt] = export(fmt, state["doc"], state["charts"], out / OUTPUT_NAMES[fmt])

        return run

    steps: list[tuple[str, Callable[[], None]]] = [("findings", evidence_step), ("charts", charts_step)]
    steps.extend((f"{f} export", export_step(f)) for f in fmts)
    _run_steps(steps, progress)
    return written


__all__ = ["FORMATS", "build_report", "parse_formats"]

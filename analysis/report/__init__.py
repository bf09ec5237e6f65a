"""The evidence report: findings.json, report.html, report.pdf, report.docx and the charts.

    from analysis.report import build_report
    paths = build_report(session_path, tables, ["html", "json"], out_dir)

One document (`document.build_document`) is built from the findings and redacted once; every export
renders it, so the exports agree. The session folder is only read: the report goes to `report/` (or
`--out`), which is never evidence.

Modules: `document` (the content), `redact` (credentials out), `findings_json`, `html`, `pdf`, `docx`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from contextlib import nullcontext
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


def build_report(
    session_path: Path | str,
    tables: Any,
    formats: Sequence[str] | str = FORMATS,
    out_dir: Path | str | None = None,
    redact: bool = True,
    validation: Any = None,
    *,
    progress: bool = False,
) -> dict[str, Path]:
    """Build the report of one session; returns {format or chart name: path written}.

    `tables` holds the session's DataFrames (`analysis.tables.load_session`); `validation` is the
    method's measured error rates (`ValidationScore` or its dict), stated as "not measured" if None.
    """
    session_path = Path(session_path)
    Session.open(session_path)  # a bad folder fails here, in one line, before anything is written
    # Imported here, not at module level: `privlab` loads every CLI module at start, and matplotlib,
    # pandas and the report stack should cost only the command that uses them.
    from analysis.findings import epoch
    from analysis.findings import table
    from analysis.report import charts as chart_mod
    from analysis.report.decode_coverage import add_decode_coverage
    from analysis.report.document import build_document
    from analysis.report.document import integrity
    from analysis.report.findings_json import write_findings_json
    from analysis.schema import DESTINATIONS

    fmts = parse_formats(formats)
    out = Path(out_dir) if out_dir is not None else session_path / REPORT
    _check_out_dir(session_path, out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PrivlabError(f"{out}: cannot create the report folder ({e.strerror})") from None

    steps: list[tuple[str, Callable[[], None]]] = []
    state: dict[str, Any] = {}
    written: dict[str, Path] = {}

    def findings_step() -> None:
        # The same findings the notebooks see (analysis.analyze.evidence): one place reads the session's
        # canaries, TLS failures, custody hashes and seal.
        from analysis.analyze.evidence import evidence_from_tables

        ev = evidence_from_tables(session_path, tables)
        state.update(
            findings=ev.findings, coverage=ev.coverage, meta=ev.meta, flow_dest=ev.flow_dest, seal=ev.seal,
            capability=ev.capability,
        )  # fmt: skip

    def charts_step() -> None:
        figs = chart_mod.all_charts(
            state["findings"],
            state["flow_dest"],
            state["meta"].get("marks") or [],
            epoch(state["meta"].get("created")),
        )
        svgs: dict[str, str] = {}
        pngs: dict[str, bytes] = {}
        for name, fig in figs.items():
            svgs[name] = chart_mod.svg_text(fig)
            if "docx" in fmts:
                pngs[name] = chart_mod.png_bytes(fig)
            p = out / f"chart-{name}.svg"
            p.write_text(svgs[name], encoding="utf-8")
            written[f"chart:{name}"] = p
        state.update(svgs=svgs, pngs=pngs)
        state["doc"] = build_document(
            state["findings"],
            state["coverage"],
            state["meta"],
            table(tables, "destinations", DESTINATIONS),
            state["flow_dest"],
            integrity(session_path, state["seal"]),
            redacted=redact,
            validation=validation,
            charts=[f"chart-{n}.svg" for n in svgs],
            generator=_generator(),
            capability=state["capability"],
        )
        add_decode_coverage(
            state["doc"], tables, state["meta"]
        )  # bodies not fully searched, with their flows

    def export(fmt: str) -> Callable[[], None]:
        def run() -> None:
            path = out / OUTPUT_NAMES[fmt]
            if fmt == "json":
                write_findings_json(state["doc"], path)
            elif fmt == "html":
                from analysis.report.html import write_html

                write_html(state["doc"], state["svgs"], path)
            elif fmt == "pdf":
                from analysis.report.pdf import write_pdf

                write_pdf(state["doc"], state["svgs"], path)
            else:
                from analysis.report.docx import write_docx

                write_docx(state["doc"], state["pngs"], path)
            written[fmt] = path

        return run

    steps.append(("findings", findings_step))
    steps.append(("charts", charts_step))
    steps.extend((f"{f} export", export(f)) for f in fmts)

    if progress:
        from rich.console import Console
        from rich.progress import Progress

        ctx: Any = Progress(console=Console(stderr=True), transient=True)
    else:
        ctx = nullcontext()
    with ctx as bar:
        task = bar.add_task("report", total=len(steps)) if bar is not None else None
        for label, step in steps:
            if bar is not None:
                bar.update(task, description=f"report: {label}")
            step()
            if bar is not None:
                bar.advance(task)
    return written


__all__ = ["FORMATS", "build_report", "parse_formats"]

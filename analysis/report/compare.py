"""The comparison report: `privlab compare` in the session report's four formats.

`comparison.json` (the whole comparison, canonical), `comparison.html` (self-contained, no script, a
strict Content-Security-Policy), `comparison.pdf` (WeasyPrint from the same HTML) and `comparison.docx`.
Nothing in them depends on when or where they were built, so rebuilding from the same sessions gives the
same bytes: the documents carry the latest session end as their date, charts have fixed ids.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from matplotlib.figure import Figure

from analysis.compare.table import Comparison
from analysis.errors import PrivlabError
from analysis.report.charts import _style
from analysis.report.charts import png_bytes
from analysis.report.charts import svg_text
from analysis.report.docx import _stable_zip
from analysis.report.html import asset
from analysis.report.html import csp_hash
from analysis.report.html import environment

FILES = ("comparison.json", "comparison.html", "comparison.pdf", "comparison.docx")
CHART_TITLE = "Data types sent to each recipient: share of each group's sessions (any phase)"


def _utc(t: float | None) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else ""


def comparison_document(cmp: Comparison) -> dict[str, Any]:
    """The comparison as plain data, in a fixed order: what every format renders."""
    sizes = cmp.group_sizes()
    return {
        "by": cmp.by,
        "groups": [{"name": g, "runs": sizes[g]} for g in cmp.groups],
        "sessions": [
            {
                **asdict(s),
                "marks": [{"t": t, "label": label} for t, label in s.marks],
                "started_utc": _utc(s.started),
            }
            for s in cmp.sessions
        ],
        "cells": [
            {
                "kind": c.kind,
                "data_type": c.data_type,
                "party": c.party,
                "purpose": c.purpose,
                "phase": c.phase,
                "differs": c.differs,
                "statement": c.statement(),
                "p_values": c.p_values,
                "groups": {
                    name: {
                        "sessions": g.sessions,
                        "runs": g.runs,
                        "consistency": g.consistency,
                        "first_s": None if g.first_s is None else round(g.first_s, 3),
                        "typical_s": None if g.typical_s is None else round(g.typical_s, 3),
                        "proofs": [asdict(p) for p in g.proofs],
                    }
                    for name, g in c.groups.items()
                },
            }
            for c in cmp.cells
        ],
        "sent": {
            g: [{"data_type": d, "recipient": r, "sessions": n} for (d, r), n in m.items()]
            for g, m in cmp.sent.items()
        },
        "note": (
            "Counts are sessions in which the behaviour showed. The p-value of Fisher's exact test measures "
            "how surprising a difference between two groups would be if the condition made no difference; "
            "it is a statistical statement about these runs, not a legal conclusion."
        ),
    }


def comparison_chart(cmp: Comparison) -> Figure:
    """Data types x recipients, one panel per group; a cell's shade is the share of the group's sessions."""
    rows = sorted({d for m in cmp.sent.values() for d, _ in m})
    cols = sorted({r for m in cmp.sent.values() for _, r in m})
    sizes = cmp.group_sizes()
    with _style():
        fig = Figure(
            figsize=(
                max(6.0, 2.2 + 2.6 * len(cmp.groups) * max(1, len(cols)) / 3),
                1.6 + 0.35 * max(1, len(rows)),
            )
        )
        axes = fig.subplots(1, max(1, len(cmp.groups)), squeeze=False)[0]
        for ax, g in zip(axes, cmp.groups, strict=False):
            grid = [[cmp.sent[g].get((d, r), 0) / sizes[g] if sizes[g] else 0.0 for r in cols] for d in rows]
            ax.imshow(grid or [[0.0]], vmin=0.0, vmax=1.0, cmap="Reds", aspect="auto")
            ax.set_title(f"{cmp.by} = {g} ({sizes[g]} sessions)")
            ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
            ax.set_yticks(range(len(rows)), rows if ax is axes[0] else [""] * len(rows))
            for i, d in enumerate(rows):
                for j, r in enumerate(cols):
                    n = cmp.sent[g].get((d, r), 0)
                    ax.text(j, i, f"{n}/{sizes[g]}", ha="center", va="center", fontsize=7)
        fig.tight_layout()
    return fig


def render_comparison_html(doc: dict[str, Any], chart_svg: str, medium: str = "screen") -> str:
    css = asset("report.css") + ("\n" + asset("print.css") if medium == "print" else "")
    csp = f"default-src 'none'; img-src data:; style-src {csp_hash(css)}; base-uri 'none'; form-action 'none'"
    chart_uri = "data:image/svg+xml;base64," + base64.b64encode(chart_svg.encode("utf-8")).decode()
    return (
        environment()
        .get_template("compare.html.j2")
        .render(
            doc=doc, medium=medium, css=Markup(css), csp=csp, chart_uri=chart_uri, chart_title=CHART_TITLE
        )
    )


def _docx(doc: dict[str, Any], chart_png: bytes, stamp: float | None, path: Path) -> None:
    import docx
    from docx.shared import Inches

    d = docx.Document()
    d.core_properties.title = f"privlab comparison by {doc['by']}"
    d.core_properties.author = "privlab"
    if stamp:
        when = datetime.fromtimestamp(stamp, UTC).replace(microsecond=0, tzinfo=None)
        d.core_properties.created = when
        d.core_properties.modified = when
    d.core_properties.revision = 1
    d.add_heading(f"Comparison of {len(doc['sessions'])} sessions by {doc['by']}", 0)
    d.add_paragraph(doc["note"])
    d.add_heading("Sessions", 1)
    t = d.add_table(rows=1, cols=5)
    for cell, text in zip(
        t.rows[0].cells, ("session", doc["by"], "status", "intact", "seal sha256"), strict=True
    ):
        cell.text = text
    for s in doc["sessions"]:
        row = t.add_row().cells
        for cell, text in zip(
            row,
            (
                s["session_id"],
                s["group"],
                s["status"],
                "yes" if s["intact"] else "NO",
                s["seal_sha256"] or "",
            ),
            strict=True,
        ):
            cell.text = str(text)
    d.add_heading("Chart", 1)
    d.add_picture(io.BytesIO(chart_png), width=Inches(6.3))
    d.add_heading("Behaviours compared", 1)
    for c in doc["cells"]:
        d.add_paragraph(c["statement"], style="List Bullet")
        for name, g in c["groups"].items():
            proofs = ", ".join(f"{p['session_id']}:{p['ref']}" for p in g["proofs"]) or "none"
            d.add_paragraph(f"{name}: {g['consistency']}; exhibits {proofs}")
    buf = io.BytesIO()
    d.save(buf)
    path.write_bytes(_stable_zip(buf.getvalue()))


def write_comparison(cmp: Comparison, out: Path) -> list[Path]:
    """Write the four formats into `out`; returns their paths."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PrivlabError(f"{out}: cannot create the output folder ({e.strerror})") from None
    doc = comparison_document(cmp)
    fig = comparison_chart(cmp)
    chart_svg, chart_png = svg_text(fig), png_bytes(fig)
    stamp = max((s.started for s in cmp.sessions), default=None)
    paths = [out / name for name in FILES]
    paths[0].write_bytes(
        (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    )
    paths[1].write_bytes(render_comparison_html(doc, chart_svg, "screen").encode("utf-8"))
    try:
        import weasyprint
        from weasyprint.urls import URLFetcher
    except ImportError as e:
        raise PrivlabError(
            f"PDF export needs WeasyPrint ({e}); install it with: pip install weasyprint"
        ) from None
    fetcher = URLFetcher(allowed_protocols=["data"], allow_redirects=False)
    document = weasyprint.HTML(
        string=render_comparison_html(doc, chart_svg, "print"), url_fetcher=fetcher
    ).render()
    document.metadata.title = f"privlab comparison by {cmp.by}"
    document.metadata.authors = ["privlab"]
    if stamp:
        iso = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        document.metadata.created = iso
        document.metadata.modified = iso
    document.write_pdf(paths[2])
    _docx(doc, chart_png, stamp, paths[3])
    return paths

"""report.html: one self-contained file (inline CSS, JS and SVG charts), safe to open on hostile data.

Captured traffic is hostile input. Three layers keep it inert:
1. the template is autoescaped: every captured string is text, never markup;
2. a strict Content-Security-Policy allows only this report's own stylesheet and script (by sha256)
   and `data:` images (the charts), and nothing from any network;
3. the filter script only reads `data-*` attributes and toggles `hidden`; it never builds HTML.
Charts are SVG images in `data:` URIs, so their internal styles stay inside the image.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from markupsafe import escape

from analysis.report.charts import CHART_TITLES
from analysis.report.document import BIDI_CONTROLS
from analysis.report.document import GLOSSARY
from analysis.report.document import filter_options
from analysis.report.document import timeline_events
from analysis.report.document import validation_view
from analysis.report.document import visible_controls

TEMPLATES = Path(__file__).resolve().parent / "templates"

PRINT_EXHIBITS = 2
PRINT_ACCESS = 5


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja environment for report templates; autoescape is always on."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        keep_trailing_newline=True,
        finalize=_visible,  # every value the templates print, before it is escaped
    )
    env.globals["search_text"] = search_text
    env.globals["exhibit_search_text"] = exhibit_search_text
    return env


def _visible(value: Any) -> Any:
    """A printed value with its bidirectional controls made visible (see `document.visible_controls`)."""
    if isinstance(value, Markup):  # already markup: the visible form is escaped here
        return Markup(BIDI_CONTROLS.sub(lambda m: str(escape(f"<U+{ord(m.group()):04X}>")), str(value)))
    if isinstance(value, str):
        return visible_controls(value)
    return value


def asset(name: str) -> str:
    """A static template asset (CSS or JS) as text."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(css: str, js: str) -> str:
    """No network, no inline code but ours: the policy the screen report carries in a meta tag."""
    return (
        f"default-src 'none'; img-src data:; style-src {csp_hash(css)}; script-src {csp_hash(js)}; "
        "base-uri 'none'; form-action 'none'"
    )


def search_text(f: Mapping[str, Any]) -> str:
    """Lower-case text the filter's search box matches for a finding (its own fields)."""
    parts = [
        f["finding_id"],
        f["kind"],
        f["data_type"],
        f["entity"],
        f["country"],
        f["phase"],
        f.get("sdk") or "",
    ]
    parts += list(f["hosts"]) + list(f["apis"]) + list(f["canary_ids"])
    return " ".join(str(p) for p in parts).lower()


def exhibit_search_text(e: Mapping[str, Any]) -> str:
    """Lower-case text the search box matches for an exhibit."""
    excerpt = "".join(s["text"] for s in e["excerpt"])
    parts = [e["ref"], e["flow_id"], e["method"], e["url"], e["part"], e["encoding"], excerpt]
    return " ".join(str(p) for p in parts).lower()


def chart_views(charts_svg: Mapping[str, str]) -> list[dict[str, str]]:
    """Charts as `data:` URIs with their titles, in the fixed chart order."""
    out = []
    for name in CHART_TITLES:
        if name in charts_svg:
            b64 = base64.b64encode(charts_svg[name].encode("utf-8")).decode()
            out.append(
                {"name": name, "title": CHART_TITLES[name], "data_uri": f"data:image/svg+xml;base64,{b64}"}
            )
    return out


def render_html(doc: Mapping[str, Any], charts_svg: Mapping[str, str], medium: str = "screen") -> str:
    """The report as HTML text: `screen` (self-contained, with filter and CSP) or `print` (for the PDF)."""
    css = asset("report.css") + ("\n" + asset("print.css") if medium == "print" else "")
    js = asset("report.js")
    template = environment().get_template("report.html.j2")
    return template.render(
        doc=doc,
        medium=medium,
        css=Markup(css),  # our own file; the CSP hash covers exactly these bytes
        js=Markup(js),
        csp=content_security_policy(css, js),
        charts=chart_views(charts_svg),
        validation=validation_view(doc.get("validation")),
        timeline=timeline_events(doc),
        options=filter_options(doc),
        glossary=GLOSSARY,
        # The PDF shows fewer exhibits and reads per finding so that a 100k-flow session still
        # typesets in seconds; the rest are in report.html and findings.json, and the PDF says so.
        max_exhibits=PRINT_EXHIBITS if medium == "print" else 1_000_000,
        max_access=PRINT_ACCESS if medium == "print" else 1_000_000,
    )


def write_html(doc: Mapping[str, Any], charts_svg: Mapping[str, str], path: Path) -> Path:
    """Write report.html; returns its path."""
    path.write_bytes(render_html(doc, charts_svg, "screen").encode("utf-8"))
    return path


__all__: Sequence[str] = ("content_security_policy", "render_html", "write_html")

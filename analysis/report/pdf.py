"""report.pdf: the same content typeset by WeasyPrint from the print variant of the HTML.

A4 pages with a running header, page numbers ("page n of m") and exhibit references that carry their
page number. Captured ByteDance traffic carries Chinese text, so the stylesheet names WenQuanYi Micro
Hei (Debian `fonts-wqy-microhei`) as the fallback: WeasyPrint embeds the glyphs it uses, and nothing
prints as empty boxes. WeasyPrint never runs scripts and is given no base URL, so nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.errors import PrivlabError
from analysis.report.html import render_html


def write_pdf(doc: Mapping[str, Any], charts_svg: Mapping[str, str], path: Path) -> Path:
    """Typeset the report to `path`; returns it."""
    try:
        import weasyprint
    except ImportError as e:  # an optional extra: `pip install privlab[report]`
        raise PrivlabError(
            f"PDF export needs WeasyPrint ({e}); install it with: pip install weasyprint"
        ) from None
    html = render_html(doc, charts_svg, "print")
    session = doc.get("session", {})
    from weasyprint.urls import URLFetcher

    # Only `data:` URIs (our charts) may load; a captured URL is never fetched.
    fetcher = URLFetcher(allowed_protocols=["data"], allow_redirects=False)
    document = weasyprint.HTML(string=html, url_fetcher=fetcher).render()
    document.metadata.title = f"privlab evidence report: {session.get('id', '')}"
    document.metadata.authors = ["privlab"]
    # A fixed creation date (the session's end, else its start) so reruns differ as little as possible.
    stamp = doc.get("session", {}).get("ended_utc") or doc.get("session", {}).get("created_utc")
    if stamp:
        document.metadata.created = stamp
        document.metadata.modified = stamp
    document.write_pdf(path)
    return path

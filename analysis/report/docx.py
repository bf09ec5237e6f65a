"""report.docx: the same content as an editable Word document, for lawyers who edit.

Built with python-docx from the report document. The findings table has the columns of
`FINDINGS_TABLE_COLUMNS`, one row per finding in findings.json order, so it can be checked against
findings.json. Charts are embedded as PNG (Word does not take SVG).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from analysis.report.charts import CHART_TITLES
from analysis.report.document import GLOSSARY
from analysis.report.document import timeline_events
from analysis.report.document import validation_view
from analysis.report.document import visible_controls

FINDINGS_TABLE_COLUMNS = (
    "finding_id",
    "kind",
    "data_type",
    "entity",
    "country",
    "phase",
    "first_seen_utc",
    "last_seen_utc",
    "count",
)

_STYLE = "Table Grid"


CAPABILITY_HEADER = (
    "data type", "permission held", "API referenced by", "call sites", "reads observed", "detections in traffic",
)  # fmt: skip


def capability_cells(r: Mapping[str, Any]) -> list[str]:
    """One row of the capability-vs-observed table as text."""
    held = r["permission_held"]
    perm = "none needed" if held is None else ("yes: " + ", ".join(r["permissions_held"]) if held else "no")
    return [
        str(r["data_type"]),
        perm,
        ", ".join(r["referenced_by"]) or "not referenced",
        str(r["call_sites"]),
        "not hooked" if r["observed_read"] is None else str(r["observed_read"]),
        "n/a" if r["observed_sent"] is None else str(r["observed_sent"]),
    ]


def _table(document: Any, header: list[str], rows: list[list[str]]) -> Any:
    t = document.add_table(rows=1, cols=len(header))
    t.style = _STYLE
    for cell, text in zip(t.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = t.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    return t


def _mono(paragraph: Any, text: str) -> None:
    run = paragraph.add_run(text)
    run.font.name = "Courier New"


def _kv(document: Any, d: Mapping[str, Any]) -> None:
    if not d:
        document.add_paragraph("Not recorded.")
        return
    _table(document, ["field", "value"], [[str(k), str(v)] for k, v in sorted(d.items())])


# Characters XML 1.0 cannot hold (NUL, most C0 controls, U+FFFE/U+FFFF): captured bodies carry them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(v: Any) -> Any:
    """The document with characters Word's XML cannot hold shown as `\\xNN` / `\\uNNNN` escapes, and
    bidirectional controls as their code points, e.g. `<U+202E>` (as in the HTML and PDF)."""
    if isinstance(v, str):
        return _NOT_XML.sub(
            lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
            visible_controls(v),
        )
    if isinstance(v, Mapping):
        return {k: xml_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [xml_safe(x) for x in v]
    return v


# Every section writer takes the python-docx Document, the (XML-safe) report document and the chart PNGs.
Section = Callable[[Any, Mapping[str, Any], Mapping[str, bytes]], None]


def title_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """Title, session line, and the unredacted warning when redaction was switched off."""
    s = doc["session"]
    d.core_properties.title = f"privlab evidence report: {s['id']}"
    d.core_properties.author = "privlab"
    d.add_heading("Evidence report", 0)
    d.add_paragraph(f"privlab session {s['id']} · status {s['status']}")
    st = doc["integrity"].get("standing") or {}
    if st:  # the session's verdict comes first (analysis.session.standing)
        d.add_paragraph().add_run(st["headline"]).bold = True
        for line in [
            *st["problems"],
            *(f"Interruption: {n}" for n in st["interruptions"]),
            *st["statements"],
        ]:
            d.add_paragraph(line, style="List Bullet")
    if not doc["redacted"]:
        d.add_paragraph(
            "Redaction was switched off for this report (--no-redact): captured credentials are shown as captured."
        )


def summary_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """One sentence per finding."""
    d.add_heading("Summary", 1)
    for item in doc["summary"]:
        d.add_paragraph(f"{item['finding_id']}: {item['sentence']}", style="List Bullet")
    if not doc["summary"]:
        d.add_paragraph("No data item was detected in the traffic and no access was recorded.")


def session_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """Session, device, app and tools."""
    s = doc["session"]
    d.add_heading("Session, device, app and tools", 1)
    _kv(
        d,
        {
            "id": s["id"],
            "status": s["status"],
            "started (UTC)": s["created_utc"],
            "ended (UTC)": s["ended_utc"],
        },
    )
    d.add_heading("App", 2)
    _kv(d, s["app"])
    d.add_heading("Device", 2)
    _kv(d, s["device"])
    d.add_heading("Tools", 2)
    _kv(d, s["tools"])


def methodology_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """How the evidence was gathered, and the method's measured error rates."""
    d.add_heading("Methodology", 1)
    s = doc["session"]
    for para in s.get("provenance_methodology") or []:
        d.add_paragraph(para)
    if s.get("provenance_methodology"):
        d.add_paragraph(
            "Message parts were decoded recursively and searched for planted values and their encodings. "
            "Legal provisions are named to support an expert's assessment; they are not legal conclusions."
        )
    else:
        d.add_paragraph(
            "Frida recorded what the app read on the device; mitmproxy recorded what it sent; a packet capture "
            "recorded what went around the proxy. Message parts were decoded recursively and searched for "
            "planted values, values the hooks saw, and their encodings. Legal provisions are named to support "
            "an expert's assessment; they are not legal conclusions."
        )
    d.add_heading("Measured error rates", 2)
    view = validation_view(doc.get("validation"))
    if view is None:
        d.add_paragraph("Not measured: no validation score was supplied for this report.")
    else:
        for t in view["tables"]:
            d.add_paragraph(t["title"])
            _table(d, [t["key"], *t["columns"]], [[r["key"], *r["cells"]] for r in t["rows"]])
        for k, v in view["scalars"]:
            d.add_paragraph(f"{k}: {v}")
    d.add_paragraph(
        "Credentials in captured traffic are redacted." if doc["redacted"] else "Redaction was switched off."
    )


def _access_table(d: Any, access: list[Mapping[str, Any]]) -> None:
    _table(
        d,
        ["seq", "time (UTC)", "API", "SDK", "value seen", "delay to send (s)"],
        [
            [
                str(a["seq"]),
                a["time_utc"],
                a["api"],
                a["sdk"] or "",
                a["value"],
                "" if a["delay_s"] is None else f"{a['delay_s']:.3f}",
            ]
            for a in access
        ],
    )


def _exhibit(d: Any, e: Mapping[str, Any]) -> None:
    d.add_heading(f"Exhibit {e['ref']} · flow {e['flow_id']} · {e['time_utc']}", 3)
    _mono(d.add_paragraph(), f"{e['method']} {e['url']} {e['http_version']}")
    d.add_paragraph(f"Part {e['part']} · encoding {e['encoding'] or 'plain'} · {e['detection_method']}")
    para = d.add_paragraph()
    for seg in e["excerpt"]:
        run = para.add_run(seg["text"])
        run.font.name = "Courier New"
        run.bold = bool(seg["match"])
    c = e["custody"]
    d.add_paragraph(
        f"Raw flow: {c['file']} bytes {c['offset']}+{c['length']}, sha256 {c['sha256']}"
        if c
        else "Raw flow: no custody record"
    )


def findings_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """The findings table, then each finding with its provisions, access events and exhibits."""
    d.add_heading("Findings", 1)
    rows = [[str(f[c]) for c in FINDINGS_TABLE_COLUMNS] for f in doc["findings"]]
    _table(d, list(FINDINGS_TABLE_COLUMNS), rows)
    for f in doc["findings"]:
        d.add_heading(f"{f['finding_id']}: {f['summary']}", 2)
        for p in f["provisions"]:
            d.add_paragraph(f"{p['instrument']}, {p['article']}: {p['note']}", style="List Bullet")
        if f["access"]:
            _access_table(d, f["access"])
        for e in f["exhibits"]:
            _exhibit(d, e)


def destinations_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """Who received the traffic, where, and the charts."""
    from docx.shared import Cm

    d.add_heading("Destinations", 1)
    _table(
        d,
        ["host", "entity", "parent", "party", "countries", "jurisdiction", "flows"],
        [
            [
                x["host"],
                str(x["entity"] or ""),
                str(x["parent"] or ""),
                str(x["party"] or ""),
                ", ".join(sorted(set(x["ip_countries"]))),
                str(x["jurisdiction"] or ""),
                str(x["flows"]),
            ]
            for x in doc["destinations"]
        ],
    )
    for name, title in CHART_TITLES.items():
        if name in charts_png:
            d.add_picture(io.BytesIO(charts_png[name]), width=Cm(15))
            d.add_paragraph(title)


def capability_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """Capability vs observed, when the session holds the APK's static analysis."""
    if doc.get("capability") is None:
        return
    d.add_heading("Capability vs observed", 1)
    d.add_paragraph(
        "What the exact APK that ran is able to do, from apk/static.json, beside what this session saw it do."
    )
    _table(d, list(CAPABILITY_HEADER), [capability_cells(r) for r in doc["capability"]])


def timeline_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """Marks, reads and transmissions in time order."""
    d.add_heading("Timeline", 1)
    _table(d, ["time (UTC)", "event"], [[ev["time_utc"], ev["text"]] for ev in timeline_events(doc)])


def coverage_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """What the session could and could not see."""
    d.add_heading("Coverage", 1)
    c = doc["coverage"]
    for line in (
        f"Flows: {c['flows_total']} ({c['flows_decrypted']} decrypted, {c['flows_with_error']} with an error)",
        (
            f"Seen only in the packet capture: {c['pcap_only_connections']} of {c['pcap_connections']} connections"
            if c["pcap_present"]
            else "Seen only in the packet capture: no packet capture"
        ),
        f"Failed TLS handshakes: {c['tls_failures']}",
        f"QUIC packets not intercepted: {c['quic_packets']}",
        f"Hook modules attached: {', '.join(c['hook_modules_attached']) or 'none'}",
        f"Hook modules failed: {', '.join(m[0] for m in c['hook_modules_failed']) or 'none'}",
        f"Canaries planted / found: {len(c['canaries_planted'])} / {len(c['canaries_found'])}",
        *c["notes"],
    ):
        d.add_paragraph(line, style="List Bullet")


def integrity_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """The seal, the chain head, the signature and every sealed file re-hashed."""
    d.add_heading("Integrity appendix", 1)
    i = doc["integrity"]
    if not i["sealed"]:
        d.add_paragraph("This session has no seal.json.")
        return
    head = i["chain_head"] or {}
    d.add_paragraph(f"Chain head: record {head.get('seq')}, sha256 {head.get('line_sha256')}")
    d.add_paragraph(f"Seal sha256: {i['seal_sha256']}")
    d.add_paragraph(f"Timestamp: {i['timestamp']['text']}")
    sig = i["signature"]
    d.add_paragraph(
        f"Signature: {sig['alg']} by {sig['public_key']}, {'valid' if sig['valid'] else 'INVALID'}"
        if sig
        else "Signature: not signed"
    )
    _table(
        d,
        ["file", "sha256", "size", "matches now"],
        [[f["name"], str(f["sha256"]), str(f["size"]), "yes" if f["matches"] else "NO"] for f in i["files"]],
    )


def glossary_section(d: Any, doc: Mapping[str, Any], charts_png: Mapping[str, bytes]) -> None:
    """The terms the report uses."""
    d.add_heading("Glossary", 1)
    _table(d, ["term", "meaning"], [[term, meaning] for term, meaning in GLOSSARY])


# In document order; a new section is one function appended here.
SECTIONS: list[Section] = [
    title_section,
    summary_section,
    session_section,
    methodology_section,
    findings_section,
    destinations_section,
    capability_section,
    timeline_section,
    coverage_section,
    integrity_section,
    glossary_section,
]


def _save_stable(d: Any, doc: Mapping[str, Any], path: Path) -> None:
    """Save with the session's own time as the document's, so a rebuild gives the same bytes."""
    s = doc["session"]
    stamp = s.get("ended") or s.get("created")
    if stamp:
        when = datetime.fromtimestamp(float(stamp), UTC).replace(tzinfo=None)
        d.core_properties.created = when
        d.core_properties.modified = when
    d.core_properties.revision = 1
    buf = io.BytesIO()
    d.save(buf)
    path.write_bytes(_stable_zip(buf.getvalue()))


def write_docx(doc: Mapping[str, Any], charts_png: Mapping[str, bytes], path: Path) -> Path:
    """Write report.docx, one section function after the other (`SECTIONS`); returns its path."""
    import docx

    doc = xml_safe(doc)
    d = docx.Document()
    for section in SECTIONS:
        section(d, doc, charts_png)
    _save_stable(d, doc, path)
    return path


def _stable_zip(data: bytes) -> bytes:
    """The same DOCX with fixed zip entry times, so the same session gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()

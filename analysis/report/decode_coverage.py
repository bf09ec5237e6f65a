"""Decode issues in the report's coverage: which bodies were not fully searched, and in which flows.

The detection stage records every decompression bomb, over-size body, too-deep nesting and corrupt
encoding in `derived/decode_issues.parquet`; a reader of the report must know that detections in those
bodies may be missing. `decode_coverage(tables)` gives the coverage keys and one plain-language note.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

# How each issue reads in the report.
ISSUE_WORDS = {
    "bomb": "decompression bomb(s) stopped",
    "too-large": "body or decoded view(s) over the size limit",
    "too-deep": "encoding chain(s) nested too deeply",
    "corrupt": "encoding(s) that could not be decoded",
}
MAX_FLOWS = 20  # flow ids named per issue in the note; the structured list holds all


def decode_coverage(tables: Any) -> dict[str, Any]:
    """`decode_issues` ({issue, count, flows}) and `decode_issue_note` for the coverage section."""
    df = getattr(tables, "decode_issues", None)
    if not isinstance(df, pd.DataFrame) or df.empty:
        return {"decode_issues": [], "decode_issue_note": None}
    rows: list[dict[str, Any]] = []
    for issue, group in df.groupby("issue", sort=True):
        flows = sorted({str(f) for f in group["flow_id"]})
        rows.append({"issue": str(issue), "count": int(len(group)), "flows": flows})
    parts = []
    for r in rows:
        named = ", ".join(r["flows"][:MAX_FLOWS]) + (" …" if len(r["flows"]) > MAX_FLOWS else "")
        parts.append(f"{r['count']} {ISSUE_WORDS.get(r['issue'], r['issue'])} in flow(s) {named}")
    note = "Bodies not fully searched (detections in them may be missing): " + "; ".join(parts) + "."
    return {"decode_issues": rows, "decode_issue_note": note}


def unindexed_note(meta: Any) -> str | None:
    """The flows the capture recorded but could not index (`capture.index_failed` in session.json)."""
    capture = meta.get("capture") if isinstance(meta, dict) else None
    failed = capture.get("index_failed") if isinstance(capture, dict) else None
    if not isinstance(failed, list) or not failed:
        return None
    ids = [str(f.get("flow_id")) for f in failed if isinstance(f, dict)]
    named = ", ".join(ids[:MAX_FLOWS]) + (" …" if len(ids) > MAX_FLOWS else "")
    return (f"{len(ids)} flow(s) recorded in flows.mitm could not be indexed and were not analysed: {named} "
            "(the bytes are in the evidence; see capture.index_failed in session.json).")  # fmt: skip


def add_decode_coverage(doc: dict[str, Any], tables: Any, meta: Any = None) -> None:
    """Put the decode issues (and unindexed flows) into a built report document's coverage."""
    extra = decode_coverage(tables)
    doc["coverage"]["decode_issues"] = extra["decode_issues"]
    notes = doc["coverage"].setdefault("notes", [])
    for note in (extra["decode_issue_note"], unindexed_note(meta)):
        if note:
            notes.append(note)

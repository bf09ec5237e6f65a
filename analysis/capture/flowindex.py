"""`flows.jsonl`: the analysis-ready index of `flows.mitm`, written when the proxy has stopped.

Reading `.mitm` back through mitmproxy is slow (about 2,000 flows/s here), so each session gets one
line per flow in the `flows.jsonl` format (`analysis/flowrecord.py`), which analysis reads many times
faster. It is built once, from the sealed-to-be `flows.mitm`, after mitmdump has stopped: building it
live would cost the proxy time on every flow. A flow cut short by a killed writer is not indexed.
"""

from __future__ import annotations

from analysis.errors import PrivlabError
from analysis.session import FLOWS_JSONL
from analysis.session import FLOWS_MITM
from analysis.session import Session
from analysis.session.flows import read_mitm
from analysis.session.flows import record_from_flow
from analysis.session.flows import record_line

BATCH = 1000  # flows per custody record


def write_flow_index(session: Session) -> int:
    """Append one `flows.jsonl` line per complete flow of `flows.mitm`; returns how many were indexed.

    Where `flows.mitm` stops being readable (a writer killed mid-flow), the flows before it are indexed
    and session.json says where and why (`capture.index_note`), so the gap is stated, not silent.
    """
    src = session.path / FLOWS_MITM
    if not src.exists() or (session.path / FLOWS_JSONL).exists():
        return 0
    lines: list[bytes] = []
    first = 0
    indexed = 0

    def flush() -> None:
        nonlocal first
        if lines:
            session.append(
                FLOWS_JSONL, b"".join(lines), kind="flow-index", ref=f"{first}-{first + len(lines) - 1}"
            )
            first += len(lines)
            lines.clear()

    failed: list[dict[str, str]] = []
    try:
        for flow in read_mitm(src):
            try:
                line = record_line(record_from_flow(flow))
            except Exception as e:  # noqa: BLE001 - whatever one flow holds, it must not stop the others
                # The flow stays in flows.mitm (the evidence); the session says which one was not indexed.
                failed.append({"flow_id": str(flow.id), "error": f"{type(e).__name__}: {e}"[:300]})
                continue
            lines.append(line)
            indexed += 1
            if len(lines) >= BATCH:
                flush()
    except PrivlabError as e:
        note = f"flows.jsonl indexes the {indexed} complete flows before this point: {e}"
        session.update_meta(
            lambda m: m.setdefault("capture", {}).update({"index_note": note}), reason="index"
        )
    flush()
    if failed:
        session.update_meta(
            lambda m: m.setdefault("capture", {}).update({"index_failed": failed}), reason="index-failed"
        )
    return indexed

"""What a report must say first about its session: verified or not, complete or not, and how to check it.

A report of a tampered or incomplete session used to be built as if nothing happened, with a "NO" in
its appendix only. `standing(path)` runs the same checks as `privlab verify` and gives the report the
sentences for its first page: the verdict, the interruptions (told apart from tampering), whether the
seal is signed, and the seal hash and chain head an operator deposits elsewhere (an unsigned seal is
only as good as that deposit). No RFC 3161 time-stamping authority is configured offline, and the
standing says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.errors import PrivlabError
from analysis.session import SEAL_JSON
from analysis.session.timestamp import describe as timestamp_line
from analysis.session.verify import verify_session

MAX_LISTED = 12  # differences quoted on the first page; the count is always given


def standing(path: Path | str) -> dict[str, Any]:
    """The session's verification verdict and first-page statements (deterministic: no clock, no paths)."""
    p = Path(path)
    try:
        report = verify_session(p)
    except PrivlabError as e:
        return {"verified": False, "status": "unknown", "headline": f"The session cannot be verified: {e}",
                "problems": [], "problem_count": 0, "interruptions": [], "statements": []}  # fmt: skip
    try:
        seal = json.loads((p / SEAL_JSON).read_bytes())
        seal = seal if isinstance(seal, dict) else {}
    except (OSError, ValueError, RecursionError):
        seal = {}
    interruptions = [n for n in report.notices if "interruption" in n or "writer" in n or "interrupted" in n]
    head: dict[str, Any] = seal["chain_head"] if isinstance(seal.get("chain_head"), dict) else {}
    statements: list[str] = []
    if not report.intact:
        headline = (
            f"VERIFICATION FAILED: {len(report.problems)} difference(s) between the session's files and its "
            "custody chain or seal. What follows is built from data that is not as it was recorded; do not "
            "rely on it without explaining each difference."
        )
    elif report.status == "open" or not seal:
        headline = "NOT SEALED: the session was never closed, so only its custody chain could be checked."
    elif report.status == "incomplete":
        reason = seal.get("reason") or "no reason recorded"
        headline = f"INCOMPLETE: the capture did not end normally ({reason}). The evidence verified intact."
    elif report.status == "imported":
        headline = "IMPORTED: made elsewhere and sealed at import; the evidence verified intact since then."
    else:
        headline = "Verified: every evidence file matches its custody chain and seal."
    if seal:
        if "signature" in seal:
            ok = report.signed_by is not None
            statements.append(
                f"The seal is signed with ed25519 key {report.signed_by}."
                if ok
                else "The seal's signature does not verify."
            )
        else:
            statements.append(
                "The seal is not signed: integrity depends on the seal hash being recorded elsewhere "
                "(deposit the seal sha256 and chain head below with a third party)."
            )
        statements.append(f"Seal sha256: {seal.get('seal_sha256')}.")
        statements.append(
            f"Custody chain head: record {head.get('seq')}, line sha256 {head.get('line_sha256')}."
        )
        statements.append(f"Time-stamp: {timestamp_line(p, seal.get('seal_sha256'))['text']}.")
    return {
        "verified": report.intact,
        "status": report.status,
        "headline": headline,
        "problems": [str(x) for x in report.problems[:MAX_LISTED]],
        "problem_count": len(report.problems),
        "interruptions": interruptions,
        "statements": statements,
    }

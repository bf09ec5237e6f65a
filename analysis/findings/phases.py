"""Consent phases from the operator's marks: which phase a moment of the session belongs to."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from analysis.findings.frames import epoch
from analysis.vocabulary import Phase

# The phase names are `analysis.vocabulary.Phase`; these names stay for existing importers, typed as the
# plain strings that findings, tables and reports carry.
PHASE_BEFORE: str = Phase.BEFORE
PHASE_AFTER: str = Phase.AFTER
PHASE_REFUSED: str = Phase.REFUSED
PHASE_WITHDRAWN: str = Phase.WITHDRAWN
PHASES: tuple[str, ...] = tuple(Phase)  # in the order a session goes through them


# Mark labels that change the consent state. Labels are free text set by the operator (`privlab mark`),
# so the match is on words, not on one spelling.
_ACCEPT_WORDS = ("accept", "grant", "given", "agree", "allow")


_REFUSE_WORDS = ("declin", "reject", "refus", "deny", "denied")


_WITHDRAW_WORDS = ("withdraw", "revok")


def consent_transitions(marks: Iterable[Mapping[str, Any]]) -> list[tuple[float, str, str]]:
    """(t, label, phase after it) for each mark that changes the consent state, in time order."""
    out: list[tuple[float, str, str]] = []
    ordered = sorted(
        ((epoch(m.get("t")), str(m.get("label", ""))) for m in marks if isinstance(m, Mapping)),
        key=lambda tl: (tl[0] if tl[0] is not None else -1.0, tl[1]),
    )
    for t, label in ordered:
        low = label.lower()
        if t is None or "consent" not in low:
            continue
        if any(w in low for w in _WITHDRAW_WORDS):
            out.append((t, label, PHASE_WITHDRAWN))
        elif any(w in low for w in _REFUSE_WORDS):
            out.append((t, label, PHASE_REFUSED))
        elif any(w in low for w in _ACCEPT_WORDS):
            out.append((t, label, PHASE_AFTER))
    return out


def phase_at(t: float, transitions: Sequence[tuple[float, str, str]]) -> str:
    """The consent phase at time t: before any consent mark, or after the last one at or before t."""
    phase = PHASE_BEFORE
    for mt, _label, after in transitions:
        if mt <= t:
            phase = after
        else:
            break
    return phase


def _phase_rank(phase: str) -> int:
    return PHASES.index(phase) if phase in PHASES else len(PHASES)

"""Several sessions side by side: what each group of runs sent (or read), how often, and the difference.

A *cell* is one behaviour: a transmission (data type x recipient entity x endpoint purpose x consent
phase) or an access (data type x reading SDK x phase). For each group of sessions (grouped by one
condition, e.g. `consent`) a cell says in how many of the group's sessions it showed, how long after the
session's start it first showed (first and typical), and which flows or hook events prove it in each
session. With two groups, Fisher's exact test on "showed / did not show" gives a p-value: a measure of
how surprising the difference would be by chance, never a legal conclusion.

Everything here is computed from each session's analysed evidence (`load_evidence`), so a comparison
always matches the sessions' own reports.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from itertools import combinations
from pathlib import Path
from typing import Any

from analysis.analyze.evidence import SessionEvidence
from analysis.analyze.evidence import load_evidence
from analysis.compare.stats import consistency
from analysis.compare.stats import fisher_exact
from analysis.errors import PrivlabError
from analysis.findings import Finding
from analysis.session.verify import verify_session

UNSET = "(not set)"  # the group of sessions that do not record the condition compared by
MAX_PROOFS = 3  # exhibits listed per session and cell (every flow id stays in the session's findings)


@dataclass(frozen=True)
class Proof:
    """One exhibit behind a cell: a flow (with its custody record) or a hook event, in one session."""

    session_id: str
    ref: str  # flow id, or "hook:<seq>"
    custody_seq: int | None
    sha256: str | None


@dataclass
class SessionSummary:
    """What a comparison states about each session it rests on."""

    session_id: str
    path: str
    group: str
    conditions: dict[str, str]
    app: str
    app_version: str
    device: str
    marks: list[tuple[float, str]]
    started: float
    status: str
    seal_sha256: str | None
    intact: bool
    problems: int


@dataclass
class GroupCell:
    """One cell in one group."""

    sessions: int  # sessions of the group where it showed
    runs: int  # sessions in the group
    first_s: float | None  # earliest time after a session's start, over the group
    typical_s: float | None  # median of each session's first time after its start
    proofs: list[Proof] = field(default_factory=list)

    @property
    def consistency(self) -> str:
        return consistency(self.sessions, self.runs)


@dataclass
class Cell:
    """One behaviour compared across the groups."""

    kind: str  # transmission | access
    data_type: str
    party: str  # the recipient entity (transmission) or the reading SDK (access)
    purpose: str
    phase: str
    groups: dict[str, GroupCell]
    p_values: dict[str, float]  # "groupA vs groupB" -> Fisher's exact two-sided p

    @property
    def differs(self) -> bool:
        shares = {g.sessions / g.runs for g in self.groups.values() if g.runs}
        return len(shares) > 1

    def statement(self) -> str:
        """The cell in words, with counts per group and the test, and no legal conclusion."""
        verb = "sent to" if self.kind == "transmission" else "read by"
        per_group = "; ".join(f"{name}: {g.consistency}" for name, g in self.groups.items())
        text = f"{self.data_type} {verb} {self.party} ({self.phase}): {per_group}"
        if self.p_values:
            tests = ", ".join(f"{pair} p = {p:.4g}" for pair, p in self.p_values.items())
            text += f". Fisher's exact test (two-sided): {tests}"
        return text


@dataclass
class Comparison:
    """Sessions grouped by one condition, and every cell compared across the groups."""

    by: str
    groups: list[str]
    sessions: list[SessionSummary]
    cells: list[Cell]
    # group -> (data type, recipient) -> sessions that sent it in any phase (the chart's matrix)
    sent: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)

    def group_sizes(self) -> dict[str, int]:
        return {g: sum(1 for s in self.sessions if s.group == g) for g in self.groups}


def _start(meta: dict[str, Any]) -> float:
    """A session's start: its `app-start` mark where it has one (the app's own t=0), else its creation."""
    for m in meta.get("marks") or []:
        if m.get("label") == "app-start":
            return float(m["t"])
    return float(meta.get("capture_started") or meta.get("created") or 0.0)


def _summary(ev: SessionEvidence, by: str) -> SessionSummary:
    meta = ev.meta
    conditions = {str(k): str(v) for k, v in (meta.get("conditions") or {}).items()}
    app = meta.get("app") or {}
    device = meta.get("device") or {}
    report = verify_session(ev.path)
    return SessionSummary(
        session_id=str(meta.get("id", ev.path.name)),
        path=str(ev.path),
        group=conditions.get(by, UNSET),
        conditions=conditions,
        app=str(app.get("package") or app.get("name") or ""),
        app_version=str(app.get("version") or app.get("version_name") or ""),
        device=str(device.get("model") or meta.get("mode") or ""),
        marks=[(float(m["t"]), str(m["label"])) for m in meta.get("marks") or []],
        started=_start(meta),
        status=str(meta.get("status", "")),
        seal_sha256=(ev.seal or {}).get("seal_sha256") if ev.seal else None,
        intact=report.intact,
        problems=len(report.problems),
    )


def _key(f: Finding) -> tuple[str, str, str, str, str]:
    party = f.entity if f.kind == "transmission" else (f.sdk or f.entity or "the app")
    return (f.kind, f.data_type, party or "unknown", f.endpoint_purpose or "", f.phase)


def _proofs(session_id: str, f: Finding) -> list[Proof]:
    if f.kind == "transmission":
        out = []
        for e in f.exhibits[:MAX_PROOFS]:
            custody = e.custody or {}
            seq = custody.get("seq")
            out.append(
                Proof(session_id, e.flow_id, int(seq) if seq is not None else None, custody.get("sha256"))
            )
        return out
    return [Proof(session_id, f"hook:{seq}", None, None) for seq in f.access_seqs[:MAX_PROOFS]]


def compare_evidence(evidence: Sequence[SessionEvidence], by: str) -> Comparison:
    """Compare analysed sessions grouped by the condition `by`."""
    if not evidence:
        raise PrivlabError("compare: no sessions given")
    summaries = [_summary(ev, by) for ev in evidence]
    groups = sorted({s.group for s in summaries}, key=lambda g: (g == UNSET, g))
    runs = {g: sum(1 for s in summaries if s.group == g) for g in groups}
    # (cell key) -> group -> session id -> (first time after start, proofs)
    seen: dict[tuple[str, str, str, str, str], dict[str, dict[str, tuple[float, list[Proof]]]]] = {}
    sent: dict[str, dict[tuple[str, str], set[str]]] = {g: {} for g in groups}
    for ev, s in zip(evidence, summaries, strict=True):
        for f in ev.findings:
            if f.kind == "transmission":
                sent[s.group].setdefault((f.data_type, f.entity or "unknown"), set()).add(s.session_id)
            slot = seen.setdefault(_key(f), {}).setdefault(s.group, {})
            after = max(0.0, f.first_seen - s.started)
            if s.session_id in slot:
                t, proofs = slot[s.session_id]
                slot[s.session_id] = (min(t, after), (proofs + _proofs(s.session_id, f))[:MAX_PROOFS])
            else:
                slot[s.session_id] = (after, _proofs(s.session_id, f))
    cells = []
    for key in sorted(seen):
        per_group: dict[str, GroupCell] = {}
        for g in groups:
            hits = seen[key].get(g, {})
            times = sorted(t for t, _ in hits.values())
            per_group[g] = GroupCell(
                sessions=len(hits),
                runs=runs[g],
                first_s=times[0] if times else None,
                typical_s=statistics.median(times) if times else None,
                proofs=[p for sid in sorted(hits) for p in hits[sid][1]],
            )
        p_values = {}
        for a, b in combinations([g for g in groups if g != UNSET], 2):
            ga, gb = per_group[a], per_group[b]
            p_values[f"{a} vs {b}"] = fisher_exact(
                ga.sessions, ga.runs - ga.sessions, gb.sessions, gb.runs - gb.sessions
            )
        kind, data_type, party, purpose, phase = key
        cells.append(Cell(kind, data_type, party, purpose, phase, per_group, p_values))
    matrix = {g: {k: len(v) for k, v in sorted(sent[g].items())} for g in groups}
    return Comparison(by, groups, summaries, cells, matrix)


def compare_sessions(paths: Iterable[Path | str], by: str) -> Comparison:
    """Load (analysing where stale) every session and compare them grouped by the condition `by`."""
    return compare_evidence([load_evidence(p) for p in paths], by)

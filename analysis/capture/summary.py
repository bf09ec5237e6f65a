"""A short summary of a captured session: flows per host, bytes, duration."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field

from analysis.session import FLOWS_JSONL
from analysis.session import Session
from analysis.session.flows import read_jsonl


@dataclass
class CaptureSummary:
    flows: int = 0
    request_bytes: int = 0
    response_bytes: int = 0
    duration: float | None = None
    per_host: Counter[str] = field(default_factory=Counter)
    bytes_per_host: Counter[str] = field(default_factory=Counter)
    errors: int = 0


def summarize(session: Session) -> CaptureSummary:
    """Count what `flows.jsonl` holds; the duration is from session creation to the seal."""
    s = CaptureSummary()
    path = session.path / FLOWS_JSONL
    if path.exists():
        for rec in read_jsonl(path):
            s.flows += 1
            s.per_host[rec.host] += 1
            s.request_bytes += rec.request_body_size
            s.response_bytes += rec.response_body_size
            s.bytes_per_host[rec.host] += rec.request_body_size + rec.response_body_size
            s.errors += rec.error is not None
    meta = session.meta
    if meta.get("ended") and meta.get("created"):
        s.duration = float(meta["ended"]) - float(meta["created"])
    return s

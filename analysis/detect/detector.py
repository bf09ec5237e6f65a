"""One session's messages in, `detections` rows out: canaries, runtime values and patterns together.

For each message: decode into views (`analysis.decode`), scan all views once with the canary automaton,
run the pattern rules, and turn hits into `schema.Detection` rows (one per flow, part, data item,
encoding chain and method). Parts that could not be decoded come back as `DecodeIssue`s for that flow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field

from analysis.decode.limits import DecodeIssue
from analysis.decode.limits import DecodeLimits
from analysis.decode.views import MessageDecoder
from analysis.decode.views import View
from analysis.detect.canary import CanaryIndex
from analysis.detect.canary import Hit
from analysis.detect.excerpt import excerpt
from analysis.detect.patterns import PatternHit
from analysis.detect.patterns import find_patterns
from analysis.detect.runtime import PlaintextRecord
from analysis.schema import Canary
from analysis.schema import Detection
from analysis.schema import FlowRecord
from analysis.vocabulary import DetectionMethod


def detection_id(flow_id: str, part: str, what: str, encoding: str, method: str) -> str:
    """Stable id: the same finding in a re-run gets the same id."""
    key = "\x1f".join((flow_id, part, what, encoding, method)).encode()
    return hashlib.sha256(key).hexdigest()[:20]


@dataclass
class MessageResult:
    """What one message gave."""

    detections: list[Detection] = field(default_factory=list)
    issues: list[DecodeIssue] = field(default_factory=list)


class Detector:
    """Canary, runtime-value and pattern detection over one session's messages."""

    def __init__(
        self,
        canaries: list[Canary],
        *,
        engine: str = "auto",
        limits: DecodeLimits | None = None,
        patterns: bool = True,
    ) -> None:
        self.index = CanaryIndex(canaries, engine=engine)
        self.limits = limits or DecodeLimits()
        self.patterns = patterns

    def flow(self, rec: FlowRecord) -> MessageResult:
        """Detections in one flow's request (and its client WebSocket messages)."""
        views, issues = MessageDecoder(self.limits).request(rec)
        return MessageResult(self.views(rec.flow_id, views), issues)

    def plaintext(self, record: PlaintextRecord) -> MessageResult:
        """Detections in one TLS plaintext record from the agent (flow id `hook:<seq>`)."""
        views, issues = MessageDecoder(self.limits).message(record.data, "body")
        return MessageResult(self.views(f"hook:{record.seq}", views), issues)

    def views(self, flow_id: str, views: list[View]) -> list[Detection]:
        """Detections in already decoded views of one message."""
        found = self.index.find(views)
        hits = _deepest(found, views)
        out: dict[str, Detection] = {}
        for h in sorted(hits, key=lambda h: -h.confidence):
            self._add(out, flow_id, views, h)
        if self.patterns:
            covered = {(h.view, h.start, h.end) for h in found}
            for p in find_patterns(views):
                if any(vi == p.view and s < p.end and p.start < e for vi, s, e in covered):
                    continue  # already explained by a canary
                self._add_pattern(out, flow_id, views, p)
        return _most_specific(list(out.values()))

    @staticmethod
    def _add(out: dict[str, Detection], flow_id: str, views: list[View], h: Hit) -> None:
        view = views[h.view]
        did = detection_id(flow_id, view.part, h.canary_id, h.encoding, h.method)
        if did not in out:
            out[did] = Detection(
                did,
                flow_id,
                view.part,
                h.data_type,
                h.canary_id,
                h.encoding,
                h.method,
                h.confidence,
                excerpt(view.data, h.start, h.end),
            )

    @staticmethod
    def _add_pattern(out: dict[str, Detection], flow_id: str, views: list[View], p: PatternHit) -> None:
        view = views[p.view]
        part = p.part or view.part
        did = detection_id(flow_id, part, p.data_type, view.encoding, DetectionMethod.PATTERN)
        if did not in out:
            out[did] = Detection(
                did,
                flow_id,
                part,
                p.data_type,
                None,
                view.encoding,
                DetectionMethod.PATTERN,
                p.confidence,
                excerpt(view.data, p.start, p.end),
            )


def _deepest(hits: list[Hit], views: list[View]) -> list[Hit]:
    """Drop a hit in a view that another hit's view was decoded from (same part, same canary).

    A JSON string `a=1&adid=X` is searched whole (chain `json`) and as the form it is (`json>form`); the
    value found in both is one transmission, and the deeper chain says how it was sent.
    """
    groups: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for h in hits:
        groups.setdefault((views[h.view].part, h.canary_id), []).append(views[h.view].chain)
    out = []
    for h in hits:
        chain = views[h.view].chain
        n = len(chain)
        if not any(len(o) > n and o[:n] == chain for o in groups[(views[h.view].part, h.canary_id)]):
            out.append(h)
    return out


def _most_specific(found: list[Detection]) -> list[Detection]:
    """Drop a detection whose chain stops short of another one's for the same item in the same part.

    A base64 fragment matched in a JSON field (`json>base64`) is the same transmission as the value
    found by decoding that field (`json>base64>json`); the longer chain says more.
    """
    chains: dict[tuple[str, str, str | None, str], list[str]] = {}
    for d in found:
        chains.setdefault((d.part, d.data_type, d.canary_id, d.method), []).append(d.encoding)
    out = []
    for d in found:
        others = chains[(d.part, d.data_type, d.canary_id, d.method)]
        if not any(o != d.encoding and o.startswith(d.encoding + ">") for o in others):
            out.append(d)
    return out

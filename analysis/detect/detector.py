"""One session's messages in, `detections` rows out: canaries, runtime values and patterns together.

For each message: decode into views (`analysis.decode`), scan all views once with the canary automaton,
run the pattern rules, and turn hits into `schema.Detection` rows (one per flow, part, data item,
encoding chain and method). Parts that could not be decoded come back as `DecodeIssue`s for that flow.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any

from analysis.decode.bytedance_applog import is_app_log
from analysis.decode.limits import DecodeIssue
from analysis.decode.limits import DecodeLimits
from analysis.decode.views import MessageDecoder
from analysis.decode.views import ValueMemo
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

STREAM_OVERLAP = 4096  # bytes two windows of a streamed body share, at least (a pattern's longest match)
MEMO_REQUESTS = 4096  # distinct requests whose results are kept for identical ones that follow


def detection_id(flow_id: str, part: str, what: str, encoding: str, method: str) -> str:
    """Stable id: the same finding in a re-run gets the same id."""
    key = "\x1f".join((flow_id, part, what, encoding, method)).encode()
    return hashlib.sha256(key).hexdigest()[:20]


@dataclass
class MessageResult:
    """What one message gave."""

    detections: list[Detection] = field(default_factory=list)
    issues: list[DecodeIssue] = field(default_factory=list)
    # The request body's JSON document and its chain when this decoding found it (`MessageDecoder.document`);
    # None when it did not. For an earlier identical request's result the memo keeps no bodies: None, or
    # `(None, chain)` when that request's document was found and is not an app log (the app-log table
    # then has nothing to read, and need not unwrap the body again).
    document: tuple[Any, str] | None = None


class Detector:
    """Canary, runtime-value and pattern detection over one session's messages."""

    def __init__(
        self,
        canaries: list[Canary],
        *,
        engine: str = "auto",
        limits: DecodeLimits | None = None,
        patterns: bool = True,
        memo: int = MEMO_REQUESTS,
    ) -> None:
        self.index = CanaryIndex(canaries, engine=engine)
        self.limits = limits or DecodeLimits()
        self.patterns = patterns
        self.memo_size = memo
        self._memo: OrderedDict[bytes, MessageResult] = OrderedDict()
        self.values = ValueMemo(self.limits)  # values seen in this session's messages (`ValueMemo`)

    def flow(self, rec: FlowRecord) -> MessageResult:
        """Detections in one flow's request (and its client WebSocket messages).

        Apps send the same request again and again (polling, retries, identical beacons). What a
        request gives depends only on what it carries (see `request_key`), so a request seen before
        gets the earlier result with its own flow id, not a second decoding of the same bytes.
        """
        key = request_key(rec) if self.memo_size else b""
        seen = self._memo.get(key) if key else None
        if seen is not None:
            self._memo.move_to_end(key)
            return MessageResult(
                [_for_flow(d, rec.flow_id) for d in seen.detections], list(seen.issues), seen.document
            )
        if len(rec.request_body) > self.limits.stream_from and not _content_coded(rec):
            result = self._streamed(rec)
        else:
            decoder = MessageDecoder(self.limits, self.values)
            views, issues = decoder.request(rec)
            result = MessageResult(self.views(rec.flow_id, views), issues, decoder.document)
        if key:
            doc = result.document
            brief = (None, doc[1]) if doc is not None and not is_app_log(doc[0]) else None
            self._memo[key] = MessageResult(result.detections, result.issues, brief)
            if len(self._memo) > self.memo_size:
                self._memo.popitem(last=False)
        return result

    def _streamed(self, rec: FlowRecord) -> MessageResult:
        """A request whose body is over `limits.stream_from`: everything but the body decoded as usual,
        the body searched as bytes window by window (windows overlap by the longest needle, so no
        occurrence is cut; one found twice is one detection). Only one window is copied at a time."""
        views, issues = MessageDecoder(self.limits, self.values).request(replace(rec, request_body=b""))
        found = {d.detection_id: d for d in self.views(rec.flow_id, views)}
        body, step = rec.request_body, self.limits.stream_window
        overlap = (
            max(STREAM_OVERLAP, *(len(n) for n in self.index.needles))
            if self.index.needles
            else STREAM_OVERLAP
        )
        for start in range(0, len(body), step):
            window = body[start : start + step + overlap]
            for d in self.views(rec.flow_id, [View("body", (), window)]):
                found.setdefault(d.detection_id, d)
        issues.append(
            DecodeIssue(
                "body", "plain", "too-large",
                f"{len(body)} bytes, over {self.limits.stream_from}: searched as bytes in a streaming pass, "
                "not decoded",
            )
        )  # fmt: skip
        return MessageResult(_most_specific(list(found.values())), issues)

    def plaintext(self, record: PlaintextRecord) -> MessageResult:
        """Detections in one TLS plaintext record from the agent (flow id `hook:<seq>`)."""
        views, issues = MessageDecoder(self.limits, self.values).message(record.data, "body")
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


def _content_coded(rec: FlowRecord) -> bool:
    return any(
        name.lower() == "content-encoding" and value.strip().lower() not in ("", "identity")
        for name, value in rec.request_headers
    )


def request_key(rec: FlowRecord) -> bytes:
    """A digest of everything `MessageDecoder.request` reads of a flow: host, path, query, request
    headers, body and client WebSocket messages (not the flow id, times or the response)."""
    h = hashlib.sha256()  # (the machine's SHA instructions make it the fastest hashlib digest here)
    # The text fields in one update, joined by control characters that HTTP's text fields never hold.
    text = "\0\1".join((rec.host, rec.path, rec.query, *(f"{n}\0{v}\0\2" for n, v in rec.request_headers)))
    h.update(text.encode("utf-8", "surrogatepass"))
    h.update(b"\0\3")
    h.update(len(rec.request_body).to_bytes(8, "little"))
    h.update(rec.request_body)
    for m in rec.websocket:
        if m.from_client:
            h.update(len(m.content).to_bytes(8, "little"))
            h.update(m.content)
    return h.digest()


def _for_flow(d: Detection, flow_id: str) -> Detection:
    """A detection of one request as found in an identical request of another flow."""
    if d.flow_id == flow_id:
        return d
    what = d.canary_id if d.method != DetectionMethod.PATTERN else d.data_type
    # (built directly: `dataclasses.replace` was a tenth of the pass over repeated requests)
    return Detection(
        detection_id(flow_id, d.part, what or d.data_type, d.encoding, d.method),
        flow_id, d.part, d.data_type, d.canary_id, d.encoding, d.method, d.confidence, d.excerpt,
    )  # fmt: skip


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

"""`flows.jsonl`: the analysis-ready index of `flows.mitm`, written when the proxy has stopped.

Reading `.mitm` back through mitmproxy is slow (about 2,000 flows/s here), so each session gets one
line per flow in the `flows.jsonl` format (`analysis/flowrecord.py`), which analysis reads many times
faster. It is built once, from the sealed-to-be `flows.mitm`, after mitmdump has stopped: building it
live would cost the proxy time on every flow. A flow cut short by a killed writer is not indexed.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mitmproxy import http
from mitmproxy.flow import Flow
from mitmproxy.io import compat
from mitmproxy.version import FLOW_FORMAT_VERSION

from analysis.errors import PrivlabError
from analysis.schema import FlowRecord
from analysis.session import FLOWS_JSONL
from analysis.session import FLOWS_MITM
from analysis.session import Session
from analysis.session.flows import _tnet
from analysis.session.flows import mitm_records
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


# -- indexing a .mitm fast ---------------------------------------------------------------------------------
#
# Most of the time mitmproxy takes to turn a dump into flows goes to its generic state machinery: every
# field of every connection is type-checked through `typing` introspection, and so is each message. A
# record needs a handful of those fields. `index_range` reads each flow's tnetstring selectively (the
# connection fields privlab does not record are skipped by their length prefix, not parsed) and builds
# the request and response as mitmproxy's own classes with the fields checked here, so every property
# the record reads (`pretty_url`, `pretty_host`, headers) is mitmproxy's code. A flow in any other shape
# (an older format version, a WebSocket, an error, a trailer, a field of an unexpected type) takes the
# full path, `Flow.from_state`, which accepts or rejects it exactly as mitmproxy does. The flows of one
# connection carry the same connection state, which is read once. Fields that are skipped (the flow's
# `backup`, `comment`, marks; connection fields other than peername and sni) are not type-checked: a flow
# mitmproxy would refuse for one of them is indexed here; the evidence, flows.mitm, is the file as given.
# The lines are byte-identical to `record_line(record_from_flow(flow))` over mitmproxy's reader
# (tests/test_import_streaming.py, on every dump in tests/data and a captured session).

_CONN_FIELDS = frozenset({b"peername", b"sni"})
_SKIP_TOP = frozenset({b"backup", b"comment", b"intercepted", b"is_replay", b"marked", b"timestamp_created"})
_REQUEST_KEYS = frozenset(
    {"host", "port", "method", "scheme", "authority", "path", "http_version", "headers", "content",
     "trailers", "timestamp_start", "timestamp_end"}
)  # fmt: skip
_RESPONSE_KEYS = frozenset(
    {"http_version", "status_code", "reason", "headers", "content", "trailers", "timestamp_start",
     "timestamp_end"}
)  # fmt: skip
_VALID_TAGS = frozenset(b",;#^!~]}")


def _span(data: mmap.mmap, i: int) -> tuple[int, int]:
    """(payload start, type-tag offset) of the tnetstring value at `i`."""
    colon = data.find(b":", i, i + 12)
    if colon < 0:
        raise ValueError(f"not a tnetstring: no length prefix at byte {i}")
    return colon + 1, colon + 1 + int(data[i:colon])


def _skip(data: mmap.mmap, i: int) -> int:
    """The offset after the tnetstring value at `i`, without parsing it."""
    _, end = _span(data, i)
    if data[end] not in _VALID_TAGS:
        raise ValueError(f"not a tnetstring: bad type tag at byte {end}")
    return end + 1


def _dict_span(data: mmap.mmap, i: int) -> tuple[int, int]:
    """(first key offset, end offset) of the tnetstring dict at `i`."""
    start, end = _span(data, i)
    if data[end] != ord("}"):
        raise ValueError(f"not a tnetstring dict at byte {i}")
    return start, end


def _is_dict(data: mmap.mmap, i: int) -> bool:
    try:
        _dict_span(data, i)
    except (ValueError, IndexError):
        return False  # parsed in full: mitmproxy's path gives the verdict
    return True


# The flows of one connection carry the same connection state, byte for byte: it is read once.
_conn_memo: dict[bytes, dict[str, Any]] = {}


def _conn_state(data: mmap.mmap, i: int) -> tuple[dict[str, Any], int]:
    """The `peername` and `sni` of a connection's state (the rest skipped), and the next offset."""
    j, end = _dict_span(data, i)
    raw = data[i : end + 1]
    known = _conn_memo.get(raw)
    if known is not None:
        return dict(known), end + 1
    out: dict[str, Any] = {}
    while j < end:
        key, j = _tnet(data, j)
        if isinstance(key, str) and key.encode() in _CONN_FIELDS:
            out[key], j = _tnet(data, j)
        else:
            j = _skip(data, j)
    if len(_conn_memo) > 4096:
        _conn_memo.clear()  # bounded: a worker holds at most a few thousand connections' facts
    _conn_memo[raw] = out
    return dict(out), end + 1


def _flow_state(data: mmap.mmap, i: int) -> tuple[dict[str, Any], int]:
    """A flow's state with what a record needs (connections reduced to peername and sni)."""
    j, end = _dict_span(data, i)
    out: dict[str, Any] = {}
    while j < end:
        key, j = _tnet(data, j)
        name = key.encode() if isinstance(key, str) else b""
        if name in _SKIP_TOP:
            j = _skip(data, j)
        elif name in (b"client_conn", b"server_conn") and _is_dict(data, j):
            out[key], j = _conn_state(data, j)
        else:
            out[key], j = _tnet(data, j)
    return out, end + 1


def _message(cls: type[http.Message], data_cls: type, state: Any, keys: frozenset[str]) -> Any:
    """A Request/Response from its state when every field has the type mitmproxy checks for; else None.

    The conversions are those of `Request.__init__` / `Response.__init__` (a bytes host is IDNA text).
    """
    if type(state) is not dict or state.keys() != keys or state["trailers"] is not None:
        return None
    d = dict(state)
    for k in ("method", "scheme", "authority", "path", "http_version", "reason"):
        if k in d and type(d[k]) is not bytes:
            return None
    if "host" in d:
        if type(d["host"]) is bytes:
            d["host"] = d["host"].decode("idna", "strict")
        elif type(d["host"]) is not str:
            return None
    for k in ("port", "status_code"):
        if k in d and type(d[k]) is not int:
            return None
    if not (d["content"] is None or type(d["content"]) is bytes):
        return None
    if type(d["timestamp_start"]) not in (float, int) or not (
        d["timestamp_end"] is None or type(d["timestamp_end"]) in (float, int)
    ):
        return None
    d["headers"] = http.Headers(d["headers"])  # checks that every name and value is bytes
    message_data: Any = object.__new__(data_cls)
    message_data.__dict__.update(d)
    message = object.__new__(cls)
    message.data = message_data
    return message


def _connection(state: Any) -> SimpleNamespace | None:
    if type(state) is not dict:
        return None
    peer, sni = state.get("peername"), state.get("sni")
    if peer is not None and not (
        type(peer) is list and len(peer) == 2 and type(peer[0]) is str and type(peer[1]) is int
    ):
        return None
    if not (sni is None or type(sni) is str):
        return None
    return SimpleNamespace(peername=tuple(peer) if peer is not None else None, sni=sni)


def light_flow(state: dict[str, Any]) -> http.HTTPFlow | None:
    """The parts of an HTTP flow a record reads, from a flow state in the current format; None otherwise."""
    if (
        state.get("version") != FLOW_FORMAT_VERSION
        or state.get("type") != "http"
        or state.get("websocket") is not None
        or state.get("error") is not None
        or type(state.get("id")) is not str
        or type(state.get("metadata")) is not dict
    ):
        return None
    try:
        request = _message(http.Request, http.RequestData, state.get("request"), _REQUEST_KEYS)
        response = None
        if state.get("response") is not None:
            response = _message(http.Response, http.ResponseData, state["response"], _RESPONSE_KEYS)
            if response is None:
                return None
    except (TypeError, ValueError, UnicodeError):
        return None  # mitmproxy's own path gives this flow's verdict
    client, server = _connection(state.get("client_conn")), _connection(state.get("server_conn"))
    if request is None or client is None or server is None:
        return None
    # An HTTPFlow with the attributes a record reads, without Flow.__init__'s connection objects.
    flow: http.HTTPFlow = object.__new__(http.HTTPFlow)
    flow.__dict__.update(
        id=state["id"], request=request, response=response, client_conn=client, server_conn=server,
        websocket=None, error=None, metadata=state["metadata"],
    )  # fmt: skip
    return flow


def read_flow_fast(data: mmap.mmap, i: int) -> tuple[Flow, int]:
    """The flow at offset `i` (see `light_flow`; any other shape through `Flow.from_state`) and the next offset."""
    state, end = _flow_state(data, i)
    flow = light_flow(state)
    if flow is None:
        full, _ = _tnet(data, i)
        if not isinstance(full, dict):
            raise ValueError("a record is not a flow")
        return Flow.from_state(compat.migrate_flow(full)), end
    return flow, end


@dataclass
class LineFacts:
    """What an import reads of its records besides their lines: the flow ids in order, and the first
    and last request/response time (kept as the lines are made, not found again in 300 MB of them)."""

    ids: list[str] = field(default_factory=list)
    first: float | None = None
    last: float | None = None

    def note(self, rec: FlowRecord) -> None:
        """One record, after those noted before."""
        self.ids.append(rec.flow_id)
        for t in (rec.t_request, rec.t_response):
            if t is not None and t > 0:  # (NaN is not)
                self._time(float(t))

    def extend(self, other: LineFacts) -> None:
        """The facts of the records that follow these."""
        self.ids.extend(other.ids)
        for t in (other.first, other.last):
            if t is not None:
                self._time(t)

    def _time(self, t: float) -> None:
        self.first = t if self.first is None else min(self.first, t)
        self.last = t if self.last is None else max(self.last, t)


@dataclass
class IndexedRange:
    """The flows.jsonl lines of one byte range of a .mitm, how many, their facts, and the damage that
    ended it early."""

    lines: bytes
    count: int
    facts: LineFacts
    damage: str | None


def index_range(path: Path, start: int, end: int) -> IndexedRange:
    """flows.jsonl lines of the HTTP flows in one byte range of a .mitm (whole flows; see `source_ranges`).

    Run in worker processes: bytes cross the process boundary far cheaper than records.
    """
    lines: list[bytes] = []
    facts = LineFacts()
    try:
        for rec in mitm_records(path, start, end, read_flow_fast):
            lines.append(record_line(rec))
            facts.note(rec)
    except PrivlabError as e:
        return IndexedRange(b"".join(lines), len(lines), facts, str(e))
    return IndexedRange(b"".join(lines), len(lines), facts, None)

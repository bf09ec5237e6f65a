"""One mitmproxy flow -> one `schema.FlowRecord`, and the `flows.jsonl` line format.

`record_from_flow` is the only place a flow's facts are taken from mitmproxy objects: the capture
(`capture/flowindex.py`, writing `flows.jsonl` beside `flows.mitm`), imports and analysis all call it,
so every path gives the same record for the same flow.
"""

from __future__ import annotations

import base64
import gc
import json
import mmap
import os
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import fields as dataclass_fields
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import http
from mitmproxy import io as mitm_io
from mitmproxy.exceptions import FlowReadException
from mitmproxy.flow import Flow
from mitmproxy.io import compat

from analysis.errors import PrivlabError
from analysis.jsontext import json_loads
from analysis.schema import FlowRecord
from analysis.schema import WebSocketMessage
from analysis.session import FLOWS_JSONL
from analysis.session import FLOWS_MITM


def _addr(address: Any) -> tuple[str | None, int | None]:
    if not address:
        return None, None
    return str(address[0]), int(address[1])


def display_text(value: str | bytes | None) -> str:
    """The text form of a value taken from the network: valid UTF-8 as is, every other byte as `\\xNN`.

    The app under test chooses these bytes (a `Content-Type` with 0xff, a method with a NUL) and must not
    be able to break the chain with them: mitmproxy hands such text over with lone surrogates
    (`surrogateescape`), which no UTF-8 writer accepts. The escape keeps every byte visible and
    distinct (`\\xff` is not U+FFFD); the bytes themselves stay in `flows.mitm`, the evidence.
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that no byte produced: keep its code units
            raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def _opt_text(value: str | bytes | None) -> str | None:
    return None if value is None else display_text(value)


def _headers(headers: http.Headers | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    return [(display_text(k), display_text(v)) for k, v in headers.fields]


def _bytes(content: bytes | str) -> bytes:
    # Flows upgraded from old dump formats can carry text where bytes are expected.
    return content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")


# Timestamps and status codes come from the file (a HAR may say 1e308): what cannot be a time or a status
# is not one. The latest time any table can hold is the end of year 9999.
_LAST_TIME = 253402300799.0


def _time(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or not (0.0 <= float(value) <= _LAST_TIME):
        return None
    return float(value)


def _status(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and 0 <= value <= 999 else None


def _impossible(req: http.Request, resp: http.Response | None) -> str | None:
    """What a flow's source says that cannot be true (stated in the record's `error`)."""
    bad = []
    if _time(req.timestamp_start) is None:
        bad.append(f"request time {req.timestamp_start!r}")
    if resp is not None and resp.timestamp_end is not None and _time(resp.timestamp_end) is None:
        bad.append(f"response time {resp.timestamp_end!r}")
    if resp is not None and _status(resp.status_code) is None:
        bad.append(f"status {str(resp.status_code)[:30]}")
    return "source holds an impossible " + ", ".join(bad) if bad else None


def record_from_flow(flow: http.HTTPFlow) -> FlowRecord:
    """The analysis-ready record of one HTTP(S) or WebSocket flow."""
    req = flow.request
    resp = flow.response
    impossible = _impossible(req, resp)
    client_ip, client_port = _addr(flow.client_conn.peername)
    server_ip, server_port = _addr(flow.server_conn.peername)
    url = display_text(req.pretty_url)
    split = urlsplit(url)
    ws: list[WebSocketMessage] = []
    if flow.websocket is not None:
        ws = [
            WebSocketMessage(
                t=m.timestamp, from_client=m.from_client, is_text=m.is_text, content=_bytes(m.content)
            )
            for m in flow.websocket.messages
        ]
    return FlowRecord(
        flow_id=flow.id,
        t_request=_time(req.timestamp_start) or 0.0,  # an impossible time: the epoch, and `error` says so
        t_response=_time(resp.timestamp_end) if resp is not None else None,
        client=f"{client_ip}:{client_port}" if client_ip else "",
        server_ip=server_ip,
        server_port=server_port,
        sni=_opt_text(flow.server_conn.sni or flow.client_conn.sni),
        host=display_text(req.pretty_host),
        scheme=display_text(req.scheme),
        http_version=display_text(req.http_version),
        method=display_text(req.method),
        url=url,
        path=split.path,
        query=split.query,
        status=_status(resp.status_code) if resp is not None else None,
        request_headers=_headers(req.headers),
        response_headers=_headers(resp.headers) if resp is not None else [],
        request_body_size=len(req.raw_content or b""),
        response_body_size=len(resp.raw_content or b"") if resp is not None else 0,
        request_content_type=_opt_text(req.headers.get("content-type")),
        response_content_type=_opt_text(resp.headers.get("content-type")) if resp is not None else None,
        via="proxy",
        error=_opt_text(flow.error.msg) if flow.error else impossible,
        phase=_opt_text(flow.metadata.get("privlab.phase")),
        session_id=_opt_text(flow.metadata.get("privlab.session")),
        request_body=req.raw_content or b"",
        websocket=ws,
    )


def record_to_json(rec: FlowRecord) -> dict[str, Any]:
    """The `flows.jsonl` object for a record (bytes as base64, headers as pairs)."""
    d = {k: v for k, v in rec.__dict__.items() if k not in ("request_body", "websocket")}
    d["request_headers"] = [list(h) for h in rec.request_headers]
    d["response_headers"] = [list(h) for h in rec.response_headers]
    d["request_body_b64"] = base64.b64encode(rec.request_body).decode()
    d["websocket"] = [
        {
            "t": m.t,
            "from_client": m.from_client,
            "is_text": m.is_text,
            "content_b64": base64.b64encode(m.content).decode(),
        }
        for m in rec.websocket
    ]
    return d


_RECORD_FIELDS = {f.name for f in dataclass_fields(FlowRecord)}


def record_from_json(d: dict[str, Any]) -> FlowRecord:
    """Inverse of `record_to_json` (`d` is not changed)."""
    if not isinstance(d, dict):  # (a line of JSON that is not an object: callers report TypeError)
        raise TypeError(f"a JSON {type(d).__name__}, not an object")
    # Read once per flow of every analysis: one shallow copy, no per-key filtering.
    fields = d.copy()
    body = fields.pop("request_body_b64", "")
    messages = fields.pop("websocket", ())
    fields["request_headers"] = list(map(tuple, d.get("request_headers", ())))
    fields["response_headers"] = list(map(tuple, d.get("response_headers", ())))
    fields["request_body"] = base64.b64decode(body)
    fields["websocket"] = [
        WebSocketMessage(
            t=m["t"],
            from_client=m["from_client"],
            is_text=m["is_text"],
            content=base64.b64decode(m["content_b64"]),
        )
        for m in messages
    ]
    if fields.keys() != _RECORD_FIELDS:  # an older or damaged record: the constructor fills in or refuses
        return FlowRecord(**fields)
    # Every field present (what `record_to_json` writes): set as they are, without the generated
    # `__init__` (a fifth of reading a record of 27 fields).
    rec = object.__new__(FlowRecord)
    rec.__dict__.update(fields)
    return rec


def record_line(rec: FlowRecord) -> bytes:
    """One `flows.jsonl` line, newline included."""
    return json.dumps(record_to_json(rec), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def read_jsonl(path: Path) -> Iterator[FlowRecord]:
    """Records from a `flows.jsonl`; a torn last line (writer killed) is skipped."""
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                return
            try:
                yield record_from_json(json_loads(line))
            except (ValueError, KeyError, TypeError) as e:
                raise PrivlabError(f"{path}: line {n} is not a flow record ({e})") from None


def read_mitm(path: Path) -> Iterator[http.HTTPFlow]:
    """HTTP flows from a mitmproxy dump; a one-line PrivlabError for files that are not one.

    A flow file cut short (the writer was killed mid-flow) yields every complete flow before the cut.
    """
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise PrivlabError(f"{path}: cannot open ({e.strerror})") from None
    with fh:
        try:
            for flow in mitm_io.FlowReader(fh).stream():
                if isinstance(flow, http.HTTPFlow):
                    yield flow
        except FlowReadException as e:
            msg = str(e).splitlines()[0] if str(e) else "unreadable"
            if "flow format version" in msg:
                raise PrivlabError(f"{path}: flow file too old for this mitmproxy ({msg})") from None
            raise PrivlabError(f"{path}: not a readable mitmproxy flow file ({msg})") from None
        except (ValueError, KeyError, TypeError) as e:
            raise PrivlabError(f"{path}: not a mitmproxy flow file ({type(e).__name__}: {e})") from None
        except RecursionError:
            raise PrivlabError(
                f"{path}: a record is nested too deeply to read (damaged or hostile file)"
            ) from None
        except (MemoryError, OverflowError):
            # mitmproxy allocates what a length prefix says before reading: a huge prefix lands here.
            raise PrivlabError(
                f"{path}: a record's length prefix is larger than this machine can read (damaged or hostile file)"
            ) from None


# -- reading a session's flow files ------------------------------------------------------------


def flow_source(session_dir: Path, warnings: list[str] | None = None, check: bool = True) -> Path | None:
    """The file flows are read from: flows.jsonl if present, else flows.mitm, else None.

    flows.jsonl is the fast form of flows.mitm. The capture addon writes one record to each per flow;
    when flows.jsonl holds fewer (the addon was stopped between the two writes), flows.mitm, the
    evidence, is read instead. `check=False` skips the count, for imports: an imported .mitm may hold
    non-HTTP flows that have no record, and the importer wrote flows.jsonl from the whole file.
    """
    jsonl, mitm = session_dir / FLOWS_JSONL, session_dir / FLOWS_MITM
    if check and jsonl.exists() and mitm.exists():
        with open(jsonl, "rb") as fh:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
        records = len(_mitm_boundaries(mitm))
        if lines < records:
            if warnings is not None:
                warnings.append(
                    f"{jsonl.name} has {lines} records, {mitm.name} {records}: reading {mitm.name}"
                )
            return mitm
        return jsonl
    for p in (jsonl, mitm):
        if p.exists():
            return p
    return None


def read_flows(path: Path) -> Iterator[FlowRecord]:
    """Records from a flows.jsonl or a .mitm file (chosen by name)."""
    if path.suffix == ".jsonl":
        yield from read_jsonl(path)
    else:
        yield from mitm_records(path)


# -- a faster reader of mitmproxy's format -----------------------------------------------------------------
#
# mitmproxy's FlowReader spends most of its time in `tnetstring.load`, which finds each length prefix
# byte by byte in Python. `_tnet` parses the same format by offsets into one buffer; the flows are then
# made exactly as FlowReader makes them (`compat.migrate_flow`, `Flow.from_state`) and recorded by
# `record_from_flow`. Any damage falls back to mitmproxy's own reader for its own error message.

_TNET_INT, _TNET_FLOAT, _TNET_BOOL, _TNET_NULL = ord("#"), ord("^"), ord("!"), ord("~")
_TNET_BYTES, _TNET_STR, _TNET_LIST, _TNET_DICT = ord(","), ord(";"), ord("]"), ord("}")


def _tnet(data: mmap.mmap | bytes, i: int) -> tuple[Any, int]:
    """One tnetstring value at offset `i` (the values `mitmproxy.io.tnetstring` gives) and the next offset."""
    colon = data.find(b":", i, i + 12)
    if colon < 0:
        raise ValueError(f"not a tnetstring: no length prefix at byte {i}")
    start = colon + 1
    end = start + int(data[i:colon])
    tag = data[end]
    if tag == _TNET_DICT:
        d = {}
        j = start
        while j < end:
            key, j = _tnet(data, j)
            d[key], j = _tnet(data, j)
        return d, end + 1
    if tag == _TNET_LIST:
        items = []
        j = start
        while j < end:
            item, j = _tnet(data, j)
            items.append(item)
        return items, end + 1
    raw = data[start:end]
    if tag == _TNET_BYTES:
        return raw, end + 1
    if tag == _TNET_STR:
        return raw.decode("utf8"), end + 1
    if tag == _TNET_INT:
        return int(raw), end + 1
    if tag == _TNET_FLOAT:
        return float(raw), end + 1
    if tag == _TNET_BOOL and raw in (b"true", b"false"):
        return raw == b"true", end + 1
    if tag == _TNET_NULL and not raw:
        return None, end + 1
    raise ValueError(f"not a tnetstring: bad type tag {tag} at byte {end}")


def _read_flow(data: mmap.mmap, i: int) -> tuple[Flow, int]:
    """The flow whose state starts at offset `i`, made as mitmproxy's FlowReader makes it, and the next offset."""
    state, i = _tnet(data, i)
    if not isinstance(state, dict):
        raise ValueError("a record is not a flow")
    return Flow.from_state(compat.migrate_flow(state)), i


def mitm_records(
    path: Path,
    start: int = 0,
    end: int | None = None,
    read_flow: Callable[[mmap.mmap, int], tuple[Flow, int]] = _read_flow,
) -> Iterator[FlowRecord]:
    """Records of the HTTP flows in a .mitm file (or a byte range of one that holds whole flows).

    `read_flow` makes each flow (capture/flowindex.py passes a faster one that gives the same records)."""
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise PrivlabError(f"{path}: cannot open ({e.strerror})") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            stop = size if end is None else end
            if data[:1] == b"{" or data[:4] == b"\xef\xbb\xbf{":
                # A HAR handed to a .mitm reader: mitmproxy's reader knows that case.
                yield from (record_from_flow(f) for f in read_mitm(path))
                return
            i = start
            done = 0
            while i < stop:
                try:
                    flow, i = read_flow(data, i)
                except (
                    ValueError,
                    TypeError,
                    IndexError,
                    KeyError,
                    RecursionError,
                    MemoryError,
                    OverflowError,
                ) as e:
                    if done == 0 and start == 0 and stop >= size:
                        yield from (record_from_flow(f) for f in read_mitm(path))
                        return
                    raise PrivlabError(
                        f"{path}: not a readable mitmproxy flow file after {done} flows ({e})"
                    ) from None
                done += 1
                if isinstance(flow, http.HTTPFlow):
                    yield record_from_flow(flow)


# -- reading a flows file in parallel ranges --------------------------------------------------------------

PARALLEL_MIN_BYTES = 8 * 1024 * 1024  # below this, one process is faster than starting workers
# Work in parallel ends when its slowest worker does: with a few large ranges the others sat idle for
# most of the last one (seconds, at 100k flows on two cores). Many small ranges keep that tail short.
RANGES_PER_WORKER = 16


def workers() -> int:
    """Processes to use for a large session: the cores this process may run on (at most 4).

    `PRIVLAB_WORKERS=N` overrides it (1 on a machine shared with other heavy work, where more processes
    only add overhead). The result never depends on this: ranges are processed and joined in file order.
    """
    override = os.environ.get("PRIVLAB_WORKERS", "")
    if override.isdigit() and int(override) > 0:
        return int(override)
    return max(1, min(4, len(os.sched_getaffinity(0))))


# A worker makes millions of short-lived objects (records, decoded views, parsed bodies), almost none in a
# reference cycle; at the default threshold (700) the cyclic collector ran every few hundred of them and
# took a tenth of the pass. Memory is still freed by reference counting as soon as an object is unused.
WORKER_GC_THRESHOLD = 50_000


def start_worker() -> None:
    """A pool worker's initializer: the cyclic garbage collector runs far less often (see above)."""
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


def worker_pool(n: int) -> ProcessPoolExecutor:
    """`n` fresh worker processes (`spawn`: no locks or threads are inherited from the caller)."""
    return ProcessPoolExecutor(n, mp_context=get_context("spawn"), initializer=start_worker)


def _mitm_boundaries(path: Path) -> list[int]:
    """Offsets where each top-level record of a mitmproxy dump (a tnetstring: `len:payload` + type) starts."""
    offsets = []
    size = path.stat().st_size
    with open(path, "rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            head = fh.read(12)
            colon = head.find(b":")
            if colon <= 0 or not head[:colon].isdigit():
                break  # damaged: the last range ends here and its reader reports the damage
            offsets.append(pos)
            pos += colon + 1 + int(head[:colon]) + 1
    return offsets


def _jsonl_boundaries(path: Path, parts: int) -> list[int]:
    size = path.stat().st_size
    offsets = [0]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            fh.seek(max(size * k // parts, offsets[-1]))
            fh.readline()
            if fh.tell() >= size:
                break
            if fh.tell() > offsets[-1]:
                offsets.append(fh.tell())
    return offsets


def source_ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """`parts` byte ranges of a flows.jsonl or .mitm file that each hold whole records, in order."""
    size = path.stat().st_size
    if path.suffix == ".jsonl":
        cuts = _jsonl_boundaries(path, parts)
    else:
        starts = _mitm_boundaries(path)
        cuts = [starts[len(starts) * k // parts] for k in range(parts)] if starts else [0]
    cuts = sorted(set(cuts))
    return [(a, b) for a, b in zip(cuts, [*cuts[1:], size], strict=True) if b > a]


def read_range(path: Path, start: int, end: int) -> list[FlowRecord]:
    """The records in one byte range of a flows file (see `source_ranges`)."""
    if path.suffix == ".jsonl":
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start)
        out = []
        for n, line in enumerate(data.splitlines(keepends=True), 1):
            if not line.endswith(b"\n"):
                break  # a torn last line: the writer was killed
            try:
                out.append(record_from_json(json_loads(line)))
            except (ValueError, KeyError, TypeError) as e:
                raise PrivlabError(
                    f"{path}: record {n} after byte {start} is not a flow record ({e})"
                ) from None
        return out
    records: list[FlowRecord] = []
    try:
        records.extend(mitm_records(path, start, end))
    except PrivlabError:
        if not records:
            raise
    return records


def jsonl_range(path: Path, start: int, end: int) -> tuple[bytes, int]:
    """The `flows.jsonl` lines of one byte range of a flows file, and how many (serialised in the worker:
    bytes cross the process boundary far cheaper than records)."""
    records = read_range(path, start, end)
    return b"".join(record_line(r) for r in records), len(records)


def map_ranges[T](path: Path, fn: Callable[..., T], *args: Any) -> Iterator[tuple[int, int, T]]:
    """`fn(path, start, end, *args)` over the file's record ranges in worker processes, results in order.

    Workers start fresh (`spawn`): no locks or threads are inherited from the caller (a progress bar).
    If the pool cannot run (no semaphores, a worker killed), the remaining ranges run in this process.
    """
    n = workers()
    ranges = source_ranges(path, n * RANGES_PER_WORKER)
    done = 0
    if n > 1:
        try:
            with worker_pool(n) as pool:
                futures = [pool.submit(fn, path, a, b, *args) for a, b in ranges]
                for (a, b), fut in zip(ranges, futures, strict=True):
                    result = fut.result()
                    done += 1
                    yield a, b, result
        except (BrokenProcessPool, OSError):
            pass  # no worker pool here (no semaphores, a worker killed): the loop below runs the rest
    for a, b in ranges[done:]:
        yield a, b, fn(path, a, b, *args)


def use_workers(path: Path) -> bool:
    """Whether a flows file is large enough, and the machine has the cores, to read it in parallel."""
    return workers() > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES

"""Raw session files -> records and Arrow tables (`flows`, `hook_events`).

Flows come from `flows.jsonl` when the session has it (written live by the capture addon, or by
`privlab import`: the analysis-ready form, many times faster to read than mitmproxy's own format), else
from `flows.mitm` through mitmproxy's reader and `record_from_flow`. Both give the same records.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pyarrow as pa
from mitmproxy import http
from mitmproxy.flow import Flow
from mitmproxy.io import compat

from analysis.errors import PrivlabError
from analysis.flowrecord import read_jsonl
from analysis.flowrecord import read_mitm
from analysis.flowrecord import record_from_flow
from analysis.flowrecord import record_from_json
from analysis.flowrecord import record_line
from analysis.schema import FLOWS
from analysis.schema import HOOK_EVENTS
from analysis.schema import FlowRecord
from analysis.schema import HookEvent
from analysis.session import FLOWS_JSONL
from analysis.session import FLOWS_MITM
from analysis.session import HOOKS_JSONL


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


def hooks_source(session_dir: Path) -> Path | None:
    p = session_dir / HOOKS_JSONL
    return p if p.exists() else None


def read_hooks(path: Path) -> Iterator[HookEvent]:
    """Events from a hooks.jsonl; a torn last line (the runner was killed) is skipped."""
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                return
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                yield HookEvent(
                    seq=int(d.get("seq", n - 1)),
                    t=float(d["t"]),
                    pid=int(d.get("pid", 0)),
                    tid=int(d.get("tid", 0)),
                    category=str(d.get("category", "")),
                    api=str(d.get("api", "")),
                    args=list(d.get("args") or []),
                    ret=d.get("ret"),
                    stack=[str(s) for s in d.get("stack") or []],
                    sdk=d.get("sdk"),
                    entity=d.get("entity"),
                )
            except (ValueError, KeyError, TypeError) as e:
                raise PrivlabError(f"{path}: line {n} is not a hook event ({e})") from None


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


def mitm_records(path: Path, start: int = 0, end: int | None = None) -> Iterator[FlowRecord]:
    """Records of the HTTP flows in a .mitm file (or a byte range of one that holds whole flows)."""
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
                    state, i = _tnet(data, i)
                    if not isinstance(state, dict):
                        raise ValueError("a record is not a flow")
                    flow = Flow.from_state(compat.migrate_flow(state))
                except (ValueError, TypeError, IndexError, KeyError) as e:
                    if done == 0 and start == 0:
                        yield from (record_from_flow(f) for f in read_mitm(path))
                        return
                    raise PrivlabError(
                        f"{path}: not a readable mitmproxy flow file after {done} flows ({e})"
                    ) from None
                done += 1
                if isinstance(flow, http.HTTPFlow):
                    yield record_from_flow(flow)


def _times(values: list[float | None]) -> pa.Array:
    micros = [None if v is None else round(v * 1_000_000) for v in values]
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _headers(rows: list[list[tuple[str, str]]]) -> list[list[dict[str, str]]]:
    return [[{"name": k, "value": v} for k, v in h] for h in rows]


def flows_table(records: Iterable[FlowRecord]) -> pa.Table:
    """The `flows` table (schema.FLOWS) of some records: every column is the record field of its name."""
    recs = list(records)
    special: dict[str, pa.Array | list[object]] = {
        "t_request": _times([r.t_request for r in recs]),
        "t_response": _times([r.t_response for r in recs]),
        "request_headers": _headers([r.request_headers for r in recs]),
        "response_headers": _headers([r.response_headers for r in recs]),
        "websocket_messages": [len(r.websocket) for r in recs],
    }
    arrays = []
    for f in FLOWS:
        col = special[f.name] if f.name in special else [getattr(r, f.name) for r in recs]
        arrays.append(col if isinstance(col, pa.Array) else pa.array(col, type=f.type))
    return pa.Table.from_arrays(arrays, schema=FLOWS)


def hook_events_table(events: Iterable[HookEvent]) -> pa.Table:
    """The `hook_events` table (schema.HOOK_EVENTS); args and ret as JSON text."""
    evs = list(events)
    arrays = [
        pa.array([e.seq for e in evs], pa.int64()),
        _times([e.t for e in evs]),
        pa.array([e.pid for e in evs], pa.int64()),
        pa.array([e.tid for e in evs], pa.int64()),
        pa.array([e.category for e in evs], pa.string()),
        pa.array([e.api for e in evs], pa.string()),
        pa.array([json.dumps(e.args, ensure_ascii=False) for e in evs], pa.string()),
        pa.array([json.dumps(e.ret, ensure_ascii=False) for e in evs], pa.string()),
        pa.array([e.stack for e in evs], pa.list_(pa.string())),
        pa.array([e.sdk for e in evs], pa.string()),
        pa.array([e.entity for e in evs], pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=HOOK_EVENTS)


# -- reading a flows file in parallel ranges --------------------------------------------------------------

PARALLEL_MIN_BYTES = 8 * 1024 * 1024  # below this, one process is faster than starting workers


def workers() -> int:
    """Processes to use for a large session: the cores this process may run on (at most 4).

    `PRIVLAB_WORKERS=N` overrides it (1 on a machine shared with other heavy work, where more processes
    only add overhead). The result never depends on this: ranges are processed and joined in file order.
    """
    override = os.environ.get("PRIVLAB_WORKERS", "")
    if override.isdigit() and int(override) > 0:
        return int(override)
    return max(1, min(4, len(os.sched_getaffinity(0))))


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
                out.append(record_from_json(json.loads(line)))
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
    ranges = source_ranges(path, n * 4)
    done = 0
    if n > 1:
        try:
            with ProcessPoolExecutor(n, mp_context=get_context("spawn")) as pool:
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

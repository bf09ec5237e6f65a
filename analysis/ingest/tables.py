"""Raw session files -> records and Arrow tables (`flows`, `hook_events`).

Flows come from `flows.jsonl` when the session has it (written live by the capture addon, or by
`privlab import`: the analysis-ready form, many times faster to read than mitmproxy's own format), else
from `flows.mitm` through mitmproxy's reader and `record_from_flow`. Both give the same records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path

import pyarrow as pa

from analysis.errors import PrivlabError
from analysis.schema import FLOWS
from analysis.schema import HEADERS
from analysis.schema import HOOK_EVENTS
from analysis.schema import FlowRecord
from analysis.schema import HookEvent
from analysis.session import HOOKS_JSONL
from analysis.vocabulary import canonical_category


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
                    # One spelling per category: sessions from older agents wrote "installed-apps".
                    category=canonical_category(str(d.get("category", ""))),
                    api=str(d.get("api", "")),
                    args=list(d.get("args") or []),
                    ret=d.get("ret"),
                    stack=[str(s) for s in d.get("stack") or []],
                    sdk=d.get("sdk"),
                    entity=d.get("entity"),
                )
            except (ValueError, KeyError, TypeError) as e:
                raise PrivlabError(f"{path}: line {n} is not a hook event ({e})") from None


def _times(values: list[float | None]) -> pa.Array:
    micros = [None if v is None else round(v * 1_000_000) for v in values]
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _headers(rows: list[list[tuple[str, str]]]) -> pa.Array:
    """Header lists as `schema.HEADERS`, built from flat name and value columns (not a dict per header)."""
    offsets = [0]
    for h in rows:
        offsets.append(offsets[-1] + len(h))
    pairs = HEADERS.value_type
    names = pa.array([k for h in rows for k, _ in h], pairs.field("name").type)
    values = pa.array([v for h in rows for _, v in h], pairs.field("value").type)
    return pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), pa.StructArray.from_arrays([names, values], fields=list(pairs))
    )


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
    plain = [f.name for f in FLOWS if f.name not in special]
    # every plain column at once: one attrgetter call per record, not a getattr per field
    columns = dict(zip(plain, zip(*map(attrgetter(*plain), recs), strict=True), strict=True)) if recs else {}
    arrays = []
    for f in FLOWS:
        col = special[f.name] if f.name in special else list(columns.get(f.name, ()))
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

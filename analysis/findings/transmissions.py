"""Transmission findings: one data type sent to one entity in one country in one phase, with exhibits."""

from __future__ import annotations

import itertools
import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.attribute.geo import SCOPE_PLACE
from analysis.findings.access import _access_event
from analysis.findings.access import _delay
from analysis.findings.access import _Hook
from analysis.findings.access import _linked_access
from analysis.findings.access import runtime_seq
from analysis.findings.frames import CHUNK_ROWS
from analysis.findings.frames import _epochs
from analysis.findings.frames import _headers
from analysis.findings.frames import _int
from analysis.findings.frames import _list
from analysis.findings.frames import _pylist
from analysis.findings.frames import _text
from analysis.findings.frames import _texts
from analysis.findings.frames import short_id
from analysis.findings.frames import table
from analysis.findings.model import JURISDICTION_RANK
from analysis.findings.model import MAX_ACCESS_EVENTS
from analysis.findings.model import MAX_EXHIBITS
from analysis.findings.model import Exhibit
from analysis.findings.model import Finding
from analysis.findings.phases import PHASE_AFTER
from analysis.findings.phases import PHASE_BEFORE
from analysis.findings.phases import PHASE_REFUSED
from analysis.findings.phases import PHASE_WITHDRAWN
from analysis.findings.phases import _phase_rank
from analysis.schema import DESTINATIONS
from analysis.schema import FLOWS
from analysis.vocabulary import HookCategory


@dataclass(frozen=True)
class _Dest:
    entity: str
    parent: str | None
    party: str
    jurisdiction: str
    hq_country: str | None
    ip_country: dict[str, str]  # ip -> geolocated country


def _destinations(df: pd.DataFrame) -> dict[str, _Dest]:
    out: dict[str, _Dest] = {}
    for r in df.itertuples(index=False):
        host = _text(r.host)
        if not host:
            continue
        ips = [str(i) for i in _list(r.ips)]
        countries = [str(c) if c is not None else "" for c in _list(r.ip_countries)]
        out[host.lower()] = _Dest(
            entity=_text(r.entity) or _text(r.etld1) or host,
            parent=_text(r.parent),
            party=_text(r.party) or "unknown",
            jurisdiction=_text(r.jurisdiction) or "unknown",
            hq_country=_text(r.hq_country),
            ip_country={ip: c for ip, c in zip(ips, countries, strict=False) if c},
        )
    return out


def _country(dest: _Dest | None, server_ip: str | None) -> str:
    """Where the data went: the geolocated country of the server IP the flow used."""
    if dest is None:
        return "unknown"
    if server_ip and server_ip in dest.ip_country:
        return dest.ip_country[server_ip]
    distinct = sorted(set(dest.ip_country.values()))
    return distinct[0] if len(distinct) == 1 else "unknown"


def flow_custody(
    custody_lines: Iterable[bytes | str], flows: Collection[str] | None = None
) -> dict[str, dict[str, Any]]:
    """flow id -> the custody record of its raw bytes in flows.mitm (seq, file, offset, length, sha256).

    `flows` limits the output to the flows asked for (a live 1M-flow session has a record per flow).
    """
    out: dict[str, dict[str, Any]] = {}
    for line in custody_lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a torn last line; `privlab verify` reports it
        if not isinstance(rec, dict) or rec.get("kind") != "flow" or "ref" not in rec:
            continue
        if not all(type(rec.get(k)) is int for k in ("seq", "offset", "length")):
            continue  # a record no writer makes (a float, a string, inf); `privlab verify` names it
        if flows is not None and str(rec["ref"]) not in flows:
            continue
        out.setdefault(
            str(rec["ref"]),
            {k: rec.get(k) for k in ("seq", "file", "offset", "length", "sha256")},
        )
    return out


_JSONL_ID = re.compile(rb'\{"flow_id":"([^"\n]*)"')  # a record's start (matched at a line's start)
_JSONL_NEXT_ID = re.compile(rb'\n\{"flow_id":"([^"\n]*)"')  # the start of every record after the first


_JSONL_BLOCK = 8 * 1024 * 1024  # bytes of flows.jsonl searched at a time


def _jsonl_records(fh: BinaryIO, flows: set[str] | None) -> Iterator[tuple[int, str, bytes]]:
    """(offset, flow id, line with its newline) of each record of a flows.jsonl whose id is in `flows`
    (every record when None); a torn last line is a record too.

    Record starts are searched in blocks of the file, not read line by line: a 100k-flow file is ~1 GB,
    and only the asked-for lines (an exhibit's few dozen) are copied out.
    """
    if flows is not None and not flows:
        return
    first_id, next_id = _JSONL_ID, _JSONL_NEXT_ID
    if flows is not None:  # only the asked-for ids match: the scan stays in C, whatever the file's length
        wanted = b"|".join(re.escape(f.encode()) for f in sorted(flows))
        first_id = re.compile(rb'\{"flow_id":"(' + wanted + rb')"')
        next_id = re.compile(rb'\n\{"flow_id":"(' + wanted + rb')"')
    base, carry = 0, b""  # `carry`: the partial last line of the previous block
    while True:
        block = fh.read(_JSONL_BLOCK)
        buf = carry + block
        cut = len(buf) if not block else buf.rfind(b"\n") + 1  # complete lines only, but all at the end
        region = memoryview(buf)[:cut]
        first = first_id.match(buf, 0, cut)
        starts = itertools.chain(
            [(0, first.group(1))] if first else [],
            ((m.start() + 1, m.group(1)) for m in next_id.finditer(buf, 0, cut)),
        )
        for start, fid_raw in starts:
            end = buf.find(b"\n", start, cut)
            yield base + start, fid_raw.decode(), bytes(region[start : cut if end < 0 else end + 1])
        if not block:
            return
        base, carry = base + cut, buf[cut:]


def imported_flow_custody(
    custody_lines: Iterable[bytes | str], jsonl: Path, flows: set[str] | None = None
) -> dict[str, dict[str, Any]]:
    """flow id -> where an imported flow's record lies in flows.jsonl, and the custody record covering it.

    An import appends flows.jsonl in large chunks, each under one custody record (kind `flow-records`),
    not one record a flow as a live capture does; without this every exhibit of an imported session
    said "no custody record" although its bytes are covered. The line's own offset, length and sha256
    let a reader check the exhibit against the file; `seq` names the chunk's record. `flows` limits the
    scan's output to the flows asked for.
    """
    import hashlib

    chunks: list[tuple[int, int, int]] = []  # (offset, end, seq) of each flows.jsonl record
    for line in custody_lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("kind") == "flow-records" and rec.get("file") == jsonl.name:
            off, length = rec.get("offset"), rec.get("length")
            if isinstance(off, int) and isinstance(length, int):
                chunks.append((off, off + length, int(rec.get("seq", -1))))
    if not chunks or not jsonl.exists():
        return {}
    chunks.sort()
    out: dict[str, dict[str, Any]] = {}
    k = 0
    with open(jsonl, "rb") as fh:
        for start, fid, raw in _jsonl_records(fh, flows):
            while k < len(chunks) and chunks[k][1] <= start:
                k += 1
            if k < len(chunks) and chunks[k][0] <= start and start + len(raw) <= chunks[k][1]:
                out.setdefault(
                    fid,
                    {
                        "seq": chunks[k][2],
                        "file": jsonl.name,
                        "offset": start,
                        "length": len(raw),
                        "sha256": hashlib.sha256(raw).hexdigest(),
                    },
                )
    return out


# The flow columns findings are built from: the rest (url, headers, ...) is read for exhibits only.
FLOW_COLUMNS = ("flow_id", "t_request", "host", "sni", "server_ip", "client", "server_port", "via",
                "error", "request_body_size")  # fmt: skip


def _hashes(ids: Sequence[str]) -> np.ndarray:
    """64-bit hashes of flow ids (pandas' hash: the same on every run)."""
    return pd.util.hash_array(np.array(ids, dtype=object))


@dataclass
class _Flows:
    """Each flow's id, time and receiver as columns, not a Python object per flow (1M-flow sessions).

    A flow id is looked up by binary search in the ids' sorted hashes, confirmed by comparing the ids:
    Arrow's `index_in` hashed a 1M-id table again for every chunk of detections (~75 MB each time).
    """

    ids: pa.StringArray
    hashes: np.ndarray  # uint64: `_hashes(ids)`
    t: np.ndarray  # epoch seconds (as `frames._epochs` gives them), NaN where missing
    receiver: np.ndarray  # int32: the flow's (host, server IP) in `receivers`
    receivers: list[tuple[str, str | None]]  # (host, else SNI, lower case, else ""; server IP)
    _order: np.ndarray = field(init=False)  # row numbers in the order of their hashes
    _sorted: np.ndarray = field(init=False)  # the hashes in that order
    # The ids last row first when a hash is given twice (an id a hand-made table repeats, or a clash).
    _last_first: pa.StringArray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._order = np.argsort(self.hashes, kind="stable")
        self._sorted = self.hashes[self._order]
        if len(self) > 1 and (self._sorted[1:] == self._sorted[:-1]).any():
            self._last_first = self.ids[::-1]

    def __len__(self) -> int:
        return len(self.ids)

    def numbers(self, fids: Sequence[str]) -> np.ndarray:
        """Each flow id's row in the table (of an id given twice, the last row, as a dict from id to
        row would have it), -1 for an id not there."""
        values = pa.array(fids, pa.string())
        if self._last_first is not None:
            found = pc.index_in(values, value_set=self._last_first)
            j = pc.fill_null(found, -1).to_numpy().astype(np.int64)
            return np.where(j < 0, -1, len(self) - 1 - j)
        if not len(self):
            return np.full(len(fids), -1, np.int64)
        at = np.minimum(np.searchsorted(self._sorted, _hashes(fids)), len(self) - 1)
        rows = self._order[at]
        same = pc.equal(values, self.ids.take(pa.array(rows))).to_numpy(zero_copy_only=False)
        return np.where(same, rows, -1)

    def id_list(self, numbers: np.ndarray) -> list[str]:
        """The flow ids of these rows."""
        return [str(x) for x in self.ids.take(pa.array(numbers)).to_pylist()]


def _flow_columns(flows: pd.DataFrame) -> _Flows:
    """`_Flows` of a flows frame, read a chunk of rows at a time."""
    receivers: dict[tuple[str, str | None], int] = {}
    ids, hashes, times, codes = [], [], [], []
    for start in range(0, len(flows), CHUNK_ROWS):
        part = flows.iloc[start : start + CHUNK_ROWS]
        hosts = [
            (h or sn or "").lower() for h, sn in zip(_texts(part["host"]), _texts(part["sni"]), strict=True)
        ]
        keys = zip(hosts, _texts(part["server_ip"]), strict=True)
        codes.append(np.array([receivers.setdefault(k, len(receivers)) for k in keys], np.int32))
        times.append(np.array([math.nan if t is None else t for t in _epochs(part["t_request"])], np.float64))
        fids = [str(x) for x in _pylist(part["flow_id"])]
        ids.append(pa.array(fids, pa.string()))
        hashes.append(_hashes(fids))
    return _Flows(
        ids=pa.concat_arrays(ids) if ids else pa.array([], pa.string()),
        hashes=np.concatenate(hashes) if hashes else np.array([], np.uint64),
        t=np.concatenate(times) if times else np.array([], np.float64),
        receiver=np.concatenate(codes) if codes else np.array([], np.int32),
        receivers=list(receivers),
    )


@dataclass
class _Group:
    """The detections of one transmission finding, gathered a chunk at a time."""

    data_type: str
    entity: str
    country: str
    phase: str
    serial: int  # the group's number, in the order groups were first seen
    dests: list[_Dest] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    numbers: array[int] = field(default_factory=lambda: array("q"))  # per detection: its flow's number
    canary_ids: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    encodings: set[str] = field(default_factory=set)
    confidence: float | None = None  # the highest given
    # Set by `finish`: the group's flows in time order (then id), and their times.
    flow_ids: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def note(self, canary_id: str | None, method: str | None, encoding: str | None, confidence: Any) -> None:
        """One detection's canary, method, encoding and confidence."""
        if canary_id:
            self.canary_ids.add(str(canary_id))
        if method:
            self.methods.add(str(method))
        if encoding:
            self.encodings.add(str(encoding))
        if _text(confidence):
            c = float(confidence)
            self.confidence = c if self.confidence is None else max(self.confidence, c)

    def finish(
        self, ids: Callable[[np.ndarray], list[str]], times: Callable[[np.ndarray], list[float]]
    ) -> None:
        """Turn the detections' flow numbers into the group's flows, sorted by time, then id."""
        numbers = np.unique(np.frombuffer(self.numbers, dtype=np.int64))
        ordered = sorted(zip(times(numbers), ids(numbers), strict=True))
        self.times = [t for t, _ in ordered]
        self.flow_ids = [fid for _, fid in ordered]
        self.numbers = array("q")


def _group_order(key: tuple[str, str, str, str]) -> tuple[str, str, str, int]:
    """Data type, entity, country, then phases in the order they happen (not alphabetically)."""
    return (key[0], key[1], key[2], _phase_rank(key[3]))


def _renumber(e: Exhibit, n: int) -> Exhibit:
    return Exhibit(**{**asdict(e), "ref": f"E-{n}", "request_headers": e.request_headers})


def _exhibit_flows(g: _Group) -> list[tuple[str, float]]:
    """(flow id, time) of the flows a finding's exhibits cite: its earliest, at most MAX_EXHIBITS."""
    return list(zip(g.flow_ids[:MAX_EXHIBITS], g.times[:MAX_EXHIBITS], strict=True))


def _transmission(
    g: _Group,
    best: Mapping[str, Mapping[str, Any]],
    flow_row: Callable[[str], Any],
    hooks: Sequence[_Hook],
    canary_values: Mapping[str, str],
    hashes: Mapping[str, Mapping[str, Any]],
) -> Finding:
    """The finding of a group; `best` is, per exhibit flow, its most confident detection of the group."""
    times = g.times
    canary_ids = sorted(g.canary_ids)
    worst = max(g.dests, key=lambda d: JURISDICTION_RANK.get(d.jurisdiction, 2), default=None)
    parent = next((d.parent for d in g.dests if d.parent), None)
    party = worst.party if worst else "unknown"
    exhibits = [
        _exhibit(fid, t, SimpleNamespace(**best[fid]), flow_row(fid), hashes.get(fid))
        for fid, t in _exhibit_flows(g)
    ]

    linked, link = _linked_access(
        g.data_type,
        times[-1],
        hooks,
        [canary_values[c] for c in canary_ids if c in canary_values],
        [q for q in (runtime_seq(c) for c in canary_ids) if q is not None],
    )
    access = [_access_event(h, link, _delay(h.t, times)) for h in linked[:MAX_ACCESS_EVENTS]]
    sdk = Counter(h.sdk for h in linked if h.sdk).most_common(1)
    fid_key = short_id("transmission", g.data_type, g.entity, g.country, g.phase)
    return Finding(
        finding_id=f"T-{fid_key}",
        kind="transmission",
        data_type=g.data_type,
        entity=g.entity,
        parent=parent,
        country=g.country,
        jurisdiction=worst.jurisdiction if worst else "unknown",
        party=party,
        hosts=sorted(g.hosts),
        phase=g.phase,
        first_seen=times[0],
        last_seen=times[-1],
        count=len(g.flow_ids),
        flow_ids=g.flow_ids,
        access_seqs=[h.seq for h in linked],
        sdk=sdk[0][0] if sdk else None,
        apis=sorted({h.api for h in linked}),
        methods=sorted(g.methods),
        encodings=sorted(g.encodings),
        canary_ids=canary_ids,
        confidence=1.0 if g.confidence is None else g.confidence,
        exhibits=exhibits,
        access=access,
    )


def _exhibit(fid: str, t: float, det: Any, fr: Any, custody: Mapping[str, Any] | None) -> Exhibit:
    """An exhibit from a detection and its flow row (None for plaintext a hook captured)."""
    flow = fr if fr is not None else SimpleNamespace(
        method=None, url=None, host=None, server_ip=None, status=None, http_version=None, via="hook",
        request_headers=None,
    )  # fmt: skip
    return Exhibit(
        ref="",
        flow_id=fid,
        t=t,
        method=_text(flow.method) or "",
        url=_text(flow.url) or "",
        host=_text(flow.host) or "",
        server_ip=_text(flow.server_ip),
        status=_int(flow.status),
        http_version=_text(flow.http_version) or "",
        via=_text(flow.via) or "proxy",
        part=_text(det.part) or "",
        data_type=_text(det.data_type) or "",
        encoding=_text(det.encoding) or "",
        detection_method=_text(det.method) or "",
        confidence=float(det.confidence) if _text(det.confidence) else 1.0,
        canary_id=_text(det.canary_id),
        excerpt=_text(det.excerpt) or "",
        request_headers=_headers(flow.request_headers),
        custody=dict(custody) if custody else None,
    )


def summary_sentence(f: Finding, consent_recorded: bool = True) -> str:
    """The finding in one plain sentence (the report's summary).

    `consent_recorded`: whether the session holds a consent mark. Without one (an imported capture, a
    session whose operator marked nothing) "before consent" would claim what nobody observed: that no
    consent had been given. The sentence then says that none was recorded.
    """
    dtype = f.data_type.replace("_", " ")
    when = {
        PHASE_BEFORE: "before consent" if consent_recorded else "with no consent decision recorded",
        PHASE_AFTER: "after consent",
        PHASE_REFUSED: "after consent was refused",
        PHASE_WITHDRAWN: "after consent was withdrawn",
    }.get(f.phase, f.phase)
    times = "once" if f.count == 1 else f"{f.count} times"
    if f.kind == "access":
        sent = " and later sent" if f.related else "; no transmission of it was detected"
        if f.access and all(a.category == HookCategory.WATCH for a in f.access):
            # A watched method (the operator's list): what was handed to it, not a read of a device API.
            sent = ", and it was later sent" if f.related else "; no transmission of it was detected"
            held = (
                f" holding {len(f.canary_ids)} planted value(s) ({', '.join(f.canary_ids)})"
                if f.canary_ids
                else ""
            )
            return f"{f.entity} handed data{held} to the watched method {', '.join(f.apis)} {times} {when}{sent}."
        return f"{f.entity} read the {dtype} {times} {when}{sent}."
    if f.country in SCOPE_PLACE:
        where = f"at {SCOPE_PLACE[f.country]}"
    else:
        where = f"in {f.country}" if f.country != "unknown" else "in an unknown country"
    read = ""
    if f.access:
        first = f.access[0]
        verb = "was handed it" if first.category == HookCategory.WATCH else "read it"
        read = f", after {first.api} {verb}"
        if first.delay_s is not None:
            read += f" {first.delay_s:.1f} s earlier"
    return f"The {dtype} was sent to {f.entity} {where} {times} {when}{read}."


def flow_destinations(tables: Any) -> pd.DataFrame:
    """One row per flow: flow_id, t, host, entity, country, jurisdiction, bytes sent, via.

    The same attribution the findings use (entity from `destinations`, country of the server IP the
    flow used), as a frame for charts and notebooks.
    """
    parts = list(flow_destination_parts(tables))
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def flow_destination_parts(tables: Any, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """`flow_destinations` as frames of at most `rows` flows each (at least one frame, maybe empty).

    The findings stage writes them as they come: a 1M-flow session's rows in Python lists at once were
    most of a gigabyte.
    """
    flows = table(tables, "flows", FLOWS, FLOW_COLUMNS)
    dests = _destinations(table(tables, "destinations", DESTINATIONS))
    attributed: dict[tuple[str, str | None], tuple[str, str, str]] = {}
    for start in range(0, max(len(flows), 1), rows):
        yield _flow_receivers(flows.iloc[start : start + rows], dests, attributed)


def _flow_receivers(
    flows: pd.DataFrame,
    dests: Mapping[str, _Dest],
    attributed: dict[tuple[str, str | None], tuple[str, str, str]],
) -> pd.DataFrame:
    """`flow_destinations` of some flows; `attributed` caches (entity, country, jurisdiction) per host and IP."""
    hosts = [
        (h or sn or "").lower() for h, sn in zip(_texts(flows["host"]), _texts(flows["sni"]), strict=True)
    ]
    ips = _texts(flows["server_ip"])
    entity, country, jurisdiction = [], [], []
    for host, ip in zip(hosts, ips, strict=True):
        a = attributed.get((host, ip))
        if a is None:
            dest = dests.get(host)
            a = attributed[(host, ip)] = (
                dest.entity if dest else (host or "unknown"),
                _country(dest, ip),
                dest.jurisdiction if dest else "unknown",
            )
        entity.append(a[0])
        country.append(a[1])
        jurisdiction.append(a[2])
    return pd.DataFrame(
        {
            "flow_id": [str(x) for x in _pylist(flows["flow_id"])],
            "t": _epochs(flows["t_request"]),
            "host": [h or "unknown" for h in hosts],
            "entity": entity,
            "country": country,
            "jurisdiction": jurisdiction,
            "bytes_sent": [_int(x) or 0 for x in _pylist(flows["request_body_size"])],
            "via": [v or "proxy" for v in _texts(flows["via"])],
        },
        columns=["flow_id", "t", "host", "entity", "country", "jurisdiction", "bytes_sent", "via"],
    )

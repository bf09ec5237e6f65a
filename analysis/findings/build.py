"""Findings of a session: transmissions and accesses from its tables, and their table form."""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.attribute.bytedance_layers import coverage_notes
from analysis.findings.access import ACCESS_CATEGORIES
from analysis.findings.access import _access_findings
from analysis.findings.access import _Hook
from analysis.findings.access import _hooks
from analysis.findings.app_events import event_clause
from analysis.findings.app_events import finding_purpose
from analysis.findings.coverage import DetectionTotals
from analysis.findings.coverage import _coverage
from analysis.findings.coverage import registry_coverage
from analysis.findings.frames import CHUNK_ROWS
from analysis.findings.frames import Chunks
from analysis.findings.frames import _pylist
from analysis.findings.frames import _text_values
from analysis.findings.frames import frame_chunks
from analysis.findings.frames import held
from analysis.findings.frames import table
from analysis.findings.model import Coverage
from analysis.findings.model import Finding
from analysis.findings.phases import consent_transitions
from analysis.findings.phases import phase_at
from analysis.findings.provisions import provisions_for
from analysis.findings.rows import findings_table
from analysis.findings.transmissions import FLOW_COLUMNS
from analysis.findings.transmissions import _country
from analysis.findings.transmissions import _Dest
from analysis.findings.transmissions import _destinations
from analysis.findings.transmissions import _exhibit_flows
from analysis.findings.transmissions import _flow_columns
from analysis.findings.transmissions import _Flows
from analysis.findings.transmissions import _Group
from analysis.findings.transmissions import _group_order
from analysis.findings.transmissions import _renumber
from analysis.findings.transmissions import _transmission
from analysis.findings.transmissions import flow_custody
from analysis.findings.transmissions import imported_flow_custody
from analysis.findings.transmissions import summary_sentence
from analysis.schema import APP_EVENTS
from analysis.schema import BYTEDANCE_LAYERS
from analysis.schema import DESTINATIONS
from analysis.schema import DETECTIONS
from analysis.schema import FLOWS
from analysis.schema import HOOK_EVENTS
from analysis.schema import PACKETS
from analysis.schema import Canary
from analysis.session import CUSTODY
from analysis.session import FLOWS_JSONL
from analysis.session import TLS_FAILURES_JSONL
from analysis.session import Session
from analysis.session import read_jsonl_records
from analysis.session.derived import read_rows
from analysis.session.derived import table_chunks

# What an exhibit cites of its flow and of its app-log entries (read for the exhibits' flows alone).
EXHIBIT_FLOWS = ("flow_id", "method", "url", "host", "server_ip", "status", "http_version", "via",
                 "request_headers")  # fmt: skip
EXHIBIT_EVENTS = ("flow_id", "part", "event", "local_time")
# The detection columns that group detections into findings; the exhibits' pass reads every column.
_GROUPING = ("flow_id", "data_type", "canary_id", "method", "encoding", "confidence")
# The exhibits' pass reads every detection column, and looks up only the few exhibit flows: small chunks.
_EXHIBIT_ROWS = 16_384
# The bytedance_layers columns the coverage notes read (`attribute.bytedance_layers.coverage_notes`).
LAYER_COLUMNS = ("host", "path", "ttencrypt", "signatures_decoded", "signatures_opaque", "opaque")
_HOOK_RECEIVER = "unknown (seen in plaintext hook)"

_GroupKey = tuple[str, str, str, str]  # data type, entity, country, phase


@dataclass(frozen=True)
class ExhibitSource:
    """What findings cite only for their exhibits' flows, read for those flows alone.

    A 100k-flow session's urls, header lists and million app-log entries are most of a gigabyte in
    pandas, and exhibits cite a few dozen flows: the findings stage reads the tables without them and
    asks here. Each callable takes the exhibits' flow ids.
    """

    flows: Callable[[Collection[str]], Mapping[str, Mapping[str, Any]]]  # flow id -> its EXHIBIT_FLOWS
    app_events: Callable[[Collection[str]], pd.DataFrame]  # the app-log entries of these flows
    custody: Callable[[Collection[str]], Mapping[str, Mapping[str, Any]]]  # flow id -> custody record


def _flow_rows(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """flow id -> its EXHIBIT_FLOWS as Python values (of an id given twice, the last row)."""
    cols = {c: _pylist(df[c]) if c in df.columns else [None] * len(df) for c in EXHIBIT_FLOWS}
    return {str(fid): {c: cols[c][i] for c in EXHIBIT_FLOWS} for i, fid in enumerate(cols["flow_id"])}


def _tables_exhibit_source(tables: Any, flow_hashes: Mapping[str, Mapping[str, Any]]) -> ExhibitSource:
    """Exhibits' rows from the tables themselves (tables held in memory)."""
    flows = table(tables, "flows", FLOWS, EXHIBIT_FLOWS)
    events = table(tables, "app_events", APP_EVENTS)
    return ExhibitSource(
        flows=lambda ids: _flow_rows(flows[flows["flow_id"].isin(list(ids))]),
        app_events=lambda ids: events[events["flow_id"].isin(list(ids))],
        custody=lambda ids: flow_hashes,
    )


def build_findings(
    tables: Any,
    session_meta: Mapping[str, Any],
    *,
    canaries: Sequence[Canary] = (),
    tls_failures: Sequence[Mapping[str, Any]] = (),
    flow_hashes: Mapping[str, Mapping[str, Any]] | None = None,
    exhibit_source: ExhibitSource | None = None,
    detections: Chunks | None = None,
) -> tuple[list[Finding], Coverage]:
    """Turn the tables into findings and the coverage statement.

    `tables` is any object (or mapping) holding `flows`, `hook_events`, `detections`, `destinations`
    and `packets` DataFrames with the columns of `analysis.schema`. `session_meta` is session.json.
    `canaries` link hook events to transmitted values; `tls_failures` are the lines of
    tls_failures.jsonl; `flow_hashes` maps a flow id to its custody record (`flow_custody`).
    `exhibit_source`, when given, supplies the exhibits' flow rows (url, headers, ...), app-log
    entries and custody records (then `flows` needs only `transmissions.FLOW_COLUMNS`, and `tables`
    no app_events). `detections`, when given, are read from it a chunk at a time instead of from
    `tables` (twice: to group them, then for the exhibits' detections).
    Findings come back in a stable order: transmissions, then accesses, each by data type, entity,
    country, phase.
    """
    flows = table(tables, "flows", FLOWS, FLOW_COLUMNS)
    hooks = _hooks(table(tables, "hook_events", HOOK_EVENTS))
    packets = table(tables, "packets", PACKETS)
    marks = [m for m in (session_meta.get("marks") or []) if isinstance(m, Mapping)]
    transitions = consent_transitions(marks)
    child = any("child" in str(m.get("label", "")).lower() for m in marks)
    source = exhibit_source or _tables_exhibit_source(tables, flow_hashes or {})
    chunks = detections or frame_chunks(table(tables, "detections", DETECTIONS))

    dests = _destinations(table(tables, "destinations", DESTINATIONS))
    groups, group_of, totals = _group_detections(chunks, _flow_columns(flows), dests, hooks, transitions)
    best = _exhibit_detections(chunks, groups.values(), group_of)
    del group_of

    canary_values = {c.id: c.value for c in canaries if c.value}
    order = sorted(groups, key=_group_order)
    cited = {fid for key in order for fid, _ in _exhibit_flows(groups[key])}
    rows = source.flows(cited)
    app_events = source.app_events(cited)  # names the app-log event that carried a value
    hashes = {**(flow_hashes or {}), **source.custody(cited)}

    def flow_row(fid: str) -> Any:
        row = rows.get(fid)
        return None if row is None else SimpleNamespace(**row)

    findings: list[Finding] = []
    for key in order:
        g = groups[key]
        findings.append(_transmission(g, best.get(g.serial, {}), flow_row, hooks, canary_values, hashes))
    reads = [h for h in hooks if h.category.lower() in ACCESS_CATEGORIES]
    findings.extend(_access_findings(reads, transitions, findings, canary_values))
    exhibit_no = 0
    for f in findings:
        numbered = []
        for e in f.exhibits:
            exhibit_no += 1
            numbered.append(_renumber(e, exhibit_no))
        f.exhibits = numbered
        f.provisions = provisions_for(f, child)
        f.summary = summary_sentence(f, consent_recorded=bool(transitions)) + event_clause(f, app_events)
        f.endpoint_purpose = finding_purpose(f)

    coverage = _coverage(flows, totals, hooks, packets, session_meta, canaries, tls_failures, transitions)
    coverage.notes.extend(coverage_notes(table(tables, "bytedance_layers", BYTEDANCE_LAYERS)))
    registry_coverage(coverage, table(tables, "destinations", DESTINATIONS))
    return findings, coverage


def _group_detections(
    chunks: Chunks,
    flows: _Flows,
    dests: Mapping[str, _Dest],
    hooks: Sequence[_Hook],
    transitions: Sequence[tuple[float, str, str]],
) -> tuple[dict[_GroupKey, _Group], array[int], DetectionTotals]:
    """Detections grouped into transmission findings, a chunk at a time, and their totals.

    Also returns, per detection row, the serial of its group (-1: in none: its flow is unknown or
    has no time). A flow is known by its row number in `flows`; plaintext a Frida hook saw (flow id
    `hook:<seq>`) by a number after them.
    """
    hooks_by_seq = {h.seq: h for h in hooks}
    groups: dict[_GroupKey, _Group] = {}
    group_of = array("i")
    totals = DetectionTotals()
    n = len(flows)
    # Per (host, server IP) of the flows: (host, destination, entity, country), attributed once.
    receivers: list[tuple[str, _Dest | None, str, str] | None] = [None] * len(flows.receivers)
    hook_numbers: dict[str, int] = {}
    hook_times: list[float] = []
    for chunk in chunks(_GROUPING, CHUNK_ROWS):
        totals.add(chunk)
        fids = [str(x) for x in chunk["flow_id"]]
        rows = flows.numbers(fids)
        found = rows >= 0
        at = np.where(found, rows, 0)
        times = np.where(found, flows.t[at], np.nan) if n else np.full(len(rows), np.nan)
        codes = np.where(found, flows.receiver[at], -1) if n else np.full(len(rows), -1)
        columns = (
            fids, _text_values(chunk["data_type"]), rows.tolist(), times.tolist(), codes.tolist(),
            _text_values(chunk["canary_id"]), _text_values(chunk["method"]),
            _text_values(chunk["encoding"]), chunk["confidence"],
        )  # fmt: skip
        for fid, dtype, number, t, code, canary_id, method, encoding, confidence in zip(
            *columns, strict=True
        ):
            if number >= 0:
                if math.isnan(t):
                    group_of.append(-1)
                    continue
                r = receivers[code]
                if r is None:
                    host, ip = flows.receivers[code]
                    dest = dests.get(host)
                    entity = dest.entity if dest else (host or "unknown")
                    r = receivers[code] = (host, dest, entity, _country(dest, ip))
                host, dest, entity, country = r
            elif fid.startswith("hook:") and fid[5:].isdigit() and int(fid[5:]) in hooks_by_seq:
                # Plaintext seen by a Frida hook (e.g. before TLS): the receiver is not known from the hook.
                hook = hooks_by_seq[int(fid[5:])]
                t, host, dest, entity, country = hook.t, "", None, _HOOK_RECEIVER, "unknown"
                if fid not in hook_numbers:
                    hook_numbers[fid] = n + len(hook_times)
                    hook_times.append(t)
                number = hook_numbers[fid]
            else:
                group_of.append(-1)
                continue
            key = (dtype or "unknown", entity, country, phase_at(t, transitions))
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Group(*key, serial=len(groups))
            if dest is not None and dest not in g.dests:
                g.dests.append(dest)
            if host:
                g.hosts.add(host)
            g.numbers.append(number)
            g.note(canary_id, method, encoding, confidence)
            group_of.append(g.serial)

    hook_ids = list(hook_numbers)

    def ids(numbers: np.ndarray) -> list[str]:
        hooked = [hook_ids[k - n] for k in numbers[numbers >= n].tolist()]
        return flows.id_list(numbers[numbers < n]) + hooked

    def times_of(numbers: np.ndarray) -> list[float]:
        return flows.t[numbers[numbers < n]].tolist() + [
            hook_times[k - n] for k in numbers[numbers >= n].tolist()
        ]

    for g in groups.values():
        g.finish(ids, times_of)
    return groups, group_of, totals


def _exhibit_detections(
    chunks: Chunks, groups: Iterable[_Group], group_of: Sequence[int]
) -> dict[int, dict[str, dict[str, Any]]]:
    """Per group serial: each exhibit flow's most confident detection of the group (the first by
    detection id among equals), as a row of every detection column."""
    wanted = {(g.serial, fid) for g in groups for fid, _ in _exhibit_flows(g)}
    if not wanted:
        return {}
    cited = pa.array(sorted({fid for _, fid in wanted}), pa.string())
    best: dict[tuple[int, str], tuple[float, str, dict[str, Any]]] = {}
    start = 0
    for chunk in chunks(DETECTIONS.names, _EXHIBIT_ROWS):
        fids = [str(x) for x in chunk["flow_id"]]
        hits = pc.is_in(pa.array(fids, pa.string()), value_set=cited).to_numpy(zero_copy_only=False)
        for j in np.flatnonzero(hits).tolist():
            key = (group_of[start + j], fids[j])
            if key not in wanted:
                continue
            c, did = float(chunk["confidence"][j] or 0), str(chunk["detection_id"][j])
            cur = best.get(key)
            if cur is None or c > cur[0] or (c == cur[0] and did < cur[1]):
                best[key] = (c, did, {name: values[j] for name, values in chunk.items()})
        start += len(fids)
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for (serial, fid), (_, _, row) in best.items():
        out.setdefault(serial, {})[fid] = row
    return out


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame with the columns of `schema.FINDINGS` (exhibits and access nested)."""
    return findings_table(findings).to_pandas()


def session_findings(session: Session, tables: Any) -> tuple[list[Finding], Coverage]:
    """`build_findings` with what it needs read from the session folder (meta, canaries, custody).

    Custody records are looked up for the exhibits' flows only; the exhibits' flow rows and app-log
    entries come from `tables` when it holds them, else from the session's derived tables (`read_tables`
    with `leave_out`, as the findings stage reads a large session). When `tables` holds no detections,
    the session's detections table is read a chunk of rows at a time.
    """
    streamed = None if held(tables, "detections") is not None else table_chunks(session.path, "detections")
    return build_findings(
        tables,
        session.meta,
        canaries=session.canaries(),
        tls_failures=read_jsonl_records(session.path / TLS_FAILURES_JSONL),
        exhibit_source=exhibit_source(session, tables),
        detections=streamed,
    )


def exhibit_source(session: Session, tables: Any) -> ExhibitSource:
    """The exhibits' flow rows, app-log entries and custody records, from `tables` or the session folder."""
    path = session.path
    flows = held(tables, "flows")
    events = held(tables, "app_events")

    def flow_rows(ids: Collection[str]) -> Mapping[str, Mapping[str, Any]]:
        if flows is not None and all(c in flows.columns for c in EXHIBIT_FLOWS):
            return _flow_rows(flows[flows["flow_id"].isin(list(ids))])
        return _flow_rows(read_rows(path, "flows", ids, EXHIBIT_FLOWS))

    def app_events(ids: Collection[str]) -> pd.DataFrame:
        if events is not None:
            return events[events["flow_id"].isin(list(ids))]
        return read_rows(path, "app_events", ids, EXHIBIT_EVENTS)

    def custody(ids: Collection[str]) -> Mapping[str, Mapping[str, Any]]:
        file = path / CUSTODY
        if not file.exists():
            return {}
        wanted = set(ids)
        with open(file, "rb") as lines:  # a line at a time: a live session has a record per flow
            hashes = flow_custody(lines, wanted)
        if session.status == "imported":
            # Imported flows are covered chunk by chunk (capture/import_.py), not one record a flow.
            with open(file, "rb") as lines:
                hashes = {**imported_flow_custody(lines, path / FLOWS_JSONL, wanted), **hashes}
        return hashes

    return ExhibitSource(flow_rows, app_events, custody)

"""Findings of a session: transmissions and accesses from its tables, and their table form."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pandas as pd

from analysis.attribute.bytedance_layers import coverage_notes
from analysis.findings.access import ACCESS_CATEGORIES
from analysis.findings.access import _access_findings
from analysis.findings.access import _hooks
from analysis.findings.app_events import event_clause
from analysis.findings.app_events import finding_purpose
from analysis.findings.coverage import _coverage
from analysis.findings.coverage import registry_coverage
from analysis.findings.frames import _epochs
from analysis.findings.frames import _pylist
from analysis.findings.frames import _texts
from analysis.findings.frames import table
from analysis.findings.model import Coverage
from analysis.findings.model import Finding
from analysis.findings.phases import consent_transitions
from analysis.findings.phases import phase_at
from analysis.findings.provisions import provisions_for
from analysis.findings.rows import findings_table
from analysis.findings.transmissions import _country
from analysis.findings.transmissions import _Dest
from analysis.findings.transmissions import _destinations
from analysis.findings.transmissions import _exhibit_flows
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

# What an exhibit cites of its flow beside the flows table's own columns, and of its app-log entries.
EXHIBIT_HEADERS = ("flow_id", "request_headers")
EXHIBIT_EVENTS = ("flow_id", "part", "event", "local_time")


@dataclass(frozen=True)
class ExhibitSource:
    """What findings cite only for their exhibits' flows, read for those flows alone.

    A 100k-flow session's header lists and million app-log entries are most of a gigabyte in pandas,
    and exhibits cite a few dozen flows: the findings stage reads the tables without them and asks here.
    Each callable takes the exhibits' flow ids.
    """

    request_headers: Callable[[Collection[str]], Mapping[str, Any]]  # flow id -> its request headers
    app_events: Callable[[Collection[str]], pd.DataFrame]  # the app-log entries of these flows
    custody: Callable[[Collection[str]], Mapping[str, Mapping[str, Any]]]  # flow id -> custody record


def build_findings(
    tables: Any,
    session_meta: Mapping[str, Any],
    *,
    canaries: Sequence[Canary] = (),
    tls_failures: Sequence[Mapping[str, Any]] = (),
    flow_hashes: Mapping[str, Mapping[str, Any]] | None = None,
    exhibit_source: ExhibitSource | None = None,
) -> tuple[list[Finding], Coverage]:
    """Turn the tables into findings and the coverage statement.

    `tables` is any object (or mapping) holding `flows`, `hook_events`, `detections`, `destinations`
    and `packets` DataFrames with the columns of `analysis.schema`. `session_meta` is session.json.
    `canaries` link hook events to transmitted values; `tls_failures` are the lines of
    tls_failures.jsonl; `flow_hashes` maps a flow id to its custody record (`flow_custody`).
    `exhibit_source`, when given, supplies the request headers, app-log entries and custody records
    of the exhibits' flows (then `flows` need not hold header lists, nor `tables` app_events).
    Findings come back in a stable order: transmissions, then accesses, each by data type, entity,
    country, phase.
    """
    flows = table(tables, "flows", FLOWS)
    detections = table(tables, "detections", DETECTIONS)
    hooks_df = table(tables, "hook_events", HOOK_EVENTS)
    dests = _destinations(table(tables, "destinations", DESTINATIONS))
    packets = table(tables, "packets", PACKETS)
    marks = [m for m in (session_meta.get("marks") or []) if isinstance(m, Mapping)]
    transitions = consent_transitions(marks)
    child = any("child" in str(m.get("label", "")).lower() for m in marks)
    hashes = flow_hashes or {}

    # Column lists, not itertuples: a 100k-flow session must stay well inside a minute.
    fl_ids = [str(x) for x in _pylist(flows["flow_id"])]
    fl_t = _epochs(flows["t_request"])
    fl_host = [
        (h or sn or "").lower() for h, sn in zip(_texts(flows["host"]), _texts(flows["sni"]), strict=True)
    ]
    fl_ip = _texts(flows["server_ip"])
    flow_index = {fid: i for i, fid in enumerate(fl_ids)}

    exhibit_headers: Mapping[str, Any] = {}

    def flow_row(fid: str) -> Any:
        i = flow_index.get(fid)
        if i is None:
            return None
        row = SimpleNamespace(**{str(k): v for k, v in flows.iloc[i].to_dict().items()})
        if exhibit_source is not None:
            row.request_headers = exhibit_headers.get(fid)
        return row

    hooks = _hooks(hooks_df)
    hooks_by_seq = {h.seq: h for h in hooks}
    groups: dict[tuple[str, str, str, str], _Group] = {}
    dest_key: dict[tuple[str, str | None], tuple[_Dest | None, str, str]] = {}

    # A group holds its detections' row numbers: a SimpleNamespace per detection was most of the
    # findings stage's memory on a session with 400k of them. Rows are read back per group.
    det_fids = [str(x) for x in _pylist(detections["flow_id"])]
    det_types = _texts(detections["data_type"])
    for k, (fid, dtype) in enumerate(zip(det_fids, det_types, strict=True)):
        dtype = dtype or "unknown"
        i = flow_index.get(fid)
        if i is not None:
            t = fl_t[i]
            host = fl_host[i]
            cached = dest_key.get((host, fl_ip[i]))
            if cached is None:
                dest = dests.get(host)
                cached = dest_key[(host, fl_ip[i])] = (
                    dest,
                    dest.entity if dest else (host or "unknown"),
                    _country(dest, fl_ip[i]),
                )
            dest, entity, country = cached
        elif fid.startswith("hook:") and fid[5:].isdigit() and int(fid[5:]) in hooks_by_seq:
            # Plaintext seen by a Frida hook (e.g. before TLS): the receiver is not known from the hook.
            hk = hooks_by_seq[int(fid[5:])]
            t, host, dest, entity, country = hk.t, "", None, "unknown (seen in plaintext hook)", "unknown"
        else:
            continue
        if t is None:
            continue
        key = (dtype, entity, country, phase_at(t, transitions))
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(*key)
        if dest is not None and dest not in g.dests:
            g.dests.append(dest)
        if host:
            g.hosts.add(host)
        g.flows.setdefault(fid, t)
        g.detections.append(k)

    canary_values = {c.id: c.value for c in canaries if c.value}
    order = sorted(groups, key=_group_order)
    app_events = table(tables, "app_events", APP_EVENTS)  # names the app-log event that carried a value
    if exhibit_source is not None:
        cited = {fid for key in order for fid, _ in _exhibit_flows(groups[key])}
        exhibit_headers = exhibit_source.request_headers(cited)
        app_events = exhibit_source.app_events(cited)
        hashes = {**hashes, **exhibit_source.custody(cited)}
    findings: list[Finding] = []
    for key in order:
        findings.append(_transmission(groups[key], detections, flow_row, hooks, canary_values, hashes))
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
        f.summary = summary_sentence(f) + event_clause(f, app_events)
        f.endpoint_purpose = finding_purpose(f)

    coverage = _coverage(flows, detections, hooks, packets, session_meta, canaries, tls_failures, transitions)
    coverage.notes.extend(coverage_notes(table(tables, "bytedance_layers", BYTEDANCE_LAYERS)))
    registry_coverage(coverage, table(tables, "destinations", DESTINATIONS))
    return findings, coverage


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame with the columns of `schema.FINDINGS` (exhibits and access nested)."""
    return findings_table(findings).to_pandas()


def session_findings(session: Session, tables: Any) -> tuple[list[Finding], Coverage]:
    """`build_findings` with what it needs read from the session folder (meta, canaries, custody).

    Custody records are looked up for the exhibits' flows only; request headers and app-log entries
    come from `tables` when it holds them, else from the session's derived tables (`read_tables` with
    `leave_out`, as the findings stage reads a large session).
    """
    return build_findings(
        tables,
        session.meta,
        canaries=session.canaries(),
        tls_failures=read_jsonl_records(session.path / TLS_FAILURES_JSONL),
        exhibit_source=exhibit_source(session, tables),
    )


def exhibit_source(session: Session, tables: Any) -> ExhibitSource:
    """The exhibits' headers, app-log entries and custody records, from `tables` or the session folder."""
    path = session.path
    flows = getattr(tables, "flows", None)
    events = getattr(tables, "app_events", None)

    def request_headers(ids: Collection[str]) -> Mapping[str, Any]:
        if flows is not None and "request_headers" in flows.columns:
            rows = flows[flows["flow_id"].isin(list(ids))][list(EXHIBIT_HEADERS)]
        else:
            rows = read_rows(path, "flows", ids, EXHIBIT_HEADERS)
        return dict(zip(rows["flow_id"], rows["request_headers"], strict=True))

    def app_events(ids: Collection[str]) -> pd.DataFrame:
        if events is not None:
            return events[events["flow_id"].isin(list(ids))]
        return read_rows(path, "app_events", ids, EXHIBIT_EVENTS)

    def custody(ids: Collection[str]) -> Mapping[str, Mapping[str, Any]]:
        file = path / CUSTODY
        lines = file.read_bytes().splitlines() if file.exists() else []
        hashes = {fid: rec for fid, rec in flow_custody(lines).items() if fid in ids}
        if session.status == "imported":
            # Imported flows are covered chunk by chunk (capture/import_.py), not one record a flow.
            wanted = set(ids)
            hashes = {**imported_flow_custody(lines, path / FLOWS_JSONL, wanted), **hashes}
        return hashes

    return ExhibitSource(request_headers, app_events, custody)

"""Findings of a session: transmissions and accesses from its tables, and their table form."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
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
from analysis.findings.frames import _columns
from analysis.findings.frames import _epochs
from analysis.findings.frames import _pylist
from analysis.findings.frames import _text
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


def build_findings(
    tables: Any,
    session_meta: Mapping[str, Any],
    *,
    canaries: Sequence[Canary] = (),
    tls_failures: Sequence[Mapping[str, Any]] = (),
    flow_hashes: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Finding], Coverage]:
    """Turn the tables into findings and the coverage statement.

    `tables` is any object (or mapping) holding `flows`, `hook_events`, `detections`, `destinations`
    and `packets` DataFrames with the columns of `analysis.schema`. `session_meta` is session.json.
    `canaries` link hook events to transmitted values; `tls_failures` are the lines of
    tls_failures.jsonl; `flow_hashes` maps a flow id to its custody record (`flow_custody`).
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

    def flow_row(fid: str) -> Any:
        i = flow_index.get(fid)
        return (
            None if i is None else SimpleNamespace(**{str(k): v for k, v in flows.iloc[i].to_dict().items()})
        )

    hooks = _hooks(hooks_df)
    hooks_by_seq = {h.seq: h for h in hooks}
    groups: dict[tuple[str, str, str, str], _Group] = {}
    dest_key: dict[tuple[str, str | None], tuple[_Dest | None, str, str]] = {}

    dc = _columns(detections, DETECTIONS.names)
    for k in range(len(detections)):
        d = SimpleNamespace(**{n: dc[n][k] for n in DETECTIONS.names})
        fid = str(d.flow_id)
        dtype = _text(d.data_type) or "unknown"
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
        g.detections.append((t, fid, d))

    canary_values = {c.id: c.value for c in canaries if c.value}
    findings: list[Finding] = []
    for key in sorted(groups, key=_group_order):
        findings.append(_transmission(groups[key], flow_row, hooks, canary_values, hashes))
    reads = [h for h in hooks if h.category.lower() in ACCESS_CATEGORIES]
    findings.extend(_access_findings(reads, transitions, findings, canary_values))
    exhibit_no = 0
    app_events = table(tables, "app_events", APP_EVENTS)  # names the app-log event that carried a value
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
    """`build_findings` with what it needs read from the session folder (meta, canaries, custody)."""
    custody = session.path / CUSTODY
    lines = custody.read_bytes().splitlines() if custody.exists() else []
    hashes = flow_custody(lines)
    if session.status == "imported":
        # Imported flows are covered chunk by chunk (capture/import_.py), not one record a flow.
        hashes = {**imported_flow_custody(lines, session.path / FLOWS_JSONL), **hashes}
    return build_findings(
        tables,
        session.meta,
        canaries=session.canaries(),
        tls_failures=read_jsonl_records(session.path / TLS_FAILURES_JSONL),
        flow_hashes=hashes,
    )

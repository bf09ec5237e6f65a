"""Findings, coverage and per-flow receivers as Arrow tables and back: the one place they change shape.

`privlab analyze` writes `findings_table`, `coverage_table` and `flow_destinations_table` to derived/;
the report and the notebooks read them back with `findings_from_table` and `coverage_from_table`.
Values go through Arrow's own Python conversion (`to_pylist`), so a missing value is None and a list is
a list: no NaN/NA guards downstream. Times are TIME columns (microseconds, UTC) in Parquet and epoch
seconds in the records, converted by `seconds` / `micros` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from analysis.findings.model import AccessEvent
from analysis.findings.model import Coverage
from analysis.findings.model import Exhibit
from analysis.findings.model import Finding
from analysis.findings.model import Provision
from analysis.schema import COVERAGE
from analysis.schema import FINDINGS
from analysis.schema import FLOW_DESTINATIONS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(t: float | None) -> int | None:
    """Epoch seconds -> integer microseconds (the TIME column's unit)."""
    return None if t is None else round(t * 1_000_000)


def seconds(v: datetime | None) -> float | None:
    """A TIME value as Arrow gives it back -> epoch seconds, the same float `frames.epochs` computes."""
    if v is None:
        return None
    d = v - _EPOCH
    return ((d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds) / 1_000_000


# -- findings ---------------------------------------------------------------------------------------------


def _exhibit_row(e: Exhibit) -> dict[str, Any]:
    return {
        "ref": e.ref, "flow_id": e.flow_id, "t": micros(e.t), "method": e.method, "url": e.url,
        "host": e.host, "server_ip": e.server_ip, "status": e.status, "http_version": e.http_version,
        "via": e.via, "part": e.part, "data_type": e.data_type, "encoding": e.encoding,
        "detection_method": e.detection_method, "confidence": e.confidence, "canary_id": e.canary_id,
        "excerpt": e.excerpt, "request_headers": [{"name": n, "value": v} for n, v in e.request_headers],
        "custody": dict(e.custody) if e.custody is not None else None,
    }  # fmt: skip


def _access_row(a: AccessEvent) -> dict[str, Any]:
    return {
        "seq": a.seq, "t": micros(a.t), "api": a.api, "category": a.category, "data_type": a.data_type,
        "sdk": a.sdk, "entity": a.entity, "value": a.value, "stack_top": list(a.stack_top), "link": a.link,
        "delay_s": a.delay_s,
    }  # fmt: skip


def _finding_row(f: Finding) -> dict[str, Any]:
    return {
        "finding_id": f.finding_id, "kind": f.kind, "data_type": f.data_type, "entity": f.entity,
        "country": f.country, "phase": f.phase, "first_seen": micros(f.first_seen),
        "last_seen": micros(f.last_seen), "count": f.count, "flow_ids": f.flow_ids,
        "access_seqs": f.access_seqs, "sdk": f.sdk, "parent": f.parent, "jurisdiction": f.jurisdiction,
        "party": f.party, "hosts": f.hosts, "apis": f.apis, "methods": f.methods, "encodings": f.encodings,
        "canary_ids": f.canary_ids, "confidence": f.confidence,
        "exhibits": [_exhibit_row(e) for e in f.exhibits], "access": [_access_row(a) for a in f.access],
        "related": f.related,
        "provisions": [{"instrument": p.instrument, "article": p.article, "note": p.note} for p in f.provisions],
        "summary": f.summary, "endpoint_purpose": f.endpoint_purpose,
    }  # fmt: skip


def _with_times(schema: pa.Schema) -> pa.Schema:
    """The schema with every TIME (also nested) as int64 microseconds, to build from `micros` values."""

    def swap(t: pa.DataType) -> pa.DataType:
        if pa.types.is_timestamp(t):
            return pa.int64()
        if pa.types.is_list(t):
            return pa.list_(swap(t.value_type))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, swap(f.type), f.nullable) for f in t])
        return t

    return pa.schema([pa.field(f.name, swap(f.type), f.nullable) for f in schema])


def findings_table(findings: Sequence[Finding]) -> pa.Table:
    """The findings as a `schema.FINDINGS` table: every field, exhibits and access events nested."""
    raw = pa.Table.from_pylist([_finding_row(f) for f in findings], schema=_with_times(FINDINGS))
    return raw.cast(FINDINGS)


def _exhibit(r: Mapping[str, Any]) -> Exhibit:
    return Exhibit(
        **{
            **r,
            "t": seconds(r["t"]),
            "request_headers": tuple((h["name"], h["value"]) for h in r["request_headers"]),
        }
    )


def _access(r: Mapping[str, Any]) -> AccessEvent:
    return AccessEvent(**{**r, "t": seconds(r["t"]), "stack_top": tuple(r["stack_top"])})


def findings_from_table(table: pa.Table) -> list[Finding]:
    """`findings_table` read back: the same `Finding` records, in the same order."""
    out: list[Finding] = []
    for r in table.select(FINDINGS.names).to_pylist():
        out.append(
            Finding(
                **{
                    **r,
                    "first_seen": seconds(r["first_seen"]),
                    "last_seen": seconds(r["last_seen"]),
                    "exhibits": [_exhibit(e) for e in r["exhibits"]],
                    "access": [_access(a) for a in r["access"]],
                    "provisions": [Provision(**p) for p in r["provisions"]],
                }
            )
        )
    return out


# -- coverage ---------------------------------------------------------------------------------------------


def coverage_table(c: Coverage) -> pa.Table:
    """The coverage statement as a one-row `schema.COVERAGE` table."""
    row = {
        **c.to_dict(),
        "tls_failure_hosts": [{"sni": s, "count": n} for s, n in c.tls_failure_hosts],
        "pcap_only_hosts": [{"host": h, "bytes": n} for h, n in c.pcap_only_hosts],
        "hook_modules_failed": [{"module": m, "error": e} for m, e in c.hook_modules_failed],
        "detections_by_method": [{"method": m, "count": n} for m, n in c.detections_by_method.items()],
        "consent_marks": [{"t": t, "label": label} for t, label in c.consent_marks],
    }
    return pa.Table.from_pylist([row], schema=COVERAGE)


def coverage_from_table(table: pa.Table) -> Coverage:
    """`coverage_table` read back (an empty table: nothing was covered)."""
    rows = table.select(COVERAGE.names).to_pylist()
    if not rows:
        return Coverage()
    r = rows[0]
    return Coverage(
        **{
            **r,
            "tls_failure_hosts": [(x["sni"], x["count"]) for x in r["tls_failure_hosts"]],
            "pcap_only_hosts": [(x["host"], x["bytes"]) for x in r["pcap_only_hosts"]],
            "hook_modules_failed": [(x["module"], x["error"]) for x in r["hook_modules_failed"]],
            "detections_by_method": {x["method"]: x["count"] for x in r["detections_by_method"]},
            "consent_marks": [(x["t"], x["label"]) for x in r["consent_marks"]],
        }
    )


# -- per-flow receivers -----------------------------------------------------------------------------------


def flow_destinations_table(frame: pd.DataFrame) -> pa.Table:
    """`transmissions.flow_destinations` (t in epoch seconds) as a `schema.FLOW_DESTINATIONS` table."""
    cols = {n: frame[n].tolist() for n in FLOW_DESTINATIONS.names}
    cols["t"] = [micros(v) for v in cols["t"]]
    return pa.Table.from_pydict(cols, schema=_with_times(FLOW_DESTINATIONS)).cast(FLOW_DESTINATIONS)


def flow_destinations_frame(table: pa.Table) -> pd.DataFrame:
    """The per-flow receivers read back as the frame charts take (t in epoch seconds)."""
    cols = table.select(FLOW_DESTINATIONS.names).to_pydict()
    cols["t"] = [seconds(v) for v in cols["t"]]
    return pd.DataFrame(cols, columns=FLOW_DESTINATIONS.names)

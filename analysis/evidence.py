"""A session's evidence in one object: its tables, findings, coverage and seal.

The report and the notebooks both start here, so a finding in a notebook is the finding in the report:

    ev = load_evidence("captures/sample")
    ev.findings[0].data_type, ev.coverage.flows_decrypted
    charts.data_types_by_entity(ev.findings)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import PrivlabError
from analysis.findings import Coverage
from analysis.findings import Finding
from analysis.findings import build_findings
from analysis.findings import flow_custody
from analysis.findings import flow_destinations
from analysis.session import CUSTODY
from analysis.session import SEAL_JSON
from analysis.session import TLS_FAILURES_JSONL
from analysis.session import Session
from analysis.tables import SessionTables
from analysis.tables import load_session

STATIC_JSON = "apk/static.json"


@dataclass
class SessionEvidence:
    """Everything the report states about one session."""

    path: Path
    meta: dict[str, Any]
    tables: SessionTables
    findings: list[Finding]
    coverage: Coverage
    flow_dest: pd.DataFrame  # one row per flow: entity, country, jurisdiction, bytes (charts, notebooks)
    seal: dict[str, Any] | None
    # Capability vs observed, per data type, when the session holds a static analysis (apk/static.json).
    capability: list[dict[str, Any]] | None = None

    @property
    def marks(self) -> list[dict[str, Any]]:
        return list(self.meta.get("marks") or [])


def read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSONL evidence file (a torn last line, left by a killed writer, is skipped)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    if not data.endswith(b"\n"):
        lines = lines[:-1]  # the torn tail: not a record
    out: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise PrivlabError(f"{path}: line {n} is not JSON") from None
        if isinstance(record, dict):
            out.append(record)
    return out


def evidence_from_tables(path: Path | str, tables: SessionTables) -> SessionEvidence:
    """Findings and coverage for tables already loaded (e.g. with `refresh=False`)."""
    p = Path(path)
    session = Session.open(p)
    custody = p / CUSTODY
    findings, coverage = build_findings(
        tables,
        session.meta,
        canaries=session.canaries(),
        tls_failures=read_jsonl_records(p / TLS_FAILURES_JSONL),
        flow_hashes=flow_custody(custody.read_bytes().splitlines() if custody.exists() else []),
    )
    seal = None
    if (p / SEAL_JSON).exists():
        try:
            seal = json.loads((p / SEAL_JSON).read_bytes())
        except ValueError:
            raise PrivlabError(f"{p / SEAL_JSON}: not valid JSON") from None
    return SessionEvidence(
        p, session.meta, tables, findings, coverage, flow_destinations(tables), seal, _capability(p, tables)
    )


def _capability(path: Path, tables: SessionTables) -> list[dict[str, Any]] | None:
    """What the APK could do (permissions, API references) beside what the session saw it do."""
    static_path = path / STATIC_JSON
    if not static_path.exists():
        return None
    from analysis.apk import capability_rows
    from analysis.apk import load_static

    try:
        static = load_static(static_path.read_bytes(), str(static_path))
    except ValueError as e:
        raise PrivlabError(str(e)) from None
    frame = capability_rows(static, tables.hook_events, tables.detections)
    rows: list[dict[str, Any]] = []
    for rec in frame.to_dict("records"):
        rows.append(
            {str(k): (None if v is pd.NA else list(v) if isinstance(v, tuple) else v) for k, v in rec.items()}
        )
    return rows


def load_evidence(path: Path | str) -> SessionEvidence:
    """Load (analysing first when derived/ is stale) and build the findings of one session."""
    return evidence_from_tables(path, load_session(path))

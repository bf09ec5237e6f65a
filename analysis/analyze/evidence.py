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

from analysis.analyze.load import load_session
from analysis.errors import PrivlabError
from analysis.findings import Coverage
from analysis.findings import Finding
from analysis.findings import flow_destinations
from analysis.findings import session_findings
from analysis.session import SEAL_JSON
from analysis.session import Session
from analysis.session.derived import SessionTables

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


def evidence_from_tables(path: Path | str, tables: SessionTables) -> SessionEvidence:
    """Findings and coverage for tables already loaded (e.g. with `refresh=False`)."""
    p = Path(path)
    session = Session.open(p)
    findings, coverage = session_findings(session, tables)
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

"""A session's evidence in one object: its tables, findings, coverage and seal, as `privlab analyze` wrote them.

The report and the notebooks both start here, so a finding in a notebook is the finding in the report:

    ev = load_evidence("captures/sample")
    ev.findings[0].data_type, ev.coverage.flows_decrypted
    charts.data_types_by_entity(ev.findings)

Nothing here builds a finding: `read_evidence` only reads derived/ (findings, coverage,
flow_destinations, capability) beside session.json and seal.json; `load_evidence` runs the analysis first
when derived/ is missing or stale (a no-op otherwise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from analysis.analyze.stages import FINDINGS_TABLES
from analysis.analyze.stages import analyze
from analysis.analyze.stages import capability_table
from analysis.errors import PrivlabError
from analysis.findings import Coverage
from analysis.findings import Finding
from analysis.findings import flow_destinations
from analysis.findings import session_findings
from analysis.findings.rows import coverage_from_table
from analysis.findings.rows import coverage_table
from analysis.findings.rows import findings_from_table
from analysis.findings.rows import findings_table
from analysis.findings.rows import flow_destinations_frame
from analysis.findings.rows import flow_destinations_table
from analysis.session import DERIVED
from analysis.session import SEAL_JSON
from analysis.session import Session
from analysis.session.derived import SessionTables
from analysis.session.derived import read_tables


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


def read_seal(path: Path) -> dict[str, Any] | None:
    """seal.json of a session folder, or None when it is not sealed."""
    if not (path / SEAL_JSON).exists():
        return None
    try:
        seal: dict[str, Any] = json.loads((path / SEAL_JSON).read_bytes())
    except ValueError:
        raise PrivlabError(f"{path / SEAL_JSON}: not valid JSON") from None
    return seal


def read_evidence(path: Path | str) -> SessionEvidence:
    """The evidence exactly as derived/ holds it; PrivlabError when `privlab analyze` has not run."""
    session = Session.open(path)
    p = session.path
    missing = [t for t in FINDINGS_TABLES if not (p / DERIVED / f"{t}.parquet").exists()]
    if missing:
        raise PrivlabError(
            f"{p / DERIVED}: no {', '.join(f'{t}.parquet' for t in missing)}; run `privlab analyze {p}`"
        )
    capability_path = p / DERIVED / "capability.parquet"
    return SessionEvidence(
        path=p,
        meta=session.meta,
        tables=read_tables(p),
        findings=findings_from_table(pq.read_table(p / DERIVED / "findings.parquet")),
        coverage=coverage_from_table(pq.read_table(p / DERIVED / "coverage.parquet")),
        flow_dest=flow_destinations_frame(pq.read_table(p / DERIVED / "flow_destinations.parquet")),
        seal=read_seal(p),
        capability=pq.read_table(capability_path).to_pylist() if capability_path.exists() else None,
    )


def analyse_tables(path: Path | str, tables: Any) -> SessionEvidence:
    """Evidence for tables that are not derived/ of the session (test fixtures, benchmarks): the findings
    stage's work done in memory, through the same functions, so the rows match what derived/ would hold."""
    session = Session.open(path)
    findings, coverage = session_findings(session, tables)
    capability = capability_table(session.path, tables)
    return SessionEvidence(
        path=session.path,
        meta=session.meta,
        tables=tables,
        findings=findings_from_table(findings_table(findings)),
        coverage=coverage_from_table(coverage_table(coverage)),
        flow_dest=flow_destinations_frame(flow_destinations_table(flow_destinations(tables))),
        seal=read_seal(session.path),
        capability=capability.to_pylist() if capability is not None else None,
    )


def load_evidence(path: Path | str) -> SessionEvidence:
    """Analyse the session when derived/ is missing or stale (a no-op otherwise), then read its evidence."""
    analyze(Session.open(path).path, show_progress=False)
    return read_evidence(path)

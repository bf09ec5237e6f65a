"""A session's derived tables (`derived/<table>.parquet`) as pandas DataFrames, read as they are.

Reading never runs the analysis: `analysis.analyze.load_session` does that first when asked to.
Timestamps are timezone-aware (UTC). The findings as records (with exhibits and access events), the
coverage statement, the per-flow receivers and the capability table are read by
`analysis.analyze.evidence.read_evidence`, which converts their rows once (`analysis.findings.rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis.schema import TABLES
from analysis.session import DERIVED
from analysis.session import Session

_SCHEMAS = TABLES


@dataclass
class SessionTables:
    """The tables of one session (or of several, with a `session_id` column: `load_sessions`)."""

    session_id: str
    path: Path | None
    flows: pd.DataFrame
    hook_events: pd.DataFrame
    detections: pd.DataFrame
    decode_issues: pd.DataFrame
    packets: pd.DataFrame | None = None
    destinations: pd.DataFrame | None = None
    findings: pd.DataFrame | None = None
    app_events: pd.DataFrame | None = None  # ByteDance app-log entries (analysis.decode.bytedance_applog)
    bytedance_layers: pd.DataFrame | None = (
        None  # what ByteDance's layer let us see (attribute.bytedance_layers)
    )


def _read(path: Path, table: str) -> pd.DataFrame | None:
    p = path / DERIVED / f"{table}.parquet"
    return pq.read_table(p).to_pandas() if p.exists() else None


def _read_or_empty(path: Path, table: str) -> pd.DataFrame:
    """The table, or an empty one with its columns and types when the session has none."""
    df = _read(path, table)
    return df if df is not None else _SCHEMAS[table].empty_table().to_pandas()


def read_tables(path: Path | str) -> SessionTables:
    """The derived tables of one session folder as they are on disk (empty tables where absent)."""
    session = Session.open(path)
    p = session.path
    return SessionTables(
        session_id=session.id,
        path=p,
        flows=_read_or_empty(p, "flows"),
        hook_events=_read_or_empty(p, "hook_events"),
        detections=_read_or_empty(p, "detections"),
        decode_issues=_read_or_empty(p, "decode_issues"),
        packets=_read(p, "packets"),
        destinations=_read(p, "destinations"),
        findings=_read(p, "findings"),
        app_events=_read(p, "app_events"),
        bytedance_layers=_read(p, "bytedance_layers"),
    )

"""A session's tables as pandas DataFrames: `load_session(path)` for notebooks and reports.

Timestamps are timezone-aware (UTC). The derived tables are rebuilt first when their inputs changed
(`privlab analyze` is a no-op otherwise), so what is loaded always matches the raw files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis.analyze import analyze
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


def _read(path: Path, table: str) -> pd.DataFrame | None:
    p = path / DERIVED / f"{table}.parquet"
    return pq.read_table(p).to_pandas() if p.exists() else None


def _read_or_empty(path: Path, table: str) -> pd.DataFrame:
    """The table, or an empty one with its columns and types when the session has none."""
    df = _read(path, table)
    return df if df is not None else _SCHEMAS[table].empty_table().to_pandas()


def load_session(path: Path | str, *, refresh: bool = True) -> SessionTables:
    """The tables of one session folder; runs the analysis first when derived/ is missing or stale."""
    session = Session.open(path)
    if refresh:
        analyze(session.path, show_progress=False)
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
    )


def load_sessions(paths: Iterable[Path | str], *, refresh: bool = True) -> SessionTables:
    """Several sessions' tables concatenated, each row tagged with its `session_id`."""
    loaded = [load_session(p, refresh=refresh) for p in paths]
    frames: dict[str, pd.DataFrame | None] = {}
    for f in fields(SessionTables):
        if f.name in ("session_id", "path"):
            continue
        parts = [
            getattr(t, f.name).assign(session_id=t.session_id)
            for t in loaded
            if getattr(t, f.name) is not None
        ]
        frames[f.name] = pd.concat(parts, ignore_index=True) if parts else None
    empty = {
        name: _SCHEMAS[name].empty_table().to_pandas().assign(session_id=pd.Series(dtype=str))
        for name in ("flows", "hook_events", "detections", "decode_issues")
    }
    return SessionTables(
        session_id=",".join(t.session_id for t in loaded),
        path=None,
        flows=frames["flows"] if frames["flows"] is not None else empty["flows"],
        hook_events=frames["hook_events"] if frames["hook_events"] is not None else empty["hook_events"],
        detections=frames["detections"] if frames["detections"] is not None else empty["detections"],
        decode_issues=frames["decode_issues"]
        if frames["decode_issues"] is not None
        else empty["decode_issues"],
        packets=frames["packets"],
        destinations=frames["destinations"],
        findings=frames["findings"],
    )

"""A session's tables as pandas DataFrames: `load_session(path)` for notebooks and reports.

The derived tables are rebuilt first when their inputs changed (`privlab analyze` is a no-op otherwise),
so what is loaded always matches the raw files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

import pandas as pd

from analysis.analyze.manifest import require_trusted
from analysis.analyze.stages import analyze
from analysis.schema import TABLES as _SCHEMAS
from analysis.session import Session
from analysis.session.derived import SessionTables
from analysis.session.derived import read_tables


def load_session(path: Path | str, *, refresh: bool = True) -> SessionTables:
    """The tables of one session folder; runs the analysis first when derived/ is missing or stale."""
    if refresh:
        analyze(Session.open(path).path, show_progress=False)
    else:
        require_trusted(
            Session.open(path)
        )  # no rebuild asked for: refuse what the manifest does not vouch for
    return read_tables(path)


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
        app_events=frames["app_events"],
        bytedance_layers=frames["bytedance_layers"],
    )

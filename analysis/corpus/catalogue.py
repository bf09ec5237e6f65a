"""The corpus catalogue: one row per session folder, written as `catalogue.parquet`.

The catalogue copies no evidence and no derived table: it records where each session is and what it
is, so `analysis.corpus.query` can put every session's `derived/<table>.parquet` behind one view.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.errors import PrivlabError
from analysis.schema import TABLES
from analysis.session import DERIVED
from analysis.session import SESSION_JSON
from analysis.session.annotations import session_marks

CATALOGUE = "catalogue.parquet"

CATALOGUE_SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("path", pa.string()),
        ("name", pa.string()),
        ("mode", pa.string()),
        ("status", pa.string()),
        ("app", pa.string()),
        ("app_version", pa.string()),
        ("device", pa.string()),
        ("conditions", pa.string()),  # JSON object, e.g. {"consent": "refused"}
        ("phases", pa.list_(pa.string())),  # mark labels in time order
        ("started", pa.float64()),
        ("ended", pa.float64()),
        ("tables", pa.list_(pa.string())),  # derived tables present
    ]
)


@dataclass
class SessionEntry:
    """One row of the catalogue."""

    session_id: str
    path: str
    name: str
    mode: str
    status: str
    app: str
    app_version: str
    device: str
    conditions: str
    phases: list[str]
    started: float | None
    ended: float | None
    tables: list[str]


def find_sessions(dirs: Iterable[Path | str]) -> list[Path]:
    """Every session folder (a folder holding session.json) under the given folders, sorted."""
    found: set[Path] = set()
    for d in dirs:
        root = Path(d)
        if not root.is_dir():
            raise PrivlabError(f"{root}: not a folder")
        if (root / SESSION_JSON).is_file():
            found.add(root.resolve())
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            if SESSION_JSON in filenames:
                found.add(Path(dirpath).resolve())
                dirnames[:] = []  # a session folder holds no sessions
            else:
                dirnames[:] = [n for n in dirnames if not n.startswith(".")]
    return sorted(found)


def session_entry(path: Path) -> SessionEntry:
    """What the catalogue records of one session folder; a one-line error when session.json is bad."""
    try:
        meta: dict[str, Any] = json.loads((path / SESSION_JSON).read_bytes())
    except (OSError, ValueError) as e:
        raise PrivlabError(f"{path / SESSION_JSON}: not a readable session ({e})") from None
    if not isinstance(meta, dict):
        raise PrivlabError(f"{path / SESSION_JSON}: not a JSON object")
    app = meta.get("app") or {}
    device = meta.get("device") or {}
    # Through the marks accessor: an analyst's marks added after the seal count as in any other reader.
    marks = sorted(session_marks(path, meta), key=lambda m: float(m.get("t", 0)))
    return SessionEntry(
        session_id=str(meta.get("id") or path.name),
        path=str(path),
        name=str(meta.get("name") or ""),
        mode=str(meta.get("mode") or ""),
        status=str(meta.get("status") or ""),
        app=str(app.get("package") or app.get("name") or ""),
        app_version=str(app.get("version") or app.get("version_name") or ""),
        device=str(device.get("model") or ""),
        conditions=json.dumps(meta.get("conditions") or {}, sort_keys=True),
        phases=[str(m.get("label")) for m in marks],
        started=float(meta["created"]) if meta.get("created") is not None else None,
        ended=float(meta["ended"]) if meta.get("ended") is not None else None,
        tables=sorted(t for t in TABLES if (path / DERIVED / f"{t}.parquet").is_file()),
    )


def build_catalogue(dirs: Iterable[Path | str], out: Path | str) -> Path:
    """Index every session under `dirs` into `out/catalogue.parquet`; returns its path."""
    sessions = find_sessions(dirs)
    if not sessions:
        raise PrivlabError(f"no session folders (with {SESSION_JSON}) under {', '.join(map(str, dirs))}")
    entries = [session_entry(p) for p in sessions]
    seen: dict[str, str] = {}
    for e in entries:
        if e.session_id in seen:
            raise PrivlabError(
                f"{e.path}: session id {e.session_id} is also {seen[e.session_id]}; a corpus holds each session once"
            )
        seen[e.session_id] = e.path
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([asdict(e) for e in entries], schema=CATALOGUE_SCHEMA)
    tmp = target / f".{CATALOGUE}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, target / CATALOGUE)
    return target / CATALOGUE


def read_catalogue(path: Path | str) -> list[SessionEntry]:
    """The sessions of a catalogue (a catalogue.parquet, or the folder holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / CATALOGUE
    try:
        rows = pq.read_table(p).to_pylist()
    except (OSError, pa.ArrowInvalid) as e:
        raise PrivlabError(
            f"{p}: not a corpus catalogue ({e}); build one with `privlab corpus build`"
        ) from None
    return [SessionEntry(**{f: r.get(f) for f in CATALOGUE_SCHEMA.names}) for r in rows]

"""A session's derived tables (`derived/<table>.parquet`) as pandas DataFrames, read as they are.

Reading never runs the analysis: `analysis.analyze.load_session` does that first when asked to.
Timestamps are timezone-aware (UTC). The findings as records (with exhibits and access events), the
coverage statement, the per-flow receivers and the capability table are read by
`analysis.analyze.evidence.read_evidence`, which converts their rows once (`analysis.findings.rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
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


def _read(path: Path, table: str, leave_out: Collection[str] = ()) -> pd.DataFrame | None:
    p = path / DERIVED / f"{table}.parquet"
    if not p.exists():
        return None
    columns = [c for c in pq.read_schema(p).names if c not in leave_out] if leave_out else None
    return pq.read_table(p, columns=columns).to_pandas()


def _read_or_empty(path: Path, table: str, leave_out: Collection[str] = ()) -> pd.DataFrame:
    """The table, or an empty one with its columns and types when the session has none."""
    df = _read(path, table, leave_out)
    if df is not None:
        return df
    empty = _SCHEMAS[table].empty_table()
    return empty.drop_columns([c for c in leave_out if c in empty.column_names]).to_pandas()


def read_table(
    path: Path | str, table: str, columns: Sequence[str] | None = None, *, shared_lists: bool = False
) -> pd.DataFrame:
    """One derived table of a session folder (empty, with its columns and types, when absent).

    `columns`, when given, are the only columns read (those the table has). `shared_lists` reads each
    column of lists of plain values as Python lists, equal lists one object, for a reader that does not
    change them: a 1M-row column of a few distinct lists is then a few lists, not a million numpy arrays.
    """
    p = Path(path)
    schema = _SCHEMAS[table]
    names = schema.names if columns is None else list(columns)
    lists = [c for c in names if shared_lists and _flat_list(schema.field(c).type)]
    df = _read_or_empty(p, table, [c for c in schema.names if c not in names or c in lists])
    file = p / DERIVED / f"{table}.parquet"
    for c in lists:
        df[c] = _one_object_per_list(pq.read_table(file, columns=[c]).column(c)) if file.exists() else []
    return df


def _flat_list(t: pa.DataType) -> bool:
    """A list of plain values (strings, numbers): its Python lists can be compared as tuples."""
    return pa.types.is_list(t) and not pa.types.is_nested(t.value_type)


def _one_object_per_list(column: pa.ChunkedArray, rows: int = 65_536) -> np.ndarray:
    """A list column's values as Python lists (None where missing), equal lists one object."""
    out = np.empty(len(column), dtype=object)
    distinct: dict[tuple[Any, ...], list[Any]] = {}
    at = 0
    for start in range(0, len(column), rows):
        for value in column.slice(start, rows).to_pylist():
            out[at] = None if value is None else distinct.setdefault(tuple(value), value)
            at += 1
    return out


def table_chunks(
    path: Path | str, table: str
) -> Callable[[Sequence[str], int], Iterator[dict[str, list[Any]]]]:
    """A derived table read a chunk of rows at a time: called with the columns wanted and the most rows
    a chunk may hold, it yields each chunk as column name -> Python values (None for a missing value);
    nothing when the table is absent.

    The findings stage reads a 1M-flow session's two million detections this way, never all at once.
    """
    p = Path(path) / DERIVED / f"{table}.parquet"

    def chunks(columns: Sequence[str], rows: int) -> Iterator[dict[str, list[Any]]]:
        if not p.exists():
            return
        for batch in pq.ParquetFile(p).iter_batches(batch_size=rows, columns=list(columns)):
            yield batch.to_pydict()

    return chunks


def read_tables(path: Path | str, *, leave_out: Mapping[str, Collection[str]] | None = None) -> SessionTables:
    """The derived tables of one session folder as they are on disk (empty tables where absent).

    `leave_out` names columns not to read, per table; a table whose entry is `"*"` is not read at all
    (None). The findings stage reads a 100k-flow session without its header lists and app-log entries,
    which in pandas are most of a gigabyte, and fetches the few rows its exhibits cite (`read_rows`).
    """
    session = Session.open(path)
    p = session.path
    skip = leave_out or {}

    def optional(table: str) -> pd.DataFrame | None:
        return None if skip.get(table) == "*" else _read(p, table, skip.get(table, ()))

    return SessionTables(
        session_id=session.id,
        path=p,
        flows=_read_or_empty(p, "flows", skip.get("flows", ())),
        hook_events=_read_or_empty(p, "hook_events"),
        detections=_read_or_empty(p, "detections"),
        decode_issues=_read_or_empty(p, "decode_issues"),
        packets=optional("packets"),
        destinations=optional("destinations"),
        findings=optional("findings"),
        app_events=optional("app_events"),
        bytedance_layers=optional("bytedance_layers"),
    )


def read_rows(
    path: Path | str, table: str, flow_ids: Collection[str], columns: Sequence[str]
) -> pd.DataFrame:
    """The rows of a derived table whose `flow_id` is one of `flow_ids`, with these columns only.

    Empty (with the columns and their types) when the session has no such table or no such rows.
    """
    p = Path(path) / DERIVED / f"{table}.parquet"
    empty = _SCHEMAS[table].empty_table().select(list(columns))
    if not flow_ids or not p.exists():
        return empty.to_pandas()
    data = pq.read_table(p, columns=list(columns), filters=[("flow_id", "in", sorted(flow_ids))])
    return data.to_pandas()

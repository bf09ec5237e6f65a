"""DataFrame cells as Python values: one place that turns Arrow/pandas nulls into None."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    """An empty DataFrame with the columns (and dtypes) of a schema table."""
    return schema.empty_table().to_pandas()


def frame_from_rows(schema: pa.Schema, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts, times as epoch seconds or datetimes) -> a DataFrame typed exactly like the table."""
    fixed: list[dict[str, Any]] = []
    for row in rows:
        out: dict[str, Any] = {}
        for f in schema:
            v = row.get(f.name)
            if pa.types.is_timestamp(f.type) and isinstance(v, int | float):
                v = datetime.fromtimestamp(float(v), tz=UTC)
            out[f.name] = v
        fixed.append(out)
    return pa.Table.from_pylist(fixed, schema=schema).to_pandas()


def frame_rows(df: pd.DataFrame, schema: pa.Schema) -> list[dict[str, Any]]:
    """A schema table's DataFrame as row dicts of plain Python values (None, lists), through Arrow.

    The one conversion from pandas cells (NaN, NA, NaT, numpy arrays) to Python values: readers of a
    derived table use it instead of guarding each cell.
    """
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False).to_pylist()


# A table read a chunk of rows at a time: called with the columns wanted and the most rows a chunk may
# hold, it yields each chunk as column name -> Python values (Arrow's conversion: None when missing).
Chunks = Callable[[Sequence[str], int], Iterable[Mapping[str, list[Any]]]]
CHUNK_ROWS = 32_768  # rows a chunk turns into Python values at once (of a few columns)


def held(tables: Any, name: str) -> pd.DataFrame | None:
    """Table `name` of an object (attribute) or a mapping (key), None when it holds none."""
    return tables.get(name) if isinstance(tables, Mapping) else getattr(tables, name, None)


def table(tables: Any, name: str, schema: pa.Schema, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Table `name` from an object (attribute) or a mapping (key); empty with the schema's columns if absent.

    `columns`, when given, are the only columns returned (a column the table lacks is all None).
    """
    df = held(tables, name)
    if df is None:
        df = empty_frame(schema)
    names = list(columns) if columns is not None else schema.names
    if columns is not None:
        df = df[[c for c in names if c in df.columns]]
    missing = [c for c in names if c not in df.columns]
    if missing:
        # A shallow copy: the caller's frame keeps its columns, and the data is not duplicated (the
        # findings stage reads flows without their header lists: a deep copy was a second flows table).
        df = df.copy(deep=False)
        for c in missing:
            df[c] = None
    return df


def epoch(v: Any) -> float | None:
    """A table time (pandas Timestamp, datetime, float seconds) as float epoch seconds, None if missing."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        # int / int is correctly rounded: the same float as `rows.seconds` gives for the value read back.
        return None if pd.isna(v) else v.value / 1_000_000_000
    if isinstance(v, datetime):
        return v.timestamp()
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    s = str(v)
    return s if s else None


def _int(v: Any) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else int(f)


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, float) and math.isnan(v):
        return []
    try:
        return list(v)
    except TypeError:
        return []


def _headers(v: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for h in _list(v):
        if isinstance(h, Mapping):
            out.append((str(h.get("name", "")), str(h.get("value", ""))))
        elif isinstance(h, list | tuple) and len(h) == 2:
            out.append((str(h[0]), str(h[1])))
    return tuple(out)


def _epochs(col: pd.Series) -> list[float | None]:
    """A time column as epoch seconds, vectorised (itertuples over 100k rows is the slow part)."""
    if len(col) == 0:
        return []
    if pd.api.types.is_numeric_dtype(col):
        return [None if math.isnan(v) else float(v) for v in col.astype(float).tolist()]
    ts = pd.to_datetime(col, utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")
    # Python int / int is correctly rounded, so a time read back from Parquet (`rows.seconds`) is the
    # same float as the one the findings were built with.
    return [
        None if missing else ns / 1_000_000_000
        for ns, missing in zip(ts.view("int64").tolist(), np.isnat(ts).tolist(), strict=True)
    ]


def _pylist(col: pd.Series) -> list[Any]:
    """A column as Python values through Arrow (pandas' own iteration of Arrow strings is slow)."""
    try:
        return list(pa.array(col, from_pandas=True).to_pylist())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        # An object column Arrow cannot type (a list beside a string): pandas' own values, unconverted.
        return list(col.tolist())


def _texts(col: pd.Series) -> list[str | None]:
    return _text_values(_pylist(col))


def _text_values(values: Iterable[Any]) -> list[str | None]:
    # Strings (nearly every cell) directly: `_text` per cell was a tenth of the findings stage.
    return [(v or None) if type(v) is str else _text(v) for v in values]


def frame_chunks(df: pd.DataFrame) -> Chunks:
    """A DataFrame as `Chunks` (its cells as Python values, as `_pylist` gives them)."""

    def chunks(columns: Sequence[str], rows: int) -> Iterator[dict[str, list[Any]]]:
        for start in range(0, len(df), rows):
            part = df.iloc[start : start + rows]
            yield {c: _pylist(part[c]) for c in columns}

    return chunks


def _columns(df: pd.DataFrame, names: Sequence[str]) -> dict[str, list[Any]]:
    return {n: _pylist(df[n]) for n in names}


def short_id(*parts: Any) -> str:
    """A stable id from the parts that define a finding (same session -> same ids)."""
    raw = json.dumps([str(p) for p in parts], separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:12]

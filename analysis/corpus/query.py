"""SQL over a corpus: DuckDB views over every session's derived tables, read in place.

Views: `sessions` (the catalogue) and one per derived table (`flows`, `detections`, `destinations`,
`findings`, `hook_events`, `packets`, `decode_issues`, and `app_events` where sessions have it), each with
a `session_id` column first. A table a session lacks contributes no rows; a table no session has is an
empty view with the schema's columns, so a query never fails for want of data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from analysis.corpus.catalogue import CATALOGUE
from analysis.corpus.catalogue import read_catalogue
from analysis.errors import PrivlabError
from analysis.schema import TABLES
from analysis.session import DERIVED

# Derived tables exposed as views; others a stage adds (app_events) join when any session has them.
VIEWS = (
    "flows",
    "detections",
    "destinations",
    "findings",
    "hook_events",
    "packets",
    "decode_issues",
    "app_events",
)


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def connect(catalogue: Path | str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the corpus views defined."""
    entries = read_catalogue(catalogue)
    con = duckdb.connect()
    cat_path = Path(catalogue) / CATALOGUE if Path(catalogue).is_dir() else Path(catalogue)
    con.execute(f"CREATE VIEW sessions AS SELECT * FROM read_parquet({_sql_text(str(cat_path))})")
    for view in VIEWS:
        files = [(e.session_id, Path(e.path) / DERIVED / f"{view}.parquet") for e in entries]
        files = [(sid, p) for sid, p in files if p.is_file()]
        if files:
            mapping = pa.table({"session_id": [s for s, _ in files], "file": [str(p) for _, p in files]})
            con.register(f"_{view}_files", mapping)
            file_list = "[" + ", ".join(_sql_text(str(p)) for _, p in files) + "]"
            con.execute(
                f"CREATE VIEW {view} AS SELECT m.session_id, t.* EXCLUDE (filename) "
                f"FROM read_parquet({file_list}, union_by_name = true, filename = true) t "
                f"JOIN _{view}_files m ON t.filename = m.file"
            )
        elif view in TABLES:
            empty = TABLES[view].empty_table()
            con.register(
                f"_{view}_empty",
                pa.table(
                    {"session_id": pa.array([], pa.string()), **{n: empty[n] for n in empty.column_names}}
                ),
            )
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM _{view}_empty")
    return con


def _run(sql: str, catalogue: Path | str, fetch: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
    con = connect(catalogue)
    try:
        return fetch(con)
    except duckdb.Error as e:
        raise PrivlabError(f"query failed: {str(e).splitlines()[0]}") from None
    finally:
        con.close()


def query(sql: str, catalogue: Path | str) -> pd.DataFrame:
    """Run `sql` over the corpus and return the result as a DataFrame."""
    return _run(sql, catalogue, lambda con: con.execute(sql).df())


def query_arrow(sql: str, catalogue: Path | str) -> pa.Table:
    """The same as `query`, as an Arrow table (for writing Parquet without a pandas round trip)."""
    return _run(sql, catalogue, lambda con: con.sql(sql).to_arrow_table())

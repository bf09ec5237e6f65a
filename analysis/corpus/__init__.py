"""Many sessions at once: a catalogue of session folders, SQL over their derived tables, and analysis
of many sessions on a Dask cluster.

    from analysis import corpus
    cat = corpus.build_catalogue(["captures"], "corpus")          # no copy: it points at derived/*.parquet
    corpus.query("select entity, count(distinct session_id) from findings group by entity", cat)

`catalogue` finds sessions and records what each is (app, version, device, conditions, phases, time
range); `query` runs DuckDB over every session's derived tables as one view per table; `cluster` runs
`privlab analyze` on many sessions with Dask (a LocalCluster, or a real scheduler).
"""

from analysis.corpus.catalogue import build_catalogue
from analysis.corpus.catalogue import find_sessions
from analysis.corpus.query import query

__all__ = ["build_catalogue", "find_sessions", "query"]

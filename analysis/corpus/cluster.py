"""Analyse many sessions on a Dask cluster: a LocalCluster by default, or a real scheduler.

Each session is one task running `privlab analyze` where the worker can read the session folder (shared
storage such as NFS, or a folder every worker mounts). A session that fails is reported with its error
and never stops the others. A worker that dies mid-task loses nothing: every derived table is written to
a temporary name and renamed (`analysis.analyze.stages.StageContext.write`), and Dask runs the task
again on another worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SessionOutcome:
    """What happened to one session of the corpus."""

    session: str
    ok: bool
    written: list[str]
    warnings: list[str]
    error: str | None
    seconds: float


def analyze_one(path: str) -> SessionOutcome:
    """Analyse one session (runs on a worker); any failure is returned, not raised."""
    from analysis.analyze.stages import analyze

    began = time.monotonic()
    try:
        result = analyze(path, show_progress=False)
    except Exception as e:  # noqa: BLE001 - one session's failure is its own result, never the corpus's
        return SessionOutcome(path, False, [], [], f"{type(e).__name__}: {e}", time.monotonic() - began)
    return SessionOutcome(path, True, result.written, result.warnings, None, time.monotonic() - began)


def analyze_corpus(
    sessions: Sequence[Path | str],
    *,
    workers: int = 2,
    scheduler: str | None = None,
    on_done: Callable[[SessionOutcome], None] | None = None,
) -> list[SessionOutcome]:
    """Analyse every session on a Dask cluster; outcomes in the order of `sessions`."""
    from distributed import Client
    from distributed import LocalCluster
    from distributed import as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        # Processes, one thread each: analysis is CPU-bound Python, and workers must be killable alone.
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        paths = [str(Path(s).resolve()) for s in sessions]
        futures = client.map(analyze_one, paths, pure=False, retries=2)
        index = {f.key: i for i, f in enumerate(futures)}
        outcomes: list[SessionOutcome | None] = [None] * len(paths)
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                outcome = fut.result()
            except Exception as e:  # noqa: BLE001 - a task lost for good (e.g. every retry's worker died)
                outcome = SessionOutcome(paths[i], False, [], [], f"{type(e).__name__}: {e}", 0.0)
            outcomes[i] = outcome
            if on_done:
                on_done(outcome)
        return [o for o in outcomes if o is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

"""Benchmark: a corpus of control-app sessions analysed on a Dask LocalCluster with 1 and 2 workers, and
the corpus question answered by DuckDB over their derived tables.

Printed: sessions/s with 1 worker and with 2 (the ratio is the speed-up a second worker gives here), the
time `privlab compare` takes on all sessions, and the time of the question "which recipients received
an advertising id before consent, in how many sessions" (target: under 2 s for 20 sessions).

    .venv/bin/python benchmarks/bench_corpus.py [--sessions 20]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.compare.table import compare_sessions  # noqa: E402
from analysis.corpus import build_catalogue  # noqa: E402
from analysis.corpus import find_sessions  # noqa: E402
from analysis.corpus import query  # noqa: E402
from analysis.corpus.cluster import analyze_corpus  # noqa: E402
from analysis.validation.run import capture_control_app  # noqa: E402

QUESTION = """select entity, count(distinct session_id) as sessions from findings
where kind = 'transmission' and data_type = 'advertising_id' and phase = 'before-consent'
group by entity order by entity"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privlab-bench-corpus-") as tmp:
        root = Path(tmp) / "sessions"
        began = time.perf_counter()
        for i in range(args.sessions):
            behaviour = "badly-behaved" if i % 2 else "well-behaved"
            capture_control_app(root, name=f"b{i:02d}", conditions={"consent": behaviour},
                                steps=["third_parties", "device_register"])  # fmt: skip
        print(f"captured {args.sessions} sessions in {time.perf_counter() - began:.1f} s")
        sessions = find_sessions([root])
        rates = {}
        for workers in (1, 2):
            for s in sessions:
                shutil.rmtree(s / "derived", ignore_errors=True)
            began = time.perf_counter()
            outcomes = analyze_corpus(sessions, workers=workers)
            took = time.perf_counter() - began
            assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
            rates[workers] = len(sessions) / took
            print(
                f"corpus analyze, {workers} worker(s): {took:.1f} s, {rates[workers]:.2f} sessions/s (cluster start included)"
            )
        print(f"2 workers vs 1: {rates[2] / rates[1]:.2f}x")
        began = time.perf_counter()
        compare_sessions(sessions, "consent")
        print(
            f"compare --by consent on {len(sessions)} sessions (analysed): {time.perf_counter() - began:.2f} s"
        )
        cat = build_catalogue([root], Path(tmp) / "corpus")
        began = time.perf_counter()
        answer = query(QUESTION, cat)
        print(
            f"the question over {len(sessions)} sessions: {time.perf_counter() - began:.3f} s (target < 2 s)"
        )
        print(answer.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

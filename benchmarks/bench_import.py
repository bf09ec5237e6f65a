"""Benchmark: `privlab import` of a 100k-flow `.mitm`, before and after, measured side by side in one run.

"Before" is a git ref of this repository (default `main`), exported with `git archive` into a temporary
folder; "after" is this checkout. Both import the same generated TikTok-like dump (benchmarks/bench_ingest.py
`make_mitm`) in subprocesses, alternately, `--repeat` times each; wall time, CPU time (all processes) and peak
memory (largest single process, `wait4` ru_maxrss) are reported, with the load average (the machine is
shared). Issue 16 target: import >= 2x faster than today, peak < 1 GB. The two sessions' flows.jsonl must be
byte-identical (same records, faster path).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_import.py [--flows 100000] [--before main] [--repeat 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_ingest import make_mitm  # noqa: E402


def checkout(ref: str, into: Path) -> Path:
    """The tree of `ref` exported into `into` (no .git): the code "before"."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def run_import(code: Path, src: Path, out: Path) -> tuple[float, float, int]:
    """(wall s, CPU s of the command and its workers, peak RSS MB of its largest process)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "import", str(src), "--out", str(out)],
        cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import with {code} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    # ru_maxrss of wait4 is the child's own peak or its largest waited-for descendant's (the workers).
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def jsonl_digest(out: Path) -> str:
    (session,) = out.iterdir()
    h = hashlib.sha256()
    with open(session / "flows.jsonl", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--before", default="main", help="git ref of the code to compare against")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the generated dump here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="privlab-bench-import-"))
    store = args.keep or work
    store.mkdir(parents=True, exist_ok=True)
    try:
        src = store / f"big-{args.flows}.mitm"
        if not src.exists():
            make_mitm(src, args.flows)
        before = checkout(args.before, work / "before")
        codes = {f"before ({args.before})": before, "after (this checkout)": REPO}
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in codes}
        digests = {}
        for _ in range(args.repeat):
            for name, code in codes.items():  # alternately, so load changes hit both alike
                out = work / f"out-{len(digests)}"
                results[name].append(run_import(code, src, out))
                digests[name] = jsonl_digest(out)
                shutil.rmtree(out)
        print(
            f"import of {args.flows} flows, {src.stat().st_size / 1e6:.0f} MB .mitm, {os.cpu_count()} cores"
        )
        print(f"{'':24} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}")
        best = {}
        for name, runs in results.items():
            wall = min(r[0] for r in runs)
            best[name] = wall
            print(f"{name:24} {wall:8.1f} {min(r[1] for r in runs):8.1f} {max(r[2] for r in runs):8d}")
        b, a = best.values()
        print(f"speed-up {b / a:.2f}x (target >= 2x); peak target < 1024 MB")
        print(f"flows.jsonl identical: {len(set(digests.values())) == 1}")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (the machine is shared)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark: `privlab apk` static analysis vs androguard's `AnalyzeAPK` alone, on the largest test APK.

Each measurement runs in a fresh child process (so imports, caches and the allocator start equal) and
reports wall time inside the child plus the child's peak resident memory (`ru_maxrss` from `wait4`).
A third child only imports both libraries: its peak is the floor both runs share.

    .venv/bin/python benchmarks/bench_apk.py [APK]       (default: largest APK in ../shared/data/apks)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APKS = REPO.parent / "shared" / "data" / "apks"
RUNS = 3


def child(mode: str, apk: str) -> None:
    """Run one measurement in this process and print {"seconds": ...}."""
    from loguru import logger

    logger.disable("androguard")
    import androguard.misc  # noqa: F401 - both modes pay the same imports before the clock starts

    from analysis.apk.analyse import analyse

    t0 = time.perf_counter()
    if mode == "privlab":
        report = analyse(Path(apk))
        extra = {"classes": report.classes, "call_sites": len(report.call_sites)}
    elif mode == "androguard":
        _a, _d, dx = androguard.misc.AnalyzeAPK(apk)
        extra = {"classes": len(list(dx.get_classes()))}
    else:  # imports only
        extra = {}
    print(json.dumps({"seconds": time.perf_counter() - t0, **extra}))


def measure(mode: str, apk: Path) -> tuple[float, float, dict]:
    """(seconds, peak RSS in MB, extra) for one child run."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, str(apk)],
        stdout=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ},
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} child failed with exit code {proc.returncode}")
    data = json.loads(out)
    return data.pop("seconds"), usage.ru_maxrss / 1024, data


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1:
        apk = Path(sys.argv[1])
    else:
        candidates = sorted(APKS.glob("*.apk"), key=lambda p: p.stat().st_size)
        if not candidates:
            raise SystemExit(f"no APKs in {APKS}; pass one as an argument")
        apk = candidates[-1]
    print(
        f"APK: {apk.name} ({apk.stat().st_size / 1e6:.2f} MB), {RUNS} runs each: best time, median peak RSS"
    )
    results = {}
    for mode in ("imports-only", "androguard", "privlab"):
        runs = [measure(mode, apk) for _ in range(RUNS)]
        seconds = min(r[0] for r in runs)  # best of N: the machine is shared, slower runs measure the others
        peak = statistics.median(r[1] for r in runs)
        results[mode] = (seconds, peak)
        print(f"  {mode:26s} {seconds:7.3f} s   peak RSS {peak:7.1f} MB   {runs[0][2]}")
    floor = results["imports-only"][1]
    ag_t, ag_m = results["androguard"]
    t, m = results["privlab"]
    print(
        f"privlab apk (registry load included): {ag_t / t:.1f}x faster than AnalyzeAPK; memory above the import "
        f"floor {m - floor:.1f} MB vs {ag_m - floor:.1f} MB ({(ag_m - floor) / max(m - floor, 0.1):.1f}x less)"
    )


if __name__ == "__main__":
    main()

"""Benchmark: events captured per second by the Frida agent + runner, and that none are lost.

A host process calls a hooked function (`getaddrinfo` on a numeric address, so no DNS is involved)
N times in a loop, first without Frida (the baseline), then spawned under the runner with the
`getaddrinfo` module. Printed: the call rate of each, the event rate end to end (spawn to the last
event written), the slowdown ratio against the baseline, and the number of events written vs calls made.

    .venv/bin/python benchmarks/bench_hooks.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.capture.frida import FridaRunner  # noqa: E402
from analysis.session import Session  # noqa: E402

LOOP = """
import socket, sys, time
n, out = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
for i in range(n):
    socket.getaddrinfo("127.0.0.1", 4711, flags=socket.AI_NUMERICHOST)
open(out, "w").write(str(time.perf_counter() - t0))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    n = args.calls
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "elapsed"
        subprocess.run([sys.executable, "-c", LOOP, str(n), str(out)], check=True)
        base = float(out.read_text())

        session = Session.create(Path(tmp), "bench-hooks")
        runner = FridaRunner(session, modules=["getaddrinfo"])
        t0 = time.perf_counter()
        pid = runner.spawn([sys.executable, "-c", LOOP, str(n), str(out)])
        if not runner.wait(600):
            print("the hooked loop did not finish within 600 s")
            return 1
        summary = runner.stop()
        wall = time.perf_counter() - t0
        hooked = float(out.read_text())
        events = [json.loads(line) for line in session.file("hooks.jsonl").read_text().splitlines()]
        captured = sum(1 for e in events if e["api"] == "getaddrinfo" and e["pid"] == pid)
        lost = [w for w in summary["warnings"] if "never arrived" in w]

    print(f"calls made:                 {n}")
    print(
        f"events written:             {captured}  ({'none lost' if captured == n and not lost else 'LOST EVENTS'})"
    )
    print(f"baseline (no Frida):        {n / base:12,.0f} calls/s")
    print(f"hooked loop:                {n / hooked:12,.0f} calls/s  (ratio to baseline {base / hooked:.3f})")
    print(
        f"captured end to end:        {captured / wall:12,.0f} events/s  (spawn to last event on disk, {wall:.2f} s)"
    )
    return 0 if captured == n and not lost else 1


if __name__ == "__main__":
    sys.exit(main())

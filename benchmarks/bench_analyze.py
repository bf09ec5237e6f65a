"""Benchmark: `privlab analyze` stage by stage on a session of real flows repeated to 10k/100k/1M.

The flows are those of public captures made by others (tests/data/captures/*.har, the HTTP flows of
tests/data/mitm_dumps/flows/*.mitm), repeated with fresh flow ids and shifted times until the session
holds `--flows` of them, written as a `.mitm` and imported with `privlab import` (a few of their real
tokens are declared as canaries, so the canary path is exercised, not only patterns). Then, in one run:

    FlowReader   mitmproxy.io.FlowReader(<the .mitm>).stream() over the same flows: the baseline
    analyze      `privlab analyze --force` in a child process, each stage timed (time and share),
                 flows/s, peak RSS of the main process and of its largest worker

Targets (issue 16): analyze >= 5x the FlowReader rate; peak memory under 1 GB; growth from 10k to 100k to
1M linear in time with memory bounded. The machine is shared: the load average is printed beside the
numbers, and only ratios measured in the same run are compared.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_analyze.py [--flows 100k] [--keep DIR] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
# Real tokens of the fixtures, declared as planted values (the Facebook app id, a Branch key, a device id).
CANARY_TOKENS = ["138566025676", "key_live_", "e251d7dad1e2b26389ad8a43557aa256", "sdk_gphone_x86_64"]


def source_states() -> list[dict[str, Any]]:
    """The mitmproxy states of every HTTP flow of the public fixtures, in file order."""
    from mitmproxy import http
    from mitmproxy import io as mitm_io

    from analysis.capture.import_ import har_entries
    from analysis.capture.import_ import har_flow

    states = []
    for har in sorted((REPO / "tests" / "data" / "captures").glob("*.har")):
        for item in har_entries(har):
            if isinstance(item, tuple):  # the first item is the HarLog, then (position, entry)
                n, entry = item
                states.append(har_flow(entry, f"{har.stem}-{n}").get_state())
    for mitm in sorted((REPO / "tests" / "data" / "mitm_dumps" / "flows").glob("*.mitm")):
        if mitm.name.startswith("corrupted"):
            continue
        with open(mitm, "rb") as fh:
            try:
                for flow in mitm_io.FlowReader(fh).stream():
                    if isinstance(flow, http.HTTPFlow):
                        states.append(flow.get_state())
            except Exception:  # noqa: BLE001 - a damaged fixture contributes the flows before the damage
                continue
    return states


def make_mitm(path: Path, n: int, unique: bool = False) -> int:
    """`n` flows: the fixtures' flows repeated with new ids and times. Returns the number of templates.

    `unique`: each copy also carries an `x-bench-seq: <n>` request header, so that no two requests are
    identical (the detector's memo of identical requests then never applies: the cost of new traffic).
    """
    from mitmproxy.io import tnetstring

    states = source_states()
    with open(path, "wb") as fh:
        for i in range(n):
            state = dict(states[i % len(states)])
            state["id"] = f"00000000-0000-4000-8000-{i:012d}"
            shift = (i // len(states)) * 60.0
            req = dict(state["request"])
            req["timestamp_start"] = (req.get("timestamp_start") or 1.7e9) + shift
            req["timestamp_end"] = (req.get("timestamp_end") or req["timestamp_start"]) + shift
            if unique:
                req["headers"] = [*req["headers"], (b"x-bench-seq", str(i).encode())]
            state["request"] = req
            fh.write(tnetstring.dumps(state))
    return len(states)


def flowreader_seconds(path: Path) -> tuple[int, float]:
    from mitmproxy import io as mitm_io

    t = time.perf_counter()
    with open(path, "rb") as fh:
        n = sum(1 for _ in mitm_io.FlowReader(fh).stream())
    return n, time.perf_counter() - t


def child(session: Path, profile: Path | None) -> None:
    """Run analyze's stages one by one, timed; print one JSON line (run in its own process)."""
    from analysis.analyze import stages as st
    from analysis.session import Session

    ctx = st.StageContext(Session.open(session), force=True)
    times: dict[str, float] = {}
    prof = None
    if profile is not None:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t_all = time.perf_counter()
    # The per-flow tables are built in one pass the first stage starts: timed on its own.
    if hasattr(st, "flow_pass"):  # (absent in the code before the one-pass change: `--child` runs both)
        st.flow_pass(ctx)
        times["flow pass"] = time.perf_counter() - t_all
    for stage in st.STAGES:
        t = time.perf_counter()
        stage(ctx)
        times[stage.__name__.removesuffix("_stage")] = time.perf_counter() - t
    t = time.perf_counter()
    st.write_manifest(ctx.session)
    times["manifest"] = time.perf_counter() - t
    total = time.perf_counter() - t_all
    if prof is not None:
        prof.disable()
        prof.dump_stats(str(profile))
    # This process's own high-water mark (VmHWM; ru_maxrss would include the parent's image before exec).
    hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"times": times, "total": total, "rss_mb": hwm_kb / 1024,
                      "worker_rss_mb": workers.ru_maxrss / 1024,
                      "cpu": usage.ru_utime + usage.ru_stime + workers.ru_utime + workers.ru_stime}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", default="10k", help="10k, 100k, 1M or a number")
    ap.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the generated files here")
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of the analyze run here")
    ap.add_argument("--unique", action="store_true", help="no two requests identical (see make_mitm)")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.profile)
        return
    n = SIZES.get(args.flows) or int(args.flows)
    work = args.keep or Path(tempfile.mkdtemp(prefix="privlab-bench-analyze-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        kind = "unique" if args.unique else "real"
        mitm = work / f"{kind}-{n}.mitm"
        session_root = work / f"{kind}-{n}-session"
        if not mitm.exists() or not session_root.exists():
            templates = make_mitm(mitm, n, args.unique)
            print(
                f"built {mitm.name}: {n} flows from {templates} real flows, {mitm.stat().st_size / 1e6:.0f} MB"
            )
            canaries = work / "canaries.json"
            canaries.write_text(
                json.dumps(
                    [{"id": f"c{i}", "kind": "other", "value": v} for i, v in enumerate(CANARY_TOKENS)]
                )
            )
            shutil.rmtree(session_root, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "analysis.cli", "import", str(mitm), "--out", str(session_root),
                            "--canaries", str(canaries)], check=True, stdout=subprocess.DEVNULL, cwd=REPO)  # fmt: skip
        session = next(p for p in session_root.iterdir() if p.is_dir())
        load0 = os.getloadavg()[0]
        n_read, t_reader = flowreader_seconds(mitm)
        cmd = [sys.executable, __file__, "--child", str(session)]
        if args.profile:
            cmd += ["--profile", str(args.profile)]
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
        if out.returncode != 0:
            sys.exit(f"analyze failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
        wall = time.perf_counter() - t
        res = json.loads(out.stdout.strip().splitlines()[-1])
        load1 = os.getloadavg()[0]
        total = res["total"]
        print(f"{n} flows{' (no two requests identical)' if args.unique else ''} ({n_read} read by FlowReader); load average {load0:.1f} before, {load1:.1f} after, "
              f"{os.cpu_count()} cores")  # fmt: skip
        print(f"{'stage':22} {'s':>8} {'share':>6}")
        for name, secs in res["times"].items():
            print(f"{name:22} {secs:8.2f} {100 * secs / total:5.1f}%")
        print(
            f"{'analyze (all stages)':22} {total:8.2f}  ({wall:.1f} s wall with interpreter start; {res['cpu']:.1f} s CPU)"
        )
        print(f"  FlowReader.stream()   {t_reader:8.2f} s  {n_read / t_reader:10.0f} flows/s  (baseline)")
        print(f"  analyze               {total:8.2f} s  {n / total:10.0f} flows/s  "
              f"ratio {t_reader / total:.2f}x (target >= 5x)")  # fmt: skip
        print(
            f"  peak RSS: main {res['rss_mb']:.0f} MB, largest worker {res['worker_rss_mb']:.0f} MB "
            "(target < 1024 MB; a worker's figure is ru_maxrss, which counts the analyze process's image "
            "at the fork before exec: an upper bound)"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

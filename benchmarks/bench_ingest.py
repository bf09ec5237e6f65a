"""Benchmark: analysis ingest against mitmproxy's FlowReader, and import + analyze of a 100k-flow session.

Generates a TikTok-like `.mitm` (gzip JSON app-log bodies, query identifiers, cookies; a few canaries
planted) by templating one flow's state, then measures on the same session:

    FlowReader: mitmproxy.io.FlowReader(flows.mitm).stream(), the baseline (~2,000-2,600 flows/s here)
    ingest:     analysis.session.flows.read_flows(flows.jsonl), the analysis-ready form `privlab import` and the
                capture addon write (target >= 5x FlowReader)

and then `privlab import` + `privlab analyze` on the full session in subprocesses: wall time and peak
memory (targets: under 60 s and under 2 GB). Run:
`.venv/bin/python benchmarks/bench_ingest.py [--flows 100000] [--ingest-flows 20000] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mitmproxy import io as mitm_io  # noqa: E402
from mitmproxy.io import tnetstring  # noqa: E402
from mitmproxy.test import tflow  # noqa: E402

from analysis.session.flows import read_flows  # noqa: E402

CANARIES = [
    {"id": "imei", "kind": "imei", "value": "354918090031248"},
    {"id": "aid", "kind": "android_id", "value": "3f7a9c2e51b04d86"},
    {"id": "mail", "kind": "email", "value": "privlab.canary.7f3a@example.org"},
    {"id": "loc", "kind": "location", "value": "52.370216,4.895168"},
]


def make_mitm(path: Path, n: int, seed: int = 3) -> None:
    """`n` flows in mitmproxy's format, by templating one flow's state (FlowWriter per flow is slow)."""
    rng = random.Random(seed)
    base = tflow.tflow(resp=True).get_state()
    hosts = [b"log-va.tiktokv.com", b"api16-normal-c-useast1a.tiktokv.com", b"mon-va.byteoversea.com"]
    with open(path, "wb") as fh:
        for i in range(n):
            state = copy.deepcopy(base)
            state["id"] = f"00000000-0000-4000-8000-{i:012d}"
            req = state["request"]
            t = 1_700_000_000.0 + i * 0.05
            req["timestamp_start"], req["timestamp_end"] = t, t + 0.01
            state["response"]["timestamp_start"], state["response"]["timestamp_end"] = t + 0.1, t + 0.12
            req["host"] = rng.choice(hosts)
            req["authority"] = req["host"]
            req["scheme"] = b"https"
            req["port"] = 443
            req["method"] = b"POST"
            planted = i % 50 == 0
            iid = "7312345678901234567" if planted else str(rng.randrange(10**18, 10**19))
            req["path"] = f"/service/2/app_log/?aid=1233&iid={iid}&device_platform=android".encode()
            events = [{"event": rng.choice(["launch", "scroll", "like"]), "ts": t + k, "params": {"n": rng.random()}}
                      for k in range(12)]  # fmt: skip
            header: dict[str, object] = {
                "install_id": iid,
                "openudid": f"{rng.getrandbits(64):016x}",
                "os": "13",
            }
            if planted:
                header["udid"] = "354918090031248"
                header["location"] = {"latitude": 52.370216, "longitude": 4.895168}
            body = gzip.compress(json.dumps({"header": header, "event_v3": events}).encode(), mtime=0)
            req["headers"] = [
                (b"content-type", b"application/json; charset=utf-8"), (b"content-encoding", b"gzip"),
                (b"cookie", f"install_id={iid}; odin_tt={rng.getrandbits(96):024x}".encode()),
                (b"user-agent", b"com.zhiliaoapp.musically/2023405030 (Linux; U; Android 13)"),
            ]  # fmt: skip
            req["content"] = body
            fh.write(tnetstring.dumps(state))


def rate_flowreader(path: Path) -> tuple[int, float]:
    t = time.perf_counter()
    with open(path, "rb") as fh:
        n = sum(1 for _ in mitm_io.FlowReader(fh).stream())
    return n, time.perf_counter() - t


def rate_ingest(path: Path) -> tuple[int, float]:
    t = time.perf_counter()
    n = sum(1 for _ in read_flows(path))
    return n, time.perf_counter() - t


def run_cli(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, all its processes) of one `privlab` command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args], cwd=REPO, check=True, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--ingest-flows", type=int, default=20_000)
    ap.add_argument("--keep", type=Path, default=None, help="keep (and reuse) generated files here")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="privlab-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        canaries = work / "canaries.json"
        canaries.write_text(json.dumps(CANARIES))
        # 1. ingest rate against FlowReader on the same (smaller) session
        small = work / f"small-{args.ingest_flows}.mitm"
        if not small.exists():
            make_mitm(small, args.ingest_flows)
        shutil.rmtree(work / "small-out", ignore_errors=True)
        run_cli(["import", str(small), "--out", str(work / "small-out")])
        small_session = next((work / "small-out").iterdir())
        n1, t_reader = rate_flowreader(small)
        n2, t_ingest = rate_ingest(small_session / "flows.jsonl")
        assert n1 == n2 == args.ingest_flows
        print(f"{n1} flows, {small.stat().st_size / 1e6:.0f} MB .mitm")
        print(f"  FlowReader (baseline)      {n1 / t_reader:10.0f} flows/s")
        print(
            f"  privlab ingest (jsonl)     {n2 / t_ingest:10.0f} flows/s   ratio {t_reader / t_ingest:.1f}x (target >= 5x)"
        )
        # 2. import + analyze of the full session
        big = work / f"big-{args.flows}.mitm"
        if not big.exists():
            make_mitm(big, args.flows)
        shutil.rmtree(work / "big-out", ignore_errors=True)
        t_import, cpu_import = run_cli(
            ["import", str(big), "--out", str(work / "big-out"), "--canaries", str(canaries)]
        )
        session = next((work / "big-out").iterdir())
        t_analyze, cpu_analyze = run_cli(["analyze", str(session)])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        import pyarrow.parquet as pq

        detections = pq.read_table(session / "derived" / "detections.parquet").num_rows
        print(f"{args.flows} flows, {big.stat().st_size / 1e6:.0f} MB .mitm; {detections} detections")
        print(f"  privlab import             {t_import:8.1f} s wall {cpu_import:8.1f} s CPU")
        print(f"  privlab analyze            {t_analyze:8.1f} s wall {cpu_analyze:8.1f} s CPU")
        print(f"  import + analyze           {t_import + t_analyze:8.1f} s   (target < 60 s)")
        print(f"  peak memory (largest step) {peak_mb:8.0f} MB  (target < 2048 MB)")
        print(f"  FlowReader alone would take {args.flows / (n1 / t_reader):.1f} s to read it")
        print(
            f"  load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the machine is shared)"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Peak memory of `privlab analyze`'s destinations and findings stages at 1x and 10x an analysed session.

Issue 16 asks the analysis of 1M flows to keep memory bounded; importing 1M flows takes ~12 minutes, the
stages after the per-flow pass take seconds. This benchmark takes a session `privlab analyze` has already
run on (e.g. the 100k-flow one `bench_analyze.py --flows 100k --keep DIR` leaves), makes a copy whose
per-flow derived tables (flows, detections, app_events, bytedance_layers, decode_issues) are repeated
`--times` times with fresh flow and detection ids and times shifted past the previous copy, and runs the
two stages on it in a child process. Each stage's peak is the kernel's high-water mark of that process
(`VmHWM`), reset before the stage (`/proc/self/clear_refs`), so the second stage's figure includes what
the first left allocated, as in `privlab analyze`. The session itself is only read; its flow files are
linked (or copied) into the copy, which the stages only hash and scan.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_findings_memory.py SESSION [--times 1,10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PER_FLOW = ("flows", "detections", "app_events", "bytedance_layers", "decode_issues")
SESSION_FILES = ("session.json", "canaries.json", "custody.jsonl", "seal.json", "tls_failures.jsonl",
                 "annotations.jsonl", "hooks.jsonl")  # fmt: skip
FLOW_FILES = ("flows.jsonl", "flows.mitm", "traffic.pcap")


def _new_ids(column: pa.ChunkedArray, copy: int) -> pa.Array:
    """Ids of copy `copy`: the original's with the copy's number in front (copy 0 keeps them)."""
    values = column.to_pylist()
    return pa.array([v if copy == 0 or v is None else f"{copy:04x}-{v}" for v in values], pa.string())


def repeat_session(src: Path, dest: Path, times: int) -> Path:
    """A copy of the analysed session `src` whose per-flow derived tables hold `times` copies of its flows."""
    dest.mkdir(parents=True)
    for name in SESSION_FILES:
        if (src / name).exists():
            shutil.copy(src / name, dest / name)
    for name in FLOW_FILES:
        if (src / name).exists():
            try:
                os.link(src / name, dest / name)
            except OSError:
                shutil.copy(src / name, dest / name)
    derived = dest / "derived"
    shutil.copytree(
        src / "derived", derived, ignore=shutil.ignore_patterns(*(f"{t}.parquet" for t in PER_FLOW))
    )
    t = pq.read_table(src / "derived" / "flows.parquet", columns=["t_request"]).column(0)
    span = (pc.max(t).value - pc.min(t).value + 1_000_000) if len(t) else 0  # µs
    for table in PER_FLOW:
        path = src / "derived" / f"{table}.parquet"
        if not path.exists():
            continue
        data = pq.read_table(path)
        with pq.ParquetWriter(derived / path.name, data.schema) as writer:
            for copy in range(times):
                part = data
                for i, field in enumerate(data.schema):
                    if field.name == "flow_id":
                        part = part.set_column(i, field, _new_ids(part.column(i), copy))
                    elif field.name == "detection_id" and copy:
                        ids = [hashlib.sha256(f"{copy}|{v}".encode()).hexdigest()[:20] for v in part.column(i).to_pylist()]  # fmt: skip
                        part = part.set_column(i, field, pa.array(ids, pa.string()))
                    elif pa.types.is_timestamp(field.type) and copy:
                        shifted = pc.add(part.column(i), pa.scalar(copy * span, pa.duration("us")))
                        part = part.set_column(i, field, shifted.cast(field.type))
                writer.write_table(part, row_group_size=2000)
    return dest


def child(session: Path) -> None:
    """Run the two stages on `session`, each one's seconds and peak RSS (MB); one JSON line."""
    from analysis.analyze import stages
    from analysis.session import Session

    def status(key: str) -> int:
        with open("/proc/self/status") as fh:
            return int(next(line.split()[1] for line in fh if line.startswith(key))) // 1024

    ctx = stages.StageContext(Session.open(session), force=True)
    out: dict[str, object] = {"start_mb": status("VmRSS:")}
    for stage in (stages.destinations_stage, stages.findings_stage):
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # the high-water mark restarts from the current resident set
        t = time.perf_counter()
        stage(ctx)
        out[stage.__name__] = {"s": round(time.perf_counter() - t, 1), "peak_mb": status("VmHWM:")}
    flows = pq.read_metadata(session / "derived" / "flows.parquet").num_rows
    detections = pq.read_metadata(session / "derived" / "detections.parquet").num_rows
    print(json.dumps({**out, "flows": flows, "detections": detections}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("session", type=Path, help="an analysed session folder (read only)")
    ap.add_argument("--times", default="1,10", help="how many copies of its flows, comma-separated")
    ap.add_argument("--keep", type=Path, default=None, help="build the copies here and keep them")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.session)
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="privlab-bench-findings-"))
    try:
        print(
            f"{'flows':>9} {'detections':>10}  {'destinations s':>14} {'peak MB':>8}  {'findings s':>10} {'peak MB':>8}"
        )
        for times in (int(x) for x in args.times.split(",")):
            copy = work / f"x{times}" / args.session.name
            if not copy.exists():
                repeat_session(args.session, copy, times)
            run = subprocess.run([sys.executable, __file__, str(copy), "--child"], cwd=REPO,
                                 capture_output=True, text=True, check=False)  # fmt: skip
            if run.returncode != 0:
                sys.exit(f"the stages failed on {copy}:\n{run.stderr[-3000:]}")
            r = json.loads(run.stdout.strip().splitlines()[-1])
            d, f = r["destinations_stage"], r["findings_stage"]
            print(
                f"{r['flows']:>9} {r['detections']:>10}  {d['s']:>14} {d['peak_mb']:>8}  {f['s']:>10} {f['peak_mb']:>8}"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

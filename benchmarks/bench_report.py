"""Benchmark: `build_findings` + `build_report` (html, json, pdf, docx) on a generated 100k-flow session.

The tables are generated (100k flows to 12 hosts, ~30k detections, 5k hook events, 20k packets); the
session folder is real (created and sealed). Each measurement runs in a fresh child process and reports
its wall time plus the child's peak resident memory (`ru_maxrss` from `wait4`). The baseline, in the
same run, writes the same five tables to Parquet: a floor for "touch every row once".
Targets from the issue: under 60 s and 2 GB (analysis + report) on the 2-core machine.

    .venv/bin/python benchmarks/bench_report.py [--flows 100000] [--formats html,json,pdf,docx]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000.0
HOSTS = [
    ("log-va.tiktokv.com", "ByteDance", "US", "third-country"),
    ("mon-va.byteoversea.com", "ByteDance", "US", "third-country"),
    ("api16-normal-c-useast1a.tiktokv.com", "ByteDance", "US", "third-country"),
    ("log.tiktokv.com", "ByteDance", "SG", "third-country"),
    ("graph.facebook.com", "Meta", "IE", "EEA"),
    ("t.appsflyer.com", "AppsFlyer", "DE", "EEA"),
    ("www.googleadservices.com", "Google", "IE", "EEA"),
    ("app-measurement.com", "Google", "NL", "EEA"),
    ("api.branch.io", "Branch", "US", "third-country"),
    ("sdk.pangle.io", "ByteDance", "JP", "adequacy"),
    ("cdn.example.net", "Example CDN", "FR", "EEA"),
    ("unknown.example.org", "unknown.example.org", "unknown", "unknown"),
]
DATA_TYPES = [
    "android_id",
    "advertising_id",
    "clipboard",
    "imei",
    "location",
    "mac",
    "email",
    "installed_apps",
]


def generate(n_flows: int) -> Any:
    """Synthetic tables with the schema's columns (deterministic)."""
    import random

    from analysis.findings import TableSet

    rnd = random.Random(7)
    flows, dets = [], []
    for i in range(n_flows):
        host, _, _, _ = HOSTS[i % len(HOSTS)]
        t = T0 + i * 0.01
        # Only the columns the report reads; frame_from_rows gives the others as nulls.
        flows.append(
            {
                "flow_id": f"f{i:06d}",
                "t_request": t,
                "server_ip": f"10.1.{i % len(HOSTS)}.1",
                "sni": host,
                "host": host,
                "http_version": "HTTP/2.0",
                "method": "POST",
                "url": f"https://{host}/service/2/app_log/?aid=1233&iid={i}&token=SECRET{i}",
                "status": 200,
                "request_headers": [{"name": "cookie", "value": f"sessionid=S{i}"}],
                "request_body_size": 400 + i % 700,
                "via": "proxy",
            }
        )
        if rnd.random() < 0.3:
            dt = DATA_TYPES[rnd.randrange(len(DATA_TYPES))]
            dets.append(
                {
                    "detection_id": f"d{i:06d}",
                    "flow_id": f"f{i:06d}",
                    "part": "body:$.header.device_id",
                    "data_type": dt,
                    "canary_id": f"c-{dt}",
                    "encoding": "gzip>json",
                    "method": "canary",
                    "confidence": 1.0,
                    "excerpt": '{"device_id":"«a1b2c3d4e5f60718»","token":"SECRET"}',
                }
            )
    hooks = [
        {
            "seq": k,
            "t": T0 + k * 0.2,
            "pid": 1,
            "tid": 1,
            "category": "identifiers",
            "api": "Settings.Secure.getString(android_id)",
            "args": "[]",
            "ret": '"a1b2c3d4e5f60718"',
            "stack": ["com.bytedance.applog.a"],
            "sdk": "ByteDance AppLog",
        }
        for k in range(5000)
    ]
    dests = [
        {
            "host": h,
            "etld1": ".".join(h.split(".")[-2:]),
            "entity": e,
            "parent": e,
            "hq_country": c,
            "party": "first" if e == "ByteDance" else "third",
            "category": "analytics",
            "ips": [f"10.1.{k}.1"],
            "ip_countries": [c],
            "jurisdiction": j,
        }
        for k, (h, e, c, j) in enumerate(HOSTS)
    ]
    packets = [
        {
            "t": T0 + k,
            "proto": "quic" if k % 10 == 0 else "tls",
            "src": "10.0.2.15:1",
            "dst": "10.1.0.1:443",
            "sni": HOSTS[k % len(HOSTS)][0],
            "bytes": 1200,
        }
        for k in range(20000)
    ]
    return TableSet.from_rows(
        flows=flows, hook_events=hooks, detections=dets, destinations=dests, packets=packets
    )


def child(mode: str, n_flows: int, formats: str, workdir: str) -> None:
    """One measurement in this process; prints {"seconds": ..., ...} as the last line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.report import build_report
    from analysis.schema import TABLES
    from analysis.session import Session
    from analysis.session.seal import seal_session

    tables = generate(n_flows)
    out: dict[str, Any] = {"flows": len(tables.flows), "detections": len(tables.detections)}
    t0 = time.perf_counter()
    if mode == "baseline":
        for name in ("flows", "hook_events", "detections", "destinations", "packets"):
            pq.write_table(
                pa.Table.from_pandas(getattr(tables, name), schema=TABLES[name], preserve_index=False),
                Path(workdir) / f"{name}.parquet",
            )
    else:
        s = Session.create(Path(workdir), "bench", session_id=f"bench-{mode}")
        s.mark("consent-accepted", t=T0 + n_flows * 0.005)
        seal_session(s)
        t0 = time.perf_counter()
        written = build_report(s.path, tables, formats)
        out["sizes"] = {k: p.stat().st_size for k, p in written.items() if not k.startswith("chart:")}
    out["seconds"] = time.perf_counter() - t0
    print(json.dumps(out))


def measure(mode: str, n_flows: int, formats: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--flows",
                str(n_flows),
                "--formats",
                formats,
                "--workdir",
                tmp,
            ],
            stdout=subprocess.PIPE,
            cwd=REPO,
        )
        assert proc.stdout is not None
        data = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"{mode} child failed ({status})")
        result: dict[str, Any] = json.loads(data.strip().splitlines()[-1])
        result["peak_mb"] = usage.ru_maxrss / 1024
        return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=100_000)
    ap.add_argument("--formats", default="html,json,pdf,docx")
    ap.add_argument("--child")
    ap.add_argument("--workdir")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.flows, args.formats, args.workdir)
        return
    base = measure("baseline", args.flows, args.formats)
    data = measure("report", args.flows, "json")
    rep = measure("report", args.flows, args.formats)
    print(f"session: {rep['flows']} flows, {rep['detections']} detections")
    print(f"baseline (write the 5 tables to Parquet): {base['seconds']:.2f} s, peak {base['peak_mb']:.0f} MB")
    print(f"privlab report (findings, charts, json):  {data['seconds']:.2f} s, peak {data['peak_mb']:.0f} MB")
    print(f"privlab report ({args.formats}):   {rep['seconds']:.2f} s, peak {rep['peak_mb']:.0f} MB")
    print(
        f"ratio report / baseline: {rep['seconds'] / base['seconds']:.1f}x time, {rep['peak_mb'] / base['peak_mb']:.2f}x memory"
    )
    print("output sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sorted(rep["sizes"].items())))
    print("targets (analyze + report): < 60 s, < 2048 MB; this measures the report stage only")


if __name__ == "__main__":
    main()

"""Flows per second through mitmdump with privlab's capture addons, against `mitmdump -w` alone.

Same client (httpx, one connection, HTTPS POSTs with a 300-byte body), same lab upstream, same run.
Both proxies route to the lab upstream (addons/upstream.py); the baseline records with `-w`, privlab
with addons/privlab.py (capture + TLS failures + routing: flows.mitm and a custody record per flow;
flows.jsonl is built after the proxy stops and is not part of this figure).
Target: ratio >= 0.9.

    .venv/bin/python benchmarks/bench_capture.py [--flows 1500] [--rounds 2]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from analysis.capture.proxy import ADDONS_DIR
from analysis.capture.proxy import ProxyConfig
from analysis.capture.proxy import Upstream
from analysis.capture.proxy import free_port
from analysis.capture.proxy import mitmdump_binary
from analysis.session import Session
from analysis.validation.upstream import start_upstream


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("proxy did not start")


def drive(port: int, ca: Path, n: int) -> float:
    """Send n POSTs through the proxy; returns flows per second."""
    with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=str(ca), timeout=30) as client:
        client.post("https://log-va.tiktokv.com/warmup", content=b"w")
        t0 = time.perf_counter()
        for i in range(n):
            client.post(f"https://log-va.tiktokv.com/service/2/app_log/?i={i}", content=b"x" * 300)
        return n / (time.perf_counter() - t0)


def run(cmd: list[str], port: int, ca: Path, n: int) -> float:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        return drive(port, ca, n)
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        up = start_upstream(tmp / "up")
        upstream = Upstream(up.tls, up.plain, up.cert)
        confdir = tmp / "conf"
        base_rates, ours_rates = [], []
        for r in range(args.rounds):
            port = free_port()
            session = Session.create(tmp / "caps", f"bench{r}")
            ours = ProxyConfig(session.path, port=port, confdir=confdir, upstream=upstream).command(port)
            ours += ["-q"]
            ours_rates.append(run(ours, port, confdir / "mitmproxy-ca-cert.pem", args.flows))
            port = free_port()
            base = [str(mitmdump_binary()), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
                    "--set", f"confdir={confdir}", "--set", "connection_strategy=lazy",
                    "-s", str(ADDONS_DIR / "upstream.py"), "--set", f"upstream_tls={up.tls}",
                    "--set", f"upstream_plain={up.plain}", "--set", f"ssl_verify_upstream_trusted_ca={up.cert}",
                    "-w", str(tmp / f"base{r}.mitm")]  # fmt: skip
            base_rates.append(run(base, port, confdir / "mitmproxy-ca-cert.pem", args.flows))
        up.stop()
    b, o = max(base_rates), max(ours_rates)
    print(
        f"mitmdump -w alone:        {b:8.1f} flows/s  (rounds: {', '.join(f'{x:.1f}' for x in base_rates)})"
    )
    print(
        f"privlab capture addons:   {o:8.1f} flows/s  (rounds: {', '.join(f'{x:.1f}' for x in ours_rates)})"
    )
    paired = sorted(x / y for x, y in zip(ours_rates, base_rates, strict=True))
    print(f"ratio (best of rounds):   {o / b:8.2f}  (target >= 0.9)")
    print(f"ratio (median of rounds): {paired[len(paired) // 2]:8.2f}")
    sys.exit(0)


if __name__ == "__main__":
    main()

"""Peak memory (max RSS) of privlab commands on the inputs issue 18 found costly.

Each command runs in its own process; its peak resident set is the kernel's high-water mark of that
process's own memory (`VmHWM` in /proc/self/status, read as it exits). Not `wait4`'s ru_maxrss: Linux
carries the high-water mark of the process image before `exec` into it, so a child forked from this
benchmark (which builds the inputs, a 180 MB HAR text among them) was charged with this benchmark's
memory: the 700+ MB once reported for every case here was that, not the command.
Cases:
- `analyze` of a session holding one 30 MB plain-text request body (issue: ~1.65 GB per worker);
- `import` of a 0.2 MB `.zhar` (zlib HAR) that inflates to a 180 MB HAR (issue: 2.0 GB; 1,272 MB before the
  streaming HAR reader, 675 MB after, measured side by side), and of one whose single entry is as large as
  an entry may be (250 MB body, under the 256 MB cap of `import_._MAX_ENTRY`; 862 MB): the import reads one
  entry at a time, so this is the worst case under the cap;
- `privlab apk` of a ~1 MB APK whose classes.dex inflates about 150:1 (issue: 2.3 GB).
Targets (issue 18): analyze under 2x the largest body + 300 MB per worker; no input under 10 MB makes
any command exceed 1 GB.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_memory.py [--body-mb 30] [--workers 1]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

from mitmproxy import io as mitm_io
from mitmproxy.test import tflow

from analysis.session import Session
from analysis.session.seal import seal_session

# `python -m analysis.cli`, writing its own peak RSS (VmHWM, kB) to $PRIVLAB_BENCH_HWM as it exits.
_LAUNCH = (
    "import atexit, os, runpy, sys\n"
    "def hwm():\n"
    "    kb = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
    "    open(os.environ['PRIVLAB_BENCH_HWM'], 'w').write(kb)\n"
    "atexit.register(hwm)\n"
    "sys.argv[0] = 'privlab'\n"
    "runpy.run_module('analysis.cli', run_name='__main__', alter_sys=True)\n"
)
PRIVLAB = [sys.executable, "-c", _LAUNCH]


def peak_rss(cmd: list[str], env: dict[str, str]) -> tuple[int, float, int]:
    """(exit code, seconds, peak RSS in MB) of one command (its own process; PRIVLAB_WORKERS=1 keeps the
    work in it)."""
    with tempfile.NamedTemporaryFile(suffix=".hwm") as hwm:
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env={**env, "PRIVLAB_BENCH_HWM": hwm.name}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)  # fmt: skip
        secs = time.monotonic() - t0
        text = Path(hwm.name).read_text().strip()
    return proc.returncode, secs, int(text) // 1024 if text else -1


def session_with_body(root: Path, mb: int) -> Path:
    s = Session.create(root, "bigbody")
    flow = tflow.tflow(resp=True)
    flow.request.method = "POST"
    flow.request.headers["content-type"] = "text/plain"
    line = b"device_id=1234567890 lorem ipsum dolor sit amet consectetur adipiscing elit\n"
    flow.request.raw_content = (line * (mb * 1024 * 1024 // len(line) + 1))[: mb * 1024 * 1024]
    buf = io.BytesIO()
    mitm_io.FlowWriter(buf).add(flow)
    s.append("flows.mitm", buf.getvalue(), kind="flow", ref=flow.id)
    seal_session(s, status="sealed")
    return s.path


def zhar(root: Path, body_mb: int = 180) -> Path:
    """A zlib HAR of about 0.2 MB that inflates to roughly `body_mb` MB of JSON (one huge body text).

    Written by streaming the compressor: this process never holds the body, so the children it starts do
    not begin with its pages (a forked child's ru_maxrss counts what it inherited before exec)."""
    entry = {
        "startedDateTime": "2024-01-01T00:00:00Z", "time": 1,
        "request": {"method": "POST", "url": "http://a.example/x", "httpVersion": "HTTP/1.1", "headers": [],
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0,
                    "postData": {"mimeType": "text/plain", "text": "@BODY@"}},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1,
                     "bodySize": 0},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
    }  # fmt: skip
    doc = json.dumps(
        {"log": {"version": "1.2", "creator": {"name": "b", "version": "1"}, "entries": [entry]}}
    )
    before, after = doc.encode().split(b"@BODY@")
    path = root / f"big-{body_mb}.zhar"
    compressor = zlib.compressobj(9)
    piece = b"a" * (1024 * 1024)
    with open(path, "wb") as fh:
        fh.write(compressor.compress(before))
        for _ in range(body_mb):
            fh.write(compressor.compress(piece))
        fh.write(compressor.compress(after) + compressor.flush())
    return path


def apk(root: Path) -> Path:
    """An APK (zip) of ~1 MB whose classes.dex inflates about 150:1 (under the 200:1 bomb ratio)."""
    rnd = os.urandom(1024 * 1024 // 150)
    dex = b"dex\n035\0" + (rnd + bytes(1024 * 1024 - len(rnd))) * 150
    path = root / "big.apk"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", b"\x03\x00\x08\x00" + bytes(64))
        z.writestr("classes.dex", dex)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--body-mb", type=int, default=30)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    env = {**os.environ, "PRIVLAB_WORKERS": str(args.workers)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env["PRIVLAB_STATE"] = str(root / "state")
        cases = []
        s = session_with_body(root / "caps", args.body_mb)
        cases.append((f"analyze, one {args.body_mb} MB text body", PRIVLAB + ["analyze", str(s)],
                      2 * args.body_mb + 300 * args.workers, (s / "flows.mitm").stat().st_size))  # fmt: skip
        for body_mb in (180, 250):
            z = zhar(root, body_mb)
            cases.append((f"import .zhar ({z.stat().st_size / 1e6:.1f} MB, {body_mb} MB body)",
                          PRIVLAB + ["import", str(z), "--out", str(root / f"imp-{body_mb}")], 1024,
                          z.stat().st_size))  # fmt: skip
        a = apk(root)
        cases.append((f"apk ({a.stat().st_size / 1e6:.1f} MB, dex 150:1)",
                      PRIVLAB + ["apk", str(a), "--out", str(root / "apkout")], 1024, a.stat().st_size))  # fmt: skip
        print(f"{'case':45} {'exit':>4} {'s':>6} {'peak MB':>8} {'target MB':>9}  met")
        for name, cmd, target, _size in cases:
            code, secs, mb = peak_rss(cmd, env)
            print(f"{name:45} {code:>4} {secs:6.1f} {mb:8d} {target:9d}  {'yes' if mb <= target else 'NO'}")


if __name__ == "__main__":
    main()

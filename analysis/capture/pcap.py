"""Optional packet capture with a real `tcpdump`; when it cannot run, the session says why instead of failing."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from analysis.session.processes import die_with_parent


@dataclass
class PacketCapture:
    process: subprocess.Popen[bytes] | None
    path: Path
    note: str | None  # why there is no capture, when there is none

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # tcpdump flushes and closes the file on SIGINT
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_tcpdump(
    path: Path, log_path: Path, interface: str = "lo", bpf: str = "", settle: float = 5.0
) -> PacketCapture:
    """Start `tcpdump -U -w path`; returns with a note instead of raising when it is not available."""
    exe = shutil.which("tcpdump")
    if exe is None:
        return PacketCapture(
            None, path, "tcpdump is not installed (apt-get install tcpdump); no packet capture"
        )
    # --immediate-mode: without it libpcap hands packets over per filled block or 1 s timeout, and a
    # short capture stopped with SIGINT loses what is still in the ring.
    cmd = [exe, "-i", interface, "--immediate-mode", "-U", "-s", "0", "-w", str(path)] + (
        [bpf] if bpf else []
    )
    err_path = log_path
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # own group; ends (flushing) if the capture process dies
        )
    deadline = time.monotonic() + settle
    # tcpdump prints "listening on ..." once the capture is open; wait for it so early packets are not lost.
    while time.monotonic() < deadline:
        text = err_path.read_text(errors="replace")
        if proc.poll() is not None:
            reason = text.strip().splitlines()[-1] if text.strip() else f"exit code {proc.returncode}"
            return PacketCapture(None, path, f"tcpdump could not capture on {interface}: {reason}")
        if "listening on" in text:
            return PacketCapture(proc, path, None)
        time.sleep(0.05)
    return PacketCapture(proc, path, None)

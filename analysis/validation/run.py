"""Capture the control app end to end: local upstream, real mitmdump, the app, ground truth, seal."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from analysis.capture.host import CaptureResult
from analysis.capture.host import HostCapture
from analysis.capture.host import capture_host
from analysis.capture.proxy import DEFAULT_CONFDIR
from analysis.capture.proxy import Upstream
from analysis.session import Session
from analysis.validation.planted import CANARIES
from analysis.validation.upstream import start_upstream

GROUND_TRUTH = "ground_truth.json"
# The planted reads the twin app made (api, data type, canary, reading class): access recall's denominator.
TWIN_READS = "twin_reads.json"
CONTROL_APP_PACKAGE = "com.zhiliaoapp.musically"


def capture_control_app(
    root: Path,
    *,
    name: str = "control-app",
    session_id: str | None = None,
    pcap: bool = False,
    frida: bool = False,
    confdir: Path = DEFAULT_CONFDIR,
    signing_key: Path | None = None,
) -> CaptureResult:
    """Run the control app through a real mitmdump to a local upstream; the session gets its ground truth."""
    with tempfile.TemporaryDirectory(prefix="privlab-upstream-") as tmp:
        upstream = start_upstream(Path(tmp))
        gt_path = Path(tmp) / GROUND_TRUTH

        def add_ground_truth(session: Session) -> None:
            if gt_path.exists():
                session.add_file(GROUND_TRUTH, gt_path.read_bytes(), kind="ground-truth")

        try:
            cfg = HostCapture(
                command=[
                    sys.executable,
                    "-m",
                    "analysis.validation.control_app",
                    "--ground-truth",
                    str(gt_path),
                ],
                root=root,
                name=name,
                session_id=session_id,
                pcap=pcap,
                confdir=confdir,
                upstream=Upstream(tls=upstream.tls, plain=upstream.plain, trusted_ca=upstream.cert),
                canaries=list(CANARIES),
                app={
                    "package": CONTROL_APP_PACKAGE,
                    "name": "privlab control app (host twin)",
                    "control_app": True,
                },
                note="privlab control app: planted values in known encodings, for method validation",
                signing_key=signing_key,
                frida=frida,
                before_seal=add_ground_truth,
            )
            return capture_host(cfg)
        finally:
            upstream.stop()


def capture_twin_app(
    root: Path,
    *,
    name: str = "twin-app",
    session_id: str | None = None,
    pcap: bool = False,
    confdir: Path = DEFAULT_CONFDIR,
    signing_key: Path | None = None,
) -> CaptureResult:
    """Run the SDK app on the JVM device twin under Frida through a real mitmdump to a local upstream.

    The session gets the app's ground truth of what it sent (`ground_truth.json`) and of the planted
    reads it made (`twin_reads.json`), so both transmission and access recall can be measured.
    """
    from analysis.validation import twin

    classes = twin.build()
    with tempfile.TemporaryDirectory(prefix="privlab-upstream-") as tmp:
        upstream = start_upstream(Path(tmp))
        gt_path, reads_path = Path(tmp) / GROUND_TRUTH, Path(tmp) / TWIN_READS

        def add_ground_truth(session: Session) -> None:
            if gt_path.exists():
                session.add_file(GROUND_TRUTH, gt_path.read_bytes(), kind="ground-truth")
            if reads_path.exists():
                session.add_file(TWIN_READS, reads_path.read_bytes(), kind="ground-truth")

        try:
            cfg = HostCapture(
                command=twin.command(classes, twin.SDK_APP_MAIN, CANARIES, [str(gt_path), str(reads_path)]),
                root=root,
                name=name,
                session_id=session_id,
                pcap=pcap,
                confdir=confdir,
                upstream=Upstream(tls=upstream.tls, plain=upstream.plain, trusted_ca=upstream.cert),
                canaries=list(CANARIES),
                app={
                    "package": CONTROL_APP_PACKAGE,
                    "name": "privlab SDK app on the JVM device twin",
                    "control_app": True,
                    "runtime": "OpenJDK 17 HotSpot (device twin: Android's classes rebuilt in Java)",
                },
                note="privlab twin app: SDK-like code reads planted values through hooked APIs and sends them",
                signing_key=signing_key,
                frida=True,
                before_seal=add_ground_truth,
            )
            return capture_host(cfg)
        finally:
            upstream.stop()

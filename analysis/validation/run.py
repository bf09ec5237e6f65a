"""Capture the control app end to end: local upstream, real mitmdump, the app, ground truth, seal."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analysis.capture.host import CaptureResult
from analysis.capture.host import HostCapture
from analysis.capture.host import capture_host
from analysis.capture.host import proxy_env
from analysis.capture.host import record
from analysis.capture.host import run_program
from analysis.capture.host import run_under_frida
from analysis.capture.proxy import DEFAULT_CONFDIR
from analysis.capture.proxy import Proxy
from analysis.capture.proxy import Upstream
from analysis.session import Session
from analysis.validation.control_app import STEPS_ENV
from analysis.validation.planted import CANARIES
from analysis.validation.upstream import start_upstream

GROUND_TRUTH = "ground_truth.json"
# The planted reads the twin app made (api, data type, canary, reading class): access recall's denominator.
TWIN_READS = "twin_reads.json"
CONTROL_APP_PACKAGE = "com.zhiliaoapp.musically"


@contextmanager
def lab_upstream() -> Iterator[tuple[Upstream, Path]]:
    """A local upstream for TikTok-like hosts (and a scratch folder for ground truth), stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="privlab-upstream-") as tmp:
        server = start_upstream(Path(tmp))
        try:
            yield Upstream(tls=server.tls, plain=server.plain, trusted_ca=server.cert), Path(tmp)
        finally:
            server.stop()


def ground_truth_adder(*files: tuple[Path, str]) -> Callable[[Session], None]:
    """A `before_seal` hook adding each (scratch file, session name) that the app wrote to the session."""

    def add(session: Session) -> None:
        for path, name in files:
            if path.exists():
                session.add_file(name, path.read_bytes(), kind="ground-truth")

    return add


def capture_control_app(
    root: Path,
    *,
    name: str = "control-app",
    session_id: str | None = None,
    pcap: bool = False,
    frida: bool = False,
    confdir: Path = DEFAULT_CONFDIR,
    signing_key: Path | None = None,
    conditions: dict[str, str] | None = None,
    steps: list[str] | None = None,
) -> CaptureResult:
    """Run the control app through a real mitmdump to a local upstream; the session gets its ground truth."""
    with lab_upstream() as (upstream, tmp):
        gt_path = tmp / GROUND_TRUTH
        cfg = HostCapture(
            command=[sys.executable, "-m", "analysis.validation.control_app", "--ground-truth", str(gt_path)],
            root=root,
            name=name,
            session_id=session_id,
            pcap=pcap,
            confdir=confdir,
            upstream=upstream,
            canaries=list(CANARIES),
            app={
                "package": CONTROL_APP_PACKAGE,
                "name": "privlab control app (host twin)",
                "control_app": True,
            },
            note="privlab control app: planted values in known encodings, for method validation",
            signing_key=signing_key,
            frida=frida,
            before_seal=ground_truth_adder((gt_path, GROUND_TRUTH)),
            conditions=dict(conditions or {}),
            extra_env={STEPS_ENV: ",".join(steps)} if steps else {},
        )
        return capture_host(cfg)


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
    with lab_upstream() as (upstream, tmp):
        gt_path, reads_path = tmp / GROUND_TRUTH, tmp / TWIN_READS
        cfg = HostCapture(
            command=twin.command(classes, twin.SDK_APP_MAIN, CANARIES, [str(gt_path), str(reads_path)]),
            root=root,
            name=name,
            session_id=session_id,
            pcap=pcap,
            confdir=confdir,
            upstream=upstream,
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
            watch=list(twin.SDK_APP_WATCH),
            before_seal=ground_truth_adder((gt_path, GROUND_TRUTH), (reads_path, TWIN_READS)),
        )
        return capture_host(cfg)


def capture_sample(root: Path, *, session_id: str | None = None, pcap: bool = True) -> CaptureResult:
    """The demo's sample: the SDK app on the JVM twin under Frida, then the control app, in one session.

    The twin app shows reads on the device leading to sends (hooks.jsonl with Java stacks); the control
    app keeps the transmission validation (planted values in many encodings, near-miss decoys). Both go
    through the same real mitmdump; their ground truths are joined (probe ids do not overlap).
    """
    from analysis.validation import twin

    classes = twin.build()
    with lab_upstream() as (upstream, tmp):
        gt_twin, gt_control, reads = tmp / "twin-gt.json", tmp / "control-gt.json", tmp / TWIN_READS
        twin_cmd = twin.command(classes, twin.SDK_APP_MAIN, CANARIES, [str(gt_twin), str(reads)])
        control_cmd = [
            sys.executable,
            "-m",
            "analysis.validation.control_app",
            "--ground-truth",
            str(gt_control),
        ]

        def add_ground_truth(session: Session) -> None:
            parts = [p for f in (gt_twin, gt_control) if f.exists() for p in json.loads(f.read_text())]
            session.add_file(GROUND_TRUTH, (json.dumps(parts, indent=1) + "\n").encode(), kind="ground-truth")
            if reads.exists():
                session.add_file(TWIN_READS, reads.read_bytes(), kind="ground-truth")

        cfg = HostCapture(
            command=twin_cmd, root=root, name="sample", session_id=session_id, pcap=pcap,
            upstream=upstream,
            canaries=list(CANARIES),
            app={
                "package": CONTROL_APP_PACKAGE,
                "name": "privlab SDK app on the JVM device twin, then the control app (host twin)",
                "control_app": True,
                "runtime": "OpenJDK 17 HotSpot (device twin: Android's classes rebuilt in Java); CPython",
            },
            note="privlab sample: SDK-like code on the JVM device twin reads planted values through hooked "
            "APIs and sends them; then the control app sends planted values in known encodings",
            frida=True, watch=list(twin.SDK_APP_WATCH), before_seal=add_ground_truth,
        )  # fmt: skip

        def run_both(session: Session, proxy: Proxy) -> tuple[int | None, str | None]:
            env = {**os.environ, **proxy_env(proxy), "PRIVLAB_SESSION": str(session.path)}
            code, reason = run_under_frida(session, twin_cmd, env, proxy, watch=cfg.watch)
            if reason is not None or code != 0:
                return code, reason or f"the twin app exited with code {code}"
            session.mark("control-app-start")
            return run_program(control_cmd, env, proxy)

        session = Session.create(
            root, cfg.name, mode="host", app=cfg.app, canaries=cfg.canaries, note=cfg.note,
            extra={"capture": {"command": twin_cmd, "then": control_cmd, "pcap": pcap}},
            session_id=session_id,
        )  # fmt: skip
        return record(session, cfg, run_both)

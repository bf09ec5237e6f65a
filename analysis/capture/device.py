"""Device capture: `privlab capture --device S --app PKG`, from a rooted emulator to a sealed session.

The device side (`analysis/device/`) checks every precondition, plants and reads the canaries and says
which APKs to pull; this module makes the session from that plan, records through the same mitmdump
path as host captures (`host.record`) and runs the app under the Frida runner on the device. While it
runs, the device and frida-server are polled: if either goes away the session is sealed `incomplete`
with the reason and what to do.

A stand-in program on this machine can take the app's place (`stand_in_command`): the device facts,
canaries and APKs still come from the device. Tests use it with the fake adb device, and it lets the
control app be captured with a real device's identity.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from analysis.capture.host import CaptureOptions
from analysis.capture.host import CaptureResult
from analysis.capture.host import proxy_env
from analysis.capture.host import record
from analysis.capture.proxy import Proxy
from analysis.capture.proxy import port_in_use
from analysis.device.facts import TIKTOK
from analysis.device.prepare import prepare_device_session
from analysis.device.prepare import pull_apks
from analysis.device.prepare import session_fault
from analysis.errors import CaptureError
from analysis.errors import PrivlabError
from analysis.session import Session
from analysis.session.seal import seal_session

DEVICE_PROXY_PORT = 8080  # `privlab device setup` points `adb reverse` at this port
FAULT_POLL_SECONDS = 2.0


@dataclass
class DeviceCapture(CaptureOptions):
    name: str = "device"
    serial: str = ""
    app: str = TIKTOK
    plant: Path | None = None
    duration: float | None = None
    frida: bool = True
    stand_in_command: list[str] = field(default_factory=list)


def _supervise(
    ended: Callable[[float], bool], proxy: Proxy, serial: str, duration: float | None
) -> str | None:
    """Wait until the app ended, the duration passed, Ctrl-C, or a fault; returns the fault, if any."""
    started = time.monotonic()
    next_poll = started + FAULT_POLL_SECONDS
    try:
        while not ended(0.2):
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                return None
            if not proxy.alive():
                return f"mitmdump exited with code {proxy.process.returncode} during capture"
            if now >= next_poll:
                next_poll = now + FAULT_POLL_SECONDS
                fault = session_fault(serial)
                if fault:
                    return fault
    except KeyboardInterrupt:
        return None
    return None


def capture_device(cfg: DeviceCapture) -> CaptureResult:
    """Check and prepare the device, make the session, capture the app, seal."""
    port = cfg.port or DEVICE_PROXY_PORT
    if port_in_use("127.0.0.1", port):
        raise CaptureError(
            f"port {port} on 127.0.0.1 is already in use; the device is routed there by adb reverse"
        )
    cfg.port = port
    plan = prepare_device_session(cfg.serial, cfg.app, cfg.plant, proxy_port=port, confdir=cfg.confdir)
    capture_facts = {
        "serial": plan.serial,
        "pcap": cfg.pcap,
        "duration": cfg.duration,
        "device_warnings": plan.warnings,
        "stand_in_command": cfg.stand_in_command or None,
    }
    session = Session.create(
        cfg.root, cfg.name, mode="device", app=plan.app_facts, device=plan.facts, canaries=plan.canaries,
        note=cfg.note, extra={"capture": capture_facts}, session_id=cfg.session_id, conditions=cfg.conditions,
    )  # fmt: skip
    try:
        for apk in pull_apks(plan.serial, plan.apk_paths, session.path / "apk"):
            session.record_file(f"apk/{apk.path.name}", kind="apk")
    except PrivlabError as e:
        seal_session(session, status="incomplete", reason=str(e))
        raise

    def run_app(session: Session, proxy: Proxy) -> tuple[int | None, str | None]:
        if cfg.stand_in_command:
            env = {**os.environ, **proxy_env(proxy), "PRIVLAB_SESSION": str(session.path)}
            proc = subprocess.Popen(cfg.stand_in_command, env=env)

            def ended(timeout: float) -> bool:
                try:
                    proc.wait(timeout)
                    return True
                except subprocess.TimeoutExpired:
                    return False

            try:
                reason = _supervise(ended, proxy, plan.serial, cfg.duration)
            finally:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(10)
            return proc.returncode, reason
        from analysis.capture.frida import FridaRunner

        runner = FridaRunner(session, device_id=plan.serial, ca_der=_ca_der(proxy))
        runner.spawn([cfg.app])
        try:
            reason = _supervise(runner.wait, proxy, plan.serial, cfg.duration)
        finally:
            runner.stop()
        return None, reason

    return record(session, cfg, run_app)


def _ca_der(proxy: Proxy) -> bytes:
    """The interception CA in DER, for the agent's native BoringSSL pinning bypass (trust ours, not all)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(proxy.ca.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)

"""The device half of `privlab capture --device S --app PKG`: check, plant, read, and say what to pull.

`prepare_device_session` refuses (one line per missing precondition, each with its fix) unless the
device is ready, then returns a `DeviceSessionPlan`: the device facts for session.json, the canaries
(planted and read), the APK paths to pull, and the proxy the device is routed to. `pull_apks` copies
the APKs into the session's `apk/` folder. The capture side owns the session folder; nothing here
writes to it except `pull_apks` into the folder it is given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from analysis.device.adb import Adb
from analysis.device.adb import AdbError
from analysis.device.adb import probe_root
from analysis.device.adb import resolve_serial
from analysis.device.ca import DEFAULT_CONFDIR
from analysis.device.checks import FAIL
from analysis.device.checks import WARN
from analysis.device.checks import Check
from analysis.device.checks import run_checks
from analysis.device.facts import TIKTOK
from analysis.device.facts import app_info
from analysis.device.facts import device_facts
from analysis.device.facts import load_plant_plan
from analysis.device.facts import plant as plant_canaries
from analysis.device.facts import read_identifiers
from analysis.device.facts import read_props
from analysis.errors import CaptureError
from analysis.schema import Canary

# Checks a live capture cannot do without; the others (QUIC, ABI on an unknown image) only warn.
REQUIRED = ("adb", "root", "ca-local", "ca-system", "ca-apex", "proxy", "frida-server", "app")


@dataclass
class DeviceSessionPlan:
    """Everything the capture needs from the device side."""

    serial: str
    app: str
    facts: dict[str, Any]  # session.json "device"
    app_facts: dict[str, Any]  # session.json "app": package, version, APK paths and sha256 on the device
    canaries: list[Canary]  # planted + read-from-device, for canaries.json
    apk_paths: list[str]  # `pm path`, to pull with `pull_apks`
    proxy_host: str  # where mitmdump must listen on the host (the device reaches it through adb reverse)
    proxy_port: int
    clipboard_text: str | None = None  # for the Frida runner to set in the app (no shell command can)
    warnings: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


@dataclass(frozen=True)
class PulledApk:
    """One APK copied from the device."""

    device_path: str
    path: Path
    sha256: str
    size: int


def prepare_device_session(
    serial: str,
    app: str = TIKTOK,
    plant: Path | None = None,
    *,
    proxy_port: int = 8080,
    confdir: Path = DEFAULT_CONFDIR,
    console_port: int | None = None,
) -> DeviceSessionPlan:
    """Check the device, plant the canaries of `plant` (a canaries.toml), read its identifiers.

    Raises CaptureError (one line, every missing precondition with its fix) when the device is not ready.
    `console_port` overrides the emulator console port derived from an `emulator-NNNN` serial.
    """
    serial = resolve_serial(serial)
    checks = run_checks(serial, app=app, confdir=confdir, proxy_port=proxy_port)
    missing = [c for c in checks if c.status == FAIL and c.key in REQUIRED]
    if missing:
        what = "; ".join(
            f"{c.title}: {c.detail} (fix: {c.fix})" if c.fix else f"{c.title}: {c.detail}" for c in missing
        )
        raise CaptureError(f"device {serial} is not ready: {what}")
    warnings = [f"{c.title}: {c.detail}" for c in checks if c.status in (WARN, FAIL)]
    adb = Adb(serial)
    probe_root(adb)
    props = read_props(adb)
    info = app_info(adb, app)
    if info is None:  # uninstalled between the check and now
        raise CaptureError(f"{app} is not installed on {serial}")
    canaries: list[Canary] = []
    clipboard = None
    if plant is not None:
        plan = load_plant_plan(plant)
        canaries += plant_canaries(adb, plan, console=console_port)
        clipboard = plan.clipboard
    canaries += read_identifiers(adb, app)
    return DeviceSessionPlan(
        serial=serial,
        app=app,
        facts=device_facts(adb, props),
        app_facts={
            "package": app,
            "version_name": info.version_name,
            "version_code": info.version_code,
            "apks": [{"device_path": p, "sha256": info.sha256.get(p)} for p in info.paths],
        },
        canaries=canaries,
        apk_paths=info.paths,
        proxy_host="127.0.0.1",
        proxy_port=proxy_port,
        clipboard_text=clipboard,
        warnings=warnings,
        checks=checks,
    )


def pull_apks(serial: str, paths: list[str], dest: Path) -> list[PulledApk]:
    """Pull each APK into `dest` (kept under its device file name) and hash it; refuses to overwrite."""
    adb = Adb(serial)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for device_path in paths:
        local = dest / device_path.rsplit("/", 1)[-1]
        if local.exists():
            raise CaptureError(f"{local}: already exists; refusing to overwrite a pulled APK")
        try:
            adb.pull(device_path, local)
        except AdbError as e:
            raise CaptureError(str(e)) from None
        data = local.read_bytes()
        out.append(PulledApk(device_path, local, hashlib.sha256(data).hexdigest(), len(data)))
    return out


def session_fault(serial: str) -> str | None:
    """During a capture: None while the device and frida-server are up, else the one-line reason and fix.

    Meant to be polled by the capture loop (a few adb round-trips, well under a second); the reason is
    what goes into session.json's `status_reason` when the session is sealed `incomplete`.
    """
    adb = Adb(serial)
    state = adb.state()
    if state != "device":
        return (
            f"device {serial} went away ({state}): restart the emulator or reconnect it "
            f"(`adb connect {serial}`), then start a new capture"
        )
    try:
        running = adb.shell("pidof frida-server")
    except AdbError as e:
        return str(e)
    if not running.ok:
        return f"frida-server stopped on {serial}: run `privlab device setup --serial {serial}`, then start a new capture"
    return None

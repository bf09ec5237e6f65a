"""What a real HotSpot VM cannot show, exercised against a STAND-IN Java bridge inside a real Frida session.

Every Java module now runs on the real frida-java-bridge in a real OpenJDK 17 VM (tests/test_frida_jvm.py,
tests/test_frida_twin_app.py): hooks installed, arguments and results passed through unchanged, events with
real Java stacks, missing classes tolerated. What stays here is the case HotSpot does not produce on the
device twin: a class that EXISTS but cannot be used for another reason (ART's hidden-API enforcement
answers `Java.use("android.os.SystemProperties")` with an IllegalAccessError), which must become a
warning, never a silently "missing" class; and ART's ClassNotFoundException wording for absent classes
(HotSpot says NoClassDefFoundError). The stand-in (tests/hooks/java_standin/) replaces only
`frida-java-bridge`, keeping its type declarations, so the test bundle is type-checked like the real one;
the rest is the production agent source, build function and runner, in a real Linux process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.capture.frida import JAVA_MODULES
from analysis.capture.frida import FridaRunner
from analysis.session import Session

REPO = Path(__file__).resolve().parents[1]
HOOKS = REPO / "hooks"
STANDIN = REPO / "tests" / "hooks" / "java_standin"


@pytest.fixture()
def host_process() -> Iterator[int]:
    """A plain Linux process to host the agent (no Java in it: the stand-in provides 'Java')."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    # Attach once it runs: attaching while the loader is still starting it can fail.
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    yield proc.pid
    # It sleeps 60 s at most: under pytest a copy of it now and then outlives the kill of its pid.
    proc.kill()
    proc.wait()


@pytest.fixture()
def java_run(
    tmp_path: Path, standin_bundle: Path, host_process: int
) -> Iterator[tuple[FridaRunner, Session, Any]]:
    session = Session.create(tmp_path, "frida-java")
    runner = FridaRunner(
        session,
        modules=list(JAVA_MODULES),
        watch=[("com.example.crypto.Box", "seal"), ("com.example.NotInThisBuild", "encode")],
        agent_path=standin_bundle,
    )
    runner.attach(host_process)
    yield runner, session, runner.exports(host_process)


def _events(session: Session) -> list[dict[str, Any]]:
    return [json.loads(line) for line in session.file("hooks.jsonl").read_text().splitlines()]


def test_every_java_module_installs_and_missing_classes_are_only_noted(
    java_run: tuple[FridaRunner, Session, Any],
) -> None:
    runner, session, _app = java_run
    summary = runner.stop()
    assert summary["modules_attached"] == sorted(JAVA_MODULES)
    assert summary["modules_failed"] == []
    modules = summary["modules"]
    assert all(modules[m]["hooks"] > 0 for m in JAVA_MODULES)
    # Absent on this "Android version" (or build of the app): noted, not warned about.
    absent = {
        "clipboard": "android.content.IClipboard$Stub$Proxy",
        "identifiers": "com.google.android.gms.ads.identifier.AdvertisingIdClient$Info",
        "location": "com.google.android.gms.location.FusedLocationProviderClient",
        "tls": "okhttp3.CertificatePinner",
        "watch": "com.example.NotInThisBuild",
    }
    for module, cls in absent.items():
        assert cls in modules[module]["missing"]
        assert not any(cls in w for w in summary["warnings"])
    # Anything else is a warning: a class that fails for another reason, a method that is not there.
    assert any("android.os.SystemProperties" in w and "IllegalAccessError" in w for w in summary["warnings"])
    assert any("TelephonyManager.getMeid" in w for w in summary["warnings"])
    warnings = [e for e in _events(session) if e["category"] == "agent" and e["api"] == "warning"]
    assert len(warnings) == 2

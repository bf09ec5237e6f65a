"""The Java modules, each exercised inside a real Frida session against a STAND-IN Java bridge.

There is no ART on this host, so the one package that talks to it, `frida-java-bridge`, is replaced by
the stand-in in tests/hooks/java_standin/ (it keeps the real package's type declarations, so the test
bundle is type-checked like the real one). Everything else is the production agent source, built by
the production build function, loaded by the production runner into a real Linux process. The test
plays the app through the stand-in's `standinCall` RPC and checks, per module: the hook is installed,
the original receives the arguments unchanged and its result comes back unchanged, the right event is
written to hooks.jsonl with the Java stack, and a missing class is tolerated (only that is ignored).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.capture.frida import JAVA_MODULES
from analysis.capture.frida import FridaRunner
from analysis.capture.frida import agent_builder
from analysis.session import Session

REPO = Path(__file__).resolve().parents[1]
HOOKS = REPO / "hooks"
STANDIN = REPO / "tests" / "hooks" / "java_standin"
STACK = [
    "com.example.sdk.Collector.collect(Collector.java:42)",
    "com.example.app.MainActivity.onResume(MainActivity.java:7)",
]


@pytest.fixture(scope="module")
def standin_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agent built from hooks/src with frida-java-bridge swapped for the stand-in."""
    real = HOOKS / "node_modules" / "frida-java-bridge"
    if not real.is_dir():
        pytest.fail(f"{real} missing: run `npm ci` in hooks/ (the real bridge's typings are needed)")
    root = tmp_path_factory.mktemp("standin-agent")
    shutil.copytree(HOOKS / "src", root / "src")
    shutil.copy(HOOKS / "package.json", root / "package.json")
    shutil.copy(HOOKS / "tsconfig.json", root / "tsconfig.json")
    bridge = root / "node_modules" / "frida-java-bridge"
    bridge.mkdir(parents=True)
    for name in ("index.js", "package.json"):
        shutil.copy(STANDIN / name, bridge / name)
    shutil.copy(real / "index.d.ts", bridge / "index.d.ts")
    bundle = root / "_agent.js"
    bundle.write_text(agent_builder().build(root), encoding="utf-8")
    return bundle


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


def _call(app: Any, cls: str, method: str, args: list[Any], overload: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = app.standin_call(cls, method, overload, args)
    return result


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


def test_clipboard_read_records_the_text_the_app_received(java_run: tuple[FridaRunner, Session, Any]) -> None:
    runner, session, app = java_run
    out = _call(app, "android.content.ClipboardManager", "getPrimaryClip", [])
    text = _call(app, "android.content.ClipboardManager", "getText", [])
    runner.stop()
    assert out["hooked"] and len(out["originalCalls"]) == 1
    assert out["ret"] == "ClipData { text/plain {T:canary-clip-7f3a} }"  # the app got the original, unchanged
    assert text["ret"] == "canary-clip-7f3a"
    clip = [e for e in _events(session) if e["category"] == "clipboard"]
    assert [e["api"] for e in clip] == ["ClipboardManager.getPrimaryClip", "ClipboardManager.getText"]
    assert clip[0]["ret"]["texts"] == ["canary-clip-7f3a"]
    assert clip[0]["ret"]["$class"] == "android.content.ClipData"
    assert clip[1]["ret"] == "canary-clip-7f3a"
    assert all(e["stack"] == STACK and e["tid"] > 0 for e in clip)


def test_identifiers_pass_arguments_through_and_filter_settings(
    java_run: tuple[FridaRunner, Session, Any],
) -> None:
    runner, session, app = java_run
    imei = _call(app, "android.telephony.TelephonyManager", "getImei", [1], overload=1)
    aid = _call(app, "android.provider.Settings$Secure", "getString", [None, "android_id"])
    other = _call(app, "android.provider.Settings$Secure", "getString", [None, "screen_brightness"])
    mac = _call(app, "java.net.NetworkInterface", "getHardwareAddress", [])
    runner.stop()
    assert imei["originalCalls"] == [[1]] and imei["ret"] == "358240051111111"
    assert aid["originalCalls"] == [[None, "android_id"]] and aid["ret"] == "9774d56d682e549c"
    assert other["originalCalls"] == [[None, "screen_brightness"]] and other["ret"] == "other"
    assert mac["ret"] == [2, 0, 0, -85, -51, -17]
    ids = [e for e in _events(session) if e["category"] == "identifiers"]
    assert [(e["api"], e["args"], e["ret"]) for e in ids[:2]] == [
        ("TelephonyManager.getImei", [1], "358240051111111"),
        ("Settings$Secure.getString", [None, "android_id"], "9774d56d682e549c"),
    ]
    # screen_brightness is not an identifier: the call went through but no event was written.
    assert len(ids) == 3
    assert base64.b64decode(ids[2]["ret"]["$b64"]) == bytes([2, 0, 0, 0xAB, 0xCD, 0xEF])


def test_location_contacts_and_installed_apps(java_run: tuple[FridaRunner, Session, Any]) -> None:
    runner, session, app = java_run
    loc = _call(app, "android.location.LocationManager", "getLastKnownLocation", ["gps"])
    contacts = _call(
        app,
        "android.content.ContentResolver",
        "query",
        ["content://com.android.contacts/data", None, None, None, None],
    )
    media = _call(
        app,
        "android.content.ContentResolver",
        "query",
        ["content://media/external/images", None, None, None, None],
    )
    apps = _call(app, "android.app.ApplicationPackageManager", "getInstalledPackages", [0])
    runner.stop()
    assert loc["originalCalls"] == [["gps"]] and "52.520008" in loc["ret"]
    assert contacts["originalCalls"] and media["originalCalls"]
    assert apps["ret"] == "[PackageInfo{1 com.whatsapp}, PackageInfo{2 com.example.bank}]"
    events = _events(session)
    (location,) = [e for e in events if e["category"] == "location"]
    assert location["args"] == ["gps"] and "52.520008,13.404954" in location["ret"]["value"]
    queries = [e for e in events if e["category"] == "contacts"]
    assert [e["args"][0]["value"] for e in queries] == ["content://com.android.contacts/data"]
    (installed,) = [e for e in events if e["category"] == "installed_apps"]
    assert installed["ret"]["size"] == 2
    assert installed["ret"]["items"][0]["value"] == "PackageInfo{1 com.whatsapp}"


def test_webview_records_script_and_page(java_run: tuple[FridaRunner, Session, Any]) -> None:
    runner, session, app = java_run
    script = "document.addEventListener('keyup', e => bridge.log(e.key))"
    _call(app, "android.webkit.WebView", "evaluateJavascript", [script, None])
    page = _call(app, "android.webkit.WebView", "loadUrl", ["https://shop.example/"])
    js = _call(app, "android.webkit.WebView", "loadUrl", ["javascript:alert(1)"])
    runner.stop()
    assert page["originalCalls"] == [["https://shop.example/"]] and js["originalCalls"] == [
        ["javascript:alert(1)"]
    ]
    web = [e for e in _events(session) if e["category"] == "webview"]
    assert [(e["api"], e["args"][0]) for e in web] == [
        ("WebView.evaluateJavascript", script),
        ("WebView.loadUrl", "javascript:alert(1)"),
    ]
    assert web[0]["args"][-1] == {"page": "https://shop.example/checkout"}


def test_tls_pin_check_is_bypassed_and_recorded(java_run: tuple[FridaRunner, Session, Any]) -> None:
    runner, session, app = java_run
    out = _call(app, "android.security.net.config.NetworkSecurityTrustManager", "checkPins", [None])
    runner.stop()
    # Without the agent the original throws (pin mismatch); with it the check returns normally.
    assert out["threw"] is None and out["originalCalls"] == []
    (event,) = [e for e in _events(session) if e["category"] == "tls"]
    assert event["api"] == "NetworkSecurityTrustManager.checkPins" and event["ret"] == "bypassed"


def test_watch_records_operator_methods_with_bytes(java_run: tuple[FridaRunner, Session, Any]) -> None:
    runner, session, app = java_run
    out = _call(app, "com.example.crypto.Box", "seal", [[104, 105]])
    runner.stop()
    assert out["originalCalls"] == [[[104, 105]]] and out["ret"] == [105, 104]
    (event,) = [e for e in _events(session) if e["category"] == "watch"]
    assert event["api"] == "Box.seal"
    assert base64.b64decode(event["args"][0]["$b64"]) == b"hi"
    assert base64.b64decode(event["ret"]["$b64"]) == b"ih"

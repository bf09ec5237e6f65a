"""Every Java hook module on the REAL Frida Java bridge, in a real OpenJDK 17 HotSpot VM.

The device twin (tests/jvm/twin, compiled from Java source here) has Android's package, class and method
signatures; `privlab.twin.Probe` plays the app: one call to each hooked API, printing what it got back
(`RESULT`) and what the originals received (`ORIGINAL`). The production bundle hooks/_agent.js runs
unchanged through the production runner, which starts the VM behind the gate and attaches once it is up.
For each module: the hook is installed, the original receives the app's arguments and its result comes
back unchanged, the event is written with the real Java stack, and a missing class is tolerated.

What HotSpot cannot show stays with the stand-in in test_frida_java.py: a class that exists but cannot be
used for another reason (a warning, not "missing"), and an Android-version-specific missing method.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.capture.frida import JAVA_MODULES
from analysis.capture.frida import FridaRunner
from analysis.session import Session
from analysis.validation import twin
from analysis.validation.planted import CANARIES
from analysis.validation.planted import value

pytestmark = pytest.mark.skipif(twin.jvm_problem() is not None, reason=str(twin.jvm_problem()))

# Debian's OkHttp on the class path: the tls module meets the real okhttp3.CertificatePinner.
pytestmark = [
    pytestmark,
    pytest.mark.skipif(not twin.okhttp_classpath(), reason="apt-get install libokhttp-java"),
]

WATCH = [("privlab.twin.Probe$Box", "seal"), ("com.example.NotInThisBuild", "encode")]


class ProbeRun:
    """One Probe run under the agent: its events, summary, and what the app and the originals saw."""

    def __init__(self, session: Session, summary: dict[str, Any], stdout: str, exit_code: int | None) -> None:
        self.summary = summary
        self.exit_code = exit_code
        self.events = [json.loads(x) for x in session.file("hooks.jsonl").read_text().splitlines()]
        self.results: dict[str, str] = {}
        self.originals: list[str] = []
        self.done = "DONE" in stdout.splitlines()
        for line in stdout.splitlines():
            kind, _, rest = line.partition("\t")
            if kind == "RESULT":
                api, _, text = rest.partition("\t")
                self.results[api] = text
            elif kind == "ORIGINAL":
                self.originals.append(rest)

    def of(self, category: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["category"] == category]

    def one(self, api: str) -> dict[str, Any]:
        (event,) = [e for e in self.events if e["api"] == api]
        return event


@pytest.fixture(scope="module")
def classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return twin.build(tmp_path_factory.mktemp("jvm-cache"))


@pytest.fixture(scope="module")
def probe(classes: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeRun]:
    session = Session.create(tmp_path_factory.mktemp("jvm"), "probe")
    runner = FridaRunner(session, modules=list(JAVA_MODULES), watch=WATCH)
    out = tmp_path_factory.mktemp("jvm-out") / "stdout.txt"
    argv = twin.command(classes, twin.PROBE_MAIN, CANARIES)
    with out.open("wb") as sink:
        runner.launch_jvm(argv, stdout=sink)
        ended = runner.wait(120)
        summary = runner.stop()
    assert ended, "the VM did not end by itself"
    yield ProbeRun(session, summary, out.read_text(), runner.exit_code)


def _stack_is_java(event: dict[str, Any], hooked: str) -> None:
    # Innermost first: the hooked method (HotSpot shows a replaced method as native), then the app's call.
    assert event["stack"][0] == f"{hooked}(Native Method)"
    assert event["stack"][1].startswith("privlab.twin.Probe.main(Probe.java:")
    assert any(f.startswith("privlab.twin.Gate.main(Gate.java:") for f in event["stack"])
    assert event["tid"] > 0


def test_every_module_attaches_on_hotspot_and_the_vm_ends_by_itself(probe: ProbeRun) -> None:
    assert probe.done and probe.exit_code == 0
    s = probe.summary
    assert s["modules_attached"] == sorted(JAVA_MODULES)
    assert s["modules_failed"] == [] and s["modules_skipped"] == [] and s["gaps"] == []
    # Every hooked method exists on the twin with Android's signature. The one warning is real: OkHttp 3.13
    # (Debian's) has no Kotlin-era `check$okhttp`, a method that is not there is warned about, not ignored.
    assert [w.split(": ", 1)[1] for w in s["warnings"]] == [
        "tls: okhttp3.CertificatePinner.check$okhttp: no such method on this Android version"
    ]
    # The twin is an Android device, not TikTok: the TikTok profile's classes are absent, listed as missing.
    assert all(s["modules"][m]["hooks"] > 0 for m in JAVA_MODULES if m != "tiktok")
    assert s["modules"]["tiktok"]["hooks"] == 0 and s["modules"]["tiktok"]["missing"]
    (ready,) = [e for e in probe.events if e["category"] == "agent" and e["api"] == "ready"]
    assert ready["ret"]["java"] is True
    assert probe.events[-1]["api"] == "process-ended"


def test_missing_classes_are_only_noted(probe: ProbeRun) -> None:
    # Not on this "device" (HotSpot's FindClass says NoClassDefFoundError, ART ClassNotFoundException).
    modules = probe.summary["modules"]
    assert modules["clipboard"]["missing"] == ["android.content.IClipboard$Stub$Proxy"]
    assert "com.google.android.gms.location.FusedLocationProviderClient" in modules["location"]["missing"]
    assert "com.android.okhttp.CertificatePinner" in modules["tls"]["missing"]
    assert modules["watch"]["missing"] == ["com.example.NotInThisBuild"]
    warnings = [e["args"] for e in probe.events if e["category"] == "agent" and e["api"] == "warning"]
    assert warnings == [
        ["tls", "okhttp3.CertificatePinner.check$okhttp: no such method on this Android version"]
    ]


def test_clipboard(probe: ProbeRun) -> None:
    clip = value("clipboard")
    assert probe.results["ClipboardManager.getPrimaryClip"] == clip  # the app got the original clip
    assert probe.results["ClipboardManager.getText"] == clip
    assert "ClipboardManager.getPrimaryClip[]" in probe.originals
    event = probe.one("ClipboardManager.getPrimaryClip")
    assert event["ret"]["$class"] == "android.content.ClipData" and event["ret"]["texts"] == [clip]
    assert probe.one("ClipboardManager.getText")["ret"] == clip
    assert probe.one("ClipboardManager.hasPrimaryClip")["ret"] is True
    _stack_is_java(event, "android.content.ClipboardManager.getPrimaryClip")


def test_identifiers(probe: ProbeRun) -> None:
    assert probe.results["TelephonyManager.getImei"] == value("imei")
    assert "TelephonyManager.getImei[1]" in probe.originals  # the slot argument passed through
    imei = probe.one("TelephonyManager.getImei")
    assert imei["args"] == [1] and imei["ret"] == value("imei")
    _stack_is_java(imei, "android.telephony.TelephonyManager.getImei")
    # Settings.Secure: both calls went through; only android_id is an identifier worth an event.
    assert "Settings$Secure.getString[resolver, screen_brightness]" in probe.originals
    assert probe.results["Settings$Secure.getString(other)"] == "1"
    (aid,) = [e for e in probe.of("identifiers") if e["api"] == "Settings$Secure.getString"]
    assert aid["args"][1] == "android_id" and aid["ret"] == value("android_id")
    assert aid["args"][0]["$class"] == "android.content.ContentResolver"
    assert probe.one("WifiInfo.getMacAddress")["ret"] == value("mac")
    assert probe.one("AdvertisingIdClient$Info.getId")["ret"] == value("adid")
    assert probe.results["AdvertisingIdClient$Info.getId"] == value("adid")
    drm = probe.one("MediaDrm.getPropertyByteArray")
    assert base64.b64decode(drm["ret"]["$b64"]) == bytes([0x5A, 0x1E, 0xC0, 0x0D, 0x42])
    assert probe.results["MediaDrm.getPropertyByteArray"] == "[90, 30, -64, 13, 66]"


def test_location(probe: ProbeRun) -> None:
    lat, lon = value("location").split(",")
    fix = probe.one("LocationManager.getLastKnownLocation")
    assert fix["args"] == ["gps"] and f"{lat},{lon}" in fix["ret"]["value"]
    assert "LocationManager.getLastKnownLocation[gps]" in probe.originals
    assert probe.results["Location.getLatitude"] == lat
    assert probe.one("Location.getLatitude")["ret"] == float(lat)
    _stack_is_java(fix, "android.location.LocationManager.getLastKnownLocation")


def test_contacts(probe: ProbeRun) -> None:
    assert probe.results["ContentResolver.query"] == value("contact")
    assert probe.results["ContentResolver.query(media)"] == "0"
    # Both queries reached the provider; only the contacts one is personal data.
    assert sum(o.startswith("ContentResolver.query[") for o in probe.originals) == 2
    (query,) = [e for e in probe.of("contacts") if e["api"] == "ContentResolver.query"]
    assert query["args"][0]["value"] == "content://com.android.contacts/contacts"
    assert query["args"][1] == ["display_name"]
    _stack_is_java(query, "android.content.ContentResolver.query")
    accounts = probe.one("AccountManager.getAccountsByType")
    assert value("email") in accounts["ret"][0]["value"]


def test_installed_apps(probe: ProbeRun) -> None:
    apps = probe.one("ApplicationPackageManager.getInstalledPackages")
    assert apps["args"] == [0] and apps["ret"]["size"] == 3
    assert any(value("canary_app") in item["value"] for item in apps["ret"]["items"])
    # An inherited toString (ArrayList) is Java's text, as the app would print it.
    assert apps["ret"]["value"] == probe.results["ApplicationPackageManager.getInstalledPackages"]
    query = probe.one("ApplicationPackageManager.queryIntentActivities")
    assert query["args"][0]["value"] == "Intent { act=android.intent.action.MAIN }"
    assert probe.one("ActivityManager.getRunningAppProcesses")["ret"]["size"] == 2
    _stack_is_java(apps, "android.app.ApplicationPackageManager.getInstalledPackages")


def test_webview(probe: ProbeRun) -> None:
    web = probe.of("webview")
    assert [e["api"] for e in web] == [
        "WebView.evaluateJavascript",
        "WebView.loadUrl",
        "WebView.addJavascriptInterface",
    ]
    assert web[0]["args"][0].startswith("document.addEventListener") and web[0]["args"][-1] == {
        "page": "https://shop.example/checkout"
    }
    assert web[1]["args"][0] == "javascript:alert(1)"
    # The ordinary page load went through unrecorded; the script load went through too.
    assert "WebView.loadUrl[https://shop.example/checkout]" in probe.originals
    assert "WebView.loadUrl[javascript:alert(1)]" in probe.originals
    assert probe.results["WebView.getUrl"] == "https://shop.example/checkout"


def test_tls_pin_check_is_bypassed(probe: ProbeRun) -> None:
    # Without the agent the twin's pin check always throws; with it the check returns normally.
    assert probe.results["NetworkSecurityTrustManager.checkPins"] == "passed"
    assert not any(o.startswith("NetworkSecurityTrustManager.checkPins") for o in probe.originals)
    event = probe.one("NetworkSecurityTrustManager.checkPins")
    assert event["ret"] == "bypassed"
    # OkHttp 3's two check overloads (List and varargs) are replaced too, on the real class.
    assert probe.summary["modules"]["tls"]["hooks"] == 3
    _stack_is_java(event, "android.security.net.config.NetworkSecurityTrustManager.checkPins")


def test_watch_records_bytes(probe: ProbeRun) -> None:
    event = probe.one("Probe$Box.seal")
    assert base64.b64decode(event["args"][0]["$b64"]) == b"hi"
    assert base64.b64decode(event["ret"]["$b64"]) == b"ih"
    assert probe.results["Box.seal"] == "[105, 104]"
    assert "Box.seal[[104, 105]]" in probe.originals


def test_a_program_that_never_reports_its_vm_up_is_a_clear_error(tmp_path: Path, classes: Path) -> None:
    from analysis.errors import CaptureError

    runner = FridaRunner(Session.create(tmp_path, "nogate"), modules=["clipboard"])
    # Straight to main, not through privlab's gate: the runner cannot know when to attach.
    argv = ["java", "-cp", str(classes), "privlab.twin.Probe"]
    with pytest.raises(CaptureError, match="ended .* before its VM reported up"):
        runner.launch_jvm(argv, timeout=60)
    runner.stop()

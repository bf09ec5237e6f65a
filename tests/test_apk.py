"""Static APK analysis of privlab's own test APK, built here from the smali sources in tests/apk_src.

The APK is assembled by Debian's smali (inside `apktool b`), aligned by `zipalign` and signed by
`apksigner` with a throw-away key, exactly as techpath.md section 8 verified; nothing binary is
committed. Its code calls every hooked API from the app's own package (com.example.privtest), from a
made-up SDK (com.fakesdk, known only through an Exodus-format list the test writes) and from ByteDance's
ad SDK package (com.bytedance.sdk.openadsdk, in classes2.dex).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from analysis.apk.analyse import analyse
from analysis.apk.dexscan import INVOKE_OPS
from analysis.apk.dexscan import walk_instructions
from analysis.apk.report import StaticReport

SRC = Path(__file__).resolve().parent / "apk_src"
TOOLS = ("apktool", "zipalign", "apksigner", "keytool")

# The registry does not know the test app; this registry file (the registry's own TOML format) says
# who publishes it, so that party (first/third) can be decided for the SDKs inside.
TEST_PUBLISHER = """
[source.privlab-test]
title = "privlab test fixture"
checked = "made up for the tests"

[[entity]]
id = "privlab-test-publisher"
name = "privlab test publisher"
categories = ["unknown"]
[entity.app_packages]
"com.example.privtest" = ["privlab-test"]
[entity.code_prefixes]
"com.example.privtest" = ["privlab-test"]
"""

# An Exodus `/api/trackers` file with one made-up tracker, the format the shared registry imports.
FAKE_EXODUS = {
    "trackers": {
        "9001": {
            "id": 9001,
            "name": "FakeSDK",
            "description": "",
            "creation_date": "2026-11-28",
            "code_signature": "com.fakesdk.",
            "network_signature": "fakesdk\\.example",
            "website": "https://fakesdk.example",
            "categories": ["Analytics"],
            "documentation": [],
        }
    }
}


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


def _stub_lib(app: Path, name: str) -> None:
    # Native libraries are named, not run: tiny ELF stubs stand in for TikTok's networking libraries.
    lib = app / "lib" / "arm64-v8a" / name
    lib.parent.mkdir(parents=True, exist_ok=True)
    lib.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"stub https://native.privlab-test.example/x\0")


def build_test_apks(work: Path) -> tuple[Path, Path]:
    """smali sources -> apktool b -> zipalign -> apksigner: the signed multidex base APK and a config split."""
    _run(
        ["keytool", "-genkeypair", "-keystore", "lab.jks", "-storepass", "labpass", "-keypass", "labpass"]
        + [
            "-alias",
            "lab",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-validity",
            "3650",
            "-dname",
            "CN=privlab-test",
        ],
        work,
    )
    out = []
    for src, libs in (
        ("base", ("libsscronet.so", "libmetasec_ov.so")),
        ("split_config.arm64_v8a", ("libttboringssl.so",)),
    ):
        shutil.copytree(SRC / src, work / src)
        for name in libs:
            _stub_lib(work / src, name)
        _run(["apktool", "b", src, "-o", f"{src}-unsigned.apk"], work)
        _run(["zipalign", "-f", "-p", "4", f"{src}-unsigned.apk", f"{src}-aligned.apk"], work)
        signed = "privtest.apk" if src == "base" else f"{src}.apk"
        _run(
            [
                "apksigner",
                "sign",
                "--ks",
                "lab.jks",
                "--ks-pass",
                "pass:labpass",
                "--out",
                signed,
                f"{src}-aligned.apk",
            ],
            work,
        )
        out.append(work / signed)
    return out[0], out[1]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(
            f"Debian tools to build the test APK are missing: {', '.join(missing)} (apt-get install apktool ...)"
        )
    return build_test_apks(tmp_path_factory.mktemp("apkbuild"))


@pytest.fixture(scope="session")
def privtest_apk(built: tuple[Path, Path]) -> Path:
    return built[0]


@pytest.fixture(scope="session")
def registry_extra(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("registry")
    toml = d / "privtest.toml"
    toml.write_text(TEST_PUBLISHER)
    exodus = d / "fake_exodus.json"
    exodus.write_text(json.dumps(FAKE_EXODUS))
    return [toml, exodus]


@pytest.fixture(scope="session")
def report(privtest_apk: Path, registry_extra: list[Path]) -> StaticReport:
    return analyse(privtest_apk, registry_paths=registry_extra)


def test_manifest_facts(report: StaticReport) -> None:
    assert report.app is not None
    assert (report.app.package, report.app.version_code, report.app.version_name) == (
        "com.example.privtest",
        "7",
        "1.2.3-test",
    )
    assert (report.app.min_sdk, report.app.target_sdk) == (21, 30)
    assert report.app.main_activity == "com.example.privtest.MainActivity"
    assert report.partial is False and report.problems == []


def test_permissions_with_level_and_data_types(report: StaticReport) -> None:
    perms = {p.name: p for p in report.permissions}
    phone = perms["android.permission.READ_PHONE_STATE"]
    assert phone.protection_level == "dangerous"
    assert {"imei", "imsi", "iccid"} <= set(phone.data_types)
    assert perms["android.permission.READ_CONTACTS"].data_types == ("contact",)
    assert perms["android.permission.QUERY_ALL_PACKAGES"].data_types == ("installed_apps",)
    own = perms["com.example.privtest.permission.INTERNAL"]
    assert own.declared_by_app and own.protection_level == "signature"
    assert {"location", "contact", "installed_apps", "imei"} <= report.unlocked_data_types()


def test_exported_components(report: StaticReport) -> None:
    exported = {c.name: c for c in report.exported_components}
    assert exported["com.example.privtest.SyncService"].permission is None
    assert (
        exported["com.example.privtest.GuardedService"].permission
        == "com.example.privtest.permission.INTERNAL"
    )
    receiver = exported["com.fakesdk.tracker.BootReceiver"]
    assert receiver.how == "intent-filter" and receiver.actions == ("android.intent.action.BOOT_COMPLETED",)
    assert "com.example.privtest.DataProvider" not in exported  # android:exported="false"
    assert report.component_counts["service"] == 2


def test_network_security_config(report: StaticReport) -> None:
    ns = report.network_security
    assert ns is not None and ns.source == "res/xml/network_security_config.xml"
    assert ns.trusts_user_cas is True and ns.cleartext_default is False
    assert ns.cleartext_somewhere is True
    rules = {r.domains[0][0]: r for r in ns.domain_rules}
    assert rules["plain.privlab-test.example"].cleartext is True
    assert rules["api.privlab-test.example"].pins == 1
    assert ns.debug_overrides_trust_user_cas is True and ns.debug_overrides_apply is False


def test_signing_matches_apksigner(report: StaticReport, privtest_apk: Path) -> None:
    printed = subprocess.run(
        ["apksigner", "verify", "--print-certs", str(privtest_apk)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    digest = next(line.rsplit(" ", 1)[-1] for line in printed.splitlines() if "SHA-256 digest" in line)
    assert report.signing is not None
    assert report.signing.v1 and report.signing.v2
    assert [c.sha256 for c in report.signing.certificates] == [digest]
    assert "privlab-test" in report.signing.certificates[0].subject


def _sites(report: StaticReport) -> set[tuple[str, str, str | None, str, str | None]]:
    def short(api: str) -> str:  # method or field name; a content URI stays whole
        return api if "://" in api else api.rsplit(".", 1)[-1]

    return {(short(s.api), s.caller_class, s.data_type, s.party, s.sdk) for s in report.call_sites}


def test_call_sites_from_own_code_fake_sdk_and_pangle(report: StaticReport) -> None:
    own = "com.example.privtest.Collector"
    main = "com.example.privtest.MainActivity"
    beacon = "com.fakesdk.tracker.Beacon"
    fake = "exodus:FakeSDK"
    assert _sites(report) == {
        ("getPrimaryClip", own, "clipboard", "first", "privlab-test-publisher"),
        ("getDeviceId", own, "imei", "first", "privlab-test-publisher"),
        ("getString", own, "android_id", "first", "privlab-test-publisher"),
        ("getLastKnownLocation", own, "location", "first", "privlab-test-publisher"),
        ("getInstalledPackages", own, "installed_apps", "first", "privlab-test-publisher"),
        ("CONTENT_URI", own, "contact", "first", "privlab-test-publisher"),
        ("addJavascriptInterface", main, None, "first", "privlab-test-publisher"),
        ("loadUrl", main, None, "first", "privlab-test-publisher"),
        ("getPrimaryClip", beacon, "clipboard", "third", fake),
        ("getConnectionInfo", beacon, None, "third", fake),
        ("getMacAddress", beacon, "mac", "third", fake),
        ("getAdvertisingIdInfo", beacon, "advertising_id", "third", fake),
        ("getSubscriberId", beacon, "imsi", "third", fake),
        ("content://com.android.contacts", beacon, "contact", "third", fake),
        ("getSimSerialNumber", "com.bytedance.sdk.openadsdk.TTAdSdk", "iccid", "third", "pangle"),
    }
    pangle = next(s for s in report.call_sites if s.sdk == "pangle")
    assert pangle.dex == "privtest.apk!classes2.dex" and pangle.caller_method == "init"


def test_sdk_presence(report: StaticReport) -> None:
    sdks = {s.entity: s for s in report.sdks}
    assert sdks["pangle"].party == "third" and sdks["pangle"].prefixes == ("com.bytedance.sdk.openadsdk",)
    assert sdks["exodus:FakeSDK"].classes == 2  # Beacon and BootReceiver
    assert sdks["privlab-test-publisher"].party == "first"
    assert report.classes == 9  # 6 in the app package, 2 in com.fakesdk, 1 in com.bytedance (classes2.dex)


def test_bytedance_code_is_first_party_in_tiktok_not_pangle(tracker_lists: Path) -> None:
    """Exodus's Pangle signature is `com.bytedance`; in TikTok that code is ByteDance's own."""
    from analysis.apk.sdks import CodeAttributor
    from analysis.attribute.entities import load_registry

    registry = load_registry([tracker_lists / "exodus" / "exodus_trackers_api_dump.json"])
    assert any(e.origin.startswith("exodus:") for e in registry.entities.values())  # the list was merged
    tiktok = CodeAttributor(registry, "com.zhiliaoapp.musically")
    ttnet = tiktok.attribute("com.bytedance.frameworks.baselib.network.http.cronet.TTNet")
    assert ttnet.party == "first" and ttnet.entity == "bytedance"
    other_app = CodeAttributor(registry, "com.facebook.katana")
    assert other_app.attribute("com.bytedance.sdk.openadsdk.TTAdSdk").entity == "pangle"
    assert other_app.attribute("com.bytedance.sdk.openadsdk.TTAdSdk").party == "third"


def test_native_libraries_and_implications(report: StaticReport) -> None:
    libs = {lib.name: lib for lib in report.native_libs}
    assert libs["libsscronet.so"].implies == ("native-tls", "quic")
    assert libs["libsscronet.so"].abis == ("arm64-v8a",)
    assert "request-signing" in libs["libmetasec_ov.so"].implies
    assert set(report.native_implications) == {
        "native-tls",
        "quic",
        "request-signing",
        "app-layer-encryption",
    }


def test_hosts_in_code_resources_and_native_libs(report: StaticReport) -> None:
    hosts = {h.host: h for h in report.hosts}
    assert hosts["api16-access-sg.pangle.io"].found_in == ("privtest.apk!classes2.dex",)
    assert hosts["api16-access-sg.pangle.io"].entity == "pangle"
    assert hosts["api16-access-sg.pangle.io"].classes == ("com.bytedance.sdk.openadsdk.TTAdSdk",)
    assert hosts["api16-access-sg.pangle.io"].code_owners == ("Pangle (third)",)
    assert hosts["collect.fakesdk.example"].code_owners == ("FakeSDK (third)",)
    # loaded by const-string/jumbo in Collector.pick, after a switch payload
    assert hosts["plain.privlab-test.example"].classes == ("com.example.privtest.Collector",)
    assert hosts["config.privlab-test.example"].found_in == ("privtest.apk!assets/endpoints.json",)
    assert hosts["sf16-scmcdn-sg.ibytedtos.com"].entity is not None  # bare host name in an asset
    # const-string/jumbo, placed after a switch payload: the walker reads it
    assert "http://plain.privlab-test.example/ping" in hosts["plain.privlab-test.example"].urls
    assert "privtest.apk!lib/arm64-v8a/libsscronet.so" in hosts["native.privlab-test.example"].found_in
    assert "schemas.android.com" not in hosts  # XML namespace, not an endpoint


def test_output_is_deterministic(
    privtest_apk: Path, registry_extra: list[Path], report: StaticReport
) -> None:
    again = analyse(privtest_apk, registry_paths=registry_extra)
    assert again.to_json_bytes() == report.to_json_bytes()
    assert json.loads(report.to_json_bytes())["format"] == 1


def test_xapk_and_apks_bundles(privtest_apk: Path, tmp_path: Path, registry_extra: list[Path]) -> None:
    xapk = tmp_path / "privtest.xapk"
    with zipfile.ZipFile(xapk, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"package_name": "com.example.privtest"}))
        zf.write(privtest_apk, "com.example.privtest.apk")
        zf.writestr("icon.png", b"\x89PNG")
    apks = tmp_path / "privtest.apks"
    with zipfile.ZipFile(apks, "w") as zf:
        zf.write(privtest_apk, "splits/base-master.apk")
        zf.writestr("toc.pb", b"\x00")
    for bundle, label in (
        (xapk, "privtest.xapk!com.example.privtest.apk"),
        (apks, "privtest.apks!base-master.apk"),
    ):
        r = analyse(bundle, registry_paths=registry_extra)
        assert r.app is not None and r.app.package == "com.example.privtest"
        assert [i.origin for i in r.inputs] == [label]
        assert len(r.call_sites) == 15


def test_split_folder_base_and_config_split(
    built: tuple[Path, Path], tmp_path: Path, registry_extra: list[Path]
) -> None:
    """A folder as pulled from a device: base.apk plus split_config.arm64_v8a.apk (manifest split=...)."""
    base, split = built
    folder = tmp_path / "pulled"
    folder.mkdir()
    shutil.copy(base, folder / "base.apk")
    shutil.copy(split, folder / split.name)
    r = analyse(folder, registry_paths=registry_extra)
    assert r.app is not None and r.app.package == "com.example.privtest"
    assert [(i.name, i.split) for i in r.inputs] == [
        ("base.apk", None),
        ("split_config.arm64_v8a.apk", "config.arm64_v8a"),
    ]
    assert r.sha256 == r.inputs[0].sha256
    libs = {lib.name: lib for lib in r.native_libs}
    assert libs["libttboringssl.so"].paths == ("split_config.arm64_v8a.apk!lib/arm64-v8a/libttboringssl.so",)
    assert libs["libttboringssl.so"].implies == ("native-tls",)
    assert len(r.call_sites) == 15 and not r.partial


def test_walker_steps_over_payloads() -> None:
    """A fill-array-data payload whose bytes look like `invoke-virtual {..}, meth@5` is data, not code."""
    insns = bytes.fromhex(
        "2600 0500 0000"  # fill-array-data v0, +5 code units (to the payload)
        "0e00"  # return-void
        "0000"  # nop (payload alignment)
        "0003 0100 0600 0000"  # fill-array-data payload: element width 1, 6 elements
        "6e10 0500 0000"  # ... whose bytes spell invoke-virtual meth@5
        "6e10 0700 0000"  # a real invoke-virtual {v0}, meth@7 after the payload
    )
    seen = [(op, ref) for op, _pos, ref in walk_instructions(insns) if op in INVOKE_OPS]
    assert seen == [(0x6E, 7)]


def test_cli_writes_static_json(
    privtest_apk: Path, registry_extra: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from analysis.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["apk", str(privtest_apk)] + [a for p in registry_extra for a in ("--trackers", str(p))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "com.example.privtest 1.2.3-test (target SDK 30)" in result.output
    assert "15 call sites" in result.output and "partial" not in result.output
    written = json.loads((tmp_path / "apk" / "static.json").read_text())  # the default --out is ./apk
    assert written["app"]["package"] == "com.example.privtest"
    assert written["registry_files"][-2:] == ["privtest.toml", "fake_exodus.json"]

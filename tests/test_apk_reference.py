"""Static analysis against androguard's own test APKs (tests/data/apks, see tests/data/NOTICE.md) and androguard's call graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.apk.analyse import analyse
from analysis.apk.apis import METHODS
from analysis.apk.apis import java_name
from analysis.apk.bundle import quiet_androguard
from analysis.apk.dexfile import DexFile
from analysis.apk.dexscan import scan_dex


@pytest.fixture(scope="module")
def summary(ref_data: Path) -> list[dict]:
    return json.loads((ref_data / "apks" / "androguard_4.1.4_summary.json").read_text())


def _int(v: str | None) -> int | None:
    return int(v) if v is not None else None


def test_manifest_facts_match_androguard_summary(ref_data: Path, summary: list[dict]) -> None:
    checked = 0
    for entry in summary:
        if "error" in entry:
            continue
        apk = ref_data / "apks" / Path(entry["file"]).name
        r = analyse(apk)
        assert r.sha256 == entry["sha256"]
        assert r.app is not None
        assert r.app.package == entry["package"]
        assert (r.app.version_code, r.app.version_name) == (entry["version_code"], entry["version_name"])
        assert (r.app.min_sdk, r.app.target_sdk) == (_int(entry["min_sdk"]), _int(entry["target_sdk"]))
        # androguard's summary lists <uses-permission> only; <uses-permission-sdk-23> ones come on top
        assert [p.name for p in r.permissions if not p.api23_only] == sorted(entry["permissions"])
        assert r.classes == entry["n_classes"]
        assert r.signing is not None
        assert (r.signing.v1, r.signing.v2, r.signing.v3) == (
            entry["signed_v1"],
            entry["signed_v2"],
            entry["signed_v3"],
        )
        assert [c.sha1.upper() for c in r.signing.certificates] == entry["cert_sha1"]
        counts = r.component_counts
        assert (counts.get("activity", 0), counts.get("service", 0)) == (
            entry["n_activities"],
            entry["n_services"],
        )
        checked += 1
    assert checked == 8


def test_permissions_requested_for_api_23_and_up(ref_data: Path) -> None:
    r = analyse(ref_data / "apks" / "duplicate.permisssions_9999999.apk")
    perms = {p.name: p for p in r.permissions}
    assert perms["android.permission.REQUEST_INSTALL_PACKAGES"].api23_only
    assert perms["android.permission.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS"].max_sdk == 27
    assert perms["android.permission.WRITE_EXTERNAL_STORAGE"].max_sdk == 18
    assert not perms["android.permission.INTERNET"].api23_only  # listed twice, reported once


def test_a2dp_flagged_for_contacts_phone_state_accounts_fine_location(ref_data: Path) -> None:
    r = analyse(ref_data / "apks" / "a2dp.Vol_137.apk")
    groups = {p.group for p in r.permissions if p.runtime}
    assert {"contacts", "phone state", "accounts", "precise location"} <= groups
    assert {"contact", "imei", "email", "location"} <= r.unlocked_data_types()
    # and its own code reads the location and the list of installed apps
    own = {(s.data_type, s.party) for s in r.call_sites}
    assert ("location", "first") in own and ("installed_apps", "first") in own


def test_multidex_without_manifest_gives_partial_result(ref_data: Path) -> None:
    """androguard's AnalyzeAPK raises KeyError on this file; privlab keeps both DEX files' classes."""
    r = analyse(ref_data / "apks" / "multidex.apk")
    assert r.partial is True
    assert r.app is None and r.permissions == []
    assert r.inputs[0].dex == ("classes.dex", "classes2.dex")
    assert r.classes == 2
    assert r.problems == ["multidex.apk: no AndroidManifest.xml; manifest facts are missing"]


@pytest.mark.parametrize("name", ["Invalid.apk", "AndroidManifest_ShortName.apk", "TestActivity.apk"])
def test_edge_case_apks_do_not_break(ref_data: Path, name: str) -> None:
    r = analyse(ref_data / "apks" / name)
    assert r.app is not None and r.app.package


def test_call_sites_agree_with_androguard_call_graph(ref_data: Path) -> None:
    """The fast scan finds exactly the callers androguard's full cross-reference analysis finds."""
    quiet_androguard()
    from androguard.misc import AnalyzeAPK

    path = ref_data / "apks" / "a2dp.Vol_137.apk"
    _a, _d, dx = AnalyzeAPK(str(path))
    expected = set()
    for api in METHODS:
        if api.needs_string:
            continue
        for m in dx.find_methods(
            classname=api.class_descriptor.replace("$", r"\$"), methodname=f"^{api.member}$"
        ):
            for _cls, caller, _off in m.get_xref_from():
                expected.add((api.api, java_name(caller.get_class_name()), caller.name))
    found = {(s.api, s.caller_class, s.caller_method) for s in analyse(path).call_sites}
    assert expected, "the reference APK should call some hooked API"
    assert found == expected

    # and the classes that load URL strings are the ones androguard's string cross-references name
    expected_users: dict[str, set[str]] = {}
    for sa in dx.find_strings(".*://.*"):
        for cls, _method in sa.get_xref_from():
            expected_users.setdefault(sa.get_value(), set()).add(java_name(cls.name))
    raw = _a.get_file("classes.dex")
    users = scan_dex("classes.dex", raw, keep_string=lambda text: "://" in text).string_users
    assert expected_users and users == expected_users


def test_dex_reader_agrees_with_androguard(ref_data: Path) -> None:
    """privlab's DEX reader sees the same classes and strings as androguard's full parser."""
    quiet_androguard()
    from androguard.core.apk import APK
    from androguard.core.dex import DEX

    compared = 0
    for path in sorted((ref_data / "apks").glob("*.apk")):
        apk = APK(str(path))
        for name in apk.get_dex_names():
            raw = apk.get_file(name)
            ours, theirs = DexFile(raw), DEX(raw)
            assert ours.class_names() == [str(c) for c in theirs.get_classes_names()]
            assert list(ours.strings()) == [str(s) for s in theirs.get_strings()]
            compared += 1
    assert compared >= 9  # every reference APK's DEX files, multidex.apk's two included


def test_damaged_dex_raises_only_value_errors(ref_data: Path) -> None:
    """Truncated or corrupted DEX bytes give DexFormatError (or another ValueError), never a crash."""
    import random
    import struct
    import zipfile

    raw = zipfile.ZipFile(ref_data / "apks" / "com.teleca.jamendo_35.apk").read("classes.dex")
    rng = random.Random(8)
    outcomes = set()
    for i in range(60):
        damaged = bytearray(raw)
        if i % 2:
            damaged = damaged[: rng.randrange(len(damaged))]
        else:
            for _ in range(rng.randrange(1, 40)):
                damaged[rng.randrange(0x70 + 4000)] = rng.randrange(256)
        try:
            scan_dex("x", bytes(damaged))
            outcomes.add("ok")
        except (ValueError, struct.error, IndexError) as e:
            outcomes.add(type(e).__name__)
    assert "DexFormatError" in outcomes

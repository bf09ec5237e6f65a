"""Device facts, identifiers, planting and `prepare_device_session`, against the STAND-IN device.

Stand-ins (named): `fake_adbd.FakeAdbd` (the device, behind the REAL adb client) and
`fake_adbd.FakeEmulatorConsole` (the emulator console's `geo fix`). Everything else is real.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fake_adbd import TIKTOK
from fake_adbd import FakeAdbd
from fake_adbd import FakeEmulatorConsole
from fake_adbd import PrivateAdbServer
from fake_adbd import adb_server_fixture
from fake_adbd import frida_server_standin
from fake_adbd import profile

from analysis.device.adb import Adb
from analysis.device.adb import probe_root
from analysis.device.ca import ensure_ca
from analysis.device.facts import device_facts
from analysis.device.facts import load_plant_plan
from analysis.device.facts import parse_parcel_string
from analysis.device.facts import read_identifiers
from analysis.device.prepare import prepare_device_session
from analysis.device.prepare import pull_apks
from analysis.device.setup import SetupOptions
from analysis.device.setup import setup
from analysis.errors import CaptureError
from analysis.errors import PrivlabError
from analysis.schema import CANARY_KINDS

FRIDA = __import__("frida").__version__

CANARIES_TOML = """
[location]
lat = 48.85837
lon = 2.294481

[clipboard]
text = "privlab-clip-7f3a9c"

[[contact]]
name = "Privlab Canary"
phone = "+33 6 12 34 56 78"
email = "canary-7f3a9c@example.org"
"""


adb_server = pytest.fixture(name="adb_server")(adb_server_fixture)


def test_device_facts(adb_server: PrivateAdbServer) -> None:
    fake = adb_server.attach(profile("api34-apex"))
    adb = Adb(fake.serial)
    probe_root(adb)
    facts = device_facts(adb)
    assert facts["model"] == "sdk_gphone64_arm64" and facts["android_version"] == "14" and facts["sdk"] == 34
    assert facts["build_fingerprint"].startswith("google/sdk_gphone64_arm64/emu64a:14/")
    assert facts["emulator"] is True and facts["abi"] == "arm64-v8a" and facts["root"] == "su -c"


def test_read_identifiers_rooted(adb_server: PrivateAdbServer) -> None:
    fake = adb_server.attach(profile("api34-apex"))
    adb = Adb(fake.serial)
    probe_root(adb)
    got = {c.id: c for c in read_identifiers(adb, TIKTOK, now=1.0)}
    assert got["device-android_id"].value == "9774d56d682e549c"
    assert got["app-android_id"].value == "5e1c2f4b8a9d7c03"  # TikTok's own SSAID, not the shell's
    assert got["device-imei"].value == "358240051111110"
    assert got["device-advertising_id"].value == "38400000-8cf0-11bd-b23e-10b96e40000d"
    assert got["device-mac"].value == "02:15:b2:00:00:00"
    assert all(c.source == "read-from-device" and c.kind in CANARY_KINDS and c.t == 1.0 for c in got.values())


def test_read_identifiers_unrooted_reads_only_android_id(adb_server: PrivateAdbServer) -> None:
    fake = adb_server.attach(profile("play13-unrooted"))
    adb = Adb(fake.serial)
    probe_root(adb)
    assert [c.id for c in read_identifiers(adb)] == ["device-android_id"]


def test_parcel_string() -> None:
    dump = (
        "Result: Parcel(\n"
        "  0x00000000: 00000000 0000000f 00350033 00380035 '........3.5.8.5.'\n"
        "  0x00000010: 00340030 00350030 00300030 00300030 '0.4.0.5.0.0.0.0.'\n"
        "  0x00000020: 00310030 00000030                   '0.1.0...        ')\n"
    )
    assert parse_parcel_string(dump) == "358504050000010"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[location]\nlat = 91\nlon = 0\n", "out of range"),
        ("[location]\nlat = 'x'\nlon = 0\n", "numeric lat and lon"),
        ("[clipboard]\ntext = ''\n", "non-empty text"),
        ("[[contact]]\nname = 'A'\n", "needs a phone or an email"),
        ("[weather]\nsun = 1\n", "unknown table(s) weather"),
        ("[location\n", "not valid TOML"),
    ],
)
def test_bad_canaries_file_is_one_line_naming_it(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "canaries.toml"
    path.write_text(text)
    with pytest.raises(PrivlabError) as info:
        load_plant_plan(path)
    assert str(info.value).startswith(str(path)) and error in str(info.value) and "\n" not in str(info.value)


def _ready_device(server: PrivateAdbServer, tmp_path: Path) -> tuple[FakeAdbd, Path]:
    device = profile("api34-apex")
    fake = server.attach(device)
    confdir = tmp_path / "mitmproxy"
    ensure_ca(confdir)
    fs = tmp_path / "frida-server"
    fs.write_bytes(frida_server_standin(FRIDA, 183))
    setup(fake.serial, SetupOptions(confdir=confdir, frida_server=fs))
    return fake, confdir


def test_prepare_device_session_plants_reads_and_lists_apks(
    adb_server: PrivateAdbServer, tmp_path: Path
) -> None:
    fake, confdir = _ready_device(adb_server, tmp_path)
    console = FakeEmulatorConsole(token="s3cret")
    (tmp_path / "home" / ".emulator_console_auth_token").write_text("s3cret\n")
    plant_file = tmp_path / "canaries.toml"
    plant_file.write_text(CANARIES_TOML)
    plan = prepare_device_session(fake.serial, TIKTOK, plant_file, confdir=confdir, console_port=console.port)
    console.close()

    assert console.commands[:2] == ["auth s3cret", "geo fix 2.294481 48.85837"]  # longitude first
    assert plan.facts["android_version"] == "14" and plan.facts["emulator"] is True
    assert plan.app_facts["version_name"] == "37.8.4" and len(plan.apk_paths) == 3
    assert plan.apk_paths[0].endswith("/base.apk")
    assert (plan.proxy_host, plan.proxy_port) == ("127.0.0.1", 8080)
    assert plan.clipboard_text == "privlab-clip-7f3a9c"
    by_id = {c.id: c for c in plan.canaries}
    assert (
        by_id["planted-location"].value == "48.85837,2.294481"
        and by_id["planted-location"].kind == "location"
    )
    assert by_id["planted-contact1-phone"].value == "+33 6 12 34 56 78"
    assert by_id["planted-contact1-email"].value == "canary-7f3a9c@example.org"
    assert by_id["planted-clipboard"].kind == "clipboard"
    assert by_id["app-android_id"].source == "read-from-device"
    assert all(c.kind in CANARY_KINDS for c in plan.canaries)
    issued = [c for c, _ in fake.device.commands]
    assert (
        "content insert --uri content://com.android.contacts/data --bind raw_contact_id:i:1 --bind mimetype:s:vnd.android.cursor.item/phone_v2 --bind 'data1:s:+33 6 12 34 56 78' --bind data2:i:2"
        in issued
    )

    dest = tmp_path / "session" / "apk"
    pulled = pull_apks(fake.serial, plan.apk_paths, dest)
    assert [p.path.name for p in pulled] == [
        "base.apk",
        "split_config.arm64_v8a.apk",
        "split_config.xxhdpi.apk",
    ]
    for apk in pulled:
        assert apk.sha256 == hashlib.sha256(fake.device.files[apk.device_path]).hexdigest()
        assert apk.sha256 == plan.app_facts["apks"][pulled.index(apk)]["sha256"]  # what the device hashed
    with pytest.raises(CaptureError, match="refusing to overwrite"):
        pull_apks(fake.serial, plan.apk_paths[:1], dest)


def test_prepare_refuses_an_unready_device_with_every_fix(
    adb_server: PrivateAdbServer, tmp_path: Path
) -> None:
    fake = adb_server.attach(profile("api34-apex"))
    confdir = tmp_path / "mitmproxy"
    ensure_ca(confdir)
    with pytest.raises(CaptureError) as info:
        prepare_device_session(fake.serial, TIKTOK, None, confdir=confdir)
    message = str(info.value)
    assert "\n" not in message and "is not ready" in message
    for title in ("CA in system store", "CA in APEX store", "proxy route", "frida-server"):
        assert title in message
    assert "privlab device setup" in message


def test_location_needs_an_emulator_console(adb_server: PrivateAdbServer, tmp_path: Path) -> None:
    fake, confdir = _ready_device(adb_server, tmp_path)
    plant_file = tmp_path / "canaries.toml"
    plant_file.write_text("[location]\nlat = 1.5\nlon = 2.5\n")
    with pytest.raises(PrivlabError, match="needs the emulator console"):
        prepare_device_session(fake.serial, TIKTOK, plant_file, confdir=confdir)


def test_pull_when_the_device_vanishes(adb_server: PrivateAdbServer, tmp_path: Path) -> None:
    device = profile("api34-apex")
    fake = adb_server.attach(device)
    paths = device.packages[TIKTOK]["paths"]
    fake.vanish()
    with pytest.raises(CaptureError) as info:
        pull_apks(fake.serial, paths, tmp_path / "apk")
    assert "went away during `adb pull" in str(info.value) and "\n" not in str(info.value)


def test_plan_fills_a_sealed_session(adb_server: PrivateAdbServer, tmp_path: Path) -> None:
    """The lead's capture wiring, minus mitmdump and Frida: the plan's facts, canaries and APKs seal."""
    from analysis.session import Session
    from analysis.session.seal import seal_session
    from analysis.session.verify import verify_session

    fake, confdir = _ready_device(adb_server, tmp_path)
    plan = prepare_device_session(fake.serial, TIKTOK, None, confdir=confdir)
    session = Session.create(
        tmp_path / "captures",
        "tiktok",
        mode="device",
        app=plan.app_facts,
        device=plan.facts,
        canaries=plan.canaries,
    )
    for apk in pull_apks(plan.serial, plan.apk_paths, session.path / "apk"):
        session.record_file(f"apk/{apk.path.name}", kind="apk")
    seal_session(session)
    sealed = Session.open(session.path)
    assert sealed.status == "sealed"
    assert sealed.meta["device"]["build_fingerprint"].startswith("google/sdk_gphone64_arm64/")
    assert sealed.meta["app"]["version_name"] == "37.8.4"
    assert {c.id for c in sealed.canaries()} >= {"device-android_id", "app-android_id", "device-imei"}
    report = verify_session(session.path)
    assert report.intact, report.problems
    assert report.files >= 3 + 2  # the three pulled APKs, session.json, canaries.json


def test_session_fault_names_what_stopped(adb_server: PrivateAdbServer, tmp_path: Path) -> None:
    from analysis.device.prepare import session_fault

    fake, _ = _ready_device(adb_server, tmp_path)
    assert session_fault(fake.serial) is None
    fake.device.processes = [p for p in fake.device.processes if p.name != "frida-server"]  # it crashed
    assert (session_fault(fake.serial) or "").startswith(f"frida-server stopped on {fake.serial}")
    fake.vanish()
    reason = session_fault(fake.serial) or ""
    assert reason.startswith(f"device {fake.serial} went away") and "\n" not in reason

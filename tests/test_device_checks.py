"""`privlab device check` against the STAND-IN device (tests/fake_adbd.py) through the REAL adb client.

The fake adbd is the only stand-in: the adb client and server, the protocol, the CA hashing and the
mitmproxy CA are real.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_adbd import PrivateAdbServer
from fake_adbd import adb_server_fixture
from fake_adbd import confdir_fixture
from fake_adbd import frida_server_standin
from fake_adbd import profile

from analysis.cli import main
from analysis.device.adb import Adb
from analysis.device.adb import AdbError
from analysis.device.adb import DeviceGone
from analysis.device.ca import ensure_ca
from analysis.device.ca import subject_hash
from analysis.device.checks import FAIL
from analysis.device.checks import OK
from analysis.device.checks import SKIP
from analysis.device.checks import WARN
from analysis.device.checks import Check
from analysis.device.checks import run_checks

FRIDA = "17.26.2"

adb_server = pytest.fixture(name="adb_server")(adb_server_fixture)


confdir = pytest.fixture(name="confdir", scope="module")(confdir_fixture)


def by_key(checks: list[Check]) -> dict[str, Check]:
    return {c.key: c for c in checks}


def test_ca_name_is_openssl_subject_hash_old(confdir: Path) -> None:
    ca = ensure_ca(confdir)
    assert ca.android_name == "c8750f0d.0"  # mitmproxy's default CA (CN=mitmproxy, O=mitmproxy)
    openssl = subprocess.run(
        ["openssl", "x509", "-noout", "-subject_hash_old", "-in", str(ca.path)],
        capture_output=True,
        text=True,
    )
    if openssl.returncode == 0:
        assert openssl.stdout.strip() == ca.subject_hash


def test_subject_hash_follows_the_subject(tmp_path: Path) -> None:
    from cryptography import x509
    from mitmproxy.certs import CertStore

    CertStore.from_store(tmp_path, "other", 2048, None)  # CN=other: a different name, a different hash
    pem = (tmp_path / "other-ca-cert.pem").read_bytes()
    assert subject_hash(x509.load_pem_x509_certificate(pem)) != "c8750f0d"


def test_unrooted_play_image(adb_server: PrivateAdbServer, confdir: Path) -> None:
    fake = adb_server.attach(profile("play13-unrooted"))
    checks = by_key(run_checks(fake.serial, confdir=confdir, frida_version=FRIDA))
    assert checks["adb"].status == OK and "emulator" in checks["adb"].detail
    assert checks["root"].status == FAIL
    assert "Google APIs" in checks["root"].fix  # not debuggable: `adb root` would be refused
    assert checks["android"].status == OK and "Android 13 (API 33)" in checks["android"].detail
    assert checks["abi"].status == OK and "translation" in checks["abi"].detail
    assert checks["ca-local"].status == OK and "c8750f0d.0" in checks["ca-local"].detail
    assert checks["ca-system"].status == FAIL and "missing" in checks["ca-system"].detail
    assert checks["ca-apex"].status == SKIP  # no APEX store before Android 14
    assert checks["proxy"].status == FAIL and "not set" in checks["proxy"].detail
    assert checks["quic"].status == SKIP
    assert (
        checks["frida-server"].status == FAIL
        and "frida-server-17.26.2-android-x86_64.xz" in checks["frida-server"].fix
    )
    assert checks["app"].status == FAIL and "not installed" in checks["app"].detail
    # the probes HTTP Toolkit uses, in order, and nothing that changes the device
    issued = [c for c, _ in fake.device.commands]
    assert issued[:4] == ["getprop", "id -u", "su -c 'id -u'", "su 0 sh -c 'id -u'"]
    assert "root:" not in fake.device.services


def test_rooted_android_11(adb_server: PrivateAdbServer, confdir: Path) -> None:
    fake = adb_server.attach(profile("api30-rooted"))
    checks = by_key(run_checks(fake.serial, confdir=confdir, frida_version=FRIDA))
    assert checks["root"].status == OK and "`su 0`" in checks["root"].detail  # AOSP su refuses `su -c`
    assert checks["android"].status == OK and "system store" in checks["android"].detail
    assert checks["ca-apex"].status == SKIP
    assert checks["quic"].status == WARN
    assert checks["app"].status == OK
    assert "37.8.4" in checks["app"].detail and "base.apk" in checks["app"].detail


def test_android_14_apex_after_manual_tmpfs_only(adb_server: PrivateAdbServer, confdir: Path) -> None:
    """The system store has the CA but the APEX store (what apps use on 14+) does not: not ready."""
    device = profile("api34-apex")
    ca = ensure_ca(confdir)
    device.tmpfs["/system/etc/security/cacerts"] = {ca.android_name: ca.pem}
    fake = adb_server.attach(device)
    checks = by_key(run_checks(fake.serial, confdir=confdir, frida_version=FRIDA))
    assert checks["root"].status == OK and "`su -c`" in checks["root"].detail
    assert checks["abi"].status == OK and "arm64-v8a" in checks["abi"].detail
    assert checks["android"].status == OK and "APEX" in checks["android"].detail
    assert checks["ca-system"].status == OK
    assert checks["ca-apex"].status == FAIL and "zygote pid 612" in checks["ca-apex"].detail


def test_stale_ca_from_another_confdir_is_reported(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    other = ensure_ca(tmp_path / "other")  # same subject, same file name, different key
    device = profile("api30-rooted")
    device.tmpfs["/system/etc/security/cacerts"] = {other.android_name: other.pem}
    fake = adb_server.attach(device)
    checks = by_key(run_checks(fake.serial, confdir=confdir, frida_version=FRIDA))
    assert checks["ca-system"].status == FAIL and "another mitmproxy CA" in checks["ca-system"].detail


def test_frida_version_mismatch(adb_server: PrivateAdbServer, confdir: Path) -> None:
    device = profile("api30-rooted")
    device.files["/data/local/tmp/frida-server"] = frida_server_standin("16.5.9", machine=62)
    device.shell("su 0 /data/local/tmp/frida-server -D")
    fake = adb_server.attach(device)
    checks = by_key(run_checks(fake.serial, confdir=confdir, frida_version=FRIDA))
    assert checks["frida-server"].status == FAIL
    assert "running 16.5.9, but Python frida is 17.26.2" in checks["frida-server"].detail


# fmt: off
@pytest.mark.parametrize(
    ("props", "key", "status", "says"),
    [
        ({"ro.product.cpu.abilist": "x86_64,x86", "ro.dalvik.vm.native.bridge": "0"}, "abi", FAIL, "ARM-only"),
        ({"ro.build.version.sdk": "28", "ro.build.version.release": "9"}, "android", FAIL, "older than Android 11"),
        ({"ro.build.version.sdk": "35", "ro.build.version.release": "15"}, "android", OK, "Android 15 (API 35)"),
        ({"ro.build.version.sdk": "36", "ro.build.version.release": "16"}, "android", WARN, "newer than the tested"),
    ],
)
# fmt: on
def test_image_suitability(
    adb_server: PrivateAdbServer, confdir: Path, props: dict[str, str], key: str, status: str, says: str
) -> None:
    device = profile("api30-rooted")
    device.props.update(props)
    fake = adb_server.attach(device)
    checks = by_key(run_checks(fake.serial, confdir=confdir, frida_version=FRIDA))
    assert checks[key].status == status and says in checks[key].detail


def test_no_device(adb_server: PrivateAdbServer, confdir: Path) -> None:
    checks = run_checks(None, confdir=confdir)
    assert checks[0].key == "adb" and checks[0].status == FAIL and "no Android device" in checks[0].detail
    assert all(c.status == SKIP for c in checks[1:])


def test_device_gone_mid_command_is_one_line(adb_server: PrivateAdbServer) -> None:
    device = profile("api30-rooted")
    device.vanish_on = r"^pm path"
    fake = adb_server.attach(device)
    adb = Adb(fake.serial)
    assert adb.getprop("ro.build.version.sdk") == "30"
    with pytest.raises(DeviceGone) as info:
        adb.shell("pm path com.zhiliaoapp.musically")
    message = str(info.value)
    assert "\n" not in message and "went away during `pm path" in message and "adb connect" in message


def test_cli_check_exit_status_and_table(adb_server: PrivateAdbServer, confdir: Path) -> None:
    fake = adb_server.attach(profile("play13-unrooted"))
    result = CliRunner().invoke(main, ["device", "check", "--serial", fake.serial, "--confdir", str(confdir)])
    assert result.exit_code == 1, result.output
    assert (
        "not ready" in result.output and "rooted" in result.output and "privlab device setup" in result.output
    )


def test_cli_check_json(adb_server: PrivateAdbServer, confdir: Path) -> None:
    import json

    fake = adb_server.attach(profile("api30-rooted"))
    result = CliRunner().invoke(
        main, ["device", "check", "-s", fake.serial, "--confdir", str(confdir), "--json"]
    )
    rows = json.loads(result.output)
    assert result.exit_code == 1  # CA, proxy and frida-server are not set up yet
    assert [r["key"] for r in rows][:3] == ["adb", "root", "android"]
    assert {r["status"] for r in rows} <= {"ok", "fail", "warn", "skip"} and all("fix" in r for r in rows)


def test_cli_device_gone_is_one_red_line(adb_server: PrivateAdbServer, confdir: Path) -> None:
    device = profile("api30-rooted")
    device.vanish_on = r"^settings get global http_proxy"
    fake = adb_server.attach(device)
    result = CliRunner().invoke(main, ["device", "check", "--serial", fake.serial, "--confdir", str(confdir)])
    assert result.exit_code == 2
    assert "went away during `settings get global http_proxy`" in result.output
    assert "Traceback" not in result.output


def test_hung_command_times_out_with_one_line(adb_server: PrivateAdbServer) -> None:
    device = profile("api30-rooted")
    device.hang_on = r"^dumpsys"
    fake = adb_server.attach(device)
    adb = Adb(fake.serial, timeout=2)
    with pytest.raises(AdbError) as info:
        adb.shell("dumpsys package com.zhiliaoapp.musically")
    message = str(info.value)
    assert "did not answer within 2 s" in message and f"adb -s {fake.serial} get-state" in message
    assert "\n" not in message
    assert adb.getprop("ro.build.version.release") == "11"  # the device itself still answers

"""`privlab device setup` / `reset` against the STAND-IN device (tests/fake_adbd.py) via the REAL adb client.

The fake records every command it receives (after unwrapping `su`), so these tests check the exact
commands and their order, that setup is idempotent, that it stops at the first failure with one line,
and that reset leaves the device as it was.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_adbd import APEX_CACERTS
from fake_adbd import SYSTEM_CACERTS
from fake_adbd import FakeDevice
from fake_adbd import PrivateAdbServer
from fake_adbd import adb_server_fixture
from fake_adbd import confdir_fixture
from fake_adbd import frida_server_standin
from fake_adbd import profile

from analysis.cli import main
from analysis.device.ca import ensure_ca
from analysis.device.checks import FAIL
from analysis.device.checks import OK
from analysis.device.checks import run_checks
from analysis.device.setup import SetupError
from analysis.device.setup import SetupOptions
from analysis.device.setup import reset
from analysis.device.setup import setup

FRIDA = "17.26.2"

adb_server = pytest.fixture(name="adb_server")(adb_server_fixture)


confdir = pytest.fixture(name="confdir", scope="module")(confdir_fixture)


def frida_file(tmp_path: Path, machine: int, version: str = FRIDA) -> Path:
    path = tmp_path / f"frida-server-{version}-android"
    path.write_bytes(frida_server_standin(version, machine))
    return path


def changes(device: FakeDevice, since: int = 0) -> list[tuple[str, bool]]:
    """Commands that change the device (not the read-only probes)."""
    readonly = (
        "getprop",
        "id -u",
        "su ",
        "sha256sum",
        "test ",
        "mount",
        "pidof",
        "ps ",
        "settings get",
        "iptables -w -C",
        "ip6tables -w -C",
    )
    out = []
    for command, root in device.commands[since:]:
        inner = command.split(" -- ", 1)[-1] if command.startswith("nsenter") else command
        if (
            inner.startswith(readonly)
            and not inner.startswith("mount -t")
            and not inner.startswith("/bin/mount")
        ):
            continue
        if command.endswith("--version"):
            continue
        out.append((command, root))
    return out


def test_setup_android_14_apex_in_order_then_idempotent_then_reset(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    device = profile("api34-apex")
    fake = adb_server.attach(device)
    options = SetupOptions(confdir=confdir, frida_server=frida_file(tmp_path, 183), frida_version=FRIDA)
    results = setup(fake.serial, options)
    assert [(r.step, r.outcome) for r in results] == [
        ("root", "already"),
        ("ca", "done"),
        ("proxy", "done"),
        ("quic", "done"),
        ("frida", "done"),
    ]
    ca = "c8750f0d.0"
    zygote, apps = 612, [712, 1012, 1512, 1812]  # zygote64, then every process it forked
    assert changes(device) == [
        (f"<push /data/local/tmp/privlab-{ca}>", False),
        ("mkdir -p /data/local/tmp/privlab-ca-copy", True),
        ("chmod 700 /data/local/tmp/privlab-ca-copy", True),
        ("rm -rf /data/local/tmp/privlab-ca-copy/*", True),
        (
            f"cp {APEX_CACERTS}/* /data/local/tmp/privlab-ca-copy/",
            True,
        ),  # 14+: the APEX store is the live one
        (f"mount -t tmpfs tmpfs {SYSTEM_CACERTS}", True),
        (f"mv /data/local/tmp/privlab-ca-copy/* {SYSTEM_CACERTS}/", True),
        (f"mv /data/local/tmp/privlab-{ca} {SYSTEM_CACERTS}/{ca}", True),
        (f"chown root:root {SYSTEM_CACERTS}/*", True),
        (f"chmod 644 {SYSTEM_CACERTS}/*", True),
        (f"chcon u:object_r:system_file:s0 {SYSTEM_CACERTS}/*", True),
        *[
            (f"nsenter --mount=/proc/{pid}/ns/mnt -- /bin/mount --bind {SYSTEM_CACERTS} {APEX_CACERTS}", True)
            for pid in [zygote, *apps]
        ],
        ("settings put global http_proxy 127.0.0.1:8080", False),
        ("iptables -w -I OUTPUT -p udp --dport 443 -j REJECT", True),
        ("ip6tables -w -I OUTPUT -p udp --dport 443 -j REJECT", True),
        ("<push /data/local/tmp/frida-server>", False),
        ("chmod 755 /data/local/tmp/frida-server", True),
        ("/data/local/tmp/frida-server -D </dev/null >/dev/null 2>&1", True),
    ]
    assert "reverse:forward:tcp:8080;tcp:8080" in device.services
    # the stock CAs are still trusted, plus ours, in every app's view of the APEX store
    assert set(device.tmpfs[SYSTEM_CACERTS]) == {
        "02b73561.0",
        "0d69c7e1.0",
        "1df5a75f.0",
        "3c9a4d3b.0",
        "d6325660.0",
        ca,
    }
    assert device.read(f"{APEX_CACERTS}/{ca}", pid=1812) == ensure_ca(confdir).pem
    assert device.read(f"{APEX_CACERTS}/{ca}") is None  # the global namespace is untouched

    checks = {c.key: c for c in run_checks(fake.serial, confdir=confdir, frida_version=FRIDA)}
    assert all(
        checks[k].status == OK
        for k in ("root", "ca-system", "ca-apex", "proxy", "quic", "frida-server", "app")
    )

    mark = len(device.commands)
    again = setup(fake.serial, options)
    assert {r.outcome for r in again} == {"already"}
    assert changes(device, mark) == []

    undone = reset(fake.serial, SetupOptions(confdir=confdir))
    assert [(r.step, r.outcome) for r in undone] == [
        ("frida", "done"),
        ("quic", "done"),
        ("proxy", "done"),
        ("ca", "done"),
    ]
    assert not device.tmpfs and not any(device.ns_binds.values())
    assert device.iptables == {"iptables": [], "ip6tables": []} and device.reverses == []
    assert device.settings["global"]["http_proxy"] == ":0"
    assert not any(p.name == "frida-server" for p in device.processes)
    after = {c.key: c.status for c in run_checks(fake.serial, confdir=confdir, frida_version=FRIDA)}
    assert after["ca-system"] == after["ca-apex"] == after["proxy"] == after["frida-server"] == FAIL


def test_setup_android_11_uses_aosp_su_and_system_store(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    device = profile("api30-rooted")
    fake = adb_server.attach(device)
    setup(
        fake.serial, SetupOptions(confdir=confdir, frida_server=frida_file(tmp_path, 62), frida_version=FRIDA)
    )
    issued = [c for c, _ in changes(device)]
    assert f"cp {SYSTEM_CACERTS}/* /data/local/tmp/privlab-ca-copy/" in issued
    assert not any(c.startswith("nsenter") for c in issued)  # no APEX store before Android 14
    # every root command reached the device through AOSP su (`su 0 sh -c '…'`), never `su -c`
    assert device.root == "aosp-su" and all(
        root for c, root in changes(device) if c.startswith(("mount", "iptables"))
    )


def test_setup_stops_at_first_failure_with_one_line(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    device = profile("api34-apex")
    device.fail_on[r"^mount -t tmpfs"] = (1, "mount: '/system/etc/security/cacerts': Operation not permitted")
    fake = adb_server.attach(device)
    with pytest.raises(SetupError) as info:
        setup(
            fake.serial,
            SetupOptions(confdir=confdir, frida_server=frida_file(tmp_path, 183), frida_version=FRIDA),
        )
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("ca: `mount -t tmpfs tmpfs /system/etc/security/cacerts` failed")
    assert "Operation not permitted" in message and "privlab device reset" in message
    issued = [c for c, _ in device.commands]
    assert issued[-1] == "mount -t tmpfs tmpfs /system/etc/security/cacerts"  # nothing ran after it
    assert not any(c.startswith("settings put") for c in issued)


def test_setup_without_root_stops_at_root(adb_server: PrivateAdbServer, confdir: Path) -> None:
    device = profile("play13-unrooted")
    fake = adb_server.attach(device)
    with pytest.raises(SetupError, match=r"^root: no root on .*Google APIs"):
        setup(fake.serial, SetupOptions(confdir=confdir))
    assert changes(device) == [] and "root:" not in device.services


def test_setup_runs_adb_root_on_a_debuggable_image(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    device = profile("api30-rooted")
    device.root = "none"  # no su binary: only `adb root` (adbd restarts as root, the host reconnects)
    fake = adb_server.attach(device)
    results = setup(
        fake.serial, SetupOptions(confdir=confdir, frida_server=frida_file(tmp_path, 62), frida_version=FRIDA)
    )
    assert (
        results[0].step == "root"
        and results[0].outcome == "done"
        and "restarting adbd as root" in results[0].detail
    )
    assert "root:" in device.services and device.adbd_uid == 0
    assert device.tmpfs[SYSTEM_CACERTS]


def test_frida_server_for_the_wrong_cpu_is_refused_before_pushing(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    device = profile("api30-rooted")  # x86_64 with ARM translation: frida-server must still be x86_64
    fake = adb_server.attach(device)
    with pytest.raises(SetupError, match=r"built for arm64-v8a, the device is x86_64.*android-x86_64\.xz"):
        setup(
            fake.serial,
            SetupOptions(confdir=confdir, frida_server=frida_file(tmp_path, 183), frida_version=FRIDA),
        )
    assert "/data/local/tmp/frida-server" not in device.files


def test_frida_server_xz_release_is_unpacked(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    device = profile("api34-apex")
    fake = adb_server.attach(device)
    xz = tmp_path / f"frida-server-{FRIDA}-android-arm64.xz"
    xz.write_bytes(lzma.compress(frida_server_standin(FRIDA, 183)))
    setup(fake.serial, SetupOptions(confdir=confdir, frida_server=xz, frida_version=FRIDA))
    assert device.files["/data/local/tmp/frida-server"] == frida_server_standin(FRIDA, 183)


def test_missing_frida_server_names_the_download(adb_server: PrivateAdbServer, confdir: Path) -> None:
    device = profile("api34-apex")
    fake = adb_server.attach(device)
    with pytest.raises(
        SetupError, match=rf"frida/releases/download/{FRIDA}/frida-server-{FRIDA}-android-arm64\.xz"
    ):
        setup(fake.serial, SetupOptions(confdir=confdir, frida_version=FRIDA))


def test_cli_setup_and_reset(adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path) -> None:
    device = profile("api30-rooted")
    fake = adb_server.attach(device)
    fs = frida_file(tmp_path, 62, version=__import__("frida").__version__)
    runner = CliRunner()
    out = runner.invoke(
        main, ["device", "setup", "-s", fake.serial, "--confdir", str(confdir), "--frida-server", str(fs)]
    )
    assert out.exit_code == 0, out.output
    assert "ca:" in out.output and "device set up" in out.output
    out = runner.invoke(main, ["device", "reset", "-s", fake.serial, "--confdir", str(confdir)])
    assert out.exit_code == 0, out.output
    assert not device.tmpfs and device.reverses == []
    device.fail_on[r"^settings put"] = (1, "Security exception: Permission denial")
    out = runner.invoke(
        main, ["device", "setup", "-s", fake.serial, "--confdir", str(confdir), "--frida-server", str(fs)]
    )
    assert (
        out.exit_code == 2 and "proxy: `settings put global http_proxy 127.0.0.1:8080` failed" in out.output
    )


def test_cli_setup_android_14_reports_namespaces(
    adb_server: PrivateAdbServer, confdir: Path, tmp_path: Path
) -> None:
    device = profile("api34-apex")
    fake = adb_server.attach(device)
    fs = frida_file(tmp_path, 183, version=__import__("frida").__version__)
    out = CliRunner().invoke(
        main, ["device", "setup", "-s", fake.serial, "--confdir", str(confdir), "--frida-server", str(fs)]
    )
    assert out.exit_code == 0, out.output
    assert "APEX store bind-mounted in 5 namespace(s)" in out.output
    assert len(device.ns_binds) == 5

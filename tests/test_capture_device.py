"""`privlab capture --device`: device facts, canaries and APKs from the device, traffic through real mitmdump.

Stand-ins (named): `fake_adbd.FakeAdbd` is the Android device behind the REAL adb client, and the app is
replaced by the control app running on this machine (`stand_in_command`): no Android can run here. The
proxy, TLS interception, custody chain and seal are real.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_adbd import TIKTOK
from fake_adbd import FakeAdbd
from fake_adbd import PrivateAdbServer
from fake_adbd import adb_server_fixture
from fake_adbd import frida_server_standin
from fake_adbd import profile

from analysis.capture.device import DeviceCapture
from analysis.capture.device import capture_device
from analysis.capture.proxy import Upstream
from analysis.capture.proxy import free_port
from analysis.device.ca import ensure_ca
from analysis.device.setup import SetupOptions
from analysis.device.setup import setup
from analysis.errors import CaptureError
from analysis.session import Session
from analysis.session.flows import read_jsonl
from analysis.session.verify import verify_session
from analysis.validation.upstream import UpstreamServer
from analysis.validation.upstream import start_upstream

FRIDA = __import__("frida").__version__
adb_server = pytest.fixture(name="adb_server")(adb_server_fixture)


def _ready(server: PrivateAdbServer, tmp_path: Path, port: int) -> tuple[FakeAdbd, Path]:
    fake = server.attach(profile("api34-apex"))
    confdir = tmp_path / "mitmproxy"
    ensure_ca(confdir)
    fs = tmp_path / "frida-server"
    fs.write_bytes(frida_server_standin(FRIDA, 183))
    setup(fake.serial, SetupOptions(confdir=confdir, frida_server=fs, proxy_port=port))
    return fake, confdir


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[UpstreamServer]:
    server = start_upstream(tmp_path / "upstream")
    yield server
    server.stop()


def test_device_capture_seals_facts_canaries_apks_and_flows(
    adb_server: PrivateAdbServer, tmp_path: Path, upstream: UpstreamServer
) -> None:
    port = free_port()
    fake, confdir = _ready(adb_server, tmp_path, port)
    script = "curl -sS --fail https://log-va.tiktokv.com/service/2/device_register/ -d x=1 -o /dev/null"
    result = capture_device(DeviceCapture(serial=fake.serial, app=TIKTOK, stand_in_command=["sh", "-c", script],
                                          root=tmp_path / "caps", confdir=confdir, port=port,
                                          upstream=Upstream(upstream.tls, upstream.plain, upstream.cert)))  # fmt: skip
    assert result.status == "sealed", result.reason
    meta = Session.open(result.session.path).meta
    assert meta["mode"] == "device"
    assert meta["device"]["build_fingerprint"].startswith("google/sdk_gphone64_arm64/")
    assert meta["app"]["package"] == TIKTOK
    assert meta["capture"]["serial"] == fake.serial
    canaries = json.loads((result.session.path / "canaries.json").read_text())
    assert any(c["source"] == "read-from-device" for c in canaries)
    assert any((result.session.path / "apk").glob("*.apk"))
    (flow,) = read_jsonl(result.session.path / "flows.jsonl")
    assert flow.host == "log-va.tiktokv.com" and flow.status == 200
    assert verify_session(result.session.path).intact


def test_device_that_goes_away_mid_capture_seals_incomplete(
    adb_server: PrivateAdbServer, tmp_path: Path
) -> None:
    port = free_port()
    fake, confdir = _ready(adb_server, tmp_path, port)
    caps = tmp_path / "caps"

    def vanish_once_running() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for meta in caps.glob("*/session.json"):
                if "app-start" in meta.read_text():
                    fake.vanish()
                    return
            time.sleep(0.1)

    threading.Thread(target=vanish_once_running, daemon=True).start()
    t0 = time.monotonic()
    result = capture_device(DeviceCapture(serial=fake.serial, app=TIKTOK, stand_in_command=["sleep", "60"],
                                          root=tmp_path / "caps", confdir=confdir, port=port))  # fmt: skip
    assert time.monotonic() - t0 < 40
    assert result.status == "incomplete"
    assert result.reason and "went away" in result.reason
    assert verify_session(result.session.path).intact


def test_unready_device_writes_nothing(adb_server: PrivateAdbServer, tmp_path: Path) -> None:
    fake = adb_server.attach(profile("play13-unrooted"))
    with pytest.raises(CaptureError, match="not ready"):
        capture_device(DeviceCapture(serial=fake.serial, root=tmp_path / "caps", confdir=tmp_path / "conf",
                                     port=free_port()))  # fmt: skip
    assert not (tmp_path / "caps").exists()

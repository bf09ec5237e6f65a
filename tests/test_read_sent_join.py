"""A hooked read and the transmission of what it read join: same data type, linked both ways.

The hook events are hooks.jsonl lines exactly as the runner writes them from the agent's events
(`hooks/src/android/identifiers.ts` through `lib/java.ts`: api "<short class>.<method>", the call's
arguments, the returned value with bytes as `{"$b64"}`). They go through the real ingest (`read_hooks`,
`hook_events_table`), the real runtime-value canaries and Detector on the request, and the real
`build_findings`. Stand-in: the Android device (no ART here), so the events are written, not captured.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pytest

from analysis.detect.detector import Detector
from analysis.detect.runtime import runtime_canaries
from analysis.findings import Finding
from analysis.findings import TableSet
from analysis.findings import build_findings
from analysis.ingest.tables import flows_table
from analysis.ingest.tables import hook_events_table
from analysis.ingest.tables import read_hooks
from analysis.schema import DETECTIONS
from analysis.schema import FlowRecord
from analysis.vocabulary import AccessLink
from analysis.vocabulary import DataType
from analysis.vocabulary import DetectionMethod

T0 = 1_750_000_000.0
RESOLVER = {"$class": "android.app.ContextImpl$ApplicationContentResolver", "value": "resolver@5e1f"}
ANDROID_ID = "3f7a9c2e51b04d86"
MAC_BYTES = bytes.fromhex("021a2a3b4c5d")
BT_MAC = "3c:5a:b4:01:02:03"
SERIAL = "EMU7X9K2Q4"
PROP_SERIAL = "R58N12ABCDE"
DRM_ID = bytes(range(0x40, 0x60))  # 32 bytes, as Widevine's deviceUniqueId


def _b64(data: bytes) -> dict[str, str]:
    return {"$b64": base64.b64encode(data).decode()}


# (api, args, ret) as identifiers.ts records them; category "identifiers" for all.
READS = {
    "android_id": ("Settings$Secure.getString", [RESOLVER, "android_id"], ANDROID_ID),
    "mac-nic": ("NetworkInterface.getHardwareAddress", [], _b64(MAC_BYTES)),
    "mac-bt": ("BluetoothAdapter.getAddress", [], BT_MAC),
    "serial": ("Build.getSerial", [], SERIAL),
    "serial-prop": ("SystemProperties.get", ["ro.serialno"], PROP_SERIAL),
    "drm": ("MediaDrm.getPropertyByteArray", ["deviceUniqueId"], _b64(DRM_ID)),
}

# What leaves the app afterwards: one request per read, the value as apps send it.
SENT = {
    "android_id": ("query", f"device_id={ANDROID_ID}&aid=1233", b""),
    "mac-nic": ("body", "", json.dumps({"wifi_mac": "02:1A:2A:3B:4C:5D"}).encode()),
    "mac-bt": ("body", "", json.dumps({"bt": BT_MAC}).encode()),
    "serial": ("body", "", json.dumps({"serial": SERIAL}).encode()),
    "serial-prop": ("query", f"sn={PROP_SERIAL}", b""),
    "drm": ("body", "", json.dumps({"drm_id": DRM_ID.hex()}).encode()),
}
EXPECTED = {
    "android_id": DataType.ANDROID_ID,
    "mac-nic": DataType.MAC,
    "mac-bt": DataType.MAC,
    "serial": DataType.SERIAL,
    "serial-prop": DataType.SERIAL,
    "drm": DataType.VENDOR_ID,
}


def _hooks_jsonl(path: Path, names: list[str]) -> Path:
    lines = []
    for seq, name in enumerate(names):
        api, args, ret = READS[name]
        event = {"seq": seq, "t": T0 + seq, "pid": 4242, "tid": 7, "category": "identifiers", "api": api}
        event |= {"args": args, "ret": ret, "stack": ["com.ss.android.deviceregister.a.b(Unknown Source)"]}
        lines.append(json.dumps(event, separators=(",", ":")) + "\n")
    path.write_text("".join(lines))
    return path


def _flow(i: int, name: str) -> FlowRecord:
    where, query, body = SENT[name]
    path = "/service/2/device_register/"
    return FlowRecord(
        f"f{i}", T0 + 30 + i, T0 + 30.2 + i, "10.0.2.15:40000", "203.0.113.9", 443, "log.tiktokv.com",
        "log.tiktokv.com", "https", "HTTP/1.1", "POST", f"https://log.tiktokv.com{path}?{query}", path,
        query, 200, [("content-type", "application/json")] if body else [], [], len(body), 0,
        "application/json" if body else None, None, request_body=body,
    )  # fmt: skip


def _findings(tmp_path: Path, names: list[str]) -> tuple[list[Finding], dict[int, str]]:
    events = list(read_hooks(_hooks_jsonl(tmp_path / "hooks.jsonl", names)))
    canaries = runtime_canaries(events, [])
    detector = Detector(canaries)
    records = [_flow(i, n) for i, n in enumerate(names)]
    detections = [asdict(d) for r in records for d in detector.flow(r).detections]
    tables = TableSet(
        flows=flows_table(records).to_pandas(),
        hook_events=hook_events_table(events).to_pandas(),
        detections=pa.Table.from_pylist(detections, schema=DETECTIONS).to_pandas(),
    )
    findings, _ = build_findings(tables, {"marks": []}, canaries=canaries)
    return findings, {seq: name for seq, name in enumerate(names)}


@pytest.mark.parametrize("name", list(READS))
def test_a_read_and_its_transmission_have_one_data_type_and_are_linked(tmp_path: Path, name: str) -> None:
    findings, _ = _findings(tmp_path, [name])
    dtype = EXPECTED[name]
    (read,) = [f for f in findings if f.kind == "access"]
    (sent,) = [f for f in findings if f.kind == "transmission"]
    assert read.data_type == sent.data_type == dtype
    assert read.related == [sent.finding_id] and sent.related == [read.finding_id]
    # The transmission names the read that returned the value it carries, by value (not only by type).
    assert [(a.seq, a.link) for a in sent.access] == [(0, AccessLink.VALUE)]
    assert sent.access[0].api == READS[name][0] and sent.access[0].delay_s == pytest.approx(30.0)
    assert DetectionMethod.RUNTIME_VALUE in sent.methods


def test_reads_of_several_identifiers_each_join_their_own_transmission(tmp_path: Path) -> None:
    names = ["android_id", "mac-nic", "serial", "drm"]
    findings, seq_name = _findings(tmp_path, names)
    reads = {f.data_type: f for f in findings if f.kind == "access"}
    sent = {f.data_type: f for f in findings if f.kind == "transmission"}
    assert set(reads) == set(sent) == {EXPECTED[n] for n in names}
    for dtype, tx in sent.items():
        assert reads[dtype].related == [tx.finding_id] and tx.related == [reads[dtype].finding_id]
        assert [EXPECTED[seq_name[a.seq]] for a in tx.access] == [dtype]
        assert all(a.link == AccessLink.VALUE for a in tx.access)


def test_the_old_category_spelling_still_reads_as_installed_apps(tmp_path: Path) -> None:
    # Sessions recorded before the agent's category became "installed_apps" say "installed-apps".
    line = {"seq": 0, "t": T0, "pid": 1, "tid": 1, "category": "installed-apps"}
    line |= {"api": "ApplicationPackageManager.getInstalledPackages", "args": [0], "ret": [], "stack": []}
    path = tmp_path / "hooks.jsonl"
    path.write_text(json.dumps(line) + "\n")
    events = list(read_hooks(path))
    assert events[0].category == "installed_apps"
    tables = TableSet(hook_events=hook_events_table(events).to_pandas())
    findings, _ = build_findings(tables, {"marks": []})
    assert [(f.kind, f.data_type) for f in findings] == [("access", "installed_apps")]

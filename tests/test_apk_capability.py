"""The capability-vs-observed table: static columns from static.json, observed ones from the findings stage."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.apk.analyse import analyse
from analysis.apk.capability import CAPABILITY_COLUMNS
from analysis.apk.capability import DATA_TYPES
from analysis.apk.capability import capability_rows
from analysis.apk.capability import hook_event_data_type
from analysis.apk.report import load_static
from analysis.schema import CANARY_KINDS
from analysis.schema import DETECTIONS
from analysis.schema import HOOK_EVENTS


@pytest.fixture(scope="module")
def a2dp_static(ref_data: Path) -> dict:
    # through the JSON form, as the findings stage reads apk/static.json
    return load_static(analyse(ref_data / "apks" / "a2dp.Vol_137.apk").to_json_bytes())


def _row(table: pd.DataFrame, data_type: str) -> dict:
    rows = table[table["data_type"] == data_type].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def test_static_columns_only(a2dp_static: dict) -> None:
    table = capability_rows(a2dp_static)
    assert tuple(table.columns) == CAPABILITY_COLUMNS
    assert tuple(table["data_type"]) == DATA_TYPES
    assert set(DATA_TYPES) <= set(CANARY_KINDS)
    contact = _row(table, "contact")
    assert contact["permission_held"] and not contact["api_referenced"]
    location = _row(table, "location")
    assert location["permission_held"] and location["api_referenced"] and location["call_sites"] >= 3
    assert (
        location["referenced_by"] == ("a2dp.Vol.StoreLoc (first)",) or "first" in location["referenced_by"][0]
    )
    clipboard = _row(table, "clipboard")
    assert (
        clipboard["permission_held"] is None and not clipboard["api_referenced"]
    )  # none needed, none called
    assert table["observed_read"].isna().all() and table["observed_sent"].isna().all()


def test_observed_columns_from_hook_events_and_detections(a2dp_static: dict) -> None:
    hooks = pd.DataFrame(
        [
            {
                "seq": 1,
                "category": "clipboard",
                "api": "android.content.ClipboardManager.getPrimaryClip",
                "args": "[]",
                "sdk": "pangle",
            },
            {
                "seq": 2,
                "category": "identifiers",
                "api": "TelephonyManager.getDeviceId",
                "args": "[]",
                "sdk": None,
            },
            {
                "seq": 3,
                "category": "identifiers",
                "api": "Settings.Secure.getString",
                "args": '["<resolver>", "android_id"]',
                "sdk": "tiktok",
            },
            {
                "seq": 4,
                "category": "identifiers",
                "api": "Settings.Secure.getString",
                "args": '["<resolver>", "font_scale"]',
                "sdk": None,
            },
        ],
        columns=HOOK_EVENTS.names,
    )
    detections = pd.DataFrame(
        [{"detection_id": "d1", "data_type": "imei"}, {"detection_id": "d2", "data_type": "imei"}],
        columns=DETECTIONS.names,
    )
    table = capability_rows(a2dp_static, hooks, detections)
    assert _row(table, "clipboard")["observed_read"] == 1
    assert _row(table, "clipboard")["read_by"] == ("pangle",)
    assert _row(table, "imei")["observed_read"] == 1 and _row(table, "imei")["observed_sent"] == 2
    assert _row(table, "android_id")["observed_read"] == 1 and _row(table, "android_id")["read_by"] == (
        "tiktok",
    )
    assert _row(table, "location")["observed_read"] == 0 and _row(table, "location")["observed_sent"] == 0


@pytest.mark.parametrize(
    ("category", "api", "args", "expected"),
    [
        ("identifiers", "android.telephony.TelephonyManager.getSubscriberId", None, "imsi"),
        ("location", "FusedLocationProviderClient.getLastLocation", None, "location"),
        ("contacts", "android.content.ContentResolver.query", None, "contact"),
        ("identifiers", "Settings$Secure.getString", ["r", "bluetooth_name"], None),
        ("identifiers", "Settings$Secure.getString", ["r", "bluetooth_address"], "mac"),
        ("installed-apps", "ApplicationPackageManager.getInstalledPackages", None, "installed_apps"),
        ("contacts", "AccountManager.getAccounts", None, "email"),
        ("webview", "WebView.evaluateJavascript", None, None),
    ],
)
def test_hook_event_data_type(category: str, api: str, args: object, expected: str | None) -> None:
    assert hook_event_data_type(category, api, json.dumps(args) if args else None) == expected

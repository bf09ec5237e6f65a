"""Permissions: what each one unlocks, and how Android protects it.

Protection levels come from androguard's copy of the AOSP permission definitions for one API level
(by default the newest it ships, i.e. what a current device enforces; older levels are available for a
device that runs an older Android). An app's own `<permission>` declarations give the level of custom
permissions. The data types use the canary vocabulary (`analysis.schema.CANARY_KINDS`), so the
capability table lines up with what detection reports; `group` is the plain-words name of what the
permission gives access to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from analysis.apk.bundle import quiet_androguard


@dataclass(frozen=True)
class PermissionUse:
    """A permission the app requests (a row of static.json `permissions`)."""

    name: str
    protection_level: str  # dangerous | normal | signature|privileged | ... | unknown
    group: str | None  # plain words: "contacts", "phone state", "precise location", ...
    data_types: tuple[str, ...]
    max_sdk: int | None = None  # <uses-permission android:maxSdkVersion>: not held on newer devices
    declared_by_app: bool = False
    api23_only: bool = False  # requested with <uses-permission-sdk-23>: only on Android 6 and later

    @property
    def runtime(self) -> bool:
        """A "dangerous" permission: the user must grant it at run time (API 23+)."""
        return "dangerous" in self.protection_level.split("|")


# permission -> (group, data types it unlocks). Sources: developer.android.com/reference/android/Manifest.permission
# and the API docs of the methods each permission guards (TelephonyManager, LocationManager, AccountManager).
UNLOCKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "android.permission.READ_CONTACTS": ("contacts", ("contact",)),
    "android.permission.WRITE_CONTACTS": ("contacts", ("contact",)),
    "android.permission.READ_PHONE_STATE": ("phone state", ("imei", "imsi", "iccid", "serial", "phone")),
    "android.permission.READ_PRIVILEGED_PHONE_STATE": ("phone state", ("imei", "imsi", "iccid", "serial")),
    "android.permission.READ_PHONE_NUMBERS": ("phone number", ("phone",)),
    "android.permission.READ_SMS": ("SMS", ("phone",)),
    "android.permission.GET_ACCOUNTS": ("accounts", ("email",)),
    "android.permission.GET_ACCOUNTS_PRIVILEGED": ("accounts", ("email",)),
    "android.permission.ACCESS_FINE_LOCATION": ("precise location", ("location",)),
    "android.permission.ACCESS_COARSE_LOCATION": ("approximate location", ("location",)),
    "android.permission.ACCESS_BACKGROUND_LOCATION": ("location in the background", ("location",)),
    "android.permission.ACCESS_MEDIA_LOCATION": ("location in photos", ("location",)),
    "android.permission.ACCESS_WIFI_STATE": ("Wi-Fi state", ("mac",)),
    "android.permission.LOCAL_MAC_ADDRESS": ("MAC address", ("mac",)),
    "android.permission.BLUETOOTH": ("Bluetooth", ("mac",)),
    "android.permission.BLUETOOTH_CONNECT": ("Bluetooth", ("mac",)),
    "android.permission.QUERY_ALL_PACKAGES": ("installed apps", ("installed_apps",)),
    "android.permission.GET_TASKS": ("running apps", ("installed_apps",)),
    "android.permission.PACKAGE_USAGE_STATS": ("app usage", ("installed_apps",)),
    "com.google.android.gms.permission.AD_ID": ("advertising ID", ("advertising_id",)),
    "android.permission.READ_CALENDAR": ("calendar", ()),
    "android.permission.READ_CALL_LOG": ("call log", ("phone",)),
    "android.permission.RECEIVE_SMS": ("SMS", ()),
    "android.permission.CAMERA": ("camera", ()),
    "android.permission.RECORD_AUDIO": ("microphone", ()),
    "android.permission.READ_EXTERNAL_STORAGE": ("files", ()),
    "android.permission.WRITE_EXTERNAL_STORAGE": ("files", ()),
    "android.permission.READ_MEDIA_IMAGES": ("photos", ()),
    "android.permission.READ_MEDIA_VIDEO": ("videos", ()),
    "android.permission.BODY_SENSORS": ("body sensors", ()),
    "android.permission.ACTIVITY_RECOGNITION": ("physical activity", ()),
}

LATEST_API = 36

# Custom permission protectionLevel attribute values (android:protectionLevel flags, low bits).
_DECLARED_LEVELS = {0: "normal", 1: "dangerous", 2: "signature", 3: "signatureOrSystem"}


@cache
def aosp_permissions(api_level: int = LATEST_API) -> dict[str, Any]:
    """The AOSP permission definitions androguard ships for `api_level` (nearest lower level if absent)."""
    quiet_androguard()
    from androguard.core import androconf

    data = androconf.load_api_specific_resource_module("aosp_permissions", api_level)
    return dict(data or {})


def _declared_level(raw: str | None) -> str:
    if raw is None or raw == "None":
        return "normal"  # the Android default for a <permission> without protectionLevel
    text = str(raw)
    try:
        value = int(text, 0)
    except ValueError:
        return text
    base = _DECLARED_LEVELS.get(value & 0xF, f"0x{value:x}")
    return base


def permission_uses(
    requested: list[tuple[str, int | None, bool]],
    declared: dict[str, dict[str, Any]],
    api_level: int = LATEST_API,
) -> list[PermissionUse]:
    """Classify each requested permission: protection level, what it unlocks, whether the app declares it."""
    aosp = aosp_permissions(api_level)
    out: dict[str, PermissionUse] = {}
    for name, max_sdk, api23_only in requested:
        if not name or name in out:
            continue
        if name in aosp:
            level = str(aosp[name].get("protectionLevel") or "unknown")
        elif name in declared:
            level = _declared_level(declared[name].get("protectionLevel"))
        else:
            level = "unknown"
        group, types = UNLOCKS.get(name, (None, ()))
        out[name] = PermissionUse(
            name=name,
            protection_level=level,
            group=group,
            data_types=types,
            max_sdk=max_sdk,
            declared_by_app=name in declared,
            api23_only=api23_only,
        )
    return [out[k] for k in sorted(out)]

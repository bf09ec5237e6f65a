"""The framework APIs the Frida agent hooks, as they appear in DEX bytecode.

A call site is an `invoke-*` of one of these methods, an `sget` of one of these fields (the contacts
content URIs), or a settings read whose key string sits in the same method (`Settings.Secure.getString`
with `"android_id"`). Categories follow the agent's hook categories; data types use the canary vocabulary
of `analysis.schema.CANARY_KINDS` so that the capability table lines up with detections.

`kind` says how strong the reference is: `read` returns the data itself, `listen` registers for updates,
`probe` only asks whether data exists or reads metadata about it, `bridge` lets web content call into
the app or the app run script in web content, `load` opens a page in a WebView.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.vocabulary import READ_CATEGORIES
from analysis.vocabulary import HookCategory


@dataclass(frozen=True)
class HookedApi:
    """One method or field of the Android framework (or of Google Play services) the agent watches."""

    category: str  # a vocabulary.HookCategory: clipboard | identifiers | location | contacts | installed_apps | webview
    data_type: str | None  # a CANARY_KINDS value; None for WebView JavaScript bridges
    class_descriptor: str  # DEX form: "Landroid/content/ClipboardManager;"
    member: str  # method or field name
    kind: str = "read"  # read | listen | probe | bridge | load
    needs_string: str | None = None  # the call only counts if this constant string is in the same method

    @property
    def api(self) -> str:
        """Java-style name as the agent reports it: `android.content.ClipboardManager.getPrimaryClip`."""
        if not self.member:  # a constant string, e.g. a content URI
            return self.class_descriptor
        return f"{java_name(self.class_descriptor)}.{self.member}"


def java_name(descriptor: str) -> str:
    """`Lcom/example/Foo$Bar;` -> `com.example.Foo$Bar` (already dotted names pass through)."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        descriptor = descriptor[1:-1]
    return descriptor.replace("/", ".")


def _methods(
    category: str, data_type: str | None, cls: str, names: str, kind: str = "read"
) -> list[HookedApi]:
    return [HookedApi(category, data_type, cls, n, kind) for n in names.split()]


_TM = "Landroid/telephony/TelephonyManager;"
_LM = "Landroid/location/LocationManager;"
_FUSED = "Lcom/google/android/gms/location/FusedLocationProviderClient;"
_PM = "Landroid/content/pm/PackageManager;"
_AM = "Landroid/app/ActivityManager;"
_CM = "Landroid/content/ClipboardManager;"
_ADID = "Lcom/google/android/gms/ads/identifier/AdvertisingIdClient;"


def _setting(cls: str, key: str, data_type: str) -> HookedApi:
    return HookedApi("identifiers", data_type, cls, "getString", needs_string=key)


# Mirrors the agent's hook lists (hooks/src/android/*.ts): same classes, methods and categories. Where
# the agent hooks a framework implementation (ApplicationPackageManager), code refers to the public type.
METHODS: tuple[HookedApi, ...] = tuple(
    _methods("clipboard", "clipboard", _CM, "getPrimaryClip getText")
    + _methods("clipboard", "clipboard", "Landroid/text/ClipboardManager;", "getText")
    + _methods("clipboard", "clipboard", _CM, "hasPrimaryClip getPrimaryClipDescription hasText", "probe")
    + _methods("clipboard", "clipboard", _CM, "addPrimaryClipChangedListener", "listen")
    + _methods("identifiers", "imei", _TM, "getDeviceId getImei getMeid")
    + _methods("identifiers", "imsi", _TM, "getSubscriberId")
    + _methods("identifiers", "iccid", _TM, "getSimSerialNumber")
    + _methods("identifiers", "phone", _TM, "getLine1Number")
    + _methods(
        "identifiers",
        None,
        _TM,
        "getNetworkOperator getNetworkOperatorName getSimOperator getSimOperatorName getNetworkCountryIso "
        "getSimCountryIso",
    )
    + _methods("identifiers", "serial", "Landroid/os/Build;", "getSerial")
    + _methods("identifiers", "mac", "Landroid/net/wifi/WifiInfo;", "getMacAddress")
    + _methods("identifiers", "mac", "Ljava/net/NetworkInterface;", "getHardwareAddress")
    + _methods("identifiers", "mac", "Landroid/bluetooth/BluetoothAdapter;", "getAddress")
    + _methods("identifiers", "advertising_id", _ADID, "getAdvertisingIdInfo")
    + _methods("identifiers", "advertising_id", _ADID[:-1] + "$Info;", "getId")
    + _methods(
        "identifiers",
        "advertising_id",
        "Lcom/huawei/hms/ads/identifier/AdvertisingIdClient;",
        "getAdvertisingIdInfo",
    )
    + [
        _setting("Landroid/provider/Settings$Secure;", "android_id", "android_id"),
        _setting("Landroid/provider/Settings$System;", "android_id", "android_id"),
        _setting("Landroid/provider/Settings$Secure;", "bluetooth_address", "mac"),
        HookedApi(
            "identifiers", "serial", "Landroid/os/SystemProperties;", "get", needs_string="ro.serialno"
        ),
        HookedApi(
            "identifiers",
            None,
            "Landroid/media/MediaDrm;",
            "getPropertyByteArray",
            needs_string="deviceUniqueId",
        ),
    ]
    + _methods("location", "location", _LM, "getLastKnownLocation getCurrentLocation")
    + _methods("location", "location", _LM, "requestLocationUpdates requestSingleUpdate", "listen")
    + _methods("location", "location", _FUSED, "getLastLocation getCurrentLocation")
    + _methods("location", "location", _FUSED, "requestLocationUpdates", "listen")
    + _methods(
        "location",
        "location",
        "Lcom/google/android/gms/location/LocationResult;",
        "getLastLocation getLocations",
    )
    + _methods("location", "location", "Landroid/location/Location;", "getLatitude getLongitude")
    + _methods("location", "location", _TM, "getAllCellInfo getCellLocation")
    + _methods("location", "location", _TM, "requestCellInfoUpdate", "listen")
    + _methods("location", "location", "Landroid/net/wifi/WifiManager;", "getScanResults")
    + _methods("location", "location", "Landroid/net/wifi/WifiInfo;", "getSSID getBSSID")
    + _methods("location", None, "Landroid/net/wifi/WifiManager;", "getConnectionInfo", "probe")
    + _methods("contacts", "email", "Landroid/accounts/AccountManager;", "getAccounts getAccountsByType")
    + _methods("contacts", "email", "Landroid/accounts/AccountManager;", "getAccountsByTypeAndFeatures")
    + _methods(
        HookCategory.INSTALLED_APPS, "installed_apps", _PM, "getInstalledPackages getInstalledApplications"
    )
    + _methods(
        HookCategory.INSTALLED_APPS,
        "installed_apps",
        _PM,
        "queryIntentActivities queryIntentServices queryBroadcastReceivers getPackageInfo getApplicationInfo",
        "probe",
    )
    + _methods(
        HookCategory.INSTALLED_APPS,
        "installed_apps",
        _AM,
        "getRunningAppProcesses getRunningTasks getRunningServices",
    )
    + _methods(
        "webview", None, "Landroid/webkit/WebView;", "addJavascriptInterface evaluateJavascript", "bridge"
    )
    + _methods("webview", None, "Landroid/webkit/WebView;", "loadUrl", "load")
    + _methods("webview", None, "Landroid/webkit/WebSettings;", "setJavaScriptEnabled", "probe")
)

_CONTACTS = (
    "Landroid/provider/ContactsContract$Contacts;",
    "Landroid/provider/ContactsContract$RawContacts;",
    "Landroid/provider/ContactsContract$Data;",
    "Landroid/provider/ContactsContract$CommonDataKinds$Phone;",
    "Landroid/provider/ContactsContract$CommonDataKinds$Email;",
)

# Static fields whose read means the code reaches for the data: the contacts provider's content URIs
# (queried through ContentResolver.query, which on its own says nothing), and Build.SERIAL.
FIELDS: tuple[HookedApi, ...] = tuple(
    [HookedApi("contacts", "contact", c, "CONTENT_URI") for c in _CONTACTS]
    + [HookedApi("identifiers", "serial", "Landroid/os/Build;", "SERIAL")]
)

# Constant strings that reach the same data without a typed reference.
STRINGS: dict[str, HookedApi] = {
    "content://com.android.contacts": HookedApi(
        "contacts", "contact", "content://com.android.contacts", "", "read"
    ),
}

# Classes the agent hooks in place of the public type code refers to (the framework's implementation).
RUNTIME_ALIASES: dict[str, tuple[str, ...]] = {
    "Landroid/content/pm/PackageManager;": ("android.app.ApplicationPackageManager",),
    "Landroid/content/ClipboardManager;": ("android.content.IClipboard$Stub$Proxy",),
}

CATEGORIES: tuple[HookCategory, ...] = tuple(
    c
    for c in HookCategory
    if c in READ_CATEGORIES and c != HookCategory.WATCH  # watched methods: no API list
)


def _index(apis: tuple[HookedApi, ...]) -> dict[tuple[str, str], list[HookedApi]]:
    out: dict[tuple[str, str], list[HookedApi]] = {}
    for api in apis:
        out.setdefault((api.class_descriptor, api.member), []).append(api)
    return out


def method_index() -> dict[tuple[str, str], list[HookedApi]]:
    """(class descriptor, method name) -> the catalog entries for it."""
    return _index(METHODS)


def field_index() -> dict[tuple[str, str], list[HookedApi]]:
    """(class descriptor, field name) -> the catalog entries for it."""
    return _index(FIELDS)

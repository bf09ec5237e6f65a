"""Every name that crosses a boundary, defined once: data types, hook categories and modules, methods, steps.

A name written by one part of privlab and read by another (the Frida agent and the runner, detection and
findings, findings and the report, a canaries.json and the detector) is a member of one of the enums
below. They are `StrEnum`s, so a member *is* its string: it goes into Parquet, JSON and f-strings as the
plain name and compares equal to it, and code that still holds a plain string keeps working. (Give
`click.Choice` their `.value`s: given enum members it offers the member *names*.)

`hook_data_type` is the one table from a hook read (category, api, arguments) to the data type it read.
Access findings (what the app read) and runtime-value canaries (what it read and then sent) both use it,
so a read and its transmission carry the same data type and join. `tests/test_vocabulary.py` checks the
hook categories and module names here against what `hooks/src` emits, in both directions.

This module is the base layer: it imports nothing from `analysis`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DataType(StrEnum):
    """A kind of personal data: a canary's `kind`, a detection's and a finding's `data_type`."""

    IMEI = "imei"  # also MEID and TelephonyManager.getDeviceId
    ANDROID_ID = "android_id"
    ADVERTISING_ID = "advertising_id"
    MAC = "mac"  # Wi-Fi, Bluetooth, any network interface's hardware address
    SERIAL = "serial"
    IMSI = "imsi"
    ICCID = "iccid"
    PHONE = "phone"
    EMAIL = "email"
    LOCATION = "location"  # also its proxies: cell info, Wi-Fi scans, SSID/BSSID
    CLIPBOARD = "clipboard"
    CONTACT = "contact"  # contacts, call log, SMS, calendar
    INSTALLED_APPS = "installed_apps"  # installed or running apps, and probes for one app
    # An identifier scoped by a vendor or app rather than the hardware: ByteDance openudid / cdid /
    # install_id, MediaDrm's deviceUniqueId (per app and device since Android 8).
    VENDOR_ID = "vendor_id"
    OTHER = "other"  # device data with no type of its own (a device name, the build fingerprint)


class CanarySource(StrEnum):
    """Where a canary's value came from (`Canary.source`)."""

    PLANTED = "planted"
    READ_FROM_DEVICE = "read-from-device"
    RUNTIME_VALUE = "runtime-value"


class DetectionMethod(StrEnum):
    """How a detection was made (`detections.method`)."""

    CANARY = "canary"  # a planted or device-read ground-truth value
    RUNTIME_VALUE = "runtime-value"  # a value a hook saw the app read
    PATTERN = "pattern"  # a value shaped like the data type, no ground truth


class HookCategory(StrEnum):
    """`hook_events.category`: what an event is about. The agent's own, then the runner's."""

    CLIPBOARD = "clipboard"
    IDENTIFIERS = "identifiers"
    LOCATION = "location"
    CONTACTS = "contacts"
    INSTALLED_APPS = "installed_apps"
    WEBVIEW = "webview"
    WATCH = "watch"  # methods the operator asked to watch
    TLS = "tls"  # a certificate check the agent bypassed (Java or native)
    TLS_PLAINTEXT = "tls-plaintext"  # SSL_write/SSL_read plaintext
    NETWORK = "network"  # getaddrinfo, connect
    BYTEDANCE_ENCRYPT = "bytedance-encrypt"  # plaintext handed to ttEncrypt (hooks/src/bytedance)
    BYTEDANCE_METASEC = "bytedance-metasec"  # the security SDK's JNI dispatcher and its callbacks
    # Written by the runner (analysis/capture/frida.py), not by an agent module.
    AGENT = "agent"  # the agent's ready report, warnings and exceptions
    RUNNER = "runner"  # gaps, process ends, unknown or malformed messages


# Categories only the runner writes; every other category is emitted by an agent module.
RUNNER_CATEGORIES = frozenset({HookCategory.AGENT, HookCategory.RUNNER})
AGENT_CATEGORIES = frozenset(set(HookCategory) - RUNNER_CATEGORIES)

# Categories that record the app reading the device (ePrivacy Art. 5(3)). The others describe the
# transport (network, tls, tls-plaintext) or the capture itself (agent, runner).
READ_CATEGORIES = frozenset(
    {
        HookCategory.CLIPBOARD,
        HookCategory.IDENTIFIERS,
        HookCategory.LOCATION,
        HookCategory.CONTACTS,
        HookCategory.INSTALLED_APPS,
        HookCategory.WEBVIEW,
        HookCategory.WATCH,
    }
)


class AgentModule(StrEnum):
    """The agent's hook modules by name (`hooks/src/modules.ts`), as `privlab hooks --module` takes them."""

    CLIPBOARD = "clipboard"
    IDENTIFIERS = "identifiers"
    LOCATION = "location"
    CONTACTS = "contacts"
    INSTALLED_APPS = "installed_apps"
    WEBVIEW = "webview"
    TLS = "tls"
    WATCH = "watch"
    TIKTOK = "tiktok"  # hooks/src/bytedance: ttEncrypt and metasec entry points, per TikTok version
    SSL = "ssl"
    CONNECT = "connect"
    GETADDRINFO = "getaddrinfo"
    TLS_NATIVE = "tls-native"


# Java modules need ART and install once the VM is ready; native ones install at once (also on the host).
JAVA_MODULES: tuple[AgentModule, ...] = (
    AgentModule.CLIPBOARD,
    AgentModule.IDENTIFIERS,
    AgentModule.LOCATION,
    AgentModule.CONTACTS,
    AgentModule.INSTALLED_APPS,
    AgentModule.WEBVIEW,
    AgentModule.TLS,
    AgentModule.WATCH,
    AgentModule.TIKTOK,
)
NATIVE_MODULES: tuple[AgentModule, ...] = (
    AgentModule.SSL,
    AgentModule.CONNECT,
    AgentModule.GETADDRINFO,
    AgentModule.TLS_NATIVE,
)

# What an `agent:warning`'s `module` names besides a module: the agent itself, and its native library
# observer (hooks/src/lib/native.ts), which serves every native module.
WARNING_SOURCES = frozenset({"agent", "native"})

# Other spellings met in older sessions, scripts and tables, normalised on input.
_ALIASES = {
    "installed-apps": "installed_apps",
    "installedapps": "installed_apps",
    "packages": "installed_apps",
    "contact": "contacts",
    "tlsnative": "tls-native",
    "tls_native": "tls-native",
    "tls_plaintext": "tls-plaintext",
}


_CATEGORY_NAMES = frozenset(c.value for c in HookCategory)
_MODULE_NAMES = frozenset(m.value for m in AgentModule)


def canonical_category(name: str | None) -> str:
    """A hook category in its one spelling (`installed-apps` -> `installed_apps`); unknown ones pass through."""
    low = (name or "").strip().lower()
    low = _ALIASES.get(low, low)
    return HookCategory(low) if low in _CATEGORY_NAMES else (name or "")


def canonical_module(name: str) -> str:
    """An agent module name in its one spelling (`installedapps` -> `installed_apps`); unknown ones pass through."""
    low = name.strip().lower()
    low = _ALIASES.get(low, low)
    return AgentModule(low) if low in _MODULE_NAMES else name


class EncodingStep(StrEnum):
    """One step of an encoding chain (`detections.encoding`, `PlantedPart.encoding`), outermost first.

    A chain joins steps with ">" and no spaces: `gzip>json>base64>sha256` is a gzip JSON body whose field
    holds base64 of the SHA-256 of the value. A bare value in a query, header, cookie or path is `plain`.
    """

    PLAIN = "plain"
    # content-encodings
    GZIP = "gzip"
    DEFLATE = "deflate"
    BR = "br"
    ZSTD = "zstd"
    # containers (body parts only)
    JSON = "json"
    FORM = "form"
    MULTIPART = "multipart"
    PROTOBUF = "protobuf"
    # value transforms
    BASE64 = "base64"
    BASE64URL = "base64url"
    HEX = "hex"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    UPPER = "upper"
    LOWER = "lower"
    NOSEP = "nosep"
    E6 = "e6"
    E7 = "e7"
    SWAPPED = "swapped"
    ROUNDED = "rounded"
    # re-written forms of a value (analysis.detect.variants.KIND_FORMS)
    NATIONAL = "national"  # a phone number in its country's national format
    INTERNATIONAL = "international"
    DIGITS = "digits"  # a phone number's digits only
    DECIMAL = "decimal"  # a hexadecimal integer (Android ID) written in decimal
    HEXINT = "hexint"  # a decimal integer (install id, GSF id) written in hexadecimal
    PAD = "pad"  # zero-padded to 16 digits
    NOCHECK = "nocheck"  # an IMEI without its Luhn check digit
    CANONICAL = "canonical"  # an e-mail normalised as ad SDKs do before hashing
    # ByteDance's own layers (analysis.decode.ttencrypt, analysis.decode.bytedance)
    TTENCRYPT = "ttencrypt"
    MIXMODE = "mixmode"
    ARGUS = "argus"
    LADON = "ladon"
    GORGON = "gorgon"


class Party(StrEnum):
    """Who receives data relative to the app (`destinations.party`); `device` for a read on the device."""

    FIRST = "first"
    THIRD = "third"
    UNKNOWN = "unknown"
    DEVICE = "device"


# The parties a destination can have (a host is never the device).
DESTINATION_PARTIES: tuple[Party, ...] = (Party.FIRST, Party.THIRD, Party.UNKNOWN)


class Phase(StrEnum):
    """The consent phase of a moment of the session, from the operator's marks."""

    BEFORE = "before-consent"
    AFTER = "after-consent"
    REFUSED = "after-refusal"
    WITHDRAWN = "after-withdrawal"


class FindingKind(StrEnum):
    """`findings.kind`."""

    TRANSMISSION = "transmission"
    ACCESS = "access"


class AccessLink(StrEnum):
    """How a read is tied to a finding (`AccessEvent.link`)."""

    VALUE = "value"  # the read returned (or was given) the value that was sent
    TYPE = "type"  # only the data type matches: the weaker link, stated as such
    ACCESS = "access"  # the read itself, in an access finding


# -- hook read -> data type ----------------------------------------------------------------------


@dataclass(frozen=True)
class HookedRead:
    """One method the agent hooks, and the data type a call of it reads.

    `api` is "<Class>.<method>" as the agent names it (`hooks/src/lib/java.ts`: the short class name,
    nested classes with "$"). `key` is set for keyed reads (a Settings key, a system property, a
    MediaDrm property): the read counts as `data_type` only when an argument is that key. `data_type`
    None: the call reads no personal data item (an operator name, a script run in a WebView).
    """

    category: HookCategory
    api: str
    data_type: DataType | None
    key: str | None = None


def _reads(category: HookCategory, data_type: DataType | None, cls: str, methods: str) -> list[HookedRead]:
    return [HookedRead(category, f"{cls}.{m}", data_type) for m in methods.split()]


def _keyed(category: HookCategory, api: str, keys: dict[str, DataType]) -> list[HookedRead]:
    return [HookedRead(category, api, t, k) for k, t in keys.items()]


_I, _L, _C = HookCategory.IDENTIFIERS, HookCategory.LOCATION, HookCategory.CONTACTS
_T = DataType
# The keys hooks/src/android/identifiers.ts records (IDENTIFYING_SETTINGS, IDENTIFYING_PROPERTIES).
_SETTINGS = {
    "android_id": _T.ANDROID_ID,
    "bluetooth_address": _T.MAC,
    "bluetooth_name": _T.OTHER,
    "device_name": _T.OTHER,
}
_PROPERTIES = {
    "ro.serialno": _T.SERIAL,
    "ro.boot.serialno": _T.SERIAL,
    "ril.serialnumber": _T.SERIAL,
    "ro.gsm.serial": _T.SERIAL,
    "sys.serialnumber": _T.SERIAL,
    "persist.radio.imei": _T.IMEI,
    "wifi.interface.mac": _T.MAC,
    "gsm.sim.operator.numeric": _T.OTHER,
    "gsm.operator.numeric": _T.OTHER,
    "gsm.sim.operator.iso-country": _T.OTHER,
    "ro.boot.cpuid": _T.OTHER,
    "ro.build.fingerprint": _T.OTHER,
    "net.hostname": _T.OTHER,
}
_ADID = "AdvertisingIdClient"

# Every read the agent hooks (hooks/src/android/*.ts). Where the agent hooks a framework implementation
# (ApplicationPackageManager, the clipboard's binder proxy), the public type is listed too, because
# sessions imported from other tools and the static catalog name it.
HOOKED_READS: tuple[HookedRead, ...] = tuple(
    _reads(
        HookCategory.CLIPBOARD, _T.CLIPBOARD, "ClipboardManager", "getPrimaryClip getPrimaryClipDescription"
    )
    + _reads(HookCategory.CLIPBOARD, _T.CLIPBOARD, "ClipboardManager", "hasPrimaryClip getText hasText")
    + _reads(HookCategory.CLIPBOARD, _T.CLIPBOARD, "ClipboardManager", "addPrimaryClipChangedListener")
    + _reads(HookCategory.CLIPBOARD, _T.CLIPBOARD, "IClipboard$Stub$Proxy", "getPrimaryClip hasClipboardText")
    + _reads(HookCategory.CLIPBOARD, _T.CLIPBOARD, "IClipboard$Stub$Proxy", "getPrimaryClipDescription")
    + _reads(HookCategory.CLIPBOARD, _T.CLIPBOARD, "IClipboard$Stub$Proxy", "hasPrimaryClip")
    + _reads(HookCategory.CLIPBOARD, _T.CLIPBOARD, "IClipboard$Stub$Proxy", "addPrimaryClipChangedListener")
    + _reads(_I, _T.IMEI, "TelephonyManager", "getDeviceId getImei getMeid")
    + _reads(_I, _T.IMSI, "TelephonyManager", "getSubscriberId")
    + _reads(_I, _T.ICCID, "TelephonyManager", "getSimSerialNumber")
    + _reads(_I, _T.PHONE, "TelephonyManager", "getLine1Number")
    + _reads(
        _I,
        None,
        "TelephonyManager",
        "getNetworkOperator getNetworkOperatorName getSimOperator getSimOperatorName getNetworkCountryIso "
        "getSimCountryIso",
    )
    + _keyed(_I, "Settings$Secure.getString", _SETTINGS)
    + _keyed(_I, "Settings$System.getString", _SETTINGS)
    + _reads(_I, _T.SERIAL, "Build", "getSerial")
    + _reads(_I, _T.MAC, "WifiInfo", "getMacAddress")
    + _reads(_I, _T.MAC, "BluetoothAdapter", "getAddress")
    + _reads(_I, _T.MAC, "NetworkInterface", "getHardwareAddress")
    + _reads(_I, _T.ADVERTISING_ID, _ADID, "getAdvertisingIdInfo")
    + _reads(_I, _T.ADVERTISING_ID, f"{_ADID}$Info", "getId isLimitAdTrackingEnabled")
    + _keyed(_I, "MediaDrm.getPropertyByteArray", {"deviceUniqueId": _T.VENDOR_ID})
    + _keyed(_I, "SystemProperties.get", _PROPERTIES)
    + _reads(_L, _T.LOCATION, "LocationManager", "getLastKnownLocation getCurrentLocation")
    + _reads(_L, _T.LOCATION, "LocationManager", "requestLocationUpdates requestSingleUpdate")
    + _reads(_L, _T.LOCATION, "FusedLocationProviderClient", "getLastLocation getCurrentLocation")
    + _reads(_L, _T.LOCATION, "FusedLocationProviderClient", "requestLocationUpdates")
    + _reads(_L, _T.LOCATION, "LocationResult", "getLastLocation getLocations")
    + _reads(_L, _T.LOCATION, "Location", "getLatitude getLongitude")
    + _reads(_L, _T.LOCATION, "TelephonyManager", "getAllCellInfo getCellLocation requestCellInfoUpdate")
    + _reads(_L, _T.LOCATION, "WifiManager", "getScanResults getConnectionInfo")
    + _reads(_L, _T.LOCATION, "WifiInfo", "getSSID getBSSID")
    + _reads(_C, _T.CONTACT, "ContentResolver", "query")
    + _reads(_C, _T.EMAIL, "AccountManager", "getAccounts getAccountsByType getAccountsByTypeAndFeatures")
    + _reads(_C, _T.EMAIL, "AccountManager", "getAccountsAsUser")
    + [
        r
        for cls in ("ApplicationPackageManager", "PackageManager")
        for r in _reads(
            HookCategory.INSTALLED_APPS,
            _T.INSTALLED_APPS,
            cls,
            "getInstalledPackages getInstalledApplications queryIntentActivities queryIntentServices "
            "queryBroadcastReceivers getPackageInfo getApplicationInfo",
        )
    ]
    + _reads(
        HookCategory.INSTALLED_APPS,
        _T.INSTALLED_APPS,
        "ActivityManager",
        "getRunningAppProcesses getRunningTasks getRunningServices",
    )
    + _reads(HookCategory.WEBVIEW, None, "WebView", "evaluateJavascript loadUrl addJavascriptInterface")
)

# A read of a category no API entry covers (a watched method, a newer hook) reads the category's type.
CATEGORY_DATA_TYPES: dict[str, DataType] = {
    HookCategory.CLIPBOARD: _T.CLIPBOARD,
    HookCategory.LOCATION: _T.LOCATION,
    HookCategory.CONTACTS: _T.CONTACT,
    HookCategory.INSTALLED_APPS: _T.INSTALLED_APPS,
}


def _api_key(api: str) -> str:
    """`android.provider.Settings$Secure.getString` -> `android.provider.settings.secure.getstring`."""
    return api.strip().lower().replace("$", ".")


_BY_API: dict[str, list[HookedRead]] = {}
for _r in HOOKED_READS:
    _BY_API.setdefault(_api_key(_r.api), []).append(_r)
_PAREN = re.compile(r"\(([^()]*)\)")


def _arg_strings(args: Any) -> set[str]:
    """The string arguments of a call: a list, or the JSON text of one (the `hook_events.args` column)."""
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return {args}
    if isinstance(args, list | tuple):
        return {a for a in args if isinstance(a, str)}
    return set()


def _entries(api: str) -> list[HookedRead]:
    """Table entries for an api named short (`Build.getSerial`) or in full (`android.os.Build.getSerial`)."""
    key = _api_key(api)
    found = _BY_API.get(key)
    if found:
        return found
    parts = key.split(".")
    for i in range(1, len(parts) - 1):  # drop the package, one name at a time
        found = _BY_API.get(".".join(parts[i:]))
        if found:
            return found
    return []


def hook_data_type(category: str | None, api: str | None, args: Any = None) -> DataType | None:
    """The data type a hook event read: from its api, the key among its arguments, else its category.

    `args` is the event's argument list or its JSON text. A keyed read (Settings.getString,
    SystemProperties.get, MediaDrm.getPropertyByteArray) reads the type of its key; an api written with
    its key in parentheses (`Settings.Secure.getString(android_id)`) counts the same. None: the event
    reads no personal data item (transport, the runner's records, an operator name, a WebView script).
    """
    name = api or ""
    entries = _entries(_PAREN.sub("", name))
    if not entries:
        return CATEGORY_DATA_TYPES.get(canonical_category(category))
    if entries[0].key is None:  # an api's entries are all keyed or all not
        return entries[0].data_type
    keys = _arg_strings(args) | set(_PAREN.findall(name))  # parsed only for keyed reads: args can be large
    return next((e.data_type for e in entries if e.key in keys), DataType.OTHER)

"""Pattern detections without ground truth: values shaped like personal data.

Two kinds of rule, both data: value shapes that say enough on their own (an IMEI or ICCID with a valid
Luhn digit, a MAC, an e-mail address, a valid international phone number, an Android build fingerprint,
"lat,lon" text, lists of package names), and `KEYED_RULES`: a key-name vocabulary per data type
(`KEY_VOCABULARY`) with the value shape that type has under such a key (a UUID under `idfa`, 16 hex
digits under `android_id`, an IPv4 address under `client_ip`). These are reported apart
(`method = "pattern"`, no `canary_id`) with lower confidence: a shape is a lead to check, not proof.

Data types are those of `schema.CANARY_KINDS`, plus `PATTERN_TYPES` for what only patterns find.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from analysis.decode.views import View

_SEP = b"\x00"
MAX_VIEW = 1 << 20  # larger views are blobs, not fields

# Not inside a longer number, a decimal fraction or a hex/alphanumeric token.
# (The look-behind follows the first digit, `(?<![0-9A-Za-z.][0-9])`: the same matches as one in front,
# but a pattern that starts with a character class is searched at C speed, not tried at every byte.)
_IMEI = re.compile(rb"[0-9](?<![0-9A-Za-z.][0-9])[0-9]{14}(?![0-9A-Za-z.])")
_MAC = re.compile(
    rb"(?<![0-9A-Fa-f:-])(?:[0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])"
)
_UUID = re.compile(
    rb"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f-])"
)
_EMAIL = re.compile(rb"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+([A-Za-z]{2,24})(?![\w-])")
_PHONE = re.compile(rb"(?<![\w+])\+?[1-9][0-9 ()-]{6,18}[0-9](?![0-9])")
_LATLON_TEXT = re.compile(rb"(?<![0-9.])(-?[0-9]{1,2}\.[0-9]{4,})\s*,\s*(-?[0-9]{1,3}\.[0-9]{4,})(?![0-9])")
# Reverse-domain names: a generic or two-letter country TLD first (hostnames start with `www`, `api`, ...).
_PACKAGE = re.compile(r"(?:com|org|net|io|app|info|edu|gov|dev|[a-z]{2})(?:\.[A-Za-z][A-Za-z0-9_]*)+")

# Data types only patterns report (not canary kinds): a generic device or user identifier, a network
# address, the device's model name, its build fingerprint, and a push token (the address at which Google's
# or Apple's push service reaches this app on this device: an identifier that outlives resets of the
# advertising id, sent to every push SDK's servers).
PATTERN_TYPES = ("device_id", "ip_address", "device_model", "build_fingerprint", "push_token")

# Key names per data type, normalised (lower case, letters and digits only: `Device-ID` -> `deviceid`).
# `exact` names are too short to look for inside longer keys (`ip` is in `zip`, `tel` in `hotel`).
KEY_VOCABULARY: dict[str, dict[str, tuple[str, ...]]] = {
    "advertising_id": {
        "contains": (
            "adid",
            "gaid",
            "idfa",
            "aaid",
            "oaid",
            "advertis",
            "googleaid",
            "adsid",
            "adidentifier",
        ),
        "exact": ("ifa", "maid"),
    },
    "vendor_id": {
        "contains": ("idfv", "openudid", "cdid", "installid", "udid", "vendorid", "identifierforvendor"),
        "exact": ("iid",),
    },
    "device_id": {
        "contains": (
            "deviceid",
            "hardwareid",
            "anonid",
            "anonymousid",
            "clientuniqueid",
            "devicefingerprintid",
            "fingerprintid",
            "uniqueid",
            "guid",
            "distinctid",
            "visitorid",
            "userid",
            "clientid",
        ),
        "exact": ("uuid", "uid", "did", "hwid"),
    },  # fmt: skip
    "android_id": {"contains": ("androidid", "ssaid"), "exact": ()},
    "imei": {"contains": ("imei", "meid"), "exact": ()},
    "imsi": {"contains": ("imsi", "subscriberid"), "exact": ()},
    "iccid": {"contains": ("iccid", "simserial"), "exact": ()},
    "serial": {"contains": ("serialno", "serialnumber", "buildserial"), "exact": ("serial", "sn")},
    "mac": {"contains": ("macaddr", "wifimac", "bssid", "btmac", "bluetoothmac"), "exact": ("mac",)},
    "phone": {"contains": ("phone", "mobile", "msisdn", "telephone", "cellnumber"), "exact": ("tel",)},
    "email": {"contains": ("email",), "exact": ("mail",)},
    "ip_address": {
        "contains": ("ipaddr", "localip", "clientip", "deviceip", "wifiip", "ipv4", "ipv6", "publicip"),
        "exact": ("ip",),
    },
    "device_model": {
        "contains": ("devicemodel", "phonemodel", "hwmodel", "buildmodel", "devmodel"),
        "exact": ("model", "dm"),
    },
    "build_fingerprint": {"contains": ("buildfingerprint", "romfingerprint"), "exact": ("fingerprint",)},
    "push_token": {
        "contains": (
            "pushtoken",
            "devicetoken",
            "registrationtoken",
            "registrationid",
            "fcmtoken",
            "gcmtoken",
            "apnstoken",
            "firebasetoken",
            "notificationtoken",
        ),
        "exact": ("regid",),
    },  # fmt: skip
}


@lru_cache(maxsize=8192)
def key_types(key: str) -> frozenset[str]:
    """The data types whose vocabulary names this key (`body:user.client_unique_id` -> device_id)."""
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    return frozenset(
        t for t, v in KEY_VOCABULARY.items() if norm in v["exact"] or any(w in norm for w in v["contains"])
    )


_UUID_FULL = rb"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_ID_SHAPE = rb"(?:" + _UUID_FULL + rb"|[0-9A-Fa-f]{16,64}|[0-9]{10,20}|[A-Za-z0-9_-]{16,64})"


_DIGIT = re.compile(rb"[0-9]")
_LETTER = re.compile(rb"[A-Za-z]")


def _ipv4_ok(v: bytes) -> bool:
    parts = v.split(b".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts) and v != b"0.0.0.0"


def _id_like(v: bytes) -> bool:
    """Digits and letters, or a long number that is not a Unix time in seconds or milliseconds."""
    if not _DIGIT.search(v):
        return False
    if _LETTER.search(v) or not v.isdigit():
        return True  # letters, or digits joined by `-`/`_` (`0200-0000-0000-0000`): an id, not a number
    if len(v) < 10:
        return False
    n = int(v)
    return not (1_000_000_000 <= n < 2_000_000_000 or 1_000_000_000_000 <= n < 2_000_000_000_000)


@dataclass(frozen=True)
class KeyedRule:
    """A value shape a data type has under one of its key names."""

    data_type: str
    shape: re.Pattern[bytes]  # the whole (stripped) view must match
    confidence: float
    rule: str
    check: Callable[[bytes], bool] | None = None


KEYED_RULES: tuple[KeyedRule, ...] = (
    KeyedRule("advertising_id", re.compile(_UUID_FULL), 0.6, "uuid-under-ad-key"),
    KeyedRule("vendor_id", re.compile(_ID_SHAPE), 0.5, "id-under-vendor-key", _id_like),
    KeyedRule("device_id", re.compile(_ID_SHAPE), 0.4, "id-under-identifier-key", _id_like),
    KeyedRule("android_id", re.compile(rb"[0-9a-fA-F]{16}"), 0.6, "hex16-under-android-id-key"),
    KeyedRule("imsi", re.compile(rb"[0-9]{14,15}"), 0.5, "digits-under-imsi-key"),
    KeyedRule("iccid", re.compile(rb"89[0-9]{17,18}"), 0.6, "iccid-luhn-under-iccid-key", lambda v: luhn_ok(v)),
    KeyedRule("serial", re.compile(rb"[A-Za-z0-9]{6,24}"), 0.4, "alnum-under-serial-key", lambda v: bool(_DIGIT.search(v))),
    KeyedRule("mac", re.compile(rb"[0-9A-Fa-f]{12}"), 0.5, "hex12-under-mac-key"),
    KeyedRule("ip_address", re.compile(rb"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"), 0.5, "ipv4-under-ip-key", _ipv4_ok),
    KeyedRule("ip_address", re.compile(rb"[0-9A-Fa-f:]{2,39}"), 0.5, "ipv6-under-ip-key", lambda v: v.count(b":") >= 2),
    KeyedRule("device_model", re.compile(rb"[A-Za-z0-9][\w .+()-]{1,63}"), 0.5, "text-under-model-key", lambda v: bool(_LETTER.search(v))),
    # an APNs device token (64 hex digits) or another push service's; FCM's longer ones: `_PUSH_TOKEN`
    KeyedRule("push_token", re.compile(rb"[A-Za-z0-9_:.-]{32,128}"), 0.5, "token-under-push-key", _id_like),
)  # fmt: skip
_IMEI_KEYS = re.compile(r"(?i)(imei|meid|device)")
# An Android build fingerprint: brand/product/device:release/id/incremental:type/tags.
_FINGERPRINT = re.compile(
    rb"(?<![\w/])[\w.-]{2,40}/[\w.-]{2,40}/[\w.-]{2,40}:[0-9][\w.]{0,10}/[\w.-]{2,40}/[\w.-]{1,40}:(?:user|userdebug|eng)/[\w,.-]{2,40}"
)
_ICCID = re.compile(rb"(?<![0-9A-Za-z.])89[0-9]{17,18}(?![0-9A-Za-z.])")
# A Google (GCM/FCM) registration token: `APA91b` and base64url, after the app instance id and `:` in
# FCM's form (`cF3k...:APA91bH...`, ~150-170 characters); with or without a key naming it.
_PUSH_TOKEN = re.compile(rb"(?<![\w:-])(?:[\w-]{11,64}:)?APA91b[\w-]{100,400}(?![\w-])")


@dataclass(frozen=True)
class _ClassedCore:
    """A rule's core as a literal in the message with every byte read as its class (`table`), found by
    `bytes.translate` and `bytes.find`, both at C speed, where a pattern that starts with a character
    class (`[0-9]{15}`) is tried at every byte (in a JSON body of timestamps, most of them). The message
    is searched with a separator before and after it, so a needle may start or end at a view's edge."""

    table: bytes
    needle: bytes  # its second byte is always one of a view's bytes (where the view is looked up)


def _classes(classes: dict[bytes, bytes], other: bytes | None = None) -> bytes:
    """A translation table: each byte of a key reads as its value; every other byte as `other` (None:
    as itself)."""
    table = bytearray(range(256)) if other is None else bytearray(other * 256)
    for members, cls in classes.items():
        for b in members:
            table[b] = cls[0]
    return bytes(table)


_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# `_IMEI` exactly: 15 digits, with no digit, letter or dot on either side (`d`: digit, `a`: letter or dot)
_IMEI_CLASSES = _classes({b"0123456789": b"d", _LETTERS + b".": b"a"}, other=b" ")
_HEX_CLASSES = _classes({b"0123456789ABCDEFabcdef": b"h", b"-": b":"})  # `-` reads as `:`

# A part every match of a rule contains, found fast (a literal first, unlike the rules, which start with
# a look-behind and so are tried at every byte of the message): a rule runs only in the views where its
# part occurs. (A core may also occur where the rule does not match: that view is searched for nothing.)
_CORES: dict[str, re.Pattern[bytes] | _ClassedCore] = {
    "imei": _ClassedCore(_IMEI_CLASSES, b" " + b"d" * 15 + b" "),
    "mac": _ClassedCore(_HEX_CLASSES, b":hh:hh:"),  # `[:-]XX[:-]XX[:-]` of `XX:XX:XX:XX:XX:XX`
    "uuid": re.compile(rb"-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"),  # of 8-4-4-4-12
    "iccid": re.compile(rb"89[0-9]{17}"),
    "fingerprint": re.compile(rb":(?:user|userdebug|eng)/"),
    "e164": re.compile(rb"\+[1-9]"),
    "email": re.compile(rb"@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}"),  # the domain
    "latlon": re.compile(rb"\.[0-9]{4,}\s*,"),  # the end of the latitude and the comma
    "push_token": re.compile(rb"APA91b"),
}
_E164 = re.compile(rb"(?<![\w+])\+[1-9][0-9 ()-]{7,18}[0-9](?![0-9])")
_LAT_KEYS = re.compile(r"(?i)(?:^|[^a-z])(lat|latitude)$")
_FILE_TLDS = frozenset(
    {"png", "jpg", "jpeg", "gif", "webp", "svg", "js", "css", "html", "json", "xml", "so", "dex"}
)
_FAKE_MACS = frozenset({"000000000000", "ffffffffffff", "020000000000"})


class PatternHit(NamedTuple):
    """One value shaped like a data type. (A named tuple, not a frozen dataclass, whose `__init__` sets
    each field through `object.__setattr__`: a message makes several.)"""

    data_type: str
    view: int
    start: int
    end: int
    confidence: float
    rule: str
    part: str | None = None  # set when the hit names a container (a list), not the view's own part


def luhn_ok(digits: bytes) -> bool:
    """The Luhn check digit of an IMEI (or card number) is right."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ch - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[^A-Za-z0-9_]*$")
_QUOTED_KEY = re.compile(r'\["((?:[^"\\]|\\.)*)"\]$')
_COORD = re.compile(rb"\s*(-?[0-9]{1,2}\.[0-9]{3,})\s*")
_INDEX = re.compile(r"\[\d+\]$")
_LIST_SEP = re.compile(r"[,;\s|]+")


@lru_cache(maxsize=4096)
def _key(part: str) -> str:
    """The field name a part ends with (`body:user.device_id` -> `device_id`)."""
    q = _QUOTED_KEY.search(part)
    if q:
        return q.group(1)
    m = _KEY.search(part.rsplit(":", 1)[-1])
    return m.group(1) if m else part


class _PartFacts(NamedTuple):
    """What the pattern rules read of a part name: the data types its key names, phone key, latitude key."""

    types: frozenset[str]
    phone: bool
    lat: bool


_PART_FACTS: dict[str, _PartFacts] = {}  # part -> `_part_facts(part)`
_PART_FACTS_MAX = 65536  # entries; cleared when full (parts repeat across the requests of an app)


def _part_facts(part: str) -> _PartFacts:
    key = _key(part)
    types = key_types(key)
    facts = _PartFacts(types, "phone" in types, bool(_LAT_KEYS.search(key)))
    if len(_PART_FACTS) >= _PART_FACTS_MAX:
        _PART_FACTS.clear()
    _PART_FACTS[part] = facts
    return facts


# A view whose first byte is one of these (printable ASCII, not a lower-case letter: never stripped, never
# the start of a package name) and with fewer than 3 dots cannot be a package name or a list of them.
_NOT_PACKAGE_START = frozenset(set(range(0x21, 0x7F)) - set(range(ord("a"), ord("z") + 1)))
# Every package name has a dot followed by a letter (ASCII, the same in the bytes as in the text); a list
# of them a separator of `_LIST_SEP` (in ASCII text: these bytes, whitespace as `str.split` reads it).
_PACKAGE_STEP = re.compile(rb"\.[A-Za-z]")
_LIST_SEPARATOR = re.compile(rb"[,;|\s\x1c-\x1f]")


def find_patterns(views: list[View]) -> list[PatternHit]:
    """Pattern hits in the views of one message, one joined pass per rule."""
    chosen = [i for i, v in enumerate(views) if 0 < len(v.data) <= MAX_VIEW]
    if not chosen:
        return []
    starts: list[int] = []
    pos = 0
    for i in chosen:
        starts.append(pos)
        pos += len(views[i].data) + 1
    buf = _SEP.join(views[i].data for i in chosen)
    out: list[PatternHit] = []

    def locate(gs: int, ge: int) -> tuple[int, int, int] | None:
        k = bisect_right(starts, gs) - 1
        s, e = gs - starts[k], ge - starts[k]
        vi = chosen[k]
        return (vi, s, e) if e <= len(views[vi].data) else None

    def matches(rule: str, rx: re.Pattern[bytes]) -> Iterator[re.Match[bytes]]:
        """`rx`'s matches in the message, searched only in the views where the rule's core occurs: no rule
        matches across views (none matches the separator, and no look-around reads it as part of a value),
        so each such view is searched on its own span of `buf`, with the same matches."""
        core = _CORES[rule]
        if isinstance(core, _ClassedCore):
            text = classed.get(core.table)
            if text is None:  # (the separator padding shifts every offset by one)
                text = classed[core.table] = (_SEP + buf + _SEP).translate(core.table)
            at = text.find(core.needle)
            while at >= 0:
                k = bisect_right(starts, at) - 1  # the view of the needle's second byte (`at` in `buf`)
                end = starts[k] + len(views[chosen[k]].data)
                yield from rx.finditer(buf, starts[k], end)
                at = text.find(core.needle, end + 1)  # (on from the separator after the view)
            return
        last = -1
        for c in core.finditer(buf):
            k = bisect_right(starts, c.start()) - 1
            if k != last:
                last = k
                yield from rx.finditer(buf, starts[k], starts[k] + len(views[chosen[k]].data))

    classed: dict[bytes, bytes] = {}  # the message with a core's classes, by table
    for m in matches("imei", _IMEI):
        digits = m.group()
        if len(set(digits)) > 2 and luhn_ok(digits) and (loc := locate(*m.span())):
            keyed = bool(_IMEI_KEYS.search(_key(views[loc[0]].part)))
            out.append(PatternHit("imei", *loc, 0.6 if keyed else 0.4, "imei-luhn"))
    for m in matches("mac", _MAC):
        bare = re.sub(rb"[:-]", b"", m.group()).lower().decode()
        if bare not in _FAKE_MACS and (loc := locate(*m.span())):
            out.append(PatternHit("mac", *loc, 0.6, "mac"))
    for m in matches("uuid", _UUID):
        if set(m.group()) <= set(b"0-") or not (loc := locate(*m.span())):
            continue
        types = key_types(_key(views[loc[0]].part))
        if "advertising_id" in types:
            out.append(PatternHit("advertising_id", *loc, 0.5, "uuid-under-ad-key"))
        elif "vendor_id" in types or "device_id" in types:
            out.append(
                PatternHit(
                    "vendor_id" if "vendor_id" in types else "device_id", *loc, 0.5, "uuid-under-id-key"
                )
            )
    for m in matches("iccid", _ICCID):
        if luhn_ok(m.group()) and (loc := locate(*m.span())):
            out.append(PatternHit("iccid", *loc, 0.4, "iccid-luhn"))
    for m in matches("fingerprint", _FINGERPRINT):
        if loc := locate(*m.span()):
            out.append(PatternHit("build_fingerprint", *loc, 0.7, "android-build-fingerprint"))
    for m in matches("e164", _E164):
        if _valid_phone(m.group()) and (loc := locate(*m.span())):
            out.append(PatternHit("phone", *loc, 0.4, "valid-international-number"))
    for m in matches("push_token", _PUSH_TOKEN):
        if loc := locate(*m.span()):
            out.append(PatternHit("push_token", *loc, 0.7, "google-registration-token"))
    for m in matches("email", _EMAIL):
        tld = m.group(1)
        # A TLD in mixed case (`WaTkA`) is bytes out of a binary blob, not an address.
        if (
            (tld.islower() or tld.isupper())
            and tld.lower().decode() not in _FILE_TLDS
            and (loc := locate(*m.span()))
        ):
            out.append(PatternHit("email", *loc, 0.6, "email"))
    # The rules that read one view at a time, in one loop over the views; their hits are appended in the
    # order the rules were once run one after the other (phone, lat,lon text, keyed values, latitude
    # keys, package lists), which decides which excerpt a detection found twice keeps.
    phone: list[PatternHit] = []
    keyed_hits: list[PatternHit] = []
    coords: list[PatternHit] = []
    listed: list[PatternHit] = []
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    facts_of = _PART_FACTS.get
    for i in chosen:
        v = views[i]
        data = v.data
        facts = facts_of(v.part) or _part_facts(v.part)
        if facts.phone:
            for m in _PHONE.finditer(data):
                phone.append(PatternHit("phone", i, m.start(), m.end(), 0.5, "phone-under-phone-key"))
        n = len(data)
        if facts.types and not v.name and 2 <= n <= 128:
            hit = _keyed_value(i, data, facts.types)
            if hit is not None:
                keyed_hits.append(hit)
        dots = data.count(b".")
        if not dots:
            continue
        if n <= 40 and facts.lat:
            c = _COORD.fullmatch(data)
            if c and -90 <= float(c.group(1)) <= 90:
                coords.append(PatternHit("location", i, c.start(1), c.end(1), 0.5, "latitude-key"))
        if n <= 200_000 and (dots >= 3 or data[0] not in _NOT_PACKAGE_START):
            _package_view(i, v, dots, groups, listed)
    latlon: list[PatternHit] = []
    for m in matches("latlon", _LATLON_TEXT) if b","[0] in buf else ():  # (its core ends at a comma)
        lat, lon = float(m.group(1)), float(m.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180 and (loc := locate(*m.span())):
            latlon.append(PatternHit("location", *loc, 0.3, "lat,lon-text"))
    return [*out, *phone, *latlon, *keyed_hits, *coords, *listed, *_package_groups(views, groups)]


def _valid_phone(text: bytes) -> bool:
    import phonenumbers

    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text.decode(), None))
    except phonenumbers.NumberParseException:
        return False


def _keyed_value(i: int, data: bytes, types: frozenset[str]) -> PatternHit | None:
    """`KEYED_RULES`: a short value (view `i`) under a key whose vocabulary names these data types, in
    the first such type's shape."""
    value = data.strip()
    offset = data.find(value)
    for rule in _rules_for(types):
        if rule.shape.fullmatch(value) and (rule.check is None or rule.check(value)):
            return PatternHit(rule.data_type, i, offset, offset + len(value), rule.confidence, rule.rule)
    return None


@lru_cache(maxsize=1024)
def _rules_for(types: frozenset[str]) -> tuple[KeyedRule, ...]:
    """The `KEYED_RULES` of these data types, in order (a key's types are one of a few sets)."""
    return tuple(rule for rule in KEYED_RULES if rule.data_type in types)


def _package_view(
    i: int,
    v: View,
    dots: int,
    groups: dict[tuple[str, tuple[str, ...]], list[int]],
    out: list[PatternHit],
) -> None:
    """Package names in one view (with `dots` dots): one name, an array element, joins its parent's
    group (`_package_groups`); a comma/space separated text of three or more names is a hit of its own."""
    data = v.data
    if not _PACKAGE_STEP.search(data):
        return  # no `.x`: no package name in it
    text = data.decode("utf-8", "replace").strip()
    if _PACKAGE.fullmatch(text):
        parent = _INDEX.sub("", v.part)
        if parent != v.part:
            groups[(parent, v.chain)].append(i)
        return
    if dots < 3 or (data.isascii() and not _LIST_SEPARATOR.search(data)):
        return  # a list needs three names and something between them
    names = [t for t in _LIST_SEP.split(text) if t]
    if len(names) >= 3 and sum(1 for t in names if _PACKAGE.fullmatch(t)) >= 3:
        out.append(PatternHit("installed_apps", i, 0, len(v.data), 0.5, "package-list-text"))


def _package_groups(
    views: list[View], groups: dict[tuple[str, tuple[str, ...]], list[int]]
) -> list[PatternHit]:
    """Three or more package names as array elements under one parent: one hit naming the parent."""
    out = []
    for members in groups.values():
        if len(members) >= 3:
            first = members[0]
            parent = _INDEX.sub("", views[first].part)
            out.append(
                PatternHit("installed_apps", first, 0, len(views[first].data), 0.5, "package-list", parent)
            )
    return out

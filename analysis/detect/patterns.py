"""Pattern detections without ground truth: values shaped like personal data.

IMEI with a valid Luhn digit, MAC addresses, advertising-ID-shaped UUIDs under identifier-like keys,
e-mail addresses, phone numbers under phone-like keys, coordinates under latitude keys, and lists of
package names. These are reported apart (`method = "pattern"`, no `canary_id`) with lower confidence:
a shape is a lead to check, not proof.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from analysis.decode.views import View

_SEP = b"\x00"
MAX_VIEW = 1 << 20  # larger views are blobs, not fields

# Not inside a longer number, a decimal fraction or a hex/alphanumeric token.
_IMEI = re.compile(rb"(?<![0-9A-Za-z.])[0-9]{15}(?![0-9A-Za-z.])")
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

_AD_KEYS = re.compile(r"(?i)(adid|gaid|idfa|aaid|oaid|advertis|ad_?id|google_?aid|limit_ad)")
_VENDOR_KEYS = re.compile(r"(?i)(openudid|cdid|install_?id|iid|device_?id|udid|client_?udid|vendor)")
_PHONE_KEYS = re.compile(r"(?i)(phone|mobile|msisdn|tel\b|telephone)")
_IMEI_KEYS = re.compile(r"(?i)(imei|meid|device)")
_LAT_KEYS = re.compile(r"(?i)(?:^|[^a-z])(lat|latitude)$")
_FILE_TLDS = frozenset(
    {"png", "jpg", "jpeg", "gif", "webp", "svg", "js", "css", "html", "json", "xml", "so", "dex"}
)
_FAKE_MACS = frozenset({"000000000000", "ffffffffffff", "020000000000"})


@dataclass(frozen=True)
class PatternHit:
    """One value shaped like a data type."""

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
_COORD = re.compile(rb"\s*(-?[0-9]{1,2}\.[0-9]{3,})\s*")
_INDEX = re.compile(r"\[\d+\]$")
_LIST_SEP = re.compile(r"[,;\s|]+")


@lru_cache(maxsize=4096)
def _key(part: str) -> str:
    """The field name a part ends with (`body:user.device_id` -> `device_id`)."""
    m = _KEY.search(part.rsplit(":", 1)[-1])
    return m.group(1) if m else part


@lru_cache(maxsize=4096)
def _phone_key(part: str) -> bool:
    return bool(_PHONE_KEYS.search(_key(part)))


@lru_cache(maxsize=4096)
def _lat_key(part: str) -> bool:
    return bool(_LAT_KEYS.search(_key(part)))


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

    for m in _IMEI.finditer(buf):
        digits = m.group()
        if len(set(digits)) > 2 and luhn_ok(digits) and (loc := locate(*m.span())):
            keyed = bool(_IMEI_KEYS.search(_key(views[loc[0]].part)))
            out.append(PatternHit("imei", *loc, 0.6 if keyed else 0.4, "imei-luhn"))
    for m in _MAC.finditer(buf) if b":" in buf or b"-" in buf else ():
        bare = re.sub(rb"[:-]", b"", m.group()).lower().decode()
        if bare not in _FAKE_MACS and (loc := locate(*m.span())):
            out.append(PatternHit("mac", *loc, 0.6, "mac"))
    for m in _UUID.finditer(buf) if b"-" in buf else ():
        if set(m.group()) <= set(b"0-") or not (loc := locate(*m.span())):
            continue
        key = _key(views[loc[0]].part)
        if _AD_KEYS.search(key):
            out.append(PatternHit("advertising_id", *loc, 0.5, "uuid-under-ad-key"))
        elif _VENDOR_KEYS.search(key):
            out.append(PatternHit("vendor_id", *loc, 0.5, "uuid-under-id-key"))
    for m in _EMAIL.finditer(buf) if b"@" in buf else ():
        if m.group(1).lower().decode() not in _FILE_TLDS and (loc := locate(*m.span())):
            out.append(PatternHit("email", *loc, 0.6, "email"))
    for i in chosen:
        if _phone_key(views[i].part):
            for m in _PHONE.finditer(views[i].data):
                out.append(PatternHit("phone", i, m.start(), m.end(), 0.5, "phone-under-phone-key"))
    for m in _LATLON_TEXT.finditer(buf) if b"," in buf else ():
        lat, lon = float(m.group(1)), float(m.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180 and (loc := locate(*m.span())):
            out.append(PatternHit("location", *loc, 0.3, "lat,lon-text"))
    out.extend(_keyed_coordinates(views))
    out.extend(_package_lists(views))
    return out


def _keyed_coordinates(views: list[View]) -> list[PatternHit]:
    out = []
    for i, v in enumerate(views):
        if len(v.data) > 40 or b"." not in v.data:
            continue
        m = _COORD.fullmatch(v.data)
        if m and -90 <= float(m.group(1)) <= 90 and _lat_key(v.part):
            out.append(PatternHit("location", i, m.start(1), m.end(1), 0.5, "latitude-key"))
    return out


def _package_lists(views: list[View]) -> list[PatternHit]:
    """Three or more package names: array elements under one parent, or one comma/space separated text."""
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    out = []
    for i, v in enumerate(views):
        if len(v.data) > 200_000 or v.data.count(b".") < 1:
            continue
        text = v.data.decode("utf-8", "replace").strip()
        if _PACKAGE.fullmatch(text):
            parent = _INDEX.sub("", v.part)
            if parent != v.part:
                groups[(parent, v.chain)].append(i)
            continue
        if v.data.count(b".") < 3:
            continue
        names = [t for t in _LIST_SEP.split(text) if t]
        if len(names) >= 3 and sum(1 for t in names if _PACKAGE.fullmatch(t)) >= 3:
            out.append(PatternHit("installed_apps", i, 0, len(v.data), 0.5, "package-list-text"))
    for members in groups.values():
        if len(members) >= 3:
            first = members[0]
            parent = _INDEX.sub("", views[first].part)
            out.append(
                PatternHit("installed_apps", first, 0, len(views[first].data), 0.5, "package-list", parent)
            )
    return out

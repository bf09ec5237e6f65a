"""Hook events as detection input: values the app read become canaries; TLS plaintext is scanned.

Values a hook saw returned (the clipboard text, the ANDROID_ID, a location fix, the IMEI) become
`Canary(source="runtime-value")`, so "read at t, sent at t+d to X" is found without planting anything.
Plaintext the agent captured at `SSL_write` (category `tls`) is decoded and scanned like a request body,
so traffic the proxy could not decrypt is still searched.

The agent's protocol (`hooks/src/lib/protocol.ts`): events `{seq, t, pid, tid, category, api, args, ret,
stack}`, bytes anywhere as `{"$b64": "..."}`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from analysis.decode.text import is_printable_text
from analysis.schema import Canary
from analysis.schema import FlowRecord
from analysis.schema import HookEvent

MIN_RUNTIME_VALUE = 6  # shorter returned strings ("true", "en") would match everywhere

# API name fragments -> canary kind, checked in order (the agent's module names may differ; the API
# names are Android's).
_API_KINDS: tuple[tuple[str, str], ...] = (
    ("getimei", "imei"),
    ("getdeviceid", "imei"),
    ("getmeid", "imei"),
    ("getsubscriberid", "imsi"),
    ("getsimserialnumber", "iccid"),
    ("getline1number", "phone"),
    ("getmacaddress", "mac"),
    ("gethardwareaddress", "mac"),
    ("bluetoothadaptergetaddress", "mac"),
    ("getbssid", "mac"),
    ("getserial", "serial"),
    ("advertisingid", "advertising_id"),
    ("mediadrmgetpropertybytearray", "vendor_id"),
    ("getprimaryclip", "clipboard"),
    ("clipboardmanagergettext", "clipboard"),
    ("getinstalledpackages", "installed_apps"),
    ("getinstalledapplications", "installed_apps"),
)
# Settings keys and system properties the agent records, by what they hold.
_NAMED_KINDS = {
    "android_id": "android_id",
    "bluetooth_address": "mac",
    "wifi.interface.mac": "mac",
    "ro.serialno": "serial",
    "ro.boot.serialno": "serial",
    "ril.serialnumber": "serial",
    "ro.gsm.serial": "serial",
    "sys.serialnumber": "serial",
    "persist.radio.imei": "imei",
}
_CATEGORY_KINDS = {"clipboard": "clipboard", "contacts": "contact", "installed-apps": "installed_apps"}
# Plaintext records from `hooks/src/native/ssl.ts` (category "tls-plaintext"; "tls" is the pinning bypass).
TLS_CATEGORIES = frozenset({"tls-plaintext"})
_TLS_WRITE = re.compile(r"(?i)^ssl_write(_ex)?$")
_COORDS = re.compile(r"(-?\d{1,2}\.\d+)\s*,\s*(-?\d{1,3}\.\d+)")


def _bytes_of(value: Any) -> bytes | None:
    if isinstance(value, dict) and set(value) == {"$b64"}:
        try:
            return base64.b64decode(value["$b64"])
        except (binascii.Error, TypeError, ValueError):
            return None
    return None


def _strings(value: Any) -> Iterator[str]:
    """The strings an app received in a returned value (bytes decoded when they are text).

    Java objects arrive as `{$class, value: toString(), ...}`: a ClipData's `texts`, a list's `items`,
    else the object's text; the class name itself is never a value.
    """
    raw = _bytes_of(value)
    if raw is not None:
        if is_printable_text(raw):
            yield raw.decode("utf-8")
        elif len(raw) == 6:
            yield ":".join(f"{b:02x}" for b in raw)  # a hardware address
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        if "texts" in value or "items" in value:
            yield from _strings(value.get("texts") or value.get("items"))
        elif "$class" in value:
            yield from _strings(value.get("value"))
        else:
            for k, v in value.items():
                if not k.startswith("$"):
                    yield from _strings(v)


def _kind(event: HookEvent) -> str | None:
    api = re.sub(r"[^a-z0-9]", "", event.api.lower())
    if api.endswith(("getstring", "systempropertiesget")):
        names = [a for a in event.args if isinstance(a, str)]
        return next((_NAMED_KINDS[n] for n in names if n in _NAMED_KINDS), "other")
    for fragment, kind in _API_KINDS:
        if fragment in api:
            return kind
    return _CATEGORY_KINDS.get(event.category.lower())


def _locations(events: list[HookEvent]) -> Iterator[tuple[HookEvent, str]]:
    """`lat,lon` from Location objects (their text) and from getLatitude/getLongitude pairs on one thread."""
    last_lat: dict[int, tuple[float, float]] = {}
    for ev in events:
        if ev.category.lower() != "location":
            continue
        api = ev.api.lower()
        if api.endswith("getlatitude") and isinstance(ev.ret, int | float):
            last_lat[ev.tid] = (ev.t, float(ev.ret))
        elif api.endswith("getlongitude") and isinstance(ev.ret, int | float):
            seen = last_lat.pop(ev.tid, None)
            if seen and ev.t - seen[0] <= 2.0:  # the same fix, read field by field
                yield ev, f"{seen[1]},{float(ev.ret)}"
        else:
            for text in _strings(ev.ret):
                m = _COORDS.search(text)
                if m:
                    yield ev, f"{m.group(1)},{m.group(2)}"


def runtime_canaries(events: list[HookEvent], planted: list[Canary]) -> list[Canary]:
    """One canary per distinct value a hook saw returned (values already planted are left to those)."""
    known = {c.value for c in planted}
    found: list[tuple[HookEvent, str, str]] = [(ev, "location", loc) for ev, loc in _locations(events)]
    for ev in events:
        if ev.category.lower() in TLS_CATEGORIES or ev.category.lower() == "location":
            continue
        kind = _kind(ev)
        if kind is not None:
            found.extend((ev, kind, s.strip()) for s in _strings(ev.ret))
    out: dict[tuple[str, str], Canary] = {}
    for ev, kind, value in sorted(found, key=lambda f: f[0].seq):
        if len(value) < MIN_RUNTIME_VALUE or value in known or (kind, value) in out:
            continue
        out[(kind, value)] = Canary(
            id=f"runtime:{kind}:{ev.seq}",
            kind=kind,
            value=value,
            source="runtime-value",
            t=ev.t,
            note=f"returned by {ev.api}",
        )
    return list(out.values())


@dataclass(frozen=True)
class PlaintextRecord:
    """Bytes the app wrote into TLS, seen by the agent before encryption."""

    seq: int
    t: float
    api: str
    data: bytes


def tls_plaintext(events: list[HookEvent]) -> list[PlaintextRecord]:
    """The outgoing plaintext records (`SSL_write` and friends) among the hook events."""
    out = []
    for ev in events:
        if ev.category.lower() not in TLS_CATEGORIES or not _TLS_WRITE.search(ev.api):
            continue
        chunks = [b for b in (_bytes_of(a) for a in ev.args[1:2]) if b]
        if chunks:
            out.append(PlaintextRecord(ev.seq, ev.t, ev.api, b"".join(chunks)))
    return out


_REQUEST_LINE = re.compile(rb"^([A-Z]{3,10}) (\S+) HTTP/1\.[01]\r\n")


def _request_head(data: bytes) -> tuple[str, str, str] | None:
    """(method, host, target) of an HTTP/1 request head at the start of a plaintext record."""
    m = _REQUEST_LINE.match(data)
    if m is None:
        return None
    head = data[: data.find(b"\r\n\r\n")] if b"\r\n\r\n" in data else data
    host = ""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            host = value.strip().decode("latin-1").lower()
            break
    return m.group(1).decode(), host, m.group(2).decode("latin-1")


def seen_by_proxy(
    plaintext: list[PlaintextRecord], flows: list[FlowRecord]
) -> tuple[list[PlaintextRecord], int]:
    """Split the agent's plaintext into records the proxy did not see, and a count of those it did.

    The plaintext channel is there for traffic the proxy could not decrypt (pinned or native TLS). A
    record that is the head of a request the proxy recorded (same method, host and target) or a piece
    of a recorded request body is the same transmission seen twice: it corroborates the flow and is not
    reported again.
    """
    heads = set()
    bodies: list[bytes] = []
    for f in flows:
        target = f.path + (f"?{f.query}" if f.query else "")
        heads.add((f.method, f.host.lower(), target))
        heads.add((f.method, f"{f.host.lower()}:{f.server_port}", target))
        if f.request_body:
            bodies.append(f.request_body)
    body_set = set(bodies)
    kept: list[PlaintextRecord] = []
    seen = 0
    for rec in plaintext:
        head = _request_head(rec.data)
        if head is not None and head in heads:
            seen += 1
        elif head is None and (
            rec.data in body_set or any(rec.data in b for b in bodies if len(b) > len(rec.data))
        ):
            seen += 1
        else:
            kept.append(rec)
    return kept, seen

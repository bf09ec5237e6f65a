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
from analysis.vocabulary import CanarySource
from analysis.vocabulary import DataType
from analysis.vocabulary import HookCategory
from analysis.vocabulary import canonical_category
from analysis.vocabulary import hook_data_type

MIN_RUNTIME_VALUE = 6  # shorter returned strings ("true", "en") would match everywhere

# Plaintext records from `hooks/src/native/ssl.ts` (category "tls-plaintext"; "tls" is the pinning bypass).
TLS_CATEGORIES = frozenset({HookCategory.TLS_PLAINTEXT})
_TLS_WRITE = re.compile(r"(?i)^ssl_write(_ex)?$")
_COORDS = re.compile(r"(-?\d{1,2}\.\d+)\s*,\s*(-?\d{1,3}\.\d+)")


def _bytes_of(value: Any) -> bytes | None:
    if isinstance(value, dict) and set(value) == {"$b64"}:
        try:
            return base64.b64decode(value["$b64"])
        except (binascii.Error, TypeError, ValueError):
            return None
    return None


def _strings(value: Any, binary_id: bool = False) -> Iterator[str]:
    """The strings an app received in a returned value (bytes decoded when they are text).

    Binary identifiers (`binary_id`: MediaDrm's deviceUniqueId, 32 raw bytes) are sent as text an app
    makes of them, so their lowercase hex and base64 (standard, and URL-safe unpadded) stand for them.
    Java objects arrive as `{$class, value: toString(), ...}`: a ClipData's `texts`, a list's `items`,
    else the object's text; the class name itself is never a value.
    """
    raw = _bytes_of(value)
    if raw is not None:
        if is_printable_text(raw):
            yield raw.decode("utf-8")
        elif len(raw) == 6:
            yield ":".join(f"{b:02x}" for b in raw)  # a hardware address
        elif binary_id and len(raw) >= 8:
            yield raw.hex()
            yield base64.b64encode(raw).decode()
            yield base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, binary_id)
    elif isinstance(value, dict):
        if "texts" in value or "items" in value:
            yield from _strings(value.get("texts") or value.get("items"), binary_id)
        elif "$class" in value:
            yield from _strings(value.get("value"), binary_id)
        else:
            for k, v in value.items():
                if not k.startswith("$"):
                    yield from _strings(v, binary_id)


def _kind(event: HookEvent) -> DataType | None:
    """The data type of what an event read: the one table access findings use too (vocabulary)."""
    return hook_data_type(event.category, event.api, event.args)


def _locations(events: list[HookEvent]) -> Iterator[tuple[HookEvent, str]]:
    """`lat,lon` from Location objects (their text) and from getLatitude/getLongitude pairs on one thread."""
    last_lat: dict[int, tuple[float, float]] = {}
    for ev in events:
        if canonical_category(ev.category) != HookCategory.LOCATION:
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
    found: list[tuple[HookEvent, DataType, str]] = [
        (ev, DataType.LOCATION, loc) for ev, loc in _locations(events)
    ]
    for ev in events:
        category = canonical_category(ev.category)
        if category in TLS_CATEGORIES or category == HookCategory.LOCATION:
            continue
        read = _kind(ev)
        if read is not None:
            binary_id = read == DataType.VENDOR_ID
            found.extend((ev, read, s.strip()) for s in _strings(ev.ret, binary_id))
    out: dict[tuple[str, str], Canary] = {}
    for ev, kind, value in sorted(found, key=lambda f: f[0].seq):
        if len(value) < MIN_RUNTIME_VALUE or value in known or (kind, value) in out:
            continue
        out[(kind, value)] = Canary(
            id=f"runtime:{kind}:{ev.seq}",
            kind=kind,
            value=value,
            source=CanarySource.RUNTIME_VALUE,
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
        if canonical_category(ev.category) not in TLS_CATEGORIES or not _TLS_WRITE.search(ev.api):
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

"""Access findings: what the Frida hooks saw the app read, by data type and SDK, linked to its sending."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields

import pandas as pd

from analysis.findings.frames import _columns
from analysis.findings.frames import _epochs
from analysis.findings.frames import _int
from analysis.findings.frames import _list
from analysis.findings.frames import _text
from analysis.findings.frames import short_id
from analysis.findings.model import MAX_ACCESS_EVENTS
from analysis.findings.model import AccessEvent
from analysis.findings.model import Finding
from analysis.findings.model import HookRead
from analysis.findings.phases import _phase_rank
from analysis.findings.phases import phase_at

# Hook APIs -> data type, for hook categories that cover several data types (`identifiers`).
# Checked in order; the first keyword found in the api (lower case) wins.
_API_DATA_TYPES: tuple[tuple[str, str], ...] = (
    ("clipboard", "clipboard"),
    ("getprimaryclip", "clipboard"),
    ("android_id", "android_id"),
    ("advertisingid", "advertising_id"),
    ("getimei", "imei"),
    ("getdeviceid", "imei"),
    ("getmeid", "imei"),
    ("getmacaddress", "mac"),
    ("gethardwareaddress", "mac"),
    ("getsimserialnumber", "iccid"),
    ("getsubscriberid", "imsi"),
    ("getline1number", "phone"),
    ("getserial", "serial"),
    ("location", "location"),
    ("getlatitude", "location"),
    ("contacts", "contact"),
    ("getinstalledpackages", "installed_apps"),
    ("getinstalledapplications", "installed_apps"),
    ("queryintentactivities", "installed_apps"),
)


# Hook categories that read the device (ePrivacy Art. 5(3)); the others (network, tls-plaintext, tls,
# and the agent's and runner's own records) describe transport or the capture, not a read of the device.
ACCESS_CATEGORIES = frozenset(
    {
        "clipboard",
        "identifiers",
        "location",
        "contacts",
        "installed-apps",
        "installed_apps",
        "webview",
        "watch",
    }
)


_CATEGORY_DATA_TYPES = {
    "clipboard": "clipboard",
    "location": "location",
    "contacts": "contact",
    "contact": "contact",
    "packages": "installed_apps",
    "installed_apps": "installed_apps",
    "installed-apps": "installed_apps",
}


# Settings.Secure/System.getString read many things; the key argument says which identifier.
_SETTING_DATA_TYPES = {"android_id": "android_id", "bluetooth_address": "mac"}


def hook_data_type(category: str | None, api: str | None, args: str = "") -> str:
    """The data type a hook event read, from its api (precise), its Settings key, or else its category."""
    low = (api or "").lower()
    if low.startswith("settings$") and low.endswith(".getstring"):
        for key, dtype in _SETTING_DATA_TYPES.items():
            if f'"{key}"' in args:
                return dtype
    for key, dtype in _API_DATA_TYPES:
        if key in low:
            return dtype
    cat = (category or "").lower()
    return _CATEGORY_DATA_TYPES.get(cat, cat or "unknown")


@dataclass(frozen=True)
class _Hook(HookRead):
    ret: str
    args: str
    stack: tuple[str, ...]


def _hooks(df: pd.DataFrame) -> list[_Hook]:
    out: list[_Hook] = []
    times = _epochs(df["t"])
    c = _columns(df, ["seq", "category", "api", "sdk", "entity", "ret", "args", "stack"])
    for i, t in enumerate(times):
        if t is None:
            continue
        category, api = _text(c["category"][i]), _text(c["api"][i])
        args = _text(c["args"][i]) or ""
        out.append(
            _Hook(
                seq=_int(c["seq"][i]) or 0,
                t=t,
                api=api or "",
                category=category or "",
                data_type=hook_data_type(category, api, args),
                sdk=_text(c["sdk"][i]),
                entity=_text(c["entity"][i]),
                ret=_text(c["ret"][i]) or "",
                args=args,
                stack=tuple(str(x) for x in _list(c["stack"][i])),
            )
        )
    out.sort(key=lambda h: (h.t, h.seq))
    return out


def _access_event(h: _Hook, link: str, delay: float | None) -> AccessEvent:
    value = h.ret if len(h.ret) <= 200 else h.ret[:200] + "…"
    read = {f.name: getattr(h, f.name) for f in fields(HookRead)}
    return AccessEvent(**read, value=value, stack_top=h.stack[:6], link=link, delay_s=delay)


def _linked_access(
    data_type: str,
    last: float,
    hooks: Sequence[_Hook],
    values: Sequence[str],
    runtime_seqs: Iterable[int] = (),
) -> tuple[list[_Hook], str]:
    """Hook events that read what the finding sent, up to its last transmission, and the link kind.

    Linked by value (link "value") when the detection's canary is a runtime value of hook event
    `runtime:<kind>:<seq>`, when a hook returned the same text as that event, or when a hook's return
    value or arguments contain a planted value that was sent. Otherwise linked by data type only (link
    "type"), which the report states as the weaker link. `hooks` is sorted by time.
    """
    candidates = hooks[: bisect.bisect_right([h.t for h in hooks], last)]
    seqs = set(runtime_seqs)
    same_ret = {h.ret for h in hooks if h.seq in seqs and h.ret}
    if seqs or values:
        by_value = [
            h
            for h in candidates
            if h.seq in seqs
            or (h.ret and h.ret in same_ret)
            or any(v in h.ret or v in h.args for v in values)
        ]
        if by_value:
            return by_value, "value"
    return [h for h in candidates if h.data_type == data_type], "type"


def _delay(t: float, times: Sequence[float]) -> float | None:
    """Seconds from a read at t to the first transmission at or after it (times sorted)."""
    i = bisect.bisect_left(times, t)
    return None if i == len(times) else round(times[i] - t, 6)


def runtime_seq(canary_id: str) -> int | None:
    """The hook seq of a runtime-value canary id (`runtime:<kind>:<seq>`, see analysis/detect/runtime.py)."""
    parts = canary_id.split(":")
    if len(parts) == 3 and parts[0] == "runtime" and parts[2].isdigit():
        return int(parts[2])
    return None


def _access_findings(
    hooks: Sequence[_Hook], transitions: Sequence[tuple[float, str, str]], transmissions: Sequence[Finding]
) -> list[Finding]:
    groups: dict[tuple[str, str, str], list[_Hook]] = defaultdict(list)
    for h in hooks:
        who = h.sdk or "app (no SDK attributed)"
        groups[(h.data_type, who, phase_at(h.t, transitions))].append(h)
    sent_by_seq: dict[int, list[str]] = defaultdict(list)
    for f in transmissions:
        for s in f.access_seqs:
            sent_by_seq[s].append(f.finding_id)
    out: list[Finding] = []
    for (dtype, who, phase), hs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], _phase_rank(kv[0][2]))
    ):
        related = sorted({fid for h in hs for fid in sent_by_seq.get(h.seq, [])})
        entity = next((h.entity for h in hs if h.entity), None) or who
        out.append(
            Finding(
                finding_id=f"A-{short_id('access', dtype, who, phase)}",
                kind="access",
                data_type=dtype,
                entity=entity,
                parent=None,
                country="device",
                jurisdiction="device",
                party="device",
                hosts=[],
                phase=phase,
                first_seen=hs[0].t,
                last_seen=hs[-1].t,
                count=len(hs),
                access_seqs=[h.seq for h in hs],
                sdk=None if who.startswith("app (") else who,
                apis=sorted({h.api for h in hs}),
                methods=["hook"],
                access=[_access_event(h, "access", None) for h in hs[:MAX_ACCESS_EVENTS]],
                related=related,
            )
        )
    by_id = {f.finding_id: f for f in transmissions}
    for a in out:
        for fid in a.related:
            by_id[fid].related.append(a.finding_id)
    return out

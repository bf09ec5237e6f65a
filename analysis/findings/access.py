"""Access findings: what the Frida hooks saw the app read, by data type and SDK, linked to its sending."""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields
from typing import Any

import pandas as pd

from analysis.detect.runtime import _strings
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
from analysis.vocabulary import READ_CATEGORIES
from analysis.vocabulary import AccessLink
from analysis.vocabulary import DataType
from analysis.vocabulary import FindingKind
from analysis.vocabulary import HookCategory
from analysis.vocabulary import Party
from analysis.vocabulary import canonical_category
from analysis.vocabulary import hook_data_type as hook_read_type

# Hook categories that read the device (ePrivacy Art. 5(3)); the others (network, tls-plaintext, tls,
# and the agent's and runner's own records) describe transport or the capture, not a read of the device.
# The one list is `analysis.vocabulary.READ_CATEGORIES`; this name stays for existing importers.
ACCESS_CATEGORIES = READ_CATEGORIES


def hook_data_type(category: str | None, api: str | None, args: Any = None) -> str:
    """The data type a hook event read, as access findings name it (`other` when it has none of its own).

    The table is `analysis.vocabulary.hook_data_type`, the same one runtime-value canaries use, so an
    access finding and the transmission of what it read carry the same data type.
    """
    return hook_read_type(category, api, args) or DataType.OTHER


@dataclass(frozen=True)
class _Hook(HookRead):
    ret: str
    args: str
    stack: tuple[str, ...]
    # The text of byte arguments that are text (a watched encryption entry point's plaintext arrives as
    # `{"$b64": ...}`): searched for sent values beside `args`, and shown as what a watched call saw.
    decoded: str = ""

    def holds(self, value: str) -> bool:
        """Whether the call returned or received `value` (byte arguments as their text)."""
        return value in self.ret or value in self.args or value in self.decoded


def _decoded_args(args: str | None) -> str:
    """The text of a call's byte arguments that are text, one a line ("" when it has none)."""
    if not args or "$b64" not in args:
        return ""
    try:
        parsed = json.loads(args)
    except ValueError:
        return ""
    if not isinstance(parsed, list):
        return ""
    return "\n".join(_strings([a for a in parsed if isinstance(a, dict) and "$b64" in a]))


def _hooks(df: pd.DataFrame) -> list[_Hook]:
    out: list[_Hook] = []
    times = _epochs(df["t"])
    c = _columns(df, ["seq", "category", "api", "sdk", "entity", "ret", "args", "stack"])
    for i, t in enumerate(times):
        if t is None:
            continue
        category, api, args = _text(c["category"][i]), _text(c["api"][i]), _text(c["args"][i])
        out.append(
            _Hook(
                seq=_int(c["seq"][i]) or 0,
                t=t,
                api=api or "",
                category=canonical_category(category),
                data_type=hook_data_type(category, api, args),
                sdk=_text(c["sdk"][i]),
                entity=_text(c["entity"][i]),
                ret=_text(c["ret"][i]) or "",
                args=args or "",
                stack=tuple(str(x) for x in _list(c["stack"][i])),
                decoded=_decoded_args(args),
            )
        )
    out.sort(key=lambda h: (h.t, h.seq))
    return out


def _access_event(h: _Hook, link: str, delay: float | None) -> AccessEvent:
    # A watched method's result is typically its ciphertext: what it was handed is what it saw.
    value = h.decoded if h.category == HookCategory.WATCH and h.decoded else h.ret
    value = value if len(value) <= 200 else value[:200] + "…"
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
    value or arguments (byte arguments as their text: the plaintext a watched encryption entry point
    received) contain a planted value that was sent. Otherwise linked by data type only (link
    "type"), which the report states as the weaker link. `hooks` is sorted by time.
    """
    candidates = hooks[: bisect.bisect_right([h.t for h in hooks], last)]
    seqs = set(runtime_seqs)
    same_ret = {h.ret for h in hooks if h.seq in seqs and h.ret}
    if seqs or values:
        by_value = [
            h
            for h in candidates
            if h.seq in seqs or (h.ret and h.ret in same_ret) or any(h.holds(v) for v in values)
        ]
        if by_value:
            return by_value, AccessLink.VALUE
    return [h for h in candidates if h.data_type == data_type], AccessLink.TYPE


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
    hooks: Sequence[_Hook],
    transitions: Sequence[tuple[float, str, str]],
    transmissions: Sequence[Finding],
    canary_values: Mapping[str, str] | None = None,
) -> list[Finding]:
    """One access finding per data type, SDK and phase (watched methods apart), linked to what was sent.

    A watched call's finding names the canaries (`canary_values`: id -> value) found in what the method
    was handed: the values inside the app's own encryption before it encrypted them.
    """
    values = {k: v for k, v in (canary_values or {}).items() if v}
    # Calls of watched methods (the operator's list) are findings of their own: what an SDK handed its
    # own encryption or serialisation is not a read of the same kind as an API's, even of the same type.
    groups: dict[tuple[str, str, str, bool], list[_Hook]] = defaultdict(list)
    for h in hooks:
        who = h.sdk or "app (no SDK attributed)"
        groups[(h.data_type, who, phase_at(h.t, transitions), h.category == HookCategory.WATCH)].append(h)
    sent_by_seq: dict[int, list[str]] = defaultdict(list)
    for f in transmissions:
        for s in f.access_seqs:
            sent_by_seq[s].append(f.finding_id)
    out: list[Finding] = []
    for (dtype, who, phase, watched), hs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], _phase_rank(kv[0][2]), kv[0][3])
    ):
        related = sorted({fid for h in hs for fid in sent_by_seq.get(h.seq, [])})
        entity = next((h.entity for h in hs if h.entity), None) or who
        key = ("access", dtype, who, phase) + ((HookCategory.WATCH,) if watched else ())
        held = sorted(c for c, v in values.items() if any(h.holds(v) for h in hs)) if watched else []
        out.append(
            Finding(
                finding_id=f"A-{short_id(*key)}",
                kind=FindingKind.ACCESS,
                data_type=dtype,
                entity=entity,
                parent=None,
                country="device",
                jurisdiction="device",
                party=Party.DEVICE,
                hosts=[],
                phase=phase,
                first_seen=hs[0].t,
                last_seen=hs[-1].t,
                count=len(hs),
                access_seqs=[h.seq for h in hs],
                sdk=None if who.startswith("app (") else who,
                apis=sorted({h.api for h in hs}),
                methods=["hook"],
                access=[_access_event(h, AccessLink.ACCESS, None) for h in hs[:MAX_ACCESS_EVENTS]],
                related=related,
                canary_ids=held,
            )
        )
    by_id = {f.finding_id: f for f in transmissions}
    for a in out:
        for fid in a.related:
            by_id[fid].related.append(a.finding_id)
    return out

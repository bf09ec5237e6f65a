"""Plaintext the TikTok Frida profile saw going into ttEncrypt, scanned as a transmission.

The agent's `tiktok` module (hooks/src/bytedance) records `EncryptorUtil` calls with the plaintext
(args[0]) and the ciphertext the app got back (ret). The ciphertext is what went on the wire, so a flow
whose request body holds those bytes is the transmission that carried the plaintext:

- the flow's body also decrypts offline (analysis.decode.ttencrypt): the same values are already found
  in it; the hooked plaintext corroborates and is not reported again;
- the flow's body does not decrypt offline (a newer scheme): the plaintext is scanned and its detections
  are given that flow's id, so the finding names the receiver; the part is the plaintext's own
  (`body:header.udid`), the encoding its own chain (`gzip>json`);
- no flow carries the ciphertext (not captured, or sent outside the proxy): scanned as `hook:<seq>`,
  like TLS plaintext the proxy did not see.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from dataclasses import replace

from analysis.decode.ttencrypt import TTEncryptError
from analysis.decode.ttencrypt import decrypt
from analysis.decode.ttencrypt import is_ttencrypted
from analysis.detect.detector import Detector
from analysis.detect.detector import detection_id
from analysis.detect.runtime import PlaintextRecord
from analysis.schema import Detection
from analysis.schema import FlowRecord
from analysis.schema import HookEvent

CATEGORY = "bytedance-encrypt"


@dataclass(frozen=True)
class HookedPlaintext:
    """One plaintext the app handed to ttEncrypt, and the ciphertext it got back."""

    seq: int
    t: float
    api: str
    plaintext: bytes
    ciphertext: bytes


def _bytes(value: object) -> bytes | None:
    if isinstance(value, dict) and isinstance(value.get("$b64"), str):
        try:
            return base64.b64decode(value["$b64"])
        except (binascii.Error, ValueError):
            return None
    return None


def hooked_plaintexts(events: list[HookEvent]) -> list[HookedPlaintext]:
    """The ttEncrypt calls among the hook events, one per ciphertext (the wrapper and the native method
    it calls record the same encryption twice)."""
    out: dict[bytes, HookedPlaintext] = {}
    for e in events:
        if e.category != CATEGORY or not e.args:
            continue
        plain, cipher = _bytes(e.args[0]), _bytes(e.ret)
        if plain is None:
            continue
        key = cipher if cipher is not None else plain
        if key not in out:
            out[key] = HookedPlaintext(e.seq, e.t, e.api, plain, cipher or b"")
    return list(out.values())


def _decrypts(body: bytes) -> bool:
    if not is_ttencrypted(body):
        return False
    try:
        decrypt(body)
    except TTEncryptError:
        return False
    return True


def carrier_flows(hooked: list[HookedPlaintext], flows: list[FlowRecord]) -> dict[int, FlowRecord]:
    """seq -> the flow whose request body carries that call's ciphertext."""
    by_body = {f.request_body: f for f in flows if f.request_body}
    out = {}
    for h in hooked:
        if not h.ciphertext:
            continue
        flow = by_body.get(h.ciphertext) or next(
            (f for b, f in by_body.items() if len(b) > len(h.ciphertext) and h.ciphertext in b), None
        )
        if flow is not None:
            out[h.seq] = flow
    return out


def hooked_detections(
    detector: Detector, events: list[HookEvent], flows: list[FlowRecord]
) -> list[Detection]:
    """Detections in the plaintext the app handed to ttEncrypt that no flow already shows decrypted."""
    hooked = hooked_plaintexts(events)
    carriers = carrier_flows(hooked, flows)
    out: list[Detection] = []
    for h in hooked:
        flow = carriers.get(h.seq)
        if flow is not None and _decrypts(flow.request_body):
            continue  # decrypted offline already: the hook corroborates the same transmission
        found = detector.plaintext(PlaintextRecord(h.seq, h.t, h.api, h.plaintext)).detections
        if flow is None:
            out.extend(found)
            continue
        for d in found:
            out.append(
                replace(
                    d,
                    flow_id=flow.flow_id,
                    detection_id=detection_id(
                        flow.flow_id, d.part, d.canary_id or d.data_type, d.encoding, d.method
                    ),
                )
            )
    return out

"""The control app's planted values (ground truth) and their near-miss decoys.

The values are fixed so that sessions are reproducible and reports rebuild byte for byte. Each kind
of `schema.CANARY_KINDS` that a TikTok-like client would read is planted at least once; decoys are
values one edit away from a canary that the detector must never report.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.schema import Canary


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for a string of digits (IMEIs end in one)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


IMEI = "35491809003124" + luhn_digit("35491809003124")

CANARIES: tuple[Canary, ...] = (
    Canary("imei", "imei", IMEI, note="TelephonyManager.getImei"),
    Canary("android_id", "android_id", "3f7a9c2e51b04d86", note="Settings.Secure ANDROID_ID"),
    Canary("adid", "advertising_id", "5b1f2c9e-7d4a-4e8b-9c3f-2a6d8e1b0c47", note="Google advertising ID"),
    Canary("mac", "mac", "02:1a:3b:4c:5d:6e", note="Wi-Fi MAC"),
    Canary("serial", "serial", "EMU7X9K2Q4", note="Build.getSerial"),
    Canary("imsi", "imsi", "204081234567890", note="subscriber id (Dutch MCC 204)"),
    Canary("iccid", "iccid", "8931081234567890123", note="SIM serial"),
    Canary("phone", "phone", "+31612345678", note="line number"),
    Canary("email", "email", "privlab.canary.7f3a@example.org", note="account e-mail"),
    Canary("location", "location", "52.370216,4.895168", note="geo fix, Amsterdam"),
    Canary("clipboard", "clipboard", "PRIVLAB-CLIP-9f2e71c4 secret note", note="clipboard text"),
    Canary("contact", "contact", "Maarten Kanarievogel", note="a planted contact's name"),
    Canary("canary_app", "installed_apps", "nl.privlab.canaryapp", note="a planted installed package"),
    Canary("openudid", "vendor_id", "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4", note="ByteDance openudid"),
    Canary("cdid", "vendor_id", "c0ffee00-1234-4abc-8def-0123456789ab", note="ByteDance cdid"),
    Canary("install_id", "vendor_id", "7312345678901234567", note="ByteDance install id"),
)

BY_ID = {c.id: c for c in CANARIES}


def value(canary_id: str) -> str:
    return BY_ID[canary_id].value


@dataclass(frozen=True)
class Decoy:
    """A value close to canary `near` that is not it."""

    near: str
    value: str
    why: str


def _flip_digit(s: str, index: int) -> str:
    d = s[index]
    return s[:index] + str((int(d) + 1) % 10) + s[index + 1 :]


DECOYS: tuple[Decoy, ...] = (
    Decoy("imei", _flip_digit(IMEI, 7), "one digit changed"),
    Decoy("android_id", "3f7a9c2e51b04d8", "truncated by one character"),
    Decoy("adid", "5b1f2c9e-7d4a-4e8b-9c3f-2a6d8e1b0c48", "last character changed"),
    Decoy("email", "privlab.canary.7f3a@example.net", "other domain"),
    Decoy("phone", "+31612345679", "last digit changed"),
    Decoy("install_id", "7312345678901234568", "last digit changed"),
    Decoy("location", "52.420216,4.945168", "about 6.5 km away"),
    Decoy("clipboard", "PRIVLAB-CLIP-9f2e71c5 secret note", "one character changed"),
    Decoy("serial", "EMU7X9K2Q5", "last character changed"),
)

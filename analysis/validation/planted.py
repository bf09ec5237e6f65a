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


# -- forms real SDKs send (issue 14), measured offline by `measure.score_forms` ------------------------

GMAIL = Canary("gmail", "email", "Privlab.Canary+ads@GMail.com", note="account e-mail a Gmail user typed")
US_PHONE = Canary("us_phone", "phone", "+1 555 201 4477", note="a US line number")
FORM_CANARIES: tuple[Canary, ...] = (*CANARIES, GMAIL, US_PHONE)


@dataclass(frozen=True)
class FormCase:
    """One value as an SDK re-writes it, in one container; `expect="absent"` for a near-miss decoy."""

    canary_id: str
    sent: str  # the text the app sends
    container: str  # json | form | query | json-url-key | form-json | firebase | multipart
    encoding: str  # the chain privlab must report (present) or that a decoy would have (absent)
    expect: str = "present"


def _hexint(n: int, upper: bool = False) -> str:
    return f"{n:X}" if upper else f"{n:x}"


_AID = int(value("android_id"), 16)
_IID = int(value("install_id"))

FORM_CASES: tuple[FormCase, ...] = (
    FormCase("phone", "06 12345678", "json", "json>national"),
    FormCase("phone", "0612345678", "form", "form>digits>national"),
    FormCase("phone", "+31 6 12345678", "query", "international"),
    FormCase("us_phone", "(555) 201-4477", "json", "json>national"),
    FormCase("us_phone", "+15552014477", "json-url-key", "json>url>nosep"),
    FormCase("android_id", str(_AID), "json", "json>decimal"),
    FormCase("android_id", value("android_id"), "firebase", "protobuf"),
    FormCase("install_id", _hexint(_IID), "form-json", "form>json>hexint"),
    FormCase("install_id", _hexint(_IID, upper=True), "json", "json>upper>hexint"),
    FormCase("imei", IMEI[:14], "multipart", "multipart>gzip>json>nocheck"),
    FormCase("mac", value("mac").replace(":", "").upper(), "query", "upper>nosep"),
    FormCase("gmail", "privlabcanary@gmail.com", "json", "json>canonical"),
    FormCase("gmail", "sha256:privlabcanary@gmail.com", "json", "json>sha256>canonical"),
    FormCase("email", "sha256:" + value("email"), "firebase", "protobuf>sha256"),
    # near misses: one digit or letter away from a form above
    FormCase("phone", "06 12345679", "json", "json>national", "absent"),
    FormCase("us_phone", "(555) 201-4478", "json", "json>national", "absent"),
    FormCase("android_id", str(_AID + 1), "json", "json>decimal", "absent"),
    FormCase("install_id", _hexint(_IID + 1), "json", "json>hexint", "absent"),
    FormCase("imei", IMEI[:13] + str((int(IMEI[13]) + 1) % 10), "json", "json>nocheck", "absent"),
    FormCase("gmail", "privlabcanary@gmail.co", "json", "json>canonical", "absent"),
)

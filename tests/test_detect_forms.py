"""Canary normal forms (issue 14): each kind's re-writings as one table, each entry found when sent."""

from __future__ import annotations

import hashlib
import json

import pytest

from analysis.detect.detector import Detector
from analysis.detect.variants import FORM_STEPS
from analysis.detect.variants import KIND_FORMS
from analysis.detect.variants import normal_forms
from analysis.schema import Canary
from analysis.schema import FlowRecord


def _rec(body: bytes) -> FlowRecord:
    return FlowRecord(
        "f", 1.0, None, "", None, None, None, "h.example", "https", "HTTP/1.1", "POST", "https://h.example/x",
        "/x", "", 200, [("content-type", "application/json")], [], len(body), 0, None, None, request_body=body,
    )  # fmt: skip


def sent_as(kind: str, value: str, sent: str) -> set[str]:
    """The encodings privlab reports for `value` when the app sends `sent` in a JSON field."""
    detector = Detector([Canary("c", kind, value)], patterns=False)
    return {d.encoding for d in detector.flow(_rec(json.dumps({"field": sent}).encode())).detections}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# (kind, planted value, what the app sent, the encoding privlab must report)
FORMS = [
    ("phone", "+1 555 201 4477", "(555) 201-4477", "json>national"),
    ("phone", "+1 555 201 4477", "15552014477", "json>nosep"),
    ("phone", "+1 555 201 4477", "5552014477", "json>digits>national"),
    ("phone", "+31612345678", "612345678", "json>digits"),
    ("phone", "+1 555 201 4477", "+1 555-201-4477", "json>international"),
    ("phone", "+1 555 201 4477", "+15552014477", "json>nosep"),
    ("phone", "+1 555 201 4477", "0015552014477", "json>digits"),
    ("phone", "+31612345678", "06 12345678", "json>national"),
    ("phone", "+31612345678", "0612345678", "json>digits>national"),
    ("phone", "+1 555 201 4477", sha256("15552014477"), "json>sha256>nosep"),
    ("android_id", "3f7a9c2e51b04d86", str(int("3f7a9c2e51b04d86", 16)), "json>decimal"),
    ("android_id", "f7a9c2e51b04d863", str(int("f7a9c2e51b04d863", 16) - (1 << 64)), "json>decimal"),
    ("android_id", "7a9c2e51b04d86", "007a9c2e51b04d86", "json>pad"),
    ("vendor_id", "7312345678901234567", f"{7312345678901234567:x}", "json>hexint"),
    ("vendor_id", "7312345678901234567", f"{7312345678901234567:X}", "json>upper>hexint"),
    ("vendor_id", "4312345678901", f"{4312345678901:016x}", "json>pad>hexint"),
    ("imei", "354918090031241", "35491809003124", "json>nocheck"),
    ("mac", "02:1a:3b:4c:5d:6e", "021A3B4C5D6E", "json>upper>nosep"),
    ("mac", "02:1a:3b:4c:5d:6e", "02-1A-3B-4C-5D-6E", "json"),
    ("email", " Jane.Doe+news@GMail.com ", "janedoe@gmail.com", "json>canonical"),
    ("email", "Jane.Doe+news@GMail.com", sha256("janedoe@gmail.com"), "json>sha256>canonical"),
    ("email", "privlab+ads@example.org", sha256("privlab@example.org"), "json>sha256>canonical"),
    ("email", "Privlab@Example.org", hashlib.md5(b"privlab@example.org").hexdigest(), "json>md5>lower"),
]


@pytest.mark.parametrize(("kind", "value", "sent", "encoding"), FORMS)
def test_form_is_found(kind: str, value: str, sent: str, encoding: str) -> None:
    assert encoding in sent_as(kind, value, sent)


def test_every_table_entry_and_step_is_exercised() -> None:
    kinds_with_rules = {k for k, rules in KIND_FORMS.items() if rules}
    tested = {k for k, *_ in FORMS}
    assert kinds_with_rules - {"other"} <= tested
    used = {step for *_, enc in FORMS for step in enc.split(">")}
    assert set(FORM_STEPS) <= used


@pytest.mark.parametrize(
    ("kind", "value", "sent"),
    [
        ("imei", "354918090031241", "354918090031249"),  # same 14 digits, another check digit
        ("imei", "354918090031241", "35491809003125"),  # another 14-digit body
        ("phone", "+1 555 201 4477", "(555) 201-4478"),
        ("phone", "+1 555 201 4477", "155520144770"),  # inside a longer number
        ("android_id", "3f7a9c2e51b04d86", str(int("3f7a9c2e51b04d86", 16) + 1)),
        ("vendor_id", "7312345678901234567", f"{7312345678901234568:x}"),
        ("email", "Jane.Doe+news@GMail.com", "janedoe@gmail.co"),
        ("email", "privlab@example.org", "pri.vlab@example.org"),  # dots matter outside Gmail
    ],
)
def test_near_forms_are_not_found(kind: str, value: str, sent: str) -> None:
    assert sent_as(kind, value, sent) == set()


def test_unparseable_phone_keeps_the_plain_forms() -> None:
    forms = dict((f, s) for s, f in normal_forms("not a number", "phone"))
    assert "not a number" in forms

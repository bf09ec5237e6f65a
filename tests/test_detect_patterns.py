"""Pattern detectors as data (issue 14): every key-vocabulary entry and value shape, hit and near miss."""

from __future__ import annotations

import json
import re
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from analysis.decode.views import View
from analysis.detect import patterns as pattern_rules
from analysis.detect.detector import Detector
from analysis.detect.patterns import KEY_VOCABULARY
from analysis.detect.patterns import KEYED_RULES
from analysis.detect.patterns import PATTERN_TYPES
from analysis.detect.patterns import PatternHit
from analysis.detect.patterns import find_patterns
from analysis.detect.patterns import key_types
from analysis.schema import CANARY_KINDS
from analysis.schema import FlowRecord


def _rec(body: bytes) -> FlowRecord:
    return FlowRecord(
        "f", 1.0, None, "", None, None, None, "h.example", "https", "HTTP/1.1", "POST", "https://h.example/x",
        "/x", "", 200, [("content-type", "application/json")], [], len(body), 0, None, None, request_body=body,
    )  # fmt: skip


def patterns(obj: object) -> set[tuple[str, str]]:
    dets = Detector([]).flow(_rec(json.dumps(obj).encode())).detections
    assert all(d.method == "pattern" and d.canary_id is None and d.confidence < 0.9 for d in dets)
    return {(d.data_type, d.part) for d in dets}


UUID = "38400000-8cf0-11bd-b23e-10b96e40000d"
# FCM's token form: the app instance id, `:`, then Google's registration token (`APA91b` + base64url).
FCM = (
    "cF3kQ9pL2mN8rT5wYz1aB4:APA91b"
    + "Hk2_vQ9xLmN8-rT5wYz1aB4cD7eF0gH3iJ6kL9mN2oP5qR8sT1uV4wX7yZ0" * 2
    + "AbCdEf"
)
# (key, value, data type reported under body:<key>)
HITS = [
    ("idfa", UUID, "advertising_id"),
    ("gaid", UUID, "advertising_id"),
    ("adid", UUID, "advertising_id"),
    ("advertisingIdentifier", UUID, "advertising_id"),
    ("idfv", UUID, "vendor_id"),
    ("openudid", "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4", "vendor_id"),
    ("install_id", "7312345678901234567", "vendor_id"),
    ("hardware_id", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "device_id"),
    ("anon_id", "Xk3vQ9pL2mN8rT5wYz1aB4cD", "device_id"),
    ("client_unique_id", "1f2e3d4c5b6a7980", "device_id"),
    ("device_fingerprint_id", "1184652393174836273", "device_id"),
    ("Device-ID", UUID, "device_id"),
    ("android_id", "3f7a9c2e51b04d86", "android_id"),
    ("imsi", "204081234567890", "imsi"),
    ("sim_serial", "8931081234567890129", "iccid"),
    ("serial", "EMU7X9K2Q4", "serial"),
    ("wifi_mac", "021A3B4C5D6E", "mac"),
    ("local_ip", "192.168.1.23", "ip_address"),
    ("client_ip", "2001:db8::8a2e:370:7334", "ip_address"),
    ("device_model", "Pixel 7 Pro", "device_model"),
    ("model", "SM-G991B", "device_model"),
    ("mobile", "+49 151 23456789", "phone"),
    ("contact", "+31 6 12345678", "phone"),  # a valid international number needs no key
    ("note", "someone@mail.example", "email"),
    ("imei", "490154203237518", "imei"),
    ("blob", "sim 8931081234567890129 end", "iccid"),
    ("build", "google/panther/panther:14/UQ1A.240205.004/11269751:user/release-keys", "build_fingerprint"),
    ("wifi", "a4:5e:60:d1:22:33", "mac"),
    ("push_token", FCM, "push_token"),
    ("apns_device_token", "5c8f3a3d9e0b4c1d2e3f40516273849a5b6c7d8e9f00112233445566778899aa", "push_token"),
    ("note", "token " + FCM.partition(":")[2] + " end", "push_token"),  # Google's form needs no key
]

MISSES = [
    ("idfa", "not-a-uuid"),
    ("install_id", "12345"),  # too short for an id
    ("android_id", "3f7a9c2e51b04d8"),  # 15 hex digits
    ("local_ip", "300.1.2.3"),
    ("zip", "10.0.0.1"),  # `ip` is only a whole key
    ("hotel", "+1 555 0100"),  # not a valid number, and `tel` is only a whole key
    ("device_type", "LARGE"),  # a form factor, not a model
    ("blob", "j@Vnu.WaTkA"),  # bytes out of a binary blob
    ("model", "12345"),
    ("sim_serial", "8931081234567890127"),  # Luhn digit wrong
    ("version", "1.2.3.4"),
    ("device_model", ""),
    ("push_token", "disabled"),
    ("registration_id", "abcdefabcdefabcdefabcdefabcdefabcdef"),  # no digit: a word, not a token
    ("note", "APA91b-too-short"),
    ("note", "x" + FCM.partition(":")[2]),  # inside a longer token
]


@pytest.mark.parametrize(("key", "value", "data_type"), HITS)
def test_pattern_hit(key: str, value: str, data_type: str) -> None:
    assert (data_type, f"body:{key}" if key.isidentifier() else f'body:["{key}"]') in patterns({key: value})


@pytest.mark.parametrize(("key", "value"), MISSES)
def test_pattern_near_miss(key: str, value: str) -> None:
    assert patterns({key: value}) == set()


def test_vocabulary_and_rules_cover_every_pattern_type() -> None:
    tested = {t for *_, t in HITS}
    assert set(KEY_VOCABULARY) <= tested | {"email"}
    assert {r.data_type for r in KEYED_RULES} <= tested
    assert set(PATTERN_TYPES) <= tested
    assert not set(PATTERN_TYPES) & set(CANARY_KINDS)  # new types never shadow a canary kind
    assert set(KEY_VOCABULARY) - set(PATTERN_TYPES) <= set(CANARY_KINDS)


def test_key_names_are_normalised() -> None:
    assert key_types("Client-Unique-ID") == {"device_id"}
    assert key_types("IDFV") == {"vendor_id"}
    assert "ip_address" not in key_types("zip")
    assert key_types("tel") == {"phone"} and "phone" not in key_types("hotel")


def test_a_hyphenated_digit_id_keeps_the_flows_other_detections() -> None:
    # `0200-0000-0000-0000` under an identifier key reached int() and raised: the whole flow lost its
    # detections and got an "internal" decode issue instead (found by fuzzing the pattern rules).
    result = Detector([]).flow(
        _rec(json.dumps({"device_id": "0200-0000-0000-0000", "note": "a@b.example"}).encode())
    )
    assert not [i for i in result.issues if i.issue == "internal"]
    found = {(d.data_type, d.part) for d in result.detections}
    assert {("device_id", "body:device_id"), ("email", "body:note")} <= found


# -- where the rules run: a core only prunes views, it never loses a hit -------------------------------

_EVERY_VIEW = re.compile(rb"[^\x00]")  # a "core" that occurs in every view: each rule searches them all
_BYTES = b"0123456789abcdefABCDEFhxyz:-.,+@_/ \x00"


def _pruned_and_unpruned(datas: list[bytes]) -> tuple[list[PatternHit], list[PatternHit]]:
    keys = ["imei", "mac", "lat", "x"]
    views = [View(f"body:{keys[i % 4]}", ("json",), data) for i, data in enumerate(datas)]
    pruned = find_patterns(views)
    with patch.dict(pattern_rules._CORES, dict.fromkeys(pattern_rules._CORES, _EVERY_VIEW)):
        return pruned, find_patterns(views)


@pytest.mark.parametrize(
    ("datas", "found"),
    [
        ([b"490154203237518"], "imei"),  # an IMEI (Luhn-valid) that is the whole view
        ([b"a", b"490154203237518"], "imei"),  # ... in the second view: its neighbours are separators
        ([b"490154203237518", b"490154203237518"], "imei"),  # ... in two views next to each other
        ([b"imei 490154203237518, more", b"x"], "imei"),
        ([b"0.490154203237518", b"4901542032375181", b"x490154203237518"], None),  # in longer tokens
        ([b"02:1A:2b:3C:4d:5E", b"02-1a-2b-3c-4d-5e", b"id=02:1a:2b:3c:4d:5e;"], "mac"),
        ([b"52.370216, 4.895168", b"at 52.3702160,4.8951680 now"], "location"),
    ],
)
def test_cores_only_prune_the_views_searched(datas: list[bytes], found: str | None) -> None:
    pruned, unpruned = _pruned_and_unpruned(datas)
    assert pruned == unpruned
    assert {h.data_type for h in pruned} == ({found} if found else set())


@given(st.lists(st.binary(min_size=1, max_size=40).map(lambda b: bytes(_BYTES[x % len(_BYTES)] for x in b)),
                min_size=1, max_size=8))  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_cores_only_prune_random_views(datas: list[bytes]) -> None:
    pruned, unpruned = _pruned_and_unpruned([d.replace(b"\x00", b" ") for d in datas])
    assert pruned == unpruned

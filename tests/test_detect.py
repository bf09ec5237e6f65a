"""Detection: canary variants, one automaton with two engines, locations, patterns, runtime values."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import zlib
from collections.abc import Callable
from urllib.parse import quote

import brotli
import pytest
from backports import zstd
from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from analysis.detect.detector import Detector
from analysis.detect.patterns import luhn_ok
from analysis.detect.runtime import runtime_canaries
from analysis.detect.runtime import tls_plaintext
from analysis.detect.scanner import Scanner
from analysis.detect.scanner import hyperscan_available
from analysis.detect.variants import base64_fragments
from analysis.detect.variants import canary_variants
from analysis.schema import Canary
from analysis.schema import FlowRecord
from analysis.schema import HookEvent
from analysis.schema import WebSocketMessage

IMEI = "354918090031248"
CANARIES = [
    Canary("imei", "imei", IMEI),
    Canary("aid", "android_id", "3f7a9c2e51b04d86"),
    Canary("mac", "mac", "02:1a:3b:4c:5d:6e"),
    Canary("mail", "email", "privlab.canary.7f3a@example.org"),
    Canary("phone", "phone", "+31612345678"),
    Canary("loc", "location", "52.370216,4.895168"),
    Canary("clip", "clipboard", "PRIVLAB-CLIP-9f2e71c4 secret note"),
]
DETECTOR = Detector(CANARIES)


def flow(body: bytes = b"", headers: list[tuple[str, str]] | None = None, query: str = "", path: str = "/x",
         websocket: list[WebSocketMessage] | None = None) -> FlowRecord:  # fmt: skip
    """A request record built directly (the capture spine's FlowRecord, no proxy needed)."""
    return FlowRecord(
        "flow-1", 1.0, None, "", None, None, None, "h.example", "https", "HTTP/1.1", "POST",
        f"https://h.example{path}", path, query, 200, headers or [], [], len(body), 0, None, None,
        request_body=body, websocket=websocket or [],
    )  # fmt: skip


def found(rec: FlowRecord, detector: Detector = DETECTOR) -> set[tuple[str | None, str, str]]:
    return {(d.canary_id, d.part, d.encoding) for d in detector.flow(rec).detections if d.method != "pattern"}


# -- variants and the automaton ---------------------------------------------------------------------


def test_base64_fragments_match_at_every_alignment() -> None:
    value = b"356938035643809"
    frags = base64_fragments(value)
    assert len(frags) == 3
    for pad in range(6):
        encoded = base64.b64encode(b"x" * pad + value + b"yz")
        assert any(f in encoded for f in frags), pad


def test_variants_have_simplest_steps_and_no_duplicates() -> None:
    variants = canary_variants(Canary("aid", "android_id", "3f7a9c2e51b04d86"))
    needles = [v.needle for v in variants]
    assert len(needles) == len(set(needles))
    by_needle = {v.needle: v.steps for v in variants}
    assert by_needle[b"3f7a9c2e51b04d86"] == ()  # lower() of a lowercase value is the value itself
    assert by_needle[hashlib.md5(b"3f7a9c2e51b04d86").hexdigest().encode()] == ("md5",)
    sha_of_md5 = hashlib.sha256(hashlib.md5(b"3f7a9c2e51b04d86").hexdigest().encode()).hexdigest()
    assert by_needle[sha_of_md5.encode()] == ("sha256", "md5")


@pytest.mark.skipif(not hyperscan_available(), reason="Hyperscan wheel is x86-64 only")
@given(
    needles=st.lists(
        st.binary(min_size=1, max_size=6).filter(lambda n: b"\0" not in n),
        min_size=1,
        max_size=30,
        unique=True,
    ),  # fmt: skip
    data=st.binary(max_size=400),
)
@settings(max_examples=150, deadline=None)
def test_hyperscan_and_aho_corasick_report_the_same_matches(needles: list[bytes], data: bytes) -> None:
    haystack = data + b"".join(needles) + data[::-1]
    assert Scanner(needles, "hyperscan").find(haystack) == Scanner(needles, "ahocorasick").find(haystack)


@pytest.mark.skipif(not hyperscan_available(), reason="Hyperscan wheel is x86-64 only")
def test_both_engines_give_identical_detections() -> None:
    body = json.dumps({
        "a": IMEI, "b": hashlib.sha256(b"privlab.canary.7f3a@example.org").hexdigest(),
        "c": base64.b64encode(b"x" + b"3f7a9c2e51b04d86").decode(), "lat": 52.370216, "lon": 4.895168,
    }).encode()  # fmt: skip
    rec = flow(
        gzip.compress(body), headers=[("content-encoding", "gzip")], query=f"mac={quote('02:1a:3b:4c:5d:6e')}"
    )
    hs = Detector(CANARIES, engine="hyperscan").flow(rec).detections
    ac = Detector(CANARIES, engine="ahocorasick").flow(rec).detections
    assert hs == ac
    assert len(hs) >= 5


# -- canaries in parts and encodings ----------------------------------------------------------------


def test_parts_and_chains() -> None:
    body = json.dumps(
        {"header": {"udid": IMEI, "mc": "02:1A:3B:4C:5D:6E"}, "h": hashlib.sha1(IMEI.encode()).hexdigest()}
    )
    rec = flow(
        zstd.compress(body.encode()),
        headers=[("Content-Encoding", "zstd"), ("x-user-email", quote("privlab.canary.7f3a@example.org")),
                 ("Cookie", "sid=1; aid=3f7a9c2e51b04d86")],
        query=f"dm={hashlib.md5(b'3f7a9c2e51b04d86').hexdigest()}",
    )  # fmt: skip
    got = found(rec)
    assert ("imei", "body:header.udid", "zstd>json") in got
    assert ("mac", "body:header.mc", "zstd>json>upper") in got
    assert ("imei", "body:h", "zstd>json>sha1") in got
    assert ("mail", "header:x-user-email", "url") in got
    assert ("aid", "cookie:aid", "plain") in got
    assert ("aid", "query:dm", "md5") in got


def test_near_miss_decoys_are_not_reported() -> None:
    decoys = {
        "udid": IMEI[:7] + str((int(IMEI[7]) + 1) % 10) + IMEI[8:],
        "aid": "3f7a9c2e51b04d8",  # truncated
        "longer": IMEI + "7",  # the canary inside a longer number
        "mail": "privlab.canary.7f3a@example.net",
        "tel": "+31612345679",
        "loc": "52.420216,4.945168",
        "clip": "PRIVLAB-CLIP-9f2e71c5 secret note",
        "b64": base64.b64encode(
            b"PRIVLAB-CLIP-9f2e71c5 secret note"
        ).decode(),  # differs in the last byte's low bits
    }
    assert found(flow(json.dumps(decoys).encode())) == set()


def test_base64_fragment_inside_a_binary_run_is_verified() -> None:
    blob = base64.b64encode(b"\x00\x01\xff" + IMEI.encode() + b"\xfe\x00").decode()
    assert ("imei", "body:blob", "json>base64") in found(flow(json.dumps({"blob": blob}).encode()))
    fake = base64.b64encode(b"\x00\x01\xff" + IMEI[:-1].encode() + b"9\xfe\x00").decode()
    assert found(flow(json.dumps({"blob": fake}).encode())) == set()


def test_locations_scaled_rounded_swapped_and_paired() -> None:
    assert ("loc", "query:lat_e6", "e6") in found(flow(query="lat_e6=52370216&lon_e6=4895168"))
    assert ("loc", "query:latitude", "rounded") in found(flow(query="latitude=52.3702&longitude=4.8952"))
    body = json.dumps({"geo": "4.895168,52.370216", "lat_e7": 523702160, "lon_e7": 48951680}).encode()
    got = found(flow(body))
    assert ("loc", "body:geo", "json>swapped") in got
    assert ("loc", "body:lat_e7", "json>e7") in got
    assert found(flow(query="lat=52.370216")) == set()  # a latitude alone is not a location
    assert found(flow(query="lat=52.420216&lon=4.945168")) == set()  # 6.5 km away


def test_websocket_and_plain_body() -> None:
    ws = [
        WebSocketMessage(1.0, True, True, json.dumps({"clip": "PRIVLAB-CLIP-9f2e71c4 secret note"}).encode())
    ]
    assert ("clip", "websocket:clip", "json") in found(flow(websocket=ws))
    assert ("imei", "body", "plain") in found(flow(f"imei {IMEI} end".encode()))


# -- property tests -----------------------------------------------------------------------------------

VALUE_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "": lambda v: v,
    "md5": lambda v: hashlib.md5(v.encode()).hexdigest(),
    "sha1": lambda v: hashlib.sha1(v.encode()).hexdigest(),
    "sha256": lambda v: hashlib.sha256(v.encode()).hexdigest(),
    "sha256>md5": lambda v: hashlib.sha256(hashlib.md5(v.encode()).hexdigest().encode()).hexdigest(),
    "hex": lambda v: v.encode().hex(),
    "base64": lambda v: base64.b64encode(v.encode()).decode(),
    "upper": lambda v: v.upper(),
}
CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "": lambda b: b, "gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress, "zstd": zstd.compress,
}  # fmt: skip


def _join(*steps: str) -> str:
    return ">".join(s for s in steps if s) or "plain"


@given(
    value=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=24).filter(
        lambda v: any(c.isalpha() for c in v)
    ),
    transform=st.sampled_from(sorted(VALUE_TRANSFORMS)),
    container=st.sampled_from(["json", "form", "query", "protobuf", "nested-json", "text"]),
    coding=st.sampled_from(sorted(CODINGS)),
    filler=st.text("abcdefghijklmnopqrstuvwxyz ", max_size=40),
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_encoded_value_is_found_with_its_chain(
    value: str, transform: str, container: str, coding: str, filler: str
) -> None:
    detector = Detector([Canary("c", "other", value)], patterns=False)
    sent = VALUE_TRANSFORMS[transform](value)
    headers: list[tuple[str, str]] = []
    query = ""
    if container == "query":
        query, part, expect = f"x=1&field={quote(sent)}", "query:field", _join(transform)
        if transform == "base64" and not set(sent) & set("+/"):
            expect = "base64url"  # valid in both alphabets: in a URL it is read as the URL-safe one
        body = b""
    else:
        if container == "json":
            raw, part, box = json.dumps({"note": filler, "field": sent}).encode(), "body:field", "json"
        elif container == "nested-json":
            inner = base64.b64encode(json.dumps({"v": sent}).encode()).decode()
            raw, part, box = json.dumps({"field": inner}).encode(), "body:field", "json>base64>json"
        elif container == "form":
            raw, part, box = f"note=1&field={quote(sent)}".encode(), "body:form:field", "form"
            headers.append(("content-type", "application/x-www-form-urlencoded"))
        elif container == "protobuf":
            data = sent.encode()
            raw, part, box = b"\x08\x01\x12" + bytes([len(data)]) + data, "body:protobuf:2", "protobuf"
            headers.append(("content-type", "application/x-protobuf"))
        else:
            # Angle brackets, not square ones: "[3030303030303061]" would be a valid JSON body.
            raw, part, box = f"{filler} <{sent}> {filler}".encode(), "body", ""
        body = CODINGS[coding](raw)
        if coding:
            headers.append(("content-encoding", coding))
        expect = _join(coding, box, transform)
    got = found(flow(body, headers=headers, query=query), detector)
    assert ("c", part, expect) in got, got


@given(body=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode),
                      st.dictionaries(st.text(max_size=8), st.text(max_size=30)).map(lambda d: json.dumps(d).encode())))  # fmt: skip
@settings(max_examples=150, deadline=None)
def test_random_bodies_without_canaries_give_nothing(body: bytes) -> None:
    # Hypothesis also draws literals from this module's source, so a body may *be* a canary value, or
    # one of its forms (`612345678`, the national number of `+31612345678`, was drawn once).
    assume(not any(n.lower() in body.lower() for n in DETECTOR.index.needles))
    assert found(flow(body, query="a=1&b=two")) == set()


# -- patterns ---------------------------------------------------------------------------------------------


def test_patterns_are_reported_apart_with_lower_confidence() -> None:
    body = json.dumps({
        "imei": "490154203237518", "not_imei": "490154203237519", "wifi": "a4:5e:60:d1:22:33",
        "gaid": "38400000-8cf0-11bd-b23e-10b96e40000d", "contact": "someone@mail.example",
        "mobile": "+49 151 23456789", "apps": ["com.whatsapp", "org.telegram.messenger", "com.spotify.music"],
        "latitude": 48.85661,
    }).encode()  # fmt: skip
    pats = {(d.data_type, d.part) for d in Detector([]).flow(flow(body)).detections if d.method == "pattern"}
    assert ("imei", "body:imei") in pats
    assert ("imei", "body:not_imei") not in pats  # Luhn digit wrong
    assert ("mac", "body:wifi") in pats
    assert ("advertising_id", "body:gaid") in pats
    assert ("email", "body:contact") in pats
    assert ("phone", "body:mobile") in pats
    assert ("installed_apps", "body:apps") in pats
    assert ("location", "body:latitude") in pats
    assert all(d.confidence < 0.9 and d.canary_id is None for d in Detector([]).flow(flow(body)).detections)
    assert luhn_ok(b"490154203237518") and not luhn_ok(b"490154203237519")


# -- runtime values and TLS plaintext -------------------------------------------------------------------


def _event(seq: int, category: str, api: str, ret: object, args: list[object] | None = None) -> HookEvent:
    return HookEvent(
        seq=seq, t=100.0 + seq, pid=1, tid=1, category=category, api=api, args=args or [], ret=ret, stack=[]
    )


def test_runtime_values_become_canaries() -> None:
    # Event shapes as the agent sends them (hooks/src/android/*.ts, lib/java.ts toJson).
    clip = {
        "$class": "android.content.ClipData",
        "value": "ClipData { text/plain }",
        "texts": ["copied secret words"],
    }
    resolver = {"$class": "android.content.ContentResolver", "value": "resolver"}
    location = {"$class": "android.location.Location", "value": "Location[gps 48.856600,2.352200 hAcc=5.0]"}
    events = [
        _event(0, "clipboard", "ClipboardManager.getPrimaryClip", clip),
        _event(1, "identifiers", "Settings$Secure.getString", "a1b2c3d4e5f60718", [resolver, "android_id"]),
        _event(2, "location", "LocationManager.getLastKnownLocation", location),
        _event(3, "identifiers", "TelephonyManager.getImei", IMEI),  # planted already
        _event(4, "clipboard", "ClipboardManager.getPrimaryClip", {**clip, "texts": ["ok"]}),  # too short
        _event(5, "identifiers", "NetworkInterface.getHardwareAddress", {"$b64": "AhoqO0xd"}),
        _event(6, "location", "Location.getLatitude", 40.4168),
        _event(7, "location", "Location.getLongitude", -3.7038),
    ]
    canaries = runtime_canaries(events, CANARIES)
    assert {(c.kind, c.value) for c in canaries} == {
        ("clipboard", "copied secret words"),
        ("android_id", "a1b2c3d4e5f60718"),
        ("location", "48.856600,2.352200"),
        ("mac", "02:1a:2a:3b:4c:5d"),
        ("location", "40.4168,-3.7038"),
    }
    assert all(c.source == "runtime-value" for c in canaries)
    detector = Detector(CANARIES + canaries)
    result = detector.flow(flow(json.dumps({"c": "copied secret words", "a": IMEI}).encode()))
    methods = {(d.data_type, d.method) for d in result.detections}
    assert ("clipboard", "runtime-value") in methods and ("imei", "canary") in methods


def test_tls_plaintext_is_scanned_like_a_body() -> None:
    body = gzip.compress(json.dumps({"udid": IMEI}).encode())
    head = b"POST /x?aid=3f7a9c2e51b04d86 HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\n\r\n"
    payload = head + body
    ssl = {"ssl": "0x7f00", "lib": "libssl.so"}
    events = [
        _event(
            7, "tls-plaintext", "SSL_write", len(payload), [ssl, {"$b64": base64.b64encode(payload).decode()}]
        ),
        _event(
            8, "tls-plaintext", "SSL_read", {"$b64": base64.b64encode(payload).decode()}, [ssl]
        ),  # incoming
    ]
    records = tls_plaintext(events)
    assert [(r.seq, r.data) for r in records] == [(7, payload)]
    result = DETECTOR.plaintext(records[0])
    found = {(d.flow_id, d.canary_id, d.part, d.encoding) for d in result.detections if d.method == "canary"}
    assert found == {("hook:7", "imei", "body:udid", "gzip>json"), ("hook:7", "aid", "query:aid", "plain")}
    h2 = DETECTOR.plaintext(tls_plaintext([_event(9, "tls-plaintext", "SSL_write", 9, [ssl, {"$b64": base64.b64encode(
        b"\x00\x00\x10\x00\x01" + IMEI.encode()).decode()}])])[0])  # fmt: skip
    assert [(d.part, d.canary_id) for d in h2.detections if d.method == "canary"] == [("body", "imei")]


def test_detection_ids_are_stable() -> None:
    rec = flow(json.dumps({"a": IMEI}).encode())
    assert [d.detection_id for d in DETECTOR.flow(rec).detections] == [
        d.detection_id for d in Detector(CANARIES).flow(rec).detections
    ]
    random.seed(1)


def test_tls_plaintext_with_non_utf8_bytes_in_its_query_is_searched_not_raised() -> None:
    # A hook's plaintext request whose target holds bytes that are not UTF-8, to a ByteDance host with a
    # signature header: reading its `aid` raised UnicodeEncodeError, which stopped `privlab analyze`.
    from analysis.detect.runtime import PlaintextRecord

    canary = Canary("mail", "email", "privlab.canary@example.org")
    data = (
        b"GET /x?aid=1233&q=\xff\xfe&m=privlab.canary%40example.org HTTP/1.1\r\n"
        b"Host: api16-normal-c-useast1a.tiktokv.com\r\nX-Ladon: abc\r\n\r\n"
    )
    result = Detector([canary]).plaintext(PlaintextRecord(1, 1.0, "SSL_write", data))
    assert [(d.canary_id, d.part) for d in result.detections] == [("mail", "query:m")]

"""Sniff, don't trust, the content type (issue 14), and multipart boundaries as sent (issue 18 item 3)."""

from __future__ import annotations

import gzip
import json
import zlib

import brotli
from test_decode import find
from test_decode import request
from test_detect_oracle import AAID
from test_detect_oracle import EMAIL
from test_detect_oracle import firebase_batch
from test_detect_oracle import flow

from analysis.decode.firebase import is_measurement_upload
from analysis.decode.firebase import name_path
from analysis.decode.views import DECODERS
from analysis.decode.views import request_views
from analysis.detect.detector import Detector
from analysis.schema import Canary

IMEI = "354918090031241"


def test_multipart_boundary_with_capital_letters_gzip_section() -> None:
    boundary = "----WebKitFormBoundaryQ3xZ7aBcDeFgH1jK"
    section = gzip.compress(json.dumps({"imei": IMEI}).encode())
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="payload"\r\n'
            "Content-Type: application/json\r\nContent-Encoding: gzip\r\n\r\n"
        ).encode()
        + section
        + f"\r\n--{boundary}--\r\n".encode()
    )
    rec = request(body, headers=[("Content-Type", f"multipart/form-data; boundary={boundary}")])
    views, issues = request_views(rec)
    assert ("body:multipart:payload", "multipart>gzip>json") in find(views, IMEI.encode())
    assert issues == []


def test_firebase_bundle_labelled_as_a_form_gets_proto_names() -> None:
    rec = flow(
        gzip.compress(firebase_batch()),
        [("content-type", "application/x-www-form-urlencoded"), ("content-encoding", "gzip")],
        host="app-measurement.com",
        path="/a",
    )
    detector = Detector(
        [Canary("email", "email", EMAIL), Canary("adid", "advertising_id", AAID)], patterns=False
    )
    got = {(d.canary_id, d.part, d.encoding) for d in detector.flow(rec).detections}
    assert ("email", "body:protobuf:bundle.event.param.string_value", "gzip>protobuf") in got
    assert ("adid", "body:protobuf:bundle.resettable_device_id", "gzip>protobuf") in got
    views, _ = request_views(rec)
    assert ("body:protobuf:bundle.app_instance_id", "gzip>protobuf") in find(
        views, b"0f3b6a1c2d4e5f60718293a4b5c6d7e8"
    )
    assert ("body:protobuf:bundle.device_model", "gzip>protobuf") in find(views, b"Pixel 7")
    # Elsewhere the same bytes keep their field numbers: the names come from the upload's own schema.
    views, _ = request_views(flow(firebase_batch(), [("content-type", "application/x-www-form-urlencoded")]))
    assert ("body:protobuf:1.2.1.2", "protobuf") in find(views, EMAIL.encode())


def test_firebase_names_and_hosts() -> None:
    assert name_path("1.27") == "bundle.resettable_device_id"
    assert name_path("1.3.3") == "bundle.user_property.string_value"
    assert name_path("1.99.4") == "bundle.99.4"  # unknown numbers stay numbers, and below them too
    assert is_measurement_upload("region1.app-measurement.com", "/a")
    assert is_measurement_upload("app-analytics-services.com", "/a")
    assert not is_measurement_upload("app-measurement.com", "/config/app/1:123:android:abc")
    assert not is_measurement_upload("evil-app-measurement.com", "/a")


def test_form_names_are_decoded() -> None:
    body = b"no_key_found+(protobuf)=356918090031241&user%5Bmail%5D=x"
    views, _ = request_views(request(body, headers=[("content-type", "application/x-www-form-urlencoded")]))
    parts = {v.part for v in views}
    assert "body:form:no_key_found (protobuf)" in parts
    assert "body:form:user[mail]" in parts
    assert not any("+" in p for p in parts)


def test_bodies_are_sniffed_whatever_their_type() -> None:
    payload = json.dumps({"imei": IMEI}).encode()
    cases = {
        "zlib, no header": (zlib.compress(payload), "text/plain", "deflate>json"),
        "brotli, no header": (brotli.compress(payload), "application/octet-stream", "br>json"),
        "JSON labelled text": (payload, "text/plain", "json"),
        "JSON labelled form": (payload, "application/x-www-form-urlencoded", "json"),
    }
    for name, (body, ct, chain) in cases.items():
        views, _ = request_views(request(body, headers=[("content-type", ct)]))
        assert ("body:imei", chain) in find(views, IMEI.encode()), name


def test_a_view_no_decoder_accepts_is_still_searched() -> None:
    body = b"\x00\x01binary junk " + IMEI.encode() + b" \xff\xfe"
    views, _ = request_views(request(body, headers=[("content-type", "application/x-protobuf")]))
    assert ("body", "plain") in find(views, IMEI.encode())


def test_decoders_are_one_registry() -> None:
    names = [d.name for d in DECODERS]
    assert {"multipart", "json", "form", "protobuf"} <= set(names)
    assert len(names) == len(set(names))


def test_a_long_almost_form_body_is_not_exponential() -> None:
    """A 120 KB body of `name=value&` fields that fails at its end (as the Bugsnag payload of a real
    capture did) once made the one-pattern form check backtrack exponentially; it is checked field by field.
    Under the old pattern this test hangs until pytest-timeout fails it."""
    from analysis.decode.views import _looks_like_form

    body = b"ab=1&cd&" * 15_000 + b"x y"
    assert not _looks_like_form(body)
    assert _looks_like_form(b"ab=1&cd&" * 15_000 + b"xy=2")

"""Decoding request parts into views: content-encodings, containers, nested encodings, limits."""

from __future__ import annotations

import base64
import gzip
import json
import struct
import tracemalloc
import zlib

import brotli
import pytest
from backports import zstd

from analysis.decode.content_encoding import decompress
from analysis.decode.content_encoding import parse_content_encoding
from analysis.decode.limits import DecodeFailure
from analysis.decode.limits import DecodeLimits
from analysis.decode.protobuf import parse_message
from analysis.decode.views import View
from analysis.decode.views import message_views
from analysis.decode.views import request_views
from analysis.schema import FlowRecord
from analysis.schema import WebSocketMessage


def request(
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    query: str = "",
    path: str = "/api",
    websocket: list[WebSocketMessage] | None = None,
) -> FlowRecord:
    """A request as the capture spine records it (built directly, the way record_from_flow fills it)."""
    return FlowRecord(
        flow_id="f-1", t_request=1_700_000_000.0, t_response=None, client="10.0.2.16:40000",
        server_ip="192.0.2.1", server_port=443, sni="h.example", host="h.example", scheme="https",
        http_version="HTTP/1.1", method="POST", url=f"https://h.example{path}?{query}", path=path,
        query=query, status=200, request_headers=headers or [], response_headers=[],
        request_body_size=len(body), response_body_size=0, request_content_type=None,
        response_content_type=None, request_body=body, websocket=websocket or [],
    )  # fmt: skip


def find(views: list[View], needle: bytes) -> list[tuple[str, str]]:
    return [(v.part, v.encoding) for v in views if needle in v.data]


def zero_bomb(gib: int = 1) -> bytes:
    """A valid gzip stream of `gib` GiB of zeros (~1 MB), built from one repeated deflate block."""
    chunk = b"\0" * (1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    n = 1024 * gib
    crc = 0
    for _ in range(n):
        crc = zlib.crc32(chunk, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + first + again * (n - 1) + c.flush() + struct.pack("<II", crc, (n << 20) & 0xFFFFFFFF)


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send it
        ("br", brotli.compress),
        ("zstd", zstd.compress),
    ],
)
def test_content_encodings_round_trip(coding: str, encode: object) -> None:
    data = b'{"k": "value"}' * 100
    assert decompress(encode(data), coding, DecodeLimits()) == data  # type: ignore[operator]


def test_content_encoding_header_order() -> None:
    # "gzip, br": gzip applied first; x-gzip is gzip; identity is no coding.
    assert parse_content_encoding("x-gzip, identity, BR") == ["gzip", "br"]


def test_gzip_bomb_is_reported_with_bounded_memory() -> None:
    bomb = zero_bomb(1)
    assert len(bomb) < 2_000_000
    limits = DecodeLimits()
    tracemalloc.start()
    try:
        with pytest.raises(DecodeFailure) as err:
            decompress(bomb, "gzip", limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.value.issue == "bomb"
    assert peak < 3 * limits.max_output  # the 1 GiB never exists in memory


def test_bomb_in_a_request_is_skipped_and_the_rest_still_decoded() -> None:
    rec = request(
        zero_bomb(1),
        headers=[("Content-Encoding", "gzip"), ("X-Device", "dev-123456789")],
        query="uid=abcdefgh42",
    )
    views, issues = request_views(rec)
    assert [(i.part, i.issue) for i in issues] == [("body", "bomb")]
    assert ("header:x-device", "plain") in find(views, b"dev-123456789")
    assert ("query:uid", "plain") in find(views, b"abcdefgh42")


def test_corrupt_gzip_body_is_reported_and_searched_as_sent() -> None:
    rec = request(b'{"imei": "356938035643809"} not gzip', headers=[("Content-Encoding", "gzip")])
    views, issues = request_views(rec)
    assert issues[0].issue == "corrupt" and issues[0].encoding == "gzip"
    assert find(views, b"356938035643809")  # still searched in the bytes as they are


def test_json_values_keys_and_paths() -> None:
    body = json.dumps(
        {"header": {"sim": [{"iccid": "8931081234567890123"}], "user@example.org": 1}, "n": 52.5}
    )
    views, _ = request_views(request(body.encode(), headers=[("content-type", "application/json")]))
    assert ("body:header.sim[0].iccid", "json") in find(views, b"8931081234567890123")
    assert ('body:header["user@example.org"]', "json") in find(views, b"user@example.org")
    assert ("body:n", "json") in find(views, b"52.5")


def test_nested_base64_gzip_json_keeps_the_outer_part() -> None:
    inner = base64.b64encode(gzip.compress(json.dumps({"clip": "secret clipboard"}).encode())).decode()
    outer = gzip.compress(json.dumps({"blob": inner}).encode())
    views, _ = request_views(request(outer, headers=[("Content-Encoding", "gzip")]))
    assert ("body:blob", "gzip>json>base64>gzip>json") in find(views, b"secret clipboard")


def test_form_multipart_query_cookie_and_websocket() -> None:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n'
        '{"serial": "EMU7X9K2Q4"}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="log"; filename="log.txt"\r\n\r\n'
        "text=clipboard words\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    rec = request(
        body,
        headers=[
            ("Content-Type", f"multipart/form-data; boundary={boundary}"),
            ("Cookie", "a=1; iid=73123456789"),
        ],
        query="mobile=%2B31612345678&x=y",
        websocket=[
            WebSocketMessage(1.0, True, True, b'{"device_id": "ws-device-77"}'),
            WebSocketMessage(1.1, False, True, b'{"server": "ws-server-side"}'),
        ],
    )
    views, _ = request_views(rec)
    assert ("body:multipart:meta", "multipart>json") in find(views, b"EMU7X9K2Q4")
    assert ("body:multipart:log", "multipart>form") in find(views, b"clipboard words") or (
        "body:multipart:log",
        "multipart",
    ) in find(views, b"clipboard words")
    assert ("query:mobile", "plain") in find(views, b"+31612345678")
    assert ("cookie:iid", "plain") in find(views, b"73123456789")
    assert ("websocket:device_id", "json") in find(views, b"ws-device-77")
    assert not find(views, b"ws-server-side")  # only what the client sent


def test_form_body_by_content_type() -> None:
    views, _ = request_views(
        request(
            b"mobile=%2B31612345678&email=a%40b.example",
            headers=[("content-type", "application/x-www-form-urlencoded")],
        )
    )
    assert ("body:form:email", "form") in find(views, b"a@b.example")


def _pb_key(field: int, wire: int) -> bytes:
    return bytes([field << 3 | wire])


def test_protobuf_without_schema() -> None:
    inner = _pb_key(1, 2) + bytes([15]) + b"356938035643809" + _pb_key(3, 0) + b"\x96\x01"
    msg = _pb_key(1, 2) + bytes([16]) + b"3f7a9c2e51b04d86" + _pb_key(2, 2) + bytes([len(inner)]) + inner
    msg += _pb_key(5, 1) + struct.pack("<d", 52.370216)
    leaves = parse_message(msg)
    assert leaves is not None
    by_path = {leaf.path: leaf.data for leaf in leaves}
    assert by_path["1"] == b"3f7a9c2e51b04d86"
    assert by_path["2.1"] == b"356938035643809"
    assert by_path["2.3"].split()[0] == b"150"
    assert by_path["5"].startswith(b"52.370216")
    views, _ = request_views(request(msg, headers=[("content-type", "application/x-protobuf")]))
    assert ("body:protobuf:2.1", "protobuf") in find(views, b"356938035643809")


def test_random_binary_is_not_a_protobuf_message() -> None:
    assert parse_message(b"\xff\xff\xff\xff\xff") is None
    assert parse_message(b"\x0a\x10short") is None  # length beyond the end


def test_base64_and_hex_runs_inside_text() -> None:
    run = base64.b64encode(b'{"imsi": "204081234567890"}').decode()
    hexed = b"hello hex world".hex()
    views, _ = message_views(f"prefix {run} middle {hexed} end".encode())
    assert ("body", "base64>json") in find(views, b"204081234567890")
    assert ("body", "hex") in find(views, b"hello hex world")


def test_depth_limit_stops_recursion() -> None:
    data = b"the value deep inside"
    for _ in range(12):
        data = base64.b64encode(data)
    views, issues = message_views(data, limits=DecodeLimits(max_depth=3))
    assert not find(views, b"the value deep inside")
    views, _ = message_views(data, limits=DecodeLimits(max_depth=40))
    assert find(views, b"the value deep inside")


def test_view_budget_is_reported() -> None:
    body = json.dumps({f"key{i}": f"value{i}" for i in range(100)}).encode()
    views, issues = message_views(body, limits=DecodeLimits(max_views=10))
    assert len(views) == 10
    assert [i.issue for i in issues] == ["too-many-views"]

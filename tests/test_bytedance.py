"""ByteDance signature headers and mix_mode: decoded against tiktok-signer 1.4.0, found by the real Detector."""

from __future__ import annotations

import ctypes
import json
import random
from pathlib import Path
from urllib.parse import urlencode

import pytest
from tiktok_signer.lib.argus import Argus
from tiktok_signer.lib.gorgon import Gorgon
from tiktok_signer.lib.ladon import Ladon

from analysis.decode import bytedance
from analysis.decode.protobuf import parse_message
from analysis.detect.detector import Detector
from analysis.schema import Canary
from analysis.schema import FlowRecord
from analysis.validation import bytedance_client
from analysis.validation.planted import CANARIES
from analysis.validation.planted import value

VECTORS = json.loads((Path(__file__).parent / "data" / "tiktok" / "signer_vectors.json").read_text())
DEVICE_ID = "7301234567890123456"


def flow(
    headers: list[tuple[str, str]], query: str = "", body: bytes = b"", path: str = "/aweme/v1/feed/"
) -> FlowRecord:
    return FlowRecord(
        "f1", 1700000000.0, None, "", None, None, None, "api16-normal-c-useast1a.tiktokv.com", "https", "HTTP/2.0",
        "POST" if body else "GET", f"https://api16-normal-c-useast1a.tiktokv.com{path}?{query}", path, query, 200,
        headers, [], len(body), 0, None, None, request_body=body,
    )  # fmt: skip


def _rotate_right(value: ctypes.c_ulonglong, count: int) -> int:
    """A real 64-bit rotation, in place of tiktok-signer 1.4.0's `shifted or low` (see bytedance.py)."""
    return ((value.value >> count) | (value.value << (64 - count))) & (2**64 - 1)


def test_argus_vector_from_tiktok_signer_decrypts_to_its_protobuf() -> None:
    v = VECTORS["argus"][0]
    pb = bytedance.argus_decrypt(v["x_argus"])
    assert pb is not None
    leaves = {leaf.path: leaf.data for leaf in parse_message(pb, 4)}
    assert leaves["5"] == leaves["16"] == v["device_id"].encode()
    assert leaves["4"] == b"1233" and leaves["11"] == b"android"
    assert leaves["23.1"] == b"Pixel 7" and leaves["23.2"] == b"13"
    assert int(leaves["12"].split()[0]) == v["unix"] << 1
    assert bytedance.argus_encrypt(pb) == v["x_argus"]  # privlab's envelope is byte-identical


def test_argus_live_both_ways() -> None:
    random.seed(3)
    theirs = Argus.encrypt(f"device_id={DEVICE_ID}&aid=1233", data=b"x=1", unix=1700000123)["x-argus"]
    pb = bytedance.argus_decrypt(theirs)
    assert pb is not None and DEVICE_ID.encode() in pb
    assert bytedance.argus_encrypt(pb) == theirs
    ours = bytedance_client.signed_headers("aid=1233", b"", DEVICE_ID, 1700000123)["x-argus"]
    assert bytedance.argus_decrypt(ours) is not None


def test_ladon_both_ways_with_tiktok_signer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Ladon, "_ror", staticmethod(_rotate_right))
    theirs = Ladon.encrypt(aid=1233, lc_id=2142840551, unix=1700000000)["x-ladon"]
    assert bytedance.ladon_decrypt(theirs) == "1700000000-2142840551-1233"
    ours = bytedance.ladon_encrypt(1700000000, 2142840551, 1233, b"\x09\x08\x07\x06")
    monkeypatch.setattr("tiktok_signer.lib.ladon.urandom", lambda n: b"\x09\x08\x07\x06")
    assert Ladon.encrypt(aid=1233, lc_id=2142840551, unix=1700000000)["x-ladon"] == ours
    # an app id only the query names is used as the key
    odd = bytedance.ladon_encrypt(1700000000, 1, 4242, b"abcd")
    assert bytedance.ladon_decrypt(odd) is None
    assert bytedance.ladon_decrypt(odd, ["4242"]) == "1700000000-1-4242"


def test_khronos_and_gorgon_version() -> None:
    g = VECTORS["gorgon"][0]
    live = Gorgon.encrypt("aid=1233", unix=1700000000)
    assert bytedance.gorgon_version(g["x-gorgon"]) == bytedance.gorgon_version(live["x-gorgon"]) == "8404"
    assert bytedance.khronos_time(g["x-khronos"]) == 1700000000
    assert bytedance.khronos_time("17000000000000") is None
    assert bytedance.gorgon_version("8404zz") is None


def test_every_signature_header_is_classified_and_undecodable_ones_say_so() -> None:
    hdrs = bytedance_client.signed_headers("aid=1233", b"{}", DEVICE_ID, 1700000000)
    hdrs |= {"x-helios": "aGVsaW9zLW9wYXF1ZQ==", "x-medusa": "bWVkdXNh" * 10}
    got = {h.name: h for h in bytedance.signature_headers(list(hdrs.items()), "aid=1233")}
    assert set(got) == set(bytedance.SIGNATURE_HEADERS)
    assert got["x-khronos"].decoded and got["x-khronos"].detail == "time 1700000000"
    assert got["x-gorgon"].detail == "version 8404"
    assert got["x-ladon"].detail == "ts-lc_id-aid 1700000000-2142840551-1233"
    assert got["x-argus"].decoded
    assert not got["x-helios"].decoded and "no public algorithm" in got["x-helios"].detail
    assert not got["x-medusa"].decoded
    bad = bytedance.signature_headers([("X-Argus", "8oE" + "A" * 60), ("X-Ladon", "!!!")], "")
    assert [(h.name, h.decoded) for h in bad] == [("x-argus", False), ("x-ladon", False)]


def test_device_id_only_inside_x_argus_is_found() -> None:
    detector = Detector([Canary("did", "vendor_id", DEVICE_ID)])
    hdrs = bytedance_client.signed_headers("aid=1233&os=android", b"", DEVICE_ID, 1700000000)
    res = detector.flow(flow(list(hdrs.items()), "aid=1233&os=android"))
    found = {(d.canary_id, d.part, d.encoding) for d in res.detections}
    assert ("did", "header:x-argus:protobuf:5", "argus>protobuf") in found
    assert ("did", "header:x-argus:protobuf:16", "argus>protobuf") in found
    # without the decryption the id is not there at all
    assert DEVICE_ID not in hdrs["x-argus"]


def test_mix_mode_fields_are_decoded_as_views() -> None:
    assert bytedance.mix_mode_encode("ab") == "6467"
    detector = Detector(list(CANARIES))
    form = urlencode(
        {"mix_mode": "1", "email": bytedance.mix_mode_encode(value("email")),
         "mobile": bytedance.mix_mode_encode(value("phone")), "password": bytedance.mix_mode_encode("hunter2")}
    ).encode()  # fmt: skip
    res = detector.flow(
        flow([("content-type", "application/x-www-form-urlencoded")], "", form, "/passport/user/login/")
    )
    found = {(d.canary_id, d.part, d.encoding) for d in res.detections if d.canary_id}
    assert ("email", "body:form:email", "form>mixmode") in found
    assert ("phone", "body:form:mobile", "form>mixmode") in found
    q = f"mix_mode=1&account={bytedance.mix_mode_encode(value('email'))}"
    found_q = {
        (d.canary_id, d.part, d.encoding) for d in detector.flow(flow([], q)).detections if d.canary_id
    }
    assert ("email", "query:account", "mixmode") in found_q
    # without mix_mode=1 the same hex is not read as XOR-5
    plain = form.replace(b"mix_mode=1", b"mix_mode=0")
    res0 = detector.flow(flow([("content-type", "application/x-www-form-urlencoded")], "", plain))
    assert not any(d.encoding.endswith("mixmode") for d in res0.detections)

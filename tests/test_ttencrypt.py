"""ttEncrypt both ways, against a second implementation (tiktok-signer 1.4.0), and through the real Detector."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from tiktok_signer.lib.ttencrypt import TTEncrypt

from analysis.decode import ttencrypt
from analysis.decode.views import request_views
from analysis.detect.detector import Detector
from analysis.schema import ENCODING_STEPS
from analysis.schema import FlowRecord
from analysis.validation import bytedance_client
from analysis.validation.planted import CANARIES
from analysis.validation.planted import DECOYS
from analysis.validation.planted import value

VECTORS = json.loads((Path(__file__).parent / "data" / "tiktok" / "signer_vectors.json").read_text())


def flow(body: bytes, path: str, query: str = "tt_data=a&aid=1233", fid: str = "f1") -> FlowRecord:
    """A request record as the capture spine builds it (no proxy needed for decoding)."""
    return FlowRecord(
        fid, 1700000000.0, None, "", None, None, None, "log-va.tiktokv.com", "https", "HTTP/1.1", "POST",
        f"https://log-va.tiktokv.com{path}?{query}", path, query, 200,
        [("content-type", bytedance_client.TT_CONTENT_TYPE)], [], len(body), 0, None, None, request_body=body,
    )  # fmt: skip


def test_published_vectors_decrypt_and_reencrypt_byte_for_byte() -> None:
    assert VECTORS["ttencrypt"], "vector file is empty"
    for v in VECTORS["ttencrypt"]:
        body = bytes.fromhex(v["body_hex"])
        env = ttencrypt.decrypt(body)
        assert gzip.decompress(env.payload).decode() == v["plaintext"]
        if _signer_digest_is_sha512(len(env.payload)):
            assert env.hash_ok
            assert ttencrypt.encrypt(v["plaintext"].encode(), bytes.fromhex(v["seed"])) == body
        else:  # tiktok-signer's digest differs from SHA-512 here: same key, same payload, other digest
            assert not env.hash_ok
            ours = ttencrypt.decrypt(ttencrypt.encrypt(v["plaintext"].encode(), bytes.fromhex(v["seed"])))
            assert ours.hash_ok and ours.payload == env.payload
    assert {_signer_digest_is_sha512(len(ttencrypt.decrypt(bytes.fromhex(v["body_hex"])).payload))
            for v in VECTORS["ttencrypt"]} == {True, False}  # fmt: skip


def _signer_digest_is_sha512(n: int) -> bool:
    """tiktok-signer 1.4.0 pads its emulated SHA-512 wrongly when n % 128 is 111..127."""
    return not 111 <= n % 128 <= 127


@pytest.mark.parametrize("size", [0, 1, 15, 16, 63, 64, 1000, 3000])
def test_both_directions_against_tiktok_signer(size: int) -> None:
    rng = random.Random(size)
    text = json.dumps({"header": {"blob": "".join(rng.choice("abcdef0123") for _ in range(size))}}).encode()
    # privlab -> tiktok-signer
    ours = ttencrypt.encrypt(text)
    assert ours.startswith(bytes.fromhex("746305100000"))
    assert TTEncrypt().decrypt(ours).encode() == text
    # tiktok-signer -> privlab (its seed is random each call)
    theirs = TTEncrypt().encrypt(gzip.compress(text))
    env = ttencrypt.decrypt(theirs)
    assert env.hash_ok and gzip.decompress(env.payload) == text
    if _signer_digest_is_sha512(len(env.payload)):
        assert ttencrypt.encrypt_payload(gzip.compress(text), theirs[6:38]) == theirs


def test_announced_by_query_or_content_type() -> None:
    assert ttencrypt.announced("aid=1233&tt_data=a", None)
    assert ttencrypt.announced(None, "application/octet-stream;tt-data=a")
    assert not ttencrypt.announced("tt_data=ab", "application/json")
    assert "ttencrypt" in ENCODING_STEPS


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda b: b[:-1], "not a positive multiple of 16"),
        (lambda b: b[:20], "truncated in its seed"),
        (lambda b: b[:38], "not a positive multiple of 16"),
        (lambda b: b[:6] + bytes([b[6] ^ 1]) + b[7:], "padding is invalid"),  # wrong seed -> wrong key
        (lambda b: b[:-17] + bytes([b[-17] ^ 0x80]) + b[-16:], "padding is invalid"),
    ],
)
def test_damaged_body_is_a_decode_issue_not_a_crash(damage, reason: str) -> None:  # type: ignore[no-untyped-def]
    body = damage(ttencrypt.encrypt(b'{"header":{"udid":"354918090031248"}}', bytes(32)))
    views, issues = request_views(flow(body, "/service/2/app_log/"))
    assert [(i.part, i.encoding, i.issue) for i in issues] == [("body", "ttencrypt", "corrupt")]
    assert reason in issues[0].detail
    assert any(v.part == "body" for v in views)  # the raw bytes are still searched


def test_hash_mismatch_is_flagged_but_payload_still_searched() -> None:
    body = bytearray(ttencrypt.encrypt(b'{"header":{"udid":"354918090031248"}}', bytes(32)))
    body[38 + 16] ^= 0x01  # damages block 1 (the digest) and one byte of block 2 only
    with pytest.raises(ttencrypt.TTEncryptError):
        ttencrypt.decrypt(bytes(body[:-1]))
    env = ttencrypt.decrypt(bytes(body))
    assert not env.hash_ok


# -- through the real Detector -----------------------------------------------------------------------


def _session() -> tuple[list[FlowRecord], dict[str, tuple[str, str]]]:
    v = value
    lat, lon = (float(x) for x in v("location").split(","))
    register = bytedance_client.register_body(
        {
            "openudid": v("openudid"),
            "udid": v("imei"),
            "google_aid": v("adid"),
            "serial_number": v("serial"),
            "mc": v("mac"),
            "android_id": v("android_id"),
            "sim_serial_number": v("iccid"),
        }
    )
    app_log = bytedance_client.app_log_body(
        {"install_id": v("install_id")},
        [
            {"event": "clipboard_read", "params": {"text": v("clipboard")}},
            {"event": "location_report", "params": {"latitude": lat, "longitude": lon}},
        ],
        session_id="5e1f0a7c-0000-4000-8000-000000000001",
    )
    want = {
        "openudid": ("f1", "body:header.openudid"),
        "imei": ("f1", "body:header.udid"),
        "adid": ("f1", "body:header.google_aid"),
        "serial": ("f1", "body:header.serial_number"),
        "mac": ("f1", "body:header.mc"),
        "android_id": ("f1", "body:header.android_id"),
        "iccid": ("f1", "body:header.sim_serial_number"),
        "install_id": ("f2", "body:header.install_id"),
        "clipboard": ("f2", "body:event_v3[0].params.text"),
        "location": ("f2", "body:event_v3[1].params.latitude"),
    }
    flows = [
        flow(register, "/service/2/device_register/", fid="f1"),
        flow(app_log, "/service/2/app_log/", fid="f2"),
    ]
    return flows, want


def test_planted_values_in_ttencrypted_register_and_app_log_are_all_found() -> None:
    detector = Detector(list(CANARIES))
    flows, want = _session()
    got: dict[str, set[tuple[str, str, str]]] = {}
    for rec in flows:
        res = detector.flow(rec)
        assert res.issues == []
        for d in res.detections:
            if d.canary_id:
                got.setdefault(d.canary_id, set()).add((d.flow_id, d.part, d.encoding))
    for cid, (fid, part) in want.items():
        assert any(
            f == fid and p == part and e.startswith("ttencrypt>gzip>json") for f, p, e in got.get(cid, ())
        ), (
            cid,
            got.get(cid),
        )


def test_near_miss_decoys_in_a_ttencrypted_body_give_no_canary_hit() -> None:
    detector = Detector(list(CANARIES))
    d = {x.near: x.value for x in DECOYS}
    body = bytedance_client.register_body(
        {"udid": d["imei"], "android_id": d["android_id"], "google_aid": d["adid"], "serial_number": d["serial"],
         "install_id": d["install_id"], "loc": d["location"], "clip": d["clipboard"], "mail": d["email"]}
    )  # fmt: skip
    res = detector.flow(flow(body, "/service/2/device_register/"))
    assert res.issues == []
    assert [d for d in res.detections if d.canary_id] == []
    # and the body really was decrypted: the decoy text is in a view
    views, _ = request_views(flow(body, "/service/2/device_register/"))
    assert any(v.part == "body:header.udid" and v.encoding == "ttencrypt>gzip>json" for v in views)

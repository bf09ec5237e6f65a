"""What a TikTok client adds on top of HTTPS, rebuilt for the control app and the tests.

Device registration and the analytics log go out as ttEncrypt'd gzip JSON (`tt_data=a`,
`application/octet-stream;tt-data=a`); API calls carry X-Khronos, X-Gorgon, X-Ladon and X-Argus (whose
protobuf holds the device id); login forms send `mix_mode=1` values. The body layouts follow the public
descriptions (field names from the 2021 jadx dump toventang/tiktok-smali and NamasteAbhi/Tiktok_Device_Register,
see shared field notes section 10); the encryption is privlab's own (analysis.decode.ttencrypt, .bytedance).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from analysis.decode import bytedance
from analysis.decode import ttencrypt

AID = 1233
LC_ID = 2142840551  # license id the public signer implementations use for TikTok
SDK_VERSION = "v05.01.02-alpha.7-ov-android"
TT_CONTENT_TYPE = "application/octet-stream;tt-data=a"


def _js(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def register_body(values: dict[str, str], seed: bytes | None = None) -> bytes:
    """A ttEncrypt'd device_register body carrying the given header fields (openudid, udid, ...)."""
    header: dict[str, Any] = {"aid": AID, "app_name": "musical_ly", "os": "Android", "os_version": "13"}
    header.update(values)
    return ttencrypt.encrypt(
        _js({"magic_tag": "ss_app_log", "header": header, "_gen_time": 1700000000}), seed
    )


def app_log_body(
    header: dict[str, str], events: list[dict[str, Any]], session_id: str, seed: bytes | None = None
) -> bytes:
    """A ttEncrypt'd app_log body: `header`, a `launch` entry and `event_v3` events."""
    doc = {
        "magic_tag": "ss_app_log",
        "header": {"aid": AID, **header},
        "launch": [{"datetime": "2023-11-14 22:13:20", "session_id": session_id, "is_background": False}],
        "event_v3": [
            {"session_id": session_id, "local_time_ms": 1700000000000 + 1000 * i, **e}
            for i, e in enumerate(events)
        ],
    }
    return ttencrypt.encrypt(_js(doc), seed)


def signed_headers(
    query: str, body: bytes, device_id: str, ts: int, rand: bytes = b"\x01\x02\x03\x04"
) -> dict[str, str]:
    """X-SS-Stub, X-Khronos, X-Gorgon, X-Ladon and X-Argus as a TikTok client sends them.

    X-Gorgon here is only well formed (version 8404 and 48 hex digits of a digest): privlab reads its
    version, never its digest. X-Argus holds `device_id` in protobuf fields 5 and 16, like the client.
    """
    stub = hashlib.md5(body).hexdigest().upper() if body else ""
    digest = (
        hashlib.md5(f"{query}|{stub}|{ts}".encode()).hexdigest() + hashlib.md5(query.encode()).hexdigest()
    )
    argus_pb = bytedance.protobuf_encode(
        {
            1: 0x20200929 << 1,
            2: 2,
            4: str(AID),
            5: device_id,
            6: str(LC_ID),
            7: SDK_VERSION,
            11: "android",
            12: ts << 1,
            13: hashlib.sha256(bytes.fromhex(stub) if stub else bytes(16)).digest()[:6],
            14: hashlib.sha256(query.encode()).digest()[:6],
            16: device_id,
        }
    )
    out = {
        "x-khronos": str(ts),
        "x-gorgon": "8404" + "b4d9e040" + digest[:40],
        "x-ladon": bytedance.ladon_encrypt(ts, LC_ID, AID, rand),
        "x-argus": bytedance.argus_encrypt(argus_pb),
    }
    if stub:
        out["x-ss-stub"] = stub
    return out

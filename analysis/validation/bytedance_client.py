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
from collections.abc import Callable
from typing import Any
from typing import Protocol
from urllib.parse import urlencode

from analysis.decode import bytedance
from analysis.decode import ttencrypt
from analysis.validation.planted import Decoy

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


# -- control-app probes ------------------------------------------------------------------------------

REGISTER_FIELDS = {  # header field -> canary id, as the public register payloads name them
    "openudid": "openudid",
    "udid": "imei",
    "google_aid": "adid",
    "serial_number": "serial",
    "mc": "mac",
    "android_id": "android_id",
    "sim_serial_number": "iccid",
    "install_id": "install_id",
}
ENCRYPTED = "ttencrypt>gzip>json"


class ProbeBuilder(Protocol):
    """What the probes need of the control app's Builder (no import of it: control_app imports us)."""

    v: dict[str, str]
    decoys: dict[str, Decoy]

    def probe(self, method: str, url: str, **kw: Any) -> Any: ...
    def plant(self, p: Any, cid: str, part: str, enc: str, note: str = "") -> None: ...
    def decoy(self, p: Any, near: str, part: str, enc: str) -> None: ...


def bytedance_steps(b: ProbeBuilder) -> list[Callable[[], None]]:
    """The control app's ByteDance-layer probes: ttEncrypt'd register and app log, a signed API call whose
    X-Argus alone carries the device id, a mix_mode=1 login, and an encrypted body of near-miss decoys."""
    v = b.v
    ts = 1700000000

    def tt_register() -> None:
        body = register_body({k: v[c] for k, c in REGISTER_FIELDS.items()})
        q = urlencode({"tt_data": "a", "aid": AID, "device_platform": "android"})
        p = b.probe(
            "POST", f"https://log-va.tiktokv.com/service/2/device_register/?{q}",
            headers={"content-type": TT_CONTENT_TYPE, **signed_headers(q, body, v["install_id"], ts)}, body=body,
        )  # fmt: skip
        for k, c in REGISTER_FIELDS.items():
            b.plant(p, c, f"body:header.{k}", ENCRYPTED, "ttEncrypt'd device registration")
        b.plant(p, "install_id", "header:x-argus:protobuf:5", "argus>protobuf")
        b.plant(p, "install_id", "header:x-argus:protobuf:16", "argus>protobuf")

    def tt_app_log() -> None:
        lat, lon = (float(x) for x in v["location"].split(","))
        events = [
            {"event": "enter_homepage", "params": {"enter_from": "launch"}},
            {"event": "comment_paste", "params": {"text": v["clipboard"]}},
            {"event": "location_report", "params": {"latitude": lat, "longitude": lon}},
        ]
        body = app_log_body(
            {"install_id": v["install_id"], "openudid": v["openudid"]}, events, "5e1f0a7c-0001"
        )
        q = urlencode({"tt_data": "a", "aid": AID})
        p = b.probe(
            "POST", f"https://log-va.tiktokv.com/service/2/app_log/?{q}",
            headers={"content-type": TT_CONTENT_TYPE, **signed_headers(q, body, v["install_id"], ts + 5)}, body=body,
        )  # fmt: skip
        b.plant(p, "install_id", "body:header.install_id", ENCRYPTED)
        b.plant(p, "openudid", "body:header.openudid", ENCRYPTED)
        b.plant(p, "clipboard", "body:event_v3[1].params.text", ENCRYPTED, "event comment_paste")
        b.plant(p, "location", "body:event_v3[2].params.latitude", ENCRYPTED, "event location_report")

    def signed_feed() -> None:
        q = urlencode({"aid": AID, "count": 6, "type": 0, "app_name": "musical_ly"})
        p = b.probe(
            "GET", f"https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/feed/?{q}",
            headers=signed_headers(q, b"", v["install_id"], ts + 9),
        )  # fmt: skip
        b.plant(
            p, "install_id", "header:x-argus:protobuf:5", "argus>protobuf", "device id only inside X-Argus"
        )

    def mix_mode_login() -> None:
        body = urlencode(
            {"mix_mode": "1", "email": bytedance.mix_mode_encode(v["email"]),
             "mobile": bytedance.mix_mode_encode(v["phone"]), "password": bytedance.mix_mode_encode("hunter2")}
        ).encode()  # fmt: skip
        p = b.probe(
            "POST", "https://api16-normal-c-useast1a.tiktokv.com/passport/user/login/?mix_mode=1",
            headers={"content-type": "application/x-www-form-urlencoded"}, body=body,
        )  # fmt: skip
        b.plant(p, "email", "body:form:email", "form>mixmode")
        b.plant(p, "phone", "body:form:mobile", "form>mixmode")

    def tt_decoys() -> None:
        keys = {"imei": "udid", "android_id": "android_id", "adid": "google_aid", "serial": "serial_number",
                "install_id": "install_id", "clipboard": "clip", "email": "mail"}  # fmt: skip
        present = {near: key for near, key in keys.items() if near in b.decoys}
        body = register_body({key: b.decoys[near].value for near, key in present.items()})
        p = b.probe(
            "POST", "https://log-va.tiktokv.com/service/2/device_register/?tt_data=a&decoy=1",
            headers={"content-type": TT_CONTENT_TYPE}, body=body,
        )  # fmt: skip
        for near, key in present.items():
            b.decoy(p, near, f"body:header.{key}", ENCRYPTED)

    return [tt_register, tt_app_log, signed_feed, mix_mode_login, tt_decoys]

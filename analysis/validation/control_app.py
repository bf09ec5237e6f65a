"""The control app: a host program that behaves like the TikTok client as public analyses describe it.

It reads the planted values from a session's `canaries.json` and sends them to TikTok-like hosts and
paths (device registration, batched app-log events, settings fetch, monitor and crash upload, a
WebSocket, third-party SDK endpoints) in many encodings, with near-miss decoys among them. Every request
carries `x-privlab-probe: <id>`; the ground truth (which value, in which part, in which encoding) is
written as a list of `schema.PlantedPart` so `privlab validate` can measure recall and false positives.

It behaves like any program under `privlab capture --host-command`: it takes the proxy and the CA to
trust from the environment (`HTTPS_PROXY`, `SSL_CERT_FILE`).

    python -m analysis.validation.control_app --canaries S/canaries.json --ground-truth gt.json
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import httpx
from mitmproxy.net import encoding as content_encoding

from analysis.decode.protobuf import encode_varint
from analysis.schema import PROBE_HEADER
from analysis.schema import Canary
from analysis.schema import PlantedPart
from analysis.validation.bytedance_client import bytedance_steps
from analysis.validation.planted import DECOYS
from analysis.validation.planted import Decoy

UA = "com.zhiliaoapp.musically/2023405030 (Linux; U; Android 13; en_NL; sdk_gphone64_x86_64; Build/TE1A.220922.034; Cronet/TTNetVersion:5f9540e5 2023-05-17 QuicVersion:47946d2a 2020-10-14)"
AID = "1233"


@dataclass
class Probe:
    """One request the control app sends, and what it carries."""

    id: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    planted: list[PlantedPart] = field(default_factory=list)
    websocket: list[bytes] = field(default_factory=list)  # messages to send after the upgrade
    step: str = ""  # the Builder step that made it (e.g. "third_parties")


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def sha1(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()


def sha256(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def b64(data: str | bytes, urlsafe: bool = False) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()


def js(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# -- schemaless protobuf, enough to write what TikTok's pb endpoints look like ----------------------


def pb_bytes(field_no: int, data: bytes) -> bytes:
    return encode_varint(field_no << 3 | 2) + encode_varint(len(data)) + data


def pbencode_varint(field_no: int, n: int) -> bytes:
    return encode_varint(field_no << 3) + encode_varint(n)


# -- the probes ----------------------------------------------------------------------------------


class Builder:
    """Builds the probe list from the planted canaries (by id) and the decoys."""

    def __init__(self, canaries: list[Canary], decoys: tuple[Decoy, ...] = DECOYS) -> None:
        self.v = {c.id: c.value for c in canaries}
        self.kind = {c.id: c.kind for c in canaries}
        self.decoys = {d.near: d for d in decoys if d.near in self.v}
        self.probes: list[Probe] = []

    def probe(self, method: str, url: str, **kw: Any) -> Probe:
        p = Probe(f"p{len(self.probes) + 1:03d}", method, url, **kw)
        p.headers.setdefault("user-agent", UA)
        self.probes.append(p)
        return p

    def plant(self, p: Probe, cid: str, part: str, enc: str, note: str = "") -> None:
        if cid in self.v:
            p.planted.append(PlantedPart(p.id, cid, self.kind[cid], part, enc, "present", note))

    def decoy(self, p: Probe, near: str, part: str, enc: str) -> None:
        d = self.decoys[near]
        p.planted.append(PlantedPart(p.id, near, self.kind[near], part, enc, "absent", d.why))

    def build(self) -> list[Probe]:
        """Every probe whose canaries are all planted (a step needing a missing canary is left out)."""
        for step in self.steps():
            before = len(self.probes)
            try:
                step()
            except KeyError:
                del self.probes[before:]
            for p in self.probes[before:]:
                p.step = step.__name__
        return self.probes

    def steps(self) -> list[Callable[[], None]]:
        return [
            self.device_register,
            self.app_log,
            self.app_log_location_br,
            self.monitor_zstd,
            self.monitor_deflate,
            self.settings,
            self.login_form,
            self.crash_multipart,
            self.alert_check_nested,
            self.feed_base64url,
            self.hashed_ids,
            self.pixel_hashes,
            self.app_log_protobuf,
            self.poi_scaled,
            self.installed_apps_and_contacts,
            self.clipboard_nested,
            self.third_parties,
            self.plain_http,
            self.decoys_batch,
            self.websocket,
            *bytedance_steps(
                self
            ),  # ttEncrypt, signature headers, mix_mode (analysis.validation.bytedance_client)
        ]

    def device_register(self) -> None:
        v = self.v
        q = urlencode(
            {"aid": AID, "device_platform": "android", "openudid": v["openudid"], "cdid": v["cdid"]}
        )
        header = {
            "openudid": v["openudid"],
            "google_aid": v["adid"],
            "udid": v["imei"],
            "serial_number": v["serial"],
            "mc": v["mac"].upper(),
            "sim_serial_number": [{"sim_serial_number": v["iccid"]}],
            "region": "NL",
            "os_version": "13",
        }
        body = content_encoding.encode(js({"magic_tag": "ss_app_log", "header": header}), "gzip")
        p = self.probe(
            "POST", f"https://log-va.tiktokv.com/service/2/device_register/?{q}",
            headers={"content-type": "application/json; charset=utf-8", "content-encoding": "gzip"}, body=body,
        )  # fmt: skip
        self.plant(p, "openudid", "query:openudid", "plain")
        self.plant(p, "cdid", "query:cdid", "plain")
        self.plant(p, "openudid", "body:header.openudid", "gzip>json")
        self.plant(p, "adid", "body:header.google_aid", "gzip>json")
        self.plant(p, "imei", "body:header.udid", "gzip>json")
        self.plant(p, "serial", "body:header.serial_number", "gzip>json")
        self.plant(p, "mac", "body:header.mc", "gzip>json>upper")
        self.plant(p, "iccid", "body:header.sim_serial_number[0].sim_serial_number", "gzip>json")

    def app_log(self) -> None:
        v = self.v
        events = [
            {"event": "launch_log", "params": {"email_hash": sha256(v["email"]), "session_id": "s-1"}},
            {"event": "app_perf", "params": {"fps": 58}},
        ]
        body = gzip.compress(
            js({"header": {"install_id": v["install_id"], "aid": AID}, "event_v3": events}), mtime=0
        )
        p = self.probe(
            "POST", "https://log-va.tiktokv.com/service/2/app_log/?aid=1233",
            headers={"content-type": "application/json", "content-encoding": "gzip"}, body=body,
        )  # fmt: skip
        self.plant(p, "install_id", "body:header.install_id", "gzip>json")
        self.plant(p, "email", "body:event_v3[0].params.email_hash", "gzip>json>sha256")

    def app_log_location_br(self) -> None:
        lat, lon = (float(x) for x in self.v["location"].split(","))
        body = content_encoding.encode(
            js({"location": {"latitude": lat, "longitude": lon}, "ac": "wifi"}), "br"
        )
        p = self.probe(
            "POST", "https://log22-normal-useast1a.tiktokv.com/service/2/app_log/",
            headers={"content-type": "application/json", "content-encoding": "br"}, body=body,
        )  # fmt: skip
        self.plant(p, "location", "body:location.latitude", "br>json")

    def monitor_zstd(self) -> None:
        data = {"data": [{"log_type": "performance", "android_id": self.v["android_id"], "fps": 60}]}
        p = self.probe(
            "POST", "https://mon-va.byteoversea.com/monitor/collect/",
            headers={"content-type": "application/json", "content-encoding": "zstd"},
            body=content_encoding.encode(js(data), "zstd"),
        )  # fmt: skip
        self.plant(p, "android_id", "body:data[0].android_id", "zstd>json")

    def monitor_deflate(self) -> None:
        data = {"batch": [{"type": "net", "cdid": self.v["cdid"], "status": 200}]}
        p = self.probe(
            "POST", "https://mon-va.byteoversea.com/monitor/collect/batch/",
            headers={"content-type": "application/json", "content-encoding": "deflate"},
            body=content_encoding.encode(js(data), "deflate"),
        )  # fmt: skip
        self.plant(p, "cdid", "body:batch[0].cdid", "deflate>json")

    def settings(self) -> None:
        v = self.v
        q = urlencode({"iid": v["install_id"], "carrier_region": "NL", "mcc_mnc": "20408", "ac": "wifi"})
        p = self.probe(
            "GET", f"https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/settings/?{q}",
            headers={"cookie": f"install_id={v['install_id']}; odin_tt=3c1f9e", "x-user-email": quote(v["email"])},
        )  # fmt: skip
        self.plant(p, "install_id", "query:iid", "plain")
        self.plant(p, "install_id", "cookie:install_id", "plain")
        self.plant(p, "email", "header:x-user-email", "url")

    def login_form(self) -> None:
        v = self.v
        body = urlencode({"mobile": v["phone"], "email": v["email"], "mix_mode": "0"}).encode()
        p = self.probe(
            "POST", "https://api16-normal-c-useast1a.tiktokv.com/passport/user/login/",
            headers={"content-type": "application/x-www-form-urlencoded"}, body=body,
        )  # fmt: skip
        self.plant(p, "phone", "body:form:mobile", "form")
        self.plant(p, "email", "body:form:email", "form")

    def crash_multipart(self) -> None:
        v = self.v
        boundary = "privlab-boundary-7d1f"
        crash = js({"serial": v["serial"], "stack": "java.lang.NullPointerException"}).decode()
        logcat = f"I/ClipboardService: text={v['clipboard']}\nD/Cronet: ok\n"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="crash_info"\r\n'
            f"Content-Type: application/json\r\n\r\n{crash}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="logcat"; filename="logcat.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n{logcat}\r\n--{boundary}--\r\n"
        ).encode()
        p = self.probe(
            "POST", "https://mon-va.byteoversea.com/monitor/collect/c/crash",
            headers={"content-type": f"multipart/form-data; boundary={boundary}"}, body=body,
        )  # fmt: skip
        self.plant(p, "serial", "body:multipart:crash_info", "multipart>json")
        self.plant(p, "clipboard", "body:multipart:logcat", "multipart")

    def alert_check_nested(self) -> None:
        inner = js({"imsi": self.v["imsi"], "net": "wifi"})
        p = self.probe(
            "POST", "https://log-va.tiktokv.com/service/2/app_alert_check/",
            headers={"content-type": "application/json"}, body=js({"payload": b64(inner), "v": 2}),
        )  # fmt: skip
        self.plant(p, "imsi", "body:payload", "json>base64>json")

    def feed_base64url(self) -> None:
        v = self.v
        ext = b64(f"{v['android_id']}|{v['adid']}|{v['phone']}", urlsafe=True)
        p = self.probe("GET", f"https://api16-core-c-useast1a.tiktokv.com/aweme/v1/feed/?count=6&ext={ext}")
        self.plant(p, "android_id", "query:ext", "base64url")
        self.plant(p, "adid", "query:ext", "base64url")
        self.plant(p, "phone", "query:ext", "base64url")

    def hashed_ids(self) -> None:
        v = self.v
        p = self.probe(
            "POST", f"https://log-va.tiktokv.com/service/2/log_settings/?dm={md5(v['android_id'])}",
            headers={"content-type": "application/json", "x-bd-client-key": v["mac"].encode().hex()},
            body=js({"hashed_imei": sha1(v["imei"]), "sdk": "applog"}),
        )  # fmt: skip
        self.plant(p, "android_id", "query:dm", "md5")
        self.plant(p, "mac", "header:x-bd-client-key", "hex")
        self.plant(p, "imei", "body:hashed_imei", "json>sha1")

    def pixel_hashes(self) -> None:
        v = self.v
        user = {"email": sha256(md5(v["email"])), "phone_number": sha256(v["phone"])}
        p = self.probe(
            "POST", "https://analytics.tiktok.com/api/v2/pixel",
            headers={"content-type": "application/json"}, body=js({"event": "Pageview", "context": {"user": user}}),
        )  # fmt: skip
        self.plant(p, "email", "body:context.user.email", "json>sha256>md5")
        self.plant(p, "phone", "body:context.user.phone_number", "json>sha256")

    def app_log_protobuf(self) -> None:
        v = self.v
        inner = pb_bytes(1, v["imei"].encode()) + pbencode_varint(3, int(v["install_id"]))
        body = pb_bytes(1, v["android_id"].encode()) + pb_bytes(2, inner) + pbencode_varint(4, 1)
        p = self.probe(
            "POST", "https://log-va.tiktokv.com/service/2/app_log_pb/",
            headers={"content-type": "application/x-protobuf"}, body=body,
        )  # fmt: skip
        self.plant(p, "android_id", "body:protobuf:1", "protobuf")
        self.plant(p, "imei", "body:protobuf:2.1", "protobuf")
        self.plant(p, "install_id", "body:protobuf:2.3", "protobuf")

    def poi_scaled(self) -> None:
        lat, lon = (float(x) for x in self.v["location"].split(","))
        q = urlencode({"lat_e6": round(lat * 1e6), "lon_e6": round(lon * 1e6)})
        p = self.probe("GET", f"https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/poi/nearby/?{q}")
        self.plant(p, "location", "query:lat_e6", "e6")
        q = urlencode({"latitude": f"{lat:.4f}", "longitude": f"{lon:.4f}"})
        p = self.probe("GET", f"https://api16-normal-c-useast1a.tiktokv.com/aweme/v1/weather/?{q}")
        self.plant(p, "location", "query:latitude", "rounded")
        p = self.probe(
            "POST", "https://log-va.tiktokv.com/service/2/geo/",
            headers={"content-type": "application/json"},
            body=js({"geo": f"{lon},{lat}", "lat_e7": round(lat * 1e7), "lon_e7": round(lon * 1e7)}),
        )  # fmt: skip
        self.plant(p, "location", "body:geo", "json>swapped")
        self.plant(p, "location", "body:lat_e7", "json>e7")

    def installed_apps_and_contacts(self) -> None:
        v = self.v
        apps = ["com.whatsapp", v["canary_app"], "com.google.android.youtube"]
        p = self.probe(
            "POST", "https://log-va.tiktokv.com/service/2/app_list/",
            headers={"content-type": "application/json"}, body=js({"apps": apps}),
        )  # fmt: skip
        self.plant(p, "canary_app", "body:apps[1]", "json")
        p = self.probe(
            "POST", "https://api16-normal-c-useast1a.tiktokv.com/ucenter_web/upload_contacts/",
            headers={"content-type": "application/json"},
            body=js({"contacts": [{"name": v["contact"], "phone": sha256("+31687654321")}]}),
        )  # fmt: skip
        self.plant(p, "contact", "body:contacts[0].name", "json")

    def clipboard_nested(self) -> None:
        v = self.v
        blob = b64(gzip.compress(js({"clip": v["clipboard"], "ts": 1}), mtime=0))
        p = self.probe(
            "POST", "https://log-va.tiktokv.com/service/2/app_log/?aid=1233&tt_data=a",
            headers={"content-type": "application/json"}, body=js({"blob": blob, "event": "paste_detect"}),
        )  # fmt: skip
        self.plant(p, "clipboard", "body:blob", "json>base64>gzip>json")

    def third_parties(self) -> None:
        v = self.v
        p = self.probe(
            "POST", "https://t.appsflyer.com/api/v4/androidevent?app_id=com.zhiliaoapp.musically",
            headers={"content-type": "application/json"},
            body=js({"advertiserId": v["adid"], "deviceData": {"imei": v["imei"]}}),
        )  # fmt: skip
        self.plant(p, "adid", "body:advertiserId", "json")
        self.plant(p, "imei", "body:deviceData.imei", "json")
        p = self.probe(
            "GET", f"https://www.googleadservices.com/pagead/conversion/app/1.0?rdid={v['adid']}&bundleid=com.zhiliaoapp.musically"
        )  # fmt: skip
        self.plant(p, "adid", "query:rdid", "plain")
        p = self.probe(
            "POST", "https://graph.facebook.com/v17.0/1862952583919182/activities",
            headers={"content-type": "application/x-www-form-urlencoded"},
            body=urlencode({"event": "MOBILE_APP_INSTALL", "advertiser_id": v["adid"]}).encode(),
        )  # fmt: skip
        self.plant(p, "adid", "body:form:advertiser_id", "form")
        p = self.probe(
            "GET", f"https://api16-access-sg.pangle.io/api/ad/union/sdk/get_ads/?gaid={v['adid']}&ad_slot=1"
        )
        self.plant(p, "adid", "query:gaid", "plain")

    def plain_http(self) -> None:
        p = self.probe(
            "GET",
            f"http://log.tiktokv.com/service/2/device_sdk/stats_collect/?device_id={self.v['install_id']}",
        )
        self.plant(p, "install_id", "query:device_id", "plain")

    def decoys_batch(self) -> None:
        d = {near: self.decoys[near].value for near in self.decoys}
        body = {
            "udid": d.get("imei"),
            "aid_hint": d.get("android_id"),
            "gaid": d.get("adid"),
            "mail": d.get("email"),
            "mail_sha256": sha256(d["email"]) if "email" in d else None,
            "tel": d.get("phone"),
            "iid": d.get("install_id"),
            "loc": d.get("location"),
            "paste": d.get("clipboard"),
            "sn": d.get("serial"),
        }
        p = self.probe(
            "POST", "https://log-va.tiktokv.com/service/2/app_log/?decoy=1",
            headers={"content-type": "application/json"}, body=js(body),
        )  # fmt: skip
        parts = {"imei": "udid", "android_id": "aid_hint", "adid": "gaid", "email": "mail", "phone": "tel",
                 "install_id": "iid", "location": "loc", "clipboard": "paste", "serial": "sn"}  # fmt: skip
        for near, key in parts.items():
            if near in self.decoys:
                self.decoy(p, near, f"body:{key}", "json")
        if "email" in self.decoys:
            self.decoy(p, "email", "body:mail_sha256", "json>sha256")

    def websocket(self) -> None:
        v = self.v
        msg = js({"cmd": "sync", "device_id": v["install_id"], "clip": v["clipboard"]})
        p = self.probe("GET", "https://frontier-va.tiktokv.com/ws/v2?aid=1233", websocket=[msg])
        self.plant(p, "install_id", "websocket:device_id", "json")
        self.plant(p, "clipboard", "websocket:clip", "json")


# -- sending ----------------------------------------------------------------------------------------


def _websocket_exchange(probe: Probe, proxy: str, ca: str | None) -> None:
    """A minimal RFC 6455 client through an HTTP CONNECT proxy (httpx has no WebSocket support)."""
    u = urlsplit(probe.url)
    pu = urlsplit(proxy)
    host, port = u.hostname or "", u.port or 443
    raw = socket.create_connection((pu.hostname or "127.0.0.1", pu.port or 8080), timeout=10)
    raw.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    if b" 200" not in raw.recv(4096).split(b"\r\n", 1)[0]:
        raise OSError(f"proxy refused CONNECT to {host}")
    ctx = ssl.create_default_context(cafile=ca)
    sock = ctx.wrap_socket(raw, server_hostname=host)
    key = b64(os.urandom(16))
    path = u.path + (f"?{u.query}" if u.query else "")
    sock.sendall(
        (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{PROBE_HEADER}: {probe.id}\r\n"
         f"User-Agent: {UA}\r\n\r\n").encode()
    )  # fmt: skip
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("connection closed during WebSocket upgrade")
        head += chunk
    if b" 101" not in head.split(b"\r\n", 1)[0]:
        raise OSError(f"WebSocket upgrade refused: {head.splitlines()[0]!r}")

    def frame(opcode: int, payload: bytes) -> bytes:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        n = len(payload)
        length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        return bytes([0x80 | opcode]) + length + mask + masked

    for message in probe.websocket:
        sock.sendall(frame(0x1, message))
        sock.recv(65536)  # the server echoes each message
    sock.sendall(frame(0x8, struct.pack(">H", 1000)))
    try:
        sock.recv(64)
    except OSError:
        pass
    sock.close()


def send_all(probes: list[Probe]) -> int:
    """Send every probe like an app would (proxy and CA from the environment); returns failures."""
    failures = 0
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or ""
    with httpx.Client(trust_env=True, timeout=20.0) as client:
        for p in probes:
            try:
                if p.websocket:
                    _websocket_exchange(p, proxy, os.environ.get("SSL_CERT_FILE"))
                    continue
                headers = {**p.headers, PROBE_HEADER: p.id}
                r = client.request(p.method, p.url, headers=headers, content=p.body or None)
                if r.status_code >= 400:
                    raise OSError(f"HTTP {r.status_code}")
            except (httpx.HTTPError, OSError) as e:
                failures += 1
                print(f"control app: {p.id} {p.method} {p.url}: {e}", file=sys.stderr)
    return failures


def ground_truth(probes: list[Probe]) -> list[dict[str, Any]]:
    return [part.to_dict() for p in probes for part in p.planted]


# The condition `consent` tells the control app how to treat consent, so comparisons have a real
# difference to find: a well-behaved app sends its ads and analytics probes only after the user
# accepted; a badly-behaved one sends them before the consent screen is answered.
CONSENT_CONDITION = "consent"
WELL_BEHAVED = "well-behaved"
BADLY_BEHAVED = "badly-behaved"
CONSENT_GATED_STEPS = ("app_log", "app_log_protobuf", "third_parties", "pixel_hashes")
# A comma-separated list of Builder steps to send (all by default): shorter runs for tests and demos.
STEPS_ENV = "PRIVLAB_CONTROL_STEPS"


def session_conditions(session_dir: str | None) -> dict[str, str]:
    """The conditions recorded in the session the app runs in (empty outside a capture)."""
    if not session_dir:
        return {}
    try:
        meta = json.loads((Path(session_dir) / "session.json").read_bytes())
    except (OSError, ValueError):
        return {}
    conditions = meta.get("conditions") or {}
    return {str(k): str(v) for k, v in conditions.items()} if isinstance(conditions, dict) else {}


def send_with_consent(probes: list[Probe], behaviour: str | None, session_dir: str | None) -> int:
    """Send the probes in the order the consent behaviour asks for, marking the consent moments."""
    if behaviour not in (WELL_BEHAVED, BADLY_BEHAVED) or not session_dir:
        return send_all(probes)
    from analysis.session import Session

    session = Session.open(session_dir)
    gated = [p for p in probes if p.step in CONSENT_GATED_STEPS]
    other = [p for p in probes if p.step not in CONSENT_GATED_STEPS]
    session.mark("consent-shown")
    failures = 0
    if behaviour == BADLY_BEHAVED:
        failures += send_all(gated)  # before the user answered
        session.mark("consent-accepted")
        return failures + send_all(other)
    session.mark("consent-accepted")
    return send_all(gated) + send_all(other)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    session_dir = os.environ.get("PRIVLAB_SESSION")
    default_canaries = Path(session_dir or ".") / "canaries.json"
    ap.add_argument("--canaries", type=Path, default=default_canaries, help="canaries.json of the session")
    ap.add_argument("--ground-truth", required=True, type=Path, help="where to write the ground truth")
    args = ap.parse_args(argv)
    from analysis.errors import PrivlabError
    from analysis.session import load_canaries

    try:
        canaries = load_canaries(args.canaries)
    except PrivlabError as e:
        print(f"control app: {e}", file=sys.stderr)
        return 2
    probes = Builder(canaries).build()
    wanted = [s for s in os.environ.get(STEPS_ENV, "").split(",") if s]
    if wanted:
        probes = [p for p in probes if p.step in wanted]
    behaviour = session_conditions(session_dir).get(CONSENT_CONDITION)
    try:
        failures = send_with_consent(probes, behaviour, session_dir)
    except PrivlabError as e:
        print(f"control app: {e}", file=sys.stderr)
        return 2
    args.ground_truth.write_text(json.dumps(ground_truth(probes), indent=1) + "\n")
    print(f"control app: sent {len(probes) - failures}/{len(probes)} probes")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

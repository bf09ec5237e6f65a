"""Test fixtures for the findings, report and chart tests: a small session built with the real session code.

Everything here is a TEST FIXTURE, not a result: the tables are written by hand with the columns of
`analysis/schema.py` (the pipeline that normally produces them is exercised by its own tests). The
session folder itself is real: created with `Session.create`, marks with `Session.mark`, raw appends
with custody records via `Session.append`, sealed and signed with `analysis.session.seal`.

The traffic carries planted credentials (SECRET_TOKENS) and, with `hostile=True`, XSS payloads in
URLs, headers, bodies, host names, parts and hook values (XSS_MARKERS are the globals they would set).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.findings import TableSet
from analysis.schema import Canary
from analysis.session import TLS_FAILURES_JSONL
from analysis.session import Session

T0 = 1_700_000_000.0

SECRET_TOKENS = (
    "SECRETBEARER0a1b2c3d4e5f",
    "SECRETCOOKIE9z8y7x",
    "SECRETTTTOKEN4455",
    "SECRETQUERYTOKEN7788",
    "SECRETPASSWORD1122",
)

XSS_PAYLOADS = {
    "url": 'https://evil.example/p?q=<script>window.__xss_url=1</script>&x="><img src=x onerror=window.__xss_url2=1>',
    "header": "<svg/onload=window.__xss_header=1>",
    "excerpt": "<img src=x onerror=window.__xss_body=1></pre><script>window.__xss_body2=1</script>\x00\x07\x1b\ufffe",
    "hook": '"</td><script>window.__xss_hook=1</script><img src=x onerror=window.__xss_hook2=1>"',
    "host": 'evil.example"><script>window.__xss_host=1</script>',
    "part": "body:<iframe src=javascript:window.__xss_part=1>",
    "entity": "Evil<script>window.__xss_entity=1</script> Ltd",
    "stack": "com.evil.<img src=x onerror=window.__xss_stack=1>.run(Unknown Source)",
    "sdk": "<svg onload=window.__xss_sdk=1>",
}
# A right-to-left override (U+202E) and an isolate (U+2066/U+2069) in captured text: shown raw they reorder
# what the reader sees ("invoice\u202efdp.exe" reads as "invoiceexe.pdf").
BIDI = "invoice\u202efdp.exe \u2066iso\u2069"

XSS_MARKERS = (
    "__xss_url",
    "__xss_url2",
    "__xss_header",
    "__xss_body",
    "__xss_body2",
    "__xss_hook",
    "__xss_hook2",
    "__xss_host",
    "__xss_part",
    "__xss_entity",
    "__xss_stack",
    "__xss_sdk",
)

CANARIES = [
    Canary(id="c-aid", kind="android_id", value="a1b2c3d4e5f60718", t=T0),
    Canary(id="c-clip", kind="clipboard", value="privlab-clip-7f3a", t=T0),
    Canary(id="c-imei", kind="imei", value="490154203237518", t=T0),
]

CJK = "抖音用户设备"


def _flow(fid: str, t: float, host: str, ip: str, url: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "flow_id": fid,
        "t_request": t,
        "t_response": t + 0.2,
        "client": "10.0.2.15:40000",
        "server_ip": ip,
        "server_port": 443,
        "sni": host,
        "host": host,
        "scheme": "https",
        "http_version": "HTTP/2.0",
        "method": "POST",
        "url": url,
        "path": "/" + url.split("/", 3)[-1].split("?")[0],
        "query": url.split("?", 1)[1] if "?" in url else "",
        "status": 200,
        "request_headers": [{"name": "user-agent", "value": "okhttp/3.12"}],
        "response_headers": [],
        "request_body_size": 512,
        "response_body_size": 64,
        "request_content_type": "application/json",
        "response_content_type": "application/json",
        "via": "proxy",
        "error": None,
        "phase": None,
        "websocket_messages": 0,
    }
    row.update(kw)
    return row


def make_tables(hostile: bool = False) -> TableSet:
    """The fixture tables (see the module docstring)."""
    secret_headers = [
        {"name": "authorization", "value": f"Bearer {SECRET_TOKENS[0]}"},
        {"name": "cookie", "value": f"sessionid={SECRET_TOKENS[1]}; odin_tt=abc"},
        {"name": "x-tt-token", "value": SECRET_TOKENS[2]},
        {"name": "user-agent", "value": "com.zhiliaoapp.musically/2023"},
    ]
    flows = [
        _flow(
            "f1",
            T0 + 5,
            "log.tiktokv.com",
            "1.2.3.4",
            f"https://log.tiktokv.com/service/2/device_register/?aid=1233&device_id=a1b2c3d4e5f60718&token={SECRET_TOKENS[3]}",
            request_headers=secret_headers,
        ),
        _flow("f2", T0 + 40, "log.tiktokv.com", "1.2.3.4", "https://log.tiktokv.com/service/2/app_log/"),
        _flow("f3", T0 + 45, "graph.facebook.com", "5.6.7.8", "https://graph.facebook.com/v12.0/activities"),
        _flow(
            "f4",
            T0 + 50,
            "api.cdn.example",
            "9.9.9.9",
            "https://api.cdn.example/",
            via="pcap-only",
            status=None,
        ),
    ]
    detections = [
        {
            "detection_id": "d1",
            "flow_id": "f1",
            "part": "query:device_id",
            "data_type": "android_id",
            "canary_id": "c-aid",
            "encoding": "plain",
            "method": "canary",
            "confidence": 1.0,
            "excerpt": f"aid=1233&device_id=«a1b2c3d4e5f60718»&token={SECRET_TOKENS[3]}",
        },
        {
            "detection_id": "d2",
            "flow_id": "f1",
            "part": "body:$.clip",
            "data_type": "clipboard",
            "canary_id": "c-clip",
            "encoding": "gzip>json",
            "method": "canary",
            "confidence": 1.0,
            "excerpt": f'{{"clip":"«privlab-clip-7f3a»","password":"{SECRET_TOKENS[4]}","note":"{CJK}"}}',
        },
        {
            "detection_id": "d3",
            "flow_id": "f2",
            "part": "body:$.header.openudid",
            "data_type": "android_id",
            "canary_id": "c-aid",
            "encoding": "gzip>json>sha256",
            "method": "canary",
            "confidence": 0.99,
            "excerpt": '"openudid":"«9f86d081884c7d659a2feaa0c55ad015»"',
        },
        {
            "detection_id": "d4",
            "flow_id": "f3",
            "part": "body:$.advertiser_id",
            "data_type": "advertising_id",
            "canary_id": None,
            "encoding": "json",
            "method": "pattern",
            "confidence": 0.6,
            "excerpt": '"advertiser_id":"«38400000-8cf0-11bd-b23e-10b96e4ef00d»"',
        },
    ]
    hooks = [
        {
            "seq": 1,
            "t": T0 + 2,
            "pid": 100,
            "tid": 101,
            "category": "clipboard",
            "api": "ClipboardManager.getPrimaryClip",
            "args": "[]",
            "ret": json.dumps("privlab-clip-7f3a"),
            "stack": ["com.bytedance.applog.a.b(Unknown Source)", "android.app.Activity.onResume"],
            "sdk": "ByteDance AppLog",
            "entity": "ByteDance",
        },
        {
            "seq": 2,
            "t": T0 + 3,
            "pid": 100,
            "tid": 101,
            "category": "identifiers",
            "api": "Settings.Secure.getString(android_id)",
            "args": json.dumps(["android_id"]),
            "ret": json.dumps("a1b2c3d4e5f60718"),
            "stack": ["com.ss.android.deviceregister.c.a"],
            "sdk": None,
            "entity": None,
        },
        {
            "seq": 3,
            "t": T0 + 60,
            "pid": 100,
            "tid": 102,
            "category": "location",
            "api": "LocationManager.getLastKnownLocation",
            "args": json.dumps(["gps"]),
            "ret": json.dumps({"lat": 48.85837, "lon": 2.294481}),
            "stack": ["com.google.android.gms.location.a"],
            "sdk": "Google Play services",
            "entity": "Google",
        },
    ]
    destinations = [
        {
            "host": "log.tiktokv.com",
            "etld1": "tiktokv.com",
            "entity": "ByteDance",
            "parent": "ByteDance Ltd.",
            "hq_country": "CN",
            "party": "first",
            "category": "analytics",
            "purpose": "telemetry",
            "ips": ["1.2.3.4"],
            "ip_countries": ["SG"],
            "ip_registered_countries": ["SG"],
            "asn": ["AS138699"],
            "jurisdiction": "third-country",
            "bytes": 1024,
            "flows": 2,
        },
        {
            "host": "graph.facebook.com",
            "etld1": "facebook.com",
            "entity": "Meta",
            "parent": "Meta Platforms, Inc.",
            "hq_country": "US",
            "party": "third",
            "category": "ads",
            "purpose": "advertising",
            "ips": ["5.6.7.8"],
            "ip_countries": ["IE"],
            "ip_registered_countries": ["IE"],
            "asn": ["AS32934"],
            "jurisdiction": "EEA",
            "bytes": 512,
            "flows": 1,
        },
    ]
    packets = [
        {
            "t": T0 + 4,
            "proto": "tls",
            "src": "10.0.2.15:40000",
            "dst": "1.2.3.4:443",
            "sni": "log.tiktokv.com",
            "bytes": 300,
        },
        {
            "t": T0 + 6,
            "proto": "tls",
            "src": "10.0.2.15:40001",
            "dst": "1.2.3.5:443",
            "sni": "pinned.tiktokv.com",
            "bytes": 300,
        },
        {
            "t": T0 + 7,
            "proto": "quic",
            "src": "10.0.2.15:40002",
            "dst": "1.2.3.6:443",
            "sni": "quic.tiktokv.com",
            "bytes": 1200,
        },
    ]
    if hostile:
        flows.append(
            _flow(
                "fx",
                T0 + 70,
                XSS_PAYLOADS["host"],
                "6.6.6.6",
                XSS_PAYLOADS["url"],
                request_headers=[{"name": "x-evil", "value": XSS_PAYLOADS["header"]}],
            )
        )
        detections.append(
            {
                "detection_id": "dx",
                "flow_id": "fx",
                "part": XSS_PAYLOADS["part"],
                "data_type": "android_id",
                "canary_id": "c-aid",
                "encoding": "plain",
                "method": "canary",
                "confidence": 1.0,
                "excerpt": XSS_PAYLOADS["excerpt"] + BIDI + "«a1b2c3d4e5f60718»",
            }
        )
        destinations.append(
            {
                **destinations[0],
                "host": XSS_PAYLOADS["host"].lower(),
                "entity": XSS_PAYLOADS["entity"] + BIDI,
                "ips": ["6.6.6.6"],
            }
        )
        hooks.append(
            {
                **hooks[1],
                "seq": 4,
                "t": T0 + 65,
                "ret": XSS_PAYLOADS["hook"],
                "stack": [XSS_PAYLOADS["stack"]],
                "sdk": XSS_PAYLOADS["sdk"],
                "api": "Settings.Secure.getString(android_id)",
            }
        )
    return TableSet.from_rows(
        flows=flows, hook_events=hooks, detections=detections, destinations=destinations, packets=packets
    )


def make_session(root: Path, *, sign_key: Path | None = None, child: bool = False) -> Path:
    """A real session folder matching `make_tables`: marks, canaries, custody for each flow, TLS failures, seal."""
    from analysis.session.seal import seal_session

    s = Session.create(
        root,
        "fixture",
        session_id="20231114-221320-fixture-0001",
        app={"package": "com.zhiliaoapp.musically", "version": "32.5.3", "label": f"TikTok {CJK}"},
        device={"model": "sdk_gphone64_x86_64", "android": "13", "emulator": True},
        canaries=CANARIES,
        extra={
            "frida": {
                "modules": {
                    "clipboard": "attached",
                    "identifiers": "attached",
                    "location": {"status": "failed", "error": "class not found"},
                }
            }
        },
    )
    s.update_meta(lambda m: m.update(created=T0), reason="fixture start time")
    s.mark("app-start", t=T0)
    s.mark("consent-shown", t=T0 + 20)
    s.mark("consent-accepted", t=T0 + 30)
    if child:
        s.mark("child-account", t=T0 + 31)
    for fid in ("f1", "f2", "f3", "fx"):
        s.append("flows.mitm", f"fixture bytes of flow {fid}\n".encode(), kind="flow", ref=fid)
    for i in range(2):
        rec = {
            "t": T0 + 6 + i,
            "side": "client",
            "client": "10.0.2.15:40001",
            "server": "1.2.3.5:443",
            "sni": "pinned.tiktokv.com",
            "error": "client rejected certificate",
        }
        s.append(
            TLS_FAILURES_JSONL, json.dumps(rec).encode() + b"\n", kind="tls-failure", ref="pinned.tiktokv.com"
        )
    seal_session(s, signing_key=sign_key)
    return s.path

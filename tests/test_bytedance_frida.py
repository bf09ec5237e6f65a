"""The TikTok Frida profile (hooks/src/bytedance) in a real Frida session against the STAND-IN Java bridge.

There is no ART here: tests/hooks/java_standin replaces frida-java-bridge (see test_frida_java.py) and
declares TikTok 22.5.3's EncryptorUtil and metasec methods with the exact signatures of the decompiled
source (toventang/tiktok-smali). The stand-in's "ttEncrypt" is the magic plus each byte XOR 1, so the
test can check that the plaintext and the ciphertext the app got are both recorded, unchanged.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.capture.frida import FridaRunner
from analysis.session import Session

REPO = Path(__file__).resolve().parents[1]
HOOKS = REPO / "hooks"
STANDIN = REPO / "tests" / "hooks" / "java_standin"
ENC = "com.bytedance.frameworks.encryptor.EncryptorUtil"


@pytest.fixture()
def run(tmp_path: Path, standin_bundle: Path) -> Iterator[tuple[FridaRunner, Session, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    session = Session.create(tmp_path, "frida-tiktok")
    runner = FridaRunner(session, modules=["tiktok"], agent_path=standin_bundle)
    try:
        runner.attach(proc.pid)
        yield runner, session, runner.exports(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def _events(session: Session) -> list[dict[str, Any]]:
    return [json.loads(line) for line in session.file("hooks.jsonl").read_text().splitlines()]


def test_profile_hooks_the_22_5_3_entry_points_and_notes_other_versions(
    run: tuple[FridaRunner, Session, Any],
) -> None:
    runner, _session, _app = run
    summary = runner.stop()
    assert summary["modules_attached"] == ["tiktok"] and summary["modules_failed"] == []
    tiktok = summary["modules"]["tiktok"]
    assert tiktok["hooks"] == 4  # EncryptorUtil.ttEncrypt, EncryptorUtil.a, ms.bd.o.h.a, ms.bd.o.b.b
    assert set(tiktok["missing"]) == {
        "ms.bd.o.k",
        "com.bytedance.applog.encryptor.EncryptorUtil",
        f"{ENC}.LIZ",
        f"{ENC}.encrypt",
    }
    assert summary["warnings"] == []


def test_plaintext_and_ciphertext_of_ttencrypt_are_recorded_unchanged(
    run: tuple[FridaRunner, Session, Any],
) -> None:
    runner, session, app = run
    plain = list(b'{"header":{"udid":"354918090031248"}}')
    out = app.standin_call(ENC, "ttEncrypt", 0, [plain, len(plain)])
    meta = app.standin_call("ms.bd.o.h", "a", 0, [16777217, 0, 0, "517d80", None])
    cb = app.standin_call("ms.bd.o.b", "b", 0, [33554438, 1, 7, "serial", None])
    runner.stop()
    assert out["hooked"] and out["originalCalls"] == [[plain, len(plain)]]
    assert out["ret"][:6] == [116, 99, 5, 16, 0, 0]  # the app got the original's result
    assert meta["ret"] == "metasec-result-16777217" and cb["ret"] == "EMU7X9K2Q4"
    events = _events(session)
    (enc,) = [e for e in events if e["category"] == "bytedance-encrypt"]
    assert enc["api"] == "EncryptorUtil.ttEncrypt"
    assert base64.b64decode(enc["args"][0]["$b64"]) == bytes(plain) and enc["args"][1] == len(plain)
    assert base64.b64decode(enc["ret"]["$b64"]) == bytes([116, 99, 5, 16, 0, 0, *(b ^ 1 for b in plain)])
    metasec = [e for e in events if e["category"] == "bytedance-metasec"]
    assert [(e["api"], e["args"][0], e["ret"]) for e in metasec] == [
        ("h.a", 16777217, "metasec-result-16777217"),
        ("b.b", 33554438, "EMU7X9K2Q4"),
    ]


# -- analysis of what the profile recorded -------------------------------------------------------------


def _hook_event(
    seq: int, plain: bytes, cipher: bytes, api: str = "EncryptorUtil.ttEncrypt"
) -> dict[str, Any]:
    b64 = base64.b64encode
    return {"seq": seq, "t": 1_700_000_000.0 + seq, "pid": 1, "tid": 2, "category": "bytedance-encrypt", "api": api,
            "args": [{"$b64": b64(plain).decode()}, len(plain)], "ret": {"$b64": b64(cipher).decode()},
            "stack": ["com.ss.android.common.applog.NetUtil.a(SourceFile)"]}  # fmt: skip


def test_hooked_plaintext_is_scanned_and_linked_to_the_flow_that_carried_it(tmp_path: Path) -> None:
    import gzip

    from analysis.analyze.load import load_session
    from analysis.decode import ttencrypt
    from analysis.schema import FlowRecord
    from analysis.session.flows import record_line
    from analysis.validation.planted import CANARIES
    from analysis.validation.planted import value

    def rec(fid: str, body: bytes) -> FlowRecord:
        return FlowRecord(
            fid, 1_700_000_001.0, None, "10.0.2.16:5000", "192.0.2.9", 443, "log-va.tiktokv.com", "log-va.tiktokv.com",
            "https", "HTTP/2.0", "POST", "https://log-va.tiktokv.com/service/2/app_log/?tt_data=a",
            "/service/2/app_log/", "tt_data=a", 200, [], [], len(body), 0, None, None, request_body=body,
        )  # fmt: skip

    def doc(key: str, canary: str) -> bytes:
        return gzip.compress(json.dumps({"header": {key: value(canary)}}).encode())

    known = ttencrypt.encrypt_payload(doc("udid", "imei"))  # decrypts offline: the hook only corroborates
    newer = b"\x74\x63\x05\x11" + bytes(60)  # a scheme privlab cannot open offline
    events = [
        _hook_event(1, doc("udid", "imei"), known),
        _hook_event(2, doc("udid", "imei"), known, "EncryptorUtil.a"),  # the wrapper: same encryption
        _hook_event(3, doc("serial_number", "serial"), newer),
        _hook_event(4, doc("android_id", "android_id"), b"never-sent"),
    ]
    s = Session.create(tmp_path, "hooked", canaries=list(CANARIES))
    s.append("flows.jsonl", record_line(rec("f-known", known)) + record_line(rec("f-new", newer)),
             kind="flow-records", ref="test")  # fmt: skip
    s.append("hooks.jsonl", "".join(json.dumps(e) + "\n" for e in events).encode(), kind="hooks", ref="test")
    det = load_session(s.path).detections
    rows = {(f, c, p, e) for f, c, p, e in zip(det["flow_id"], det["canary_id"], det["part"], det["encoding"],
                                                 strict=True) if c}  # fmt: skip
    assert ("f-known", "imei", "body:header.udid", "ttencrypt>gzip>json") in rows  # offline decryption
    assert not any(f.startswith("hook:") and c == "imei" for f, c, _, _ in rows)  # not reported twice
    assert ("f-new", "serial", "body:header.serial_number", "gzip>json") in rows  # linked by ciphertext
    assert ("hook:4", "android_id", "body:header.android_id", "gzip>json") in rows  # no carrier flow

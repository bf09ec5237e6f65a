"""Reads that lead to sends, end to end on the real Frida Java bridge in a real OpenJDK 17 VM.

`privlab capture --host-command "java ..." --frida` starts the VM behind the gate, attaches the
production agent once the VM is up, and records through a real mitmdump. The SDK app on the device twin
(tests/jvm/app) reads planted values through the hooked Android APIs from SDK-like packages and sends
them over HTTPS (JDK HttpClient, and Debian's real OkHttp with a pin the agent bypasses). Analysis must
attribute each read to its SDK from the Java stack and link it to the transmission that carried it.
"""

from __future__ import annotations

import base64
import gzip
import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analysis.analyze.stages import analyze
from analysis.cli import main
from analysis.decode import ttencrypt
from analysis.session.derived import read_tables
from analysis.validation import twin
from analysis.validation.measure import access_recall
from analysis.validation.measure import load_validation
from analysis.validation.planted import value
from analysis.validation.run import capture_twin_app

pytestmark = pytest.mark.skipif(twin.jvm_problem() is not None, reason=str(twin.jvm_problem()))


def _events(session: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (session / "hooks.jsonl").read_text().splitlines()]


def test_capture_cli_runs_a_jvm_under_frida(tmp_path: Path) -> None:
    classes = twin.build(tmp_path / "cache")
    command = shlex.join(twin.command(classes, twin.PROBE_MAIN))
    watch_file = tmp_path / "watch.txt"
    watch_file.write_text("# not in this program: only noted as missing\ncom.example.NotInThisBuild#encode\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["capture", "--host-command", command, "--frida", "--out", str(out), "--name", "jvm",
                                  "--watch", "privlab.twin.Probe$Box.seal", "--watch-file", str(watch_file)])  # fmt: skip
    assert r.exit_code == 0, r.output
    printed = (
        "watched: privlab.twin.Probe$Box.seal, com.example.NotInThisBuild.encode (1 hooked; not in this app: "
    )
    assert printed + "com.example.NotInThisBuild)" in r.output.replace("\n", "")
    (session,) = [p for p in out.iterdir() if (p / "session.json").is_file()]
    meta = json.loads((session / "session.json").read_text())
    summary = meta["frida"]["summary"]
    assert "clipboard" in summary["modules_attached"] and summary["gaps"] == []
    assert meta["frida"]["agents"][0]["java"] is True
    clip = [e for e in _events(session) if e["api"] == "ClipboardManager.getPrimaryClip"]
    assert clip and clip[0]["ret"]["texts"] == [value("clipboard")]
    assert clip[0]["stack"][1].startswith("privlab.twin.Probe.main(")
    assert json.loads((session / "seal.json").read_text())["status"] == "sealed"
    # What was watched is in session.json; the watched method was hooked, the absent class only noted.
    assert meta["frida"]["watch"] == [
        ["privlab.twin.Probe$Box", "seal"],
        ["com.example.NotInThisBuild", "encode"],
    ]
    assert summary["modules"]["watch"]["hooks"] == 1
    assert summary["modules"]["watch"]["missing"] == ["com.example.NotInThisBuild"]
    (seal,) = [e for e in _events(session) if e["category"] == "watch"]
    assert seal["api"] == "Probe$Box.seal" and base64.b64decode(seal["args"][0]["$b64"]) == b"hi"
    assert seal["stack"][1].startswith("privlab.twin.Probe.main(")


@pytest.fixture(scope="module")
def twin_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = capture_twin_app(tmp_path_factory.mktemp("twin"))
    assert result.status == "sealed", result.reason
    assert result.exit_code == 0
    analyze(result.session.path)
    return result.session.path


def test_every_planted_read_is_found_and_linked_to_its_transmission(twin_session: Path) -> None:
    recall = access_recall(twin_session)
    assert recall is not None
    print(f"\naccess recall {recall['found']}/{recall['made']}, linked {recall['linked']}/{recall['made']}")
    assert recall["made"] >= 8 and recall["missed"] == []
    assert recall["recall"] == 1.0 and recall["linked"] == recall["made"]
    assert set(recall["by_data_type"]) >= {
        "clipboard",
        "android_id",
        "advertising_id",
        "location",
        "installed_apps",
        "watch",
    }


def test_reads_are_attributed_to_their_sdk_from_the_java_stack(twin_session: Path) -> None:
    findings = read_tables(twin_session).findings
    assert findings is not None
    access = {(r.data_type, r.sdk) for r in findings[findings["kind"] == "access"].itertuples()}
    assert ("clipboard", "ByteDance") in access
    assert ("advertising_id", "AppsFlyer") in access  # the caller, not Play services' ad-ID client
    assert ("android_id", "Firebase") in access and ("android_id", "ByteDance") in access
    assert ("installed_apps", "Pangle") in access
    # The in-app browser's injected script: a read, but of no personal data item of its own (vocabulary).
    assert ("other", "ByteDance") in access
    sent = findings[(findings["kind"] == "transmission") & (findings["data_type"] == "clipboard")]
    assert len(sent) == 1 and len(sent.iloc[0]["access_seqs"]) >= 1
    events = {e["seq"]: e for e in _events(twin_session)}
    read = events[int(sent.iloc[0]["access_seqs"][0])]
    assert read["api"] == "ClipboardManager.getPrimaryClip"
    assert read["stack"][1].startswith("com.bytedance.ies.ugc.clipboard.ClipboardWatcher.onForeground(")


def test_real_okhttp_pinning_is_bypassed_and_recorded(twin_session: Path) -> None:
    if not twin.okhttp_classpath():
        pytest.skip("Debian's OkHttp is not installed (apt-get install libokhttp-java)")
    (pin,) = [e for e in _events(twin_session) if e["category"] == "tls"]
    assert pin["api"] == "CertificatePinner.check" and pin["args"] == ["api16-normal-c-useast1a.tiktokv.com"]
    assert pin["stack"][1].startswith("okhttp3.internal.connection.RealConnection.connectTls(")
    flows = [json.loads(x) for x in (twin_session / "flows.jsonl").read_text().splitlines()]
    clip = [f for f in flows if f["path"] == "/aweme/v1/clipboard/check/"]
    assert clip and clip[0]["status"] == 200  # the pinned request got through the proxy


def test_validate_quotes_access_recall_next_to_transmission_recall(
    twin_session: Path, tmp_path: Path
) -> None:
    session = tmp_path / "s"
    shutil.copytree(twin_session, session, ignore=shutil.ignore_patterns("derived", "report"))
    store = tmp_path / "validation.json"
    r = CliRunner().invoke(main, ["validate", "--session", str(session), "--store", str(store)])
    assert r.exit_code == 0, r.output
    assert "access recall 1.000" in r.output
    record = load_validation(store)
    assert record is not None
    assert record["access"]["recall"] == 1.0 and record["total"]["recall"] == 1.0
    assert record["access_by_data_type"]["clipboard"]["linked"] == 1


def test_the_watched_encryption_entry_point_shows_the_plaintext_and_links_to_its_send(
    twin_session: Path,
) -> None:
    """AppLog hands its event log to its own encryption entry point (watched), then sends the ttEncrypt body."""
    (call,) = [e for e in _events(twin_session) if e["category"] == "watch"]
    assert call["api"] == "LogEncryptor.encrypt"
    assert call["stack"][0] == "com.bytedance.applog.net.LogEncryptor.encrypt(Native Method)"
    assert call["stack"][1].startswith("com.bytedance.applog.AppLog.sendEvents(AppLog.java:")
    plaintext = json.loads(base64.b64decode(call["args"][0]["$b64"]))
    assert call["args"][1] == len(base64.b64decode(call["args"][0]["$b64"]))
    assert plaintext["header"]["openudid"] == value("openudid")
    assert plaintext["header"]["android_id"] == value("android_id")
    # The result went on the wire unchanged, and privlab's own ttEncrypt decoder reads it back.
    sealed = base64.b64decode(call["ret"]["$b64"])
    assert sealed.startswith(ttencrypt.MAGIC)
    assert json.loads(gzip.decompress(ttencrypt.decrypt(sealed).payload)) == plaintext
    flows = [json.loads(x) for x in (twin_session / "flows.jsonl").read_text().splitlines()]
    (carrier,) = [f for f in flows if f["path"] == "/service/2/app_log/"]
    findings = read_tables(twin_session).findings
    assert findings is not None
    (watched,) = [
        r for r in findings[findings["kind"] == "access"].itertuples() if list(r.apis) == [call["api"]]
    ]
    assert watched.sdk == "ByteDance" and list(watched.access_seqs) == [call["seq"]]
    assert {"openudid", "cdid", "install_id", "android_id"} <= set(watched.canary_ids)
    sent = findings[findings["finding_id"].isin(list(watched.related))]
    assert any(carrier["flow_id"] in list(ids) for ids in sent["flow_ids"])
    assert all(call["seq"] in list(seqs) for seqs in sent["access_seqs"])

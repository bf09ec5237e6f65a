"""`privlab apk` with a session: the APK joins the session with a custody record, its sha256 goes into
session.json, and apk/static.json is recorded; nothing recorded is ever overwritten."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.apk.store import run
from analysis.cli import main
from analysis.errors import SessionError
from analysis.session import Session

A2DP_SHA256 = "fb913cccb0957c5b52caea48c3ef7a3ce1d616219b47eed65482097920fe8cc5"


@pytest.fixture()
def a2dp(ref_data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "a2dp.Vol_137.apk"
    shutil.copy(ref_data / "apks" / "a2dp.Vol_137.apk", copy)
    return copy


@pytest.fixture()
def session(tmp_path: Path) -> Session:
    return Session.create(tmp_path / "captures", "apk-test", app={"package": "a2dp.Vol"})


def _chain(session: Session) -> list[dict]:
    return [json.loads(line) for line in (session.path / "custody.jsonl").read_text().splitlines()]


def test_apk_added_to_session_with_custody_and_sha256(a2dp: Path, session: Session) -> None:
    outcome = run(a2dp, session.path)
    assert outcome.added == ["a2dp.Vol_137.apk"] and outcome.session == session.id
    stored = session.path / "apk" / "a2dp.Vol_137.apk"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == A2DP_SHA256
    meta = session.reload()
    assert meta["app"]["apk_sha256"] == A2DP_SHA256
    assert meta["app"]["package"] == "a2dp.Vol" and meta["app"]["version_name"] == "2.12.9.2"
    assert meta["app"]["apks"] == [
        {"name": "a2dp.Vol_137.apk", "sha256": A2DP_SHA256, "size": 826576, "split": None}
    ]
    records = {r.get("file"): r for r in _chain(session)}
    assert records["apk/a2dp.Vol_137.apk"]["kind"] == "apk"
    assert records["apk/a2dp.Vol_137.apk"]["sha256"] == A2DP_SHA256
    static = session.path / "apk" / "static.json"
    assert records["apk/static.json"]["sha256"] == hashlib.sha256(static.read_bytes()).hexdigest()
    assert json.loads(static.read_text())["sha256"] == A2DP_SHA256


def test_rerun_on_the_session_changes_nothing(a2dp: Path, session: Session) -> None:
    run(a2dp, session.path)
    before = (session.path / "custody.jsonl").read_bytes()
    meta_before = (session.path / "session.json").read_bytes()
    again = run(session.path)  # `privlab apk <session>`: the session's own APKs
    assert again.unchanged and again.added == []
    assert (session.path / "custody.jsonl").read_bytes() == before
    assert (session.path / "session.json").read_bytes() == meta_before


def test_different_result_is_not_written_over_the_recorded_one(
    a2dp: Path, session: Session, tmp_path: Path
) -> None:
    run(a2dp, session.path)
    recorded = (session.path / "apk" / "static.json").read_bytes()
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps({"trackers": {"1": {"name": "A2dpOwn", "code_signature": "a2dp.Vol.", "categories": []}}})
    )
    with pytest.raises(SessionError, match="never overwritten"):
        run(session.path, registry_paths=[extra])
    assert (session.path / "apk" / "static.json").read_bytes() == recorded
    # the new analysis can go elsewhere
    outcome = run(session.path, tmp_path / "elsewhere", registry_paths=[extra])
    assert outcome.static_path == tmp_path / "elsewhere" / "static.json"
    assert any(s["entity"] == "exodus:A2dpOwn" for s in json.loads(outcome.static_path.read_text())["sdks"])


def test_package_mismatch_refused_before_anything_is_written(ref_data: Path, tmp_path: Path) -> None:
    session = Session.create(tmp_path, "other-app", app={"package": "com.zhiliaoapp.musically"})
    chain_before = (session.path / "custody.jsonl").read_bytes()
    with pytest.raises(
        SessionError, match="recorded app 'com.zhiliaoapp.musically' but the APK is 'a2dp.Vol'"
    ):
        run(ref_data / "apks" / "a2dp.Vol_137.apk", session.path)
    assert not (session.path / "apk").exists()
    assert (session.path / "custody.jsonl").read_bytes() == chain_before


def test_sealed_session_is_not_written(a2dp: Path, session: Session, tmp_path: Path) -> None:
    run(a2dp, session.path)
    session.update_meta(lambda m: m.update(status="sealed"), reason="test-seal")
    with pytest.raises(SessionError, match="sealed; write the analysis elsewhere with --out"):
        run(a2dp, session.path)
    assert run(session.path, tmp_path / "out").static_path.exists()


def test_session_without_apk(session: Session) -> None:
    with pytest.raises(SessionError, match="holds no APK"):
        run(session.path)


def test_cli_with_session(a2dp: Path, session: Session) -> None:
    result = CliRunner().invoke(main, ["apk", str(a2dp), "--out", str(session.path)])
    assert result.exit_code == 0, result.output
    assert "added to the session: apk/a2dp.Vol_137.apk" in result.output
    assert f"(session {session.id})" in result.output
    result = CliRunner().invoke(main, ["apk", str(session.path)])
    assert result.exit_code == 0 and "(unchanged)" in result.output


@pytest.mark.parametrize("status", ["incomplete", "sealed"])
def test_apk_out_never_writes_into_a_sealed_session(a2dp: Path, session: Session, status: str) -> None:
    """Issue 18: `privlab apk --out SESSION` wrote into a session sealed as incomplete and broke its seal."""
    from analysis.session.seal import seal_session
    from analysis.session.verify import verify_session

    seal_session(session, status=status, reason="test" if status == "incomplete" else None)
    before = {p.name: p.read_bytes() for p in session.path.iterdir() if p.is_file()}
    result = CliRunner().invoke(main, ["apk", str(a2dp), "--out", str(session.path)])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "write the analysis elsewhere with --out DIR" in result.output
    assert {p.name: p.read_bytes() for p in session.path.iterdir() if p.is_file()} == before
    assert not (session.path / "apk").exists()
    assert verify_session(session.path).intact

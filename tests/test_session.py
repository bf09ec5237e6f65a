"""The session folder and the custody chain, with real files and real concurrent processes."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from analysis.errors import SessionError
from analysis.schema import Canary
from analysis.session import Session
from analysis.session import load_canaries
from analysis.session.custody import genesis_prev
from analysis.session.custody import read_lines
from analysis.session.custody import sha256_hex
from analysis.session.seal import seal_session
from analysis.session.verify import verify_session


def test_create_writes_genesis_bound_to_session_id(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "t", canaries=[Canary("a", "imei", "490154203237518")])
    lines, torn = read_lines(s.path / "custody.jsonl")
    genesis = json.loads(lines[0])
    assert torn == b""
    assert genesis["kind"] == "genesis" and genesis["ref"] == s.id
    assert genesis["prev"] == genesis_prev(s.id)
    assert json.loads(lines[1])["prev"] == sha256_hex(lines[0])
    assert [c.value for c in s.canaries()] == ["490154203237518"]
    assert s.status == "open"


def test_create_refuses_existing_folder(tmp_path: Path) -> None:
    Session.create(tmp_path, "t", session_id="fixed")
    with pytest.raises(SessionError, match="already exists"):
        Session.create(tmp_path, "t", session_id="fixed")


def test_mark_records_phase_and_is_refused_after_seal(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "t")
    s.mark("consent-shown")
    s.mark("consent-accepted")
    assert Session.open(s.path).current_phase() == "consent-accepted"
    seal_session(s)
    with pytest.raises(SessionError, match="sealed"):
        s.mark("late")
    with pytest.raises(SessionError, match="label"):
        Session.create(tmp_path, "u").mark("bad label!")


def _append_many(path: str, worker: int) -> None:
    s = Session.open(Path(path))
    for i in range(40):
        s.append("hooks.jsonl", f'{{"w":{worker},"i":{i}}}\n'.encode(), kind="hooks", ref=f"{worker}-{i}")


def test_concurrent_writers_keep_one_valid_chain(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "t")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(s.path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    report = verify_session(s.path)
    assert report.intact, report.problems
    assert (s.path / "hooks.jsonl").read_text().count("\n") == 160
    assert report.records == 3 + 160  # genesis, session.json, canaries.json, then the appends


def test_open_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="no such session folder"):
        Session.open(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    with pytest.raises(SessionError, match="not a privlab session"):
        Session.open(tmp_path / "x")
    (tmp_path / "x" / "session.json").write_text("{not json")
    with pytest.raises(SessionError, match="not valid JSON"):
        Session.open(tmp_path / "x")


def test_canaries_are_validated(tmp_path: Path) -> None:
    p = tmp_path / "canaries.json"
    p.write_text(
        json.dumps([{"id": "a", "kind": "imei", "value": "1"}, {"id": "a", "kind": "mac", "value": "2"}])
    )
    with pytest.raises(SessionError, match="repeats id"):
        load_canaries(p)
    p.write_text(json.dumps([{"id": "a", "kind": "shoe-size", "value": "44"}]))
    with pytest.raises(SessionError, match="unknown kind"):
        load_canaries(p)
    p.write_text(json.dumps({"id": "a"}))
    with pytest.raises(SessionError, match="JSON list"):
        load_canaries(p)

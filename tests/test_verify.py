"""Tamper matrix: every change to a sealed session is detected and named (file, record, hashes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.session import Session
from analysis.session.seal import generate_key
from analysis.session.seal import seal_session
from analysis.session.verify import verify_session

SAMPLE_FILES = [
    "session.json",
    "canaries.json",
    "custody.jsonl",
    "flows.mitm",
    "flows.jsonl",
    "ground_truth.json",
    "seal.json",
    "traffic.pcap",
    "logs/mitmdump.log",
]


@pytest.fixture
def sealed(tmp_path: Path, sample_session: Path) -> Path:
    dest = tmp_path / "s"
    shutil.copytree(sample_session, dest, ignore=shutil.ignore_patterns("derived", "report"))
    assert verify_session(dest).intact
    return dest


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_one_flipped_byte_in_any_file_is_named(sealed: Path, name: str) -> None:
    _flip(sealed / name)
    report = verify_session(sealed)
    assert not report.intact
    assert any(p.file == name or (name == "seal.json" and p.file) for p in report.problems), report.problems


def test_flipped_flow_byte_names_the_record_and_hashes(sealed: Path) -> None:
    _flip(sealed / "flows.mitm", 0.3)
    problems = [p for p in verify_session(sealed).problems if p.file == "flows.mitm" and p.record is not None]
    assert problems, "the custody record of the damaged flow must be named"
    p = problems[0]
    assert p.expected and p.found and p.expected != p.found
    assert "differ" in p.message


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("change", ["delete", "duplicate", "reorder"])
def test_custody_line_changes_are_detected(sealed: Path, change: str) -> None:
    chain = sealed / "custody.jsonl"
    lines = _lines(chain)
    if change == "delete":
        del lines[10]
    elif change == "duplicate":
        lines.insert(11, lines[10])
    else:
        lines[10], lines[11] = lines[11], lines[10]
    chain.write_bytes(b"".join(lines))
    report = verify_session(sealed)
    assert not report.intact
    chain_problems = [p for p in report.problems if p.file == "custody.jsonl"]
    assert any(p.record in (10, 11) for p in chain_problems), chain_problems


def test_dropped_and_added_files_are_named(sealed: Path) -> None:
    (sealed / "ground_truth.json").unlink()
    (sealed / "extra.txt").write_text("planted later")
    report = verify_session(sealed)
    messages = {(p.file, p.message) for p in report.problems}
    assert ("ground_truth.json", "file listed in the seal is missing") in messages
    assert ("extra.txt", "file was added after the seal") in messages


def test_derived_output_is_not_evidence(sealed: Path) -> None:
    (sealed / "derived").mkdir()
    (sealed / "derived" / "flows.parquet").write_bytes(b"rebuildable")
    assert verify_session(sealed).intact


def test_records_appended_after_seal_are_detected(sealed: Path) -> None:
    s = Session.open(sealed)
    s.chain.append("note", "late", "0" * 64)
    assert any("after the seal" in p.message for p in verify_session(sealed).problems)


def test_signature_verifies_and_binds_the_key(tmp_path: Path) -> None:
    key = tmp_path / "op.key"
    generate_key(key)
    other = tmp_path / "other.key"
    generate_key(other)
    s = Session.create(tmp_path, "signed")
    s.append("hooks.jsonl", b'{"seq":1}\n', kind="hooks", ref="1-1")
    seal_session(s, signing_key=key)
    ok = verify_session(s.path, pubkey=key.with_suffix(".pub"))
    assert ok.intact and ok.signed_by
    wrong = verify_session(s.path, pubkey=other.with_suffix(".pub"))
    assert any("different key" in p.message for p in wrong.problems)
    _flip(s.path / "hooks.jsonl")
    assert not verify_session(s.path, pubkey=key.with_suffix(".pub")).intact


def test_half_written_last_line_of_an_open_session_keeps_the_prefix(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "open")
    for i in range(5):
        s.append("hooks.jsonl", f'{{"seq":{i}}}\n'.encode(), kind="hooks", ref=str(i))
    with open(s.path / "custody.jsonl", "ab") as fh:
        fh.write(b'{"seq":8,"kind":"ho')  # a writer killed mid-line
    with open(s.path / "hooks.jsonl", "ab") as fh:
        fh.write(b'{"seq":5')
    report = verify_session(s.path)
    assert report.intact, report.problems
    assert any("incomplete" in n for n in report.notices)
    assert any("after the last custody record" in n for n in report.notices)
    # The same session sealed as incomplete still verifies, and says why.
    seal_session(Session.open(s.path), status="incomplete", reason="writer killed")
    sealed_report = verify_session(s.path)
    assert sealed_report.intact, sealed_report.problems


def test_cli_verify_exit_codes(sealed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(sealed)])
    assert ok.exit_code == 0 and "intact" in ok.output
    _flip(sealed / "flows.jsonl")
    bad = runner.invoke(main, ["verify", str(sealed)])
    assert bad.exit_code == 1 and "flows.jsonl" in bad.output
    missing = runner.invoke(main, ["verify", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "no such session folder" in missing.output
    assert "Traceback" not in missing.output


def _session_with_every_kind(tmp_path: Path) -> Path:
    s = Session.create(tmp_path, "kinds")
    s.append("hooks.jsonl", b'{"seq":1,"api":"ClipboardManager.getPrimaryClip"}\n', kind="hooks", ref="1-1")
    s.append("tls_failures.jsonl", b'{"sni":"log-va.tiktokv.com"}\n', kind="tls-failure", ref="x")
    s.add_file("apk/base.apk", b"PK\x03\x04 not really an apk", kind="apk")
    (s.path / "traffic.pcap").write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(40))
    s.record_file("traffic.pcap", kind="pcap")
    seal_session(s)
    return s.path


@pytest.mark.parametrize("name", ["hooks.jsonl", "tls_failures.jsonl", "apk/base.apk", "traffic.pcap"])
def test_other_file_kinds_flip_detected(tmp_path: Path, name: str) -> None:
    path = _session_with_every_kind(tmp_path)
    assert verify_session(path).intact
    _flip(path / name)
    assert any(p.file == name for p in verify_session(path).problems)

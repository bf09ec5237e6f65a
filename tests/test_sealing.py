"""Sealing everywhere: imported sessions sealed at import, power-loss tears told apart from tampering."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from analysis.cli import main
from analysis.session import Session
from analysis.session.custody import sha256_file
from analysis.session.seal import seal_session
from analysis.session.verify import verify_session


def test_imported_session_is_sealed_with_the_source_hash(ref_data: Path, tmp_path: Path) -> None:
    src = ref_data / "mitm_dumps" / "dumpfile-018.mitm"
    out = CliRunner().invoke(main, ["import", str(src), "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    session = next(tmp_path.iterdir())
    seal = json.loads((session / "seal.json").read_text())
    assert seal["status"] == "imported"
    assert seal["import_source"] == {"file": src.name, "sha256": sha256_file(src), "size": src.stat().st_size,
                                     "format": "mitm"}  # fmt: skip
    assert verify_session(session).intact
    # Any change to it is now seen (before: an imported session had no seal, so this went unnoticed).
    with open(session / "flows.jsonl", "ab") as fh:
        fh.write(b"\n")
    assert not verify_session(session).intact
    (session / ".planted.tmp").write_text("x")
    assert any(p.file == ".planted.tmp" for p in verify_session(session).problems)


def _session_with_writes(tmp_path: Path) -> Session:
    s = Session.create(tmp_path, "tear")
    for i in range(6):  # 3005-byte writes: a 4096-byte page boundary falls inside the last one
        s.append("flows.mitm", os.urandom(3000) + b"flow%d" % i, kind="flow", ref=str(i))
    return s


def test_power_loss_tear_of_the_last_write_is_an_interruption(tmp_path: Path) -> None:
    s = _session_with_writes(tmp_path)
    mitm = s.path / "flows.mitm"
    size = mitm.stat().st_size
    os.truncate(mitm, size - 1000)  # the custody record reached the disk, the last 1000 bytes did not
    report = verify_session(s.path)
    assert report.intact, report.problems
    assert any("did not reach the disk in full" in n and "not a change" in n for n in report.notices)
    # Sealed afterwards as incomplete (what an operator does after the crash): still an interruption.
    out = CliRunner().invoke(main, ["seal", str(s.path), "--incomplete", "power loss"])
    assert out.exit_code == 0, out.output
    report = verify_session(s.path)
    assert report.intact, report.problems
    assert any("did not reach the disk in full" in n for n in report.notices)
    # A cut made after the seal is tampering.
    os.truncate(mitm, size - 2000)
    assert not verify_session(s.path).intact


def test_zero_filled_tail_is_an_interruption_but_a_flipped_byte_is_not(tmp_path: Path) -> None:
    s = _session_with_writes(tmp_path)
    mitm = s.path / "flows.mitm"
    data = bytearray(mitm.read_bytes())
    page = (len(data) - 1) // 4096 * 4096  # zeros from the last page boundary on
    zeroed = data[:page] + bytes(len(data) - page)
    mitm.write_bytes(bytes(zeroed))
    report = verify_session(s.path)
    assert report.intact and any("did not reach the disk" in n for n in report.notices)
    flipped = bytearray(data)
    flipped[-10] ^= 1
    mitm.write_bytes(bytes(flipped))
    assert not verify_session(s.path).intact


def test_tear_before_the_last_write_is_tampering(tmp_path: Path) -> None:
    s = _session_with_writes(tmp_path)
    mitm = s.path / "flows.mitm"
    data = mitm.read_bytes()
    mitm.write_bytes(data[:3000] + data[3500:])  # bytes removed from the middle
    assert not verify_session(s.path).intact
    seal_session(Session.open(s.path), status="incomplete", reason="x")
    assert not verify_session(s.path).intact

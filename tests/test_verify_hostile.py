"""A hostile reader edits the session by hand: `verify` answers with named differences, never a traceback.

Each case here tracebacked before (issue 18, defect 6), or was not seen at all (hidden `.tmp` files,
the unsigned seal's limits).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.session.verify import verify_session


@pytest.fixture
def sealed(tmp_path: Path, sample_session: Path) -> Path:
    dest = tmp_path / "s"
    shutil.copytree(sample_session, dest, ignore=shutil.ignore_patterns("derived", "report"))
    return dest


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _custody_offset_string(s: Path) -> None:
    lines = (s / "custody.jsonl").read_bytes().splitlines(keepends=True)
    for i, line in enumerate(lines):
        rec = json.loads(line)
        if "offset" in rec:
            rec["offset"] = str(rec["offset"])
            lines[i] = json.dumps(rec).encode() + b"\n"
            break
    (s / "custody.jsonl").write_bytes(b"".join(lines))


def _custody_offset(value: int) -> Callable[[Path], None]:
    """A custody record whose offset is one no file holds (found by the mutation fuzz: `seek` overflowed)."""

    def edit(s: Path) -> None:
        lines = (s / "custody.jsonl").read_bytes().splitlines(keepends=True)
        for i, line in enumerate(lines):
            rec = json.loads(line)
            if "offset" in rec:
                rec["offset"] = value
                lines[i] = json.dumps(rec).encode() + b"\n"
                break
        (s / "custody.jsonl").write_bytes(b"".join(lines))

    return edit


def _custody_length_list(s: Path) -> None:
    lines = (s / "custody.jsonl").read_bytes().splitlines(keepends=True)
    rec = json.loads(lines[-2])
    rec["length"], rec["file"] = [1], 7
    lines[-2] = json.dumps(rec).encode() + b"\n"
    (s / "custody.jsonl").write_bytes(b"".join(lines))


TAMPERINGS: dict[str, Callable[[Path], None]] = {
    "custody offset is a string": _custody_offset_string,
    "custody length a list, file a number": _custody_length_list,
    "custody offset beyond any seek": _custody_offset(44169100000000000000000000),
    "custody offset negative": _custody_offset(-5),
    "seal files is a list": lambda s: _edit_json(s / "seal.json", lambda d: d.update(files=list(d["files"]))),
    "seal files entry is a string": lambda s: _edit_json(
        s / "seal.json", lambda d: d["files"].update({"flows.mitm": "x"})
    ),
    "seal signature is a string": lambda s: _edit_json(s / "seal.json", lambda d: d.update(signature="abc")),
    "seal signature is a list": lambda s: _edit_json(s / "seal.json", lambda d: d.update(signature=[1])),
    "seal chain_head is a list": lambda s: _edit_json(s / "seal.json", lambda d: d.update(chain_head=[0])),
    "seal uncovered is a number": lambda s: _edit_json(s / "seal.json", lambda d: d.update(uncovered=3)),
    "seal is deeply nested": lambda s: (s / "seal.json").write_text("[" * 100_000 + "]" * 100_000),
    "custody line deeply nested": lambda s: (s / "custody.jsonl").write_bytes(
        (s / "custody.jsonl").read_bytes() + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    ),
    "hidden tmp file added": lambda s: (s / ".flows.mitm.tmp").write_bytes(b"planted"),
    "hidden tmp file in logs": lambda s: (s / "logs" / ".x.tmp").write_bytes(b"planted"),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_hand_edits_are_named_differences_not_tracebacks(sealed: Path, name: str) -> None:
    TAMPERINGS[name](sealed)
    report = verify_session(sealed)
    assert not report.intact, name
    out = CliRunner().invoke(main, ["verify", str(sealed)], env={"COLUMNS": "200"})
    assert out.exit_code == 1, out.output
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    assert "NOT intact" in out.output


def test_pubkey_that_is_a_directory_or_not_a_key(sealed: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pub"
    garbage.write_bytes(b"\x00\xff not a key")
    for key in (tmp_path, garbage):
        out = CliRunner().invoke(main, ["verify", str(sealed), "--pubkey", str(key)])
        assert out.exit_code != 0
        assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
        assert str(key) in out.output and len(out.output.strip().splitlines()) == 1, out.output


def test_unsigned_seal_says_what_integrity_depends_on(sealed: Path) -> None:
    report = verify_session(sealed)
    assert report.intact
    seal = json.loads((sealed / "seal.json").read_text())
    assert any(
        "integrity depends on the seal hash being recorded elsewhere" in n and seal["seal_sha256"][:16] in n
        for n in report.notices
    )

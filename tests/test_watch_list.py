"""What `privlab capture --frida --watch/--watch-file` accepts, and the one-line errors for what it does not.

The watch list goes to the agent's `watch` module (hooks/src/android/watch.ts) as (class, method) pairs;
the capture that uses it on a real JVM is in test_frida_jvm.py and test_frida_twin_app.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.capture.frida import TIKTOK_WATCH_FILE
from analysis.capture.frida import parse_watch
from analysis.capture.frida import read_watch_file
from analysis.cli import main
from analysis.cli.capture import watch_list
from analysis.errors import CaptureError


@pytest.mark.parametrize(
    ("entry", "pair"),
    [
        ("com.bytedance.frameworks.encryptor.EncryptorUtil.a", ("com.bytedance.frameworks.encryptor.EncryptorUtil", "a")),
        ("com.bytedance.frameworks.encryptor.EncryptorUtil#a", ("com.bytedance.frameworks.encryptor.EncryptorUtil", "a")),
        ("privlab.twin.Probe$Box.seal", ("privlab.twin.Probe$Box", "seal")),
        ("  ms.bd.o.h#a ", ("ms.bd.o.h", "a")),
        ("com.example.Codec#$init", ("com.example.Codec", "$init")),  # Frida's name for a constructor
    ],
)  # fmt: skip
def test_entries_are_split_into_class_and_method(entry: str, pair: tuple[str, str]) -> None:
    assert parse_watch(entry) == pair


@pytest.mark.parametrize("entry", ["Encrypt", "com.example.Codec.", "#seal", "com..Codec.seal", "com.ex ample.C.m",
                                   "com.example.Codec#seal#x", "com.example.Codec.seal()", ""])  # fmt: skip
def test_a_bad_entry_is_named_in_the_error(entry: str) -> None:
    with pytest.raises(CaptureError, match=r"^watch entry .*: expected CLASS\.METHOD or CLASS#METHOD") as e:
        parse_watch(entry)
    assert repr(entry) in str(e.value)


def test_watch_file_skips_comments_and_names_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "watch.txt"
    good.write_text(
        "# encryption entry points\n\ncom.example.Codec.seal   # trailing comment\n"
        "com.example.Codec#open\n  # indented comment\n"
    )
    assert read_watch_file(good) == [("com.example.Codec", "seal"), ("com.example.Codec", "open")]
    bad = tmp_path / "bad.txt"
    bad.write_text("com.example.Codec.seal\nnot-a-method\n")
    with pytest.raises(CaptureError, match=r"bad\.txt:2: watch entry 'not-a-method': expected"):
        read_watch_file(bad)
    with pytest.raises(CaptureError, match=r"missing\.txt: cannot read the watch list"):
        read_watch_file(tmp_path / "missing.txt")


def test_entries_and_files_are_joined_in_order_without_repeats(tmp_path: Path) -> None:
    f = tmp_path / "w.txt"
    f.write_text("a.B.c\nd.E#f\n")
    assert watch_list(["d.E.f", "x.Y.z"], [f]) == [("d.E", "f"), ("x.Y", "z"), ("a.B", "c")]


def test_the_shipped_tiktok_list_names_a_source_for_every_entry() -> None:
    """Every entry of the shipped list follows a comment block that names where the name comes from."""
    entries = read_watch_file(TIKTOK_WATCH_FILE)
    assert ("com.ss.sys.ces.a", "leviathan") in entries
    blocks = TIKTOK_WATCH_FILE.read_text().split("\n\n")
    for block in blocks[1:]:
        lines = block.strip().splitlines()
        comment = " ".join(x for x in lines if x.startswith("#"))
        assert [x for x in lines if not x.startswith("#")], block
        assert "Source:" in comment and "@" in comment, block  # repository@commit


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frida", "--watch", "Encrypt"], "watch entry 'Encrypt': expected CLASS.METHOD"),
        (["--watch", "a.B.c"], "--watch/--watch-file need --frida"),
        (["--frida", "--watch-file", "nowhere.txt"], "nowhere.txt: cannot read the watch list"),
    ],
)
def test_cli_rejects_a_bad_watch_list_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["capture", "--host-command", "true", "--out", str(tmp_path), *args])
    assert r.exit_code == 2
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("privlab: error:") and message in lines[0], r.output
    assert list(tmp_path.iterdir()) == []  # refused before any session was made

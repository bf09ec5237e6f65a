"""`privlab destinations <session>` on a copy of the committed sample (control-app) session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main


@pytest.fixture(scope="module")
def session_copy(sample_session: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("cli") / "sample"
    shutil.copytree(sample_session, dst)
    return dst


def test_destinations_command_prints_owners_and_dated_sources(session_copy: Path, tmp_path: Path) -> None:
    csv = tmp_path / "dest.csv"
    result = CliRunner().invoke(
        main, ["destinations", str(session_copy), "--csv", str(csv)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("log-va.tiktokv.com", "TikTok", "ByteDance", "Pangle", "AppsFlyer", "third", "first"):
        assert text in out, text
    assert "loopback/loopback" in out  # lab server address: labelled, not looked up
    assert "2024-06-18" in out and "Public Suffix List" in out and "iptocc" in out
    assert csv.read_text().count("\n") >= 12


def test_destinations_command_with_a_user_list_and_bad_input(
    session_copy: Path, tracker_lists: Path, tmp_path: Path
) -> None:
    xray = tracker_lists / "xray" / "xray_blacklist_trackercontrol.json"
    ok = CliRunner().invoke(
        main, ["destinations", str(session_copy), "--registry", str(xray)], env={"COLUMNS": "250"}
    )
    assert ok.exit_code == 0, ok.output
    assert "X-Ray 2020 owner list" in ok.output
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    res = CliRunner().invoke(main, ["destinations", str(session_copy), "--registry", str(bad)])
    assert res.exit_code == 2
    assert "bad.json: not a tracker list" in res.output and "Traceback" not in res.output
    missing = CliRunner().invoke(main, ["destinations", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output

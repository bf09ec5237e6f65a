"""Bad input to `privlab apk`: one-line errors or results marked partial, never a traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.apk.analyse import analyse
from analysis.apk.bundle import ApkError
from analysis.apk.bundle import Limits
from analysis.cli import main


def _rezip(src: Path, dst: Path, replace: dict[str, bytes]) -> Path:
    """Copy an APK, replacing some members' bytes (the signature no longer matches: that is fine here)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info)))
    return dst


@pytest.fixture()
def a2dp(ref_data: Path) -> Path:
    return ref_data / "apks" / "a2dp.Vol_137.apk"


def test_not_a_zip(tmp_path: Path) -> None:
    f = tmp_path / "notes.apk"
    f.write_text("hello")
    with pytest.raises(ApkError, match=r"notes\.apk: not an APK \(not a zip file\)"):
        analyse(f)


def test_truncated_zip(tmp_path: Path, a2dp: Path) -> None:
    f = tmp_path / "cut.apk"
    f.write_bytes(a2dp.read_bytes()[:5000])
    with pytest.raises(ApkError, match=r"cut\.apk: damaged zip"):
        analyse(f)


def test_zip_without_manifest_or_apks(tmp_path: Path) -> None:
    f = tmp_path / "docs.zip"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr("README.txt", "not an app")
    with pytest.raises(ApkError, match="neither AndroidManifest.xml nor APKs inside"):
        analyse(f)


def test_damaged_manifest_gives_partial_result(tmp_path: Path, a2dp: Path) -> None:
    f = _rezip(a2dp, tmp_path / "bad-manifest.apk", {"AndroidManifest.xml": b"\x03\x00\x08\x00garbage" * 10})
    r = analyse(f)
    assert r.partial and r.app is None
    assert "bad-manifest.apk: AndroidManifest.xml is damaged (not readable binary XML)" in r.problems
    assert r.classes == 1353  # the code is still analysed


def test_damaged_dex_gives_partial_result(tmp_path: Path, a2dp: Path) -> None:
    f = _rezip(a2dp, tmp_path / "bad-dex.apk", {"classes.dex": b"dex\n035\x00" + b"\xff" * 200})
    r = analyse(f)
    assert r.partial and r.app is not None and r.app.package == "a2dp.Vol"
    assert any(p.startswith("bad-dex.apk!classes.dex: could not be parsed") for p in r.problems)
    assert len(r.permissions) == 17


def test_huge_input_refused_with_limit(a2dp: Path) -> None:
    with pytest.raises(ApkError, match="over the .* GB input limit"):
        analyse(a2dp, limits=Limits(max_input_bytes=100_000))


def test_dex_budget_gives_partial_result(a2dp: Path) -> None:
    r = analyse(a2dp, limits=Limits(max_dex_bytes=1000))
    assert r.partial and r.classes == 0
    assert any("DEX size limit" in p for p in r.problems)
    assert r.app is not None and r.app.package == "a2dp.Vol"


def test_zip_bomb_member_in_bundle_refused(tmp_path: Path) -> None:
    f = tmp_path / "bomb.xapk"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("base.apk", b"PK\x03\x04" + b"\0" * 5_000_000)
    with pytest.raises(ApkError, match="looks like a zip bomb"):
        analyse(f)


def test_bundle_member_that_is_not_an_apk(tmp_path: Path) -> None:
    f = tmp_path / "odd.apks"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr("splits/base.apk", b"not a zip")
    with pytest.raises(ApkError, match=r"odd\.apks!splits/base\.apk: not an APK"):
        analyse(f)


@pytest.mark.parametrize("content", [b"hello", b"PK\x03\x04broken"])
def test_cli_prints_one_line_and_exits_2(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "x.apk"
    f.write_bytes(content)
    result = CliRunner().invoke(main, ["apk", str(f), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("privlab: error:") and "x.apk" in lines[0]
    assert not (tmp_path / "out").exists()


def test_cli_partial_result_is_marked(tmp_path: Path, ref_data: Path) -> None:
    result = CliRunner().invoke(
        main, ["apk", str(ref_data / "apks" / "multidex.apk"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "partial: multidex.apk: no AndroidManifest.xml" in result.output
    assert (tmp_path / "static.json").read_bytes().count(b'"partial": true') == 1

"""A tampered or incomplete session's report says so on its first page, in every format.

Before (issue 18): a report of a tampered session was built as if nothing happened, with a "NO" in the
integrity appendix only. Real sample session, real analysis, real report writers, PDF read back with
poppler's pdftotext (first page only), DOCX with python-docx.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from analysis.analyze.load import load_session
from analysis.report import build_report
from analysis.session import Session
from analysis.session.seal import seal_session


@pytest.fixture
def session(tmp_path: Path, sample_session: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRIVLAB_STATE", str(tmp_path / "state"))
    s = tmp_path / "s"
    shutil.copytree(sample_session, s, ignore=shutil.ignore_patterns("derived", "report"))
    return s


def _first_page(paths: dict[str, Path]) -> dict[str, str]:
    pdf = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(paths["pdf"]), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    html = paths["html"].read_text()
    d = docx.Document(str(paths["docx"]))
    return {
        "pdf": " ".join(pdf.split()),
        "html": html[: html.index('<section id="summary">')],
        "docx": " ".join(p.text for p in d.paragraphs[:8]),
    }


def test_tampered_session_report_says_so_first(session: Path, tmp_path: Path) -> None:
    tables = load_session(session)
    data = bytearray((session / "flows.mitm").read_bytes())
    data[len(data) // 2] ^= 0x01
    (session / "flows.mitm").write_bytes(bytes(data))
    paths = build_report(session, tables, "html,pdf,docx,json", tmp_path / "out")
    for fmt, text in _first_page(paths).items():
        assert "VERIFICATION FAILED" in text, fmt
        assert "flows.mitm" in text, fmt
    doc = json.loads(paths["json"].read_text())
    assert doc["integrity"]["standing"]["verified"] is False
    assert doc["integrity"]["standing"]["problem_count"] >= 1


def test_incomplete_unsigned_session_report_first_page(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "cut")  # killed before its first flow
    seal_session(s, status="incomplete", reason="capture process killed")
    seal = json.loads((s.path / "seal.json").read_text())
    tables = load_session(s.path)
    paths = build_report(s.path, tables, "html,pdf,docx,json", tmp_path / "out")
    for fmt, text in _first_page(paths).items():
        assert "INCOMPLETE" in text and "capture process killed" in text, fmt
        assert "integrity depends on the seal hash being recorded elsewhere" in text, fmt
        assert seal["seal_sha256"] in text.replace(" ", ""), fmt
        assert seal["chain_head"]["line_sha256"] in text.replace(" ", ""), fmt


def test_intact_sample_report_is_verified(session: Path, tmp_path: Path) -> None:
    paths = build_report(session, load_session(session), "html,json", tmp_path / "out")
    st = json.loads(paths["json"].read_text())["integrity"]["standing"]
    assert st["verified"] is True and st["problems"] == []
    assert "Verified" in st["headline"]

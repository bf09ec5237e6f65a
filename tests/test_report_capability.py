"""The report's capability-vs-observed table: the exact APK's static analysis beside what the session saw."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from docx import Document

from analysis.analyze.load import load_session
from analysis.cli import main
from analysis.report import build_report
from analysis.session import Session


def test_capability_table_in_json_html_and_docx(tmp_path: Path, ref_data: Path) -> None:
    s = Session.create(tmp_path, "with-apk")
    apk = ref_data / "apks" / "a2dp.Vol_137.apk"
    r = CliRunner().invoke(main, ["apk", str(apk), "--out", str(s.path)])
    assert r.exit_code == 0, r.output
    assert (s.path / "apk" / "static.json").exists()
    written = build_report(s.path, load_session(s.path), ["json", "html", "docx"], tmp_path / "out")
    doc = json.loads(written["json"].read_text())
    rows = {row["data_type"]: row for row in doc["capability"]}
    # a2dp.Vol asks for contacts and fine location (androguard's summary of this APK).
    assert rows["contact"]["permission_held"] is True
    assert rows["location"]["permission_held"] is True
    assert all(row["observed_sent"] == 0 for row in rows.values())  # nothing was captured in this session
    html = written["html"].read_text()
    assert 'id="capability"' in html and "android.permission.READ_CONTACTS" in html
    tables = Document(str(written["docx"])).tables
    assert any(t.rows[0].cells[0].text == "data type" and len(t.rows) == len(rows) + 1 for t in tables)


def test_no_apk_no_capability_section(tmp_path: Path, sample_session: Path) -> None:
    out = tmp_path / "out"
    written = build_report(sample_session, load_session(sample_session), ["json", "html"], out)
    assert json.loads(written["json"].read_text())["capability"] is None
    assert 'id="capability"' not in written["html"].read_text()

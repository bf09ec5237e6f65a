"""The report exports: PDF read back with poppler, DOCX with python-docx, determinism, redaction, CSP, CLI.

The session folder is real (Session, custody, seal, signature); the tables are test fixtures
(tests/test_report_fixtures.py), with planted credentials and XSS payloads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_report_fixtures import BIDI
from test_report_fixtures import CJK
from test_report_fixtures import SECRET_TOKENS
from test_report_fixtures import make_session
from test_report_fixtures import make_tables

from analysis.errors import PrivlabError
from analysis.report import build_report
from analysis.report import parse_formats
from analysis.report.document import visible_controls
from analysis.report.docx import FINDINGS_TABLE_COLUMNS
from analysis.report.redact import REDACTED
from analysis.report.redact import redact_headers
from analysis.report.redact import redact_segments
from analysis.report.redact import redact_text

# The shape `privlab validate` stores (analysis/validation/measure.py `validation_record`); numbers are
# test fixtures.
VALIDATION = {
    "format": 1,
    "session_id": "validate-0001",
    "measured_at": 1_700_000_000.0,
    "tools": {"privlab": "0.1.0"},
    "total": {
        "planted": 52,
        "found": 51,
        "recall": 0.981,
        "decoys": 25,
        "decoys_reported": 1,
        "false_positive_rate": 0.04,
    },
    "by_data_type": {
        "android_id": {
            "planted": 40,
            "found": 39,
            "recall": 0.975,
            "decoys": 10,
            "decoys_reported": 0,
            "false_positive_rate": 0.0,
        },
        "clipboard": {
            "planted": 12,
            "found": 12,
            "recall": 1.0,
            "decoys": 15,
            "decoys_reported": 1,
            "false_positive_rate": 0.067,
        },
    },
    "by_encoding": {
        "gzip>json>base64": {
            "planted": 10,
            "found": 9,
            "recall": 0.9,
            "decoys": 0,
            "decoys_reported": 0,
            "false_positive_rate": 0.0,
        }
    },
    "by_step": {},
    "missed": [
        {
            "probe": "p17",
            "canary_id": "android_id",
            "data_type": "android_id",
            "part": "body:$.x",
            "encoding": "gzip>json>base64",
        }
    ],
    "decoys_reported": [],
    "unplanned_canary_hits": 0,
    "pattern_hits_on_decoys": 2,
}

SECTIONS = (
    "Summary",
    "Session, device, app and tools",
    "Methodology",
    "Findings",
    "Destinations",
    "Timeline",
    "Coverage",
    "Integrity appendix",
    "Glossary",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One signed session, reported in every format (redacted), again (html/json), and unredacted."""
    root = tmp_path_factory.mktemp("report")
    from analysis.session.seal import generate_key

    key = root / "operator.pem"
    generate_key(key)
    session = make_session(root, sign_key=key)
    tables = make_tables(hostile=True)
    first = build_report(session, tables, "html,pdf,docx,json")
    again = build_report(session, tables, ["html", "json", "pdf", "docx"], root / "again")
    raw = build_report(session, tables, "html,json", root / "raw", redact=False, validation=VALIDATION)
    return {"session": session, "first": first, "again": again, "raw": raw, "root": root}


def _doc(paths: dict[str, Path]) -> dict[str, Any]:
    return json.loads(paths["json"].read_bytes())


def test_default_output_folder_and_files(built: dict[str, Any]) -> None:
    out = built["session"] / "report"
    first = built["first"]
    assert {first[k] for k in ("html", "pdf", "docx", "json")} == {
        out / "report.html",
        out / "report.pdf",
        out / "report.docx",
        out / "findings.json",
    }
    charts = sorted(p.name for k, p in first.items() if k.startswith("chart:"))
    assert charts == sorted(
        f"chart-{n}.svg" for n in ("data-types-by-entity", "flows-by-country", "timeline", "volume-by-entity")
    )
    assert all(p.stat().st_size > 0 for p in first.values())


def test_exports_are_byte_identical_across_builds(built: dict[str, Any]) -> None:
    a, b = built["first"], built["again"]
    assert a["html"].read_bytes() == b["html"].read_bytes()
    assert a["json"].read_bytes() == b["json"].read_bytes()
    assert a["docx"].read_bytes() == b["docx"].read_bytes()
    # The PDF may differ only in its metadata (dates, document id).
    meta = re.compile(rb"/(CreationDate|ModDate) \([^)]*\)|/ID \[[^\]]*\]")
    assert meta.sub(b"", a["pdf"].read_bytes()) == meta.sub(b"", b["pdf"].read_bytes())
    for k in a:
        if k.startswith("chart:"):
            assert a[k].read_bytes() == b[k].read_bytes()


def test_findings_json_is_versioned_and_complete(built: dict[str, Any]) -> None:
    doc = _doc(built["first"])
    assert doc["format"] == "privlab-findings" and doc["version"] == "1.0"
    assert doc["redacted"] is True and doc["validation"] is None
    kinds = [f["kind"] for f in doc["findings"]]
    assert kinds.count("transmission") == 5 and kinds.count("access") == 4
    assert [s["finding_id"] for s in doc["summary"]] == [f["finding_id"] for f in doc["findings"]]
    ex = doc["findings"][1]["exhibits"][0]
    assert ex["custody"]["file"] == "flows.mitm" and re.fullmatch(r"[0-9a-f]{64}", ex["custody"]["sha256"])
    integrity = doc["integrity"]
    assert integrity["sealed"] and integrity["signature"]["valid"] is True
    assert all(f["matches"] for f in integrity["files"])
    assert {"custody.jsonl", "session.json", "flows.mitm", "tls_failures.jsonl"} <= {
        f["name"] for f in integrity["files"]
    }
    assert doc["coverage"]["tls_failures"] == 2


def test_findings_json_is_documented(built: dict[str, Any], repo: Path) -> None:
    """docs/findings-json.md names every key the exporter writes (datasette-style docs-vs-code test)."""
    text = (repo / "docs" / "findings-json.md").read_text()
    doc = _doc(built["first"])
    keys: set[str] = set(doc)
    keys |= (
        set(doc["findings"][0])
        | set(doc["findings"][1]["exhibits"][0])
        | set(doc["findings"][1]["access"][0])
    )
    keys |= set(doc["session"]) | set(doc["coverage"]) | set(doc["integrity"]) | set(doc["destinations"][0])
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert missing == []


def test_html_has_strict_csp_matching_its_inline_code(built: dict[str, Any]) -> None:
    html = built["first"]["html"].read_text()
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
        assert len(bodies) == 1
        digest = base64.b64encode(hashlib.sha256(bodies[0].encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp
    assert "http://" not in html.split("<body>")[0] and "<link" not in html


def test_html_escapes_hostile_capture(built: dict[str, Any]) -> None:
    html = built["first"]["html"].read_text()
    body = html.split("<body>", 1)[1]
    assert "<script>window" not in body and "<img src=x" not in body
    assert "<svg/onload" not in body and "<svg onload" not in body and "<iframe" not in body
    assert "&lt;script&gt;window.__xss_url=1&lt;/script&gt;" in body
    assert len(re.findall(r"<script>", html)) == 1


def test_bidi_controls_are_shown_visibly_in_every_rendered_format(built: dict[str, Any]) -> None:
    """Issue 18: U+202E appeared raw in the HTML. The rendered text of HTML, PDF and DOCX shows `<U+202E>`
    and holds no raw bidirectional control; findings.json keeps the exact captured value."""
    first = built["first"]
    controls = ("\u202e", "\u2066", "\u2069")
    html = first["html"].read_text()
    assert "invoice&lt;U+202E&gt;fdp.exe &lt;U+2066&gt;iso&lt;U+2069&gt;" in html
    pdf = subprocess.run(
        ["pdftotext", str(first["pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "invoice<U+202E>fdp.exe" in pdf.replace("\n", "")
    with zipfile.ZipFile(first["docx"]) as z:
        docx = z.read("word/document.xml").decode()
    assert "invoice&lt;U+202E&gt;fdp.exe &lt;U+2066&gt;iso&lt;U+2069&gt;" in docx
    for name, text in (("html", html), ("pdf", pdf), ("docx", docx)):
        assert not any(c in text for c in controls), f"raw bidi control in {name}"
    assert BIDI in json.dumps(_doc(first), ensure_ascii=False)


def test_redaction_removes_planted_secrets_from_every_export(built: dict[str, Any]) -> None:
    first = built["first"]
    texts = {k: p.read_bytes().decode("utf-8", "replace") for k, p in first.items() if k in ("html", "json")}
    texts.update({k: p.read_text() for k, p in first.items() if k.startswith("chart:")})
    with zipfile.ZipFile(first["docx"]) as z:
        texts["docx"] = "".join(
            z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")
        )
    texts["pdf"] = subprocess.run(
        ["pdftotext", str(first["pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    for name, text in texts.items():
        for token in SECRET_TOKENS:
            assert token not in text, f"{token} leaked into {name}"
    assert REDACTED in texts["json"] and REDACTED in texts["html"]
    # The evidence itself is kept: the matched values are still shown.
    assert "a1b2c3d4e5f60718" in texts["json"] and "privlab-clip-7f3a" in texts["html"]


def test_no_redact_shows_secrets_and_says_so(built: dict[str, Any]) -> None:
    raw = built["raw"]
    html = raw["html"].read_text()
    doc = _doc(raw)
    assert doc["redacted"] is False
    assert all(t in raw["json"].read_text() for t in SECRET_TOKENS)
    assert 'id="no-redact"' in html and "--no-redact" in html


def test_validation_numbers_are_quoted_or_not_measured(built: dict[str, Any]) -> None:
    plain = built["first"]["html"].read_text()
    assert 'id="validation-not-measured"' in plain and "Not measured" in plain
    html = built["raw"]["html"].read_text()
    assert "validation-not-measured" not in html
    assert "0.975" in html and "gzip&gt;json&gt;base64" in html and "p17" in html
    assert "Per data type" in html and "Per encoding chain" in html
    assert _doc(built["raw"])["validation"]["by_data_type"]["android_id"]["recall"] == 0.975


def test_pdf_has_sections_page_numbers_cjk_and_renders(built: dict[str, Any], tmp_path: Path) -> None:
    pdf = built["first"]["pdf"]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for title in SECTIONS:
        assert title in text, title
    assert re.search(r"page 1 of \d+", text)
    assert re.search(r"E-1\s+\(p\. \d+\)", text)  # exhibit references carry their page
    assert CJK in text  # Chinese text is typeset, not tofu
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "WenQuanYi" in fonts
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2 and all(p.stat().st_size > 1000 for p in pages)


def test_docx_findings_table_matches_findings_json(built: dict[str, Any]) -> None:
    import docx

    d = docx.Document(str(built["first"]["docx"]))
    doc = _doc(built["first"])
    table = next(t for t in d.tables if tuple(c.text for c in t.rows[0].cells) == FINDINGS_TABLE_COLUMNS)
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    # The same values; a bidirectional control is shown by code point (`<U+202E>`) in the document, exact in the JSON.
    assert rows == [[visible_controls(str(f[c])) for c in FINDINGS_TABLE_COLUMNS] for f in doc["findings"]]
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    for title in SECTIONS[:-1]:
        assert title in headings
    assert len(d.inline_shapes) == 4  # the charts
    # Control characters from captured bodies (XML cannot hold them) are shown escaped, not dropped.
    assert any("\\x00\\x07\\x1b" in p.text for p in d.paragraphs)


def test_report_never_writes_into_the_evidence(built: dict[str, Any]) -> None:
    session = built["session"]
    with pytest.raises(PrivlabError, match="inside the session's evidence"):
        build_report(session, make_tables(), "json", session)
    with pytest.raises(PrivlabError, match="inside the session's evidence"):
        build_report(session, make_tables(), "json", session / "apk")


def test_parse_formats() -> None:
    assert parse_formats("json, HTML") == ["html", "json"]
    with pytest.raises(PrivlabError, match="unknown report format odt"):
        parse_formats("html,odt")
    with pytest.raises(PrivlabError, match="no report format"):
        parse_formats(" , ")


def test_redact_text_cases() -> None:
    assert redact_text("Authorization: Bearer abcdef123456") == f"Authorization: {REDACTED}"
    assert redact_text("x=1&access_token=zzz999&device_id=42") == f"x=1&access_token={REDACTED}&device_id=42"
    assert (
        redact_text('{"password": "hunter22", "aid": 1233}') == f'{{"password": "{REDACTED}", "aid": 1233}}'
    )
    assert redact_text("sid=abc") == f"sid={REDACTED}"
    assert redact_text("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig") == f"jwt {REDACTED}"
    assert redact_text("device_id=123&install_id=456") == "device_id=123&install_id=456"
    assert redact_headers([("Cookie", "a=b"), ("X-Tt-Token", "t"), ("User-Agent", "ua")]) == [
        ("Cookie", REDACTED),
        ("X-Tt-Token", REDACTED),
        ("User-Agent", "ua"),
    ]


def test_redact_segments_keeps_the_matched_evidence() -> None:
    segs = [("token=abc123&id=", False), ("a1b2c3", True), ("&session=zz", False)]
    assert redact_segments(segs) == [
        (f"token={REDACTED}&id=", False),
        ("a1b2c3", True),
        (f"&session={REDACTED}", False),
    ]
    # A match inside a credential value stays visible: it is the evidence.
    inside = [("token=", False), ("a1b2c3", True), ("&x=1", False)]
    out = redact_segments(inside)
    assert ("a1b2c3", True) in out


def test_cli_rejects_bad_format_with_one_line(built: dict[str, Any]) -> None:
    from analysis.cli import main

    result = CliRunner().invoke(main, ["report", str(built["session"]), "--format", "html,odt"])
    assert result.exit_code == 2
    assert "unknown report format odt" in result.output and "Traceback" not in result.output


def test_cli_rejects_a_missing_validation_record(built: dict[str, Any], tmp_path: Path) -> None:
    from analysis.cli import main

    args = ["report", str(built["session"]), "--validation", str(tmp_path / "none.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "validation record not found" in result.output


def test_cli_rejects_a_missing_session(tmp_path: Path) -> None:
    from analysis.cli import main

    result = CliRunner().invoke(main, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such session folder" in result.output


def test_cli_reports_the_sample_session(sample_session: Path, tmp_path: Path) -> None:
    """End to end on the committed sample: analyze (via load_session) + report, paths printed."""
    from analysis.cli import main

    session = tmp_path / sample_session.name
    shutil.copytree(sample_session, session, ignore=shutil.ignore_patterns("report"))
    result = CliRunner().invoke(main, ["report", str(session), "--format", "html,json"])
    assert result.exit_code == 0, result.output
    out = session / "report"
    assert str(out / "report.html") in result.output.replace("\n", "")
    doc = json.loads((out / "findings.json").read_bytes())
    assert doc["session"]["id"] and doc["integrity"]["sealed"]
    assert all(f["matches"] for f in doc["integrity"]["files"])

"""A corpus of credential shapes, each with a unique secret, through all four report formats.

Issue 18 found passwords in XML, single-quoted dicts, `password: x` lines and free text shown by the
default (redacted) report. Each shape below carries its own secret; the report is built twice from
the same real session: unredacted (every secret must appear, so the test is not vacuous) and
redacted (no secret may appear in HTML, PDF text, DOCX XML or JSON).
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from test_report_fixtures import make_session
from test_report_fixtures import make_tables

from analysis.report import build_report
from analysis.report.redact import REDACTED
from analysis.report.redact import redact_text

SHAPES = [
    "<password>{S}</password>",
    "<Password>{S}</Password>",
    "<ns:authToken>{S}</ns:authToken>",
    '<user name="ana" password="{S}"/>',
    "<login token='{S}'/>",
    "{{'password': '{S}', 'aid': 1233}}",
    "{{'api_key': \"{S}\"}}",
    "{{'session': '{S}', 'x': 1}}",
    "password: {S}",
    "  secret: {S}",
    'passwd: "{S}"',
    "pwd = {S}",
    "API_KEY={S}",
    "{{accessKey: '{S}'}}",
    "'password' => '{S}'",
    '{{"password":"{S}"}}',
    '{{"refresh_token": "{S}"}}',
    "https://h.example/cb?access_token={S}&state=1",
    "user=ana&password={S}",
    "Cookie: sid={S}",
    "Set-Cookie: sessionid={S}; Path=/",
    "Authorization: Bearer {S}",
    "Basic {S}",
    "X-Api-Key: {S}",
    "client_secret={S}",
    "%22password%22%3A%22{S}%22",
    "my password is {S} thanks",
    "the PIN was {S}.",
    "passphrase: {S}",
    "API key is {S}",
    "Passwort: {S}",
]
SECRETS = [f"Cr3dShape{i:02d}q" for i in range(len(SHAPES))]
CORPUS = [shape.format(S=secret) for shape, secret in zip(SHAPES, SECRETS, strict=True)]


@pytest.mark.parametrize("i", range(len(CORPUS)))
def test_each_shape_is_redacted_in_text(i: int) -> None:
    out = redact_text(CORPUS[i])
    assert SECRETS[i] not in out and REDACTED in out, out


def test_prose_and_ordinary_text_kept() -> None:
    for text in ("device_id=42", "Host: log.tiktokv.com", "note: consent shown", "url https://x/?a=1",
                 "<name>ana</name>", "{'aid': 1233}", "PIN 4711"):  # fmt: skip
        assert redact_text(text) == text


def _texts(paths: dict[str, Path]) -> dict[str, str]:
    texts = {k: p.read_bytes().decode("utf-8", "replace") for k, p in paths.items() if k in ("html", "json")}
    if "docx" in paths:
        with zipfile.ZipFile(paths["docx"]) as z:
            texts["docx"] = "".join(
                z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")
            )
    if "pdf" in paths:
        texts["pdf"] = subprocess.run(["pdftotext", "-layout", str(paths["pdf"]), "-"], capture_output=True,
                                      text=True, check=True).stdout  # fmt: skip
    return texts


def test_corpus_in_all_four_report_formats(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    tables = make_tables()
    det = tables.detections
    # Each shape in the text around a detected value (the excerpt the report quotes), one per line.
    excerpt = '{"clip":"«privlab-clip-7f3a»"}\n' + "\n".join(CORPUS)
    det.loc[det["detection_id"] == "d2", "excerpt"] = excerpt
    raw = build_report(session, tables, "html,pdf,docx,json", tmp_path / "raw", redact=False)
    red = build_report(session, tables, "html,pdf,docx,json", tmp_path / "red")
    raw_texts, red_texts = _texts(raw), _texts(red)
    assert set(red_texts) == {"html", "json", "docx", "pdf"}
    for fmt, text in raw_texts.items():
        shown = [s for s in SECRETS if s in text.replace("\n", "").replace(" ", "")]
        assert len(shown) == len(SECRETS), f"{fmt}: the unredacted report shows only {len(shown)} shapes"
    for fmt, text in red_texts.items():
        flat = text.replace("\n", "").replace(" ", "")  # PDF may wrap a secret across lines
        leaked = [s for s in SECRETS if s in flat]
        assert not leaked, f"{fmt} leaks {leaked}"
        assert "privlab-clip-7f3a" in text  # the evidence itself is kept

"""Decode issues (bombs, corrupt encodings) are counted in the report's coverage with their flows.

Flows are real mitmproxy flows (mitmproxy.test.tflow) written with mitmproxy's FlowWriter into a real
session with custody records; the real analysis finds the bombs; the real report writers state them.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest
from mitmproxy import io as mitm_io
from mitmproxy.test import tflow

from analysis.analyze.load import load_session
from analysis.report import build_report
from analysis.session import Session
from analysis.session.seal import seal_session


def _flow_bytes(body: bytes, encoding: str | None) -> tuple[str, bytes]:
    flow = tflow.tflow(resp=True)
    flow.request.method = "POST"
    flow.request.headers["content-type"] = "application/json"
    if encoding:
        flow.request.headers["content-encoding"] = encoding
    flow.request.raw_content = body
    buf = io.BytesIO()
    mitm_io.FlowWriter(buf).add(flow)
    return flow.id, buf.getvalue()


def test_bombs_and_corrupt_bodies_are_in_the_coverage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVLAB_STATE", str(tmp_path / "state"))
    s = Session.create(tmp_path, "bombs")
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB from about 64 KiB: ratio far over 200
    ids = {}
    for name, body, enc in (("bomb", bomb, "gzip"), ("corrupt", b"\x1f\x8b\x08\x00garbage", "gzip"),
                            ("plain", b'{"a": 1}', None)):  # fmt: skip
        fid, data = _flow_bytes(body, enc)
        ids[name] = fid
        s.append("flows.mitm", data, kind="flow", ref=fid)
    seal_session(s, status="sealed")
    tables = load_session(s.path)
    issues = set(zip(tables.decode_issues["flow_id"], tables.decode_issues["issue"], strict=True))
    assert (ids["bomb"], "bomb") in issues and any(f == ids["corrupt"] for f, _ in issues)
    paths = build_report(s.path, tables, "html,docx,json", tmp_path / "out")
    doc = json.loads(paths["json"].read_text())
    rows = {r["issue"]: r for r in doc["coverage"]["decode_issues"]}
    assert ids["bomb"] in rows["bomb"]["flows"] and ids["plain"] not in rows["bomb"]["flows"]
    html = paths["html"].read_text()
    cov = html[html.index('<section id="coverage">') :]
    assert "Bodies not fully searched" in cov and ids["bomb"] in cov and ids["corrupt"] in cov
    with zipfile.ZipFile(paths["docx"]) as z:
        text = z.read("word/document.xml").decode()
    assert "Bodies not fully searched" in text and ids["bomb"] in text


def test_unindexed_flows_are_named_in_the_coverage() -> None:
    from analysis.report.decode_coverage import add_decode_coverage

    doc: dict = {"coverage": {"notes": []}}
    meta = {"capture": {"index_failed": [{"flow_id": "f-1", "error": "x"}, {"flow_id": "f-2", "error": "y"}]}}
    add_decode_coverage(doc, None, meta)
    assert doc["coverage"]["decode_issues"] == []
    (note,) = doc["coverage"]["notes"]
    assert note.startswith("2 flow(s) recorded in flows.mitm could not be indexed") and "f-1, f-2" in note

"""Consent marks after the fact on a sealed session: beside the seal (annotations.jsonl), never in it.

The session is the committed sample, recorded by privlab (real mitmdump, sealed). A mark an analyst adds
later leaves every sealed file byte for byte as it was, `verify` still says intact and checks the
annotation chain, findings split by phase, and the report shows the mark as the analyst's assertion.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.analyze.load import load_session
from analysis.analyze.stages import analyze
from analysis.cli import main
from analysis.corpus.catalogue import session_entry
from analysis.errors import PrivlabError
from analysis.session import Session
from analysis.session.annotations import ANNOTATIONS
from analysis.session.annotations import session_marks
from analysis.session.provenance import analyst_mark
from analysis.session.seal import generate_key
from analysis.session.verify import verify_session

# 23:59:26.5 UTC: after the control app started (23:59:26.15), between the sample's first transmissions (23:59:24.884, mac and imei to TikTok) and its
# e-mail transmission to TikTok (23:59:27.056); read off the sample's findings by hand.
CONSENT_AT = "2026-11-29T23:59:26.500Z"


@pytest.fixture
def sealed(tmp_path: Path, sample_session: Path) -> Path:
    dest = tmp_path / "s"
    shutil.copytree(sample_session, dest, ignore=shutil.ignore_patterns("derived", "report"))
    assert Session.open(dest).status == "sealed" and verify_session(dest).intact
    return dest


def _digests(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ANNOTATIONS and p.relative_to(path).parts[0] not in ("derived", "report")
    }


def _phases(path: Path) -> dict[tuple[str, str, str], set[str]]:
    f = load_session(path, refresh=False).findings
    out: dict[tuple[str, str, str], set[str]] = {}
    for k, d, e, p in zip(f["kind"], f["data_type"], f["entity"], f["phase"], strict=True):
        out.setdefault((k, d, e), set()).add(p)
    return out


def test_mark_a_sealed_session_keeps_the_seal_and_splits_findings(sealed: Path) -> None:
    analyze(sealed, show_progress=False)
    assert set().union(*_phases(sealed).values()) == {"before-consent"}
    before = _digests(sealed)
    runner = CliRunner()
    out = runner.invoke(
        main, ["mark", str(sealed), "consent-accepted", "--at", CONSENT_AT, "--note", "screen video 00:04"]
    )
    # Before: "session is sealed; a mark added now would break its seal".
    assert out.exit_code == 0, out.output
    assert "annotations.jsonl, beside the seal" in out.output
    assert _digests(sealed) == before  # session.json, custody, seal and evidence: byte for byte unchanged
    report = verify_session(sealed)
    assert report.intact, [str(p) for p in report.problems]
    (notice,) = [n for n in report.notices if n.startswith(ANNOTATIONS)]
    assert "1 analyst mark added after the seal" in notice and "unsigned" in notice
    # The one accessor: Session.meta, the corpus catalogue and session_marks agree.
    meta = Session.open(sealed).meta
    labels = [m["label"] for m in meta["marks"]]
    assert labels == ["app-start", "control-app-start", "consent-accepted"]
    assert meta["marks"][-1]["recorded_in"] == ANNOTATIONS and meta["marks"][-1]["by"] == "analyst"
    assert session_entry(sealed).phases[-1] == "consent-accepted"
    raw = json.loads((sealed / "session.json").read_bytes())
    assert [m["label"] for m in session_marks(sealed, raw)] == labels
    # Findings split by phase on a plain re-run: annotations.jsonl is among the findings stage's inputs.
    analyze(sealed, show_progress=False)
    phases = _phases(sealed)
    assert phases[("transmission", "mac", "TikTok")] >= {"before-consent"}  # first sent at 23:59:24.884
    assert phases[("transmission", "email", "TikTok")] == {"after-consent"}  # first at 23:59:27.056
    assert phases[("access", "imei", "ByteDance")] == {"before-consent"}  # read at 23:59:24.074
    rep = runner.invoke(main, ["report", str(sealed), "--format", "html,json"])
    assert rep.exit_code == 0, rep.output
    html = (sealed / "report" / "report.html").read_text()
    assert "an analyst&#39;s assertion" in html or "an analyst's assertion" in html
    assert "screen video 00:04" in html and "added after the seal, in annotations.jsonl" in html
    assert "kept beside the seal in annotations.jsonl" in html  # the limits section


def test_tampering_with_an_annotation_is_named(sealed: Path) -> None:
    s = Session.open(sealed)
    analyst_mark(s, "consent-accepted", 1795989552.0, "first")
    analyst_mark(s, "consent-withdrawn", 1795989553.0, "second")
    assert verify_session(sealed).intact
    lines = (sealed / ANNOTATIONS).read_bytes().splitlines(keepends=True)
    # Move the first mark by a second: its own line still parses, the next one's `prev` no longer matches.
    edited = lines[0].replace(b'"t":1795989552.0', b'"t":1795989551.0')
    assert edited != lines[0]
    (sealed / ANNOTATIONS).write_bytes(edited + lines[1])
    report = verify_session(sealed)
    assert not report.intact
    (problem,) = report.problems
    assert problem.file == ANNOTATIONS and problem.record == 1 and "chain broken" in problem.message
    # A broken chain is not read as marks past the break, and nothing more is appended to it.
    assert [m["label"] for m in Session.open(sealed).meta["marks"]][-1] == "consent-accepted"
    with pytest.raises(PrivlabError, match="does not verify"):
        analyst_mark(Session.open(sealed), "consent-accepted", 1795989552.0, "again")


def test_signed_marks_and_a_seal_swap(sealed: Path, tmp_path: Path) -> None:
    key = tmp_path / "analyst.pem"
    generate_key(key)
    analyst_mark(Session.open(sealed), "consent-accepted", 1795989552.0, "signed", key)
    report = verify_session(sealed)
    assert report.intact and any("the last one is signed" in n for n in report.notices)
    # Editing the last (signed) line, even re-encoded canonically, fails its signature.
    rec = json.loads((sealed / ANNOTATIONS).read_bytes())
    rec["label"] = "consent-refused"
    (sealed / ANNOTATIONS).write_bytes(
        json.dumps(rec, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    )
    (problem,) = verify_session(sealed).problems
    assert problem.message == "signature does not verify" and problem.record == 0
    # The chain is bound to this seal: the same annotation under an edited seal fails from record 0 (and
    # the seal's own hash check names the seal).
    (sealed / ANNOTATIONS).unlink()
    analyst_mark(Session.open(sealed), "consent-accepted", 1795989552.0, "")
    seal = json.loads((sealed / "seal.json").read_bytes())
    seal["seal_sha256"] = "0" * 64
    (sealed / "seal.json").write_text(json.dumps(seal))
    messages = [(p.file, p.record) for p in verify_session(sealed).problems]
    assert (ANNOTATIONS, 0) in messages and any(f == "seal.json" for f, _ in messages)


def test_unsealed_sessions_keep_marks_in_session_json(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "open")
    analyst_mark(s, "consent-accepted", 1.0, "n")
    assert not (s.path / ANNOTATIONS).exists()
    assert Session.open(s.path).meta["marks"][0]["label"] == "consent-accepted"
    stray = tmp_path / "open2"
    shutil.copytree(s.path, stray)
    (stray / ANNOTATIONS).write_text("{}\n")
    report = verify_session(stray)
    assert [p.message for p in report.problems if p.file == ANNOTATIONS] == [
        "present, but the session has no seal to annotate"
    ]

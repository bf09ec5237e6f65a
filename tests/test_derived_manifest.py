"""Derived data is checked, not trusted: a forged derived table never reaches the report.

The attack (issue 18, defect 4): rewrite `derived/flows.parquet` with a forged host, copying the real
file's stamp, so `analyze` skips it as up to date and the report shows the forged entity while
`verify` says intact. Real sample session, real analysis, real report writers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.analyze.load import load_session
from analysis.analyze.manifest import MANIFEST
from analysis.analyze.manifest import check_derived
from analysis.analyze.stages import analyze
from analysis.errors import SessionError
from analysis.session import Session

FORGED = "forged-entity.example"
PRIVLAB = [sys.executable, "-m", "analysis.cli"]


@pytest.fixture()
def analysed(tmp_path: Path, sample_session: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRIVLAB_STATE", str(tmp_path / "state"))
    s = tmp_path / "s"
    shutil.copytree(sample_session, s, ignore=shutil.ignore_patterns("derived", "report"))
    analyze(s, show_progress=False)
    return s


def _forge(path: Path) -> None:
    """Rewrite a table's host column, keeping its schema metadata (the inputs stamp) byte for byte."""
    table = pq.read_table(path)
    hosts = [FORGED] * table.num_rows
    i = table.schema.get_field_index("host")
    forged = table.set_column(i, table.schema.field(i), pa.array(hosts, type=table.schema.field(i).type))
    pq.write_table(forged.replace_schema_metadata(table.schema.metadata), path)


def _run(args: list[str], state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRIVLAB_STATE": str(state)}
    return subprocess.run(PRIVLAB + args, capture_output=True, text=True, env=env)


def test_manifest_records_every_derived_file_bound_to_the_chain(analysed: Path) -> None:
    doc = json.loads((analysed / "derived" / MANIFEST).read_text())
    names = {p.name for p in (analysed / "derived").glob("*.parquet")}
    assert set(doc["files"]) == names and "flows.parquet" in names
    seal = json.loads((analysed / "seal.json").read_text())
    assert doc["chain_head"] == seal["chain_head"]
    assert doc["hmac_sha256"] and check_derived(Session.open(analysed)) == []


def test_forged_table_with_copied_stamp_never_reaches_the_report(analysed: Path, tmp_path: Path) -> None:
    flows = analysed / "derived" / "flows.parquet"
    before = pq.read_schema(flows).metadata
    _forge(flows)
    assert pq.read_schema(flows).metadata == before  # the stamp is copied: the old check would skip it
    (bad,) = check_derived(Session.open(analysed))
    assert bad.name == "flows.parquet"
    with pytest.raises(SessionError, match="derived/flows.parquet"):
        load_session(analysed, refresh=False)  # a reader that does not rebuild refuses, naming it
    out = _run(["report", str(analysed), "--format", "html,json"], tmp_path / "state")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "derived/flows.parquet: sha256 differs from the manifest" in out.stderr
    report = analysed / "report"
    for f in report.iterdir():
        if f.suffix in (".html", ".json"):
            assert FORGED not in f.read_text(errors="replace"), f.name
    assert FORGED not in pq.read_table(flows).column("host").to_pylist()  # rebuilt from the evidence
    assert [p.name.endswith("flows.parquet") for p in (analysed / "derived" / "rejected").iterdir()] == [True]


def test_forged_manifest_and_table_together_are_rejected(analysed: Path, tmp_path: Path) -> None:
    """A forger who also rewrites the manifest's hashes cannot make its HMAC (the key is not in the session)."""
    flows = analysed / "derived" / "flows.parquet"
    _forge(flows)
    mpath = analysed / "derived" / MANIFEST
    doc = json.loads(mpath.read_text())
    import hashlib

    doc["files"]["flows.parquet"] = hashlib.sha256(flows.read_bytes()).hexdigest()
    mpath.write_text(json.dumps(doc))
    assert {m.name for m in check_derived(Session.open(analysed))} >= {"flows.parquet"}
    analyze(analysed, show_progress=False)
    assert FORGED not in pq.read_table(flows).column("host").to_pylist()


def test_deleted_manifest_or_added_file_means_rebuild(analysed: Path) -> None:
    (analysed / "derived" / "extra.parquet").write_bytes(b"x")
    assert [m.name for m in check_derived(Session.open(analysed))] == ["extra.parquet"]
    (analysed / "derived" / MANIFEST).unlink()
    assert {m.why for m in check_derived(Session.open(analysed))} == {"no manifest records it"}
    result = analyze(analysed, show_progress=False)
    assert "flows" in result.written  # rebuilt, not skipped as up to date
    assert check_derived(Session.open(analysed)) == []

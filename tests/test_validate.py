"""`privlab validate`: the control app's ground truth scored through the whole pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from analysis.cli import main
from analysis.validation.measure import load_validation
from analysis.validation.measure import score_session


def test_validate_scores_the_sample_and_stores_the_numbers(tmp_path: Path, sample_session: Path) -> None:
    session = tmp_path / "sample"
    shutil.copytree(sample_session, session, ignore=shutil.ignore_patterns("derived", "report"))
    store = tmp_path / "validation.json"
    r = CliRunner().invoke(main, ["validate", "--session", str(session), "--store", str(store)])
    assert r.exit_code == 0, r.output
    record = load_validation(store)
    assert record is not None
    truth = json.loads((session / "ground_truth.json").read_text())
    assert record["total"]["planted"] == sum(1 for t in truth if t["expect"] == "present")
    assert record["total"]["decoys"] == sum(1 for t in truth if t["expect"] == "absent")
    print(f"\nrecall {record['total']['recall']}, decoys reported {record['total']['decoys_reported']}")
    assert record["total"]["recall"] == 1.0, record["missed"]
    assert record["total"]["decoys_reported"] == 0, record["decoys_reported"]
    assert set(record["by_data_type"]) >= {"imei", "location", "clipboard", "vendor_id"}


def test_a_session_without_ground_truth_is_not_scored(tmp_path: Path) -> None:
    from analysis.session import Session

    s = Session.create(tmp_path, "plain")
    assert score_session(s.path) is None
    r = CliRunner().invoke(main, ["validate", "--session", str(s.path), "--store", str(tmp_path / "v.json")])
    assert r.exit_code == 2 and "ground_truth.json" in r.output

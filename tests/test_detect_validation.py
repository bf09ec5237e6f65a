"""Method validation on the committed control-app session: recall and false positives against ground truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from analysis.analyze.load import load_session
from analysis.detect.score import score
from analysis.schema import PlantedPart


def test_control_app_ground_truth_recall_and_decoys(sample_session: Path, tmp_path: Path) -> None:
    session = tmp_path / "sample"
    shutil.copytree(
        sample_session, session, ignore=shutil.ignore_patterns("derived")
    )  # analysis writes derived/
    truth = [PlantedPart.from_dict(d) for d in json.loads((session / "ground_truth.json").read_text())]
    tables = load_session(session)
    result = score(tables.detections, truth, tables.flows)
    print(result.summary())
    assert result.total.present >= 40 and result.total.decoys >= 5
    assert result.missed == []
    assert result.recall == 1.0
    assert result.decoys_reported == []
    assert result.false_positives == 0


def test_score_counts_misses_and_reported_decoys() -> None:
    import pandas as pd

    truth = [
        PlantedPart("p1", "imei", "imei", "body:udid", "json"),
        PlantedPart("p1", "aid", "android_id", "query:a", "md5"),
        PlantedPart("p2", "imei", "imei", "body:udid", "json", expect="absent"),
    ]
    detections = pd.DataFrame(
        [
            {"probe": "p1", "canary_id": "imei", "part": "body:udid", "encoding": "json", "method": "canary",
             "data_type": "imei", "excerpt": ""},
            {"probe": "p1", "canary_id": "aid", "part": "query:a", "encoding": "sha1", "method": "canary",
             "data_type": "android_id", "excerpt": ""},
            {"probe": "p2", "canary_id": "imei", "part": "body:udid", "encoding": "json", "method": "canary",
             "data_type": "imei", "excerpt": ""},
        ]
    )  # fmt: skip
    result = score(detections, truth)
    assert result.recall == 0.5
    assert [m.canary_id for m in result.missed] == ["aid"]  # found, but with the wrong encoding chain
    assert result.false_positives == 1
    assert result.by_data_type["imei"].recall == 1.0
    assert result.by_encoding["md5"].found == 0
    assert len(result.unplanned) == 1


def test_forms_real_sdks_send_recall_and_decoys() -> None:
    from analysis.detect.variants import FORM_STEPS
    from analysis.validation.measure import score_forms
    from analysis.validation.planted import FORM_CASES

    result = score_forms()
    print(result.summary())
    assert result.total.present == sum(c.expect == "present" for c in FORM_CASES) >= 12
    assert result.total.decoys >= 5
    assert result.missed == [] and result.decoys_reported == [] and result.unplanned == []
    steps = {s for chain in result.by_encoding for s in chain.split(">")}
    assert {"national", "digits", "decimal", "hexint", "nocheck", "canonical"} <= steps
    assert steps & set(FORM_STEPS)
    # The re-written forms come from Firebase protobuf labelled as a form, a multipart section, a URL key.
    chains = set(result.by_encoding)
    assert {"protobuf", "multipart>gzip>json>nocheck", "json>url>nosep"} <= chains

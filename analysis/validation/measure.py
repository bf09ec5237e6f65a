"""Measure the method: score a control-app session's detections against its own ground truth.

`privlab validate` captures the control app afresh, analyses it, scores it and stores the numbers in
`captures/validation.json`; reports quote that file in their methodology. Any session that carries a
`ground_truth.json` (every control-app session does) can be scored the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.analyze.load import load_session
from analysis.detect.score import Counts
from analysis.detect.score import ValidationScore
from analysis.detect.score import score
from analysis.errors import PrivlabError
from analysis.schema import PlantedPart
from analysis.session import Session
from analysis.validation.run import GROUND_TRUTH

VALIDATION_FORMAT = 1
DEFAULT_VALIDATION = Path("captures") / "validation.json"


def load_ground_truth(session_path: Path) -> list[PlantedPart] | None:
    """The session's ground truth, or None when it has none (not a control-app session)."""
    path = session_path / GROUND_TRUTH
    if not path.exists():
        return None
    try:
        return [PlantedPart.from_dict(d) for d in json.loads(path.read_text())]
    except (ValueError, TypeError) as e:
        raise PrivlabError(f"{path}: not a ground-truth list ({e})") from None


def score_session(session_path: Path) -> ValidationScore | None:
    """Score a session's detections against its ground truth (None without ground truth)."""
    truth = load_ground_truth(session_path)
    if truth is None:
        return None
    tables = load_session(session_path)
    return score(tables.detections, truth, tables.flows)


def _counts(c: Counts) -> dict[str, Any]:
    return {
        "planted": c.present,
        "found": c.found,
        "recall": round(c.recall, 4),
        "decoys": c.decoys,
        "decoys_reported": c.decoys_reported,
        "false_positive_rate": round(c.false_positive_rate, 4),
    }


def validation_record(result: ValidationScore, session: Session) -> dict[str, Any]:
    """The stored form of one validation run (stable key order, no build time beyond the session's own)."""
    return {
        "format": VALIDATION_FORMAT,
        "session_id": session.id,
        "measured_at": session.meta.get("ended"),
        "tools": session.meta.get("tools", {}),
        "total": _counts(result.total),
        "by_data_type": {k: _counts(v) for k, v in sorted(result.by_data_type.items())},
        "by_encoding": {k: _counts(v) for k, v in sorted(result.by_encoding.items())},
        "by_step": {k: _counts(v) for k, v in sorted(result.by_step.items())},
        "missed": [p.to_dict() for p in result.missed],
        "decoys_reported": [p.to_dict() for p in result.decoys_reported],
        "unplanned_canary_hits": len(result.unplanned),
        "pattern_hits_on_decoys": result.pattern_hits_on_decoys,
    }


def load_validation(path: Path = DEFAULT_VALIDATION) -> dict[str, Any] | None:
    """A stored validation record, or None when the method has not been measured here."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise PrivlabError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != VALIDATION_FORMAT:
        raise PrivlabError(f"{path}: not a privlab validation record")
    return data

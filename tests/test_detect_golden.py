"""Detection results are identical before and after the analyze speed-up (issue 16).

The goldens in tests/data/golden were written by tests/detections_golden.py from the code on main before
the speed and memory work (commit e770cfb); every row of `detections` and `decode_issues` (flow, part,
data type, canary, encoding chain, method, confidence, excerpt with the match's place) must come out the
same, table to table. A deliberate rule change regenerates them (see that module).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from detections_golden import SESSIONS
from detections_golden import build_session
from detections_golden import detection_rows
from detections_golden import golden

GOLDEN = Path(__file__).parent / "data" / "golden"


@pytest.mark.parametrize("name", SESSIONS)
def test_detections_match_golden(tmp_path: Path, name: str) -> None:
    got = detection_rows(build_session(name, tmp_path))
    want = golden(name, GOLDEN)
    assert len(want["detections"]) > 0
    for table in ("detections", "decode_issues"):
        want_keys = Counter(json.dumps(r, sort_keys=True, default=str) for r in want[table])
        got_keys = Counter(json.dumps(r, sort_keys=True, default=str) for r in got[table])
        missing, extra = list((want_keys - got_keys).elements()), list((got_keys - want_keys).elements())
        assert (missing[:5], extra[:5]) == ([], []), (
            f"{name} {table}: {len(missing)} missing, {len(extra)} extra"
        )
        assert got[table] == want[table]

"""Method validation: detections measured against the control app's ground truth.

The control app tags each request with `x-privlab-probe: <id>` and writes what it planted where as
`schema.PlantedPart`s (`expect="present"`), plus near-miss decoys (`expect="absent"`). A planted part is
found when a canary or runtime-value detection in that probe's flow names the same canary, part and
encoding chain. A decoy is reported (a false positive) when such a detection names the decoy's canary in
the decoy's part. Pattern detections have no canary and are counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pandas as pd

from analysis.schema import PROBE_HEADER
from analysis.schema import PlantedPart
from analysis.vocabulary import DetectionMethod

_GROUND_TRUTH_METHODS = (DetectionMethod.CANARY, DetectionMethod.RUNTIME_VALUE)


@dataclass
class Counts:
    """Planted parts and decoys for one data type or one encoding."""

    present: int = 0
    found: int = 0
    decoys: int = 0
    decoys_reported: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.present if self.present else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.decoys_reported / self.decoys if self.decoys else 0.0


@dataclass
class ValidationScore:
    """Recall and false positives overall, per data type, per encoding chain and per encoding step."""

    total: Counts
    by_data_type: dict[str, Counts]
    by_encoding: dict[str, Counts]
    by_step: dict[str, Counts]
    missed: list[PlantedPart] = field(default_factory=list)
    decoys_reported: list[PlantedPart] = field(default_factory=list)
    unplanned: list[dict[str, Any]] = field(
        default_factory=list
    )  # canary hits the ground truth does not name
    pattern_hits_on_decoys: int = 0

    @property
    def recall(self) -> float:
        return self.total.recall

    @property
    def false_positives(self) -> int:
        return self.total.decoys_reported

    def summary(self) -> str:
        """A few lines for a test log or the report's methodology section."""
        t = self.total
        lines = [
            f"recall {t.recall:.3f} ({t.found}/{t.present} planted parts found with the right part and encoding)",
            f"false positives {t.decoys_reported}/{t.decoys} decoys reported (rate {t.false_positive_rate:.3f})",
            f"canary detections not named by the ground truth: {len(self.unplanned)}; "
            f"pattern detections on decoy parts (reported apart): {self.pattern_hits_on_decoys}",
        ]
        for name, table in (("data type", self.by_data_type), ("encoding", self.by_encoding)):
            for key, c in sorted(table.items()):
                lines.append(
                    f"  {name} {key}: recall {c.found}/{c.present}, decoys reported {c.decoys_reported}/{c.decoys}"
                )
        for m in self.missed:
            lines.append(f"  MISSED {m.probe} {m.canary_id} {m.part} {m.encoding}")
        for d in self.decoys_reported:
            lines.append(f"  DECOY REPORTED {d.probe} {d.canary_id} {d.part} {d.encoding}")
        return "\n".join(lines)


def probes_of_flows(flows: pd.DataFrame) -> dict[str, str]:
    """flow_id -> probe id, from each flow's `x-privlab-probe` request header."""
    out: dict[str, str] = {}
    for flow_id, headers in zip(flows["flow_id"], flows["request_headers"], strict=True):
        for h in headers if headers is not None else []:
            if str(h["name"]).lower() == PROBE_HEADER:
                out[flow_id] = str(h["value"])
                break
    return out


def score(
    detections: pd.DataFrame, ground_truth: list[PlantedPart], flows: pd.DataFrame | None = None
) -> ValidationScore:
    """Score detections against ground truth. `detections` needs a `probe` column, or pass `flows`."""
    if "probe" in detections.columns:
        probes = detections["probe"]
    elif flows is not None:
        probes = detections["flow_id"].map(probes_of_flows(flows))
    else:
        raise ValueError("detections have no 'probe' column: pass the flows table too")
    det = detections.assign(probe=probes)
    truthful = det[det["method"].isin(_GROUND_TRUTH_METHODS)]
    hits = set(
        zip(truthful["probe"], truthful["canary_id"], truthful["part"], truthful["encoding"], strict=True)
    )
    named = set(zip(truthful["probe"], truthful["canary_id"], truthful["part"], strict=True))
    patterns = det[det["method"] == DetectionMethod.PATTERN]
    pattern_parts = set(zip(patterns["probe"], patterns["part"], strict=True))

    total = Counts()
    by_type: dict[str, Counts] = defaultdict(Counts)
    by_enc: dict[str, Counts] = defaultdict(Counts)
    by_step: dict[str, Counts] = defaultdict(Counts)
    result = ValidationScore(total, by_type, by_enc, by_step)
    for p in ground_truth:
        counters = [
            total,
            by_type[p.data_type],
            by_enc[p.encoding],
            *(by_step[s] for s in set(p.encoding.split(">"))),
        ]
        if p.expect == "absent":
            reported = (p.probe, p.canary_id, p.part) in named
            for c in counters:
                c.decoys += 1
                c.decoys_reported += int(reported)
            if reported:
                result.decoys_reported.append(p)
            result.pattern_hits_on_decoys += int((p.probe, p.part) in pattern_parts)
            continue
        ok = (p.probe, p.canary_id, p.part, p.encoding) in hits
        for c in counters:
            c.present += 1
            c.found += int(ok)
        if not ok:
            result.missed.append(p)
    planned = {(p.probe, p.canary_id, p.part, p.encoding) for p in ground_truth}
    probed = {p.probe for p in ground_truth}
    for row in truthful.itertuples():
        key = (row.probe, row.canary_id, row.part, row.encoding)
        if row.probe in probed and key not in planned:
            result.unplanned.append(
                {
                    "probe": row.probe,
                    "canary_id": row.canary_id,
                    "part": row.part,
                    "encoding": row.encoding,
                    "excerpt": row.excerpt,
                }
            )
    result.by_data_type = dict(by_type)
    result.by_encoding = dict(by_enc)
    result.by_step = dict(by_step)
    return result

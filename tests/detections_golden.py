"""The detections of fixed sessions as sorted rows, for the before/after golden (tests/test_detect_golden.py).

Three sessions, each run through the `detections` stage exactly as `privlab analyze` runs it (a copy of
the session, so the committed one stays untouched):

- `sample`: the committed sample session (captures/sample) with its planted and runtime canaries;
- `reporthar-android`, `reporthar-ios`: the real public captures in tests/data/captures imported with
  `privlab import`; they plant nothing, so every token of 8+ characters their requests carry stands for a
  canary (as in the naive-oracle test), which exercises every encoding chain the decoders follow;
- `tiktok-like`: 300 synthetic flows made by benchmarks/bench_ingest.py's generator (gzip JSON app-log
  bodies, query ids, cookies, planted IMEI/location), the shape the analyze benchmarks time.

Regenerate (only when a detection rule deliberately changes):
`PYTHONPATH=. python tests/detections_golden.py tests/data/golden`.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
SESSIONS = ("sample", "reporthar-android", "reporthar-ios", "tiktok-like")


def _tokens_canaries(session: Path) -> None:
    """Write every request token of an imported session as its canaries.json (the oracle's stand-in)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_detect_oracle import tokens

    from analysis.session.flows import read_flows

    seen: dict[str, None] = {}
    for rec in read_flows(session / "flows.jsonl"):
        for c in tokens(rec):
            seen.setdefault(c.value, None)
    doc = [{"id": f"t{i}", "kind": "other", "value": v} for i, v in enumerate(seen)]
    (session / "canaries.json").write_text(json.dumps(doc))


def build_session(name: str, tmp: Path) -> Path:
    """A fresh copy of the named session under `tmp`, ready for the detections stage."""
    from analysis.capture.import_ import import_capture

    if name == "sample":
        dst = tmp / "sample"
        shutil.copytree(REPO / "captures" / "sample", dst)
        shutil.rmtree(dst / "derived", ignore_errors=True)
        return dst
    if name.startswith("reporthar-"):
        src = REPO / "tests" / "data" / "captures" / f"{name}-first-run.har"
        session = import_capture(src, tmp / name).session.path
        _tokens_canaries(session)
        return session
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_ingest import CANARIES
    from bench_ingest import make_mitm

    mitm = tmp / "tiktok-like.mitm"
    make_mitm(mitm, 300)
    canaries = tmp / "canaries.json"
    canaries.write_text(json.dumps(CANARIES))
    return import_capture(mitm, tmp / name, canaries=canaries).session.path


def detection_rows(session: Path) -> dict[str, list[dict[str, object]]]:
    """`detections` and `decode_issues` of a session as the detections stage writes them, rows sorted."""
    from analysis.analyze.stages import StageContext
    from analysis.analyze.stages import detections_stage
    from analysis.session import Session

    ctx = StageContext(Session.open(session), force=True)
    detections_stage(ctx)
    out = {}
    for table in ("detections", "decode_issues"):
        rows = pq.read_table(ctx.table_path(table)).to_pylist()
        out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


def golden(name: str, root: Path) -> dict[str, list[dict[str, object]]]:
    """The committed golden rows of one session."""
    return json.loads(gzip.decompress((root / f"detections-{name}.json.gz").read_bytes()))


def main(out: Path) -> None:
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    for name in SESSIONS:
        with tempfile.TemporaryDirectory() as tmp:
            rows = detection_rows(build_session(name, Path(tmp)))
        text = json.dumps(rows, indent=0, sort_keys=True, default=str) + "\n"
        (out / f"detections-{name}.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
        print(name, {k: len(v) for k, v in rows.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""`privlab validate`: the control app through the whole pipeline; recall and false positives, stored."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from analysis.analyze.stages import analyze
from analysis.errors import PrivlabError
from analysis.session import Session
from analysis.session.verify import verify_session
from analysis.validation.measure import DEFAULT_VALIDATION
from analysis.validation.measure import score_session
from analysis.validation.measure import validation_record
from analysis.validation.run import capture_control_app

console = Console(highlight=False, soft_wrap=True)


def _table(title: str, rows: dict[str, dict[str, float]]) -> Table:
    t = Table(title=title, show_edge=False)
    for col in ("", "found/planted", "recall", "decoys reported", "FP rate"):
        t.add_column(col, justify="right" if col else "left")
    for key, c in rows.items():
        t.add_row(key, f"{c['found']}/{c['planted']}", f"{c['recall']:.3f}",
                  f"{c['decoys_reported']}/{c['decoys']}", f"{c['false_positive_rate']:.3f}")  # fmt: skip
    return t


@click.command()
@click.option("--out", "root", type=click.Path(path_type=Path), default=Path("captures"), show_default=True,
              help="Where the control-app session is written.")  # fmt: skip
@click.option("--store", type=click.Path(path_type=Path), default=DEFAULT_VALIDATION, show_default=True,
              help="Where the numbers are stored for reports to quote.")  # fmt: skip
@click.option("--session", "existing", type=click.Path(path_type=Path), default=None,
              help="Score an existing control-app session instead of capturing a new one.")  # fmt: skip
def validate(root: Path, store: Path, existing: Path | None) -> None:
    """Run the control app through capture, analysis and detection; state recall and false positives."""
    if existing is None:
        console.rule("capture: the control app")
        result = capture_control_app(root, name="validate")
        if result.status != "sealed":
            raise PrivlabError(
                f"{result.session.path}: control-app capture is {result.status}: {result.reason}"
            )
        session_path = result.session.path
    else:
        session_path = existing
    if not verify_session(session_path).intact:
        raise PrivlabError(f"{session_path}: not intact; run `privlab verify` to see what differs")
    console.rule("analyze and score")
    analyze(session_path)
    scored = score_session(session_path)
    if scored is None:
        raise PrivlabError(f"{session_path}: has no ground_truth.json (not a control-app session)")
    record = validation_record(scored, Session.open(session_path))
    console.print(_table("per data type", record["by_data_type"]))
    console.print(_table("per encoding", record["by_encoding"]))
    t = record["total"]
    console.print(f"recall {t['recall']:.3f} ({t['found']}/{t['planted']}); "
                  f"false positives {t['decoys_reported']}/{t['decoys']} decoys")  # fmt: skip
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    console.print(f"stored: {store}")


commands = [validate]

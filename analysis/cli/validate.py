"""`privlab validate`: the control app through the whole pipeline; recall and false positives, stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from analysis.analyze.stages import analyze
from analysis.errors import PrivlabError
from analysis.session import Session
from analysis.session.verify import verify_session
from analysis.validation.measure import DEFAULT_VALIDATION
from analysis.validation.measure import score_session
from analysis.validation.measure import twin_record
from analysis.validation.measure import validation_record
from analysis.validation.run import TWIN_READS
from analysis.validation.run import capture_control_app
from analysis.validation.run import capture_twin_app
from analysis.validation.twin import jvm_problem

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
@click.option("--twin-session", type=click.Path(path_type=Path), default=None,
              help="Measure access recall on an existing JVM twin session instead of capturing one.")  # fmt: skip
@click.option("--twin/--no-twin", default=None,
              help="Also run the SDK app on the JVM device twin under Frida for access recall "
                   "[default: when capturing afresh, or when the scored session has twin reads].")  # fmt: skip
def validate(
    root: Path, store: Path, existing: Path | None, twin_session: Path | None, twin: bool | None
) -> None:
    """Run the control app through capture, analysis and detection; state recall and false positives.

    With the JVM device twin (OpenJDK 17), also run the SDK app under Frida and state access recall:
    planted reads the hooks found, out of those the app made, and how many were linked to a transmission.
    """
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
    if twin_session is None and existing is not None and (existing / TWIN_READS).exists():
        twin_session = existing  # the sample: its twin part is measured in place
    use_twin = twin if twin is not None else (existing is None or twin_session is not None)
    twin_numbers = _twin(root, twin_session) if use_twin or twin_session is not None else None
    record = validation_record(scored, Session.open(session_path), twin_numbers)
    console.print(_table("per data type", record["by_data_type"]))
    console.print(_table("per encoding", record["by_encoding"]))
    t = record["total"]
    console.print(f"recall {t['recall']:.3f} ({t['found']}/{t['planted']}); "
                  f"false positives {t['decoys_reported']}/{t['decoys']} decoys")  # fmt: skip
    forms = record.get("forms")
    if forms:
        console.print(_table("re-written forms (phone formats, decimal/hex ids, IMEI without check digit, ...)",
                             forms["by_encoding"]))  # fmt: skip
        f = forms["total"]
        console.print(f"forms recall {f['recall']:.3f} ({f['found']}/{f['planted']}); "
                      f"false positives {f['decoys_reported']}/{f['decoys']} decoys")  # fmt: skip
    if twin_numbers is not None:
        a, tt = twin_numbers["access"], twin_numbers.get("twin_transmissions", {})
        console.print(f"access recall {a['recall']:.3f} ({a['found']}/{a['made']} planted reads), "
                      f"{a['linked']}/{a['made']} linked to a transmission; twin app transmission recall "
                      f"{tt.get('recall', 0):.3f} ({tt.get('found', 0)}/{tt.get('planted', 0)})")  # fmt: skip
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    console.print(f"stored: {store}")


def _twin(root: Path, existing: Path | None) -> dict[str, Any] | None:
    """The twin app's access numbers: captured afresh (or from `existing`), analysed, measured."""
    if existing is None:
        problem = jvm_problem()
        if problem is not None:
            console.print(f"[yellow]access recall not measured: {problem}[/]")
            return None
        console.rule("capture: the SDK app on the JVM device twin, under Frida")
        result = capture_twin_app(root, name="validate-twin")
        if result.status != "sealed":
            raise PrivlabError(f"{result.session.path}: twin capture is {result.status}: {result.reason}")
        existing = result.session.path
    if not verify_session(existing).intact:
        raise PrivlabError(f"{existing}: not intact; run `privlab verify` to see what differs")
    analyze(existing)
    return twin_record(existing)


commands = [validate]

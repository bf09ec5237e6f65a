"""`privlab demo`: the main job on the bundled control app, no Android device needed.

1. capture the control app through a real mitmdump (TLS interception, custody chain, seal), verify it;
2. analyse that fresh session and score it against its ground truth: the method's measured error rates,
   stored in <out>/validation.json (captures/validation.json by default) for reports to quote;
3. write that session's evidence report (in <session>/report) and print where it is.

Everything is written under `--out` (./captures by default), never beside the installed package, so the
demo runs the same from a checkout and from an installed wheel. `--refresh-sample` remakes the committed
sample session, `<out>/sample`: run it from the checkout's root to refresh captures/sample.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import click
from rich.console import Console

from analysis.analyze.stages import analyze
from analysis.cli.capture import print_capture
from analysis.cli.report import report as report_command
from analysis.session import Session
from analysis.session.verify import verify_session
from analysis.validation.measure import DEFAULT_VALIDATION
from analysis.validation.measure import score_session
from analysis.validation.measure import validation_record
from analysis.validation.run import capture_control_app

console = Console(highlight=False, soft_wrap=True)
SAMPLE_ID = "sample"  # the committed sample session is captures/sample
# Report formats that need an optional package (the `report` extra); html and json need nothing more.
OPTIONAL_EXPORTS = {"pdf": "weasyprint", "docx": "docx"}


def available_formats() -> tuple[list[str], list[str]]:
    """(report formats this installation can write, formats whose optional package is missing)."""
    missing = [f for f, module in OPTIONAL_EXPORTS.items() if importlib.util.find_spec(module) is None]
    return [f for f in ("html", "pdf", "docx", "json") if f not in missing], missing


@click.command()
@click.option("--out", "root", type=click.Path(path_type=Path), default=DEFAULT_VALIDATION.parent,
              show_default=True, help="Folder for the session and the validation record.")  # fmt: skip
@click.option("--refresh-sample", is_flag=True,
              help=f"Remake the sample session <out>/{SAMPLE_ID} (the committed captures/{SAMPLE_ID}).")  # fmt: skip
@click.option("--pcap/--no-pcap", default=True, show_default=True, help="Record packets with tcpdump.")
@click.option("--report/--no-report", "with_report", default=True, show_default=True,
              help="End with the session's evidence report.")  # fmt: skip
@click.pass_context
def demo(ctx: click.Context, root: Path, refresh_sample: bool, pcap: bool, with_report: bool) -> None:
    """Capture the control app through a real mitmdump, verify, measure the method, write its report."""
    session_id = None
    if refresh_sample:
        session_id = SAMPLE_ID
        if (root / SAMPLE_ID).exists():
            shutil.rmtree(root / SAMPLE_ID)
    console.rule("1. capture: the control app through a real mitmdump")
    result = capture_control_app(root, name="demo", session_id=session_id, pcap=pcap)
    print_capture(result)
    report = verify_session(result.session.path)
    state = "[green]intact[/]" if report.intact else f"[red]NOT intact: {report.problems[0]}[/]"
    console.print(f"verify: {state}: {report.records} custody records, {report.files} files")
    if not report.intact or result.status != "sealed":
        raise SystemExit(1)
    if refresh_sample or not with_report:
        console.print(f"session: {result.session.path}")
        return
    console.rule("2. measure: detections against the control app's ground truth")
    analyze(result.session.path)
    scored = score_session(result.session.path)
    validation_path = None
    if scored is not None:
        record = validation_record(scored, Session.open(result.session.path))
        validation_path = root / DEFAULT_VALIDATION.name
        validation_path.parent.mkdir(parents=True, exist_ok=True)
        validation_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        t = record["total"]
        console.print(f"recall {t['recall']:.3f} ({t['found']}/{t['planted']} planted parts), "
                      f"{t['decoys_reported']}/{t['decoys']} decoys reported; stored in {validation_path}")  # fmt: skip
    console.rule("3. report: the evidence report of this session")
    formats, missing = available_formats()
    ctx.invoke(report_command, session=result.session.path, formats=",".join(formats), out_dir=None,
               no_redact=False, validation_path=validation_path)  # fmt: skip
    if missing:
        console.print(f"[yellow]note:[/] no {'/'.join(missing).upper()} export: its package is not installed "
                      "(pip install 'privlab[report]')")  # fmt: skip
    console.print(f"session: {result.session.path}")


commands = [demo]

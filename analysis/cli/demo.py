"""`privlab demo`: the whole chain on the bundled control app, from nothing to an evidence report.

1. capture the control app through a real mitmdump (TLS interception, custody chain, seal), verify it;
2. analyse that fresh session and score it against its ground truth: the method's measured error rates,
   stored in <out>/validation.json (captures/validation.json by default) for reports to quote; with JDK 17,
   also run the SDK app on the JVM device twin under Frida and store its access recall next to them;
3. write the evidence report of the bundled sample session (<out>/sample: captures/sample in a checkout,
   which shows reads on the device linked to what was sent), or of the fresh session where there is no
   sample (an installed wheel run elsewhere), and print where it is.

Everything is written under `--out` (./captures by default), never beside the installed package, so the
demo runs the same from a checkout and from an installed wheel. `--refresh-sample` remakes the sample,
`<out>/sample`: the SDK app on the JVM device twin under Frida, then the control app, through one real
mitmdump; run it from the checkout's root to refresh captures/sample.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import click
from rich.console import Console

from analysis.analyze.stages import analyze
from analysis.capture.host import CaptureResult
from analysis.cli.capture import print_capture
from analysis.cli.report import report as report_command
from analysis.session import Session
from analysis.session.verify import verify_session
from analysis.validation.measure import DEFAULT_VALIDATION
from analysis.validation.measure import score_session
from analysis.validation.measure import twin_record
from analysis.validation.measure import validation_record
from analysis.validation.run import capture_control_app
from analysis.validation.run import capture_sample
from analysis.validation.run import capture_twin_app
from analysis.validation.twin import JvmUnavailable
from analysis.validation.twin import jvm_problem

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
              help="End with the evidence report.")  # fmt: skip
@click.pass_context
def demo(ctx: click.Context, root: Path, refresh_sample: bool, pcap: bool, with_report: bool) -> None:
    """Capture the control app through a real mitmdump, verify, measure the method, write the report."""
    sample = root / SAMPLE_ID
    if refresh_sample:
        problem = jvm_problem()
        if problem is not None:
            raise JvmUnavailable(f"--refresh-sample runs the SDK app on the JVM device twin: {problem}")
        if sample.exists():
            shutil.rmtree(sample)
        console.rule("1. capture: the SDK app on the JVM device twin under Frida, then the control app")
        fresh = capture_sample(root, session_id=SAMPLE_ID, pcap=pcap)
        _checked(fresh)
        console.print(f"session: {fresh.session.path}")
        return
    console.rule("1. capture: the control app through a real mitmdump")
    result = capture_control_app(root, name="demo", session_id=None, pcap=pcap)
    _checked(result)
    if not with_report:
        console.print(f"session: {result.session.path}")
        return
    console.rule("2. measure: detections against the control app's ground truth")
    analyze(result.session.path)
    scored = score_session(result.session.path)
    validation_path = None
    if scored is not None:
        twin = None
        if jvm_problem() is None:
            console.rule("2b. measure: reads on the JVM device twin, under Frida")
            twin_result = capture_twin_app(root, name="demo-twin", pcap=False)
            _checked(twin_result)
            analyze(twin_result.session.path)
            twin = twin_record(twin_result.session.path)
            a = twin["access"]
            console.print(f"access recall {a['recall']:.3f} ({a['found']}/{a['made']} planted reads), "
                          f"{a['linked']}/{a['made']} linked to a transmission")  # fmt: skip
        else:
            console.print(f"[yellow]access recall not measured: {jvm_problem()}[/]")
        record = validation_record(scored, Session.open(result.session.path), twin)
        validation_path = root / DEFAULT_VALIDATION.name
        validation_path.parent.mkdir(parents=True, exist_ok=True)
        validation_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        t = record["total"]
        console.print(f"recall {t['recall']:.3f} ({t['found']}/{t['planted']} planted parts), "
                      f"{t['decoys_reported']}/{t['decoys']} decoys reported; stored in {validation_path}")  # fmt: skip
    console.print(f"fresh session: {result.session.path}")
    target = sample if (sample / "session.json").is_file() else result.session.path
    console.rule(
        f"3. report: the evidence report of {'the bundled sample' if target == sample else 'this session'}"
    )
    formats, missing = available_formats()
    ctx.invoke(report_command, session=target, formats=",".join(formats), out_dir=None,
               no_redact=False, validation_path=validation_path)  # fmt: skip
    if missing:
        console.print(f"[yellow]note:[/] no {'/'.join(missing).upper()} export: its package is not installed "
                      "(pip install 'privlab[report]')")  # fmt: skip


def _checked(result: CaptureResult) -> None:
    """Print the capture and verify it; stop the demo when it is not sealed and intact."""
    print_capture(result)
    report = verify_session(result.session.path)
    state = "[green]intact[/]" if report.intact else f"[red]NOT intact: {report.problems[0]}[/]"
    console.print(f"verify: {state}: {report.records} custody records, {report.files} files")
    if not report.intact or result.status != "sealed":
        raise SystemExit(1)


commands = [demo]

"""`privlab demo`: the main job on the bundled control app and sample, no Android device needed.

1. capture the control app through a real mitmdump (TLS interception, custody chain, seal), verify it;
2. analyse that fresh session and score it against its ground truth: the method's measured error rates,
   stored in captures/validation.json for reports to quote; with JDK 17, also run the SDK app on the JVM
   device twin under Frida and store its access recall next to them;
3. analyse the bundled sample session (captures/sample) and write its evidence report.

`--refresh-sample` regenerates captures/sample: the SDK app on the JVM device twin under Frida, then the
control app, through one real mitmdump: the sample shows reads on the device linked to what was sent,
and keeps the control app's planted encodings and decoys for transmission validation.
"""

from __future__ import annotations

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
SAMPLE = Path(__file__).resolve().parents[2] / "captures" / "sample"


@click.command()
@click.option("--out", "root", type=click.Path(path_type=Path), default=Path("captures"), show_default=True)
@click.option("--refresh-sample", is_flag=True, help="Regenerate the committed captures/sample session.")
@click.option("--pcap/--no-pcap", default=True, show_default=True, help="Record packets with tcpdump.")
@click.option("--report/--no-report", "with_report", default=True, show_default=True,
              help="End with the sample session's evidence report.")  # fmt: skip
@click.pass_context
def demo(ctx: click.Context, root: Path, refresh_sample: bool, pcap: bool, with_report: bool) -> None:
    """Capture the control app through a real mitmdump, verify, measure the method, report on the sample."""
    if refresh_sample:
        problem = jvm_problem()
        if problem is not None:
            raise JvmUnavailable(f"--refresh-sample runs the SDK app on the JVM device twin: {problem}")
        if SAMPLE.exists():
            shutil.rmtree(SAMPLE)
        console.rule("1. capture: the SDK app on the JVM device twin under Frida, then the control app")
        sample = capture_sample(SAMPLE.parent, session_id=SAMPLE.name, pcap=pcap)
        _checked(sample)
        console.print(f"session: {sample.session.path}")
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
        DEFAULT_VALIDATION.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_VALIDATION.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        t = record["total"]
        console.print(f"recall {t['recall']:.3f} ({t['found']}/{t['planted']} planted parts), "
                      f"{t['decoys_reported']}/{t['decoys']} decoys reported; stored in {DEFAULT_VALIDATION}")  # fmt: skip
    console.rule("3. report: the bundled sample session")
    ctx.invoke(report_command, session=SAMPLE, formats="html,pdf,docx,json", out_dir=None, no_redact=False,
               validation_path=None)  # fmt: skip
    console.print(f"fresh session: {result.session.path}")


def _checked(result: CaptureResult) -> None:
    """Print the capture and verify it; stop the demo when it is not sealed and intact."""
    print_capture(result)
    report = verify_session(result.session.path)
    state = "[green]intact[/]" if report.intact else f"[red]NOT intact: {report.problems[0]}[/]"
    console.print(f"verify: {state}: {report.records} custody records, {report.files} files")
    if not report.intact or result.status != "sealed":
        raise SystemExit(1)


commands = [demo]

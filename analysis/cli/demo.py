"""`privlab demo`: the main job on the bundled control app, no Android device needed."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from rich.console import Console

from analysis.cli.capture import print_capture
from analysis.validation.run import capture_control_app
from analysis.verify import verify_session

console = Console(highlight=False, soft_wrap=True)
SAMPLE = Path(__file__).resolve().parents[2] / "captures" / "sample"


@click.command()
@click.option("--out", "root", type=click.Path(path_type=Path), default=Path("captures"), show_default=True)
@click.option("--refresh-sample", is_flag=True, help="Regenerate the committed captures/sample session.")
@click.option("--pcap/--no-pcap", default=True, show_default=True, help="Record packets with tcpdump.")
def demo(root: Path, refresh_sample: bool, pcap: bool) -> None:
    """Capture the control app through a real mitmdump, seal and verify the session."""
    session_id = None
    if refresh_sample:
        root, session_id = SAMPLE.parent, SAMPLE.name
        if SAMPLE.exists():
            shutil.rmtree(SAMPLE)
    console.rule("capture: the control app through a real mitmdump")
    result = capture_control_app(root, name="demo", session_id=session_id, pcap=pcap)
    print_capture(result)
    console.rule("verify")
    report = verify_session(result.session.path)
    state = "[green]intact[/]" if report.intact else f"[red]NOT intact: {report.problems[0]}[/]"
    console.print(f"{state}: {report.records} custody records, {report.files} files")
    if not report.intact or result.status != "sealed":
        raise SystemExit(1)
    console.print(f"session: {result.session.path}")


commands = [demo]

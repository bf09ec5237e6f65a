"""The Frida runner against real Frida on this host: no-Java processes, children, crashes, bad messages.

The misbehaving agent in `test_unknown_and_malformed_messages_are_kept_as_warnings` is a small real
Frida script written here (not the production agent): it sends what a broken or newer agent might.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from analysis.capture.frida import JAVA_MODULES
from analysis.capture.frida import FridaRunner
from analysis.errors import CaptureError
from analysis.session import Session


def _events(session: Session) -> list[dict[str, Any]]:
    # Complete lines only: the runner may be appending while a test looks.
    data = session.file("hooks.jsonl").read_bytes() if session.file("hooks.jsonl").is_file() else b""
    return [json.loads(line) for line in data.split(b"\n")[:-1]]


def _run(runner: FridaRunner, code: str) -> tuple[int, dict[str, Any]]:
    pid = runner.spawn([sys.executable, "-c", code])
    assert runner.wait(60), "process did not end"
    return pid, runner.stop()


def test_agent_in_a_process_without_java_reports_it_and_native_modules_work(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "no-java")
    runner = FridaRunner(session)  # every module
    pid, summary = _run(runner, "import socket; socket.getaddrinfo('localhost', 4711)")
    assert summary["modules_attached"] == ["connect", "getaddrinfo", "ssl"]
    assert summary["modules_skipped"] == sorted(JAVA_MODULES + ("tls-native",))
    assert summary["modules"]["clipboard"]["reason"] == "no Java runtime in this process"
    assert summary["modules_failed"] == [] and summary["gaps"] == []
    events = _events(session)
    ready = [e for e in events if e["category"] == "agent" and e["api"] == "ready"]
    assert len(ready) == 1 and ready[0]["ret"]["java"] is False and ready[0]["ret"]["runtime"] == "QJS"
    lookup = [e for e in events if e["api"] == "getaddrinfo"]
    assert lookup[0]["args"] == ["localhost", "4711"] and "127.0.0.1:4711" in lookup[0]["ret"]
    assert lookup[0]["pid"] == pid and lookup[0]["tid"] == pid
    assert events[-1]["api"] == "process-ended"
    meta = json.loads(session.file("session.json").read_text())
    assert meta["frida"]["agents"] == [
        {"pid": pid, "frida": meta["frida"]["frida"], "runtime": "QJS", "java": False}
    ]


def test_children_are_followed_and_attributed(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "children")
    runner = FridaRunner(session, modules=["getaddrinfo"])
    code = (
        "import os, socket, sys\n"
        "socket.getaddrinfo('localhost', 1)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    socket.getaddrinfo('localhost', 2)\n"
        "    os.execv(sys.executable, [sys.executable, '-c', 'import socket; socket.getaddrinfo(\"localhost\", 3)'])\n"
        "os.waitpid(pid, 0)\n"
    )
    pid, summary = _run(runner, code)
    lookups = {e["args"][1]: e["pid"] for e in _events(session) if e["api"] == "getaddrinfo"}
    assert set(lookups) == {"1", "2", "3"}
    assert lookups["1"] == pid
    assert lookups["2"] != pid and lookups["3"] == lookups["2"]  # exec keeps the child's pid
    # Frida 17.26 now and then drops the parent's session while the child is attached: that must
    # show as a gap, not as the end of the app.
    assert all(g["reason"] == "application-requested" and g["pid"] == pid for g in summary["gaps"])


CRASH_ONCE = """
import ctypes, os, socket, sys
marker = sys.argv[1]
first = not os.path.exists(marker)
open(marker, "a").close()
socket.getaddrinfo("localhost", 1 if first else 2)
if first:
    ctypes.string_at(0)  # SIGSEGV: the app crashes on its first run
"""


def test_crash_is_a_gap_events_before_it_survive_and_the_app_is_restarted(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "crash")
    runner = FridaRunner(session, modules=["getaddrinfo"], restart_on_crash=1)
    first = runner.spawn([sys.executable, "-c", CRASH_ONCE, str(tmp_path / "ran-once")])
    assert runner.wait(60)
    summary = runner.stop()
    events = _events(session)
    lookups = [(e["pid"], e["args"][1]) for e in events if e["api"] == "getaddrinfo"]
    assert lookups[0] == (first, "1")  # sent before the crash took the process
    (gap,) = summary["gaps"]
    assert gap["pid"] == first and gap["crashed"] is True and "access-violation" in gap["crash"]
    second = gap["restarted_as"]
    assert lookups[1] == (second, "2") and second != first
    assert [e["api"] for e in events if e["category"] == "runner"] == ["gap", "restart", "process-ended"]
    assert any(f"pid {first} detached" in w and "crashed" in w for w in summary["warnings"])


MISBEHAVING_AGENT = r"""
let n = 0;
const ev = (api) => ({ n: n++, t: Date.now() / 1000, tid: Process.getCurrentThreadId(), category: "test", api, args: [], ret: null, stack: [] });
rpc.exports.init = () => {
    send({ type: "hooks:events", events: [ev("first")] });
    send({ type: "agent:from-the-future", detail: { x: 1 } });
    send("a bare string");
    send({ type: "hooks:events", events: "not a list" });
    send({ type: "hooks:events", events: [ev("second"), { category: 3 }] });
    n += 2;  // two events the runner will never see
    // A Java string may hold half a surrogate pair (text cut mid-character): kept, as an escape.
    send({ type: "hooks:events", events: [ev("third"), { ...ev("fourth"), args: ["caf\u00e9 \ud83d"] }] });
    setTimeout(() => { throw new Error("agent bug"); }, 0);
    return [];
};
rpc.exports.flush = () => {};
"""


def test_unknown_and_malformed_messages_are_kept_as_warnings(tmp_path: Path) -> None:
    agent = tmp_path / "misbehaving.js"
    agent.write_text(MISBEHAVING_AGENT)
    session = Session.create(tmp_path, "bad-messages")
    runner = FridaRunner(session, agent_path=agent)
    pid, summary = _run(runner, "import time; time.sleep(1)")
    events = _events(session)
    tests = [e for e in events if e["category"] == "test"]
    assert [e["api"] for e in tests] == ["first", "second", "third", "fourth"]
    assert tests[3]["args"] == ["caf\u00e9 \ud83d"]
    runner_events = {e["api"]: e for e in events if e["category"] == "runner"}
    unknown = [e for e in events if e["api"] == "unknown-message"]
    malformed = [e for e in events if e["api"] == "malformed-payload"]
    # Nothing lost: each odd message is in hooks.jsonl with its content.
    assert unknown[0]["args"][1] == {"type": "agent:from-the-future", "detail": {"x": 1}}
    assert [m["args"][1] for m in malformed] == [
        "a bare string",
        {"type": "hooks:events", "events": "not a list"},
        [{"category": 3}],
    ]
    assert "never arrived" in runner_events["lost"]["args"][0]
    (error,) = [e for e in events if e["api"] == "script-error"]
    assert "agent bug" in error["args"][0]
    assert len(summary["warnings"]) == 6
    assert summary["events"] == 4
    assert pid == events[0]["pid"]


def test_bad_configuration_is_one_clear_error(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "config")
    with pytest.raises(CaptureError, match="unknown Frida module.*keyboard"):
        FridaRunner(session, modules=["clipboard", "keyboard"])
    with pytest.raises(CaptureError, match=r"nothere\.js: agent bundle missing"):
        FridaRunner(session, agent_path=tmp_path / "nothere.js")
    runner = FridaRunner(session, modules=["connect"])
    with pytest.raises(CaptureError, match="cannot start it under Frida"):
        runner.spawn([str(tmp_path / "no-such-program")])
    runner.stop()


def test_cli_attach_records_a_running_process(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from analysis.cli import main

    session = Session.create(tmp_path, "attach")
    loop = "import socket, time\nprint('ready', flush=True)\nfor _ in range(600):\n    socket.getaddrinfo('localhost', 4712); time.sleep(0.05)\n"
    # Bounded (30 s): a copy of the process now and then outlives the kill of its pid under pytest.
    proc = subprocess.Popen([sys.executable, "-c", loop], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # running, not still loading
    try:
        result = CliRunner().invoke(
            main,
            [
                "hooks",
                "attach",
                str(session.path),
                "--pid",
                str(proc.pid),
                "--module",
                "getaddrinfo",
                "--duration",
                "1",
            ],
        )
    finally:
        proc.kill()
        proc.wait()
    assert result.exit_code == 0, result.output
    assert "modules attached: getaddrinfo" in result.output
    lookups = [e for e in _events(session) if e["api"] == "getaddrinfo"]
    assert lookups and all(e["pid"] == proc.pid and e["args"] == ["localhost", "4712"] for e in lookups)
    bad = CliRunner().invoke(main, ["hooks", "attach", str(session.path), "--pid", "1", "--watch", "NoHash"])
    assert bad.exit_code == 2 and "CLASS#METHOD" in bad.output


def test_a_write_failure_stops_the_capture_visibly(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "unwritable")
    session.file("hooks.jsonl").mkdir()  # appending to it fails, as a full disk would
    runner = FridaRunner(session, modules=["getaddrinfo"])
    pid = runner.spawn(
        [sys.executable, "-c", "import socket, time; socket.getaddrinfo('localhost', 1); time.sleep(60)"]
    )
    try:
        assert runner.wait(60)  # ends the wait although the app still runs
        with pytest.raises(CaptureError, match=r"hooks\.jsonl: recording stopped: .*IsADirectoryError"):
            runner.stop()
    finally:
        os.kill(pid, signal.SIGKILL)
    meta = json.loads(session.file("session.json").read_text())
    assert "IsADirectoryError" in meta["frida"]["summary"]["failure"]


WAIT_FOR_GO = """
import os, socket, sys, time
socket.getaddrinfo("localhost", 1)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
socket.getaddrinfo("localhost", 2)
"""


def _until(predicate: Any) -> None:
    for _ in range(3000):  # a bound, not a timing assertion: up to 30 s on a loaded machine
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition never became true")


def test_a_dropped_session_is_a_gap_and_the_runner_reattaches(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "dropped")
    runner = FridaRunner(session, modules=["getaddrinfo"])
    go = tmp_path / "go"
    pid = runner.spawn([sys.executable, "-c", WAIT_FOR_GO, str(go)])
    _until(lambda: any(e["api"] == "getaddrinfo" for e in _events(session)))
    # What Frida does now and then when a child is attached: the session goes away under us.
    runner._processes[pid].session.detach()
    _until(lambda: any(e["api"] == "reattach" for e in _events(session)))
    go.touch()
    assert runner.wait(60)
    summary = runner.stop()
    lookups = [(e["pid"], e["args"][1]) for e in _events(session) if e["api"] == "getaddrinfo"]
    assert lookups == [(pid, "1"), (pid, "2")]
    (gap,) = summary["gaps"]
    assert gap["reason"] == "application-requested" and gap["reattached"] is True
    assert [e["api"] for e in _events(session) if e["category"] == "runner"] == [
        "gap",
        "reattach",
        "process-ended",
    ]

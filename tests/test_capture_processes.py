"""One owner for every child: a killed `privlab capture` leaves no mitmdump, tcpdump or app behind.

Real processes: `privlab capture` (a subprocess), the real mitmdump, the real tcpdump when it can
capture here, and an "app" that is a shell running a Python client (so the client is a grandchild,
reachable only through the process group).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from origin_app import ORIGIN

from analysis.session import Session
from analysis.session.processes import Recorded
from analysis.session.processes import is_running
from analysis.session.processes import recorded
from analysis.session.processes import start_time
from analysis.session.verify import verify_session

PRIVLAB = [sys.executable, "-m", "analysis.cli"]

SLOW_APP = (
    ORIGIN
    + """
i = 0
while True:
    # A refused or reset connection (the proxy is going away) only ends this request; the app goes on.
    with contextlib.suppress(OSError), socket.create_connection((host, int(pport))) as s:
        s.sendall(b'GET http://127.0.0.1:%d/%d HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' % (port, i))
        while s.recv(4096):
            continue
    i += 1
    time.sleep(0.1)
"""
)


def _wait(predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting: {what}")


def _start(tmp_path: Path, pcap: bool) -> tuple[subprocess.Popen[bytes], Path]:
    app = tmp_path / "slow_app.py"
    app.write_text(SLOW_APP)
    root = tmp_path / "caps"
    cmd = PRIVLAB + ["capture", "--host-command", f"sh -c '{sys.executable} {app}; true'", "--out", str(root),
                     "--confdir", str(tmp_path / "conf")] + (["--pcap"] if pcap else [])  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait(lambda: root.exists() and any(root.iterdir()), "session folder")
    session = next(root.iterdir())
    _wait(lambda: (session / "custody.jsonl").exists()
          and (session / "custody.jsonl").read_bytes().count(b'"kind":"flow"') >= 3, "3 flows")  # fmt: skip
    return proc, session


def _grandchildren(app: Recorded) -> list[int]:
    """Processes in the app's group other than the app itself (the Python client under `sh`)."""
    out = subprocess.run(["ps", "-o", "pid=", "-g", str(app.pgid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split() if int(x) != app.pid]


def test_sigkill_of_capture_ends_mitmdump_tcpdump_and_the_app(tmp_path: Path) -> None:
    proc, session = _start(tmp_path, pcap=True)
    procs = {p.name: p for p in recorded(Session.open(session).meta)}
    assert {"mitmdump", "app"} <= set(procs)
    if "tcpdump" not in procs:
        note = Session.open(session).meta["capture"].get("pcap_note", "")
        assert note  # tcpdump could not capture here; the session says why
    for p in procs.values():
        assert p.pgid == p.pid  # each child leads its own process group
        assert is_running(p)
    client = _grandchildren(procs["app"])
    assert client, "the app's client process (a grandchild) was not found"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _wait(lambda: not any(is_running(p) for p in procs.values()), "children to end")
    _wait(lambda: all(start_time(pid) is None for pid in client), "the grandchild to end")
    assert Session.open(session).status == "open"
    done = subprocess.run(PRIVLAB + ["seal", str(session), "--incomplete", "capture process killed"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = verify_session(session)
    assert report.intact, report.problems
    flows = (session / "custody.jsonl").read_bytes().count(b'"kind":"flow"')
    assert flows >= 3  # mitmdump was stopped with a signal it handles, not lost with its flows


def test_seal_refuses_while_recorded_processes_run(tmp_path: Path) -> None:
    proc, session = _start(tmp_path, pcap=False)
    try:
        refused = subprocess.run(PRIVLAB + ["seal", str(session), "--incomplete", "early"],
                                 capture_output=True, text=True)  # fmt: skip
        assert refused.returncode != 0
        out = refused.stdout + refused.stderr
        assert "Traceback" not in out
        procs = {p.name: p for p in recorded(Session.open(session).meta)}
        assert f"mitmdump (pid {procs['mitmdump'].pid})" in out and f"app (pid {procs['app'].pid})" in out
        assert f"kill -INT -- -{procs['mitmdump'].pgid}" in out
        assert Session.open(session).status == "open"
    finally:
        proc.send_signal(signal.SIGINT)  # a normal stop: the capture seals itself
        out_b, _ = proc.communicate(timeout=120)
    assert Session.open(session).status == "sealed", out_b.decode()
    assert verify_session(session).intact


@pytest.mark.parametrize("bad", [None, "x", [1], {"pid": "1"}, {"pid": 0, "pgid": 0}])
def test_hand_edited_process_records_do_not_break_seal(bad: object) -> None:
    meta = {"processes": bad}
    assert recorded(meta) == [] or all(isinstance(p, Recorded) for p in recorded(meta))
    meta = {"processes": [bad, {"name": "gone", "pid": os.getpid(), "pgid": os.getpgid(0), "start": -5}]}
    # Our own pid with a different start time: a reused pid, not the recorded process.
    assert [p.name for p in recorded(meta)] == ["gone"] and not is_running(recorded(meta)[0])

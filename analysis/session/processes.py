"""The processes that write into a session while it is open: recorded, checked, and ended by a watchdog.

A capture runs mitmdump, tcpdump and the app as children, each in its own process group. Their pids
(with the kernel's start time, so a reused pid is not mistaken for them) are recorded in `session.json`
under `processes`. If the capture process itself dies (SIGKILL, OOM), a watchdog
(`python -m analysis.session.processes`) ends the groups: the app first, then mitmdump with SIGINT (so
it writes the flows still open), then tcpdump. `privlab seal` refuses while any recorded process still
runs: sealing under a live writer makes a seal the next write breaks.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from typing import Any

PR_SET_PDEATHSIG = 1
# The order the watchdog ends them in, and the signal each gets first.
STOP_ORDER = ("app", "frida", "mitmdump", "tcpdump")
STOP_SIGNAL = {"mitmdump": signal.SIGINT, "tcpdump": signal.SIGINT}


@dataclass(frozen=True)
class Recorded:
    """One recorded child: what it is, its pid and group, and its start time (clock ticks since boot)."""

    name: str
    pid: int
    pgid: int
    start: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "pid": self.pid, "pgid": self.pgid, "start": self.start}

    @classmethod
    def from_dict(cls, d: Any) -> Recorded | None:
        """A record from session.json, or None when it is not one (the seal check must not crash)."""
        if not isinstance(d, dict):
            return None
        pid, pgid, start = d.get("pid"), d.get("pgid"), d.get("start")
        if not isinstance(pid, int) or pid <= 0 or not isinstance(pgid, int):
            return None
        return cls(str(d.get("name", "?")), pid, pgid, start if isinstance(start, int) else None)


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] == "Z":
        return None  # a zombie writes nothing
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_running(p: Recorded) -> bool:
    """Whether the recorded process still runs (same pid and same start time)."""
    now = start_time(p.pid)
    return now is not None and (p.start is None or now == p.start)


def group_alive(p: Recorded) -> bool:
    """Whether the process or anything left in its group runs (an app's children outlive a shell).

    A group id is not handed out again while the group has members, so a live group is still ours.
    """
    if is_running(p):
        return True
    if p.pgid != p.pid or p.pgid <= 1:
        return False
    return bool(group_members(p.pgid))


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (zombies excluded: they write nothing, and an init that does
    not reap them, as in many containers, would otherwise keep a group "alive" forever)."""
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and fields[2] == str(pgid):
            out.append(int(entry.name))
    return out


def record(name: str, pid: int) -> Recorded:
    try:
        pgid = os.getpgid(pid)
    except OSError:
        pgid = pid
    return Recorded(name, pid, pgid, start_time(pid))


def register(session: Any, name: str, pid: int) -> Recorded:
    """Record a child of the capture in session.json (`processes`), where the watchdog and `seal` look."""
    p = record(name, pid)
    session.update_meta(lambda m: m.setdefault("processes", []).append(p.to_dict()), reason=f"started {name}")
    return p


def recorded(meta: dict[str, Any]) -> list[Recorded]:
    raw = meta.get("processes")
    if not isinstance(raw, list):
        return []
    return [p for p in (Recorded.from_dict(d) for d in raw) if p is not None]


def still_running(meta: dict[str, Any]) -> list[Recorded]:
    """The recorded processes of a session that still run."""
    return [p for p in recorded(meta) if group_alive(p)]


def end_command(running: list[Recorded]) -> str:
    """The shell command that ends them (whole groups, SIGINT so mitmdump and tcpdump flush)."""
    return "kill -INT -- " + " ".join(f"-{p.pgid}" for p in running)


def die_with_parent() -> None:
    """`preexec_fn` for a child: its own process group, and SIGTERM when the capture process dies."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the watchdog still ends it
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


class Watchdog:
    """A separate process that ends the recorded groups if this process dies before `done()`.

    It waits on a pipe whose write end only this process holds: the kernel closes it however this
    process ends, so SIGKILL is noticed too. `done()` tells it the capture ended in order.
    """

    def __init__(self, session_path: Path) -> None:
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            [sys.executable, "-m", "analysis.session.processes", str(session_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C on the terminal is for the capture, not for it
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )

    def watch(self, p: Recorded) -> None:
        """Tell the watchdog about one more group (it reads session.json too, this is the fast path)."""
        self._send(f"watch {p.name} {p.pid} {p.pgid} {p.start if p.start is not None else -1}\n")

    def done(self) -> None:
        self._send("done\n")
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _send(self, line: str) -> None:
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return
        # The watchdog may be gone: the capture goes on, and its children still die with it (PDEATHSIG).
        with contextlib.suppress(OSError):
            stdin.write(line.encode())
            stdin.flush()


def end_groups(groups: list[Recorded], grace: float = 10.0) -> None:
    """End each still-running group in `STOP_ORDER`: its stop signal, then SIGKILL after `grace` s."""
    order = {name: i for i, name in enumerate(STOP_ORDER)}
    for p in sorted(groups, key=lambda g: order.get(g.name, len(order))):
        if not group_alive(p):
            continue
        try:
            os.killpg(p.pgid, STOP_SIGNAL.get(p.name, signal.SIGTERM))
        except OSError:
            continue
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(p):
            time.sleep(0.05)
        if group_alive(p):
            with contextlib.suppress(OSError):  # it ended between the check and the signal
                os.killpg(p.pgid, signal.SIGKILL)


def _watch(session_path: Path, commands: IO[bytes]) -> None:
    groups: dict[int, Recorded] = {}
    for raw in commands:
        parts = raw.decode(errors="replace").split()
        if parts == ["done"]:
            return
        if len(parts) == 5 and parts[0] == "watch":
            name, pid, pgid, start = parts[1], int(parts[2]), int(parts[3]), int(parts[4])
            groups[pid] = Recorded(name, pid, pgid, None if start < 0 else start)
    # EOF without "done": the capture process died. End what it left running.
    # What session.json recorded too (unreadable: the groups this watchdog was told of still end).
    with contextlib.suppress(OSError, ValueError):
        import json

        meta = json.loads((session_path / "session.json").read_text())
        for p in recorded(meta):
            groups.setdefault(p.pid, p)
    end_groups(list(groups.values()))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch(Path(sys.argv[1]), sys.stdin.buffer)

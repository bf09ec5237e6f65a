"""Run the Frida agent (`hooks/_agent.js`) in an app's processes and write what it sees to `hooks.jsonl`.

The runner spawns or attaches (local host, USB or remote device), follows child processes (child
gating), and writes one line per event, `{seq, t, pid, tid, category, api, args, ret, stack}`, each
batch appended through `Session.append` so the custody chain covers it. Nothing the agent sends is
dropped: an unknown message, a malformed payload, an agent warning, a script error, a process that
ends or crashes all become events of their own (category "runner" or "agent") in the same file, next
to a warning in the summary. The agent bundle's sha256 and the Frida versions go into session.json.

Message protocol (see `hooks/src/lib/protocol.ts`): `hooks:events` (batched events), `agent:ready`
(what each module installed), `agent:warning`, `agent:exception` (flushed before a native crash).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from importlib import resources
from pathlib import Path
from typing import IO
from typing import Any

import frida
from frida.core import Device
from frida.core import Script
from frida.core import Session as FridaSession

from analysis.errors import CaptureError
from analysis.session import HOOKS_JSONL
from analysis.session import Session
from analysis.vocabulary import JAVA_MODULES
from analysis.vocabulary import NATIVE_MODULES
from analysis.vocabulary import HookCategory
from analysis.vocabulary import canonical_module

# The committed bundle, package data of this package: in a checkout `_agent.js` here is a symlink to
# hooks/_agent.js (where hooks/build.py writes it), in the wheel the file itself (pyproject.toml). Found
# through the import system, so an installed privlab never looks for a checkout; resolved, so that in a
# checkout its folder is hooks/, beside the build script and the sources.
AGENT_BUNDLE = Path(str(resources.files("analysis.capture") / "_agent.js")).resolve()

# Every module the agent has (hooks/src/modules.ts, named in analysis.vocabulary); `None` for the
# runner's `modules` means all. Plain strings: click.Choice would offer an enum's member names instead.
MODULES: tuple[str, ...] = tuple(m.value for m in JAVA_MODULES + NATIVE_MODULES)

# Events the runner itself writes so that nothing is lost silently.
RUNNER = HookCategory.RUNNER
AGENT = HookCategory.AGENT

# A native exception followed by the process ending within this many seconds is called a crash.
_CRASH_WINDOW = 5.0

# The gate a Java program honours (tests/jvm/twin/privlab/twin/Gate.java): it writes `vm-up` in this
# directory once its VM runs and waits for `hooks-in` before running the app's code.
GATE_ENV = "PRIVLAB_GATE"
_GATE_UP = "vm-up"
_GATE_OPEN = "hooks-in"
# How long a JVM may take to start, and the agent to install its hooks, before the capture gives up.
JVM_START_TIMEOUT = 60.0


# A Java binary class name (`com.example.Outer$Inner`) and a method name (`$init` is Frida's constructor).
_JAVA_NAME = r"[A-Za-z_$][A-Za-z0-9_$]*"
_WATCH_CLASS = re.compile(rf"{_JAVA_NAME}(?:\.{_JAVA_NAME})*")
_WATCH_METHOD = re.compile(_JAVA_NAME)

# Entry points of TikTok's own signing, for `--watch-file` (one `class.method` a line; each names its
# public source). ttEncrypt's entry points (EncryptorUtil) are not in it: the `tiktok` module hooks those.
TIKTOK_WATCH_FILE = Path(str(resources.files("analysis.capture") / "watch-tiktok.txt"))


def parse_watch(entry: str) -> tuple[str, str]:
    """`CLASS.METHOD` or `CLASS#METHOD` -> (class, method); CaptureError naming the entry otherwise."""
    text = entry.strip()
    cls, sep, method = text.partition("#") if "#" in text else text.rpartition(".")
    if not sep or not _WATCH_CLASS.fullmatch(cls) or not _WATCH_METHOD.fullmatch(method):
        raise CaptureError(
            f"watch entry {entry!r}: expected CLASS.METHOD or CLASS#METHOD "
            "(e.g. com.bytedance.frameworks.encryptor.EncryptorUtil#a)"
        )
    return cls, method


def read_watch_file(path: Path) -> list[tuple[str, str]]:
    """The (class, method) pairs of a watch file: one `class.method` or `class#method` a line, `#` comments.

    A `#` starts a comment at the start of a line or after whitespace (`Class#method` is an entry).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CaptureError(
            f"{path}: cannot read the watch list ({getattr(e, 'strerror', None) or e})"
        ) from None
    out: list[tuple[str, str]] = []
    for n, line in enumerate(lines, 1):
        text = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if not text:
            continue
        try:
            out.append(parse_watch(text))
        except CaptureError as e:
            raise CaptureError(f"{path}:{n}: {e}") from None
    return out


def is_jvm_command(argv: Sequence[str]) -> bool:
    """Whether `argv` starts a Java VM (`java ...`): such programs are attached once the VM is up."""
    return bool(argv) and Path(argv[0]).name == "java"


_EVENT_FIELDS = ("seq", "t", "pid", "tid", "category", "api", "args", "ret", "stack")


@dataclass
class _Process:
    """One instrumented process."""

    pid: int
    session: FridaSession
    script: Script
    next_n: int = 0
    last_exception: float | None = None
    exception: dict[str, Any] | None = None


@dataclass
class _Launch:
    """How the main process was started, to start it again after a crash."""

    argv: list[str]
    env: dict[str, str] | None
    cwd: str | None


@dataclass
class _Tally:
    events: int = 0
    warnings: list[str] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)


def agent_builder() -> Any:
    """The agent's build script, `hooks/build.py`, as a module (`build(root)`, `main(argv)`, `BuildError`).

    It lives beside the TypeScript it builds so that `npm run build` and CI can call it without privlab.
    """
    import importlib.util

    path = AGENT_BUNDLE.parent / "build.py"
    spec = importlib.util.spec_from_file_location("privlab_hooks_build", path)
    if not path.is_file() or spec is None or spec.loader is None:
        raise CaptureError(f"{path}: the agent's build script is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve_device(device_id: str | None) -> Device:
    """The local host (None), the first USB device ("usb"), a device by id, or a remote "host:port"."""
    try:
        if device_id is None:
            return frida.get_local_device()
        if device_id == "usb":
            return frida.get_usb_device(timeout=5)
        if ":" in device_id and not any(d.id == device_id for d in frida.enumerate_devices()):
            return frida.get_device_manager().add_remote_device(device_id)
        return frida.get_device(device_id, timeout=5)
    except (frida.InvalidArgumentError, frida.TimedOutError, frida.ServerNotRunningError) as e:
        raise CaptureError(f"frida device {device_id or 'local'}: not reachable ({e})") from None


class FridaRunner:
    """Inject the agent into an app (and its children) and record every event into the session."""

    def __init__(
        self,
        session: Session,
        *,
        device_id: str | None = None,
        modules: Sequence[str] | None = None,
        watch: Sequence[tuple[str, str]] = (),
        agent_path: Path = AGENT_BUNDLE,
        ca_der: bytes | None = None,
        restart_on_crash: int = 0,
        follow_children: bool = True,
    ) -> None:
        """Prepare a runner; nothing is injected until `spawn` or `attach`.

        `modules` picks agent modules by name (None = all); `watch` lists (class, method) pairs for the
        `watch` module; `ca_der` is the interception CA for the native BoringSSL pinning bypass;
        `restart_on_crash` is how many times a crashed main process is started again (spawn only);
        `follow_children=False` turns child gating off (see the note on Python's subprocess below).

        Note: with Frida 17.26 on Linux, a child started by CPython's `subprocess` (its `fork_exec`)
        is not reported to child gating and hangs, and so does the parent waiting for it; `os.fork`
        and `os.exec*` are followed correctly. Android apps get their processes from zygote instead.
        """
        modules = [canonical_module(m) for m in modules or ()]  # older spellings, e.g. "installedapps"
        unknown = [m for m in modules if m not in MODULES]
        if unknown:
            raise CaptureError(f"unknown Frida module(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
        if not agent_path.is_file():
            raise CaptureError(
                f"{agent_path}: agent bundle missing; build it with `.venv/bin/python hooks/build.py`"
            )
        self.session = session
        self._bundle = agent_path.read_text(encoding="utf-8")
        self._bundle_sha256 = hashlib.sha256(self._bundle.encode("utf-8")).hexdigest()
        self._config: dict[str, Any] = {"modules": list(modules or []), "watch": [list(w) for w in watch]}
        if ca_der:
            self._config["caDerBase64"] = base64.b64encode(ca_der).decode()
        self._device = resolve_device(device_id)
        self._restarts_left = restart_on_crash
        self._follow_children = follow_children
        self._lock = threading.RLock()
        self._seq = 0
        self._processes: dict[int, _Process] = {}
        self._known: set[int] = set()
        self._tally = _Tally()
        self._main_pid: int | None = None
        self._launch: _Launch | None = None
        self._package: str | None = None
        self._done = threading.Event()
        self._ready = threading.Event()
        self._jvm: subprocess.Popen[bytes] | None = None
        self._jvm_ended = threading.Event()
        self.exit_code: int | None = None
        self._failure: str | None = None
        self._stopping = False
        self._work: queue.Queue[Callable[[], None] | None] = queue.Queue()
        # Frida's callbacks must not block on Frida calls: attaching to children happens on this thread.
        self._worker = threading.Thread(target=self._run_work, name="frida-runner", daemon=True)
        self._worker.start()
        self._device.on("child-added", self._on_child_added)
        self._record_meta(device_id)

    # -- the interface capture calls --------------------------------------------------------------

    def spawn(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> int:
        """Start `argv` suspended, load the agent, resume; returns the pid. Children are followed.

        On a device, `argv` may be just the app's package name: its other processes
        (`<package>:<name>`, started by zygote, not by the app) are then followed by spawn gating.
        """
        self._launch = _Launch(list(argv), env, cwd)
        if self._device.type != "local" and len(argv) == 1 and "/" not in argv[0]:
            self._gate_spawns(argv[0])
        return self._spawn_main()

    def attach(self, pid: int) -> None:
        """Load the agent into a running process (and follow the children it starts from now on)."""
        self._main_pid = pid
        self._instrument(pid)

    def launch_jvm(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        *,
        timeout: float = JVM_START_TIMEOUT,
        stdout: IO[bytes] | None = None,
    ) -> int:
        """Start a Java program, attach once its VM is up, and let it run only when the hooks are in.

        A JVM cannot be spawned suspended like a native program: until `libjvm.so` has created the VM
        there is nothing for the Java bridge to hook, and anything the program did meanwhile would be
        missed. So the program runs behind a gate (`PRIVLAB_GATE`, honoured by privlab's `Gate` main):
        it reports `vm-up`, the runner attaches and installs the agent, and opens the gate (`hooks-in`)
        when the agent reports ready. Returns the pid. The VM is never unhooked (reverting Java hooks
        can stall HotSpot at a safepoint): `stop()` kills a VM that is still running.
        """
        gate = Path(tempfile.mkdtemp(prefix="privlab-gate-"))
        try:
            proc = subprocess.Popen(
                argv, env={**(env or os.environ), GATE_ENV: str(gate)}, cwd=cwd, stdout=stdout
            )
        except OSError as e:
            raise CaptureError(f"cannot run {argv[0]!r}: {e.strerror}") from None
        self._jvm = proc
        self._main_pid = proc.pid
        deadline = time.monotonic() + timeout
        try:
            while not (gate / _GATE_UP).exists():
                if proc.poll() is not None:
                    raise CaptureError(f"{argv[0]}: the Java program ended (exit code {proc.returncode}) "
                                       f"before its VM reported up through {GATE_ENV}")  # fmt: skip
                if time.monotonic() > deadline:
                    raise CaptureError(f"{argv[0]}: no {_GATE_UP} in {gate} after {timeout:.0f} s; run the "
                                       f"program behind privlab's gate (java ... privlab.twin.Gate MAIN ...)")  # fmt: skip
                time.sleep(0.01)
            self._instrument(proc.pid)
            if not self._ready.wait(max(0.0, deadline - time.monotonic())):
                raise CaptureError(
                    f"pid {proc.pid}: the agent did not report its hooks within {timeout:.0f} s"
                )
            (gate / _GATE_OPEN).touch()
        except BaseException:
            proc.kill()
            self.exit_code = proc.wait()
            self._jvm_ended.set()
            raise
        # Only now: a wait() while Frida attaches (ptrace, from this process) would take its stop signal.
        threading.Thread(target=self._reap_jvm, args=(proc,), name="frida-jvm-reaper", daemon=True).start()
        return proc.pid

    def _reap_jvm(self, proc: subprocess.Popen[bytes]) -> None:
        self.exit_code = proc.wait()
        self._jvm_ended.set()
        # Frida reports the end through `detached`; if that never comes, the end of the process still counts.
        if not self._done.wait(5.0):
            self._write(
                [
                    _runner_line(
                        proc.pid, "process-ended", [f"pid {proc.pid} ended", {"exit_code": self.exit_code}]
                    )
                ]
            )
            self._done.set()

    def _kill_jvm(self) -> None:
        """End a JVM that still runs with SIGKILL (unhooking a live HotSpot VM can stall it)."""
        proc = self._jvm
        if proc is not None and not self._jvm_ended.is_set():
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(proc.pid, signal.SIGKILL)
            if self._jvm_ended.wait(10) is False and proc.poll() is None:
                self.exit_code = proc.wait(10)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the main process has ended for good (True) or `timeout` passed (False).

        Also True at once when recording failed; `stop()` then raises the reason.
        """
        return self._done.wait(timeout)

    def stop(self) -> dict[str, Any]:
        """Flush every agent, detach, record the summary in session.json and return it.

        Raises CaptureError (after detaching and recording the summary) if writing hooks.jsonl failed.
        """
        self._stopping = True
        with self._lock:
            processes = list(self._processes.values())
        # The reaper thread owns the JVM's wait(); after a normal end it reports within moments.
        jvm_alive = self._jvm is not None and not self._jvm_ended.wait(2.0 if self._done.is_set() else 0)
        for proc in processes:
            try:
                proc.script.exports_sync.flush()
                if jvm_alive and proc.pid == self._jvm.pid:  # type: ignore[union-attr]
                    # Unloading reverts the Java hooks, which can stall a running HotSpot VM at a
                    # safepoint: the events are flushed; the VM is killed below instead.
                    continue
                proc.script.unload()
            except (
                frida.InvalidOperationError,
                frida.ProcessNotFoundError,
                frida.TransportError,
                frida.RPCException,
            ):
                pass  # the process ended meanwhile; its events were flushed before it went
            if jvm_alive and self._jvm is not None and proc.pid == self._jvm.pid:
                continue
            try:
                proc.session.detach()
            except (frida.InvalidOperationError, frida.TransportError):
                pass
        if jvm_alive:
            self._kill_jvm()
            self._write([_runner_line(self._jvm.pid, "process-killed",  # type: ignore[union-attr]
                                      ["the Java VM was still running at stop: ended with SIGKILL"])])  # fmt: skip
        self._work.put(None)
        self._worker.join(timeout=10)
        try:
            self._device.off("child-added", self._on_child_added)
        except (ValueError, frida.InvalidOperationError):
            pass
        if self._package is not None:
            self._ungate_spawns()
        summary = self.summary()

        def record(meta: dict[str, Any]) -> None:
            meta.setdefault("frida", {})["summary"] = summary

        self.session.update_meta(record, reason="frida")
        if self._failure is not None:
            raise CaptureError(f"{self.session.file(HOOKS_JSONL)}: recording stopped: {self._failure}")
        return summary

    def summary(self) -> dict[str, Any]:
        """What happened so far: modules attached/failed, event count, warnings, gaps."""
        with self._lock:
            modules = dict(self._tally.modules)
            return {
                "modules_attached": sorted(n for n, m in modules.items() if m["status"] == "attached"),
                "modules_failed": sorted(n for n, m in modules.items() if m["status"] == "failed"),
                "modules_skipped": sorted(n for n, m in modules.items() if m["status"] == "skipped"),
                "modules": modules,
                "events": self._tally.events,
                "warnings": list(self._tally.warnings),
                "gaps": list(self._tally.gaps),
                "agent_sha256": self._bundle_sha256,
                "failure": self._failure,
            }

    def exports(self, pid: int) -> Any:
        """The agent's RPC exports in `pid` (for tools and tests that drive the agent directly)."""
        with self._lock:
            return self._processes[pid].script.exports_sync

    # -- instrumenting processes ------------------------------------------------------------------

    def _spawn_main(self) -> int:
        launch = self._launch
        assert launch is not None
        try:
            pid = self._device.spawn(launch.argv, env=launch.env, cwd=launch.cwd)
        except frida.ExecutableNotFoundError as e:
            raise CaptureError(f"{launch.argv[0]}: cannot start it under Frida ({e})") from None
        self._main_pid = pid
        self._instrument(pid)
        self._device.resume(pid)
        return pid

    def _instrument(self, pid: int) -> None:
        if self._stopping:
            raise CaptureError(f"pid {pid}: the runner is stopping")
        try:
            fsession = self._device.attach(pid)
            if self._follow_children:
                fsession.enable_child_gating()
            script = fsession.create_script(self._bundle, name="privlab-agent")
        except (
            frida.ProcessNotFoundError,
            frida.ProcessNotRespondingError,
            frida.PermissionDeniedError,
            frida.NotSupportedError,
            frida.TimedOutError,
        ) as e:
            raise CaptureError(f"pid {pid}: cannot attach Frida ({e})") from None
        proc = _Process(pid, fsession, script)
        with self._lock:
            self._processes[pid] = proc
            self._known.add(pid)
        fsession.on(
            "detached", lambda reason, crash: self._guarded(pid, self._on_detached, pid, reason, crash)
        )
        script.on("message", lambda message, data: self._guarded(pid, self._dispatch, pid, message))
        try:
            script.load()
            script.exports_sync.init(self._config)
        except (
            frida.InvalidOperationError,
            frida.TransportError,
            frida.ProcessNotFoundError,
            frida.RPCException,
        ) as e:
            raise CaptureError(f"pid {pid}: the agent did not start ({e})") from None

    def _gate_spawns(self, package: str) -> None:
        self._package = package
        self._device.on("spawn-added", self._on_spawn_added)
        try:
            self._device.enable_spawn_gating()
        except (frida.NotSupportedError, frida.InvalidOperationError) as e:
            self._runner_event(
                0, "warning", f"spawn gating unavailable ({e}): other processes of {package} run unobserved"
            )

    def _ungate_spawns(self) -> None:
        """Turn spawn gating off and let go of anything still waiting (no app is left frozen)."""
        try:
            self._device.off("spawn-added", self._on_spawn_added)
            self._device.disable_spawn_gating()
            for pending in self._device.enumerate_pending_spawn():
                self._device.resume(pending.pid)
        except (ValueError, frida.InvalidOperationError, frida.TransportError) as e:
            self._warn(f"spawn gating: could not turn it off cleanly ({e})")

    def _on_spawn_added(self, spawn: Any) -> None:
        self._work.put(lambda: self._follow_spawn(spawn))

    def _follow_spawn(self, spawn: Any) -> None:
        # Every gated spawn on the device waits for us: resume the ones that are not the app's at once.
        ident = spawn.identifier or ""
        package = self._package or ""
        with self._lock:
            ours = (ident == package or ident.startswith(package + ":")) and spawn.pid not in self._known
        self._follow(spawn.pid, f"{ident} (pid {spawn.pid})", instrument=ours)

    def _on_child_added(self, child: Any) -> None:
        self._work.put(lambda: self._follow_child(child))

    def _follow_child(self, child: Any) -> None:
        with self._lock:
            # An exec'd child may arrive after its old session detached: known pids count as ours.
            ours = child.parent_pid in self._known or child.pid in self._known
        if ours:
            self._follow(child.pid, f"child {child.pid}", instrument=True)

    def _follow(self, pid: int, label: str, *, instrument: bool) -> None:
        """Load the agent into a gated process (if `instrument`), then let it run in any case."""
        try:
            if instrument:
                self._instrument(pid)
        except (CaptureError, frida.InvalidOperationError, frida.TransportError) as e:
            self._runner_event(pid, "warning", f"{label}: agent not loaded ({e}); it runs unobserved")
        finally:
            self._resume(pid)

    def _resume(self, pid: int) -> None:
        try:
            self._device.resume(pid)
        except (frida.InvalidOperationError, frida.ProcessNotFoundError):
            pass  # already running or already gone

    def _run_work(self) -> None:
        while True:
            job = self._work.get()
            if job is None:
                return
            try:
                job()
            except Exception as e:  # a failed follow-up must not end the capture; it is recorded
                self._runner_event(0, "warning", f"runner: {type(e).__name__}: {e}")

    def _on_detached(self, pid: int, reason: str, crash: Any) -> None:
        with self._lock:
            proc = self._processes.pop(pid, None)
            if self._stopping:
                return
            exc = proc.exception if proc else None
            recent = proc is not None and proc.last_exception is not None
            crashed = crash is not None or (
                recent and proc is not None and time.time() - (proc.last_exception or 0) < _CRASH_WINDOW
            )
        if reason == "process-replaced":
            return  # exec: the same pid comes back as a child and is instrumented again
        if reason == "application-requested":
            # We did not ask for it (stop() sets _stopping first): Frida 17.26 sometimes drops the
            # parent's session while a forked child is being attached. The process lives on: re-attach.
            lost: dict[str, Any] = {"pid": pid, "t": time.time(), "reason": reason, "crashed": False}
            with self._lock:
                self._tally.gaps.append(lost)
            self._runner_event(pid, "gap", f"pid {pid}: Frida dropped the session; re-attaching", lost)
            # Not on the worker: attaching may wait for a forked child that only the worker resumes.
            threading.Thread(
                target=self._reattach, args=(pid, lost), name="frida-reattach", daemon=True
            ).start()
            return
        ended: dict[str, Any] = {"pid": pid, "t": time.time(), "reason": reason, "crashed": crashed}
        if crash is not None:
            ended["crash"] = getattr(crash, "summary", str(crash))
        elif crashed and exc is not None:
            ended["crash"] = f"native {exc.get('kind')} at {exc.get('address')}"
        if reason == "process-terminated" and not crashed:
            # A normal end: recorded, not a gap in observation.
            self._write([_runner_line(pid, "process-ended", [f"pid {pid} ended", ended])])
        else:
            with self._lock:
                self._tally.gaps.append(ended)
            self._runner_event(
                pid, "gap", f"pid {pid} detached: {reason}" + (" (crashed)" if crashed else ""), ended
            )
        if pid != self._main_pid:
            return
        if crashed and self._launch is not None and self._restarts_left > 0:
            self._restarts_left -= 1
            self._work.put(lambda: self._restart(pid, ended))
        else:
            self._done.set()

    def _reattach(self, pid: int, gap: dict[str, Any]) -> None:
        try:
            self._instrument(pid)
        except (CaptureError, frida.InvalidOperationError, frida.TransportError) as e:
            gap["reattached"] = False
            self._runner_event(pid, "warning", f"pid {pid}: could not re-attach ({e}); it runs unobserved")
            if pid == self._main_pid:
                self._done.set()
            return
        gap["reattached"] = True
        gap["t_reattached"] = time.time()
        self._runner_event(pid, "reattach", f"pid {pid}: agent loaded again")

    def _restart(self, old_pid: int, gap: dict[str, Any]) -> None:
        try:
            new_pid = self._spawn_main()
        except (CaptureError, frida.InvalidOperationError, frida.TransportError) as e:
            self._runner_event(
                old_pid, "warning", f"pid {old_pid} crashed and could not be started again ({e})"
            )
            self._done.set()
            return
        with self._lock:
            gap["restarted_as"] = new_pid
        self._runner_event(new_pid, "restart", f"pid {old_pid} crashed; started again as pid {new_pid}")

    # -- messages ---------------------------------------------------------------------------------

    def _guarded(self, pid: int, handler: Callable[..., None], *args: Any) -> None:
        """Run a Frida callback; a failure (e.g. a full disk) stops the capture visibly, not silently."""
        try:
            handler(*args)
        except Exception as e:  # Frida would print the traceback and carry on without the data
            self._fail(f"pid {pid}: could not record what the agent reported ({type(e).__name__}: {e})")

    def _fail(self, text: str) -> None:
        """Recording broke (e.g. the disk is full): end the wait, and let `stop()` raise it."""
        with self._lock:
            if self._failure is None:
                self._failure = text
        self._done.set()

    def _dispatch(self, pid: int, message: Any) -> None:
        if not isinstance(message, dict):
            self._runner_event(pid, "malformed-payload", "message is not an object", message)
            return
        if message.get("type") == "error":
            self._agent_event(pid, "script-error", [message.get("description"), message.get("stack")], None)
            self._warn(f"pid {pid}: agent script error: {message.get('description')}")
            return
        if message.get("type") != "send":
            self._runner_event(
                pid, "unknown-message", f"unknown Frida message type {message.get('type')!r}", message
            )
            return
        payload = message.get("payload")
        if not isinstance(payload, dict):
            self._runner_event(pid, "malformed-payload", "agent message payload is not an object", payload)
            return
        kind = payload.get("type")
        if kind == "hooks:events":
            self._on_events(pid, payload)
        elif kind == "agent:ready":
            self._on_ready(pid, payload)
        elif kind == "agent:warning":
            text = f"{payload.get('module')}: {payload.get('message')}"
            self._agent_event(pid, "warning", [payload.get("module"), payload.get("message")], None)
            self._warn(f"pid {pid}: {text}")
        elif kind == "agent:exception":
            with self._lock:
                proc = self._processes.get(pid)
                if proc is not None:
                    proc.last_exception = time.time()
                    proc.exception = payload
            self._agent_event(pid, "native-exception", [payload.get("kind"), payload.get("address")], None)
        else:
            self._runner_event(pid, "unknown-message", f"unknown agent message type {kind!r}", payload)

    def _on_ready(self, pid: int, payload: dict[str, Any]) -> None:
        reports = payload.get("modules")
        if not isinstance(reports, list):
            self._runner_event(pid, "malformed-payload", "agent:ready without a modules list", payload)
            return
        with self._lock:
            for r in reports:
                if not isinstance(r, dict) or not isinstance(r.get("name"), str):
                    continue
                prev = self._tally.modules.get(r["name"])
                # A module attached in any process counts as attached.
                if prev is None or prev["status"] != "attached":
                    self._tally.modules[r["name"]] = {
                        "status": r.get("status"),
                        "hooks": r.get("hooks", 0),
                        "missing": r.get("missing", []),
                        "reason": r.get("reason"),
                    }
        info = {k: payload.get(k) for k in ("frida", "runtime", "java")}
        self._agent_event(pid, "ready", reports, info)
        self._ready.set()

        def record(meta: dict[str, Any]) -> None:
            meta.setdefault("frida", {}).setdefault("agents", []).append({"pid": pid, **info})

        self.session.update_meta(record, reason="frida")

    def _on_events(self, pid: int, payload: dict[str, Any]) -> None:
        events = payload.get("events")
        if not isinstance(events, list):
            self._runner_event(pid, "malformed-payload", "hooks:events without an events list", payload)
            return
        good: list[dict[str, Any]] = []
        bad: list[Any] = []
        for ev in events:
            line = _event_from_agent(pid, ev)
            (good if line is not None else bad).append(line if line is not None else ev)
        with self._lock:
            proc = self._processes.get(pid)
            if proc is not None:
                for ev in events:
                    n = ev.get("n") if isinstance(ev, dict) else None
                    if isinstance(n, int):
                        if n > proc.next_n:
                            self._runner_event(
                                pid, "lost", f"pid {pid}: agent events {proc.next_n}..{n - 1} never arrived"
                            )
                        proc.next_n = max(proc.next_n, n + 1)
            self._write(good)
            self._tally.events += len(good)
        if bad:
            self._runner_event(
                pid, "malformed-payload", f"{len(bad)} event(s) without the required fields", bad
            )

    # -- writing ----------------------------------------------------------------------------------

    def _write(self, events: list[dict[str, Any]]) -> None:
        """Number the events and append them as one custody-covered batch."""
        if not events:
            return
        with self._lock:
            first = self._seq
            lines = []
            for ev in events:
                ev["seq"] = self._seq
                self._seq += 1
                lines.append(_line({k: ev[k] for k in _EVENT_FIELDS}))
            data = b"".join(lines)
            self.session.append(HOOKS_JSONL, data, kind="hooks", ref=f"{first}-{self._seq - 1}")

    def _agent_event(self, pid: int, api: str, args: Any, ret: Any) -> None:
        line = _runner_line(pid, api, args, ret)
        line["category"] = AGENT
        self._write([line])

    def _runner_event(self, pid: int, api: str, text: str, raw: Any = None) -> None:
        """Record a runner observation in hooks.jsonl (raw content kept, JSON-safe) and as a warning."""
        self._write([_runner_line(pid, api, [text] if raw is None else [text, _json_safe(raw)])])
        if api not in ("restart", "reattach"):
            self._warn(text)

    def _warn(self, text: str) -> None:
        with self._lock:
            self._tally.warnings.append(text)

    def _record_meta(self, device_id: str | None) -> None:
        from importlib import metadata

        try:
            tools = metadata.version("frida-tools")
        except metadata.PackageNotFoundError:
            tools = None
        info = {
            "agent": {
                "path": "hooks/_agent.js",
                "sha256": self._bundle_sha256,
                "bytes": len(self._bundle.encode()),
            },
            "frida": frida.__version__,
            "frida_tools": tools,
            "device": {
                "id": self._device.id,
                "name": self._device.name,
                "type": self._device.type,
                "requested": device_id,
            },
            "modules": self._config["modules"] or list(MODULES),
            "watch": self._config["watch"],
        }

        def record(meta: dict[str, Any]) -> None:
            meta["frida"] = {**meta.get("frida", {}), **info}

        self.session.update_meta(record, reason="frida")


def _line(record: dict[str, Any]) -> bytes:
    """One hooks.jsonl line. Java strings may hold lone surrogates, which UTF-8 cannot carry: such a
    line is written with JSON escapes instead (the same value, still valid UTF-8)."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"


def _runner_line(pid: int, api: str, args: Any, ret: Any = None) -> dict[str, Any]:
    return {
        "t": time.time(),
        "pid": pid,
        "tid": 0,
        "category": RUNNER,
        "api": api,
        "args": args,
        "ret": ret,
        "stack": [],
    }


def _event_from_agent(pid: int, ev: Any) -> dict[str, Any] | None:
    """A hooks.jsonl record from one agent event, or None when required fields are missing or mistyped."""
    if not isinstance(ev, dict):
        return None
    t, tid, category, api = ev.get("t"), ev.get("tid"), ev.get("category"), ev.get("api")
    if not (
        isinstance(t, int | float)
        and isinstance(tid, int)
        and isinstance(category, str)
        and isinstance(api, str)
    ):
        return None
    args = ev.get("args", [])
    stack = ev.get("stack", [])
    if not isinstance(args, list) or not isinstance(stack, list):
        return None
    return {
        "t": float(t),
        "pid": pid,
        "tid": tid,
        "category": category,
        "api": api,
        "args": args,
        "ret": ev.get("ret"),
        "stack": stack,
    }


def _json_safe(value: Any) -> Any:
    """Anything a message carried, as JSON (unknown objects as their repr), so it can be kept."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=repr))

"""A thin wrapper over the real `adb` client: timeouts, root wrapping, and one-line errors.

Every device command goes through `Adb.shell`, which appends `; echo <marker>$?` to the command line.
The marker is how privlab tells "the command exited 0 with no output" from "the device dropped in the
middle": adb 29's shell-v2 client returns 0 when the transport closes before the exit packet, so the
exit status alone cannot be trusted. When the marker is missing, `adb get-state` decides whether the
device went away (`DeviceGone`) or the command was cut short for another reason (`AdbError`).

The adb server is whichever the environment names (`ADB_SERVER_SOCKET`, default tcp:localhost:5037),
so tests can run a private server per test.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import PrivlabError

ADB = "adb"
DEFAULT_TIMEOUT = 30.0
_MARKER = "__privlab_rc="


class AdbError(PrivlabError):
    """adb itself failed (not installed, timed out, refused the command)."""


class DeviceGone(AdbError):
    """The device disappeared while privlab was talking to it."""


class NoRoot(AdbError):
    """A step needs root and the device offers none."""


@dataclass(frozen=True)
class ShellResult:
    """What one shell command on the device printed and how it exited."""

    command: str
    stdout: str
    stderr: str
    code: int

    @property
    def ok(self) -> bool:
        return self.code == 0

    def why(self) -> str:
        """The first line the command printed on failure, for a one-line error."""
        text = (self.stderr.strip() or self.stdout.strip() or f"exit status {self.code}").splitlines()
        return text[0] if text else f"exit status {self.code}"


# How privlab runs a command as root. "shell" means adbd already runs as root (after `adb root`).
ROOT_METHODS = ("shell", "su -c", "su 0")


def as_root(command: str, method: str) -> str:
    """`command` wrapped so it runs as root with `method` (one of ROOT_METHODS)."""
    if method == "shell":
        return command
    if method == "su -c":
        return f"su -c {shlex.quote(command)}"  # Magisk/KernelSU su
    if method == "su 0":
        return f"su 0 sh -c {shlex.quote(command)}"  # AOSP su on userdebug images: `su UID COMMAND...`
    raise ValueError(f"unknown root method {method!r}")


class Adb:
    """One device, addressed by serial, through the `adb` client binary."""

    def __init__(self, serial: str, *, binary: str = ADB, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.serial = serial
        self.binary = binary
        self.timeout = timeout
        self.root_method: str | None = None  # set by `probe_root`

    # -- host-side commands ----------------------------------------------------------------------

    def run(
        self, *args: str, timeout: float | None = None, device: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`adb [-s SERIAL] ARGS...`; raises AdbError when adb is missing or does not answer in time."""
        argv = [self.binary, *(["-s", self.serial] if device else []), *args]
        try:
            return subprocess.run(
                argv,
                capture_output=True,
                text=True,
                errors="replace",
                stdin=subprocess.DEVNULL,
                timeout=timeout or self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise AdbError(
                f"`{self.binary}` not found: install the adb client (Debian/Ubuntu: `apt-get install adb`)"
            ) from None
        except subprocess.TimeoutExpired:
            raise AdbError(
                f"`{_show(argv)}` did not answer within {timeout or self.timeout:.0f} s: "
                f"check the device with `adb -s {self.serial} get-state` and restart it if it hangs"
            ) from None

    def state(self) -> str:
        """`adb get-state`: "device", "offline", "unauthorized", or "missing"."""
        r = self.run("get-state", timeout=10)
        if r.returncode == 0:
            return r.stdout.strip() or "missing"
        err = r.stderr.strip()
        for state in ("offline", "unauthorized"):
            if state in err:
                return state
        return "missing"

    def _gone_or(self, what: str, detail: str) -> AdbError:
        """A DeviceGone when the device is no longer there, else an AdbError naming `what` failed."""
        state = self.state()
        if state != "device":
            return DeviceGone(
                f"device {self.serial} went away during `{what}` (now {state}): restart the emulator or "
                f"reconnect it (`adb connect {self.serial}` for a TCP device), then run the command again"
            )
        return AdbError(f"`{what}` on {self.serial} failed: {detail}")

    def push(self, local: Path, remote: str) -> None:
        """Copy a host file to the device."""
        r = self.run("push", str(local), remote, timeout=max(self.timeout, 120))
        if r.returncode != 0:
            raise self._gone_or(f"adb push {local} {remote}", _first_line(r))

    def pull(self, remote: str, local: Path) -> None:
        """Copy a device file to the host."""
        r = self.run("pull", remote, str(local), timeout=max(self.timeout, 600))
        if r.returncode != 0 or not local.exists():
            raise self._gone_or(f"adb pull {remote}", _first_line(r))

    def reverse(self, local: str, remote: str) -> None:
        """`adb reverse LOCAL REMOTE` (device port to host port)."""
        r = self.run("reverse", local, remote)
        if r.returncode != 0:
            raise self._gone_or(f"adb reverse {local} {remote}", _first_line(r))

    def reverse_remove(self, local: str) -> bool:
        """Remove one reverse tunnel; False when there was none."""
        r = self.run("reverse", "--remove", local)
        if r.returncode != 0 and "not found" not in r.stderr:
            raise self._gone_or(f"adb reverse --remove {local}", _first_line(r))
        return r.returncode == 0

    def reverse_list(self) -> list[tuple[str, str]]:
        """The device's reverse tunnels as (device side, host side)."""
        r = self.run("reverse", "--list")
        if r.returncode != 0:
            raise self._gone_or("adb reverse --list", _first_line(r))
        out = []
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3:
                out.append((parts[-2], parts[-1]))
        return out

    def adb_root(self) -> str:
        """`adb root`: restart adbd as root (userdebug/eng images); returns what adbd said."""
        r = self.run("root", timeout=max(self.timeout, 60))
        text = (r.stdout + r.stderr).strip()
        if r.returncode != 0:
            raise self._gone_or("adb root", text or f"exit status {r.returncode}")
        return text

    # -- device-side commands ------------------------------------------------------------------

    def shell(self, command: str, *, root: bool = False, timeout: float | None = None) -> ShellResult:
        """Run `command` on the device (as root when asked) and return its output and exit status."""
        if root:
            if self.root_method is None:
                raise NoRoot(
                    f"`{command}` needs root on {self.serial} and none was found: run `privlab device check "
                    f"--serial {self.serial}` for how to get it"
                )
            command = as_root(command, self.root_method)
        try:
            r = self.run("shell", f"{command}; echo {_MARKER}$?", timeout=timeout)
        except AdbError as e:
            if command.startswith("su "):
                # Magisk asks on the device screen the first time the shell wants root.
                raise AdbError(f"{e}; if the device shows a superuser prompt, grant it to 'Shell'") from None
            raise
        stdout, _, tail = r.stdout.rpartition(_MARKER)
        if not _ or not tail.strip().isdigit():
            raise self._gone_or(command, _first_line(r))
        return ShellResult(command, stdout, r.stderr, int(tail.strip()))

    def check(self, command: str, *, root: bool = False) -> str:
        """Run `command`, return its stdout, and raise a one-line AdbError when it fails."""
        r = self.shell(command, root=root)
        if not r.ok:
            raise AdbError(f"`{r.command}` failed on {self.serial}: {r.why()}")
        return r.stdout

    def getprop(self, name: str) -> str:
        """One system property ("" when unset)."""
        return self.shell(f"getprop {name}").stdout.strip()


def list_devices(binary: str = ADB) -> list[tuple[str, str]]:
    """`adb devices`: (serial, state) for every device the adb server knows."""
    r = Adb("", binary=binary).run("devices", device=False, timeout=30)
    if r.returncode != 0:
        raise AdbError(f"`adb devices` failed: {_first_line(r)}")
    out = []
    for line in r.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            out.append((parts[0], parts[1]))
    return out


def resolve_serial(serial: str | None, binary: str = ADB) -> str:
    """The serial to use: the one given (connecting host:port serials), or the only attached device."""
    if serial:
        if ":" in serial and not serial.startswith("emulator-"):
            # A TCP device: `adb connect` is idempotent and makes `-s host:port` work.
            Adb("", binary=binary).run("connect", serial, device=False, timeout=30)
        return serial
    devices = list_devices(binary)
    ready = [s for s, state in devices if state == "device"]
    if len(ready) == 1:
        return ready[0]
    if not devices:
        raise AdbError(
            "no Android device: start the emulator (`emulator -avd NAME`) or connect one "
            "(`adb connect HOST:PORT`), then check `adb devices`"
        )
    if not ready:
        serial0, state = devices[0]
        raise AdbError(f"device {serial0} is {state}: {_state_fix(serial0, state)}")
    raise AdbError(f"several devices attached ({', '.join(ready)}): pass --serial to choose one")


def _state_fix(serial: str, state: str) -> str:
    if state == "unauthorized":
        return "accept the 'Allow USB debugging?' prompt on the device screen"
    if state == "offline":
        return f"run `adb reconnect offline` or restart the emulator, then `adb -s {serial} get-state`"
    return f"start it or reconnect it (`adb connect {serial}`)"


def _first_line(r: subprocess.CompletedProcess[str]) -> str:
    for text in (r.stderr, r.stdout):
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("* daemon"):
                return line
    return f"exit status {r.returncode}"


def _show(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


def probe_root(adb: Adb) -> str | None:
    """Find how to run commands as root, the ways HTTP Toolkit probes: adbd already root, `su -c`, `su 0`.

    `adb root` is not tried here because it restarts adbd; `privlab device setup` does that when the
    image is debuggable. Sets and returns `adb.root_method` (None when there is no root).
    """
    for method in ROOT_METHODS:
        r = adb.shell(as_root("id -u", method))
        if r.ok and r.stdout.strip().splitlines()[-1:] == ["0"]:
            adb.root_method = method
            return method
    adb.root_method = None
    return None

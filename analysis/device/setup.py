"""`privlab device setup` / `privlab device reset`: make a rooted device ready for a live session, and undo it.

Steps, in order (reset undoes them in reverse):

1. root   — find root (`su -c`, `su 0`, adbd already root); on a debuggable image run `adb root`.
2. ca     — the HTTP Toolkit way, without remounting /system: copy the trusted CAs aside, mount a
            tmpfs over /system/etc/security/cacerts, copy them back plus the mitmproxy CA as
            `<subject_hash_old>.0`, fix owner/mode/SELinux label; on Android 14+ bind-mount that
            directory over /apex/com.android.conscrypt/cacerts inside the mount namespace of every
            zygote and every running app (`nsenter`), because APEX mounts are per namespace.
3. proxy  — `settings put global http_proxy 127.0.0.1:PORT` and `adb reverse tcp:PORT tcp:PORT`.
4. quic   — reject UDP/443 (iptables and ip6tables) so QUIC falls back to TCP through the proxy.
5. frida  — push frida-server (ABI and version checked first) and start it as root.

Each step first looks whether it is already done (so running setup twice changes nothing) and stops
with a one-line `SetupError` at the first command that fails, naming the step, the command, what the
device said, and what to do; what earlier steps did stays in place until `privlab device reset`.
"""

from __future__ import annotations

import lzma
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from analysis.device.adb import Adb
from analysis.device.adb import AdbError
from analysis.device.adb import DeviceGone
from analysis.device.adb import probe_root
from analysis.device.adb import resolve_serial
from analysis.device.ca import DEFAULT_CONFDIR
from analysis.device.ca import ProxyCA
from analysis.device.ca import ensure_ca
from analysis.device.ca import load_ca
from analysis.device.checks import IPTABLES
from analysis.device.checks import QUIC_RULE
from analysis.device.checks import frida_server_url
from analysis.device.checks import python_frida_version
from analysis.device.facts import APEX_CACERTS
from analysis.device.facts import FRIDA_SERVER
from analysis.device.facts import SYSTEM_CACERTS
from analysis.device.facts import app_pids
from analysis.device.facts import device_sha256
from analysis.device.facts import read_props
from analysis.device.facts import zygote_pids
from analysis.errors import PrivlabError
from analysis.errors import path_kind

CA_COPY = "/data/local/tmp/privlab-ca-copy"
# frida-server daemonises; its stdio goes to /dev/null so `adb shell` is not held open by the daemon.
FRIDA_START = f"{FRIDA_SERVER} -D </dev/null >/dev/null 2>&1"
ELF_MACHINE = {3: "x86", 40: "armeabi-v7a", 62: "x86_64", 183: "arm64-v8a"}


class SetupError(PrivlabError):
    """A setup or reset step could not finish."""


@dataclass
class SetupOptions:
    """What setup should make true."""

    confdir: Path = DEFAULT_CONFDIR
    proxy_port: int = 8080
    frida_server: Path | None = None
    frida_version: str | None = None


@dataclass
class StepResult:
    """What one step did: "done" (changed the device), "already" (nothing to do) or "skipped"."""

    step: str
    outcome: str
    detail: str


@dataclass
class Runner:
    """Runs the steps against one device and remembers its properties and root method."""

    adb: Adb
    options: SetupOptions
    props: dict[str, str] = field(default_factory=dict)
    step: str = ""
    # called as (done, total) while bind-mounting into app namespaces (the long part on a busy device)
    tick: Callable[[int, int], None] | None = None

    @property
    def sdk(self) -> int:
        value = self.props.get("ro.build.version.sdk", "0")
        return int(value) if value.isdigit() else 0

    def root(self, command: str) -> str:
        """Run `command` as root; SetupError naming the step at the first failure."""
        return self._do(command, root=True)

    def sh(self, command: str) -> str:
        return self._do(command, root=False)

    def _do(self, command: str, *, root: bool) -> str:
        try:
            r = self.adb.shell(command, root=root)
        except DeviceGone:
            raise
        except AdbError as e:
            raise SetupError(f"{self.step}: {e}") from None
        if not r.ok:
            raise SetupError(
                f"{self.step}: `{command}` failed on {self.adb.serial}: {r.why()}; nothing after this step was done "
                f"(`privlab device reset --serial {self.adb.serial}` undoes the earlier steps)"
            )
        return r.stdout

    def push(self, local: Path, remote: str) -> None:
        """`adb push`; a failure (other than the device going away) becomes a SetupError naming the step."""
        try:
            self.adb.push(local, remote)
        except DeviceGone:
            raise
        except AdbError as e:
            raise SetupError(f"{self.step}: {e}") from None

    def ok(self, command: str, *, root: bool = False) -> bool:
        """True when `command` exits 0 (used to ask whether something is already in place)."""
        return self.adb.shell(command, root=root).ok


# -- steps ---------------------------------------------------------------------------------------


def step_root(run: Runner) -> StepResult:
    method = probe_root(run.adb)
    if method:
        return StepResult("root", "already", f"root through `{method}`")
    if run.props.get("ro.debuggable") != "1":
        raise SetupError(
            f"root: no root on {run.adb.serial} (`su -c`, `su 0` refused; `adb root` is not allowed on "
            f"{run.props.get('ro.build.type', 'user')} builds): use a 'Google APIs' image or root it with Magisk (docs/emulator.md)"
        )
    said = run.adb.adb_root()
    if probe_root(run.adb) is None:
        raise SetupError(
            f"root: `adb -s {run.adb.serial} root` said {said!r} but the shell is still not root"
        )
    return StepResult("root", "done", f"`adb root`: {said}")


def _ca_pids(run: Runner) -> list[int]:
    zygotes = zygote_pids(run.adb)
    return zygotes + [p for p in app_pids(run.adb, zygotes) if p not in zygotes]


def _is_tmpfs(run: Runner) -> bool:
    return any(f" on {SYSTEM_CACERTS} type tmpfs" in line for line in run.sh("mount").splitlines())


def step_ca(run: Runner) -> StepResult:
    ca = ensure_ca(run.options.confdir)
    target = f"{SYSTEM_CACERTS}/{ca.android_name}"
    apex = run.ok(f"test -d {APEX_CACERTS}")
    did: list[str] = []
    if device_sha256(run.adb, target) != ca.sha256:
        _install_system_ca(run, ca, apex)
        did.append(f"{target} on a tmpfs")
    if apex:
        bound = 0
        pids = _ca_pids(run)
        for i, pid in enumerate(pids, start=1):
            if device_sha256(run.adb, f"{APEX_CACERTS}/{ca.android_name}", in_pid=pid) != ca.sha256:
                run.root(
                    f"nsenter --mount=/proc/{pid}/ns/mnt -- /bin/mount --bind {SYSTEM_CACERTS} {APEX_CACERTS}"
                )
                bound += 1
            if run.tick:
                run.tick(i, len(pids))
        if bound:
            did.append(f"APEX store bind-mounted in {bound} namespace(s)")
    if not did:
        return StepResult("ca", "already", f"{ca.android_name} trusted")
    return StepResult("ca", "done", "; ".join(did))


def _install_system_ca(run: Runner, ca: ProxyCA, apex: bool) -> None:
    staged = f"/data/local/tmp/privlab-{ca.android_name}"
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / ca.android_name
        local.write_bytes(ca.pem)
        run.push(local, staged)
    if not _is_tmpfs(run):
        # Keep the current trust: copy the CAs aside before the tmpfs hides them, then copy them back.
        source = APEX_CACERTS if apex else SYSTEM_CACERTS
        run.root(f"mkdir -p {CA_COPY}")
        run.root(f"chmod 700 {CA_COPY}")
        run.root(f"rm -rf {CA_COPY}/*")
        run.root(f"cp {source}/* {CA_COPY}/")
        run.root(f"mount -t tmpfs tmpfs {SYSTEM_CACERTS}")
        run.root(f"mv {CA_COPY}/* {SYSTEM_CACERTS}/")
    run.root(f"mv {staged} {SYSTEM_CACERTS}/{ca.android_name}")
    run.root(f"chown root:root {SYSTEM_CACERTS}/*")
    run.root(f"chmod 644 {SYSTEM_CACERTS}/*")
    run.root(f"chcon u:object_r:system_file:s0 {SYSTEM_CACERTS}/*")


def undo_ca(run: Runner) -> StepResult:
    undone = []
    if run.ok(f"test -d {APEX_CACERTS}"):
        try:
            ca: ProxyCA | None = load_ca(run.options.confdir)
        except PrivlabError:
            ca = None
        for pid in _ca_pids(run):
            # Only unmount where our CA is visible: that is a namespace we bind-mounted into.
            if (
                ca is not None
                and device_sha256(run.adb, f"{APEX_CACERTS}/{ca.android_name}", in_pid=pid) == ca.sha256
            ):
                run.root(f"nsenter --mount=/proc/{pid}/ns/mnt -- /bin/umount {APEX_CACERTS}")
                undone.append(pid)
    if _is_tmpfs(run):
        run.root(f"umount {SYSTEM_CACERTS}")
        return StepResult(
            "ca",
            "done",
            f"tmpfs over {SYSTEM_CACERTS} removed"
            + (f"; APEX bind undone in {len(undone)} namespace(s)" if undone else ""),
        )
    return StepResult("ca", "already", "no privlab CA mounts")


def step_proxy(run: Runner) -> StepResult:
    port = run.options.proxy_port
    want = f"127.0.0.1:{port}"
    did = []
    if run.sh("settings get global http_proxy").strip() != want:
        run.sh(f"settings put global http_proxy {want}")
        did.append(f"http_proxy={want}")
    tunnel = (f"tcp:{port}", f"tcp:{port}")
    if tunnel not in run.adb.reverse_list():
        run.adb.reverse(*tunnel)
        did.append(f"adb reverse tcp:{port} tcp:{port}")
    return StepResult(
        "proxy", "done" if did else "already", ", ".join(did) or f"http_proxy={want} via adb reverse"
    )


def undo_proxy(run: Runner) -> StepResult:
    port = run.options.proxy_port
    did = []
    if run.sh("settings get global http_proxy").strip() not in ("null", "", ":0"):
        # ":0" is what clears the global proxy at once; deleting the key only takes effect after a reboot.
        run.sh("settings put global http_proxy :0")
        did.append("http_proxy cleared")
    if run.adb.reverse_remove(f"tcp:{port}"):
        did.append(f"adb reverse tcp:{port} removed")
    return StepResult("proxy", "done" if did else "already", ", ".join(did) or "no proxy route")


def step_quic(run: Runner) -> StepResult:
    did = []
    for table in IPTABLES:
        if not run.ok(f"{table} -C {QUIC_RULE}", root=True):
            run.root(f"{table} -I {QUIC_RULE}")
            did.append(table.split()[0])
    return StepResult(
        "quic", "done" if did else "already", f"UDP/443 rejected ({', '.join(did) or 'already'})"
    )


def undo_quic(run: Runner) -> StepResult:
    did = []
    for table in IPTABLES:
        while run.ok(f"{table} -C {QUIC_RULE}", root=True):
            run.root(f"{table} -D {QUIC_RULE}")
            did.append(table.split()[0])
    return StepResult(
        "quic",
        "done" if did else "already",
        f"UDP/443 rule removed from {', '.join(did)}" if did else "no QUIC rule",
    )


def _local_frida(path: Path) -> Path:
    """The frida-server binary to push (an `.xz` release is unpacked next to a temp copy)."""
    if (kind := path_kind(path)) is not None:  # a directory or FIFO is said as such, never opened
        raise SetupError(
            f"frida: {path}: {kind}" + (", not a frida-server binary" if kind.startswith("is ") else "")
        )
    if path.suffix == ".xz":
        out = Path(tempfile.mkdtemp(prefix="privlab-frida-")) / path.stem
        try:
            out.write_bytes(lzma.decompress(path.read_bytes()))
        except lzma.LZMAError:
            raise SetupError(f"frida: {path}: not a valid .xz file") from None
        return out
    return path


def elf_abi(path: Path) -> str | None:
    """The Android ABI an ELF binary is built for (from e_machine), or None when it is not ELF."""
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF" or len(head) < 20:
        return None
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    return ELF_MACHINE.get(machine, f"machine {machine}")


def step_frida(run: Runner) -> StepResult:
    want = run.options.frida_version or python_frida_version()
    abi = run.props.get("ro.product.cpu.abi", "")
    pids = run.adb.shell("pidof frida-server")
    current = run.adb.shell(f"{FRIDA_SERVER} --version")
    version = current.stdout.strip() if current.ok else None
    if pids.ok and version == want:
        return StepResult("frida", "already", f"frida-server {version} running")
    if run.options.frida_server is None:
        if version == want:
            run.root(FRIDA_START)
            return StepResult("frida", "done", f"frida-server {version} started")
        raise SetupError(
            f"frida: no frida-server {want} on {run.adb.serial} (found {version or 'none'}): download "
            f"{frida_server_url(want or 'VERSION', abi)} and run `privlab device setup --frida-server FILE`"
        )
    binary = _local_frida(run.options.frida_server)
    built_for = elf_abi(binary)
    # frida-server runs natively: on an x86_64 image with ARM translation it must be the x86_64 build.
    if built_for != abi:
        raise SetupError(
            f"frida: {run.options.frida_server} is built for {built_for or 'no known CPU (not ELF)'}, the device is {abi}: "
            f"download {frida_server_url(want or 'VERSION', abi)}"
        )
    if pids.ok:
        run.root(f"kill {' '.join(pids.stdout.split())}")
    run.push(binary, FRIDA_SERVER)
    run.root(f"chmod 755 {FRIDA_SERVER}")
    pushed = run.sh(f"{FRIDA_SERVER} --version").strip()
    if want and pushed != want:
        raise SetupError(
            f"frida: {run.options.frida_server} is frida-server {pushed}, Python frida is {want}: download {frida_server_url(want, abi)}"
        )
    run.root(FRIDA_START)
    if not run.ok("pidof frida-server"):
        raise SetupError(
            f"frida: `{FRIDA_SERVER} -D` returned but frida-server is not running: see `adb -s {run.adb.serial} logcat -d | grep -i frida`"
        )
    return StepResult("frida", "done", f"frida-server {pushed} pushed and started")


def undo_frida(run: Runner) -> StepResult:
    did = []
    pids = run.adb.shell("pidof frida-server")
    if pids.ok and pids.stdout.split():
        run.root(f"kill {' '.join(pids.stdout.split())}")
        did.append("stopped")
    if run.ok(f"test -f {FRIDA_SERVER}"):
        run.root(f"rm -f {FRIDA_SERVER}")
        did.append(f"{FRIDA_SERVER} removed")
    return StepResult("frida", "done" if did else "already", ", ".join(did) or "no frida-server")


STEPS: tuple[tuple[str, Callable[[Runner], StepResult]], ...] = (
    ("root", step_root),
    ("ca", step_ca),
    ("proxy", step_proxy),
    ("quic", step_quic),
    ("frida", step_frida),
)
UNDO: tuple[tuple[str, Callable[[Runner], StepResult]], ...] = (
    ("frida", undo_frida),
    ("quic", undo_quic),
    ("proxy", undo_proxy),
    ("ca", undo_ca),
)


def _runner(serial: str | None, options: SetupOptions, tick: Callable[[int, int], None] | None) -> Runner:
    adb = Adb(resolve_serial(serial))
    state = adb.state()
    if state != "device":
        raise SetupError(
            f"{adb.serial} is {state}: run `privlab device check --serial {adb.serial}` for the fix"
        )
    return Runner(adb, options, read_props(adb), tick=tick)


def setup(
    serial: str | None,
    options: SetupOptions | None = None,
    progress: Callable[[StepResult], None] | None = None,
    tick: Callable[[int, int], None] | None = None,
) -> list[StepResult]:
    """Run every setup step in order; stops with SetupError (or DeviceGone) at the first failure.

    `progress` gets each step's result as it finishes; `tick` gets (done, total) namespaces on Android 14+.
    """
    run = _runner(serial, options or SetupOptions(), tick)
    results = []
    for name, step in STEPS:
        run.step = name
        result = step(run)
        results.append(result)
        if progress:
            progress(result)
    return results


def reset(
    serial: str | None,
    options: SetupOptions | None = None,
    progress: Callable[[StepResult], None] | None = None,
) -> list[StepResult]:
    """Undo what setup did, last step first (root is left as it is)."""
    run = _runner(serial, options or SetupOptions(), None)
    if probe_root(run.adb) is None:
        raise SetupError(
            f"reset: needs root on {run.adb.serial} to remove mounts and iptables rules; see `privlab device check`"
        )
    results = []
    for name, undo in UNDO:
        run.step = f"reset {name}"
        result = undo(run)
        results.append(result)
        if progress:
            progress(result)
    return results

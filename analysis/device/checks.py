"""`privlab device check`: what is ready on the device for a live session, and the command that fixes the rest.

Checks only read; nothing on the device changes (so `adb root`, which restarts adbd, is suggested, not
run). Each check yields one `Check` with a status (ok / fail / warn / skip), what was found, and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from analysis.device.adb import Adb
from analysis.device.adb import AdbError
from analysis.device.adb import probe_root
from analysis.device.adb import resolve_serial
from analysis.device.ca import DEFAULT_CONFDIR
from analysis.device.ca import ProxyCA
from analysis.device.ca import load_ca
from analysis.device.facts import APEX_CACERTS
from analysis.device.facts import FRIDA_SERVER
from analysis.device.facts import SYSTEM_CACERTS
from analysis.device.facts import TIKTOK
from analysis.device.facts import app_info
from analysis.device.facts import device_sha256
from analysis.device.facts import is_emulator
from analysis.device.facts import read_props
from analysis.device.facts import zygote_pids
from analysis.errors import PrivlabError

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
MIN_SDK, MAX_TESTED_SDK = 30, 35  # Android 11 .. 15
ARM_ABIS = ("arm64-v8a", "armeabi-v7a")


@dataclass(frozen=True)
class Check:
    """One line of `privlab device check`."""

    key: str
    title: str
    status: str  # ok | fail | warn | skip
    detail: str
    fix: str = ""


@dataclass
class CheckContext:
    """What the checks learn once and share: the device, its properties, root, and the wanted setup."""

    adb: Adb
    app: str = TIKTOK
    confdir: Path = DEFAULT_CONFDIR
    proxy_port: int = 8080
    frida_version: str | None = None
    props: dict[str, str] = field(default_factory=dict)
    root: str | None = None
    ca: ProxyCA | None = None

    @property
    def sdk(self) -> int:
        try:
            return int(self.props.get("ro.build.version.sdk", "0"))
        except ValueError:
            return 0

    @property
    def s(self) -> str:
        return self.adb.serial


def python_frida_version() -> str | None:
    """The frida Python binding's version (frida-server must match it)."""
    try:
        import frida

        return str(frida.__version__)
    except ImportError:
        return None


def frida_server_url(version: str, abi: str) -> str:
    """Where frida's release for `abi` lives (frida names arm64-v8a 'arm64', x86_64 'x86_64', ...)."""
    arch = {"arm64-v8a": "arm64", "armeabi-v7a": "arm", "x86_64": "x86_64", "x86": "x86"}.get(abi, abi)
    return (
        f"https://github.com/frida/frida/releases/download/{version}/frida-server-{version}-android-{arch}.xz"
    )


# -- the checks ----------------------------------------------------------------------------------


def check_root(c: CheckContext) -> Check:
    method = probe_root(c.adb)
    c.root = method
    if method == "shell":
        return Check("root", "rooted", OK, "adbd runs as root (`adb root`)")
    if method:
        return Check("root", "rooted", OK, f"root through `{method}`")
    tried = "tried `id -u` as shell, `su -c`, `su 0`"
    if c.props.get("ro.debuggable") == "1":
        return Check(
            "root", "rooted", FAIL, f"no root yet; {tried}; the image is debuggable", f"adb -s {c.s} root"
        )
    return Check(
        "root",
        "rooted",
        FAIL,
        f"no root: {tried}; `adb root` is refused on {c.props.get('ro.build.type', 'user')} builds",
        "use a 'Google APIs' (not 'Google Play') system image, or root this one with Magisk (rootAVD); see docs/emulator.md",
    )


def check_android(c: CheckContext) -> Check:
    release = c.props.get("ro.build.version.release", "?")
    label = f"Android {release} (API {c.sdk})"
    if c.sdk < MIN_SDK:
        return Check(
            "android",
            "Android version",
            FAIL,
            f"{label}: older than Android 11",
            "create an AVD with API 30 to 35; see docs/emulator.md",
        )
    if c.sdk > MAX_TESTED_SDK:
        return Check("android", "Android version", WARN, f"{label}: newer than the tested Android 11 to 15")
    store = "APEX Conscrypt store" if c.sdk >= 34 else "system store"
    return Check("android", "Android version", OK, f"{label}; trusted CAs in the {store}")


def check_abi(c: CheckContext) -> Check:
    abi = c.props.get("ro.product.cpu.abi", "")
    abilist = [a for a in c.props.get("ro.product.cpu.abilist", "").split(",") if a]
    bridge = c.props.get("ro.dalvik.vm.native.bridge", "0")
    if abi in ARM_ABIS:
        return Check("abi", "CPU ABI", OK, f"{abi}: runs TikTok's ARM native code directly")
    if any(a in abilist for a in ARM_ABIS) and bridge not in ("", "0"):
        return Check("abi", "CPU ABI", OK, f"{abi} with ARM translation ({bridge}; ABIs {','.join(abilist)})")
    return Check(
        "abi",
        "CPU ABI",
        FAIL,
        f"{abi or '?'} without ARM translation: TikTok ships ARM-only native libraries",
        "use an arm64-v8a image, or an x86_64 image of Android 11+ that lists arm64-v8a in ro.product.cpu.abilist",
    )


def check_ca_local(c: CheckContext) -> Check:
    try:
        c.ca = load_ca(c.confdir)
    except PrivlabError as e:
        return Check("ca-local", "mitmproxy CA", FAIL, str(e), f"privlab device setup --serial {c.s}")
    return Check("ca-local", "mitmproxy CA", OK, f"{c.ca.path} (Android name {c.ca.android_name})")


def check_ca_system(c: CheckContext) -> Check:
    if c.ca is None:
        return Check("ca-system", "CA in system store", SKIP, "no local CA to compare with")
    path = f"{SYSTEM_CACERTS}/{c.ca.android_name}"
    found = device_sha256(c.adb, path)
    fix = f"privlab device setup --serial {c.s}"
    if found is None:
        return Check("ca-system", "CA in system store", FAIL, f"{path} missing", fix)
    if found != c.ca.sha256:
        return Check(
            "ca-system",
            "CA in system store",
            FAIL,
            f"{path} is another mitmproxy CA (sha256 {found[:12]}…)",
            fix,
        )
    return Check("ca-system", "CA in system store", OK, f"{path} matches {c.ca.path.name}")


def check_ca_apex(c: CheckContext) -> Check:
    title = "CA in APEX store"
    if c.ca is None:
        return Check("ca-apex", title, SKIP, "no local CA to compare with")
    if not c.adb.shell(f"test -d {APEX_CACERTS}").ok:
        return Check(
            "ca-apex",
            title,
            SKIP,
            f"no {APEX_CACERTS} (before Android 14): the system store is what apps use",
        )
    if c.root is None:
        return Check(
            "ca-apex",
            title,
            SKIP,
            "needs root to look into the zygote's mount namespace",
            "see the 'rooted' fix, then re-run",
        )
    zygotes = zygote_pids(c.adb)
    if not zygotes:
        return Check("ca-apex", title, FAIL, "no zygote process found", f"adb -s {c.s} reboot")
    path = f"{APEX_CACERTS}/{c.ca.android_name}"
    missing = [pid for pid in zygotes if device_sha256(c.adb, path, in_pid=pid) != c.ca.sha256]
    if missing:
        return Check(
            "ca-apex",
            title,
            FAIL,
            f"{path} not visible to zygote pid {', '.join(map(str, missing))}",
            f"privlab device setup --serial {c.s}",
        )
    return Check("ca-apex", title, OK, f"{path} bind-mounted for zygote pid {', '.join(map(str, zygotes))}")


def check_proxy(c: CheckContext) -> Check:
    value = c.adb.shell("settings get global http_proxy").stdout.strip()
    host_side = f"tcp:{c.proxy_port}"
    fix = f"privlab device setup --serial {c.s}"
    if value == f"127.0.0.1:{c.proxy_port}":
        if (host_side, host_side) in c.adb.reverse_list():
            return Check(
                "proxy", "proxy route", OK, f"http_proxy={value}, adb reverse {host_side} -> host {host_side}"
            )
        return Check(
            "proxy", "proxy route", FAIL, f"http_proxy={value} but no `adb reverse {host_side}` tunnel", fix
        )
    if value == f"10.0.2.2:{c.proxy_port}" and is_emulator(c.props):
        return Check("proxy", "proxy route", OK, f"http_proxy={value} (the emulator's alias for the host)")
    shown = "not set" if value in ("", "null", ":0") else f"http_proxy={value}"
    return Check("proxy", "proxy route", FAIL, f"{shown}; want 127.0.0.1:{c.proxy_port}", fix)


QUIC_RULE = "OUTPUT -p udp --dport 443 -j REJECT"
# -w waits for the xtables lock: netd takes it often, and without -w the command fails at random.
IPTABLES = ("iptables -w", "ip6tables -w")


def check_quic(c: CheckContext) -> Check:
    title = "QUIC blocked"
    if c.root is None:
        return Check("quic", title, SKIP, "needs root to read iptables")
    missing = [t.split()[0] for t in IPTABLES if not c.adb.shell(f"{t} -C {QUIC_RULE}", root=True).ok]
    if missing:
        return Check(
            "quic",
            title,
            WARN,
            f"UDP/443 open in {', '.join(missing)}: QUIC traffic would bypass the proxy",
            f"privlab device setup --serial {c.s}",
        )
    return Check("quic", title, OK, "UDP/443 rejected (IPv4 and IPv6): apps fall back to TCP")


def check_frida(c: CheckContext) -> Check:
    title = "frida-server"
    want = c.frida_version
    abi = c.props.get("ro.product.cpu.abi", "arm64-v8a")
    url = frida_server_url(want or "VERSION", abi)
    fix = f"download {url}, then: privlab device setup --serial {c.s} --frida-server {url.rsplit('/', 1)[-1]}"
    running = c.adb.shell("pidof frida-server")
    pids = running.stdout.split() if running.ok else []
    version_r = c.adb.shell(f"{FRIDA_SERVER} --version")
    version = version_r.stdout.strip() if version_r.ok else None
    if not pids:
        detail = f"not running ({FRIDA_SERVER} {'is ' + version if version else 'not present'})"
        return Check("frida-server", title, FAIL, detail, fix)
    if version is None:
        return Check(
            "frida-server", title, WARN, f"running (pid {pids[0]}) from somewhere else; version unknown", fix
        )
    if want and version != want:
        return Check("frida-server", title, FAIL, f"running {version}, but Python frida is {want}", fix)
    return Check("frida-server", title, OK, f"{version} running (pid {pids[0]})")


def check_app(c: CheckContext) -> Check:
    info = app_info(c.adb, c.app)
    if info is None:
        return Check(
            "app",
            f"app {c.app}",
            FAIL,
            "not installed",
            f"install it from the Play Store, or `adb -s {c.s} install-multiple base.apk split_*.apk`",
        )
    hashes = ", ".join(f"{p.rsplit('/', 1)[-1]} {h[:12]}…" for p, h in info.sha256.items())
    return Check("app", f"app {c.app}", OK, f"version {info.version_name} ({info.version_code}); {hashes}")


CHECKS: tuple[Callable[[CheckContext], Check], ...] = (
    check_root,
    check_android,
    check_abi,
    check_ca_local,
    check_ca_system,
    check_ca_apex,
    check_proxy,
    check_quic,
    check_frida,
    check_app,
)


def run_checks(
    serial: str | None,
    *,
    app: str = TIKTOK,
    confdir: Path = DEFAULT_CONFDIR,
    proxy_port: int = 8080,
    frida_version: str | None = None,
) -> list[Check]:
    """Every check, in order. A device that cannot be reached gives one failing `adb` line and skips the rest."""
    want_frida = frida_version or python_frida_version()
    try:
        adb = Adb(resolve_serial(serial))
        state = adb.state()
    except AdbError as e:
        return [Check("adb", "adb reachable", FAIL, str(e), "adb devices")] + _skipped("no device")
    if state != "device":
        fix = (
            "accept the USB debugging prompt on the device"
            if state == "unauthorized"
            else f"adb connect {adb.serial}  (or restart the emulator)"
        )
        return [Check("adb", "adb reachable", FAIL, f"{adb.serial} is {state}", fix)] + _skipped("no device")
    ctx = CheckContext(adb, app=app, confdir=Path(confdir), proxy_port=proxy_port, frida_version=want_frida)
    ctx.props = read_props(adb)
    model = ctx.props.get("ro.product.model", "?")
    out = [
        Check(
            "adb",
            "adb reachable",
            OK,
            f"{adb.serial} ({model}{', emulator' if is_emulator(ctx.props) else ''})",
        )
    ]
    # DeviceGone from any check propagates: a half-finished list would read as "not ready" for the wrong reason.
    out += [check(ctx) for check in CHECKS]
    return out


def _skipped(why: str) -> list[Check]:
    names = (
        "root",
        "android",
        "abi",
        "ca-local",
        "ca-system",
        "ca-apex",
        "proxy",
        "quic",
        "frida-server",
        "app",
    )
    return [Check(n, n, SKIP, why) for n in names]


def ready(checks: list[Check]) -> bool:
    """True when nothing failed (warnings allowed)."""
    return all(c.status != FAIL for c in checks)

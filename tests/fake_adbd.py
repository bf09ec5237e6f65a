"""STAND-IN for an Android device: a fake `adbd` on loopback speaking the ADB transport protocol.

No Android device or emulator can run here, so the narrowest boundary is replaced: the REAL `adb`
client (Debian's `adb` 29) connects to this daemon with `adb connect 127.0.0.1:PORT`, exactly as it
connects to an emulator or a phone on TCP. The daemon speaks the wire protocol (CNXN/OPEN/OKAY/WRTE/
CLSE, 24-byte little-endian headers), the `shell,v2` packet protocol (stdout/stderr/exit), the `sync:`
file protocol (STAT/SEND/DATA/DONE/RECV/QUIT) and the `reverse:` and `root:` services, and answers
shell commands from a small model of a device whose outputs follow real Android (toybox `ls`,
`getprop`, `settings`, `pm path`, `dumpsys package`, `id`, `mount`, `pidof`, `ps`, `nsenter`,
`iptables`, `sha256sum`, `service call`, `content`).

Profiles (`PROFILES`): a non-rooted Android 13 Google Play image, a rooted Android 11 `google_apis`
x86_64 image (AOSP `su 0` and `adb root`), and a Magisk-rooted Android 14 arm64 image whose trusted CAs
live in the Conscrypt APEX (`/apex/com.android.conscrypt/cacerts`).

Every shell command is recorded in `FakeDevice.commands` as `(argv_text, as_root)` after unwrapping
`su -c '…'` / `su 0 sh -c '…'`, so tests can assert what was issued and in which order. `fail_on`
makes a matching command fail like the real tool would; `vanish_on` makes the device disappear (the
TCP connection drops and the port stops answering) when a matching command arrives; `hang_on` makes a
matching command never answer.
"""

from __future__ import annotations

import fnmatch
import hashlib
import posixpath
import queue
import re
import shlex
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_VERSION = 0x01000001
MAX_PAYLOAD = 256 * 1024

# shell protocol packet ids (adb/shell_protocol.h)
SH_STDIN, SH_STDOUT, SH_STDERR, SH_EXIT, SH_CLOSE_STDIN, SH_WINDOW = 0, 1, 2, 3, 4, 5

SYSTEM_CACERTS = "/system/etc/security/cacerts"
APEX_CACERTS = "/apex/com.android.conscrypt/cacerts"
SHELL_ID = "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid) context=u:r:shell:s0"
ROOT_ID = "uid=0(root) gid=0(root) groups=0(root) context=u:r:su:s0"

# Stock CA file names present on every image (a few real ones; enough to show "copy them back").
STOCK_CAS = ("02b73561.0", "0d69c7e1.0", "1df5a75f.0", "3c9a4d3b.0", "d6325660.0")

TIKTOK = "com.zhiliaoapp.musically"


@dataclass
class Process:
    pid: int
    ppid: int
    name: str


@dataclass
class FakeDevice:
    """The state of one fake device and the shell that reads and changes it."""

    name: str
    props: dict[str, str]
    root: str  # none | aosp-su | magisk ; plus adb_root for `adb root`
    adb_root: bool = False
    adbd_uid: int = 2000
    settings: dict[str, dict[str, str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    iptables: dict[str, list[str]] = field(default_factory=lambda: {"iptables": [], "ip6tables": []})
    reverses: list[tuple[str, str]] = field(default_factory=list)
    # mountpoint -> tmpfs content (a flat directory), and per-pid bind mounts inside a namespace
    tmpfs: dict[str, dict[str, bytes]] = field(default_factory=dict)
    ns_binds: dict[int, dict[str, str]] = field(default_factory=dict)
    commands: list[tuple[str, bool]] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    fail_on: dict[str, tuple[int, str]] = field(default_factory=dict)
    vanish_on: str | None = None
    hang_on: str | None = None  # a matching command never answers (a hung device)
    frida_version: str = "17.26.2"
    _next_pid: int = 9000

    # -- file system view ------------------------------------------------------------------------

    def _resolve(self, path: str, pid: int | None) -> str:
        """Follow a namespace's bind mounts: a path under a bind target reads from the bind source."""
        path = posixpath.normpath(path)
        if pid is not None:
            for target, source in self.ns_binds.get(pid, {}).items():
                if path == target or path.startswith(target + "/"):
                    return source + path[len(target) :]
        return path

    def _dir_view(self, d: str) -> dict[str, bytes] | None:
        """The files of directory `d` (flat), or None when it does not exist."""
        if d in self.tmpfs:
            return self.tmpfs[d]
        prefix = d.rstrip("/") + "/"
        out = {
            p[len(prefix) :]: b
            for p, b in self.files.items()
            if p.startswith(prefix) and "/" not in p[len(prefix) :]
        }
        if out or any(p.startswith(prefix) for p in self.files) or d in self._dirs():
            return out
        return None

    def _dirs(self) -> set[str]:
        dirs = {
            "/",
            "/data",
            "/data/local",
            "/data/local/tmp",
            "/system",
            "/system/bin",
            SYSTEM_CACERTS,
            "/sdcard",
        }
        if int(self.props.get("ro.build.version.sdk", "30")) >= 34:
            dirs.add(APEX_CACERTS)
        dirs.update(self.tmpfs)
        for p in self.files:
            parent = posixpath.dirname(p)
            while parent not in ("", "/"):
                dirs.add(parent)
                parent = posixpath.dirname(parent)
        return dirs

    def read(self, path: str, pid: int | None = None) -> bytes | None:
        path = self._resolve(path, pid)
        d, base = posixpath.split(path)
        view = self._dir_view(d)
        if view is not None and d in self.tmpfs:
            return view.get(base)
        return self.files.get(path)

    def write(self, path: str, data: bytes) -> None:
        d, base = posixpath.split(posixpath.normpath(path))
        if d in self.tmpfs:
            self.tmpfs[d][base] = data
        else:
            self.files[posixpath.normpath(path)] = data

    def remove(self, path: str) -> None:
        d, base = posixpath.split(posixpath.normpath(path))
        if d in self.tmpfs:
            self.tmpfs[d].pop(base, None)
        else:
            self.files.pop(posixpath.normpath(path), None)

    def is_dir(self, path: str, pid: int | None = None) -> bool:
        return self._resolve(path, pid) in self._dirs()

    def glob(self, pattern: str, pid: int | None = None) -> list[str]:
        if "*" not in pattern:
            return [pattern]
        d, pat = posixpath.split(pattern)
        view = self._dir_view(self._resolve(d, pid)) or {}
        # like sh: `*` does not match dot files
        return sorted(posixpath.join(d, n) for n in view if fnmatch.fnmatch(n, pat) and not n.startswith("."))

    # -- the shell -----------------------------------------------------------------------------

    def is_root_shell(self) -> bool:
        return self.adbd_uid == 0

    def shell(self, command: str) -> tuple[bytes, bytes, int] | None:
        """Run one `adb shell` command line; None means the device vanished."""
        as_root = self.is_root_shell()
        try:
            argv = shlex.split(command)
        except ValueError:
            return b"", b"/system/bin/sh: syntax error: unterminated quoted string\n", 2
        if argv[:1] == ["su"]:
            unwrapped = self._unwrap_su(argv)
            if isinstance(unwrapped, tuple):
                self.commands.append((command, False))
                return unwrapped
            command, as_root = unwrapped, True
            argv = shlex.split(command)
        self.commands.append((command, as_root))
        if self.vanish_on and re.search(self.vanish_on, command):
            return None
        for pattern, (code, message) in self.fail_on.items():
            if re.search(pattern, command):
                return b"", message.encode() + b"\n", code
        return self._run(argv, as_root, pid=None)

    def _unwrap_su(self, argv: list[str]) -> str | tuple[bytes, bytes, int]:
        if self.root == "none":
            return b"", b"/system/bin/sh: su: inaccessible or not found\n", 127
        if len(argv) >= 3 and argv[1] == "-c":
            if self.root == "magisk":
                return " ".join(argv[2:])
            return b"", b"su: invalid uid/gid '-c'\n", 1  # AOSP su takes `su [UID [COMMAND...]]` only
        if len(argv) >= 3 and argv[1] in ("0", "root"):
            rest = argv[2:]
            if rest[:2] == ["sh", "-c"] and len(rest) == 3:
                return rest[2]
            return shlex.join(rest)
        return b"", b"su: unsupported invocation in the stand-in\n", 1

    def _run(self, argv: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        # redirections (to /dev/null) change nothing in the stand-in
        argv = [a for a in argv if not re.match(r"^\d*[<>]", a)]
        if not argv:
            return b"", b"", 0
        cmd, args = argv[0], argv[1:]
        handler = getattr(self, "_sh_" + posixpath.basename(cmd).replace("-", "_"), None)
        if cmd == "/data/local/tmp/frida-server":
            return self._frida_server(args, root)
        if handler is None:
            return b"", f"/system/bin/sh: {cmd}: inaccessible or not found\n".encode(), 127
        out: tuple[bytes, bytes, int] = handler(args, root, pid)
        return out

    # Each _sh_<name> models one toybox/Android command's real output format.

    def _sh_echo(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        return (" ".join(args) + "\n").encode(), b"", 0

    def _sh_id(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if args == ["-u"]:
            return (b"0\n" if root else b"2000\n"), b"", 0
        return ((ROOT_ID if root else SHELL_ID) + "\n").encode(), b"", 0

    def _sh_getprop(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if args:
            return (self.props.get(args[0], "") + "\n").encode(), b"", 0
        return "".join(f"[{k}]: [{v}]\n" for k, v in sorted(self.props.items())).encode(), b"", 0

    def _sh_settings(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if len(args) >= 3 and args[0] in ("get", "put", "delete"):
            table = self.settings.setdefault(args[1], {})
            if args[0] == "get":
                return (table.get(args[2], "null") + "\n").encode(), b"", 0
            if args[0] == "put" and len(args) >= 4:
                table[args[2]] = args[3]
                return b"", b"", 0
            if args[0] == "delete":
                existed = table.pop(args[2], None) is not None
                return f"Deleted {1 if existed else 0} rows\n".encode(), b"", 0
        return b"", b"Invalid command\n", 255

    def _sh_pm(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if len(args) == 2 and args[0] == "path":
            pkg = self.packages.get(args[1])
            if not pkg:
                return b"", b"", 1
            return "".join(f"package:{p}\n" for p in pkg["paths"]).encode(), b"", 0
        return b"", b"Unknown command\n", 1

    def _sh_dumpsys(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if len(args) == 2 and args[0] == "package":
            pkg = self.packages.get(args[1])
            if not pkg:
                return f"Unable to find package: {args[1]}\n".encode(), b"", 0
            text = (
                "Packages:\n"
                f"  Package [{args[1]}] (a1b2c3):\n"
                f"    userId=10{len(self.packages):03d}\n"
                f"    pkg=Package{{a1b2c3 {args[1]}}}\n"
                f"    codePath={posixpath.dirname(pkg['paths'][0])}\n"
                f"    primaryCpuAbi={pkg.get('abi', 'arm64-v8a')}\n"
                f"    versionCode={pkg['versionCode']} minSdk=21 targetSdk=34\n"
                f"    versionName={pkg['versionName']}\n"
                "    flags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ]\n"
            )
            return text.encode(), b"", 0
        return b"", b"", 0

    def _sh_ls(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        paths = [a for a in args if not a.startswith("-")]
        out: list[str] = []
        for raw in paths:
            for path in self.glob(raw, pid):
                if path.startswith("/data/data") and not root:
                    return b"", f"ls: {path}: Permission denied\n".encode(), 1
                if self.is_dir(path, pid):
                    view = self._dir_view(self._resolve(path, pid)) or {}
                    out.extend(sorted(view))
                elif self.read(path, pid) is not None:
                    out.append(path)
                else:
                    return b"", f"ls: {path}: No such file or directory\n".encode(), 1
        return "".join(n + "\n" for n in out).encode(), b"", 0

    def _sh_abx2xml(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if not root:
            return b"", f"abx2xml: {args[0]}: Permission denied\n".encode(), 1
        data = self.read(args[0], pid)
        if data is None:
            return b"", f"abx2xml: {args[0]}: No such file or directory\n".encode(), 1
        return data, b"", 0

    def _sh_test(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if len(args) == 2 and args[0] == "-d":
            return b"", b"", 0 if self.is_dir(args[1], pid) else 1
        if len(args) == 2 and args[0] in ("-e", "-f"):
            return b"", b"", 0 if self.read(args[1], pid) is not None else 1
        return b"", b"", 2

    def _sh_cat(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        out = b""
        for path in args:
            if (path.startswith(("/data/data", "/sys/class/net"))) and not root:
                return b"", f"cat: {path}: Permission denied\n".encode(), 1
            data = self.read(path, pid)
            if data is None:
                return b"", f"cat: {path}: No such file or directory\n".encode(), 1
            out += data
        return out, b"", 0

    def _sh_sha256sum(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        out = ""
        for path in args:
            data = self.read(path, pid)
            if data is None:
                return b"", f"sha256sum: {path}: No such file or directory\n".encode(), 1
            out += f"{hashlib.sha256(data).hexdigest()}  {path}\n"
        return out.encode(), b"", 0

    def _sh_mount(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if not args:
            lines = [
                "/dev/block/dm-0 on / type ext4 (ro,seclabel,relatime)",
                "tmpfs on /dev type tmpfs (rw,seclabel,nosuid,relatime,mode=755)",
                "/dev/block/dm-5 on /data type ext4 (rw,seclabel,nosuid,nodev,noatime)",
            ]
            lines += [f"tmpfs on {mp} type tmpfs (rw,seclabel,relatime)" for mp in self.tmpfs]
            return "".join(line + "\n" for line in lines).encode(), b"", 0
        if not root:
            return b"", b"mount: Permission denied\n", 1
        if args[:3] == ["-t", "tmpfs", "tmpfs"] and len(args) == 4:
            self.tmpfs[posixpath.normpath(args[3])] = {}
            return b"", b"", 0
        if args[:1] == ["--bind"] and len(args) == 3 and pid is not None:
            self.ns_binds.setdefault(pid, {})[posixpath.normpath(args[2])] = posixpath.normpath(args[1])
            return b"", b"", 0
        return b"", b"mount: bad arguments in the stand-in\n", 1

    def _sh_umount(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if not root:
            return b"", b"umount: Permission denied\n", 1
        mp = posixpath.normpath(args[-1])
        if pid is not None and mp in self.ns_binds.get(pid, {}):
            del self.ns_binds[pid][mp]
            return b"", b"", 0
        if pid is None and mp in self.tmpfs:
            del self.tmpfs[mp]
            return b"", b"", 0
        return b"", f"umount: {mp}: Invalid argument\n".encode(), 1

    def _sh_nsenter(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if not root:
            return b"", b"nsenter: Operation not permitted\n", 1
        m = re.fullmatch(r"--mount=/proc/(\d+)/ns/mnt", args[0]) if args else None
        if not m or args[1:2] != ["--"]:
            return b"", b"nsenter: bad arguments in the stand-in\n", 1
        target = int(m.group(1))
        if not any(p.pid == target for p in self.processes):
            return b"", f"nsenter: cannot open /proc/{target}/ns/mnt: No such file or directory\n".encode(), 1
        return self._run(args[2:], root, pid=target)

    def _sh_mkdir(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        for d in (a for a in args if not a.startswith("-")):
            self.files.setdefault(posixpath.join(d, ".keep"), b"")
        return b"", b"", 0

    def _ok_root(self, root: bool, name: str) -> tuple[bytes, bytes, int]:
        return (b"", b"", 0) if root else (b"", f"{name}: Permission denied\n".encode(), 1)

    def _sh_chmod(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        return b"", b"", 0

    def _sh_chown(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        return self._ok_root(root, "chown")

    def _sh_chcon(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        return self._ok_root(root, "chcon")

    def _sh_cp(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        paths = [a for a in args if not a.startswith("-")]
        *srcs, dest = paths
        for pattern in srcs:
            for src in self.glob(pattern, pid):
                data = self.read(src, pid)
                if data is None:
                    return b"", f"cp: {src}: No such file or directory\n".encode(), 1
                target = posixpath.join(dest, posixpath.basename(src)) if self.is_dir(dest) else dest
                self.write(target, data)
        return b"", b"", 0

    def _sh_mv(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        out = self._sh_cp(args, root, pid)
        if out[2] == 0:
            for pattern in [a for a in args if not a.startswith("-")][:-1]:
                for src in self.glob(pattern, pid):
                    self.remove(src)
        return out

    def _sh_rm(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        for pattern in (a for a in args if not a.startswith("-")):
            for path in self.glob(pattern, pid):
                prefix = path.rstrip("/") + "/"
                for p in [p for p in self.files if p == path or p.startswith(prefix)]:
                    del self.files[p]
                self.remove(path)
        return b"", b"", 0

    def _sh_pidof(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        pids = [str(p.pid) for p in self.processes if p.name in args]
        return ((" ".join(pids) + "\n").encode(), b"", 0) if pids else (b"", b"", 1)

    def _sh_ps(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        if args == ["-A", "-o", "PID,PPID,NAME"]:
            lines = ["  PID  PPID NAME"] + [f"{p.pid:5d} {p.ppid:5d} {p.name}" for p in self.processes]
            return "".join(line + "\n" for line in lines).encode(), b"", 0
        return b"", b"ps: unsupported options in the stand-in\n", 1

    def _sh_kill(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        targets = {int(a) for a in args if a.isdigit()}
        if not root:
            return b"", f"/system/bin/sh: kill: {min(targets)}: Operation not permitted\n".encode(), 1
        self.processes = [p for p in self.processes if p.pid not in targets]
        return b"", b"", 0

    def _iptables(self, table: str, args: list[str], root: bool) -> tuple[bytes, bytes, int]:
        if not root:
            return (
                b"",
                f"{table} v1.8.7 (legacy): can't initialize {table} table `filter': Permission denied (you must be root)\n".encode(),
                4,
            )
        if len(args) < 2:
            return b"", b"", 2
        args = [a for a in args if a != "-w"]  # wait for the xtables lock: no lock in the stand-in
        if len(args) < 2:
            return b"", b"", 2
        op, _chain, rule = args[0], args[1], " ".join(args[2:])
        rules = self.iptables[table]
        if op == "-C":
            if rule in rules:
                return b"", b"", 0
            return b"", f"{table}: Bad rule (does a matching rule exist in that chain?).\n".encode(), 1
        if op in ("-I", "-A"):
            rules.append(rule)
            return b"", b"", 0
        if op == "-D":
            if rule in rules:
                rules.remove(rule)
                return b"", b"", 0
            return b"", f"{table}: Bad rule (does a matching rule exist in that chain?).\n".encode(), 1
        return b"", b"", 2

    def _sh_iptables(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        return self._iptables("iptables", args, root)

    def _sh_ip6tables(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        return self._iptables("ip6tables", args, root)

    def _frida_server(self, args: list[str], root: bool) -> tuple[bytes, bytes, int]:
        binary = self.read("/data/local/tmp/frida-server")
        if binary is None:
            return b"", b"/system/bin/sh: /data/local/tmp/frida-server: inaccessible or not found\n", 127
        version = (
            binary.split(b"FRIDA_VERSION=", 1)[1].split(b"\n", 1)[0].decode()
            if b"FRIDA_VERSION=" in binary
            else "?"
        )
        if args == ["--version"]:
            return f"{version}\n".encode(), b"", 0
        if args == ["-D"]:
            if not root:
                return (
                    b"",
                    b"Unable to load SELinux policy from the kernel: Failed to open file \xe2\x80\x9c/sys/fs/selinux/policy\xe2\x80\x9d: Permission denied\n",
                    1,
                )
            self._next_pid += 1
            self.processes.append(Process(self._next_pid, 1, "frida-server"))
            return b"", b"", 0
        return b"", b"", 1

    def _sh_service(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        imei = self.props.get("fake.imei", "")
        if args[:3] == ["call", "iphonesubinfo", "1"] and imei and root:
            return _parcel_string16(imei).encode(), b"", 0
        return b"Result: Parcel(fffffffc ffffffff '........')\n", b"", 0

    def _sh_content(self, args: list[str], root: bool, pid: int | None) -> tuple[bytes, bytes, int]:
        uri = args[args.index("--uri") + 1] if "--uri" in args else ""
        rows = self.settings.setdefault("content:" + uri, {})
        if args[:1] == ["insert"]:
            binds = [args[i + 1] for i, a in enumerate(args) if a == "--bind"]
            rows[str(len(rows) + 1)] = ";".join(binds)
            return b"", b"", 0
        if args[:1] == ["query"]:
            if not rows:
                return b"No result found.\n", b"", 0
            return "".join(f"Row: {i} _id={k}\n" for i, k in enumerate(rows)).encode(), b"", 0
        return b"", b"", 1


def _parcel_string16(text: str) -> str:
    """Format a String16 reply the way `service call` prints a Parcel (hex words, dotted ASCII)."""
    data = struct.pack("<ii", 0, len(text)) + text.encode("utf-16-le") + b"\0\0"
    data += b"\0" * (-len(data) % 4)
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        words = " ".join(f"{struct.unpack('<I', chunk[i : i + 4])[0]:08x}" for i in range(0, len(chunk), 4))
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"  0x{off:08x}: {words:<35} '{ascii_:<16}'")
    return "Result: Parcel(\n" + "\n".join(lines) + ")\n"


# -- profiles modelled on real images ------------------------------------------------------------


def _base_files(sdk: int) -> dict[str, bytes]:
    files = {f"{SYSTEM_CACERTS}/{n}": f"-----BEGIN CERTIFICATE-----\nstock {n}\n".encode() for n in STOCK_CAS}
    if sdk >= 34:
        files.update(
            {f"{APEX_CACERTS}/{n}": f"-----BEGIN CERTIFICATE-----\nstock {n}\n".encode() for n in STOCK_CAS}
        )
    files["/sys/class/net/wlan0/address"] = b"02:15:b2:00:00:00\n"
    files["/data/system/users/0/settings_ssaid.xml"] = (
        b"<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<settings version=\"-1\">\n"
        b'  <setting id="0" name="userkey" value="0F4E5B4C2C7A0C6D" package="android" defaultValue="0F4E5B4C2C7A0C6D" defaultSysSet="true" tag="null" />\n'
        b'  <setting id="3" name="10145" value="5e1c2f4b8a9d7c03" package="com.zhiliaoapp.musically" defaultValue="5e1c2f4b8a9d7c03" defaultSysSet="false" tag="null" />\n'
        b"</settings>\n"
    )
    files["/data/data/com.google.android.gms/shared_prefs/adid_settings.xml"] = (
        b"<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
        b'    <string name="adid_key">38400000-8cf0-11bd-b23e-10b96e40000d</string>\n'
        b'    <int name="adid_reset_count" value="0" />\n</map>\n'
    )
    return files


def _tiktok(sdk: int) -> dict[str, Any]:
    base = "/data/app/~~Q2h1bmtzT2ZCeXRlcw==/com.zhiliaoapp.musically-R0ZGWU9VUkFQSw=="
    return {
        "paths": [
            f"{base}/base.apk",
            f"{base}/split_config.arm64_v8a.apk",
            f"{base}/split_config.xxhdpi.apk",
        ],
        "versionName": "37.8.4",
        "versionCode": "2023708040",
        "abi": "arm64-v8a",
    }


def _apk_files(pkg: dict[str, Any]) -> dict[str, bytes]:
    return {p: b"PK\x03\x04 stand-in apk " + p.encode() for p in pkg["paths"]}


def _processes(zygotes: list[tuple[int, str]]) -> list[Process]:
    procs = [Process(1, 0, "init"), Process(300, 1, "adbd")]
    procs += [Process(pid, 1, name) for pid, name in zygotes]
    z = zygotes[-1][0]
    procs += [
        Process(z + 100, z, "system_server"),
        Process(z + 400, z, "com.android.systemui"),
        Process(z + 900, z, "com.google.android.gms"),
    ]
    return procs


def _props(
    release: str, sdk: int, model: str, abilist: str, bridge: str, build: str, fingerprint: str
) -> dict[str, str]:
    """`getprop` values of a Google emulator image (ranchu kernel)."""
    return {
        "ro.build.version.release": release,
        "ro.build.version.sdk": str(sdk),
        "ro.product.model": model,
        "ro.product.manufacturer": "Google",
        "ro.product.cpu.abi": abilist.split(",")[0],
        "ro.product.cpu.abilist": abilist,
        "ro.dalvik.vm.native.bridge": bridge,
        "ro.build.type": build,
        "ro.debuggable": "1" if build == "userdebug" else "0",
        "ro.boot.qemu": "1",
        "ro.hardware": "ranchu",
        "ro.build.fingerprint": fingerprint,
    }


def profile(name: str) -> FakeDevice:
    """A fresh device of one of the named profiles (see module docstring)."""
    if name == "play13-unrooted":
        props = _props(
            "13", 33, "sdk_gphone64_x86_64", "x86_64,arm64-v8a", "libndk_translation.so", "user",
            "google/sdk_gphone64_x86_64/emu64xa:13/TE1A.220922.034/10940250:user/release-keys",
        )  # fmt: skip
        dev = FakeDevice(name, props, root="none", processes=_processes([(410, "zygote64"), (411, "zygote")]))
    elif name == "api30-rooted":
        props = _props(
            "11", 30, "sdk_gphone_x86_64", "x86_64,x86,arm64-v8a,armeabi-v7a,armeabi", "libndk_translation.so",
            "userdebug",
            "google/sdk_gphone_x86_64/generic_x86_64_arm64:11/RSR1.201013.001/6903271:userdebug/dev-keys",
        )  # fmt: skip
        props["fake.imei"] = "358240051111110"
        dev = FakeDevice(
            name,
            props,
            root="aosp-su",
            adb_root=True,
            processes=_processes([(315, "zygote64"), (316, "zygote")]),
        )
    elif name == "api34-apex":
        props = _props(
            "14", 34, "sdk_gphone64_arm64", "arm64-v8a", "0", "user",
            "google/sdk_gphone64_arm64/emu64a:14/UE1A.230829.036.A1/11228894:user/release-keys",
        )  # fmt: skip
        props["fake.imei"] = "358240051111110"
        dev = FakeDevice(name, props, root="magisk", processes=_processes([(612, "zygote64")]))
    else:
        raise KeyError(name)
    sdk = int(dev.props["ro.build.version.sdk"])
    dev.files.update(_base_files(sdk))
    dev.settings = {"secure": {"android_id": "9774d56d682e549c"}, "global": {}, "system": {}}
    if name != "play13-unrooted":
        dev.packages[TIKTOK] = _tiktok(sdk)
        dev.files.update(_apk_files(dev.packages[TIKTOK]))
        z = dev.processes[2].pid
        dev.processes.append(Process(z + 1200, z, TIKTOK))
    return dev


# -- the ADB transport ---------------------------------------------------------------------------


def _packet(cmd: int, arg0: int, arg1: int, data: bytes = b"") -> bytes:
    return struct.pack("<6I", cmd, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, cmd ^ 0xFFFFFFFF) + data


class _Stream:
    """One open service stream: input from the host, and WRTEs paced by the host's OKAYs."""

    def __init__(self, conn: _Connection, local: int, remote: int) -> None:
        self.conn, self.local, self.remote = conn, local, remote
        self.inbox: queue.Queue[bytes | None] = queue.Queue()
        self.acked = threading.Semaphore(0)
        self.closed = False

    def write(self, data: bytes) -> bool:
        for off in range(0, len(data), MAX_PAYLOAD // 2):
            if self.closed or not self.conn.send(
                _packet(A_WRTE, self.local, self.remote, data[off : off + MAX_PAYLOAD // 2])
            ):
                return False
            while not self.acked.acquire(timeout=0.2):
                if self.closed or self.conn.dead:
                    return False
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.conn.send(_packet(A_CLSE, self.local, self.remote))

    def read(self, timeout: float = 10.0) -> bytes | None:
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None


class _Connection:
    def __init__(self, daemon: FakeAdbd, sock: socket.socket) -> None:
        self.daemon, self.sock = daemon, sock
        self.lock = threading.Lock()
        self.streams: dict[int, _Stream] = {}
        self.next_id = 1
        self.dead = False

    def send(self, data: bytes) -> bool:
        with self.lock:
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                self.dead = True
                return False

    def _recv_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def serve(self) -> None:
        try:
            while not self.dead:
                header = self._recv_exact(24)
                if header is None:
                    break
                cmd, arg0, arg1, length, _check, _magic = struct.unpack("<6I", header)
                data = self._recv_exact(length) if length else b""
                if data is None:
                    break
                self._dispatch(cmd, arg0, arg1, data)
        finally:
            self.drop()

    def drop(self) -> None:
        self.dead = True
        for s in self.streams.values():
            s.closed = True
            s.inbox.put(None)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _dispatch(self, cmd: int, arg0: int, arg1: int, data: bytes) -> None:
        if cmd == A_CNXN:
            self.send(_packet(A_CNXN, A_VERSION, MAX_PAYLOAD, self.daemon.banner().encode()))
        elif cmd == A_OPEN:
            service = data.rstrip(b"\0").decode()
            local = self.next_id
            self.next_id += 1
            stream = _Stream(self, local, arg0)
            self.streams[local] = stream
            self.send(_packet(A_OKAY, local, arg0))
            threading.Thread(
                target=self.daemon.run_service, args=(self, stream, service), daemon=True
            ).start()
        elif cmd == A_OKAY:
            if (s := self.streams.get(arg1)) is not None:
                s.acked.release()
        elif cmd == A_WRTE:
            if (s := self.streams.get(arg1)) is not None:
                s.inbox.put(data)
                self.send(_packet(A_OKAY, arg1, arg0))
        elif cmd == A_CLSE:
            if (s := self.streams.pop(arg1, None)) is not None:
                s.closed = True
                s.inbox.put(None)


class FakeAdbd:
    """A fake adbd listening on 127.0.0.1; `serial` is what `adb connect` is given."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.serial = f"127.0.0.1:{self.port}"
        self.connections: list[_Connection] = []
        self.gone = False
        threading.Thread(target=self._accept, daemon=True).start()

    def banner(self) -> str:
        p = self.device.props
        return (
            f"device::ro.product.name={p.get('ro.product.model', '')};ro.product.model={p.get('ro.product.model', '')};"
            f"ro.product.device=emu;features=shell_v2,cmd"
        )

    def _accept(self) -> None:
        while not self.gone:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if self.gone:
                sock.close()
                return
            conn = _Connection(self, sock)
            self.connections.append(conn)
            threading.Thread(target=conn.serve, daemon=True).start()

    def vanish(self) -> None:
        """The device disappears: every connection drops and the port stops answering."""
        self.gone = True
        try:
            self.listener.close()
        except OSError:
            pass
        for conn in self.connections:
            conn.drop()

    def close(self) -> None:
        self.vanish()

    def run_service(self, conn: _Connection, stream: _Stream, service: str) -> None:
        self.device.services.append(service)
        try:
            if service.startswith("shell"):
                self._shell(stream, service)
            elif service == "sync:":
                self._sync(stream)
            elif service.startswith("reverse:"):
                self._reverse(stream, service[len("reverse:") :])
            elif service == "root:":
                self._root(conn, stream)
            else:
                stream.close()
        except Exception:  # a bug in the stand-in must not hang the real client
            stream.close()
            raise

    def _shell(self, stream: _Stream, service: str) -> None:
        head, _, command = service.partition(":")
        v2 = head.startswith("shell,v2") or ",v2" in head
        # privlab appends `; echo <marker>$?` so it can tell "exit 0" from "the device dropped".
        marker = re.search(r"; echo (\S+)\$\?$", command)
        if marker:
            command = command[: marker.start()]
        if self.device.hang_on and re.search(self.device.hang_on, command):
            self.device.commands.append((command, False))
            return  # never answer: the stream stays open until the client gives up
        result = self.device.shell(command)
        if result is None:
            self.vanish()
            return
        out, err, code = result
        if marker:
            out += f"{marker.group(1)}{code}\n".encode()
            code = 0
        if v2:
            payload = b""
            if out:
                payload += struct.pack("<BI", SH_STDOUT, len(out)) + out
            if err:
                payload += struct.pack("<BI", SH_STDERR, len(err)) + err
            payload += struct.pack("<BI", SH_EXIT, 1) + bytes([code & 0xFF])
            stream.write(payload)
        else:
            stream.write(out + err)
        stream.close()

    def _reverse(self, stream: _Stream, request: str) -> None:
        dev = self.device
        if request == "list-forward":
            text = "".join(f"{self.serial} {a} {b}\n" for a, b in dev.reverses)
            stream.write(f"{len(text):04x}".encode() + text.encode())  # adbd sends no OKAY here
        elif request.startswith("forward:"):
            spec = request[len("forward:") :].removeprefix("norebind:")
            local, _, remote = spec.partition(";")
            dev.reverses = [r for r in dev.reverses if r[0] != local] + [(local, remote)]
            stream.write(b"OKAY")
        elif request.startswith("killforward:"):
            local = request[len("killforward:") :]
            if not any(r[0] == local for r in dev.reverses):
                msg = f"listener '{local}' not found"
                stream.write(b"FAIL" + f"{len(msg):04x}".encode() + msg.encode())
            else:
                dev.reverses = [r for r in dev.reverses if r[0] != local]
                stream.write(b"OKAY")
        elif request == "killforward-all":
            dev.reverses = []
            stream.write(b"OKAY")
        stream.close()

    def _root(self, conn: _Connection, stream: _Stream) -> None:
        dev = self.device
        if dev.adbd_uid == 0:
            stream.write(b"adbd is already running as root\n")
            stream.close()
        elif not dev.adb_root:
            stream.write(b"adbd cannot run as root in production builds\n")
            stream.close()
        else:
            # Real adbd restarts as root: the transport drops and the host reconnects.
            stream.write(b"restarting adbd as root\n")
            stream.close()
            dev.adbd_uid = 0
            time.sleep(0.05)
            conn.drop()

    def _sync(self, stream: _Stream) -> None:
        buf = b""

        def need(n: int) -> bytes | None:
            nonlocal buf
            while len(buf) < n:
                chunk = stream.read()
                if chunk is None:
                    return None
                buf += chunk
            out, buf = buf[:n], buf[n:]
            return out

        dev = self.device
        while True:
            head = need(8)
            if head is None:
                break
            sid, length = head[:4], struct.unpack("<I", head[4:])[0]
            arg = need(length) if sid != b"DONE" and sid != b"QUIT" else b""
            if arg is None:
                break
            if sid == b"QUIT":
                break
            if sid == b"STAT":
                path = arg.decode()
                data = dev.read(path)
                if dev.is_dir(path):
                    reply = struct.pack("<4s3I", b"STAT", 0o40755, 4096, int(time.time()))
                elif data is not None:
                    reply = struct.pack("<4s3I", b"STAT", 0o100644, len(data), int(time.time()))
                else:
                    reply = struct.pack("<4s3I", b"STAT", 0, 0, 0)
                stream.write(reply)
            elif sid == b"SEND":
                path, _, _mode = arg.decode().rpartition(",")
                content = b""
                while True:
                    h = need(8)
                    if h is None:
                        return
                    kind, n = h[:4], struct.unpack("<I", h[4:])[0]
                    if kind == b"DATA":
                        chunk = need(n)
                        if chunk is None:
                            return
                        content += chunk
                    elif kind == b"DONE":
                        break
                dev.write(path, content)
                dev.commands.append((f"<push {path}>", False))
                stream.write(b"OKAY" + struct.pack("<I", 0))
            elif sid == b"RECV":
                path = arg.decode()
                data = dev.read(path)
                dev.commands.append((f"<pull {path}>", False))
                if data is None:
                    msg = b"No such file or directory"
                    stream.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
                else:
                    out = b""
                    for off in range(0, len(data), 64 * 1024):
                        chunk = data[off : off + 64 * 1024]
                        out += b"DATA" + struct.pack("<I", len(chunk)) + chunk
                    stream.write(out + b"DONE" + struct.pack("<I", 0))
            else:
                msg = b"unknown sync request in the stand-in"
                stream.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)
                break
        stream.close()


class FakeEmulatorConsole:
    """STAND-IN for the emulator console (telnet localhost:5554): auth, then `geo fix`; records commands."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.commands: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with sock, sock.makefile("rwb") as f:
                f.write(
                    b"Android Console: Authentication required\r\n"
                    b"Android Console: type 'auth <auth_token>' to authenticate\r\n"
                    b"Android Console: you can find your <auth_token> in \r\n'/root/.emulator_console_auth_token'\r\nOK\r\n"
                )
                f.flush()
                authed = False
                for raw in f:
                    line = raw.decode().strip()
                    self.commands.append(line)
                    if line == "quit":
                        break
                    if line.startswith("auth "):
                        authed = line[5:] == self.token
                        f.write(
                            b"Android Console: type 'help' for a list of commands\r\nOK\r\n"
                            if authed
                            else b"KO: authentication token does not match ~/.emulator_console_auth_token\r\n"
                        )
                    elif not authed:
                        f.write(b"KO: unknown command, try 'help'\r\n")
                    elif re.fullmatch(r"geo fix -?[0-9.]+ -?[0-9.]+", line):
                        f.write(b"OK\r\n")
                    else:
                        f.write(b"KO: bad geo fix\r\n")
                    f.flush()

    def close(self) -> None:
        self.listener.close()


# -- a private adb server per test ---------------------------------------------------------------


class PrivateAdbServer:
    """The REAL adb server on its own port (ADB_SERVER_SOCKET), so tests never share one; kill() in teardown."""

    def __init__(self, home: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {"ADB_SERVER_SOCKET": f"tcp:localhost:{self.port}", "ANDROID_SDK_HOME": home, "HOME": home}

    def adb(self, *args: str) -> str:
        import os
        import subprocess

        r = subprocess.run(
            ["adb", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        return r.stdout + r.stderr

    def connect(self, fake: FakeAdbd) -> str:
        out = self.adb("connect", fake.serial)
        if "connected to" not in out:
            raise RuntimeError(f"adb connect {fake.serial}: {out}")
        return fake.serial

    def attach(self, device: FakeDevice) -> FakeAdbd:
        """Start a fake adbd for `device` and `adb connect` this server to it."""
        fake = FakeAdbd(device)
        self.connect(fake)
        return fake

    def kill(self) -> None:
        self.adb("kill-server")


def frida_server_standin(version: str, machine: int = 183) -> bytes:
    """STAND-IN frida-server binary: an ELF header for `machine` (183 aarch64, 62 x86_64) and its version."""
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HH", 2, machine)
    return header + f"\nFRIDA_VERSION={version}\n".encode()


def adb_server_fixture(tmp_path: Any, monkeypatch: Any) -> Iterator[PrivateAdbServer]:
    """Body of the `adb_server` pytest fixture: a private adb server whose env the code under test sees."""
    home = tmp_path / "home"
    home.mkdir()
    server = PrivateAdbServer(str(home))
    for k, v in server.env.items():
        monkeypatch.setenv(k, v)
    yield server
    server.kill()


def confdir_fixture(tmp_path_factory: Any) -> Path:
    """Body of the module-scoped `confdir` fixture: a mitmproxy confdir holding a real mitmproxy CA."""
    from analysis.device.ca import ensure_ca

    path = tmp_path_factory.mktemp("mitmproxy")
    ensure_ca(path)
    return Path(path)

"""Device facts for session.json, the device's own identifiers, and canaries planted on it.

- `device_facts`: model, Android version, build fingerprint, emulator or not, ABI (from `getprop`).
- `read_identifiers`: ANDROID_ID (the device's and, from the SSAID table, the app's own: since
  Android 8 each signing key sees a different ANDROID_ID), IMEI, advertising ID, Wi-Fi MAC, as
  `schema.Canary(source="read-from-device")`.
- `plant`: from a `canaries.toml` — a location (the emulator console's `geo fix`), a contact
  (`content insert` into the contacts provider), and clipboard text (Android has no shell command
  that sets the clipboard, so the text is handed to the capture's Frida runner to set in the app).
"""

from __future__ import annotations

import re
import shlex
import socket
import time
import tomllib
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from analysis.device.adb import Adb
from analysis.errors import PrivlabError
from analysis.schema import Canary

TIKTOK = "com.zhiliaoapp.musically"
SYSTEM_CACERTS = "/system/etc/security/cacerts"
APEX_CACERTS = "/apex/com.android.conscrypt/cacerts"
FRIDA_SERVER = "/data/local/tmp/frida-server"
SSAID_XML = "/data/system/users/0/settings_ssaid.xml"
ADID_XML = "/data/data/com.google.android.gms/shared_prefs/adid_settings.xml"

_PROP = re.compile(r"^\[([^\]]+)\]: \[(.*)\]$")


def read_props(adb: Adb) -> dict[str, str]:
    """All system properties (`getprop` without arguments, `[name]: [value]` lines)."""
    out = adb.check("getprop")
    props = {}
    for line in out.splitlines():
        m = _PROP.match(line.strip())
        if m:
            props[m.group(1)] = m.group(2)
    return props


def is_emulator(props: dict[str, str]) -> bool:
    """True on the Android emulator (goldfish/ranchu kernels set ro.kernel.qemu or ro.boot.qemu)."""
    return (
        props.get("ro.kernel.qemu") == "1"
        or props.get("ro.boot.qemu") == "1"
        or props.get("ro.hardware") in ("ranchu", "goldfish")
    )


def device_facts(adb: Adb, props: dict[str, str] | None = None) -> dict[str, Any]:
    """The `device` block of session.json."""
    p = props if props is not None else read_props(adb)
    sdk = p.get("ro.build.version.sdk", "")
    return {
        "serial": adb.serial,
        "model": p.get("ro.product.model", ""),
        "manufacturer": p.get("ro.product.manufacturer", ""),
        "android_version": p.get("ro.build.version.release", ""),
        "sdk": int(sdk) if sdk.isdigit() else None,
        "build_fingerprint": p.get("ro.build.fingerprint", ""),
        "build_type": p.get("ro.build.type", ""),
        "emulator": is_emulator(p),
        "abi": p.get("ro.product.cpu.abi", ""),
        "abilist": [a for a in p.get("ro.product.cpu.abilist", "").split(",") if a],
        "native_bridge": p.get("ro.dalvik.vm.native.bridge", "0"),
        "root": adb.root_method,
    }


def zygote_pids(adb: Adb) -> list[int]:
    """The zygote processes (some images have both zygote and zygote64)."""
    r = adb.shell("pidof zygote zygote64")
    return [int(x) for x in r.stdout.split() if x.isdigit()] if r.ok else []


def app_pids(adb: Adb, parents: list[int]) -> list[int]:
    """Processes forked from the zygotes (every running app)."""
    r = adb.shell("ps -A -o PID,PPID,NAME")
    out = []
    for line in r.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() and int(parts[1]) in parents:
            out.append(int(parts[0]))
    return out


def device_sha256(adb: Adb, path: str, *, in_pid: int | None = None) -> str | None:
    """sha256 of a file on the device, optionally as seen inside process `in_pid`'s mount namespace (root)."""
    command = f"sha256sum {path}"
    if in_pid is not None:
        command = f"nsenter --mount=/proc/{in_pid}/ns/mnt -- {command}"
    r = adb.shell(command, root=in_pid is not None)
    return r.stdout.split()[0] if r.ok and r.stdout.split() else None


@dataclass(frozen=True)
class AppInfo:
    """An installed app: its APK paths on the device, version, and each APK's sha256."""

    package: str
    paths: list[str]
    version_name: str
    version_code: str
    sha256: dict[str, str] = field(default_factory=dict)


def app_info(adb: Adb, package: str) -> AppInfo | None:
    """`pm path` + `dumpsys package` + `sha256sum` of each APK; None when the app is not installed."""
    r = adb.shell(f"pm path {package}")
    paths = [line[len("package:") :].strip() for line in r.stdout.splitlines() if line.startswith("package:")]
    if not r.ok or not paths:
        return None
    dump = adb.shell(f"dumpsys package {package}").stdout
    name = re.search(r"versionName=(\S+)", dump)
    code = re.search(r"versionCode=(\d+)", dump)
    sums = adb.shell("sha256sum " + " ".join(paths))
    sha = {}
    for line in sums.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            sha[parts[1].strip()] = parts[0]
    return AppInfo(package, paths, name.group(1) if name else "", code.group(1) if code else "", sha)


# -- identifiers the device already has ----------------------------------------------------------


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def parse_parcel_string(text: str) -> str:
    """The String16 in a `service call` Parcel dump (the quoted columns, dots removed)."""
    chunks = re.findall(r"'(.{1,16})'", text)
    joined = "".join(chunks)
    return "".join(ch for ch in joined if ch not in ". ")


def _ssaid_for(xml: str, package: str) -> str | None:
    for m in re.finditer(r"<setting\b([^>]*)/?>", xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if attrs.get("package") == package and attrs.get("value"):
            return attrs["value"]
    return None


def read_identifiers(adb: Adb, app: str = TIKTOK, now: float | None = None) -> list[Canary]:
    """The device's own identifiers as canaries (source "read-from-device"); unreadable ones are left out."""
    t = now if now is not None else time.time()
    root = adb.root_method is not None
    out: list[Canary] = []

    def add(cid: str, kind: str, value: str, note: str) -> None:
        out.append(Canary(id=cid, kind=kind, value=value, source="read-from-device", t=t, note=note))

    android_id = adb.shell("settings get secure android_id").stdout.strip()
    if re.fullmatch(r"[0-9a-f]{8,16}", android_id):
        add(
            "device-android_id",
            "android_id",
            android_id,
            "settings get secure android_id (what the shell user sees)",
        )
    if root:
        # Android 12+ stores settings_ssaid.xml as binary XML (ABX); abx2xml turns it back into text.
        r = adb.shell(f"abx2xml {SSAID_XML} -", root=True)
        if not r.ok or "<setting" not in r.stdout:
            r = adb.shell(f"cat {SSAID_XML}", root=True)
        ssaid = _ssaid_for(r.stdout, app) if r.ok else None
        if ssaid:
            add(
                "app-android_id",
                "android_id",
                ssaid,
                f"ANDROID_ID as {app} sees it (SSAID table {SSAID_XML})",
            )
        r = adb.shell("service call iphonesubinfo 1 s16 com.android.shell", root=True)
        imei = parse_parcel_string(r.stdout) if r.ok else ""
        if re.fullmatch(r"\d{15}", imei) and _luhn_ok(imei):
            add("device-imei", "imei", imei, "service call iphonesubinfo 1 (getDeviceId)")
        r = adb.shell(f"cat {ADID_XML}", root=True)
        m = re.search(r'name="adid_key">([0-9a-fA-F-]{36})<', r.stdout) if r.ok else None
        if m:
            add(
                "device-advertising_id",
                "advertising_id",
                m.group(1).lower(),
                f"Google advertising ID ({ADID_XML})",
            )
        r = adb.shell("cat /sys/class/net/wlan0/address", root=True)
        mac = r.stdout.strip().lower() if r.ok else ""
        # 02:00:00:00:00:00 is the placeholder Android returns to apps since 6.0, not a real MAC.
        if re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac) and mac != "02:00:00:00:00:00":
            add("device-mac", "mac", mac, "wlan0 hardware address (/sys/class/net/wlan0/address)")
    return out


# -- canaries planted on the device --------------------------------------------------------------


@dataclass(frozen=True)
class PlantPlan:
    """What a `canaries.toml` asks to plant."""

    location: tuple[float, float] | None = None  # (lat, lon)
    clipboard: str | None = None
    contacts: list[dict[str, str]] = field(default_factory=list)


def load_plant_plan(path: Path) -> PlantPlan:
    """Read a `canaries.toml`; one-line PrivlabError naming the file and the bad entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PrivlabError(f"{path}: no such canaries file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PrivlabError(f"{path}: not valid TOML ({e})") from None
    unknown = set(data) - {"location", "clipboard", "contact"}
    if unknown:
        raise PrivlabError(
            f"{path}: unknown table(s) {', '.join(sorted(unknown))}; expected location, clipboard, contact"
        )
    location = None
    if "location" in data:
        loc = data["location"]
        try:
            lat, lon = float(loc["lat"]), float(loc["lon"])
        except (KeyError, TypeError, ValueError):
            raise PrivlabError(f"{path}: [location] needs numeric lat and lon") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PrivlabError(f"{path}: [location] lat {lat}, lon {lon} out of range")
        location = (lat, lon)
    clipboard = None
    if "clipboard" in data:
        text = data["clipboard"].get("text") if isinstance(data["clipboard"], dict) else None
        if not isinstance(text, str) or not text:
            raise PrivlabError(f"{path}: [clipboard] needs a non-empty text")
        clipboard = text
    contacts = data.get("contact", [])
    if isinstance(contacts, dict):
        contacts = [contacts]
    for i, c in enumerate(contacts):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise PrivlabError(f"{path}: [[contact]] #{i + 1} needs a name")
        if not any(isinstance(c.get(k), str) for k in ("phone", "email")):
            raise PrivlabError(f"{path}: [[contact]] #{i + 1} needs a phone or an email to detect")
    return PlantPlan(location, clipboard, [{k: str(v) for k, v in c.items()} for c in contacts])


def console_port(serial: str) -> int | None:
    """The emulator console port of an `emulator-NNNN` serial (NNNN is the console port)."""
    m = re.fullmatch(r"emulator-(\d+)", serial)
    return int(m.group(1)) if m else None


def emulator_console(
    port: int, commands: list[str], *, token_file: Path | None = None, timeout: float = 10.0
) -> None:
    """Send commands to the emulator console on localhost:`port` (auth with ~/.emulator_console_auth_token)."""
    token_path = token_file or Path.home() / ".emulator_console_auth_token"
    token = token_path.read_text().strip() if token_path.exists() else ""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            f = sock.makefile("rwb")

            def reply() -> str:
                lines = []
                while True:
                    line = f.readline().decode(errors="replace")
                    if not line:
                        raise PrivlabError(f"emulator console on port {port} closed the connection")
                    lines.append(line.rstrip("\r\n"))
                    if line.startswith(("OK", "KO")):
                        return "\n".join(lines)

            banner = reply()
            sent = []
            if "Authentication required" in banner:
                sent.append(f"auth {token}")
            sent += commands
            for command in sent:
                f.write(command.encode() + b"\r\n")
                f.flush()
                answer = reply()
                if answer.splitlines()[-1].startswith("KO"):
                    what = "auth" if command.startswith("auth") else command
                    raise PrivlabError(
                        f"emulator console on port {port} refused `{what}`: {answer.splitlines()[-1]}"
                    )
            f.write(b"quit\r\n")
            f.flush()
    except OSError as e:
        raise PrivlabError(
            f"cannot reach the emulator console on localhost:{port} ({e}); is the emulator running?"
        ) from None


def _contact_commands(contact: dict[str, str], raw_id: int) -> list[str]:
    rows: list[tuple[str, str, str | None]] = [("vnd.android.cursor.item/name", contact["name"], None)]
    if contact.get("phone"):
        rows.append(("vnd.android.cursor.item/phone_v2", contact["phone"], "2"))  # TYPE_MOBILE
    if contact.get("email"):
        rows.append(("vnd.android.cursor.item/email_v2", contact["email"], "1"))  # TYPE_HOME
    out = []
    for mimetype, value, kind in rows:
        binds = [f"raw_contact_id:i:{raw_id}", f"mimetype:s:{mimetype}", f"data1:s:{value}"]
        if kind:
            binds.append(f"data2:i:{kind}")
        out.append(
            "content insert --uri content://com.android.contacts/data "
            + " ".join(f"--bind {shlex.quote(b)}" for b in binds)
        )
    return out


def plant(adb: Adb, plan: PlantPlan, *, console: int | None = None, now: float | None = None) -> list[Canary]:
    """Plant what `plan` asks on the device; return the canaries (source "planted")."""
    t = now if now is not None else time.time()
    out: list[Canary] = []
    if plan.location is not None:
        lat, lon = plan.location
        port = console if console is not None else console_port(adb.serial)
        if port is None:
            raise PrivlabError(
                f"planting a location needs the emulator console, and {adb.serial} is not an `emulator-NNNN` "
                "device: remove [location] from the canaries file, or use the emulator"
            )
        emulator_console(port, [f"geo fix {lon} {lat}"])  # geo fix takes longitude first
        out.append(
            Canary("planted-location", "location", f"{lat},{lon}", "planted", t, "emulator console geo fix")
        )
    for i, contact in enumerate(plan.contacts, start=1):
        adb.check(
            "content insert --uri content://com.android.contacts/raw_contacts --bind account_type:n: --bind account_name:n:"
        )
        rows = adb.check("content query --uri content://com.android.contacts/raw_contacts --projection _id")
        ids = [int(x) for x in re.findall(r"_id=(\d+)", rows)]
        if not ids:
            raise PrivlabError(
                f"planting contact {contact['name']!r} on {adb.serial}: the new raw contact did not appear"
            )
        for command in _contact_commands(contact, max(ids)):
            adb.check(command)
        note = f"contact {contact['name']!r} (raw contact {max(ids)})"
        for kind in ("phone", "email"):
            if contact.get(kind):
                out.append(Canary(f"planted-contact{i}-{kind}", "contact", contact[kind], "planted", t, note))
    if plan.clipboard is not None:
        out.append(
            Canary(
                "planted-clipboard",
                "clipboard",
                plan.clipboard,
                "planted",
                t,
                "set in the app's clipboard by the Frida runner at spawn",
            )
        )
    return out

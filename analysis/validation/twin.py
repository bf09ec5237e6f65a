"""The device twin on a Java VM: Android's classes rebuilt from Java source, and apps that run on them.

There is no ART here, but the real Frida Java bridge hooks methods in an OpenJDK 17 HotSpot VM. The
twin (tests/jvm/twin) gives the classes the agent hooks Android's exact package, class and method
signatures and makes them return the session's planted canaries; the SDK app (tests/jvm/app) reads
them from SDK-like packages and sends them over HTTPS, like TikTok's SDK stack. Both are compiled with
`javac` from the committed source into a cache directory keyed by the sources' hash: no binary is
committed. The frida-java-bridge supports JDK 17 only (18+ is reported broken, 20+ lacks symbols).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from analysis.errors import PrivlabError
from analysis.schema import Canary

JVM_SOURCES = Path(__file__).resolve().parents[2] / "tests" / "jvm"
GATE_MAIN = "privlab.twin.Gate"
PROBE_MAIN = "privlab.twin.Probe"
SDK_APP_MAIN = "com.zhiliaoapp.musically.TwinApp"
# What a capture of the SDK app watches (the agent's `watch` module): AppLog's own encryption entry point,
# called with the plaintext event log before it is ttEncrypt'd and sent (tests/jvm/app/com/bytedance/applog).
SDK_APP_WATCH: list[tuple[str, str]] = [("com.bytedance.applog.net.LogEncryptor", "encrypt")]
# Debian's OkHttp 3 (libokhttp-java): TikTok's network stack builds on OkHttp; optional.
OKHTTP_JARS = (Path("/usr/share/java/okhttp.jar"), Path("/usr/share/java/okio.jar"))
SUPPORTED_JAVA = 17


class JvmUnavailable(PrivlabError):
    """No JDK 17 here (java/javac missing, or another version the Java bridge does not support)."""


def java_version(java: str = "java") -> int | None:
    """The feature version of `java` on PATH (17 for 17.0.21), or None when it is missing."""
    path = shutil.which(java)
    if path is None:
        return None
    out = subprocess.run([path, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def jvm_problem() -> str | None:
    """Why the twin cannot run here (None when it can): the reason tests skip with."""
    if not any(JVM_SOURCES.rglob("*.java")):
        # An installed wheel has no tests/: the twin's Java sources ship with the checkout.
        return f"the device twin's Java sources are not here ({JVM_SOURCES}); they come with the checkout"
    if shutil.which("javac") is None:
        return "javac not found: install openjdk-17-jdk-headless (Debian 12)"
    version = java_version()
    if version != SUPPORTED_JAVA:
        return f"java is version {version}; the Frida Java bridge supports HotSpot {SUPPORTED_JAVA} only"
    return None


def okhttp_classpath() -> list[Path]:
    """Debian's OkHttp and Okio jars when installed (`apt-get install libokhttp-java`), else empty."""
    return list(OKHTTP_JARS) if all(p.is_file() for p in OKHTTP_JARS) else []


def _sources(with_okhttp: bool) -> list[Path]:
    files = sorted(JVM_SOURCES.rglob("*.java"))
    # The OkHttp sender is compiled only where OkHttp is installed; the app then finds it by name.
    return [p for p in files if with_okhttp or "okhttp" not in p.name.lower()]


def build(cache: Path | None = None) -> Path:
    """Compile the twin and the apps (once per source version) and return the classes directory."""
    problem = jvm_problem()
    if problem is not None:
        raise JvmUnavailable(problem)
    jars = okhttp_classpath()
    sources = _sources(bool(jars))
    digest = hashlib.sha256()
    for p in sources:
        digest.update(p.relative_to(JVM_SOURCES).as_posix().encode() + b"\0" + p.read_bytes())
    digest.update(os.pathsep.join(map(str, jars)).encode())
    root = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "privlab" / "jvm"
    out = root / digest.hexdigest()[:16]
    if (out / "ok").is_file():
        return out / "classes"
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "classes").mkdir(parents=True)
    cmd = ["javac", "-nowarn", "-encoding", "UTF-8", "-d", str(tmp / "classes")]
    if jars:
        cmd += ["-cp", os.pathsep.join(map(str, jars))]
    done = subprocess.run(cmd + [str(p) for p in sources], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        first = (done.stderr.strip().splitlines() or ["javac failed"])[0]
        raise JvmUnavailable(f"{JVM_SOURCES}: the twin does not compile: {first}")
    (tmp / "ok").touch()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out / "classes"


def command(classes: Path, main: str, canaries: Iterable[Canary] = (), args: Iterable[str] = ()) -> list[str]:
    """`java ...` running `main` on the twin behind privlab's gate, with the canaries as properties.

    The JIT stays on (-Xint makes the bridge's unhooking hang); each canary is `-Dprivlab.canary.<id>`.
    """
    cp = os.pathsep.join([str(classes), *map(str, okhttp_classpath())])
    props = [f"-Dprivlab.canary.{c.id}={c.value}" for c in canaries]
    return ["java", *props, "-cp", cp, GATE_MAIN, main, *args]

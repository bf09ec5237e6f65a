"""`.ci/system-deps` (what `make demo`/`make test` run): only missing needs are installed, never a replacement.

Runs the real script with `--dry-run` on a PATH that holds only what each case needs. Stand-ins, named:
`apt-cache` and `apt-get` are small scripts that answer like Debian's for a machine whose Node.js comes
from NodeSource (Debian's `npm` conflicts with it; `openjdk-17-jdk-headless` is absent in the Debian 13
case), so the decisions are tested without changing this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "system-deps"
BASICS = ("bash", "env", "id", "grep", "cut", "tr", "sed", "cat")

APT_CACHE = """#!/bin/bash
# apt-cache policy PKG: a candidate for every package except those listed in $FAKE_ABSENT
for p in $FAKE_ABSENT; do [ "$2" = "$p" ] && { echo "$2:"; echo "  Candidate: (none)"; exit 0; }; done
echo "$2:"; echo "  Installed: (none)"; echo "  Candidate: 1.0-1"
"""
APT_GET = """#!/bin/bash
# apt-get install -s ... PKG: Debian's npm conflicts with the installed NodeSource nodejs
echo "$*" >> "$FAKE_LOG"
pkg="${@: -1}"
if [ "$pkg" = npm ]; then
  echo " nodejs : Conflicts: npm"; echo "E: Unable to correct problems, you have held broken packages."; exit 100
fi
for p in $FAKE_REPLACES; do  # a package whose install would remove one the machine has
  [ "$pkg" = "$p" ] && { echo "Remv $p-from-elsewhere [1.0]"; echo "Inst $pkg (1.0-1)"; exit 0; }
done
echo "Inst $pkg (1.0-1 Debian:12/stable [amd64])"
"""


def _path(tmp: Path, *extra: str) -> Path:
    bin_ = tmp / "bin"
    bin_.mkdir()
    for name in (*BASICS, *extra):
        found = shutil.which(name)
        assert found is not None, name
        (bin_ / name).symlink_to(found)
    for name, text in (("apt-cache", APT_CACHE), ("apt-get", APT_GET)):
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)
    return bin_


def _run(
    bin_: Path, tmp: Path, profile: str, absent: str = "", replaces: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_), "FAKE_LOG": str(tmp / "apt.log"), "HOME": str(tmp)}
    env.update(FAKE_ABSENT=absent, FAKE_REPLACES=replaces)
    return subprocess.run(
        [str(bin_ / "bash"), str(SCRIPT), profile, "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture()
def node(tmp_path: Path) -> Path:
    """A `node` from elsewhere (NodeSource's, say), without npm beside it."""
    fake = tmp_path / "node-elsewhere"
    fake.write_text("#!/bin/bash\necho v20.20.2\n")
    fake.chmod(0o755)
    return fake


def test_only_the_missing_are_installed_and_npm_never_beside_another_node(tmp_path: Path, node: Path) -> None:
    bin_ = _path(tmp_path, "gcc", "tcpdump")
    (bin_ / "node").symlink_to(node)
    done = _run(bin_, tmp_path, "test")
    assert done.returncode == 1, done.stdout + done.stderr  # npm cannot be installed here: said, not hidden
    (would,) = [line for line in done.stdout.splitlines() if line.startswith("would run: ")]
    packages = would.split("--no-remove ")[1].split()
    assert "apt-get install -y --no-install-recommends --no-remove" in would
    assert {"adb", "apktool", "openjdk-17-jdk-headless", "chromium", "poppler-utils"} <= set(packages)
    assert not {"gcc", "tcpdump", "nodejs", "npm"} & set(packages)  # present, or would replace Node.js
    assert packages.count("openjdk-17-jdk-headless") == 1  # javac and keytool: one package
    assert "npm is missing but node is installed" in done.stderr
    simulated = [line.split()[-1] for line in (tmp_path / "apt.log").read_text().splitlines()]
    assert "npm" not in simulated and "adb" in simulated  # npm not even tried beside that node


def test_a_package_apt_cannot_add_without_removing_is_left_out(tmp_path: Path) -> None:
    bin_ = _path(tmp_path)
    done = _run(bin_, tmp_path, "test", absent="openjdk-17-jdk-headless", replaces="chromium")
    assert done.returncode == 1
    (would,) = [line for line in done.stdout.splitlines() if line.startswith("would run: ")]
    packages = would.split("--no-remove ")[1].split()
    assert (
        "nodejs" in packages and "npm" not in packages
    )  # no node at all: Debian's, minus the conflicting npm
    assert "apt-get cannot install npm here" in done.stderr and "held broken packages" in done.stderr
    assert "openjdk-17-jdk-headless is not in this machine's apt sources" in done.stderr  # Debian 13
    assert "installing chromium would remove chromium-from-elsewhere" in done.stderr
    assert "openjdk-17-jdk-headless" not in packages and "chromium" not in packages
    assert {"gcc", "tcpdump", "adb", "poppler-utils"} <= set(packages)  # the others are still installed


def test_nothing_missing_installs_nothing(tmp_path: Path) -> None:
    needed = ("tcpdump", "fc-list", "ldconfig", "javac")
    if any(shutil.which(n, path=os.environ["PATH"] + ":/usr/sbin:/sbin") is None for n in needed):
        pytest.fail("this machine lacks the demo's tools; run `make system-deps`")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name in (*BASICS, *needed):
        found = shutil.which(name, path=os.environ["PATH"] + ":/usr/sbin:/sbin")
        assert found is not None
        (bin_ / name).symlink_to(found)
    done = _run(bin_, tmp_path, "demo")
    if "is missing" in done.stdout:  # fonts or pango absent here: then the test names them
        pytest.fail(f"this machine lacks what the demo needs: {done.stdout}")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert not (tmp_path / "apt.log").exists()

"""The installable package: build the wheel, install it in a new venv outside the checkout, run privlab there.

`pip install .` must give a privlab that runs with no checkout beside it: the mitmproxy addons, the Frida
agent bundle, the report templates and the entity data ship in the wheel and are found through the import
system. This test builds the wheel from a copy of the checkout, installs it (no dependencies) into a new venv
in a temporary folder, and runs `privlab demo`, `privlab capture --host-command ... --frida` and
`privlab report` from another temporary folder, with PYTHONPATH unset and HOME a new folder.

Stand-ins, named: privlab's dependencies are not downloaded again; a `.pth` file in the new venv adds the
test environment's site-packages after the venv's own (written after the install, so pip never sees an
installed privlab there), and `bin/mitmdump` is the console script pip writes for mitmproxy's `mitmdump`
entry point when it installs mitmproxy into a venv. privlab itself comes only from the wheel: asserted below.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Left out of the copy the wheel is built from: local state that must not reach a wheel (a stale build/
# folder would), and folders the build does not read.
NOT_COPIED = (".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
              "captures", "tests", "notebooks", "benchmarks")  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@dataclass
class Installed:
    """A venv holding privlab from the wheel, and where to run it from."""

    python: Path
    bin: Path
    purelib: Path
    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def privlab(self, *args: str, timeout: float = 600) -> str:
        done = self.run(str(self.bin / "privlab"), *args, timeout=timeout)
        assert done.returncode == 0, f"privlab {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr
        return done.stdout


def _check(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """privlab's wheel, built offline from a copy of the checkout (setuptools is a dev dependency)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(*NOT_COPIED))
    _check([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
            "--no-index", "-q", "-w", str(tmp / "dist")])  # fmt: skip
    (built,) = (tmp / "dist").glob("privlab-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("installed")
    venv = tmp / "venv"
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _check([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
            str(wheel)])  # fmt: skip
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    purelib = Path(out.stdout.strip())
    # After the install: the dependencies of the test environment, searched after the venv's own packages.
    deps = "".join(f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages())
    (purelib / "_privlab_test_dependencies.pth").write_text(deps)
    (mitmdump,) = entry_points(group="console_scripts", name="mitmdump")
    script = venv / "bin" / "mitmdump"
    script.write_text(
        f"#!{python}\nimport sys\nfrom {mitmdump.module} import {mitmdump.attr}\nsys.exit({mitmdump.attr}())\n"
    )
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    home = tmp / "home"
    home.mkdir()
    cwd = tmp / "work"
    cwd.mkdir()
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    return Installed(python=python, bin=venv / "bin", purelib=purelib, env=env, cwd=cwd)


def test_privlab_runs_from_the_wheel_not_from_the_checkout(installed: Installed) -> None:
    code = (
        "import json, analysis, addons\n"
        "from analysis.capture.frida import AGENT_BUNDLE, TIKTOK_WATCH_FILE\n"
        "from analysis.capture.proxy import ADDONS_DIR, mitmdump_binary\n"
        "from analysis.report.html import TEMPLATES\n"
        "from analysis.attribute.entities import load_registry\n"
        "print(json.dumps({'analysis': analysis.__file__, 'addons': addons.__file__, 'agent': str(AGENT_BUNDLE),"
        " 'addons_dir': str(ADDONS_DIR), 'mitmdump': str(mitmdump_binary()), 'templates': str(TEMPLATES),"
        " 'watch': str(TIKTOK_WATCH_FILE), 'entities': len(load_registry().entities)}))\n"
    )
    done = installed.run(str(installed.python), "-c", code)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for key in ("analysis", "addons", "agent", "addons_dir", "templates", "watch"):
        assert Path(found[key]).is_relative_to(installed.purelib), (key, found[key])
    assert found["mitmdump"] == str(installed.bin / "mitmdump")
    assert found["entities"] >= 30  # the curated registry's TOML files are in the wheel
    agent = Path(found["agent"])
    assert not agent.is_symlink() and agent.read_bytes() == (REPO / "hooks" / "_agent.js").read_bytes()
    assert (Path(found["addons_dir"]) / "privlab.py").is_file()
    # The shipped watch list (`privlab capture --watch-file`) is package data too.
    shipped_watch = REPO / "analysis" / "capture" / "watch-tiktok.txt"
    assert Path(found["watch"]).read_bytes() == shipped_watch.read_bytes()


def test_demo_from_the_installed_wheel(installed: Installed) -> None:
    before = _files(installed.purelib)
    out = installed.privlab("demo")
    found = re.search(r"HTML report: (\S+)", out)
    assert found, out
    report = installed.cwd / found.group(1)
    assert report.is_file() and report.is_relative_to(installed.cwd / "captures")
    assert "<html" in report.read_text(encoding="utf-8").lower()
    assert (report.parent / "findings.json").is_file()
    assert "verify: intact" in out and "recall 1.000" in out
    assert (installed.cwd / "captures" / "validation.json").is_file()
    assert _files(installed.purelib) == before  # nothing written beside the installed package


def test_capture_with_frida_then_report_from_the_installed_wheel(installed: Installed) -> None:
    program = f"{installed.python} -c 'import socket; socket.getaddrinfo(\"localhost\", 80)'"
    out = installed.privlab(
        "capture", "--host-command", program, "--frida", "--name", "wheel", "--out", "runs"
    )
    found = re.search(r"session: (\S+)", out)
    assert found and "status: sealed" in out, out
    session = installed.cwd / found.group(1)
    meta = json.loads((session / "session.json").read_text())
    shipped = hashlib.sha256((REPO / "hooks" / "_agent.js").read_bytes()).hexdigest()
    assert meta["frida"]["agent"]["sha256"] == shipped  # the bundle injected is the committed one
    events = [json.loads(line) for line in (session / "hooks.jsonl").read_text().splitlines()]
    assert any(e["api"] == "ready" for e in events)
    assert any(e["api"] == "getaddrinfo" and e["args"][0] == "localhost" for e in events)
    out = installed.privlab("report", str(session), "--format", "html,json")
    found = re.search(r"HTML report: (\S+)", out)
    assert found and (installed.cwd / found.group(1)).is_file(), out

"""The committed agent bundle is exactly what hooks/src builds, and the build is type-checked.

Users without Node.js run captures with the committed `hooks/_agent.js`; this is the proof that it
is the reviewed source. Building needs hooks/node_modules (`npm ci` in hooks/, done here if absent).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analysis.capture.frida import AGENT_BUNDLE
from analysis.capture.frida import agent_builder
from analysis.cli import main

HOOKS = AGENT_BUNDLE.parent


@pytest.fixture(scope="module")
def builder() -> Any:
    if not (HOOKS / "node_modules" / "frida-java-bridge").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "hooks/node_modules is missing and npm is not installed: install nodejs/npm, run `npm ci` in hooks/"
            )
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HOOKS, check=True, capture_output=True)
    return agent_builder()


def test_committed_bundle_is_what_the_source_builds(builder: Any) -> None:
    assert AGENT_BUNDLE.read_text(encoding="utf-8") == builder.build()
    result = CliRunner().invoke(main, ["hooks", "check"])
    assert result.exit_code == 0


def test_a_changed_source_no_longer_matches_and_type_errors_fail(builder: Any, tmp_path: Path) -> None:
    copy = tmp_path / "hooks"
    shutil.copytree(HOOKS, copy, ignore=shutil.ignore_patterns("_agent.js", "@types"))
    java = copy / "src" / "lib" / "java.ts"
    java.write_text(java.read_text().replace("const MAX_LIST = 1000;", "const MAX_LIST = 10;"))
    assert builder.build(copy) != AGENT_BUNDLE.read_text(encoding="utf-8")
    java.write_text(java.read_text().replace("const MAX_LIST = 10;", 'const MAX_LIST: number = "ten";'))
    with pytest.raises(builder.BuildError, match="java.ts"):
        builder.build(copy)


def test_the_java_bridge_is_imported_in_exactly_one_module() -> None:
    importers = [
        p.relative_to(HOOKS).as_posix()
        for p in (HOOKS / "src").rglob("*.ts")
        if "frida-java-bridge" in p.read_text()
    ]
    assert importers == ["src/lib/java.ts"]

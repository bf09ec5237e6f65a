"""Every notebook runs top to bottom, headless (nbclient + ipykernel), on the sample and a second session."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analysis.capture.host import HostCapture
from analysis.capture.host import capture_host
from analysis.capture.proxy import Upstream
from analysis.schema import Canary
from analysis.validation.upstream import start_upstream

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CHARTED = {
    "01-session-overview",
    "02-read-then-sent",
    "03-destinations",
    "04-compare-sessions",
    "06-corpus-query",
}


def test_there_are_notebooks() -> None:
    assert {p.stem for p in NOTEBOOKS} >= CHARTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: strip outputs before commit"
            )
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "**Question:**" in first.source


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory, sample_session: Path) -> Iterator[list[Path]]:
    """A copy of the sample, and a second small capture with one canary sent to one host."""
    root = tmp_path_factory.mktemp("nb")
    sample = root / "sample"
    shutil.copytree(sample_session, sample, ignore=shutil.ignore_patterns("derived", "report"))
    up = start_upstream(root / "up")
    try:
        imei = Canary("imei", "imei", "490154203237518")
        cmd = ["curl", "-sS", f"https://log-va.tiktokv.com/service/2/device_register/?udid={imei.value}",
               "-o", "/dev/null"]  # fmt: skip
        second = capture_host(HostCapture(command=cmd, root=root, name="second", canaries=[imei],
                                          confdir=root / "conf", upstream=Upstream(up.tls, up.plain, up.cert),
                                          app={"package": "com.zhiliaoapp.musically"}))  # fmt: skip
    finally:
        up.stop()
    yield [sample, second.session.path]


def _run(path: Path, env: dict[str, str], cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def _images(nb: nbformat.NotebookNode) -> int:
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {})
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_draws(path: Path, sessions: list[Path], tmp_path: Path) -> None:
    env = {"PRIVLAB_SESSION": str(sessions[0]), "PRIVLAB_SESSIONS": os.pathsep.join(map(str, sessions))}
    nb = _run(path, env, tmp_path)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "Traceback" not in text
    if path.stem in CHARTED:
        assert _images(nb) >= 1, f"{path.name} drew no chart"
    if path.stem == "04-compare-sessions":
        assert "2 session(s) by consent" in text and "(not set)" in text


def test_overview_on_the_second_session(sessions: list[Path], tmp_path: Path) -> None:
    nb = _run(NOTEBOOKS[0], {"PRIVLAB_SESSION": str(sessions[1])}, tmp_path)
    assert "log-va.tiktokv.com" in json.dumps([c.get("outputs", []) for c in nb.cells])

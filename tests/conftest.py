"""Shared fixtures: the repository, the public reference data in tests/data, tracker lists, the sample session."""

from __future__ import annotations

from pathlib import Path

import pytest
from tracker_list_samples import write_tracker_lists

REPO = Path(__file__).resolve().parents[1]
REF_DATA = REPO / "tests" / "data"  # real files from public projects: see tests/data/NOTICE.md
SAMPLE = REPO / "captures" / "sample"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ref_data() -> Path:
    """`tests/data`: real files from public projects, kept under their licences (tests/data/NOTICE.md)."""
    return REF_DATA


@pytest.fixture(scope="session")
def tracker_lists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small tracker lists in each public format (Exodus, X-Ray, Disconnect, DuckDuckGo) with real entries.

    The public lists may not be vendored; `tests/tracker_list_samples.py` keeps their exact shapes and a
    few real entries, so the importers are tested with nothing outside the repository.
    """
    return write_tracker_lists(tmp_path_factory.mktemp("tracker_lists"))


@pytest.fixture(scope="session")
def sample_session() -> Path:
    """The committed, sealed sample session (made by `privlab demo`)."""
    if not (SAMPLE / "session.json").exists():
        pytest.fail(f"{SAMPLE} is missing: regenerate it with `privlab demo --refresh-sample`")
    return SAMPLE


@pytest.fixture(scope="session")
def standin_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agent built from hooks/src with frida-java-bridge swapped for the JavaScript stand-in.

    Stand-in: ART cannot run here; tests that need what HotSpot cannot show use it (tests/hooks/java_standin).
    """
    import shutil

    from analysis.capture.frida import agent_builder

    hooks, standin = REPO / "hooks", REPO / "tests" / "hooks" / "java_standin"
    real = hooks / "node_modules" / "frida-java-bridge"
    if not real.is_dir():
        pytest.fail(f"{real} missing: run `npm ci` in hooks/ (the real bridge's typings are needed)")
    root = tmp_path_factory.mktemp("standin-agent")
    shutil.copytree(hooks / "src", root / "src")
    for name in ("package.json", "tsconfig.json"):
        shutil.copy(hooks / name, root / name)
    bridge = root / "node_modules" / "frida-java-bridge"
    bridge.mkdir(parents=True)
    for name in ("index.js", "package.json"):
        shutil.copy(standin / name, bridge / name)
    shutil.copy(real / "index.d.ts", bridge / "index.d.ts")
    bundle = root / "_agent.js"
    bundle.write_text(agent_builder().build(root), encoding="utf-8")
    return bundle

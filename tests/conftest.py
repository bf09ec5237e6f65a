"""Shared fixtures: the repository, the public reference data in tests/data, the sample session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REF_DATA = REPO / "tests" / "data"  # real files from public projects: see tests/data/NOTICE.md
SHARED_LISTS = REPO.parent / "shared" / "data" / "tracker_lists"
SAMPLE = REPO / "captures" / "sample"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ref_data() -> Path:
    """`tests/data`: real files from public projects, kept under their licences (tests/data/NOTICE.md)."""
    return REF_DATA


@pytest.fixture(scope="session")
def tracker_lists() -> Path:
    """Public tracker lists (licences do not allow vendoring them); skip where absent."""
    if not SHARED_LISTS.is_dir():
        pytest.skip(f"tracker lists not found at {SHARED_LISTS}")
    return SHARED_LISTS


@pytest.fixture(scope="session")
def sample_session() -> Path:
    """The committed, sealed sample session (made by `privlab demo`)."""
    if not (SAMPLE / "session.json").exists():
        pytest.fail(f"{SAMPLE} is missing: regenerate it with `privlab demo --refresh-sample`")
    return SAMPLE

"""Shared fixtures: the repository, the public reference data in ../shared/data, the sample session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "captures" / "sample"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the checkout (real files from public projects); skip where absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_session() -> Path:
    """The committed, sealed sample session (made by `privlab demo`)."""
    if not (SAMPLE / "session.json").exists():
        pytest.fail(f"{SAMPLE} is missing: regenerate it with `privlab demo --refresh-sample`")
    return SAMPLE

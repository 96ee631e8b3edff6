"""Shared fixtures. Real vendor samples live beside the project (not in it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("TICKFORGE_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of real vendor sample files (env TICKFORGE_REAL_DATA)."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real sample data not found at {REAL_DATA} (set TICKFORGE_REAL_DATA)")
    return REAL_DATA


@pytest.fixture()
def lake_dir(tmp_path: Path) -> Path:
    path = tmp_path / "lake"
    path.mkdir()
    return path

"""Shared fixtures. Everything runs for real: DuckDB files in tmp_path, the real data in
../shared/data (tests that need it skip with a clear message when that folder is absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

from data.store import Store

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder ../shared/data."""
    if not (SHARED_DATA / "gemeente_2025.geojson").is_file():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


@pytest.fixture
def store(tmp_path) -> Store:
    """An empty store on a temporary DuckDB file (created on the first write)."""
    return Store(tmp_path / "test.duckdb")

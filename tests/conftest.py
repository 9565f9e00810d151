from __future__ import annotations

import pytest

from ingest.settings import Settings


@pytest.fixture
def d2b_home(tmp_path, monkeypatch) -> Settings:
    """A fresh D2B_HOME for one test, exported like the CLI exports it."""
    home = tmp_path / "d2b_home"
    monkeypatch.setenv("D2B_HOME", str(home))
    monkeypatch.delenv("D2B_LANDING", raising=False)
    monkeypatch.delenv("D2B_WAREHOUSE", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return Settings.from_env()


@pytest.fixture(scope="session")
def dbt_manifest():
    """dbt's manifest, parsed once per test session (prepare_if_dev does nothing here)."""
    from dagster_project.dbt import prepare_manifest

    return prepare_manifest(force=True)

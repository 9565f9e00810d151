from __future__ import annotations

from pathlib import Path

from dagster_project.resources import D2BSettingsResource
from ingest.settings import Settings


def test_everything_lives_under_home_by_default(tmp_path):
    settings = Settings.from_env({"D2B_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.landing == tmp_path / "landing"
    assert settings.warehouse == tmp_path / "warehouse.duckdb"
    assert settings.ground_truth == tmp_path / "ground_truth"
    assert settings.dagster_home == tmp_path / "dagster"


def test_specific_variables_point_elsewhere(tmp_path):
    settings = Settings.from_env(
        {
            "D2B_HOME": str(tmp_path / "home"),
            "D2B_LANDING": str(tmp_path / "drop"),
            "D2B_WAREHOUSE": str(tmp_path / "w.duckdb"),
        }
    )
    assert settings.landing == tmp_path / "drop"
    assert settings.warehouse == tmp_path / "w.duckdb"
    assert settings.ground_truth == tmp_path / "ground_truth"


def test_default_home_is_in_the_user_directory():
    settings = Settings.from_env({})
    assert settings.home == Path("~/.d2b").expanduser()


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"D2B_HOME": "state"})
    assert settings.home == tmp_path / "state"
    assert settings.environment()["D2B_WAREHOUSE"] == str(tmp_path / "state" / "warehouse.duckdb")


def test_resource_fields_override_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("D2B_HOME", str(tmp_path / "from_env"))
    monkeypatch.delenv("D2B_WAREHOUSE", raising=False)
    assert D2BSettingsResource().settings().home == tmp_path / "from_env"
    explicit = D2BSettingsResource(warehouse=str(tmp_path / "x.duckdb")).settings()
    assert explicit.warehouse == tmp_path / "x.duckdb"
    assert explicit.home == tmp_path / "from_env"

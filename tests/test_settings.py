from __future__ import annotations

import re
from pathlib import Path

import pytest

from d2b.settings import VARIABLES, Settings, help_text, markdown_table
from dagster_project.resources import D2BSettingsResource


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


REPO = Path(__file__).resolve().parents[1]
PYTHON_PACKAGES = ("d2b", "ingest", "dagster_project", "dashboards", "serving", "erp", "bench")


def test_every_branch_has_its_defaults(tmp_path):
    settings = Settings.from_env({"D2B_HOME": str(tmp_path)})
    assert settings.dbt.duckdb_memory_limit == "4GB"
    assert settings.billing.start == "2025-01-01"
    assert settings.billing.store == tmp_path / "billing" / "billing.duckdb"
    assert settings.alerts.webhook_url is None
    assert settings.erp.adapter == "tryton"
    assert settings.erp.user == "admin"
    assert settings.erp.password is None and settings.erp.template_dir is None
    assert settings.erp.filedrop_dir == tmp_path / "erp" / "filedrop"


def test_every_branch_reads_its_variables(tmp_path):
    settings = Settings.from_env(
        {
            "D2B_HOME": str(tmp_path),
            "D2B_DUCKDB_MEMORY_LIMIT": "16GB",
            "D2B_BILLING_START": "2024-07-01",
            "D2B_ALERT_WEBHOOK_URL": "https://hooks.example/t0ken",
            "D2B_ERP_ADAPTER": "FileDrop",
            "D2B_ERP_USER": "billing",
            "D2B_ERP_TEMPLATE_DIR": str(tmp_path / "templates"),
        }
    )
    assert settings.dbt.duckdb_memory_limit == "16GB"
    assert settings.billing.start == "2024-07-01"
    assert settings.alerts.webhook_url == "https://hooks.example/t0ken"
    assert settings.erp.adapter == "filedrop"
    assert settings.erp.user == "billing"
    assert settings.erp.template_dir == tmp_path / "templates"


def test_an_unknown_adapter_is_refused():
    with pytest.raises(ValueError, match="D2B_ERP_ADAPTER"):
        Settings.from_env({"D2B_ERP_ADAPTER": "sap"})


def test_secrets_are_redacted_in_the_repr():
    secrets = {
        "D2B_ERP_PASSWORD": "hunter2",
        "D2B_ALERT_WEBHOOK_URL": "https://hooks.example/s3cret-token",
        "D2B_ERP_DATABASE_URI": "postgresql://erp:pa55word@db:5432/erp",
    }
    text = repr(Settings.from_env(secrets))
    for value in secrets.values():
        assert value not in text
    assert text.count("<redacted>") == 3
    assert "user='admin'" in text  # what is not secret stays readable


def test_the_tree_declares_every_variable_the_code_reads():
    """Every ``D2B_*`` name in the shipped packages and dbt's profile is one of the tree's."""
    declared = {v.name for v in VARIABLES}
    sources = [p for package in PYTHON_PACKAGES for p in (REPO / package).rglob("*.py")]
    sources.append(REPO / "dbt_project" / "profiles.yml")
    used = {name for p in sources for name in re.findall(r"\bD2B_[A-Z_]*[A-Z]\b", p.read_text())}
    assert used <= declared, f"not in d2b/settings.py: {sorted(used - declared)}"
    assert len(declared) == len(VARIABLES)


def test_dbt_profile_uses_the_same_defaults():
    profile = (REPO / "dbt_project" / "profiles.yml").read_text()
    assert "env_var('D2B_HOME', env_var('HOME', '.') ~ '/.d2b') ~ '/warehouse.duckdb'" in profile
    memory = next(v for v in VARIABLES if v.name == "D2B_DUCKDB_MEMORY_LIMIT")
    assert f"env_var('D2B_DUCKDB_MEMORY_LIMIT', '{memory.default}')" in profile


def test_help_lists_every_variable_with_its_default_and_meaning(capsys):
    from dagster_project.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert help_text() in out
    for variable in VARIABLES:
        line = next(line for line in out.splitlines() if f" {variable.name} " in line)
        assert f"(default: {variable.default or 'unset'})" in line
        assert variable.meaning.replace("`", "") in line


def test_readme_settings_table_is_the_tree():
    assert markdown_table() in (REPO / "README.md").read_text()


def test_the_billing_backoff_scale_multiplies_every_retry_wait(tmp_path, monkeypatch):
    from dagster_project.defs.billing import BILLING_RETRY_POLICY
    from erp.outbox import Backoff

    assert Settings.from_env({"D2B_HOME": str(tmp_path)}).billing.backoff_scale == 1.0
    for bad in ("x", "-1", "nan"):
        with pytest.raises(ValueError, match=f"^D2B_BILLING_BACKOFF_SCALE must be a .*{bad!r}$"):
            Settings.from_env({"D2B_BILLING_BACKOFF_SCALE": bad})
    # production waits: the send's 2 s doubling, a failed step's 10 s doubling (Dagster)
    monkeypatch.delenv("D2B_BILLING_BACKOFF_SCALE", raising=False)
    assert [Backoff().delay(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert [BILLING_RETRY_POLICY.calculate_delay(n) for n in (1, 2)] == [10.0, 30.0]
    # the scale is read when a step fails, so a test's setting reaches an in-process run
    monkeypatch.setenv("D2B_BILLING_BACKOFF_SCALE", "0.5")
    scale = Settings.from_env().billing.backoff_scale
    assert [Backoff().scaled(scale).delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert Backoff().scaled(scale).max_seconds == 150.0
    assert [BILLING_RETRY_POLICY.calculate_delay(n) for n in (1, 2)] == [5.0, 15.0]

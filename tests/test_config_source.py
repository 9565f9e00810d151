"""The firm's configuration is landed data (ingest/sources/config.py, docs/sources.md "config").

A hand-written configuration (tests/fixtures/config/, the landing layout
``config/<entity>/<entity>_<date>.csv``) loads like any source: a row that cannot be read is
quarantined with its reason; a value outside what the product knows (a line kind, a threshold
name) loads and is a warning of its staging model; in dbt the newest version of a file is in
force, a rule across files (a tax rule for an unknown legal entity) and a missing file are
warnings, never a silent default or a failed build.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dagster_project.dbt import DBT_PROJECT_DIR, dbt_executable
from ingest.loader import LOADED, load_landing
from ingest.sources.config import THRESHOLD_NAMES
from ingest.warehouse import connect

FIXTURE = Path(__file__).parent / "fixtures" / "config"
CONFIG_MODELS = DBT_PROJECT_DIR / "models" / "staging" / "config" / "_config__models.yml"


@pytest.fixture
def landing(tmp_path) -> Path:
    root = tmp_path / "landing"
    shutil.copytree(FIXTURE, root / "config")
    return root


def test_a_hand_written_config_loads_and_bad_rows_are_quarantined_with_their_reason(
    landing, tmp_path
) -> None:
    with connect(tmp_path / "warehouse.duckdb") as con:
        report = load_landing(con, landing)
        assert report.count(LOADED) == 6
        assert report.rows_read == report.rows_loaded + report.rows_rejected
        rejected = con.execute(
            "SELECT source_file, row_number, reason, detail FROM quarantine.rejected_rows "
            "ORDER BY source_file, row_number"
        ).fetchall()
        loaded = {
            entity: con.execute(f"SELECT count(*) FROM raw.config__{entity}").fetchone()[0]
            for entity in (
                "legal_entities",
                "tax_rules",
                "expense_policy",
                "sla_thresholds",
                "system_of_record",
            )
        }
    reasons = {(Path(f).name, row, reason) for f, row, reason, _ in rejected}
    # only a value that cannot be read is a load error: a rate that is not a number. A line
    # kind other than labour or expense and a threshold Deliver-to-Bill does not know load as
    # read and are warnings of their staging (test below), never quarantined.
    assert reasons == {("tax_rules_2025-06-01.csv", 4, "invalid_type")}
    details = " ".join(detail for *_, detail in rejected)
    assert "tax_rate" in details
    # both versions of legal_entities are kept in raw (history); the tax rule for the
    # unknown entity ZZ09 is read, and left to the staging test to report
    assert loaded == {
        "legal_entities": 3,
        "tax_rules": 5,
        "expense_policy": 3,
        "sla_thresholds": 7,
        "system_of_record": 4,
    }


def test_every_threshold_the_source_accepts_has_a_default_and_is_accepted_in_staging() -> None:
    defaults = (DBT_PROJECT_DIR / "macros" / "firm_config.sql").read_text()
    assert set(re.findall(r"'(\w+)': \d+,", defaults)) == set(THRESHOLD_NAMES)
    staging = yaml.safe_load(CONFIG_MODELS.read_text())
    (thresholds,) = [m for m in staging["models"] if m["name"] == "stg_config__sla_thresholds"]
    (name_column,) = [c for c in thresholds["columns"] if c["name"] == "threshold"]
    tests = name_column["data_tests"]
    (accepted,) = [t["accepted_values"] for t in tests if "accepted_values" in t]
    assert set(accepted["arguments"]["values"]) == set(THRESHOLD_NAMES)


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        env={
            "PATH": str(Path(dbt_executable()).parent),
            "HOME": str(project.parent),
            "D2B_WAREHOUSE": str(project.parent / "warehouse.duckdb"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_newest_version_is_in_force_and_config_problems_are_warnings(landing, tmp_path) -> None:
    # a firm that has not landed its thresholds yet
    shutil.rmtree(landing / "config" / "sla_thresholds")
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs")
    )
    with connect(tmp_path / "warehouse.duckdb") as con:
        load_landing(con, landing)
    built = _dbt(
        project,
        "build",
        "--select",
        "path:models/staging/config assert_firm_configuration_is_complete",
        "--exclude-resource-type",
        "unit_test",
        "--indirect-selection",
        "cautious",
    )
    assert built.returncode == 0, built.stdout[-4000:]
    output = " ".join(built.stdout.split())
    assert re.search(r"WARN \d+ assert_firm_configuration_is_complete", output), output[-4000:]
    assert re.search(r"WARN 1 relationships_stg_config__tax_rules_legal_entity", output)
    assert re.search(r"WARN 1 accepted_values_stg_config__tax_rules_line_kind", output), output
    # a routing rule naming a system Deliver-to-Bill does not know is a warning (it routes
    # nothing: billing_batch_candidates reads only legacy and write_back rules)
    assert re.search(r"WARN 1 accepted_values_stg_config__system_of_record_system", output)
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        entities = con.execute(
            "SELECT legal_entity, source_file FROM staging.stg_config__legal_entities "
            "ORDER BY legal_entity"
        ).fetchall()
        missing = con.execute(
            "SELECT config_file, problem FROM ("
            + _compiled(project, "assert_firm_configuration_is_complete")
            + ") ORDER BY ALL"
        ).fetchall()
        routing = con.execute(
            "SELECT legal_entity, domain, system, effective_from::VARCHAR "
            "FROM staging.stg_config__system_of_record ORDER BY ALL"
        ).fetchall()
    # the second version replaced the first
    assert entities == [
        ("AC01", "config/legal_entities/legal_entities_2025-06-01.csv"),
        ("AC02", "config/legal_entities/legal_entities_2025-06-01.csv"),
    ]
    assert ("config/sla_thresholds", "no file landed: the firm has no sla_thresholds") in missing
    assert routing == [
        ("*", "invoices", "oracle", "2025-01-01"),
        ("*", "time", "legacy", "2024-01-01"),
        ("*", "time", "write_back", "2025-07-01"),
        ("AC02", "expenses", "legacy", "2024-01-01"),
    ]
    assert len(missing) == 1 + len(THRESHOLD_NAMES)


def _compiled(project: Path, test_name: str) -> str:
    (path,) = (project / "target" / "compiled").rglob(f"{test_name}.sql")
    return path.read_text()


CALENDARS_AND_FX = Path(__file__).parent / "fixtures" / "config_calendars_fx"


def test_calendars_and_fx_rates_load_and_an_empty_calendar_is_a_version(tmp_path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(CALENDARS_AND_FX, landing / "config")
    with connect(tmp_path / "warehouse.duckdb") as con:
        report = load_landing(con, landing)
        files = con.execute(
            "SELECT source_file, status, rows_read FROM ops.landed_files ORDER BY source_file"
        ).fetchall()
        rejected = con.execute(
            "SELECT source_file, row_number, reason, detail FROM quarantine.rejected_rows "
            "ORDER BY source_file, row_number"
        ).fetchall()
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    # a header-only calendar loads (no non-working dates), where another snapshot is refused
    assert files == [
        ("config/business_calendars/business_calendars_2025-01-01.csv", LOADED, 3),
        ("config/business_calendars/business_calendars_2025-06-01.csv", LOADED, 0),
        ("config/fx_rates/fx_rates_2025-06-01.csv", LOADED, 3),
        ("config/legal_entities/legal_entities_2025-01-01.csv", LOADED, 1),
    ]
    assert [(Path(f).name, row, reason) for f, row, reason, _ in rejected] == [
        ("business_calendars_2025-01-01.csv", 2, "invalid_type"),
        ("fx_rates_2025-06-01.csv", 2, "invalid_type"),
    ]
    assert "non_working_date" in rejected[0][3] and "base_per_unit" in rejected[1][3]


def test_the_calendar_in_force_may_be_empty_and_its_problems_are_warnings(tmp_path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(CALENDARS_AND_FX, landing / "config")
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs")
    )
    with connect(tmp_path / "warehouse.duckdb") as con:
        load_landing(con, landing)
    select = "path:models/staging/config"
    # before the empty version takes effect, the first calendar is in force (ZZ09 is no
    # configured entity: a warning)
    built = _dbt(
        project, "build", "--select", select, "--exclude-resource-type", "unit_test",
        "--indirect-selection", "cautious",
        "--vars", "{as_of_date: '2025-03-01'}",
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-4000:]
    output = " ".join(built.stdout.split())
    assert re.search(r"WARN 1 relationships_stg_config__business_calendars_legal_entity", output)
    assert re.search(r"WARN 1 accepted_values_stg_config__fx_rates_base_currency", output), output
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        early = con.execute(
            "SELECT legal_entity, non_working_date::VARCHAR, non_working_day_name "
            "FROM staging.stg_config__business_calendars ORDER BY ALL"
        ).fetchall()
    assert early == [
        ("AC01", "2025-07-04", "Independence Day"),
        ("ZZ09", "2025-12-25", "Christmas Day"),
    ]
    # from 1 June the header-only version is in force: no non-working dates, not the old ones
    built = _dbt(
        project, "run", "--select", "stg_config__business_calendars",
        "--vars", "{as_of_date: '2025-06-30'}",
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-4000:]
    with connect(tmp_path / "warehouse.duckdb", read_only=True) as con:
        later = con.execute(
            "SELECT count(*) FROM staging.stg_config__business_calendars"
        ).fetchone()
    assert later == (0,)

"""A source module declares its cadence; schedules and the dbt sources' freshness follow it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from dagster_project.cadences import CADENCES, cadence_of, cadences
from ingest.sources import ACTIVITY_ENTITIES, SOURCE_CADENCES, SOURCE_MODULES
from ingest.sources.cadence import EXPENSES_DAILY, PSA_HOURLY, Cadence

DBT_STAGING = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "staging"
_PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}


def _window(after: dict) -> timedelta:
    return timedelta(**{_PERIODS[after["period"]]: after["count"]})


def _raw_source_freshness() -> dict[str, dict | None]:
    """Each dbt source over raw tables: its ``freshness`` config (None when it has none)."""
    declared = {}
    for path in sorted(DBT_STAGING.glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            if source.get("schema") == "raw":
                declared[source["name"]] = (source.get("config") or {}).get("freshness")
    return declared


def test_every_source_module_declares_a_cadence():
    assert set(SOURCE_CADENCES) == {
        entity.schema.system for module in SOURCE_MODULES for entity in module.ENTITIES
    }
    for module in SOURCE_MODULES:
        assert isinstance(module.CADENCE, Cadence), module.__name__


def test_dbt_source_freshness_is_the_declared_cadence():
    """The rule: a raw source's dbt ``freshness`` warns after the cadence's ``warn_after`` and
    errors after its ``fail_after``, the windows of the Dagster freshness policy of the same
    raw tables, so ``dbt source freshness`` and Dagster agree on when data is stale. Every
    source module has such a dbt source; a dbt source with freshness but no source module
    (nothing declares how often it loads) is an error too."""
    freshness = _raw_source_freshness()
    for system, cadence in SOURCE_CADENCES.items():
        assert freshness.get(system), f"dbt source {system} declares no freshness"
        declared = freshness[system]
        assert _window(declared["warn_after"]) == cadence.warn_after, system
        assert _window(declared["error_after"]) == cadence.fail_after, system
    unscheduled = {name for name, f in freshness.items() if f and name not in SOURCE_CADENCES}
    assert not unscheduled


def test_schedules_group_the_systems_of_each_cadence():
    by_name = {cadence.name: cadence for cadence in CADENCES}
    assert by_name["psa_hourly"].systems == ("harvest", "toggl")
    assert cadence_of("concur").name == "expenses_daily"
    assert cadence_of("nowhere") is None
    assert cadence_of("harvest").freshness_policy().fail_window.to_timedelta() == timedelta(
        hours=74
    )


def test_two_rhythms_may_not_share_a_name():
    clash = Cadence("psa_hourly", "0 * * * *", "another", timedelta(hours=1), timedelta(hours=2))
    assert len(cadences({"a": PSA_HOURLY, "b": EXPENSES_DAILY})) == 2
    with pytest.raises(ValueError, match="share a name"):
        cadences({"a": PSA_HOURLY, "b": clash})


def _activity_source_tables() -> set[str]:
    """``system/entity`` of every raw dbt source table marked ``d2b_data: activity``."""
    marked = set()
    for path in sorted(DBT_STAGING.glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source.get("tables") or []:
                meta = (table.get("config") or {}).get("meta") or table.get("meta") or {}
                if source.get("schema") == "raw" and meta.get("d2b_data") == "activity":
                    marked.add(f"{source['name']}/{table['name']}")
    return marked


def test_daily_activity_is_declared_by_the_source_modules_and_is_activity_in_dbt():
    """The folders a new day of the firm's work brings (what ``bench.ladder`` holds back) come
    from the source modules; each is an activity source in dbt (its landing moves the
    incremental watermark). dbt's activity also covers the ERP, which is not daily work."""
    assert ACTIVITY_ENTITIES == ("harvest/time_entries", "toggl/time_entries", "concur/expenses")
    assert set(ACTIVITY_ENTITIES) <= _activity_source_tables()

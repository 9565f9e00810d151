"""All Dagster definitions load, and the graph wires ingest to dbt as designed."""

from __future__ import annotations

import dagster as dg


def test_definitions_load_with_the_expected_graph(dbt_manifest):
    from dagster_project.definitions import ALL_ASSETS_JOB, defs

    definitions = defs()
    keys = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    assert {
        "raw/harvest__time_entries",
        "staging/stg_harvest__time_entries",
        "intermediate/int_time_entries_unioned",
        "marts/fct_time_entries",
        "marts/unbilled_approved_hours",
    } <= keys

    graph = definitions.resolve_asset_graph()
    staging = graph.get(dg.AssetKey(["staging", "stg_harvest__time_entries"]))
    assert dg.AssetKey(["raw", "harvest__time_entries"]) in staging.parent_keys

    specs = {spec.key.to_user_string(): spec for spec in definitions.resolve_all_asset_specs()}
    assert specs["raw/harvest__time_entries"].group_name == "raw_harvest"
    assert specs["marts/unbilled_approved_hours"].group_name == "marts_billing"
    assert specs["staging/stg_harvest__time_entries"].group_name == "staging_harvest"

    checks = {key.to_user_string() for key in graph.asset_check_keys}
    assert "marts/fct_time_entries:unique_fct_time_entries_correlation_id" in checks
    assert "marts/unbilled_approved_hours:unbilled_approved_hours_aging_adds_up" in checks

    job = definitions.resolve_job_def(ALL_ASSETS_JOB)
    assert job.name == ALL_ASSETS_JOB

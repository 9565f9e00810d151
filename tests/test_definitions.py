"""All Dagster definitions load; the graph's shape is pinned by a reviewed snapshot.

When the graph changes on purpose, refresh the snapshot and review its diff:
``D2B_UPDATE_SNAPSHOTS=1 uv run pytest tests/test_definitions.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def describe(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    specs = sorted(definitions.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string())
    return {
        "assets": {
            spec.key.to_user_string(): {
                "group": spec.group_name,
                "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
                "owners": sorted(spec.owners),
                "freshness_fail_hours": _fail_hours(spec.freshness_policy),
            }
            for spec in specs
        },
        "checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "jobs": sorted(
            job.name for job in definitions.resolve_all_job_defs() if not job.name.startswith("__")
        ),
        "schedules": {
            s.name: {"cron": s.cron_schedule, "job": s.job_name, "tz": s.execution_timezone}
            for s in sorted(definitions.schedules, key=lambda s: s.name)
        },
        "sensors": sorted(s.name for s in definitions.sensors),
    }


def _fail_hours(policy) -> float | None:
    return policy.fail_window.to_timedelta().total_seconds() / 3600 if policy else None


def test_definitions_match_the_reviewed_snapshot(dbt_manifest):
    from dagster_project.definitions import defs

    current = describe(defs())
    if os.environ.get("D2B_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_asset_has_a_real_group_and_an_owner(dbt_manifest):
    # An asset Dagster invents for a dependency no definition declares lands in "default"
    # without owners: every table the graph reads must be declared, with its team.
    from dagster_project.definitions import defs

    assets = describe(defs())["assets"]
    assert not [key for key, asset in assets.items() if asset["group"] in (None, "default")]
    assert not [key for key, asset in assets.items() if not asset["owners"]]


def test_billing_job_materializes_only_the_billing_steps(dbt_manifest):
    from dagster_project.definitions import defs
    from dagster_project.defs.billing import BILLING_JOB

    job = defs().resolve_job_def(BILLING_JOB)
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {
        "billing/erp_outbox",
        "billing/erp_send",
        "billing/erp_read_back",
        "billing/erp_reconciliation",
    }


def test_dbt_sources_are_the_ingest_assets(dbt_manifest):
    from dagster_project.definitions import ALL_ASSETS_JOB, defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    staging = graph.get(dg.AssetKey(["staging", "stg_harvest__time_entries"]))
    assert dg.AssetKey(["raw", "harvest__time_entries"]) in staging.parent_keys
    # the raw table is materialized by ingest, not an unexecutable external asset
    assert graph.get(dg.AssetKey(["raw", "harvest__time_entries"])).is_materializable
    assert definitions.resolve_job_def(ALL_ASSETS_JOB).name == ALL_ASSETS_JOB

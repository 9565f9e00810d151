"""What an incremental model rebuilds (d2b/incremental.py), rule by rule, on hand-made manifests.

The manifest is a small project: raw master data and raw activity, a staging model of each,
the billing outbox's staging, and two incremental models: ``fct_entries`` (reads the
activity and master data through macros) and ``fct_billing`` (downstream of it and of the
outbox). ``tests/test_incremental.py`` checks the same rules end to end on a real build.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import duckdb
import pytest

from d2b.incremental import (
    LastBuild,
    Watermarks,
    plan_as_json,
    plan_incremental_builds,
    upstream,
    used_macros,
)
from d2b.incremental_plan import PLAN_VARIABLE, incremental_plan_environment, read_watermarks

VARS = {"as_of_date": None, "reporting_currency": "USD"}
MASTER_LANDED = "2025-06-01 08:00:00"
ACTIVITY_LANDED = "2025-06-29 08:00:00"
NEW_ACTIVITY_LANDED = "2025-06-30 08:00:00"


def _source(name: str, schema: str, meta: dict[str, str] | None = None) -> dict[str, Any]:
    return {"schema": schema, "identifier": name, "meta": {}, "config": {"meta": meta or {}}}


def _node(name: str, parents: list[str], macros: list[str], materialized: str = "view"):
    return {
        "name": name,
        "resource_type": "model",
        "config": {"materialized": materialized},
        "checksum": {"name": "sha256", "checksum": f"code of {name}"},
        "depends_on": {"nodes": parents, "macros": macros},
    }


def _macro(sql: str, calls: list[str] | None = None) -> dict[str, Any]:
    return {"macro_sql": sql, "depends_on": {"macros": calls or []}}


def _manifest() -> dict[str, Any]:
    return {
        "sources": {
            "source.p.raw.projects": _source("projects", "raw"),
            "source.p.raw.time_entries": _source("time_entries", "raw", {"d2b_data": "activity"}),
            "source.p.ops.erp_outbox": _source("erp_outbox", "ops", {"d2b_data": "outbox"}),
        },
        "nodes": {
            # a seed's depends_on has no nodes
            "seed.p.rate_cards": {
                "name": "rate_cards",
                "resource_type": "seed",
                "config": {"materialized": "seed"},
                "checksum": {"name": "sha256", "checksum": "rates"},
                "depends_on": {"macros": []},
            },
            "model.p.stg_projects": _node(
                "stg_projects", ["source.p.raw.projects", "seed.p.rate_cards"], []
            ),
            "model.p.stg_entries": _node(
                "stg_entries", ["source.p.raw.time_entries"], ["macro.p.money"]
            ),
            "model.p.stg_outbox": _node("stg_outbox", ["source.p.ops.erp_outbox"], []),
            "model.p.fct_entries": _node(
                "fct_entries",
                ["model.p.stg_entries", "model.p.stg_projects"],
                ["macro.p.incremental_cutoff"],
                materialized="incremental",
            ),
            "model.p.fct_billing": _node(
                "fct_billing",
                ["model.p.fct_entries", "model.p.stg_outbox"],
                [],
                materialized="incremental",
            ),
            "model.p.unrelated": _node("unrelated", [], ["macro.p.unused"]),
        },
        "macros": {
            "macro.p.money": _macro("round(x, 2)"),
            "macro.p.incremental_cutoff": _macro("cutoff", ["macro.p.surrogate_key"]),
            "macro.p.surrogate_key": _macro("md5(x)"),
            "macro.p.unused": _macro("nothing"),
        },
    }


def _watermarks(
    manifest: dict[str, Any],
    ingested_through: str = ACTIVITY_LANDED,
    master: str = MASTER_LANDED,
    outbox: str = "ops.erp_outbox=3/2025-06-28",
    vars_: dict[str, Any] | None = None,
) -> Watermarks:
    """The watermarks after a build of ``manifest`` that saw ``ingested_through``."""
    built = Watermarks(ACTIVITY_LANDED, master, outbox)
    plans = plan_incremental_builds(manifest, vars_ or VARS, built)
    last = {name: LastBuild(plan.fingerprint, ACTIVITY_LANDED) for name, plan in plans.items()}
    return Watermarks(ingested_through, master, outbox, last)


def _builds(plans) -> dict[str, str]:
    return {name: plan.build for name, plan in plans.items()}


def test_the_upstream_and_the_macros_used_are_followed_through():
    manifest = _manifest()
    assert upstream(manifest, "model.p.fct_entries") == [
        "model.p.fct_entries",
        "model.p.stg_entries",
        "model.p.stg_projects",
        "seed.p.rate_cards",
        "source.p.raw.projects",
        "source.p.raw.time_entries",
    ]
    assert used_macros(manifest, upstream(manifest, "model.p.fct_entries")) == [
        "macro.p.incremental_cutoff",
        "macro.p.money",
        "macro.p.surrogate_key",
    ]


def test_a_model_never_built_builds_in_full():
    manifest = _manifest()
    plans = plan_incremental_builds(manifest, VARS, Watermarks(ACTIVITY_LANDED, MASTER_LANDED))
    assert _builds(plans) == {"fct_entries": "full", "fct_billing": "full"}
    assert plans["fct_entries"].since is None
    assert plans["fct_entries"].ingested_through == ACTIVITY_LANDED


def test_only_activity_landed_builds_incrementally_from_the_last_watermark():
    manifest = _manifest()
    plans = plan_incremental_builds(manifest, VARS, _watermarks(manifest, NEW_ACTIVITY_LANDED))
    assert _builds(plans) == {"fct_entries": "incremental", "fct_billing": "incremental"}
    entries = plans["fct_entries"]
    # the models rebuild what landed after the last build's watermark, and record the new one
    assert (entries.since, entries.ingested_through) == (ACTIVITY_LANDED, NEW_ACTIVITY_LANDED)
    assert entries.has_new_activity


def test_nothing_new_is_incremental_with_nothing_to_do():
    manifest = _manifest()
    plans = plan_incremental_builds(manifest, VARS, _watermarks(manifest))
    assert _builds(plans) == {"fct_entries": "incremental", "fct_billing": "incremental"}
    assert not plans["fct_entries"].has_new_activity
    assert plans["fct_entries"].since == plans["fct_entries"].ingested_through == ACTIVITY_LANDED


def test_a_changed_var_builds_in_full():
    manifest = _manifest()
    watermarks = _watermarks(manifest, NEW_ACTIVITY_LANDED)
    plans = plan_incremental_builds(manifest, {**VARS, "as_of_date": "2025-05-31"}, watermarks)
    assert _builds(plans) == {"fct_entries": "full", "fct_billing": "full"}


def test_landed_master_data_builds_in_full():
    manifest = _manifest()
    watermarks = _watermarks(manifest, NEW_ACTIVITY_LANDED)
    landed = Watermarks(
        NEW_ACTIVITY_LANDED, NEW_ACTIVITY_LANDED, watermarks.outbox_state, watermarks.last_builds
    )
    assert _builds(plan_incremental_builds(manifest, VARS, landed)) == {
        "fct_entries": "full",
        "fct_billing": "full",
    }


def test_changed_upstream_code_builds_in_full_what_is_downstream_of_it():
    manifest = _manifest()
    watermarks = _watermarks(manifest, NEW_ACTIVITY_LANDED)
    changed = copy.deepcopy(manifest)
    changed["nodes"]["seed.p.rate_cards"]["checksum"]["checksum"] = "new rates"
    assert _builds(plan_incremental_builds(changed, VARS, watermarks)) == {
        "fct_entries": "full",
        "fct_billing": "full",
    }
    # code that is not upstream of a model leaves it incremental
    changed = copy.deepcopy(manifest)
    changed["nodes"]["model.p.stg_outbox"]["checksum"]["checksum"] = "new code"
    assert _builds(plan_incremental_builds(changed, VARS, watermarks)) == {
        "fct_entries": "incremental",
        "fct_billing": "full",
    }


@pytest.mark.parametrize(
    "macro", ["macro.p.money", "macro.p.incremental_cutoff", "macro.p.surrogate_key"]
)
def test_a_changed_macro_a_model_uses_builds_in_full(macro):
    """Used by the model itself, by a model upstream, or by a macro it uses."""
    manifest = _manifest()
    watermarks = _watermarks(manifest, NEW_ACTIVITY_LANDED)
    changed = copy.deepcopy(manifest)
    changed["macros"][macro]["macro_sql"] += " -- changed"
    assert _builds(plan_incremental_builds(changed, VARS, watermarks)) == {
        "fct_entries": "full",
        "fct_billing": "full",
    }


def test_a_changed_macro_no_model_uses_builds_incrementally():
    manifest = _manifest()
    watermarks = _watermarks(manifest, NEW_ACTIVITY_LANDED)
    changed = copy.deepcopy(manifest)
    changed["macros"]["macro.p.unused"]["macro_sql"] = "something else"
    assert _builds(plan_incremental_builds(changed, VARS, watermarks)) == {
        "fct_entries": "incremental",
        "fct_billing": "incremental",
    }


def test_a_changed_outbox_builds_in_full_only_the_models_downstream_of_it():
    manifest = _manifest()
    watermarks = _watermarks(manifest, NEW_ACTIVITY_LANDED)
    billed = Watermarks(
        NEW_ACTIVITY_LANDED, MASTER_LANDED, "ops.erp_outbox=4/2025-06-30", watermarks.last_builds
    )
    assert _builds(plan_incremental_builds(manifest, VARS, billed)) == {
        "fct_entries": "incremental",
        "fct_billing": "full",
    }


def test_a_last_build_that_saw_no_data_builds_in_full():
    manifest = _manifest()
    watermarks = _watermarks(manifest, NEW_ACTIVITY_LANDED)
    last = {name: LastBuild(b.fingerprint, None) for name, b in watermarks.last_builds.items()}
    empty_before = Watermarks(NEW_ACTIVITY_LANDED, MASTER_LANDED, watermarks.outbox_state, last)
    assert set(_builds(plan_incremental_builds(manifest, VARS, empty_before)).values()) == {"full"}


def test_the_plan_is_read_from_the_warehouse_and_handed_over_as_json(tmp_path):
    """Watermarks from raw tables by kind, the outbox's state and each model's last build."""
    manifest = _manifest()
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw; create schema ops")
        con.execute(
            f"create table raw.projects as select timestamp '{MASTER_LANDED}' as _ingested_at"
        )
        con.execute(
            "create table raw.time_entries as "
            f"select timestamp '{NEW_ACTIVITY_LANDED}' as _ingested_at"
        )
        con.execute("create table ops.erp_outbox as select 1 as batch, now() as updated_at")
        watermarks = read_watermarks(con, manifest)
        assert watermarks.ingested_through == NEW_ACTIVITY_LANDED
        assert watermarks.master_ingested_through == MASTER_LANDED
        assert watermarks.outbox_state.startswith("ops.erp_outbox=1/")
        assert watermarks.last_builds == {}
        con.execute(
            "create table ops.dbt_incremental_state (model_name varchar, fingerprint varchar, "
            "build_kind varchar, ingested_through timestamp, built_at timestamp)"
        )
        con.execute(
            "insert into ops.dbt_incremental_state values "
            f"('fct_entries', 'old', 'full', timestamp '{MASTER_LANDED}', now() - interval 1 day),"
            f"('fct_entries', 'new', 'full', timestamp '{ACTIVITY_LANDED}', now())"
        )
        assert read_watermarks(con, manifest).last_builds == {
            "fct_entries": LastBuild("new", ACTIVITY_LANDED)
        }

    environment = incremental_plan_environment(warehouse, manifest, {"as_of_date": "2025-06-30"})
    plan = json.loads(environment[PLAN_VARIABLE])
    assert set(plan) == {"fct_entries", "fct_billing"}
    assert plan["fct_entries"]["build"] == "full"  # the recorded fingerprint is not this one
    assert plan["fct_entries"]["ingested_through"] == NEW_ACTIVITY_LANDED
    assert json.loads(plan_as_json({})) == {}

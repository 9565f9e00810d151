"""The incremental plan handed to ``dbt build``: watermarks read from the warehouse.

Every code path that runs ``dbt build`` for the pipeline (the Dagster dbt asset, ``d2b bench``
and the tests that replay it, through ``python -m d2b.incremental_plan build ...``) computes
the plan right before the build with :func:`incremental_plan_environment` and passes it in the
environment variable :data:`PLAN_VARIABLE`; ``dbt_project/macros/incremental.sql`` reads it.
A ``dbt build`` run without it (by hand) builds every incremental model in full: slower, never
wrong.

The plan travels in the environment rather than in ``--vars``: dbt re-parses the whole
project when the vars change, and the plan changes every run (DECISIONLOG "Incremental
decisions are made in Python").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import yaml

from d2b.incremental import (
    LastBuild,
    Watermarks,
    outbox_sources,
    plan_as_json,
    plan_incremental_builds,
    raw_sources,
)

#: The environment variable dbt's incremental macros read the plan from.
PLAN_VARIABLE = "DBT_INCREMENTAL_PLAN"
#: What describes each outbox table's state (a change rebuilds its readers in full): the
#: records frozen into batches, and each batch's status (every change of a batch stamps its
#: updated_at: a batch that goes to dead_letter changes no correlation). Other outbox tables
#: count their rows.
OUTBOX_STATE = {
    "ops.erp_outbox_correlations": "count(*), max(batch_key), min(batch_key)",
    "ops.erp_outbox": "count(*), max(updated_at)",
}
DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


def project_vars(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, Any]:
    """The vars ``dbt_project.yml`` declares, with their defaults."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    return dict(project.get("vars") or {})


def effective_vars(cli_vars: Mapping[str, Any] | None) -> dict[str, Any]:
    """The vars a build sees: the project's defaults overlaid with the invocation's."""
    return {**project_vars(), **(cli_vars or {})}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def read_watermarks(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> Watermarks:
    """The watermarks of the warehouse behind ``con`` for the sources of ``manifest``."""
    existing = {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables()"
        ).fetchall()
    }

    def ingested_through(tables: Sequence[str]) -> str | None:
        present = [table for table in tables if table in existing]
        if not present:
            return None
        union = " union all ".join(f"select max(_ingested_at) as latest from {t}" for t in present)
        return _text(con.execute(f"select max(latest) from ({union})").fetchone()[0])

    def state_of(table: str) -> str:
        query = f"select {OUTBOX_STATE.get(table, 'count(*)')} from {table}"
        return "/".join(str(value) for value in con.execute(query).fetchone())

    raw = raw_sources(manifest)
    outbox_state = "|".join(
        f"{table}={state_of(table)}" for table in outbox_sources(manifest) if table in existing
    )
    last_builds = {}
    if "ops.dbt_incremental_state" in existing:
        rows = con.execute(
            "select model_name, fingerprint, ingested_through from ops.dbt_incremental_state "
            "qualify row_number() over (partition by model_name order by built_at desc) = 1"
        ).fetchall()
        last_builds = {name: LastBuild(fp, _text(through)) for name, fp, through in rows}
    return Watermarks(
        ingested_through=ingested_through(raw["master"] + raw["activity"]),
        master_ingested_through=ingested_through(raw["master"]),
        outbox_state=outbox_state,
        last_builds=last_builds,
    )


def incremental_plan_environment(
    warehouse: Path, manifest: Mapping[str, Any], cli_vars: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The environment entry that hands ``dbt build`` on ``warehouse`` its incremental plan.

    ``manifest``: dbt's manifest (``manifest.json``) of the project as it will build;
    ``cli_vars``: the ``--vars`` of the build. A warehouse that does not exist yet gets an
    empty plan entry per model: every incremental model builds in full.
    """
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            watermarks = read_watermarks(con, manifest)
    else:
        watermarks = Watermarks(ingested_through=None, master_ingested_through=None)
    plans = plan_incremental_builds(manifest, effective_vars(cli_vars), watermarks)
    return {PLAN_VARIABLE: plan_as_json(plans)}


def _option(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name value`` in dbt's arguments, if given."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(name)
    known, _ = parser.parse_known_args(args)
    return getattr(known, name.lstrip("-").replace("-", "_"))


def build(dbt_args: Sequence[str], warehouse: Path) -> bool:
    """``dbt <dbt_args>`` (a build) with its incremental plan; True when it succeeded.

    dbt parses the project once: the parsed manifest gives the plan, then runs the build.
    """
    from dbt.cli.main import dbtRunner

    parse_args = ["parse"]
    for option in ("--project-dir", "--profiles-dir", "--target-path", "--vars"):
        value = _option(dbt_args, option)
        if value is not None:
            parse_args += [option, value]
    parsed = dbtRunner().invoke([*parse_args, "--quiet"])
    if not parsed.success:
        return False
    target = Path(_option(dbt_args, "--target-path") or DBT_PROJECT_DIR / "target")
    manifest = json.loads((target / "manifest.json").read_text())
    cli_vars = yaml.safe_load(_option(dbt_args, "--vars") or "{}")
    os.environ.update(incremental_plan_environment(warehouse, manifest, cli_vars))
    return dbtRunner(manifest=parsed.result).invoke(list(dbt_args)).success


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m d2b.incremental_plan build <dbt args>``: dbt build with its plan.

    The warehouse is the settings' (``D2B_WAREHOUSE``), the one dbt's profile reads.
    """
    from d2b.settings import Settings

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "build":
        sys.exit("usage: python -m d2b.incremental_plan build [dbt build arguments]")
    return 0 if build(args, Settings.from_env().warehouse) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Publish: the read-only serving snapshot dashboards and analysts read (docs/design.md §7)."""

import dagster as dg

from dagster_project.defs.dbt_models import DBT_ASSETS
from dagster_project.resources import WAREHOUSE_POOL, D2BSettingsResource
from dashboards.access import load_policy
from ingest.warehouse import connect
from serving.scoped import analyst_scopes
from serving.snapshot import DEFAULT_KEEP, publish

#: dbt places every mart in schema "marts": the first part of its asset key.
MART_KEYS = [key for assets in DBT_ASSETS for key in assets.keys if key.path[0] == "marts"]


class PublishConfig(dg.Config):
    """Run configuration of the publish asset."""

    keep: int = DEFAULT_KEEP
    """How many snapshot versions to keep."""


@dg.asset(
    key=["serving", "snapshot"],
    deps=MART_KEYS,
    group_name="serving",
    owners=["team:data_platform"],
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description=(
        "Versioned read-only copy of the marts (and pipeline bookkeeping) with an atomic "
        "pointer swap; dashboards read it, never the warehouse file."
    ),
)
def serving_snapshot(
    context: dg.AssetExecutionContext, d2b: D2BSettingsResource, config: PublishConfig
) -> dg.MaterializeResult:
    """Publish a new snapshot after the marts built and their tests passed.

    Each analyst grant of the access file also gets the snapshot of its scope (docs/access.md).
    """
    settings = d2b.settings()
    settings.dbt.require_duckdb_marts("the serving snapshot")
    scopes = analyst_scopes(load_policy(settings.dashboard.access_file))
    with connect(settings.warehouse) as con:
        snapshot = publish(con, settings.serving, keep=config.keep, analyst_scopes=scopes)
    context.log.info("published serving snapshot %s", snapshot.version)
    return dg.MaterializeResult(
        metadata={
            "version": snapshot.version,
            "path": str(snapshot.path),
            "tables": len(snapshot.tables),
            "dagster/row_count": sum(snapshot.tables.values()),
        }
    )


defs = dg.Definitions(assets=[serving_snapshot])

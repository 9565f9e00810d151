"""Ingest assets: one per source system, each materializing that system's raw tables."""

from collections import defaultdict

import dagster as dg

from dagster_project.resources import WAREHOUSE_POOL, D2BSettingsResource
from dagster_project.translator import raw_asset_key
from ingest.loader import load_landing
from ingest.sources import SOURCE_ENTITIES, SourceEntity
from ingest.warehouse import connect

#: Transient IO errors (a file still being copied, a busy disk) are retried with backoff.
INGEST_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def build_ingest_assets(system: str, entities: list[SourceEntity]) -> dg.AssetsDefinition:
    """Build the multi-asset that loads ``<landing>/<system>/`` into ``raw``."""
    specs = [
        dg.AssetSpec(
            key=raw_asset_key(entity.schema),
            group_name=f"raw_{system}",
            kinds={"duckdb", "python"},
            description=entity.schema.description,
            metadata={"landing_folder": f"{system}/{entity.schema.entity}"},
        )
        for entity in entities
    ]

    @dg.multi_asset(
        name=f"ingest_{system}",
        specs=specs,
        pool=WAREHOUSE_POOL,
        retry_policy=INGEST_RETRY_POLICY,
        can_subset=False,
    )
    def _ingest(context: dg.AssetExecutionContext, d2b: D2BSettingsResource):
        settings = d2b.settings()
        context.log.info("loading %s files from %s", system, settings.landing / system)
        with connect(settings.warehouse) as con:
            report = load_landing(con, settings.landing, system=system)
            for entity in entities:
                outcomes = [o for o in report.files if o.entity == entity.schema.entity]
                (total_rows,) = (
                    con.execute(f'SELECT count(*) FROM raw."{entity.schema.raw_table}"').fetchone()
                    if _table_exists(con, entity.schema.raw_table)
                    else (0,)
                )
                yield dg.MaterializeResult(
                    asset_key=raw_asset_key(entity.schema),
                    metadata={
                        "files_loaded": sum(o.status == "loaded" for o in outcomes),
                        "files_rejected": sum(o.status == "rejected" for o in outcomes),
                        "files_duplicate": sum(o.status == "duplicate" for o in outcomes),
                        "files_unchanged": sum(o.status == "unchanged" for o in outcomes),
                        "rows_read": sum(o.rows_read for o in outcomes),
                        "rows_loaded": sum(o.rows_loaded for o in outcomes),
                        "rows_rejected": sum(o.rows_rejected for o in outcomes),
                        "dagster/row_count": total_rows,
                    },
                )

    return _ingest


def _table_exists(con, table: str) -> bool:
    return (
        con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'raw' AND table_name = ?",
            [table],
        ).fetchone()[0]
        > 0
    )


def ingest_assets() -> list[dg.AssetsDefinition]:
    """One ingest multi-asset per source system with a registered parser."""
    by_system: dict[str, list[SourceEntity]] = defaultdict(list)
    for (system, _), entity in sorted(SOURCE_ENTITIES.items()):
        by_system[system].append(entity)
    return [build_ingest_assets(system, entities) for system, entities in by_system.items()]


defs = dg.Definitions(assets=ingest_assets())

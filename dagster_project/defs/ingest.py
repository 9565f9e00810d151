"""Ingest assets: one per source system, each materializing that system's raw tables.

Each raw table carries two checks (non-blocking warnings): a volume anomaly check (the
latest load day against the trailing median) and a schema check (fields the source sends
that the declared schema does not know, or declared columns missing from the table).
"""

from collections import defaultdict
from collections.abc import Callable

import dagster as dg

from dagster_project.cadences import cadence_of
from dagster_project.resources import WAREHOUSE_POOL, D2BSettingsResource
from dagster_project.translator import raw_asset_key
from ingest.health import schema_check, volume_check
from ingest.loader import FileOutcome, load_landing
from ingest.sources import SOURCE_ENTITIES, SourceEntity
from ingest.warehouse import connect, table_exists

#: Transient IO errors (a file still being copied, a busy disk) are retried with backoff.
INGEST_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)

VOLUME_CHECK = "volume_anomaly"
SCHEMA_CHECK = "schema_drift"


def build_ingest_assets(system: str, entities: list[SourceEntity]) -> dg.AssetsDefinition:
    """Build the multi-asset that loads ``<landing>/<system>/`` into ``raw``."""
    cadence = cadence_of(system)
    specs = [
        dg.AssetSpec(
            key=raw_asset_key(entity.schema),
            group_name=f"raw_{system}",
            kinds={"duckdb", "python"},
            description=entity.schema.description,
            metadata={"landing_folder": f"{system}/{entity.schema.entity}"},
            owners=["team:data_platform"],
            freshness_policy=cadence.freshness_policy() if cadence else None,
        )
        for entity in entities
    ]
    check_specs = [
        dg.AssetCheckSpec(
            name,
            asset=raw_asset_key(entity.schema),
            description=text,
        )
        for entity in entities
        for name, text in (
            (VOLUME_CHECK, "Rows of the latest load day within 0.5x-2x the trailing median."),
            (SCHEMA_CHECK, "No undeclared source fields; every declared column present."),
        )
    ]

    @dg.multi_asset(
        name=f"ingest_{system}",
        specs=specs,
        check_specs=check_specs,
        pool=WAREHOUSE_POOL,
        retry_policy=INGEST_RETRY_POLICY,
        can_subset=False,
    )
    def _ingest(context: dg.AssetExecutionContext, d2b: D2BSettingsResource):
        settings = d2b.settings()
        context.log.info("loading %s files from %s", system, settings.landing / system)
        with connect(settings.warehouse) as con:
            report = load_landing(
                con, settings.landing, system=system, on_file=_progress_logger(context)
            )
            for entity in entities:
                key = raw_asset_key(entity.schema)
                outcomes = [o for o in report.files if o.entity == entity.schema.entity]
                yield dg.MaterializeResult(
                    asset_key=key,
                    metadata={
                        "files_loaded": sum(o.status == "loaded" for o in outcomes),
                        "files_rejected": sum(o.status == "rejected" for o in outcomes),
                        "files_duplicate": sum(o.status == "duplicate" for o in outcomes),
                        "files_unchanged": sum(o.status == "unchanged" for o in outcomes),
                        "rows_read": sum(o.rows_read for o in outcomes),
                        "rows_loaded": sum(o.rows_loaded for o in outcomes),
                        "rows_rejected": sum(o.rows_rejected for o in outcomes),
                        "dagster/row_count": _row_count(con, entity.schema.raw_table),
                    },
                )
                volume = volume_check(con, system, entity.schema.entity)
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name=VOLUME_CHECK,
                    passed=volume.passed,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "latest_day": volume.latest_day or "",
                        "latest_rows": volume.latest_rows,
                        "trailing_median": volume.trailing_median or 0.0,
                        "history_days": volume.history_days,
                    },
                )
                drift = schema_check(con, entity.schema)
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name=SCHEMA_CHECK,
                    passed=drift.passed,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "undeclared_fields": dg.MetadataValue.json(drift.undeclared_fields),
                        "missing_columns": dg.MetadataValue.json(drift.missing_columns),
                    },
                )

    return _ingest


def _progress_logger(context: dg.AssetExecutionContext) -> Callable[[FileOutcome], None]:
    """Log every rejected file, and a progress line every 100 files."""
    done = 0

    def log(outcome: FileOutcome) -> None:
        nonlocal done
        done += 1
        if outcome.status == "rejected":
            context.log.warning(
                "rejected %s: %s (%s)", outcome.relative_path, outcome.reason, outcome.detail
            )
        if done % 100 == 0:
            context.log.info("%d files processed, latest %s", done, outcome.relative_path)

    return log


def _row_count(con, table: str) -> int:
    if not table_exists(con, f"raw.{table}"):
        return 0
    return con.execute(f'SELECT count(*) FROM raw."{table}"').fetchone()[0]


def ingest_assets() -> list[dg.AssetsDefinition]:
    """One ingest multi-asset per source system with a registered parser."""
    by_system: dict[str, list[SourceEntity]] = defaultdict(list)
    for (system, _), entity in sorted(SOURCE_ENTITIES.items()):
        by_system[system].append(entity)
    return [build_ingest_assets(system, entities) for system, entities in by_system.items()]


defs = dg.Definitions(assets=ingest_assets())

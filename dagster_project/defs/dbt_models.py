"""dbt models, seeds and snapshots as Dagster assets; dbt tests as asset checks."""

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from d2b.incremental_plan import incremental_plan_environment
from dagster_project.dbt import dbt_project, dbt_resource, prepare_manifest
from dagster_project.resources import WAREHOUSE_POOL, D2BSettingsResource
from dagster_project.translator import D2BDbtTranslator, written_elsewhere_specs
from ingest.postgres_sink import copy_sources_to_postgres
from ingest.spark_sink import export_sources_to_spark


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt build."""

    as_of_date: str | None = None
    """Build the marts as of this date (YYYY-MM-DD); empty means today (docs/design.md §4)."""


def dbt_build_vars(config: DbtBuildConfig) -> dict[str, str]:
    """The ``--vars`` of the dbt build for ``config``."""
    return {"as_of_date": config.as_of_date} if config.as_of_date else {}


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The ``dbt build`` arguments for ``config``."""
    build_vars = dbt_build_vars(config)
    return ["build", *(["--vars", json.dumps(build_vars)] if build_vars else [])]


@contextmanager
def exported_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set ``variables`` in ``os.environ`` for the duration of the block, then restore."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# The assets below are read from the manifest when this module is imported (a test or the
# billing definitions may import it before `defs()` runs): parse it first if missing or stale.
prepare_manifest()


#: The pipeline-health marts and the staging they read: built from the pipeline history
#: (dagster_project/defs/observability.py), which is taken after the rest of the dbt build and
#: its tests, so they show this run's check results. Their own step, after the history.
PIPELINE_HEALTH_SELECTION = " ".join(
    f"source:ops.{table}+"
    for table in ("dagster_runs", "dagster_asset_status", "dagster_check_status")
)


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    d2b: D2BSettingsResource,
    config: DbtBuildConfig,
) -> Iterator:
    """``dbt build`` of the step's models and their tests against the warehouse file."""
    settings = d2b.settings()
    if settings.dbt.engine == "postgres":
        # dbt builds on PostgreSQL from a copy of the warehouse's source tables, and in full
        # (--full-refresh): the incremental plan reads the DuckDB warehouse's build log, and
        # dbt-postgres sees a contracted table's varchar columns as changed from the build's
        # text ones, so an incremental run would stop (docs/scale.md).
        context.log.info("dbt engine: postgres (%s)", settings.dbt.postgres_host)
        copied = copy_sources_to_postgres(settings.warehouse, settings.dbt.postgres_connection())
        context.log.info("copied %d source tables to PostgreSQL", len(copied))
        plan: dict[str, str] = {}
        args = [*dbt_build_args(config), "--full-refresh"]
    elif settings.dbt.engine == "spark":
        # dbt builds on the Spark Thrift server from a Parquet lake of the warehouse's source
        # tables, in full: Parquet tables have no delete for the incremental hooks
        # (docs/scale.md).
        context.log.info("dbt engine: spark (%s)", settings.dbt.spark_host)
        copied = export_sources_to_spark(
            settings.warehouse,
            settings.dbt.lake,
            settings.dbt.spark_host,
            int(settings.dbt.spark_port),
        )
        context.log.info("exported %d source tables to the lake %s", len(copied), settings.dbt.lake)
        plan = {}
        args = [*dbt_build_args(config), "--full-refresh"]
    else:
        context.log.info("dbt warehouse: %s", settings.warehouse)
        # What each incremental model rebuilds, decided from the manifest and the warehouse's
        # watermarks right before the build (d2b/incremental.py).
        manifest = json.loads(dbt_project.manifest_path.read_text())
        plan = incremental_plan_environment(settings.warehouse, manifest, dbt_build_vars(config))
        args = dbt_build_args(config)
    # dbt reads the warehouse path from the environment (profiles.yml) and the plan
    # (macros/incremental.sql); hand them over for the moment the subprocess starts.
    with exported_environment({**settings.environment(), **plan}):
        invocation = dbt.cli(args, context=context)
    yield from invocation.stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=D2BDbtTranslator(),
    exclude=PIPELINE_HEALTH_SELECTION,
    pool=WAREHOUSE_POOL,
)
def d2b_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    d2b: D2BSettingsResource,
    config: DbtBuildConfig,
):
    """Build the selected dbt models and run their tests against the warehouse file."""
    yield from _build(context, dbt, d2b, config)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=D2BDbtTranslator(),
    select=PIPELINE_HEALTH_SELECTION,
    pool=WAREHOUSE_POOL,
)
def d2b_pipeline_health_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    d2b: D2BSettingsResource,
    config: DbtBuildConfig,
):
    """Build the pipeline-health marts (after the pipeline history) and run their tests."""
    yield from _build(context, dbt, d2b, config)


#: Every dbt asset definition, in build order.
DBT_ASSETS = (d2b_dbt_models, d2b_pipeline_health_models)


def source_tables_written_elsewhere(defined: Iterable[dg.AssetKey]) -> list[dg.AssetSpec]:
    """Assets for the dbt sources that none of the ``defined`` assets materializes."""
    manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([d2b_dbt_models])
    return written_elsewhere_specs(translator, manifest, defined)


def as_of_run_config(as_of: date | str | None) -> dg.RunConfig:
    """Run configuration that builds the marts as of ``as_of`` (None: as of today)."""
    as_of_date = as_of.isoformat() if isinstance(as_of, date) else as_of
    return dg.RunConfig(
        ops={assets.op.name: DbtBuildConfig(as_of_date=as_of_date) for assets in DBT_ASSETS}
    )


defs = dg.Definitions(assets=list(DBT_ASSETS), resources={"dbt": dbt_resource()})

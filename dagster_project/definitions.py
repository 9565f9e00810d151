"""Deliver-to-Bill's Dagster definitions: this module only composes the domains."""

from __future__ import annotations

import dagster as dg

from dagster_project.dbt import dbt_project, prepare_manifest
from dagster_project.defs.automation import AlertResource
from dagster_project.resources import D2BSettingsResource

#: Materializes every asset: ingest, then the dbt graph (with its tests as checks).
ALL_ASSETS_JOB = "deliver_to_bill"


@dg.definitions
def defs() -> dg.Definitions:
    """Load the definitions, preparing dbt's manifest first when needed."""
    dbt_project.prepare_if_dev()  # re-parses on each reload under `dagster dev`
    prepare_manifest()  # elsewhere: parse when the manifest is missing or stale

    from dagster_project.defs import (
        automation,
        billing,
        dbt_models,
        ingest,
        observability,
        serving,
    )

    domains = dg.Definitions.merge(
        ingest.defs,
        dbt_models.defs,
        serving.defs,
        billing.defs,
        dg.Definitions(resources={"d2b": D2BSettingsResource(), "alerts": AlertResource()}),
    )
    # Tables the models read that no step outputs (ingest's and the billing run's
    # bookkeeping): assets of their own, grouped and owned as their dbt sources say.
    written = [key for assets in domains.assets for key in assets.keys]
    domains = dg.Definitions.merge(
        domains,
        dg.Definitions(
            assets=dbt_models.source_tables_written_elsewhere(
                [*written, *observability.HISTORY_DDL]
            )
        ),
    )
    # The history asset records every other asset and check, so it is built from them. It
    # runs after everything it records (ingest, and dbt's build and tests up to the health
    # marts), so the health marts, built from it later in the same run, show this run's
    # check results; Dagster runs dbt's assets in two steps around it.
    specs = list(domains.resolve_all_asset_specs())
    recorded = observability.recorded_before_history(
        specs, skip=set(billing.BILLING_SELECTION.resolve(domains.resolve_asset_graph()))
    )
    history = observability.build_history_asset(
        catalog=observability.catalog_of(specs),
        check_keys=[
            key
            for key in domains.resolve_asset_graph().asset_check_keys
            if key.asset_key in recorded
        ],
        after=sorted(recorded, key=lambda key: key.to_user_string()),
    )
    return dg.Definitions.merge(
        domains,
        automation.defs,
        dg.Definitions(
            assets=[history],
            jobs=[
                dg.define_asset_job(
                    ALL_ASSETS_JOB,
                    # The billing run is partitioned by period and has its own job.
                    selection=dg.AssetSelection.all() - billing.BILLING_SELECTION,
                    description="Load the landing zone, build every model, publish.",
                )
            ],
        ),
    )

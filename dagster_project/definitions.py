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
    prepare_manifest()  # elsewhere: parse once if no manifest exists yet

    from dagster_project.defs import automation, dbt_models, ingest, serving

    return dg.Definitions.merge(
        ingest.defs,
        dbt_models.defs,
        serving.defs,
        automation.defs,
        dg.Definitions(
            jobs=[
                dg.define_asset_job(
                    ALL_ASSETS_JOB,
                    selection=dg.AssetSelection.all(),
                    description="Load the landing zone and build every model.",
                )
            ],
            resources={
                "d2b": D2BSettingsResource(),
                "alerts": AlertResource(),
            },
        ),
    )

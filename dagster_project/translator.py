"""How dbt nodes become Dagster assets: driven by dbt's own metadata, never by model names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from ingest.schema import SourceSchema


def raw_asset_key(schema: SourceSchema) -> dg.AssetKey:
    """Asset key of the raw table that ingest writes for ``schema``."""
    return dg.AssetKey(["raw", schema.raw_table])


class D2BDbtTranslator(DagsterDbtTranslator):
    """Sources map onto the ingest assets; models group by their folder (layer and domain).

    * ``meta.dagster.asset_key`` on a node sets its key;
    * a source table is the ``raw`` table ingest writes: key ``["raw", <identifier>]``;
    * a model's group is its folder path, e.g. ``staging_harvest``, ``marts_billing``,
      unless ``meta.dagster.group`` says otherwise;
    * owners come from ``meta.owner`` (an email, or a team name shown as ``team:<name>``);
    * ``meta.freshness: {warn_after_hours: W, fail_after_hours: F}`` sets a freshness policy.
    """

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        """The spec dbt gives, plus a freshness policy when the node's meta declares one."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        freshness = self.get_resource_props(manifest, unique_id).get("meta", {}).get("freshness")
        if not freshness:
            return spec
        warn = freshness.get("warn_after_hours")
        return spec.replace_attributes(
            freshness_policy=dg.FreshnessPolicy.time_window(
                fail_window=timedelta(hours=freshness["fail_after_hours"]),
                warn_window=timedelta(hours=warn) if warn else None,
            )
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """``meta.dagster.asset_key`` when set, raw tables for sources, else dbt's default."""
        configured = dbt_resource_props.get("meta", {}).get("dagster", {}).get("asset_key")
        if configured:
            return dg.AssetKey(configured)
        if dbt_resource_props["resource_type"] == "source":
            identifier = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return dg.AssetKey([dbt_resource_props["schema"], identifier])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The model's folder below ``models/``, joined with underscores."""
        configured = dbt_resource_props.get("meta", {}).get("dagster", {}).get("group")
        if configured:
            return configured
        fqn = dbt_resource_props.get("fqn", [])
        folders = fqn[1:-1]
        return "_".join(folders) if folders else None

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        """Owners from ``meta.owner`` (string or list)."""
        owner = dbt_resource_props.get("meta", {}).get("owner")
        if not owner:
            return None
        owners = [owner] if isinstance(owner, str) else list(owner)
        return [o if "@" in o or o.startswith("team:") else f"team:{o}" for o in owners]


def written_elsewhere_specs(
    translator: DagsterDbtTranslator,
    manifest: Mapping[str, Any],
    defined: Iterable[dg.AssetKey],
) -> list[dg.AssetSpec]:
    """Assets for the dbt sources no asset of the graph materializes, from their dbt meta.

    Tables written as a side effect of a step (ingest's ``ops.landed_files`` and quarantine,
    the billing run's outbox, audit log and ERP read-back) are read by models but are no
    step's output: declaring them here gives them their group (``meta.dagster.group``), owner
    (``meta.owner``) and description, where Dagster would otherwise invent an ownerless
    placeholder in group ``default``.
    """
    defined = set(defined)
    specs: dict[dg.AssetKey, dg.AssetSpec] = {}
    for props in manifest["sources"].values():
        key = translator.get_asset_key(props)
        if key in defined or key in specs:
            continue
        specs[key] = dg.AssetSpec(
            key,
            group_name=translator.get_group_name(props),
            owners=translator.get_owners(props),
            description=translator.get_description(props),
            kinds={"duckdb"},
        )
    return list(specs.values())

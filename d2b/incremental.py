"""What each incremental dbt model rebuilds: a pure decision from the manifest and watermarks.

An incremental model (``materialized: incremental``) rebuilds only the rows that activity
landed since its last build can change (the row predicates stay in the model's SQL:
``dbt_project/macros/incremental.sql``). Everything else its rows depend on is summed up in a
fingerprint; when the fingerprint differs from the one its last build recorded, the model
builds in full. The fingerprint covers:

- every var (the project's defaults overlaid with the invocation's ``--vars``);
- the code of the model and of every node upstream of it (models, seeds, snapshots: dbt's
  checksums), and of every macro they use, followed through the macros those call;
- the master data: the latest ``_ingested_at`` of the raw tables that are not activity
  (a raw source is activity when its meta says ``d2b_data: activity``);
- for a model downstream of a source with ``d2b_data: outbox`` (the billing outbox), the
  outbox's state: a billing run freezes records and moves batch statuses.

This module only decides; :mod:`d2b.incremental_plan` reads the watermarks from the warehouse
and hands the plan to ``dbt build``. Nothing here touches a database, so each rule is tested
on hand-made manifests (``tests/test_incremental_plan.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: ``meta.d2b_data`` of the raw sources whose landed rows are activity (the rest is master data).
ACTIVITY = "activity"
#: ``meta.d2b_data`` of the sources whose state rebuilds their downstream models in full.
OUTBOX = "outbox"
#: The schema of the landed (raw) tables.
RAW_SCHEMA = "raw"

BuildKind = Literal["full", "incremental"]


@dataclass(frozen=True)
class LastBuild:
    """What a model's latest build recorded in ``ops.dbt_incremental_state``."""

    fingerprint: str
    #: The latest ``_ingested_at`` of any raw table that build had seen (None: no raw data).
    ingested_through: str | None


@dataclass(frozen=True)
class Watermarks:
    """The warehouse's state right before a build (timestamps as text, as DuckDB prints them)."""

    #: Latest ``_ingested_at`` over every raw table (None: nothing landed yet).
    ingested_through: str | None
    #: Latest ``_ingested_at`` over the raw tables of master data.
    master_ingested_through: str | None
    #: The billing outbox's state (counts and latest keys), "" when it does not exist yet.
    outbox_state: str = ""
    #: Each model's latest build, by model name.
    last_builds: Mapping[str, LastBuild] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelPlan:
    """How one incremental model builds, and what its build records."""

    build: BuildKind
    #: The fingerprint the build records (compared with the next build's).
    fingerprint: str
    #: Incremental: rebuild what activity landed after this timestamp can change. None: full.
    since: str | None
    #: The watermark the build records: the next build is incremental from it.
    ingested_through: str | None

    @property
    def has_new_activity(self) -> bool:
        """An incremental build that has rows to rebuild (something landed since)."""
        return self.build == "full" or self.ingested_through != self.since


def source_meta(source: Mapping[str, Any]) -> dict[str, Any]:
    """A source's meta, from its own ``meta`` and its ``config.meta`` (dbt keeps both)."""
    return {**(source.get("meta") or {}), **((source.get("config") or {}).get("meta") or {})}


def raw_sources(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """The raw tables (``schema.identifier``) of the project's sources, as master or activity."""
    kinds: dict[str, list[str]] = {"master": [], ACTIVITY: []}
    for unique_id in sorted(manifest["sources"]):
        source = manifest["sources"][unique_id]
        if source["schema"] != RAW_SCHEMA:
            continue
        kind = ACTIVITY if source_meta(source).get("d2b_data") == ACTIVITY else "master"
        kinds[kind].append(f"{source['schema']}.{source['identifier']}")
    return kinds


def outbox_sources(manifest: Mapping[str, Any]) -> list[str]:
    """The tables (``schema.identifier``) of the sources marked ``d2b_data: outbox``."""
    return [
        f"{source['schema']}.{source['identifier']}"
        for _, source in sorted(manifest["sources"].items())
        if source_meta(source).get("d2b_data") == OUTBOX
    ]


def incremental_models(manifest: Mapping[str, Any]) -> list[str]:
    """The unique ids of the models materialized incrementally."""
    return sorted(
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    )


def upstream(manifest: Mapping[str, Any], unique_id: str) -> list[str]:
    """``unique_id`` and every node and source it depends on, directly or not, sorted."""
    nodes, sources = manifest["nodes"], manifest["sources"]
    seen = {unique_id}
    queue = [unique_id]
    while queue:
        node = nodes.get(queue.pop())
        for parent in node.get("depends_on", {}).get("nodes", ()) if node else ():
            if parent not in seen and (parent in nodes or parent in sources):
                seen.add(parent)
                queue.append(parent)
    return sorted(seen)


def used_macros(manifest: Mapping[str, Any], unique_ids: Iterable[str]) -> list[str]:
    """The macros the nodes ``unique_ids`` call, and the macros those call, sorted."""
    nodes, macros = manifest["nodes"], manifest["macros"]
    queue = [
        macro
        for unique_id in unique_ids
        if unique_id in nodes
        for macro in nodes[unique_id].get("depends_on", {}).get("macros", ())
    ]
    seen: set[str] = set()
    while queue:
        macro = queue.pop()
        if macro in seen or macro not in macros:
            continue
        seen.add(macro)
        queue.extend(macros[macro].get("depends_on", {}).get("macros", ()))
    return sorted(seen)


def _digest(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def fingerprint(
    manifest: Mapping[str, Any],
    unique_id: str,
    vars_: Mapping[str, Any],
    watermarks: Watermarks,
) -> str:
    """The fingerprint of everything but activity that model ``unique_id``'s rows depend on."""
    nodes = upstream(manifest, unique_id)
    parts = [f"vars={json.dumps(vars_, sort_keys=True, default=str)}"]
    parts += [
        f"{node}={manifest['nodes'][node]['checksum']['checksum']}"
        for node in nodes
        if node in manifest["nodes"]
    ]
    parts += [
        f"{macro}={_digest(manifest['macros'][macro]['macro_sql'])}"
        for macro in used_macros(manifest, nodes)
    ]
    parts.append(f"master={watermarks.master_ingested_through}")
    outbox = set(outbox_sources(manifest))
    reads_outbox = any(
        f"{manifest['sources'][node]['schema']}.{manifest['sources'][node]['identifier']}" in outbox
        for node in nodes
        if node in manifest["sources"]
    )
    if reads_outbox:
        parts.append(f"outbox={watermarks.outbox_state}")
    return _digest("|".join(parts))


def plan_incremental_builds(
    manifest: Mapping[str, Any], vars_: Mapping[str, Any], watermarks: Watermarks
) -> dict[str, ModelPlan]:
    """How each incremental model of ``manifest`` builds next, by model name.

    Full when the model has no recorded build, when its last build saw no landed data, or
    when its fingerprint changed; otherwise incremental from the watermark its last build
    recorded. ``vars_`` are the effective vars of the build (project defaults overlaid with
    the invocation's).
    """
    plans = {}
    for unique_id in incremental_models(manifest):
        name = manifest["nodes"][unique_id]["name"]
        current = fingerprint(manifest, unique_id, vars_, watermarks)
        last = watermarks.last_builds.get(name)
        incremental = (
            last is not None and last.ingested_through is not None and last.fingerprint == current
        )
        plans[name] = ModelPlan(
            build="incremental" if incremental else "full",
            fingerprint=current,
            since=last.ingested_through if incremental and last else None,
            ingested_through=watermarks.ingested_through,
        )
    return plans


def plan_as_json(plans: Mapping[str, ModelPlan]) -> str:
    """The plan as dbt's macros read it: model name -> {build, fingerprint, since, ...}."""
    return json.dumps({name: asdict(plan) for name, plan in sorted(plans.items())})

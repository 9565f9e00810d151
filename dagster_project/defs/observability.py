"""Pipeline history: the Dagster instance's runs, materializations and checks, in the warehouse.

The ``ops/dagster_*`` tables are a snapshot of the instance taken during each run (replaced
whole, so re-running is safe), after ingest and the dbt build and tests it records; dbt's
``pipeline_health_*`` marts, built after it in the same run, join them with the landing
registry and quarantine, and the serving snapshot carries them to the Data health page.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from dagster_project.resources import WAREHOUSE_POOL, D2BSettingsResource
from ingest.warehouse import PIPELINE_HISTORY_DDL, connect

#: How many recent runs the history keeps.
RUN_HISTORY_LIMIT = 500

RUNS_KEY = dg.AssetKey(["ops", "dagster_runs"])
ASSETS_KEY = dg.AssetKey(["ops", "dagster_asset_status"])
CHECKS_KEY = dg.AssetKey(["ops", "dagster_check_status"])


HISTORY_DDL = {
    key: PIPELINE_HISTORY_DDL[key.path[-1]] for key in (RUNS_KEY, ASSETS_KEY, CHECKS_KEY)
}


@dataclass(frozen=True)
class CatalogEntry:
    """What the history needs to know about one asset of the definitions."""

    key: dg.AssetKey
    group: str | None
    warn_hours: float | None
    fail_hours: float | None


def catalog_of(specs: list[dg.AssetSpec]) -> list[CatalogEntry]:
    """Summarise asset specs (key, group, freshness windows) for the history asset."""
    entries = []
    for spec in specs:
        policy = spec.freshness_policy
        warn = getattr(policy, "warn_window", None)
        fail = getattr(policy, "fail_window", None)
        entries.append(
            CatalogEntry(
                key=spec.key,
                group=spec.group_name,
                warn_hours=warn.to_timedelta().total_seconds() / 3600 if warn else None,
                fail_hours=fail.to_timedelta().total_seconds() / 3600 if fail else None,
            )
        )
    return sorted(entries, key=lambda e: e.key.to_user_string())


def _utc(timestamp: float | None) -> datetime | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


#: Status recorded for the run taking the history: it runs after the dbt build and its tests,
#: so they passed; the run goes on to build the health marts and publish. (Its Dagster status
#: is still STARTED, which the Data health page would show for a finished build.)
RECORDING_RUN_STATUS = "BUILT"


def runs_frame(instance: dg.DagsterInstance, recording_run_id: str | None = None) -> pd.DataFrame:
    """Recent runs with status and duration.

    ``recording_run_id`` (the run taking the history) has status ``RECORDING_RUN_STATUS``.
    """
    rows = []
    for record in instance.get_run_records(limit=RUN_HISTORY_LIMIT):
        run = record.dagster_run
        started, ended = _utc(record.start_time), _utc(record.end_time)
        status = RECORDING_RUN_STATUS if run.run_id == recording_run_id else run.status.value
        rows.append(
            {
                "run_id": run.run_id,
                "job_name": run.job_name,
                "status": status,
                "started_at": started,
                "ended_at": ended,
                "duration_seconds": (
                    (record.end_time - record.start_time)
                    if record.start_time and record.end_time
                    else None
                ),
                "created_at": _utc(record.create_timestamp.timestamp()),
            }
        )
    columns = ["run_id", "job_name", "status", "started_at", "ended_at", "duration_seconds"]
    return pd.DataFrame(rows, columns=[*columns, "created_at"])


def assets_frame(instance: dg.DagsterInstance, catalog: list[CatalogEntry]) -> pd.DataFrame:
    """Per asset: last materialization, its run and row count, and freshness windows."""
    latest = instance.get_latest_materialization_events([entry.key for entry in catalog])
    rows = []
    for entry in catalog:
        event = latest.get(entry.key)
        metadata = (
            event.asset_materialization.metadata if event and event.asset_materialization else {}
        )
        row_count = metadata.get("dagster/row_count")
        rows.append(
            {
                "asset_key": entry.key.to_user_string(),
                "group_name": entry.group,
                "last_materialized_at": _utc(event.timestamp) if event else None,
                "last_run_id": event.run_id if event else None,
                "row_count": int(row_count.value) if row_count is not None else None,
                "freshness_warn_hours": entry.warn_hours,
                "freshness_fail_hours": entry.fail_hours,
            }
        )
    return pd.DataFrame(rows)


def checks_frame(instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey]) -> pd.DataFrame:
    """Per asset check: the latest execution's status and outcome.

    The history runs after the checks it records, so within a run they are this run's.
    """
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    rows = []
    for key in sorted(check_keys, key=lambda k: k.to_user_string()):
        record = latest.get(key)
        # a check planned but not evaluated (its asset's step failed or was skipped) has none
        evaluation = record.evaluation if record else None
        passed = getattr(evaluation, "passed", None)
        severity = getattr(evaluation, "severity", None)
        rows.append(
            {
                "asset_key": key.asset_key.to_user_string(),
                "check_name": key.name,
                "status": record.status.value if record else "NEVER_RUN",
                "passed": passed,
                "severity": severity.value if severity else None,
                "evaluated_at": _utc(record.create_timestamp) if record else None,
                "run_id": record.run_id if record else None,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "asset_key",
            "check_name",
            "status",
            "passed",
            "severity",
            "evaluated_at",
            "run_id",
        ],
    )


def recorded_before_history(specs: list[dg.AssetSpec], skip: set[dg.AssetKey]) -> set[dg.AssetKey]:
    """The assets the history runs after.

    Every asset of ``specs`` except those built from the history (the health marts and what
    reads them, e.g. publish) and ``skip`` (assets of other jobs, such as the billing run).
    """
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for spec in specs:
        for dep in spec.deps:
            children.setdefault(dep.asset_key, set()).add(spec.key)
    downstream: set[dg.AssetKey] = set()
    frontier = list(HISTORY_DDL)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in downstream:
                downstream.add(child)
                frontier.append(child)
    return {spec.key for spec in specs} - downstream - skip - set(HISTORY_DDL)


#: The op (and step) that copies the instance's history into the warehouse.
HISTORY_OP = "dagster_history"


def build_history_asset(
    catalog: list[CatalogEntry], check_keys: list[dg.AssetCheckKey], after: list[dg.AssetKey]
) -> dg.AssetsDefinition:
    """The asset that copies the instance's history into ``ops.dagster_*``."""

    @dg.multi_asset(
        name=HISTORY_OP,
        specs=[
            dg.AssetSpec(
                key,
                group_name="ops",
                kinds={"duckdb", "dagster"},
                deps=after,
                description=text,
                owners=["team:data_platform"],
            )
            for key, text in (
                (RUNS_KEY, "Recent Dagster runs: job, status, start, end, duration."),
                (ASSETS_KEY, "Per asset: last materialization, rows, freshness windows."),
                (CHECKS_KEY, "Per asset check: latest status and outcome."),
            )
        ],
        pool=WAREHOUSE_POOL,
    )
    def _history(context: dg.AssetExecutionContext, d2b: D2BSettingsResource):
        frames = {
            RUNS_KEY: runs_frame(context.instance, context.run_id),
            ASSETS_KEY: assets_frame(context.instance, catalog),
            CHECKS_KEY: checks_frame(context.instance, check_keys),
        }
        with connect(d2b.settings().warehouse) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS ops")
            con.begin()
            for key, frame in frames.items():
                table = f'ops."{key.path[-1]}"'
                con.execute(f"CREATE OR REPLACE TABLE {table} ({HISTORY_DDL[key]})")
                con.register("_history_frame", frame)
                try:
                    con.execute(f"INSERT INTO {table} SELECT * FROM _history_frame")
                finally:
                    con.unregister("_history_frame")
            con.commit()
        for key, frame in frames.items():
            yield dg.MaterializeResult(asset_key=key, metadata={"dagster/row_count": len(frame)})

    return _history

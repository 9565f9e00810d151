"""Schedules, sensors (landing zone, dead runs) and run-failure alerts: how it runs itself."""

import hashlib
import json
import logging
import urllib.request
from collections import defaultdict
from pathlib import Path

import dagster as dg
import duckdb

from d2b.redaction import redact_text
from d2b.settings import Settings
from dagster_project.cadences import CADENCES
from dagster_project.defs.billing import BILLING_SELECTION
from dagster_project.defs.ingest import ingest_assets
from dagster_project.recovery import recover_dead_runs
from dagster_project.resources import D2BSettingsResource
from ingest.landing import discover, file_sha256
from ingest.loader import Registration, latest_registrations
from ingest.warehouse import connect, table_exists

logger = logging.getLogger("d2b.alerts")


#: Schedules run in this time zone; firms override it by editing here or in dagster dev.
SCHEDULE_TIMEZONE = "UTC"


def _ingest_keys_by_system() -> dict[str, list[dg.AssetKey]]:
    keys: dict[str, list[dg.AssetKey]] = defaultdict(list)
    for assets_def in ingest_assets():
        system = assets_def.op.name.removeprefix("ingest_")
        keys[system].extend(assets_def.keys)
    return dict(keys)


def system_job_name(system: str) -> str:
    """Name of the job that loads ``system`` and rebuilds everything downstream of it."""
    return f"refresh_{system}"


def build_automation() -> dg.Definitions:
    """Jobs per source system, schedules per cadence, the landing sensor and alerts."""
    keys_by_system = _ingest_keys_by_system()
    jobs = {
        system: dg.define_asset_job(
            system_job_name(system),
            selection=dg.AssetSelection.assets(*keys).downstream() - BILLING_SELECTION,
            description=f"Load new {system} files and rebuild everything downstream.",
        )
        for system, keys in sorted(keys_by_system.items())
    }
    schedules = []
    for cadence in CADENCES:
        systems = [s for s in cadence.systems if s in keys_by_system]
        if not systems:
            continue
        selection = (
            dg.AssetSelection.assets(
                *(key for system in systems for key in keys_by_system[system])
            ).downstream()
            - BILLING_SELECTION
        )
        job = dg.define_asset_job(f"{cadence.name}_job", selection=selection)
        schedules.append(
            dg.ScheduleDefinition(
                name=cadence.name,
                job=job,
                cron_schedule=cadence.cron,
                execution_timezone=SCHEDULE_TIMEZONE,
                description=cadence.description,
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        )
    return dg.Definitions(
        jobs=list(jobs.values()),
        schedules=schedules,
        sensors=[landing_sensor(jobs), run_failure_alert, dead_run_recovery],
    )


def landing_sensor(jobs: dict) -> dg.SensorDefinition:
    """Start a refresh of a system when new files land in its folder.

    The cursor remembers each file's size and modification time, so only new or changed
    files are hashed. A file the warehouse already registered (ops.landed_files, with the
    same size and mtime or the same bytes) is not new either: ``d2b dev`` started after
    ``d2b run`` starts no run for what that run loaded. One run per system per evaluation
    covers all its new files; its run key is the hash of those files' SHA-256s, so the same
    files never start a second run.
    """

    @dg.sensor(
        name="landing_zone_sensor",
        jobs=list(jobs.values()),
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts a system's refresh when new files land in its landing folder.",
    )
    def _sensor(context: dg.SensorEvaluationContext, d2b: D2BSettingsResource):
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        settings = d2b.settings()
        landing = settings.landing
        try:
            registered = _loaded_files(settings.warehouse)
        except duckdb.IOException:
            # A run holds the warehouse; look again next tick rather than guess.
            return dg.SkipReason("the warehouse is being written; the landing zone is read later")
        new_by_system: dict[str, list[tuple[str, str]]] = defaultdict(list)
        current: dict[str, str] = {}
        for landed in discover(landing):
            stat = landed.path.stat()
            fingerprint = f"{stat.st_size}:{stat.st_mtime_ns}"
            current[landed.relative_path] = fingerprint
            if seen.get(landed.relative_path) == fingerprint or landed.system not in jobs:
                continue
            known = registered.get(landed.relative_path)
            if known and (known.size_bytes, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                continue
            sha256 = file_sha256(landed.path)
            if known and known.sha256 == sha256:  # touched, not changed: ingest skips it too
                continue
            new_by_system[landed.system].append((landed.relative_path, sha256))

        requests = []
        for system, files in sorted(new_by_system.items()):
            hashes = sorted(sha for _, sha in files)
            run_key = hashlib.sha256("\n".join(hashes).encode()).hexdigest()
            requests.append(
                dg.RunRequest(
                    run_key=f"{system}:{run_key}",
                    job_name=system_job_name(system),
                    tags={"d2b/system": system, "d2b/new_files": str(len(files))},
                )
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))

    return _sensor


def _loaded_files(warehouse: Path) -> dict[str, Registration]:
    """The landing files the warehouse has registered (none before its first load)."""
    if not warehouse.exists():
        return {}
    with connect(warehouse, read_only=True) as con:
        if not table_exists(con, "ops.landed_files"):
            return {}
        return latest_registrations(con)


class AlertResource(dg.ConfigurableResource):
    """Where run-failure alerts go: always a structured log line, optionally a webhook.

    The webhook is optional, so it is read from the settings (``D2B_ALERT_WEBHOOK_URL``) when
    an alert is sent (``dg.EnvVar`` fails every run when a variable is unset). It may carry a
    token, so it is never logged.
    """

    webhook_url: str | None = None
    timeout_seconds: float = 10.0

    def resolved_webhook_url(self) -> str | None:
        """The configured webhook, else ``D2B_ALERT_WEBHOOK_URL``, else None."""
        return self.webhook_url or Settings.from_env().alerts.webhook_url

    def send(self, payload: dict) -> bool:
        """Log ``payload`` as one JSON line and POST it to the webhook when configured."""
        logger.error(json.dumps({"event": "d2b.run_failed", **payload}, sort_keys=True))
        url = self.resolved_webhook_url()
        if not url:
            return False
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return 200 <= response.status < 300
        except OSError as error:  # the alert must never mask the failure it reports
            logger.error("alert webhook failed: %s", type(error).__name__)
            return False


def failure_payload(context: dg.RunFailureSensorContext) -> dict:
    """The alert for a failed run: its job, run id, the assets it was building, the errors."""
    run = context.dagster_run
    planned = context.instance.get_records_for_run(
        run_id=run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    assets = sorted(
        {
            record.event_log_entry.dagster_event.asset_key.to_user_string()
            for record in planned
            if record.event_log_entry.dagster_event is not None
        }
    )
    step_errors = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause  # the user's exception, under Dagster's wrapper
        message = error.message.strip() if error else event.message or ""
        step_errors.append({"step": event.step_key, "error": redact_text(message)})
    return {
        "job": run.job_name,
        "run_id": run.run_id,
        "assets": assets,
        "error": redact_text(context.failure_event.message or ""),
        "steps": step_errors,
    }


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends an alert (structured log line, optional webhook) when a run fails.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertResource):
    """Alert on every failed run."""
    alerts.send(failure_payload(context))


@dg.sensor(
    name="dead_run_recovery",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Marks a run whose process is gone failed and frees its writer slot, so a killed "
        "scheduled or billing run never blocks the next one (docs/operations.md)."
    ),
)
def dead_run_recovery(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Recover dead runs under the daemon, as ``d2b run`` does when it starts."""
    recovered = [run.describe() for run in recover_dead_runs(context.instance)]
    for line in recovered:
        context.log.info(line)
    return dg.SkipReason("; ".join(recovered) or "no dead runs")


defs = build_automation()

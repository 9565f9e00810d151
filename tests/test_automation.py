"""Schedules, the landing sensor and failure alerts, evaluated the way Dagster does."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from dagster_project.defs.automation import AlertResource
from dagster_project.resources import D2BSettingsResource
from tests.harvest_pages import Entry, write_page


@pytest.fixture
def definitions(dbt_manifest):
    from dagster_project.definitions import defs

    return defs()


def test_schedules_request_their_jobs_on_their_crons(definitions):
    schedules = {s.name: s for s in definitions.schedules}
    psa = schedules["psa_hourly"]
    assert psa.cron_schedule == "0 8-19 * * 1-5"
    assert psa.job_name == "psa_hourly_job"
    job = definitions.resolve_job_def("psa_hourly_job")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert {"raw/harvest__time_entries", "marts/unbilled_approved_hours", "serving/snapshot"} <= (
        selected
    )
    with dg.build_schedule_context(scheduled_execution_time=None) as context:
        assert psa.evaluate_tick(context).run_requests


def test_landing_sensor_requests_one_run_per_system_and_nothing_twice(
    definitions, d2b_home, tmp_path
):
    sensor = definitions.resolve_sensor_def("landing_zone_sensor")
    resources = {"d2b": D2BSettingsResource()}
    write_page(d2b_home.landing, "p1.json", [Entry(1, date(2026, 5, 29), 4)])
    write_page(d2b_home.landing, "p2.json", [Entry(2, date(2026, 5, 29), 5)])

    with dg.build_sensor_context(resources=resources) as context:
        first = sensor(context)
    assert [r.job_name for r in first.run_requests] == ["refresh_harvest"]
    assert first.run_requests[0].run_key.startswith("harvest:")
    assert first.run_requests[0].tags["d2b/new_files"] == "2"

    with dg.build_sensor_context(cursor=first.cursor, resources=resources) as context:
        second = sensor(context)
    assert second.run_requests == []

    write_page(d2b_home.landing, "p3.json", [Entry(3, date(2026, 5, 29), 1)])
    with dg.build_sensor_context(cursor=second.cursor, resources=resources) as context:
        third = sensor(context)
    assert len(third.run_requests) == 1
    assert third.run_requests[0].tags["d2b/new_files"] == "1"
    assert third.run_requests[0].run_key != first.run_requests[0].run_key


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_failed_run_alerts_by_log_and_webhook(caplog, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook?token=secret"
    monkeypatch.setenv("D2B_ALERT_WEBHOOK_URL", url)
    _Recorder.received.clear()

    @dg.asset
    def broken():
        raise ValueError("rate card missing")

    from dagster_project.defs.automation import run_failure_alert

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([broken], instance=instance, raise_on_error=False)
    assert not result.success
    (failure,) = [
        entry.dagster_event
        for entry in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    ]
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=failure,
    ).for_run_failure()
    try:
        with caplog.at_level("ERROR", logger="d2b.alerts"):
            run_failure_alert(context, alerts=AlertResource())
    finally:
        server.shutdown()

    assert len(_Recorder.received) == 1
    payload = _Recorder.received[0]
    assert payload["run_id"] == result.run_id
    assert payload["assets"] == ["broken"]
    assert "rate card missing" in json.dumps(payload["steps"])
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    assert logged and logged[0]["event"] == "d2b.run_failed"
    assert "secret" not in caplog.text

"""Schedules, the landing sensor and failure alerts, evaluated the way Dagster does."""

from __future__ import annotations

import json
import os
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest
import yaml

from dagster_project.defs.automation import AlertResource
from dagster_project.instance import CODE_SERVERS_YAML, DAGSTER_YAML, ensure_dagster_home
from dagster_project.resources import D2BSettingsResource
from ingest.loader import load_landing
from ingest.warehouse import connect
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


def test_landing_sensor_skips_the_files_the_warehouse_has_loaded(definitions, d2b_home):
    """``d2b dev`` after ``d2b run``: the sensor's first evaluation (no cursor) starts no run
    for the files ingest registered; a new file, or new bytes in a loaded one, still start
    one, and a file only touched (same bytes) does not."""
    sensor = definitions.resolve_sensor_def("landing_zone_sensor")
    resources = {"d2b": D2BSettingsResource()}
    write_page(d2b_home.landing, "p1.json", [Entry(1, date(2026, 5, 29), 4)])
    write_page(d2b_home.landing, "p2.json", [Entry(2, date(2026, 5, 29), 5)])
    with connect(d2b_home.warehouse) as con:
        load_landing(con, d2b_home.landing)

    with dg.build_sensor_context(resources=resources) as context:
        after_the_run = sensor(context)
    assert after_the_run.run_requests == []

    write_page(d2b_home.landing, "p3.json", [Entry(3, date(2026, 5, 29), 1)])
    os.utime(d2b_home.landing / "harvest" / "time_entries" / "p1.json", ns=(10**18, 10**18))
    with dg.build_sensor_context(resources=resources) as context:
        new_file = sensor(context)
    assert [r.tags["d2b/new_files"] for r in new_file.run_requests] == ["1"]

    write_page(d2b_home.landing, "p2.json", [Entry(2, date(2026, 5, 29), 6)])
    with dg.build_sensor_context(cursor=new_file.cursor, resources=resources) as context:
        changed = sensor(context)
    assert [r.tags["d2b/new_files"] for r in changed.run_requests] == ["1"]


def test_landing_sensor_right_after_a_run_of_the_sample_firm_requests_nothing(
    definitions, sample_run
):
    sensor = definitions.resolve_sensor_def("landing_zone_sensor")
    settings = D2BSettingsResource(
        landing=str(sample_run.landing), warehouse=str(sample_run.warehouse)
    )
    with dg.build_sensor_context(resources={"d2b": settings}) as context:
        result = sensor(context)
    assert result.run_requests == []
    assert len(json.loads(result.cursor)) > 100  # every file noted: the next tick hashes none


def test_an_instance_an_older_d2b_created_gets_the_code_server_timeout(d2b_home):
    older = DAGSTER_YAML.replace(CODE_SERVERS_YAML, "") + "# my own note\n"
    d2b_home.dagster_home.mkdir(parents=True)
    (d2b_home.dagster_home / "dagster.yaml").write_text(older)
    ensure_dagster_home(d2b_home)
    ensure_dagster_home(d2b_home)  # once only
    config = yaml.safe_load((d2b_home.dagster_home / "dagster.yaml").read_text())
    assert config["code_servers"] == {"local_startup_timeout": 600}
    assert config["concurrency"] == {"pools": {"default_limit": 1}}
    assert (d2b_home.dagster_home / "dagster.yaml").read_text().count("code_servers") == 1
    assert "# my own note" in (d2b_home.dagster_home / "dagster.yaml").read_text()


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

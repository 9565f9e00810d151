"""The billing run in Dagster: monthly partitions, exactly once into the ERP, re-runs safe."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from bench.sample import sample_batches
from dagster_project.defs.billing import BILLING_JOB, billing_schedule
from erp.outbox.store import outbox_exists
from ingest.warehouse import connect
from tests.candidates import write_candidates, write_release_rules


@pytest.fixture
def filedrop_home(d2b_home, monkeypatch):
    monkeypatch.setenv("D2B_ERP_ADAPTER", "filedrop")
    monkeypatch.delenv("D2B_ERP_FILEDROP_DIR", raising=False)
    return d2b_home


def run_period(partition_key: str, *, raise_on_error: bool = True, as_of: str | None = None):
    from dagster_project.definitions import defs

    job = defs().resolve_job_def(BILLING_JOB)
    config = {"ops": {"billing__erp_outbox": {"config": {"as_of_date": as_of}}}}
    return job.execute_in_process(
        partition_key=partition_key,
        raise_on_error=raise_on_error,
        run_config=config if as_of else None,
    )


def outbox_statuses(settings) -> dict[str, int]:
    """Batches per status in the warehouse's copy of the outbox (none before any freeze)."""
    with connect(settings.warehouse) as con:
        if not outbox_exists(con):
            return {}
        return dict(
            con.execute("SELECT status, count(*) FROM ops.erp_outbox GROUP BY 1").fetchall()
        )


def test_a_period_is_billed_once_and_a_rerun_changes_nothing(filedrop_home, dbt_manifest):
    march = sample_batches(clients=6, period="2026-03")
    april = sample_batches(clients=4, period="2026-04", id_prefix="apr")
    with connect(filedrop_home.warehouse) as con:
        write_candidates(con, [*march, *april])

    result = run_period("2026-03-01")

    assert result.success
    assert outbox_statuses(filedrop_home) == {"reconciled": len(march)}
    drops = sorted((filedrop_home.home / "erp" / "filedrop").glob("*.csv"))
    assert sorted(p.stem for p in drops) == sorted(b.batch_key for b in march)
    freeze = result.asset_materializations_for_node("billing__erp_outbox")[0].metadata
    assert freeze["frozen"].value == len(march) and freeze["rejected"].value == 0
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "no_rejected_batches": True,
        "candidates_built_as_of_run": True,
        "batches_tie_out": True,
    }
    with connect(filedrop_home.warehouse) as con:
        audit_before = con.execute("SELECT count(*) FROM ops.audit_log").fetchall()
        lines = con.execute("SELECT count(*) FROM raw.erp_api__invoice_lines").fetchall()
    assert lines == [(sum(len(b.lines) for b in march),)]
    bytes_before = {p.name: p.read_bytes() for p in drops}

    again = run_period("2026-03-01")

    assert again.success
    assert outbox_statuses(filedrop_home) == {"reconciled": len(march)}
    assert {p.name: p.read_bytes() for p in drops} == bytes_before
    with connect(filedrop_home.warehouse) as con:
        assert con.execute("SELECT count(*) FROM ops.audit_log").fetchall() == audit_before

    run_period("2026-04-01")
    assert outbox_statuses(filedrop_home) == {"reconciled": len(march) + len(april)}


def test_the_job_sends_released_batches_only_and_never_bills_stale_candidates(
    filedrop_home, dbt_manifest
):
    march = sample_batches(clients=4, period="2026-03")  # US01, GB01, DE01, CA01
    with connect(filedrop_home.warehouse) as con:
        write_candidates(con, march, auto_release=False)
        write_release_rules(con, {"US01": True, "GB01": False})

    stale = run_period("2026-03-01", as_of="2026-04-20", raise_on_error=False)

    checks = {e.check_name: e.passed for e in stale.get_asset_check_evaluations()}
    assert checks["candidates_built_as_of_run"] is False
    assert outbox_statuses(filedrop_home) == {}

    result = run_period("2026-03-01")

    assert result.success
    assert outbox_statuses(filedrop_home) == {"reconciled": 1, "awaiting_release": 3}
    freeze = result.asset_materializations_for_node("billing__erp_outbox")[0].metadata
    assert freeze["auto_released"].value == 1 and freeze["awaiting_release"].value == 3


def test_billing_without_candidates_fails_with_a_clear_message(filedrop_home, dbt_manifest):
    result = run_period("2026-03-01", raise_on_error=False)

    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert "marts.billing_batch_candidates does not exist" in str(failure.event_specific_data.error)
    # said at once: a missing mart does not appear by retrying the step
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_the_monthly_schedule_bills_the_closed_period():
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 4, 3, 6, 0, tzinfo=UTC)
    )
    requests = billing_schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-03-01"]
    assert billing_schedule.cron_schedule == "0 6 3 * *"


def test_billing_plan_shows_what_a_run_would_do_and_writes_nothing(
    filedrop_home, dbt_manifest, capsys
):
    from dagster_project.cli import main

    march = sample_batches(clients=3, period="2026-03")
    with connect(filedrop_home.warehouse) as con:
        write_candidates(con, march)

    assert main(["billing-plan", "--period", "2026-03"]) == 0
    before = capsys.readouterr().out
    assert before.count("freeze_and_create") == len(march)

    run_period("2026-03-01")
    assert main(["billing-plan", "--period", "2026-03"]) == 0
    after = capsys.readouterr().out
    assert after.count("skip") == len(march) and "already in the ERP" in after
    assert outbox_statuses(filedrop_home) == {"reconciled": len(march)}
    with pytest.raises(SystemExit):  # not a month: refused by the argument parser
        main(["billing-plan", "--period", "2026-13"])


def test_backfills_offer_every_closed_period_from_the_start():
    from dagster_project.defs.billing import BILLING_START, billing_periods

    keys = billing_periods.get_partition_keys(current_time=datetime(2026, 4, 3, tzinfo=UTC))
    assert keys[0] == BILLING_START
    assert keys[-1] == "2026-03-01"  # April is still open
    assert len(keys) == len(set(keys))


def test_erp_feedback_job_reads_the_open_invoices_daily(filedrop_home, dbt_manifest):
    from dagster_project.definitions import defs
    from dagster_project.defs.billing import FEEDBACK_JOB, erp_feedback_schedule

    march = sample_batches(clients=3, period="2026-03")
    with connect(filedrop_home.warehouse) as con:
        write_candidates(con, march)
    assert run_period("2026-03-01").success

    feedback = defs().resolve_job_def(FEEDBACK_JOB)
    assert feedback.execute_in_process().success
    with connect(filedrop_home.warehouse) as con:
        readings = con.execute(
            "SELECT batch_key, state, due_date FROM raw.erp_api__invoice_status ORDER BY 1"
        ).fetchall()
    # the files wait for the ERP's import (draft); due on the invoice date plus the terms
    assert [(key, state) for key, state, _ in readings] == sorted(
        (b.batch_key, "draft") for b in march
    )
    assert all(due is not None for _, _, due in readings)
    assert erp_feedback_schedule.cron_schedule == "30 1 * * *"

"""Incremental dbt models (macros/incremental.sql): a daily build gives what a full one does.

A generated firm is built with its last day of activity exports and its last month of ERP
exports held back; they then land and the daily build runs incrementally. A copy of that
warehouse rebuilt with ``--full-refresh`` must hold the same rows in every intermediate and
mart table. A changed var (here the as-of date) must make the incremental models build in
full again.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from bench import ladder
from ingest.loader import load_landing
from ingest.sources.concur import sae_detail_record, sae_detail_values
from ingest.warehouse import connect

pytestmark = pytest.mark.slow

AS_OF = date(2025, 6, 30)
INCREMENTAL_MODELS = {
    "int_time_entries_unioned",
    "int_time_entries_rated",
    "int_time_entry_exceptions",
    "fct_time_entries",
    "fct_lifecycle_events",
    "reconciliation_records",
    "record_lags",
    "project_financials_monthly",
}
#: The marts incremental by record or month (macros/record_scope.sql): rows with an as-of date.
SCOPED_MARTS = ("reconciliation_records", "record_lags", "project_financials_monthly")
#: How each incremental model builds after the billing outbox changed: the models downstream
#: of its staging in full, the intermediates incrementally.
AFTER_AN_OUTBOX_CHANGE = {
    **dict.fromkeys(INCREMENTAL_MODELS, "full"),
    "int_time_entries_unioned": "incremental",
    "int_time_entries_rated": "incremental",
    "int_time_entry_exceptions": "incremental",
}
#: The ERP exports of the last month, landed with the day: the day then changes invoices too.
LAST_ERP_MONTH = ("erp/invoices", "erp/invoice_lines", "erp/expense_postings")


def _dbt_build(workdir: Path, warehouse: Path, as_of: date, *extra: str) -> None:
    command = ladder._phase_command("dbt_build", workdir, 0, 0, as_of)
    target = command.index("--target-path") + 1
    command[target] = str(warehouse.with_suffix(".target"))
    env = {**os.environ, "D2B_HOME": str(workdir), "D2B_WAREHOUSE": str(warehouse)}
    subprocess.run([*command, *extra], cwd=ladder.REPO, env=env, check=True)


def _model_tables(warehouse: Path) -> list[str]:
    with connect(warehouse, read_only=True) as con:
        return [
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where schema_name in ('intermediate', 'marts') order by all"
            ).fetchall()
        ]


def _differences(warehouse: Path, other: Path) -> dict[str, tuple[int, int]]:
    """Per table present in both: rows only in ``warehouse``, rows only in ``other``.

    The pipeline health marts are left out: they measure minutes since the last load, so
    two builds at different moments differ by design."""
    differ = {}
    with connect(warehouse, read_only=True) as con:
        con.execute(f"attach '{other}' as other (read_only)")
        for table in _model_tables(warehouse):
            if table.startswith("marts.pipeline_health_"):
                continue
            only_here, only_there = (
                con.execute(
                    f"select count(*) from (select * from {a} except all select * from {b})"
                ).fetchone()[0]
                for a, b in ((table, f"other.{table}"), (f"other.{table}", table))
            )
            if only_here or only_there:
                differ[table] = (only_here, only_there)
    return differ


def _build_kinds(warehouse: Path) -> list[tuple[str, str]]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "select model_name, build_kind from ops.dbt_incremental_state order by built_at"
        ).fetchall()


def _last_build_kinds(warehouse: Path) -> dict[str, str]:
    """How each incremental model built in the last run."""
    return dict(_build_kinds(warehouse)[-len(INCREMENTAL_MODELS) :])


@pytest.fixture(scope="module")
def daily_run(tmp_path_factory) -> Path:
    """A sample firm built without its last day of activity and its last month of ERP exports,
    then those landed and built (incremental)."""
    work = tmp_path_factory.mktemp("incremental")
    generated = ladder.run_phase("generate", work, 0.02, 42, AS_OF)
    assert generated.ok, generated.detail
    assert ladder.hold_back_last_day(work) > 0
    for entity in LAST_ERP_MONTH:
        (export,) = (work / "landing" / entity).glob(f"*{AS_OF:%Y-%m}*")
        (work / "next_day" / entity).mkdir(parents=True, exist_ok=True)
        export.rename(work / "next_day" / entity / export.name)
    for phase in ("ingest", "dbt_build", "incremental"):
        result = ladder.run_phase(phase, work, 0.02, 42, AS_OF)
        assert result.ok, result.detail
    return work


def test_the_daily_build_is_incremental_and_equals_a_full_build(daily_run):
    warehouse = daily_run / "warehouse.duckdb"
    kinds = _build_kinds(warehouse)
    # the first build of each model is full, the day's is incremental
    assert {model for model, _ in kinds} == INCREMENTAL_MODELS
    for model in INCREMENTAL_MODELS:
        assert [kind for name, kind in kinds if name == model] == ["full", "incremental"]

    full = daily_run / "full.duckdb"
    shutil.copy(warehouse, full)
    _dbt_build(daily_run, full, AS_OF, "--full-refresh")

    assert len(_model_tables(warehouse)) > 30
    assert _differences(warehouse, full) == {}


def test_a_changed_var_builds_in_full_again(daily_run):
    earlier = date(2025, 5, 31)
    warehouse = daily_run / "warehouse.duckdb"
    _dbt_build(daily_run, warehouse, earlier)
    # a new as-of date changes the fingerprint: every incremental model rebuilt every row
    last_kinds = _last_build_kinds(warehouse)
    assert last_kinds == dict.fromkeys(INCREMENTAL_MODELS, "full")

    fresh = daily_run / "fresh.duckdb"
    shutil.copy(warehouse, fresh)
    _dbt_build(daily_run, fresh, earlier, "--full-refresh")
    assert _differences(warehouse, fresh) == {}


def test_a_billing_run_rebuilds_only_the_models_that_read_the_outbox(daily_run):
    from erp.outbox import ensure_schema

    billed = daily_run / "billed.duckdb"
    shutil.copy(daily_run / "warehouse.duckdb", billed)
    _dbt_build(daily_run, billed, AS_OF)  # settled at AS_OF, whatever other tests built
    with connect(billed) as con:
        ensure_schema(con)
        con.execute("insert into ops.erp_outbox_correlations values ('c-unknown', 'l1', 'b1')")
        # a long build log: the next run keeps each model's last 100 builds
        con.execute(
            "insert into ops.dbt_incremental_state select 'int_time_entries_rated', 'old', "
            "'full', null, timestamp '2000-01-01' + to_days(i) from range(150) as t(i)"
        )
    _dbt_build(daily_run, billed, AS_OF)

    last_kinds = _last_build_kinds(billed)
    assert last_kinds == AFTER_AN_OUTBOX_CHANGE
    with connect(billed, read_only=True) as con:
        kept = con.execute(
            "select count(*), max(built_at) > timestamp '2001-01-01' "
            "from ops.dbt_incremental_state where model_name = 'int_time_entries_rated'"
        ).fetchone()
    assert kept == (101, True)  # the last 100 at the start of the run, and this build


def _land_passing_invoice(export_dir: Path, landing: Path, contract_source_id: str) -> None:
    """Land an invoice of the contract dated the as-of date (it bills May), with no lines."""
    (export, *_) = sorted(export_dir.glob("*.csv"))
    with export.open(newline="") as source:
        invoice = next(csv.DictReader(source))
    invoice.update(
        internal_id="990000001",
        tranid="INV-TEST-PASSING",
        trandate=AS_OF.isoformat(),
        custbody_sf_contract_id=contract_source_id,
        created_date=f"{AS_OF}T09:00:00Z",
        last_modified_date=f"{AS_OF}T09:00:00Z",
    )
    (landing / "erp" / "invoices").mkdir(parents=True)
    with (landing / "erp" / "invoices" / "invoices_passing.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(invoice))
        writer.writeheader()
        writer.writerow(invoice)


def _land_late_expense(export_dir: Path, landing: Path) -> date:
    """Land, in an SAE extract of the week before the as-of date, a non-billable expense
    spent in the firm's first month (submitted late); return its transaction date."""
    (export, *_) = sorted(export_dir.glob("*.txt"))
    detail_line = export.read_text().splitlines()[1]
    batch_date = "2025-06-27"
    values = sae_detail_values(detail_line)
    values.update(
        batch_id="990001",
        batch_date=batch_date,
        sequence_number="1",
        report_entry_id="990000001",
        journal_key="990000001",
        allocation_key="990000001",
        report_entry_is_billable="N",
    )
    header = f"EXTRACT|{batch_date}|1|{values['journal_amount'].lstrip('+')}|990001"
    (landing / "concur" / "expenses").mkdir(parents=True)
    late = landing / "concur" / "expenses" / "extract_CES_SAE_v3_p0004711d2b_20250627210000.txt"
    late.write_text(f"{header}\n{sae_detail_record(values)}\n")
    return date.fromisoformat(values["report_entry_transaction_date"])


#: The firm's first month of work or spend (a retainer's fee recognized before its history
#: has a row of its own, without hours or cost).
_FIRST_MONTH = (
    "select min(month_start_date) from marts.project_financials_monthly "
    "where hours != 0 or total_cost != 0"
)
_EXPENSE_COST_OF_FIRST_MONTH = (
    "select sum(expense_cost_reporting) from marts.project_financials_monthly "
    f"where month_start_date = ({_FIRST_MONTH})"
)


def test_late_records_rebuild_what_they_reach_back_to(daily_run, tmp_path):
    """A day can reach far back: an invoice of a contract that bills none of its records
    still passes over the approved ones its billing period covers, and an expense submitted
    late falls in an early month. The daily build rebuilds what they change, though
    neither is near any changed time entry."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(daily_run / "warehouse.duckdb", warehouse)
    _dbt_build(daily_run, warehouse, AS_OF)  # settled at AS_OF, whatever other tests built
    with connect(warehouse, read_only=True) as con:
        correlation_id, contract_source_id = con.execute(
            "select records.correlation_id, contracts.source_id "
            "from marts.reconciliation_records as records "
            "inner join marts.dim_contracts as contracts using (contract_id) "
            "where records.billing_reason = 'awaiting_invoice' "
            "and records.record_kind = 'time_entry' "
            "and records.record_date < date '2025-06-01' "
            "and records.approved_at < timestamp '2025-06-30' "
            "order by records.record_date, records.correlation_id limit 1"
        ).fetchone()
        first_month_cost = con.execute(_EXPENSE_COST_OF_FIRST_MONTH).fetchone()[0]

    landing = tmp_path / "landing"
    _land_passing_invoice(daily_run / "landing" / "erp" / "invoices", landing, contract_source_id)
    spent_on = _land_late_expense(daily_run / "landing" / "concur" / "expenses", landing)
    with connect(warehouse) as con:
        assert load_landing(con, landing).summary()["rows_loaded"] == 2
        # rows kept from a day before carry that day's as-of date until the run moves it
        for mart in SCOPED_MARTS:
            con.execute(f"update marts.{mart} set as_of_date = as_of_date - 1")
    _dbt_build(daily_run, warehouse, AS_OF)

    last_kinds = _last_build_kinds(warehouse)
    assert last_kinds == dict.fromkeys(INCREMENTAL_MODELS, "incremental")
    with connect(warehouse, read_only=True) as con:
        passed_over = con.execute(
            "select billing_reason, first_passing_invoice_date "
            "from marts.reconciliation_records where correlation_id = ?",
            [correlation_id],
        ).fetchone()
        late_first_month_cost = con.execute(_EXPENSE_COST_OF_FIRST_MONTH).fetchone()[0]
        first_month = con.execute(_FIRST_MONTH).fetchone()[0]
    assert passed_over == ("skipped_by_invoice", AS_OF)
    # the late expense's cost lands in the firm's first month, long before the day
    assert spent_on.replace(day=1) == first_month
    assert late_first_month_cost > first_month_cost

    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse, full)
    _dbt_build(daily_run, full, AS_OF, "--full-refresh")
    assert _differences(warehouse, full) == {}


def test_a_batch_that_changes_status_rebuilds_the_models_that_read_the_outbox(daily_run, tmp_path):
    """A billing batch the ERP refuses for good changes its status, not its records: the
    records frozen into it turn from in_billing_batch to billing_batch_dead_letter."""
    from erp.outbox import ensure_schema

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(daily_run / "warehouse.duckdb", warehouse)
    _dbt_build(daily_run, warehouse, AS_OF)  # settled at AS_OF, whatever other tests built
    reason_of = "select billing_reason from marts.reconciliation_records where correlation_id = ?"
    with connect(warehouse) as con:
        ensure_schema(con)
        (correlation_id,) = con.execute(
            "select correlation_id from marts.reconciliation_records "
            "where billing_reason = 'awaiting_invoice' and record_kind = 'time_entry' "
            "order by correlation_id limit 1"
        ).fetchone()
        con.execute(
            "insert into ops.erp_outbox (batch_key, period, client_ref, contract_ref, "
            "legal_entity, currency, payload, payload_hash, line_count, total_quantity, "
            "total_amount, expected_tax, status, attempts, frozen_by_run, frozen_at, updated_at) "
            "values ('batch-test', '2025-06', 'C', 'K', 'US01', 'USD', '{}', 'h', 1, 1, 1, 0, "
            "'ready', 0, 'run-test', now()::timestamp, now()::timestamp)"
        )
        con.execute(
            "insert into ops.erp_outbox_correlations values (?, 'line-test', 'batch-test')",
            [correlation_id],
        )
    _dbt_build(daily_run, warehouse, AS_OF)
    with connect(warehouse, read_only=True) as con:
        assert con.execute(reason_of, [correlation_id]).fetchone() == ("in_billing_batch",)

    with connect(warehouse) as con:
        con.execute(
            "update ops.erp_outbox set status = 'dead_letter', updated_at = now()::timestamp "
            "where batch_key = 'batch-test'"
        )
    _dbt_build(daily_run, warehouse, AS_OF)

    last_kinds = _last_build_kinds(warehouse)
    assert last_kinds == AFTER_AN_OUTBOX_CHANGE
    with connect(warehouse, read_only=True) as con:
        reason = con.execute(reason_of, [correlation_id]).fetchone()
    assert reason == ("billing_batch_dead_letter",)

"""The run summaries of serving/summary.py on hand-written dbt artifacts (no pipeline run).

End to end through ``d2b run``: tests/test_cli.py.
"""

from __future__ import annotations

import json

import duckdb

from serving.summary import dbt_problems, failure_summary, warehouse_summary

TEST = "test.deliver_to_bill.assert_hours_are_small"
MODEL = "model.deliver_to_bill.fct_time_entries"
BROKEN = "model.deliver_to_bill.billing_exceptions"


def _artifacts(target, results):
    target.mkdir()
    (target / "run_results.json").write_text(json.dumps({"results": results}))
    nodes = {
        TEST: {
            "resource_type": "test",
            "name": "assert_hours_are_small",
            "depends_on": {"nodes": [MODEL]},
        },
        MODEL: {"resource_type": "model", "name": "fct_time_entries"},
        BROKEN: {"resource_type": "model", "name": "billing_exceptions"},
    }
    (target / "manifest.json").write_text(json.dumps({"nodes": nodes}))


def test_a_failed_test_shows_its_model_count_and_first_records_a_model_its_error(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE entries AS SELECT range AS id, 20 AS hours FROM range(5)")
    error = (
        "Runtime Error in model billing_exceptions\n  Binder Error: no column x\n\n  LINE 3\n  more"
    )
    _artifacts(
        tmp_path / "target",
        [
            {
                "unique_id": TEST,
                "status": "fail",
                "failures": 5,
                "message": "Got 5 results",
                # a compiled test may end in a comment
                "compiled_code": "select id, hours from entries order by id -- over 16 h",
            },
            {
                "unique_id": BROKEN,
                "status": "error",
                "failures": None,
                "message": error,
                "compiled_code": "",
            },
            {"unique_id": MODEL, "status": "success", "failures": None, "message": "OK"},
            {"unique_id": "model.deliver_to_bill.later", "status": "skipped", "failures": None},
        ],
    )

    problems, skipped = dbt_problems(tmp_path / "target", warehouse)
    lines = failure_summary(
        [("dbt build (d2b_dbt_models)", "exit code 1")],
        problems,
        skipped,
        ["dbt log: target/dbt.log"],
    )

    assert lines == [
        "Why the run failed:",
        "  step dbt build (d2b_dbt_models) failed: exit code 1",
        "  dbt test assert_hours_are_small on fct_time_entries: 5 failing records",
        "    id=0, hours=20",
        "    id=1, hours=20",
        "    id=2, hours=20",
        "    ... and 2 more",
        "  dbt model billing_exceptions failed:",
        "    Runtime Error in model billing_exceptions",
        "    Binder Error: no column x",
        "    LINE 3",
        "  skipped downstream: 1 dbt nodes; nothing was published",
        "Where to look next:",
        "  dbt log: target/dbt.log",
    ]


# --- the money summary and the phase lines of d2b run ---------------------------------------


def _summary_warehouse(path):
    """A hand-written warehouse: four projects' WIP (two of one client, one known to its PSA
    only, one of no known client), leakage of two causes, three files registered."""
    aging = ", ".join(
        f"value_aged_{suffix}_reporting" for suffix in ("0_30", "31_60", "61_90", "91_120")
    )
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA ops; CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE ops.landed_files AS SELECT * FROM (VALUES "
            "('loaded', 120), ('loaded', 30), ('rejected', 0)) AS t(status, rows_loaded)"
        )
        con.execute(
            "CREATE TABLE marts.fct_time_entries AS SELECT * FROM (VALUES (8.0), (7.5)) t(hours)"
        )
        con.execute(
            "CREATE TABLE marts.unbilled_approved_hours AS SELECT * FROM (VALUES "
            "('harvest', '11', 'p11', DATE '2026-06-30', 3, 10.0, 'USD', 1000.00, "
            "  500.00, 0, 0, 400.00, 100.00),"
            "('harvest', '12', 'p12', DATE '2026-06-30', 1, 2.5, 'USD', 250.50, "
            "  250.50, 0, 0, 0, 0),"
            "('toggl', '77', 'p77', DATE '2026-06-30', 2, 4.0, 'USD', 300.00, "
            "  0, 300.00, 0, 0, 0),"
            "('harvest', '900', 'p900', DATE '2026-06-30', 1, 1.0, 'USD', 80.00, "
            "  80.00, 0, 0, 0, 0)"
            f") AS t(source_system, project_source_id, project_id, as_of_date, time_entry_count, "
            f"unbilled_approved_hours, reporting_currency, unbilled_value_reporting, {aging}, "
            "value_aged_over_120_reporting)"
        )
        con.execute(
            "CREATE TABLE marts.dim_projects AS SELECT * FROM (VALUES "
            "('p11', 'c1', NULL), ('p12', 'c1', NULL), ('p77', NULL, 'Globex (Toggl)')"
            ") AS t(project_id, client_id, psa_client_name)"
        )
        con.execute(
            "CREATE TABLE marts.dim_clients AS SELECT 'c1' AS client_id, 'Acme Ltd' AS client_name"
        )
        con.execute(
            "CREATE TABLE marts.revenue_leakage AS SELECT * FROM (VALUES "
            "('unbilled_over_90_days', 'USD', 300.00), ('unbilled_over_90_days', 'USD', 200.00), "
            "('billed_below_rate', 'USD', 45.50)"
            ") AS t(cause, reporting_currency, leakage_amount_reporting)"
        )


def test_the_run_summary_speaks_money_and_names_clients(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    _summary_warehouse(warehouse)

    lines = warehouse_summary(warehouse)

    assert lines == [
        "Files loaded so far: 2 loaded (150 rows), 1 rejected",
        "Time entries: 2 entries, 15.50 hours",
        "Unbilled approved hours as of 2026-06-30: 17.50 hours in 7 entries on 4 projects, "
        "worth USD 1,631 (work in progress)",
        "  aged by days since approval: 0-30 USD 831; 31-60 USD 300; 61-90 USD 0; "
        "91-120 USD 400; over 120 USD 100",
        "  largest 3 clients by work in progress:",
        "    Acme Ltd" + " " * 14 + "USD 1,251  (12.50 h, USD 100 over 120 days)",
        "    Globex (Toggl)" + " " * 10 + "USD 300  (4.00 h)",
        "    harvest:900" + " " * 14 + "USD 80  (1.00 h)",
        "Revenue leakage: USD 546 in 3 records, by cause:",
        "  unbilled over 90 days" + " " * 10 + "USD 500  (2 records)",
        "  billed below rate" + " " * 15 + "USD 46  (1 record)",
    ]

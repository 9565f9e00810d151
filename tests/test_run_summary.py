"""The run summaries of serving/summary.py on hand-written dbt artifacts (no pipeline run).

End to end through ``d2b run``: tests/test_cli.py.
"""

from __future__ import annotations

import json

import duckdb

from serving.summary import dbt_problems, failure_summary

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

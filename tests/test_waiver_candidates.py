"""Exception waivers reach the billing candidates (marts.billing_waivers), on the sample firm.

Waivers are placed on excepted records of the sample firm's warehouse (a copy), as the billing
store's mirror puts them there, and the waivers and candidates marts are rebuilt: a record
whose exception is waived in force becomes a candidate; one whose exception is not the one
waived, a lifted waiver or one expired by the as-of date does not.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from erp.outbox import waivers
from ingest.warehouse import connect
from tests.pipeline_runs import PipelineRun, dbt_build

REBUILT = "stg_ops__billing_waivers billing_waivers billing_batch_candidates"

#: An excepted time entry that would be a candidate but for its exceptions (as the mart asks).
EXCEPTED = """
select t.correlation_id, t.exception_reasons
from marts.fct_time_entries t join marts.dim_contracts c using (contract_id)
where not t.is_valid and t.is_approved and t.is_billable and not t.is_invoiced
    and not t.is_batched and not t.has_contract_exception
    and c.billing_method = 'time_and_materials' and t.resolved_bill_rate > 0 and t.hours > 0
    and date_trunc('month', t.work_date) + interval 1 month <= ?
order by t.correlation_id
"""


def waive_and_rebuild(warehouse: Path, as_of: date) -> dict[str, tuple[str, bool]]:
    """Place the four kinds of waiver on excepted records of ``warehouse``, rebuild, and
    return each case's record and whether it is now a candidate."""
    with connect(warehouse) as con:
        waivers.ensure_schema(con)
        excepted = con.execute(EXCEPTED, [as_of + timedelta(days=1)]).fetchall()
        single = [cid for cid, reasons in excepted if reasons in waivers.WAIVABLE_EXCEPTIONS]
        # excepted for something that cannot be waived (a duplicate): a waiver of another
        # exception leaves it excepted
        duplicate = next(cid for cid, reasons in excepted if reasons == "duplicate_entry")
        reason_of = dict(excepted)
        cases = {
            "waived": single[0],
            "lifted": single[1],
            "expired": single[2],
            "other_exception": duplicate,
        }
        rows = [
            ("w-waived", cases["waived"], reason_of[cases["waived"]], as_of + timedelta(days=30)),
            ("w-lifted", cases["lifted"], reason_of[cases["lifted"]], as_of + timedelta(days=30)),
            ("w-expired", cases["expired"], reason_of[cases["expired"]], as_of),
            ("w-other", duplicate, "over_daily_limit", as_of + timedelta(days=30)),
        ]
        for waiver_id, cid, code, until in rows:
            con.execute(
                "INSERT INTO ops.billing_waivers VALUES (?, ?, ?, 'bob', 'agreed', ?, now())",
                [waiver_id, cid, code, until],
            )
        con.execute("INSERT INTO ops.billing_waiver_lifts VALUES ('w-lifted', 'carol', now())")
    dbt_build(warehouse, as_of, REBUILT)
    with connect(warehouse, read_only=True) as con:
        candidates = {
            cid
            for (cid,) in con.execute(
                "SELECT correlation_id FROM marts.billing_batch_candidates"
            ).fetchall()
        }
        waived = dict(
            con.execute("SELECT waiver_id, is_record_waived FROM marts.billing_waivers").fetchall()
        )
    assert waived == {"w-waived": True, "w-lifted": False, "w-expired": False, "w-other": False}
    return {case: (cid, cid in candidates) for case, cid in cases.items()}


@pytest.mark.slow
def test_a_record_whose_every_exception_is_waived_is_a_candidate(sample_run: PipelineRun, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_run.warehouse, warehouse)
    with connect(warehouse, read_only=True) as con:
        ((before,),) = con.execute("SELECT count(*) FROM marts.billing_batch_candidates").fetchall()
    outcome = waive_and_rebuild(warehouse, sample_run.as_of)
    assert {case: is_candidate for case, (_, is_candidate) in outcome.items()} == {
        "waived": True,
        "lifted": False,
        "expired": False,
        "other_exception": False,
    }
    with connect(warehouse, read_only=True) as con:
        ((after,),) = con.execute("SELECT count(*) FROM marts.billing_batch_candidates").fetchall()
    assert after == before + 1

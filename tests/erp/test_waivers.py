"""Exception waivers (erp.outbox.waivers) on a hand-made billing store.

A waiver accepts one waivable exception of one record until it expires or is lifted;
exceptions that leave a record unbillable are refused; placing and lifting are audited
under the record's correlation id.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from erp.billing_store import BILLING_TABLES, ensure_schema
from erp.outbox import store as outbox_store
from erp.outbox import waivers

NOW = datetime(2026, 4, 2, 18)
RECORD = "psa:time_entry:harvest:42"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    ticks = iter(range(10**6))
    monkeypatch.setattr(outbox_store, "now_utc", lambda: NOW + timedelta(milliseconds=next(ticks)))


@pytest.fixture
def con():
    connection = duckdb.connect()
    ensure_schema(connection)
    yield connection
    connection.close()


def waive(con, code: str, until: date = date(2026, 4, 30), record: str = RECORD) -> str:
    return waivers.place_waiver(
        con,
        record,
        code,
        approver="bob",
        reason="agreed with the client",
        expires_on=until,
        run_id="waive-1",
    )


def test_waivers_in_force_are_per_record_and_exception(con):
    waive(con, "over_daily_limit")
    waive(con, "rate_mismatch")
    waive(con, "missing_receipt", record="concur:expense:7")
    assert waivers.waived_exceptions(con) == {
        RECORD: {"over_daily_limit", "rate_mismatch"},
        "concur:expense:7": {"missing_receipt"},
    }
    assert {"ops.billing_waivers", "ops.billing_waiver_lifts"} <= set(BILLING_TABLES)


def test_a_waiver_ends_on_its_expiry_or_when_lifted_and_both_are_audited(con, monkeypatch):
    lifted = waive(con, "future_dated")
    waive(con, "closed_project", until=date(2026, 4, 3))
    waivers.lift_waiver(con, lifted, by="carol", run_id="lift-1")
    assert waivers.waived_exceptions(con) == {RECORD: {"closed_project"}}
    monkeypatch.setattr(outbox_store, "now_utc", lambda: datetime(2026, 4, 3))
    assert waivers.active_waivers(con) == []
    with pytest.raises(ValueError, match=f"no waiver {lifted} in force"):
        waivers.lift_waiver(con, lifted, by="carol", run_id="lift-2")
    assert con.execute(
        "SELECT event, to_status, actor, detail->>'exception' FROM ops.audit_log "
        "WHERE batch_key = ? ORDER BY event_at",
        [RECORD],
    ).fetchall() == [
        ("waiver_placed", "waived", "bob", "future_dated"),
        ("waiver_placed", "waived", "bob", "closed_project"),
        ("waiver_lifted", "waiver_lifted", "carol", "future_dated"),
    ]


@pytest.mark.parametrize(
    ("code", "until", "reason", "message"),
    [
        ("implausible_date", date(2026, 5, 1), "x", "'implausible_date' cannot be waived"),
        ("missing_rate", date(2026, 5, 1), "x", "'missing_rate' cannot be waived"),
        ("duplicate_entry", date(2026, 5, 1), "x", "'duplicate_entry' cannot be waived"),
        ("future_dated", date(2026, 4, 2), "x", "must expire after today \\(2026-04-02\\)"),
        ("future_dated", date(2026, 5, 1), " ", "needs an approver and a reason"),
    ],
)
def test_waivers_are_refused_for_what_must_be_corrected_at_the_source(
    con, code, until, reason, message
):
    with pytest.raises(ValueError, match=message):
        waivers.place_waiver(
            con, RECORD, code, approver="bob", reason=reason, expires_on=until, run_id="w"
        )
    assert waivers.active_waivers(con) == []

"""The release gate, holds and the as-of pin on hand-made candidates and a file-drop ERP.

A billing run freezes into ``awaiting_release``; nothing is sent before a person or the
entity's auto-release rule releases a batch; a held batch waits, a held record is not frozen
at all; and candidates built as of another date than the run's are refused before anything
is frozen.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bench.sample import sample_batches
from erp import outbox
from erp.billing_cycle import bill_periods, read_candidates
from erp.candidates import StaleCandidatesError, batches_for_period
from erp.outbox import NO_BACKOFF, releasing
from erp.outbox import store as outbox_store
from erp.outbox.store import AWAITING_RELEASE, READY, Audit
from tests.candidates import write_candidates, write_release_rules

from .conftest import audit_events

PERIOD = "2026-03"
AS_OF = date(2026, 4, 2)
#: The outbox clock's start during these tests: holds expire against its date.
NOW = datetime(2026, 4, 2, 18)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The outbox clock ticks a millisecond per reading (the audit log orders by it)."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(outbox_store, "now_utc", lambda: NOW + timedelta(milliseconds=next(ticks)))


@pytest.fixture
def batches():
    """Four clients' March batches: one per sample entity (US01, GB01, DE01, CA01)."""
    return sample_batches(4, period=PERIOD, lines_per_batch=3, entries_per_line=2)


@pytest.fixture
def candidates(warehouse, batches):
    """The batches' records as the candidates mart, built as of ``AS_OF``."""
    write_candidates(warehouse, batches, as_of=AS_OF, auto_release=False)
    return warehouse


def auto_release(con, *entities: str) -> None:
    """The firm's auto-release rules: ``entities`` automatic, the others by a person."""
    write_release_rules(con, {e: e in entities for e in ("US01", "GB01", "DE01", "CA01")})


def statuses(con) -> dict[str, str]:
    return dict(con.execute("SELECT legal_entity, status FROM ops.erp_outbox").fetchall())


def test_a_frozen_batch_is_not_sent_before_release(warehouse, filedrop, batches):
    outbox.freeze(warehouse, batches, "run-1", await_release=True)
    assert outbox.status_counts(warehouse) == {AWAITING_RELEASE: 4}
    assert outbox.send(warehouse, filedrop, "run-1", backoff=NO_BACKOFF).attempts == 0
    assert filedrop.read_invoices(None) == []

    released = outbox.release(warehouse, "run-2", by="alice", legal_entities=["GB01"])
    assert released.released == [b.batch_key for b in batches if b.legal_entity == "GB01"]
    sent = outbox.send(warehouse, filedrop, "run-2", backoff=NO_BACKOFF)
    assert sent.created == released.released
    assert outbox.status_counts(warehouse) == {AWAITING_RELEASE: 3, "sent": 1}
    (key,) = released.released
    assert audit_events(warehouse, key) == ["frozen", "released", "sent"]
    ((actor, event_at, rule),) = warehouse.execute(
        "SELECT actor, event_at, detail->>'rule' FROM ops.audit_log "
        "WHERE batch_key = ? AND event = 'released'",
        [key],
    ).fetchall()
    assert (actor, event_at.date(), rule) == ("alice", NOW.date(), "manual")


def test_awaiting_release_cannot_skip_to_sent():
    with pytest.raises(ValueError, match="illegal outbox transition awaiting_release -> sent"):
        Audit("run", "test").add("k", "sent", AWAITING_RELEASE, "sent")


def test_a_held_batch_waits_until_its_hold_is_lifted_or_expires(warehouse, batches):
    outbox.freeze(warehouse, batches[:2], "run-1", await_release=True)
    first, second = (b.batch_key for b in batches[:2])
    hold = outbox.place_hold(
        warehouse,
        releasing.BATCH,
        first,
        approver="bob",
        reason="client disputes March rates",
        expires_on=date(2026, 4, 30),
        run_id="hold-1",
    )
    result = outbox.release(warehouse, "run-2", by="alice")
    assert result.released == [second]
    assert result.held == {first: "client disputes March rates (held by bob until 2026-04-30)"}

    outbox.lift_hold(warehouse, hold, by="carol", run_id="lift-1")
    assert outbox.release(warehouse, "run-3", by="alice").released == [first]
    assert audit_events(warehouse, first) == ["frozen", "hold_placed", "hold_lifted", "released"]
    assert warehouse.execute(
        "SELECT actor FROM ops.audit_log WHERE batch_key = ? AND event LIKE 'hold_%' "
        "ORDER BY event_at",
        [first],
    ).fetchall() == [("bob",), ("carol",)]


def test_an_expired_hold_no_longer_holds(warehouse, batches, monkeypatch):
    outbox.freeze(warehouse, batches[:1], "run-1", await_release=True)
    key = batches[0].batch_key
    outbox.place_hold(
        warehouse,
        releasing.BATCH,
        key,
        approver="bob",
        reason="awaiting PO",
        expires_on=date(2026, 4, 3),
        run_id="hold-1",
    )
    assert outbox.release(warehouse, "run-2", by="alice").released == []
    monkeypatch.setattr(outbox_store, "now_utc", lambda: datetime(2026, 4, 3, 0, 0))
    assert outbox.release(warehouse, "run-3", by="alice").released == [key]


def test_holds_are_refused_without_reason_or_on_a_released_batch(warehouse, batches):
    outbox.freeze(warehouse, batches[:1], "run-1")  # no gate: straight to ready
    key = batches[0].batch_key
    with pytest.raises(ValueError, match="is ready: only a batch awaiting release"):
        outbox.place_hold(
            warehouse,
            releasing.BATCH,
            key,
            approver="bob",
            reason="late",
            expires_on=date(2026, 5, 1),
            run_id="h",
        )
    with pytest.raises(ValueError, match="needs an approver and a reason"):
        outbox.place_hold(
            warehouse,
            releasing.RECORD,
            "te_1",
            approver="bob",
            reason=" ",
            expires_on=date(2026, 5, 1),
            run_id="h",
        )
    with pytest.raises(ValueError, match="must expire after today"):
        outbox.place_hold(
            warehouse,
            releasing.RECORD,
            "te_1",
            approver="bob",
            reason="r",
            expires_on=NOW.date(),
            run_id="h",
        )


def test_a_billing_run_releases_auto_entities_and_never_bills_a_held_record(
    candidates, filedrop, batches
):
    auto_release(candidates, "US01", "DE01")
    us_batch = next(b for b in batches if b.legal_entity == "US01")
    held_record = us_batch.lines[0].correlation_ids[0]
    outbox.place_hold(
        candidates,
        releasing.RECORD,
        held_record,
        approver="bob",
        reason="entry under review",
        expires_on=date(2026, 5, 1),
        run_id="hold-1",
    )

    cycle = bill_periods(
        candidates,
        read_candidates(candidates, [PERIOD], AS_OF),
        filedrop,
        run_id="bill-1",
        by="alice",
        backoff=NO_BACKOFF,
    )

    (billed,) = cycle.periods
    assert billed.held_records == 1
    assert statuses(candidates) == {
        "US01": "reconciled",
        "DE01": "reconciled",
        "GB01": AWAITING_RELEASE,
        "CA01": AWAITING_RELEASE,
    }
    (frozen_cids,) = candidates.execute(
        "SELECT list(correlation_id) FROM ops.erp_outbox_correlations"
    ).fetchone()
    assert held_record not in frozen_cids
    assert len(frozen_cids) == sum(len(b.correlation_ids) for b in batches) - 1
    assert candidates.execute(
        "SELECT DISTINCT actor, detail->>'rule' FROM ops.audit_log WHERE event = 'released'"
    ).fetchall() == [("config/billing_release", "auto")]
    assert candidates.execute(
        "SELECT event, to_status, actor FROM ops.audit_log WHERE batch_key = ?", [held_record]
    ).fetchall() == [("hold_placed", "held", "bob")]

    # A person releases the rest: sent once; a second run sends nothing.
    again = bill_periods(
        candidates,
        read_candidates(candidates, [PERIOD], AS_OF),
        filedrop,
        run_id="bill-2",
        by="alice",
        release=True,
        backoff=NO_BACKOFF,
    )
    assert sorted(again.periods[0].released) == sorted(
        b.batch_key for b in batches if b.legal_entity in ("GB01", "CA01")
    )
    assert set(statuses(candidates).values()) == {"reconciled"}
    third = bill_periods(
        candidates,
        read_candidates(candidates, [PERIOD], AS_OF),
        filedrop,
        run_id="bill-3",
        by="alice",
        release=True,
        backoff=NO_BACKOFF,
    )
    assert third.send.attempts == 0 and third.periods[0].freeze.frozen == []


def test_freeze_refuses_candidates_built_for_another_as_of_date(candidates, filedrop):
    with pytest.raises(
        StaleCandidatesError,
        match=(
            "candidates of 2026-03 were built as of 2026-04-02, not the billing run's as-of date "
            "2026-04-20"
        ),
    ):
        read_candidates(candidates, [PERIOD], date(2026, 4, 20))
    assert outbox.status_counts(candidates) == {}
    assert filedrop.read_invoices(None) == []


def test_held_records_are_left_out_of_the_batches(candidates, batches):
    batch = batches[0]
    held = set(batch.lines[0].correlation_ids)
    rebuilt = {b.client_ref: b for b in batches_for_period(candidates, PERIOD, held=held)}
    assert set(rebuilt[batch.client_ref].correlation_ids) == set(batch.correlation_ids) - held
    assert rebuilt[batch.client_ref].batch_key != batch.batch_key
    assert READY not in outbox.status_counts(candidates)

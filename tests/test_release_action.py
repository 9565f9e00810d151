"""The Billing operations page's release action (dashboards.release) with Streamlit's AppTest.

On a hand-made billing store: four batches frozen behind the release gate, one of them held.
A user whose role allows ``release_billing`` releases through the same code as ``d2b bill
--release`` (the audit row names them); a viewer sees no button; a held batch stays.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from bench.sample import sample_batches
from dashboards.access import (
    PRINCIPAL_KEY,
    RELEASE_BILLING,
    Principal,
    Scope,
    parse_policy,
    principal_from_claims,
)
from erp import outbox
from erp.billing_store import open_store
from erp.outbox import releasing
from erp.outbox import store as outbox_store

PERIOD = "2026-03"


def release_page(waiting) -> None:
    """The release action over ``waiting`` (the batches awaiting release the page shows)."""
    from dashboards.release import release_action

    release_action(waiting)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A D2B_HOME whose billing store holds four batches awaiting release, the first (by
    key) held."""
    monkeypatch.setenv("D2B_HOME", str(tmp_path))
    for name in ("D2B_WAREHOUSE", "D2B_BILLING_STORE", "D2B_LANDING", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(outbox_store, "now_utc", lambda: datetime(2026, 4, 2, 18))
    batches = sample_batches(4, period=PERIOD, lines_per_batch=2, entries_per_line=1)
    with open_store(tmp_path / "billing" / "billing.duckdb") as con:
        outbox.freeze(con, batches, "freeze-1", await_release=True)
        outbox.place_hold(
            con,
            releasing.BATCH,
            min(b.batch_key for b in batches),
            approver="bob",
            reason="client disputes March rates",
            expires_on=date(2026, 4, 30),
            run_id="hold-1",
        )
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()  # mirrored into after release
    return tmp_path


def run_as(principal: Principal, home: Path) -> AppTest:
    with duckdb.connect(str(home / "billing" / "billing.duckdb"), read_only=True) as con:
        waiting = con.execute(
            "SELECT batch_key, client_ref AS client_name, period FROM ops.erp_outbox "
            "WHERE status = 'awaiting_release' ORDER BY batch_key"
        ).df()
    app = AppTest.from_function(release_page, args=(waiting,), default_timeout=30)
    app.session_state[PRINCIPAL_KEY] = principal
    app.run()
    assert not app.exception, app.exception
    return app


def statuses(path: Path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("SELECT batch_key, status FROM ops.erp_outbox").fetchall())


def test_an_allowed_role_releases_and_the_audit_row_names_them(home):
    finance = Principal("fin@firm.example", Scope(), permissions=frozenset({RELEASE_BILLING}))
    app = run_as(finance, home)
    store = home / "billing" / "billing.duckdb"
    keys = sorted(statuses(store))
    app = app.multiselect(key="release_batches").set_value(keys).run()  # the held one too
    app.button(key="release_button").click().run()
    assert not app.exception, app.exception

    after = statuses(store)
    assert [after[k] for k in keys] == ["awaiting_release", "ready", "ready", "ready"]
    assert "Released 3 batch(es) as fin@firm.example" in app.success[0].value
    assert "is on hold and was not released: client disputes March rates" in app.error[0].value
    with duckdb.connect(str(store), read_only=True) as con:
        audit = con.execute(
            "SELECT batch_key, actor, event_at, detail->>'rule' FROM ops.audit_log "
            "WHERE event = 'released' ORDER BY batch_key"
        ).fetchall()
    assert audit == [(k, "fin@firm.example", datetime(2026, 4, 2, 18), "manual") for k in keys[1:]]
    # mirrored into the warehouse, so the next d2b run sees them ready and sends them
    assert statuses(home / "warehouse.duckdb") == after


def test_a_viewer_sees_no_release_button(home):
    policy = parse_policy(
        '[[grant]]\nrole = "regional_lead"\nemails = ["lead@firm.example"]\nregions = ["EU"]\n'
        '[[grant]]\nrole = "entity_finance"\nemails = ["fin@firm.example"]\n'
        'legal_entities = ["GB01"]\n'
    )
    lead = principal_from_claims({"email": "lead@firm.example"}, policy)
    assert not lead.may(RELEASE_BILLING)
    assert principal_from_claims({"email": "fin@firm.example"}, policy).may(RELEASE_BILLING)
    app = run_as(lead, home)
    assert not app.button and not app.multiselect
    assert set(statuses(home / "billing" / "billing.duckdb").values()) == {"awaiting_release"}


def test_a_busy_store_releases_nothing_and_says_so(home):
    executive = Principal("ceo@firm.example", Scope(), permissions=frozenset({RELEASE_BILLING}))
    app = run_as(executive, home)
    store = home / "billing" / "billing.duckdb"
    app = app.multiselect(key="release_batches").set_value(sorted(statuses(store))[1:2]).run()
    # a billing run in another process holds DuckDB's write lock on the store
    billing_run = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(store)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert billing_run.stdout.readline().strip() == "locked"
        app.button(key="release_button").click().run()
    finally:
        billing_run.kill()
        billing_run.wait()
    assert "a billing run is using the billing store: nothing was released" in app.error[0].value
    assert not app.success
    assert set(statuses(store).values()) == {"awaiting_release"}


#: A child process that opens a DuckDB file for writing and keeps it open.
HOLD_LOCK = (
    "import sys, time, duckdb\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "time.sleep(60)\n"
)

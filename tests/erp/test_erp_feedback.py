"""The daily ERP feedback: state, due date and payments of the invoices not yet final, read
from a real Tryton (payments entered the way a bookkeeper does, through Tryton's pay wizard)
and from a file drop."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from decimal import Decimal

import duckdb

from bench.sample import sample_batches
from d2b.settings import Settings
from dagster_project.cli import read_erp_feedback
from erp.adapters import make_adapter
from erp.adapters.base import payment_term_days
from erp.adapters.tryton import TrytonAdapter
from erp.billing_store import open_store
from erp.outbox import NO_BACKOFF, read_feedback
from erp.run_billing import run_billing
from erp.settings import ErpSettings


def pay_in_tryton(tryton, document_id: str, amount: Decimal, day: date) -> None:
    """Enter a customer payment against an invoice with Tryton's own pay wizard (proteus)."""
    from proteus import Model, Wizard

    cfg = tryton.connect()
    invoice = Model.get("account.invoice", config=cfg)(int(document_id))
    company = invoice.company.id
    with cfg.set_context(company=company):
        (cash_journal,) = Model.get("account.journal", config=cfg).find([("type", "=", "cash")])
        # 1.1.1 "Cash and Cash Equivalents" of Tryton's universal chart
        (cash,) = Model.get("account.account", config=cfg).find(
            [("company", "=", company), ("code", "=", "1.1.1")]
        )
        method = Model.get("account.invoice.payment.method", config=cfg)(
            name="Bank transfer",
            company=invoice.company,
            journal=cash_journal,
            credit_account=cash,
            debit_account=cash,
        )
        method.save()
        pay = Wizard("account.invoice.pay", [invoice], config=cfg)
        pay.form.amount = amount
        pay.form.payment_method = method
        pay.form.date = day
        pay.execute("choice")
        if pay.form_state == "ask":  # less than due: keep the rest open
            pay.form.type = "partial"
            pay.execute("pay")


def test_feedback_reads_due_dates_and_payments_and_skips_paid_invoices(warehouse, tryton):
    batches = sample_batches(3, lines_per_batch=3)
    run_billing(warehouse, tryton, batches, "run-1", backoff=NO_BACKOFF)
    documents = dict(
        warehouse.execute("SELECT batch_key, erp_document_id FROM ops.erp_outbox").fetchall()
    )
    paid, partly_paid, draft = (b.batch_key for b in batches)
    tryton.post([documents[paid], documents[partly_paid]], acknowledge=("invoice_payment_term",))
    (full,) = [s for s in tryton.read_statuses([paid]) if s.batch_key == paid]
    pay_in_tryton(tryton, documents[paid], full.total_amount, date(2026, 5, 2))
    pay_in_tryton(tryton, documents[partly_paid], Decimal("1000.00"), date(2026, 5, 20))

    first = read_feedback(warehouse, tryton, "feedback-1")
    assert (first.asked, first.read) == (3, 3)
    assert first.states == {"draft": 1, "paid": 1, "posted": 1}
    readings = {
        key: row
        for key, *row in warehouse.execute(
            "SELECT batch_key, state, due_date, amount_paid, amount_due, paid_date, "
            "last_payment_date, total_amount FROM raw.erp_api__invoice_status"
        ).fetchall()
    }
    by_key = {b.batch_key: b for b in batches}
    for key in (paid, partly_paid):
        batch = by_key[key]
        # One instalment: due on the invoice date plus the batch's terms.
        assert readings[key][1] == batch.invoice_date + timedelta(
            days=payment_term_days(batch.payment_terms)
        )
    total = readings[paid][6]
    assert readings[paid][:1] + readings[paid][2:6] == [
        "paid",
        total,
        0,
        date(2026, 5, 2),
        date(2026, 5, 2),
    ]
    total = readings[partly_paid][6]
    assert readings[partly_paid][0] == "posted"
    assert readings[partly_paid][2:6] == [Decimal("1000.00"), total - 1000, None, date(2026, 5, 20)]
    # Not posted: nothing due yet, no maturity.
    assert readings[draft][:5] == ["draft", None, None, None, None]

    # The paid invoice is final: the next day's feedback asks only for the two others.
    second = read_feedback(warehouse, tryton, "feedback-2")
    assert (second.asked, second.read) == (2, 2)
    counts = dict(
        warehouse.execute(
            "SELECT batch_key, count(*) FROM raw.erp_api__invoice_status GROUP BY 1"
        ).fetchall()
    )
    assert counts == {paid: 1, partly_paid: 2, draft: 2}


def test_file_drop_feedback_gives_due_dates_but_no_payments(warehouse, filedrop):
    batches = sample_batches(2, lines_per_batch=2)
    run_billing(warehouse, filedrop, batches, "run-1", backoff=NO_BACKOFF)
    # The ERP's import books the first file.
    filedrop.acknowledged.mkdir(exist_ok=True)
    booked = filedrop.document_path(batches[0].batch_key)
    booked.rename(filedrop.acknowledged / booked.name)

    result = read_feedback(warehouse, filedrop, "feedback-1")
    assert result.states == {"draft": 1, "posted": 1}
    rows = warehouse.execute(
        "SELECT batch_key, state, due_date, amount_paid, amount_due, paid_date "
        "FROM raw.erp_api__invoice_status ORDER BY state"
    ).fetchall()
    expected_due = {
        b.batch_key: b.invoice_date + timedelta(days=payment_term_days(b.payment_terms))
        for b in batches
    }
    assert rows == [
        (batches[1].batch_key, "draft", expected_due[batches[1].batch_key], None, None, None),
        (batches[0].batch_key, "posted", expected_due[batches[0].batch_key], None, None, None),
    ]
    # A file drop never reports a payment, so its invoices stay open and are read every day.
    assert read_feedback(warehouse, filedrop, "feedback-2").asked == 2


def test_d2b_run_reads_the_feedback_before_its_build_and_never_fails(
    tmp_path, tryton, erp_settings
):
    """``d2b run``'s step (``dagster_project.cli.read_erp_feedback``) on a home whose billing
    store bills into a real Tryton: nothing sent, then two invoices read (one posted) into the
    warehouse the build reads, then an ERP that does not answer and settings that do not
    resolve, each one line and no failure."""
    home = tmp_path / "home"
    settings = Settings.from_env({"D2B_HOME": str(home)})
    built: list[TrytonAdapter] = []

    def embedded() -> TrytonAdapter:
        built.append(TrytonAdapter(erp_settings))
        return built[-1]

    assert read_erp_feedback(settings, embedded) == "ERP feedback: nothing sent to the ERP yet"
    assert not built and not settings.billing.store.exists()

    home.mkdir()
    duckdb.connect(str(settings.warehouse)).close()
    batches = sample_batches(2, lines_per_batch=2)
    with open_store(settings.billing.store, settings.warehouse) as con:
        run_billing(con, tryton, batches, "run-1", backoff=NO_BACKOFF)
        documents = dict(
            con.execute("SELECT batch_key, erp_document_id FROM ops.erp_outbox").fetchall()
        )
    posted, draft = (b.batch_key for b in batches)
    tryton.post([documents[posted]], acknowledge=("invoice_payment_term",))

    line = read_erp_feedback(settings, embedded)
    assert re.fullmatch(
        r"ERP feedback: 2 of 2 open invoices read \(1 draft, 1 posted\) in \d+\.\d s", line
    ), line
    assert len(built) == 1

    def readings() -> set[tuple[str, str]]:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            return set(
                con.execute("SELECT batch_key, state FROM raw.erp_api__invoice_status").fetchall()
            )

    # mirrored into the warehouse, where the run's dbt build reads it
    assert readings() == {(posted, "posted"), (draft, "draft")}

    unreachable = dataclasses.replace(erp_settings, xmlrpc_url="http://127.0.0.1:9/d2b_erp/rpc/")
    line = read_erp_feedback(settings, lambda: TrytonAdapter(unreachable))
    assert line.startswith("ERP feedback: not read, cannot reach the ERP: "), line
    assert line.endswith("; the marts keep the last reading") and "\n" not in line
    assert len(readings()) == 2

    clear_password = {
        "D2B_HOME": str(home),
        "D2B_ERP_XMLRPC_URL": "http://erp.example.com:8000/d2b/rpc/",
        "D2B_ERP_PASSWORD": "s3cret-pw",
    }
    line = read_erp_feedback(settings, lambda: make_adapter(ErpSettings.from_env(clear_password)))
    assert line.startswith("ERP feedback: no ERP configured (D2B_ERP_XMLRPC_URL would send"), line
    assert line.endswith("; not read") and "s3cret-pw" not in line

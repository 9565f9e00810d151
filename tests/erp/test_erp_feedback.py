"""The daily ERP feedback: state, due date and payments of the invoices not yet final, read
from a real Tryton (payments entered the way a bookkeeper does, through Tryton's pay wizard)
and from a file drop."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bench.sample import sample_batches
from erp.adapters.base import payment_term_days
from erp.outbox import NO_BACKOFF, read_feedback
from erp.run_billing import run_billing


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

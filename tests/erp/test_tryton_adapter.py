"""The Tryton adapter against a real Tryton: embedded (SQLite copy of the bootstrapped template)
and, with ``-m slow``, a trytond server over XML-RPC on PostgreSQL (tests/erp/conftest.py)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bench.sample import sample_batches
from erp.adapters.tryton import TrytonAdapter

#: The embedded mode only: its template file, its fast create path.
embedded_only = pytest.mark.parametrize("erp_settings", ["sqlite"], indirect=True)


@embedded_only
def test_bootstrap_is_cached_and_idempotent(erp_settings, template_dir):
    adapter = TrytonAdapter(erp_settings)
    adapter.connect()
    assert erp_settings.database_file.exists()
    assert list(template_dir.glob("d2b_erp_template_*.sqlite"))
    # Reconnecting reuses the database as is.
    adapter.close()
    adapter.connect()
    assert {"USD", "EUR", "GBP", "CAD"} <= adapter._ref["currencies"].keys()
    assert all("GB-VAT-STD" in c["taxes"] for c in adapter._ref["companies"].values())
    adapter.close()


def test_create_if_absent_creates_once_and_reads_back(tryton):
    batches = sample_batches(4, lines_per_batch=8)
    results = tryton.create_if_absent(batches)
    assert all(r.created and r.document_id and r.error is None for r in results)

    again = tryton.create_if_absent(batches)
    assert [r.document_id for r in again] == [r.document_id for r in results]
    assert not any(r.created for r in again)

    line_keys = [ln.line_key for b in batches for ln in b.lines]
    assert tryton.count_lines_by_key() == dict.fromkeys(line_keys, 1)

    invoices = {inv.batch_key: inv for inv in tryton.read_invoices([b.batch_key for b in batches])}
    for batch in batches:
        inv = invoices[batch.batch_key]
        totals = batch.control_totals()
        assert inv.state == "draft" and inv.number is None
        assert inv.party_code == batch.client_ref and inv.currency == batch.currency
        assert inv.untaxed_amount == totals.amount
        # Tryton computed the taxes itself; they match the warehouse's expectation.
        assert inv.tax_amount == totals.tax_amount
        assert [ln.line_key for ln in inv.lines] == [ln.line_key for ln in batch.lines]
        assert [ln.description for ln in inv.lines] == [ln.description for ln in batch.lines]
        assert inv.lines[0].tax_codes == (batch.lines[0].tax_code,)

    found = tryton.find_by_key(batches[0].batch_key)
    assert found is not None and found.document_id == results[0].document_id
    assert tryton.find_by_key("b_unknown") is None


def test_business_errors_are_isolated_per_batch(tryton):
    good = sample_batches(3, lines_per_batch=5)
    chf = replace(
        good[0],
        currency="CHF",
        client_ref="CUST-CHF",
        batch_key="",
        lines=tuple(replace(ln, line_key="") for ln in good[0].lines),
    )
    bad_tax = replace(
        good[1],
        client_ref="CUST-TAX",
        batch_key="",
        lines=tuple(replace(ln, tax_code="XX-UNKNOWN", line_key="") for ln in good[1].lines),
    )
    results = tryton.create_if_absent([good[0], chf, bad_tax, good[2]])
    assert [r.error is None for r in results] == [True, False, False, True]
    assert "CHF" in results[1].error.message
    assert "XX-UNKNOWN" in results[2].error.message
    assert tryton.find_by_key(chf.batch_key) is None

    # The correction happens in the ERP; the same batch then goes through.
    tryton.add_currency("CHF", Decimal("0.88"))
    (retried,) = tryton.create_if_absent([chf])
    assert retried.created and retried.error is None


def test_customer_refused_by_the_erp_is_a_business_error(tryton):
    first, second, third = sample_batches(3, lines_per_batch=3)
    tryton.create_if_absent([first])
    # Someone deactivates the customer in the ERP; its next batch is refused, others pass.
    party = tryton._call("party.party", "search", [("code", "=", first.client_ref)], 0, None, None)
    tryton._call("party.party", "write", party, {"active": False})
    (later,) = sample_batches(1, lines_per_batch=3, id_prefix="april")
    assert later.client_ref == first.client_ref
    results = tryton.create_if_absent([second, later, third])
    assert [r.error is None for r in results] == [True, False, True]
    assert "inactive" in results[1].error.message
    assert results[1].batch_key == later.batch_key


def test_post_numbers_the_invoice(tryton):
    batches = sample_batches(2, lines_per_batch=4)
    results = tryton.create_if_absent(batches)
    tryton.post([results[0].document_id], acknowledge=("invoice_payment_term",))
    invoices = {i.batch_key: i for i in tryton.read_invoices([b.batch_key for b in batches])}
    posted = invoices[batches[0].batch_key]
    assert posted.state == "posted" and posted.number.startswith("2026/")
    assert posted.tax_amount == batches[0].control_totals().tax_amount
    assert invoices[batches[1].batch_key].state == "draft"


@embedded_only
def test_embedded_create_matches_a_nested_rpc_create(tryton):
    """The embedded fast path gives the same invoices as one nested create (the XML-RPC path)."""
    (batch,) = sample_batches(1, lines_per_batch=6)
    twin = replace(
        batch,
        contract_ref="CTR-TWIN",
        batch_key="",
        lines=tuple(replace(ln, line_key="") for ln in batch.lines),
    )
    (fast,) = tryton.create_if_absent([batch])
    (nested_id,) = tryton._call("account.invoice", "create", [tryton._invoice_values(twin)])
    invoices = {inv.batch_key: inv for inv in tryton.read_invoices(None)}

    def shape(inv):
        lines = [
            (ln.description, ln.product_code, ln.quantity, ln.unit_price, ln.amount, ln.tax_codes)
            for ln in inv.lines
        ]
        return (inv.state, inv.untaxed_amount, inv.tax_amount, inv.total_amount, lines)

    assert shape(invoices[batch.batch_key]) == shape(invoices[twin.batch_key])
    assert invoices[twin.batch_key].document_id == str(nested_id)

    def taxes(invoice_id):
        rows = tryton._call(
            "account.invoice.tax",
            "search_read",
            [("invoice", "=", int(invoice_id))],
            0,
            None,
            None,
            ["tax", "base", "amount", "account"],
        )
        return sorted((r["tax"], r["base"], r["amount"], r["account"]) for r in rows)

    assert taxes(fast.document_id) == taxes(nested_id) != []

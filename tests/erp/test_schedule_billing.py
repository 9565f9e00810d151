"""Billing every method (docs/design.md §4, §6): the candidate records of a firm's schedule
amounts, written by hand from the definitions, become one invoice line per line kind in a
real (embedded) Tryton, exactly once, and in the file drop's journal import.

Client ACME (US01, USD, tax US-EXEMPT), June 2026:

- contract FF: instalment 2 of 3 due 30 June, 10000.00 (one unit at the amount);
- contract RT: June's retainer fee 5000.00, and its overage of 2 hours at 150.00 = 300.00
  (12 h approved, 10 included);
- contract MS: milestone "Design signed off" accepted 15 June, 8000.00;
- contract TM: 6 h of a Consultant at 200.00 = 1200.00 (time and materials, as before).
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest

from erp.adapters.filedrop import COLUMNS
from erp.candidates import batches_from_rows
from erp.model import (
    FIXED_FEE_INSTALMENT,
    LABOUR,
    MILESTONE,
    RETAINER_FEE,
    RETAINER_OVERAGE,
    BatchLine,
)
from erp.outbox import NO_BACKOFF
from erp.run_billing import run_billing

from .conftest import assert_exactly_once

embedded_only = pytest.mark.parametrize("erp_settings", ["sqlite"], indirect=True)

D = Decimal


def _row(contract: str, kind: str, category: str, description: str, correlation_id: str, **money):
    return {
        "period": "2026-06",
        "client_ref": "ACME",
        "client_name": "Acme Corp",
        "contract_ref": contract,
        "legal_entity": "US01",
        "currency": "USD",
        "invoice_date": date(2026, 6, 30),
        "payment_terms": "Net 30",
        "line_kind": kind,
        "line_category": category,
        "line_description": description,
        "unit_price": money.get("unit_price"),
        "tax_code": "US-EXEMPT",
        "tax_rate": D("0"),
        "correlation_id": correlation_id,
        "quantity": money.get("quantity"),
        "amount": money.get("amount"),
    }


CANDIDATES = [
    _row("FF", FIXED_FEE_INSTALMENT, "fixed_fee", "Fixed fee - Instalment 2 of 3 (BSL-2)", "c-ff2",
         amount=D("10000.00")),
    _row("RT", RETAINER_FEE, "retainer", "Retainer - June 2026 (BSL-4)", "c-rt-fee",
         amount=D("5000.00")),
    _row("RT", RETAINER_OVERAGE, "retainer", "Retainer overage - June 2026 (BSL-4)", "c-rt-over",
         quantity=D("2.0000"), unit_price=D("150.0000")),
    _row("MS", MILESTONE, "milestone", "Milestone - Design signed off (BSL-6)", "c-ms1",
         amount=D("8000.00")),
    _row("TM", LABOUR, "consultant", "Consultant - P-2001 - time", "c-te1",
         quantity=D("6.0000"), unit_price=D("200.0000")),
]  # fmt: skip


def test_each_schedule_amount_is_a_line_of_its_kind():
    batches = batches_from_rows(CANDIDATES)
    lines = {
        (b.contract_ref, ln.kind): (ln.quantity, ln.unit_price, ln.amount(b.currency))
        for b in batches
        for ln in b.lines
    }
    assert lines == {
        ("FF", FIXED_FEE_INSTALMENT): (D("1"), D("10000"), D("10000.00")),
        ("RT", RETAINER_FEE): (D("1"), D("5000"), D("5000.00")),
        ("RT", RETAINER_OVERAGE): (D("2"), D("150"), D("300.00")),
        ("MS", MILESTONE): (D("1"), D("8000"), D("8000.00")),
        ("TM", LABOUR): (D("6"), D("200"), D("1200.00")),
    }
    # the payload carries the kind, and reads back to the same line
    line = next(ln for b in batches for ln in b.lines if ln.kind == RETAINER_OVERAGE)
    assert line.to_payload()["kind"] == RETAINER_OVERAGE
    assert BatchLine.from_payload(line.to_payload()) == line


def test_an_unknown_line_kind_is_refused():
    row = {**CANDIDATES[0], "line_kind": "bonus"}
    with pytest.raises(ValueError, match="line kind must be one of"):
        batches_from_rows([row])


@embedded_only
def test_the_write_back_bills_one_line_per_kind_once(warehouse, tryton):
    batches = batches_from_rows(CANDIDATES)
    summary = run_billing(warehouse, tryton, batches, "run-1", backoff=NO_BACKOFF)
    assert summary.send["created"] == 4 and summary.reconcile["reconciled"] == 4
    assert_exactly_once(warehouse, tryton, batches)

    invoices = tryton.read_invoices([b.batch_key for b in batches])
    billed = sorted(
        (line.product_code, line.quantity, line.amount, line.correlation_ids)
        for invoice in invoices
        for line in invoice.lines
    )
    assert billed == [
        ("D2B-FIXED_FEE_INSTALMENT-FIXED_FEE", D("1"), D("10000.00"), ("c-ff2",)),
        ("D2B-LABOUR-CONSULTANT", D("6"), D("1200.00"), ("c-te1",)),
        ("D2B-MILESTONE-MILESTONE", D("1"), D("8000.00"), ("c-ms1",)),
        ("D2B-RETAINER_FEE-RETAINER", D("1"), D("5000.00"), ("c-rt-fee",)),
        ("D2B-RETAINER_OVERAGE-RETAINER", D("2"), D("300.00"), ("c-rt-over",)),
    ]

    rebuilt = batches_from_rows(CANDIDATES)
    again = run_billing(warehouse, tryton, rebuilt, "run-2", backoff=NO_BACKOFF)
    assert again.freeze["frozen"] == 0 and again.send["erp_calls"] == 0
    assert_exactly_once(warehouse, tryton, batches)


def test_the_file_drop_writes_each_kind_as_its_product_and_unit(filedrop):
    batches = batches_from_rows(CANDIDATES)
    assert all(r.created for r in filedrop.create_if_absent(batches))
    written = set()
    for batch in batches:
        path = filedrop.document_path(batch.batch_key)
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert tuple(rows[1]) == COLUMNS
        for row in rows[2:]:
            line = dict(zip(COLUMNS, row, strict=True))
            written.add((line["product_code"], line["uom"], line["quantity"], line["amount"]))
    assert written == {
        ("D2B-FIXED_FEE_INSTALMENT-FIXED_FEE", "UNIT", "1", "10000.00"),
        ("D2B-RETAINER_FEE-RETAINER", "UNIT", "1", "5000.00"),
        ("D2B-RETAINER_OVERAGE-RETAINER", "HOUR", "2", "300.00"),
        ("D2B-MILESTONE-MILESTONE", "UNIT", "1", "8000.00"),
        ("D2B-LABOUR-CONSULTANT", "HOUR", "6", "1200.00"),
    }

"""One Tryton company per legal entity: each entity's invoices land in its own company, in its
own currency, on an embedded SQLite Tryton configured with two hand-written entities (a EUR
entity and a CAD entity that also bills in USD)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from erp.adapters.base import BusinessErpError
from erp.adapters.tryton import TrytonAdapter
from erp.adapters.tryton_bootstrap import copy_sqlite_database, ensure_companies, entity_companies
from erp.model import LABOUR, BatchLine, BillingBatch, line_tax
from erp.settings import EntitySpec, TaxSpec, TrytonSettings

ENTITIES = (
    EntitySpec("NL01", "Northwind Digital B.V.", "EUR"),
    EntitySpec("CA01", "D2B Consulting Canada Ltd.", "CAD"),
)
TAXES = (
    TaxSpec("NL-VAT21", Decimal("0.21"), "Dutch VAT standard rate"),
    TaxSpec("CA-ON-HST", Decimal("0.13"), "Ontario HST"),
)


def _batch(
    client: str, entity: str, currency: str, hours: str, rate: str, tax: str
) -> BillingBatch:
    quantity, price = Decimal(hours), Decimal(rate)
    tax_rate = {t.code: t.rate for t in TAXES}[tax]
    return BillingBatch(
        client_ref=client,
        client_name=f"Client {client}",
        contract_ref=f"CTR-{client}",
        legal_entity=entity,
        currency=currency,
        period="2026-03",
        invoice_date=dt.date(2026, 3, 31),
        payment_terms="NET30",
        lines=(
            BatchLine(
                kind=LABOUR,
                category="consulting",
                description=f"Consulting - March 2026 ({entity})",
                quantity=quantity,
                unit_price=price,
                tax_code=tax,
                tax_amount=line_tax(quantity, price, tax_rate, currency),
                correlation_ids=(f"te-{client}-1",),
            ),
        ),
    )


#: NL01 bills in EUR, CA01 in CAD and (a US client) in USD.
BATCHES = (
    _batch("C-NL-1", "NL01", "EUR", "10.5", "120.00", "NL-VAT21"),
    _batch("C-CA-1", "CA01", "CAD", "8", "150.00", "CA-ON-HST"),
    _batch("C-US-1", "CA01", "USD", "4.25", "200.00", "CA-ON-HST"),
)


@pytest.fixture(scope="module")
def two_entity_erp(tmp_path_factory, template_dir):
    """One embedded Tryton bootstrapped with the two entities, shared by the module."""
    settings = TrytonSettings(
        database_dir=tmp_path_factory.mktemp("erp"),
        database_name=f"erp_companies_{uuid.uuid4().hex[:8]}",
        template_dir=template_dir,
        entities=ENTITIES,
        taxes=TAXES,
    )
    adapter = TrytonAdapter(settings)
    results = adapter.create_if_absent(BATCHES)
    assert all(r.created and r.error is None for r in results), results
    yield adapter
    adapter.close()


def test_each_legal_entity_is_a_company_in_its_own_currency(two_entity_erp):
    companies = two_entity_erp._call(
        "company.company", "search_read", [], 0, None, None, ["party.code", "currency.code"]
    )
    currency = {row["party."]["code"]: row["currency."]["code"] for row in companies}
    assert currency == {"D2B-ENTITY-NL01": "EUR", "D2B-ENTITY-CA01": "CAD"}


def test_each_invoice_is_its_entitys_company_in_the_batch_currency(two_entity_erp):
    ids = entity_companies(two_entity_erp.connect())
    invoices = {inv.batch_key: inv for inv in two_entity_erp.read_invoices()}
    assert invoices.keys() == {b.batch_key for b in BATCHES}  # read-back sees every company
    for batch in BATCHES:
        invoice = invoices[batch.batch_key]
        assert invoice.legal_entity == batch.legal_entity
        assert invoice.currency == batch.currency
        totals = batch.control_totals()
        assert (invoice.untaxed_amount, invoice.tax_amount) == (totals.amount, totals.tax_amount)
        assert invoice.lines[0].tax_codes == (batch.lines[0].tax_code,)
        (header,) = two_entity_erp._call(
            "account.invoice",
            "read",
            [int(invoice.document_id)],
            ["company", "account.company", "lines.account.company", "lines.taxes.company"],
        )
        company = ids[batch.legal_entity]
        # The invoice, its receivable, its lines' revenue account and taxes: all one company's.
        assert header["company"] == header["account."]["company"] == company
        for line in header["lines."]:
            assert line["account."]["company"] == company
            assert [t["company"] for t in line["taxes."]] == [company]


def test_posting_numbers_each_company_in_its_own_sequence(two_entity_erp):
    # The USD invoice of the CAD company books its conversion difference in that company.
    # March 2026's NET30 due date is past: accept it, as when releasing an old period.
    two_entity_erp.post(
        [inv.document_id for inv in two_entity_erp.read_invoices()],
        acknowledge=["invoice_payment_term"],
    )
    numbers: dict[str, list[str]] = {}
    for invoice in two_entity_erp.read_invoices():
        assert invoice.state == "posted"
        numbers.setdefault(invoice.legal_entity, []).append(invoice.number)
    assert {e: sorted(n) for e, n in numbers.items()} == {
        "NL01": ["2026/1"],
        "CA01": ["2026/1", "2026/2"],
    }


def test_an_entity_without_a_company_is_refused_before_any_write(two_entity_erp):
    stray = _batch("C-GB-1", "GB01", "EUR", "1", "100.00", "NL-VAT21")
    (result,) = two_entity_erp.create_if_absent([stray])
    assert isinstance(result.error, BusinessErpError) and not result.created
    assert "No Tryton company for legal entity 'GB01'" in str(result.error)
    assert two_entity_erp.find_by_keys([stray.batch_key]) == {}


@pytest.mark.slow
def test_an_existing_database_gains_a_newly_configured_entitys_company(two_entity_erp, tmp_path):
    grown = replace(
        two_entity_erp.settings,
        database_dir=tmp_path / "erp",
        database_name=f"erp_grown_{uuid.uuid4().hex[:8]}",
        entities=(*ENTITIES, EntitySpec("GB01", "D2B Consulting UK Ltd", "GBP")),
    )
    copy_sqlite_database(two_entity_erp.settings, grown)
    adapter = TrytonAdapter(grown)
    try:
        assert entity_companies(adapter.connect()).keys() == {"NL01", "CA01", "GB01"}
        uk = _batch("C-GB-1", "GB01", "GBP", "2", "90.00", "NL-VAT21")
        (result,) = adapter.create_if_absent([uk])
        assert result.created and result.error is None
        invoices = {inv.batch_key: inv for inv in adapter.read_invoices()}
        assert invoices.keys() == {b.batch_key for b in (*BATCHES, uk)}
        assert (invoices[uk.batch_key].legal_entity, invoices[uk.batch_key].currency) == (
            "GB01",
            "GBP",
        )
        # Connecting again creates nothing.
        adapter.close()
        assert ensure_companies(grown, adapter.connect()) == []
    finally:
        adapter.close()

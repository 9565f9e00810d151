from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from bench.sample import sample_batches
from erp import keys
from erp.model import EXPENSE, LABOUR, BatchLine, BillingBatch, line_tax, round_money


def _line(cids=("te_1", "te_2"), **kw) -> BatchLine:
    values = dict(
        kind=LABOUR,
        category="consulting",
        description="Senior Consultant - Project Atlas - Delivery - March 2026",
        quantity=Decimal("7.50"),
        unit_price=Decimal("225.50"),
        tax_code="GB-VAT-STD",
        tax_amount=line_tax(Decimal("7.50"), Decimal("225.50"), Decimal("0.20"), "GBP"),
        correlation_ids=cids,
    )
    values.update(kw)
    return BatchLine(**values)


def _batch(lines=None, **kw) -> BillingBatch:
    values = dict(
        client_ref="CUST-1",
        client_name="Client One",
        contract_ref="CTR-1",
        legal_entity="UK01",
        currency="GBP",
        period="2026-03",
        invoice_date=date(2026, 3, 31),
        payment_terms="NET30",
        lines=lines
        or (
            _line(),
            _line(
                ("ex_1",),
                kind=EXPENSE,
                category="airfare",
                description="Airfare - March 2026",
                quantity=Decimal(1),
                tax_amount=Decimal("45.10"),
            ),
        ),
    )
    values.update(kw)
    return BillingBatch(**values)


def test_batch_key_is_deterministic_and_order_independent():
    a = _batch()
    b = _batch(lines=tuple(reversed(a.lines)))
    shuffled = _batch(lines=(_line(("te_2", "te_1")), a.lines[1]))
    assert a.batch_key == b.batch_key == shuffled.batch_key
    assert a.batch_key.startswith("b_") and len(a.batch_key) == 34


def test_batch_key_covers_identity_and_correlation_ids_only():
    a = _batch()
    assert _batch(client_ref="CUST-2").batch_key != a.batch_key
    assert _batch(period="2026-04").batch_key != a.batch_key
    assert _batch(currency="EUR").batch_key != a.batch_key
    assert _batch(lines=(_line(("te_1", "te_3")),)).batch_key != a.batch_key
    # Not identity: a corrected rate or date keeps the key and changes the payload hash.
    corrected = _batch(
        lines=(replace(a.lines[0], unit_price=Decimal("230"), line_key=""), a.lines[1]),
        invoice_date=date(2026, 4, 1),
    )
    assert corrected.batch_key == a.batch_key
    assert corrected.payload_hash() != a.payload_hash()


def test_line_keys_unique_and_tied_to_the_batch():
    a = _batch()
    line_keys = [ln.line_key for ln in a.lines]
    assert len(set(line_keys)) == 2 and all(k.startswith("l_") for k in line_keys)
    assert line_keys[0] == keys.line_key(a.batch_key, LABOUR, ["te_2", "te_1"])
    other = _batch(client_ref="CUST-2")
    assert not set(line_keys) & {ln.line_key for ln in other.lines}


def test_payload_round_trip_rechecks_keys():
    a = _batch()
    payload = a.to_payload()
    assert BillingBatch.from_payload(payload) == a
    assert BillingBatch.from_payload(payload).batch_key == a.batch_key
    payload["lines"][0]["correlation_ids"].append("te_99")
    with pytest.raises(ValueError, match="does not match"):
        BillingBatch.from_payload(payload)


def test_payload_hash_is_canonical():
    assert keys.payload_hash({"a": Decimal("1.50"), "b": [1]}) == keys.payload_hash(
        {"b": [1], "a": Decimal("1.50")}
    )
    assert keys.canonical_json({"x": Decimal("100")}) == '{"x":"100"}'


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(quantity=7.5), "Decimal"),
        (dict(quantity=Decimal("7.125")), "decimals"),
        (dict(unit_price=Decimal("1.00001")), "decimals"),
        (dict(kind="fee"), "kind"),
        (dict(correlation_ids=()), "at least one"),
        (dict(correlation_ids=("te_1", "te_1")), "twice"),
        (dict(quantity=Decimal(0)), "zero"),
    ],
)
def test_line_validation(change, message):
    with pytest.raises((ValueError, TypeError), match=message):
        _line(**change)


def test_expense_quantity_is_a_count():
    with pytest.raises(ValueError, match="decimals"):
        _line(("ex_1",), kind=EXPENSE, category="meals", quantity=Decimal("1.5"))


def test_batch_validation():
    with pytest.raises(ValueError, match="YYYY-MM"):
        _batch(period="2026-3")
    with pytest.raises(ValueError, match="ISO 4217"):
        _batch(currency="pounds")
    with pytest.raises(ValueError, match="two lines"):
        _batch(lines=(_line(("te_1",)), _line(("te_1", "te_2"))))


def test_money_rounding_half_even_per_currency():
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.12")
    assert round_money(Decimal("0.135"), "USD") == Decimal("0.14")
    assert round_money(Decimal("1234.5"), "JPY") == Decimal("1234")
    # Tax on the unrounded base: 7.25 h x 185.55 = 1345.2375; x 8.875% = 119.38833
    assert line_tax(Decimal("7.25"), Decimal("185.55"), Decimal("0.08875"), "USD") == Decimal(
        "119.39"
    )


def test_control_totals():
    totals = _batch().control_totals()
    assert totals.line_count == 2
    assert totals.quantity == Decimal("8.50")
    assert totals.amount == Decimal("1691.25") + Decimal("225.50")
    assert totals.tax_amount == Decimal("338.25") + Decimal("45.10")


def test_sample_batches_are_realistic_and_disjoint():
    batches = sample_batches(8, lines_per_batch=10)
    assert {b.currency for b in batches} == {"USD", "GBP", "EUR", "CAD"}
    assert {ln.kind for b in batches for ln in b.lines} == {LABOUR, EXPENSE}
    cids = [c for b in batches for c in b.correlation_ids]
    assert len(cids) == len(set(cids))
    assert [b.batch_key for b in sample_batches(8, lines_per_batch=10)] == [
        b.batch_key for b in batches
    ]

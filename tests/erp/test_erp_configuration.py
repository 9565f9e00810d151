"""The ERP is configured for everything the sample firm can bill: every tax code of its tax
rules (at the rule's rate) and every legal entity's currency (its config/ files)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erp.settings import DEFAULT_CURRENCIES, DEFAULT_TAXES, rule_taxes
from ingest.generator import reference as ref


def test_every_tax_rule_code_is_an_erp_tax_at_the_rule_rate() -> None:
    erp_rates = {t.code: t.rate for t in DEFAULT_TAXES}
    rules = ref.tax_rule_rows()
    assert rules
    for rule in rules:
        assert erp_rates[rule["tax_code"]] == Decimal(rule["tax_rate"]) / 100, rule
    assert len(erp_rates) == len(DEFAULT_TAXES)  # one tax per code


def test_every_legal_entity_currency_is_an_erp_currency() -> None:
    currencies = {code for code, _ in DEFAULT_CURRENCIES}
    assert ref.LEGAL_ENTITIES
    assert {e.currency for e in ref.LEGAL_ENTITIES} <= currencies


def test_a_tax_code_with_two_rates_is_refused() -> None:
    rules = [
        {"legal_entity": "US01", "tax_code": "X-1", "tax_rate": "5.00"},
        {"legal_entity": "US01", "tax_code": "X-1", "tax_rate": "7.00"},
    ]
    with pytest.raises(ValueError, match="X-1 has two rates"):
        rule_taxes(rules)

"""The ERP is configured for everything the warehouse can bill: every tax code of the tax
rules seed (at the seed's rate) and every legal entity's currency."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from erp.settings import DEFAULT_CURRENCIES, DEFAULT_TAXES, TAX_RULES_SEED, seed_taxes

LEGAL_ENTITIES = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "legal_entities.csv"
)


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_seed_tax_code_is_an_erp_tax_at_the_seed_rate() -> None:
    erp_rates = {t.code: t.rate for t in DEFAULT_TAXES}
    rules = read(TAX_RULES_SEED)
    assert rules
    for rule in rules:
        assert erp_rates[rule["tax_code"]] == Decimal(rule["tax_rate"]) / 100, rule
    assert len(erp_rates) == len(DEFAULT_TAXES)  # one tax per code


def test_every_legal_entity_currency_is_an_erp_currency() -> None:
    currencies = {code for code, _ in DEFAULT_CURRENCIES}
    entities = read(LEGAL_ENTITIES)
    assert entities and {e["currency"] for e in entities} <= currencies


def test_a_tax_code_with_two_rates_is_refused(tmp_path) -> None:
    seed = tmp_path / "tax_rules.csv"
    seed.write_text(
        "legal_entity,client_country,line_kind,tax_code,tax_rate\n"
        "US01,US,labour,X-1,5.00\nUS01,US,expense,X-1,7.00\n"
    )
    with pytest.raises(ValueError, match="X-1 has two rates"):
        seed_taxes(seed)

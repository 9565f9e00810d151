"""The ERP is configured for everything the firm can bill: a company per legal entity, every
tax code of its tax rules (at the rule's rate) and every legal entity's currency (its config/
files; the sample firm's when none is landed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from erp.settings import (
    DEFAULT_CURRENCIES,
    DEFAULT_ENTITIES,
    DEFAULT_TAXES,
    EntitySpec,
    TrytonSettings,
    firm_entities,
    rule_taxes,
)
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


def test_every_sample_legal_entity_is_an_erp_company_in_its_currency() -> None:
    assert {(e.code, e.name, e.currency) for e in DEFAULT_ENTITIES} == {
        (le.code, le.name, le.currency) for le in ref.LEGAL_ENTITIES
    }


def _land(home: Path, entity: str, day: str, text: str) -> None:
    folder = home / "landing" / "config" / entity
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{entity}_{day}.csv").write_text(text, encoding="utf-8")


def test_the_erp_companies_and_taxes_are_the_firms_newest_configuration(tmp_path) -> None:
    header = "legal_entity,legal_entity_name,region,country_code,currency,psa_system\n"
    _land(tmp_path, "legal_entities", "2026-01-01", header + "US01,Old Inc.,NA,US,USD,harvest\n")
    _land(
        tmp_path,
        "legal_entities",
        "2026-06-01",
        header + "NL01,Northwind Digital B.V.,EU,NL,EUR,toggl\nCA01,Maple Ltd.,NA,CA,CAD,harvest\n",
    )
    _land(
        tmp_path,
        "tax_rules",
        "2026-06-01",
        "legal_entity,client_country,line_kind,tax_code,tax_rate\nNL01,NL,labour,NL-VAT21,21.00\n",
    )
    settings = TrytonSettings.from_env({"D2B_HOME": str(tmp_path)})
    assert settings.entities == (
        EntitySpec("NL01", "Northwind Digital B.V.", "EUR"),
        EntitySpec("CA01", "Maple Ltd.", "CAD"),
    )
    taxes = {t.code: t.rate for t in settings.taxes}
    assert taxes["NL-VAT21"] == Decimal("0.21")
    assert "US-EXEMPT" not in taxes  # the sample firm's rules are not this firm's


def test_without_landed_configuration_the_erp_is_the_sample_firms(tmp_path) -> None:
    settings = TrytonSettings.from_env({"D2B_HOME": str(tmp_path)})
    assert settings.entities == DEFAULT_ENTITIES and settings.taxes == DEFAULT_TAXES


def test_a_legal_entity_configured_twice_is_refused() -> None:
    row = {"legal_entity": "NL01", "legal_entity_name": "N", "currency": "EUR"}
    with pytest.raises(ValueError, match="NL01 is configured twice"):
        firm_entities([row, row])

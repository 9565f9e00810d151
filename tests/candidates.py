"""Seed ``marts.billing_batch_candidates`` with the records of sample batches (tests only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import pandas as pd

from bench.sample import TAX_RATES
from erp.candidates import CANDIDATE_COLUMNS, candidate_rows
from erp.model import BillingBatch

CANDIDATES_DDL = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE IF NOT EXISTS marts.billing_batch_candidates (
    period VARCHAR, client_ref VARCHAR, client_name VARCHAR, contract_ref VARCHAR,
    legal_entity VARCHAR, currency VARCHAR, invoice_date DATE, payment_terms VARCHAR,
    line_kind VARCHAR, line_category VARCHAR, line_description VARCHAR,
    unit_price DECIMAL(18, 4), tax_code VARCHAR, tax_rate DECIMAL(8, 6),
    correlation_id VARCHAR, quantity DECIMAL(18, 4), amount DECIMAL(18, 4),
    as_of_date DATE
)
"""

RELEASE_RULES_DDL = """
CREATE SCHEMA IF NOT EXISTS staging;
CREATE TABLE IF NOT EXISTS staging.stg_config__billing_release (
    legal_entity VARCHAR PRIMARY KEY, auto_release BOOLEAN NOT NULL
)
"""


def write_candidates(
    con,
    batches: list[BillingBatch],
    *,
    as_of: date | None = None,
    auto_release: bool = True,
) -> None:
    """Create the candidates table if needed and insert the records of ``batches``.

    The records are built as of ``as_of`` (default today, UTC: the billing run's default).
    With ``auto_release`` the firm releases the batches' legal entities automatically, as the
    sample firm's configuration does; otherwise their batches wait for a person.
    """
    con.execute(CANDIDATES_DDL)
    frame = pd.DataFrame(candidate_rows(batches, TAX_RATES), columns=list(CANDIDATE_COLUMNS))
    frame["as_of_date"] = as_of or datetime.now(UTC).date()
    con.register("_candidate_rows", frame)
    try:
        con.execute(
            "INSERT INTO marts.billing_batch_candidates BY NAME SELECT * FROM _candidate_rows"
        )
    finally:
        con.unregister("_candidate_rows")
    if auto_release:
        write_release_rules(con, {batch.legal_entity: True for batch in batches})


def write_release_rules(con, rules: dict[str, bool] | Iterable[tuple[str, bool]]) -> None:
    """The firm's auto-release rules (legal entity -> auto release) as its config model."""
    con.execute(RELEASE_RULES_DDL)
    for entity, auto in dict(rules).items():
        con.execute(
            "INSERT OR REPLACE INTO staging.stg_config__billing_release VALUES (?, ?)",
            [entity, auto],
        )

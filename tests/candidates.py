"""Seed ``marts.billing_batch_candidates`` with the records of sample batches (tests only)."""

from __future__ import annotations

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
    correlation_id VARCHAR, quantity DECIMAL(18, 4), amount DECIMAL(18, 4)
)
"""


def write_candidates(con, batches: list[BillingBatch]) -> None:
    """Create the candidates table if needed and insert the records of ``batches``."""
    con.execute(CANDIDATES_DDL)
    frame = pd.DataFrame(candidate_rows(batches, TAX_RATES), columns=list(CANDIDATE_COLUMNS))
    con.register("_candidate_rows", frame)
    try:
        con.execute("INSERT INTO marts.billing_batch_candidates SELECT * FROM _candidate_rows")
    finally:
        con.unregister("_candidate_rows")

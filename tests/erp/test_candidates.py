"""Candidate records in the warehouse group into the same batches, keys and taxes."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pandas as pd
import pytest

from bench.sample import TAX_RATES, sample_batches
from erp.candidates import CANDIDATE_COLUMNS, batches_for_period, candidate_rows
from erp.model import EXPENSE, LABOUR
from tests.candidates import CANDIDATES_DDL


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    con.execute(CANDIDATES_DDL)
    yield con
    con.close()


def store(con, rows) -> None:
    frame = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    con.register("_rows", frame)
    con.execute("INSERT INTO marts.billing_batch_candidates BY NAME SELECT * FROM _rows")
    con.unregister("_rows")


def test_records_group_back_into_the_same_batches(warehouse):
    march = sample_batches(clients=12, period="2026-03")
    april = sample_batches(clients=5, period="2026-04", id_prefix="apr")
    store(warehouse, candidate_rows([*march, *april], TAX_RATES))

    rebuilt = batches_for_period(warehouse, "2026-03")

    assert [b.batch_key for b in rebuilt] == sorted(b.batch_key for b in march)
    by_key = {b.batch_key: b for b in march}
    for batch in rebuilt:
        original = by_key[batch.batch_key]
        assert batch.control_totals() == original.control_totals()
        assert sorted(line.line_key for line in batch.lines) == sorted(
            line.line_key for line in original.lines
        )
    assert {b.period for b in batches_for_period(warehouse, "2026-04")} == {"2026-04"}
    assert batches_for_period(warehouse, "2026-05") == []


def test_lines_sum_hours_and_expense_amounts_and_tax_like_the_erp(warehouse):
    rows = candidate_rows(sample_batches(clients=3, period="2026-03"), TAX_RATES)
    store(warehouse, rows)

    (batch, *_) = batches_for_period(warehouse, "2026-03")

    for line in batch.lines:
        records = [r for r in rows if r["correlation_id"] in line.correlation_ids]
        if line.kind == LABOUR:
            assert line.quantity == sum(r["quantity"] for r in records)
        else:
            assert line.kind == EXPENSE and line.quantity == 1
            assert line.unit_price == sum(r["amount"] for r in records)
        rate = TAX_RATES[line.tax_code]
        expected = (line.quantity * line.unit_price * rate).quantize(Decimal("0.01"))
        assert abs(line.tax_amount - expected) <= Decimal("0.01")


def test_two_tax_rates_on_one_line_is_refused(warehouse):
    rows = candidate_rows(sample_batches(clients=1, period="2026-03"), TAX_RATES)
    rows[1] = {**rows[1], "tax_rate": Decimal("0.5")}
    rows[1]["line_description"] = rows[0]["line_description"]
    rows[1]["unit_price"] = rows[0]["unit_price"]
    rows[1]["line_kind"], rows[1]["tax_code"] = rows[0]["line_kind"], rows[0]["tax_code"]
    rows[1]["line_category"] = rows[0]["line_category"]
    store(warehouse, rows)

    with pytest.raises(ValueError, match="two tax rates"):
        batches_for_period(warehouse, "2026-03")

"""From the warehouse's candidate records to billing batches (docs/design.md §6).

The mart ``marts.billing_batch_candidates`` has one row per billable record (a time entry, an
expense or a schedule amount of a contract) that goes on an invoice of a billing period;
:func:`batches_for_period` groups its rows into the lines a client reads and the batches
(draft invoices) the outbox freezes.
Grouping happens here, in one place, so the batch and line keys (``erp.keys``) are computed
by the same code that checks them.

Columns the relation must have (:data:`CANDIDATE_COLUMNS`):

========================  ================================================================
``period``                billing period ``YYYY-MM``
``client_ref``            ERP customer code (the Salesforce account id)
``client_name``           customer name printed on the invoice
``contract_ref``          Salesforce contract id
``legal_entity``          invoicing legal entity (``US01``...)
``currency``              contract currency (ISO 4217)
``invoice_date``          invoice date (the period end for periodic billing)
``payment_terms``         ``Net 30``...
``line_kind``             one of ``erp.model.LINE_KINDS``
``line_category``         ERP service product: role family, expense category, billing method
``line_description``      the line's text (role, project, task, period; or expense type)
``unit_price``            hourly kinds: the rate (labour: the resolved bill rate); else NULL
``tax_code``              tax code from the firm's tax rules
``tax_rate``              tax rate as a fraction (``0.2`` for 20 %)
``correlation_id``        the record's correlation id (docs/design.md §3)
``quantity``              hourly kinds: hours of the record; else ignored
``amount``                other kinds: the amount (expense: rebilled, contract currency)
========================  ================================================================

A line of an hourly kind (``labour``, ``retainer_overage``) sums the hours of records sharing
its description, price and tax; a line of any other kind (an expense category, a fixed-fee
instalment, a retainer fee, a milestone) is one unit priced at the sum of its records'
amounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from erp.model import HOURLY_KINDS, BatchLine, BillingBatch, line_tax

CANDIDATE_COLUMNS = (
    "period",
    "client_ref",
    "client_name",
    "contract_ref",
    "legal_entity",
    "currency",
    "invoice_date",
    "payment_terms",
    "line_kind",
    "line_category",
    "line_description",
    "unit_price",
    "tax_code",
    "tax_rate",
    "correlation_id",
    "quantity",
    "amount",
)

#: Where the pipeline's candidates live.
CANDIDATES_RELATION = "marts.billing_batch_candidates"

_BATCH_FIELDS = CANDIDATE_COLUMNS[:8]
_LINE_FIELDS = ("line_kind", "line_category", "line_description", "unit_price", "tax_code")


def _plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without exponent notation: ``7.5000`` -> ``7.5``, ``8.00`` -> ``8``."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    return value.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else value


def candidate_rows(
    batches: Iterable[BillingBatch], tax_rates: Mapping[str, Decimal]
) -> list[dict[str, Any]]:
    """The candidate records that group into ``batches`` (the inverse of grouping).

    Hours are spread over a line's records; amounts likewise. ``tax_rates``
    maps each tax code to its rate (a fraction). Used to seed a candidates table from
    batches (tests, demos); the pipeline's mart is built by dbt.
    """
    rows = []
    for batch in batches:
        for line in batch.lines:
            count = len(line.correlation_ids)
            hourly = line.kind in HOURLY_KINDS
            total = line.quantity if hourly else line.unit_price
            share = (total / count).quantize(Decimal("0.01"))
            parts = [share] * (count - 1) + [total - share * (count - 1)]
            for correlation_id, part in zip(line.correlation_ids, parts, strict=True):
                rows.append(
                    {
                        "period": batch.period,
                        "client_ref": batch.client_ref,
                        "client_name": batch.client_name,
                        "contract_ref": batch.contract_ref,
                        "legal_entity": batch.legal_entity,
                        "currency": batch.currency,
                        "invoice_date": batch.invoice_date,
                        "payment_terms": batch.payment_terms,
                        "line_kind": line.kind,
                        "line_category": line.category,
                        "line_description": line.description,
                        "unit_price": line.unit_price if hourly else None,
                        "tax_code": line.tax_code,
                        "tax_rate": tax_rates[line.tax_code],
                        "correlation_id": correlation_id,
                        "quantity": part if hourly else None,
                        "amount": None if hourly else part,
                    }
                )
    return rows


def batches_for_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    relation: str = CANDIDATES_RELATION,
    *,
    held: Iterable[str] = (),
) -> list[BillingBatch]:
    """Group the candidate records of ``period`` into billing batches, ordered by batch key.

    Records whose correlation id is in ``held`` (on hold, :mod:`erp.outbox.releasing`) are
    left out: they are billed once the hold ends.
    """
    return batches_from_rows(records_for_period(con, period, relation, held=held))


def records_for_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    relation: str = CANDIDATES_RELATION,
    *,
    held: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The candidate records of ``period`` as dicts of :data:`CANDIDATE_COLUMNS`.

    Those whose correlation id is in ``held`` are left out.
    """
    columns = ", ".join(CANDIDATE_COLUMNS)
    rows = con.execute(
        f"SELECT {columns} FROM {relation} WHERE period = ? "
        "AND NOT list_contains(?::VARCHAR[], correlation_id) ORDER BY correlation_id",
        [period, sorted(held)],
    ).fetchall()
    return [dict(zip(CANDIDATE_COLUMNS, row, strict=True)) for row in rows]


class StaleCandidatesError(ValueError):
    """The candidates were built for another as-of date than the billing run's."""


def check_as_of(
    con: duckdb.DuckDBPyConnection,
    period: str,
    as_of: date,
    relation: str = CANDIDATES_RELATION,
) -> None:
    """Refuse to bill ``period`` from candidates built as of another date than ``as_of``.

    Billing is pinned to its period's facts: candidates of a past-date rebuild would freeze
    part of a month, and the next run would bill the rest as a second invoice. Raises
    :class:`StaleCandidatesError` naming the dates.
    """
    built = sorted(
        day
        for (day,) in con.execute(
            f"SELECT DISTINCT as_of_date FROM {relation} WHERE period = ?", [period]
        ).fetchall()
    )
    stale = [day for day in built if day != as_of]
    if stale:
        dates = ", ".join(str(day) for day in built)
        raise StaleCandidatesError(
            f"the candidates of {period} were built as of {dates}, not the billing run's "
            f"as-of date {as_of}: rebuild the marts as of {as_of} (d2b run --as-of {as_of}) "
            "before billing"
        )


def batches_from_rows(rows: Iterable[dict[str, Any]]) -> list[BillingBatch]:
    """Group candidate records (dicts with :data:`CANDIDATE_COLUMNS`) into batches."""
    grouped: dict[tuple, dict[tuple, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    rates: dict[tuple, Decimal] = {}
    for row in rows:
        batch_id = tuple(row[name] for name in _BATCH_FIELDS)
        unit_price = row["unit_price"] if row["line_kind"] in HOURLY_KINDS else None
        line_id = (*(row[name] for name in _LINE_FIELDS[:3]), unit_price, row["tax_code"])
        grouped[batch_id][line_id].append(row)
        rate = Decimal(row["tax_rate"])
        if rates.setdefault((*batch_id, *line_id), rate) != rate:
            raise ValueError(f"line {line_id} of {batch_id[:4]} has two tax rates")
    batches = []
    for batch_id, lines in grouped.items():
        fields = dict(zip(_BATCH_FIELDS, batch_id, strict=True))
        built = []
        for line_id, records in lines.items():
            kind, category, description, unit_price, tax_code = line_id
            rate = rates[(*batch_id, *line_id)]
            if kind in HOURLY_KINDS:
                quantity = sum((Decimal(r["quantity"]) for r in records), Decimal(0))
                unit_price = Decimal(unit_price)
            else:
                quantity = Decimal(1)
                unit_price = sum((Decimal(r["amount"]) for r in records), Decimal(0))
            built.append(
                BatchLine(
                    kind=kind,
                    category=category,
                    description=description,
                    quantity=_plain(quantity),
                    unit_price=_plain(unit_price),
                    tax_code=tax_code,
                    tax_amount=line_tax(quantity, unit_price, rate, fields["currency"]),
                    correlation_ids=tuple(r["correlation_id"] for r in records),
                )
            )
        batches.append(
            BillingBatch(
                client_ref=fields["client_ref"],
                client_name=fields["client_name"],
                contract_ref=fields["contract_ref"],
                legal_entity=fields["legal_entity"],
                currency=fields["currency"],
                period=fields["period"],
                invoice_date=fields["invoice_date"],
                payment_terms=fields["payment_terms"],
                lines=tuple(built),
            )
        )
    return sorted(batches, key=lambda batch: batch.batch_key)

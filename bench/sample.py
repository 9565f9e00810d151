"""Synthetic billing batches shaped like the warehouse's output (the write-back benchmark, tests).

Several legal entities, currencies and tax codes; labour lines per role, project, task and
rate, each billing many time entries; expense lines per category. Deterministic per seed.
They stand in for ``marts.billing_batch_candidates`` where no warehouse is built; they fake
the warehouse's output, never the ERP.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from erp.model import EXPENSE, LABOUR, BatchLine, BillingBatch, line_tax
from erp.settings import DEFAULT_TAXES


@dataclass(frozen=True)
class _Entity:
    code: str
    currency: str
    labour_taxes: tuple[str, ...]
    expense_tax: str


_ENTITIES = (
    _Entity("US01", "USD", ("US-EXEMPT", "US-NY-SVC"), "US-EXEMPT"),
    _Entity("GB01", "GBP", ("GB-VAT-STD",), "GB-VAT-STD"),
    _Entity("DE01", "EUR", ("DE-VAT-STD", "EU-VAT-RC"), "DE-VAT-STD"),
    _Entity("CA01", "CAD", ("CA-ON-HST",), "CA-GST"),
)
_ROLES = (
    ("Partner", "advisory", Decimal("450.00")),
    ("Senior Consultant", "consulting", Decimal("225.50")),
    ("Consultant", "consulting", Decimal("165.00")),
    ("Analyst", "consulting", Decimal("110.75")),
    ("Engineer", "engineering", Decimal("185.00")),
)
_TASKS = ("Discovery", "Delivery", "Project Management", "Testing")
_PROJECTS = ("Atlas", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite")
_EXPENSES = ("airfare", "lodging", "meals", "ground_transport")
#: Rate (a fraction) of each tax code the sample uses.
TAX_RATES = {t.code: t.rate for t in DEFAULT_TAXES}


def month_name(period: str) -> str:
    """``2026-03`` -> ``March 2026``."""
    year, month = map(int, period.split("-"))
    return f"{calendar.month_name[month]} {year}"


def period_end(period: str) -> date:
    """Last day of a ``YYYY-MM`` period (the invoice date of periodic billing)."""
    year, month = map(int, period.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1])


def sample_batches(
    clients: int,
    period: str = "2026-03",
    lines_per_batch: int = 20,
    entries_per_line: int = 12,
    seed: int = 7,
    id_prefix: str = "",
    first_client: int = 0,
) -> list[BillingBatch]:
    """One batch per client for ``period``: ~``lines_per_batch`` lines, ~10% of them expenses.

    Clients are numbered from ``first_client`` (so calls with different sizes can make up one
    firm). Correlation ids are unique per (``id_prefix``, seed, period, client, entry), so
    batches of different calls never overlap unless built with the same arguments.
    """
    rng = random.Random(f"{seed}-{period}-{id_prefix}")
    label = month_name(period)
    batches = []
    for c in range(first_client, first_client + clients):
        entity = _ENTITIES[c % len(_ENTITIES)]
        client_ref = f"CUST-{c:05d}"
        labour_tax = entity.labour_taxes[c % len(entity.labour_taxes)]
        n_expense = max(1, lines_per_batch // 10) if c % 3 else 0
        lines: list[BatchLine] = []
        seen: set[tuple[str, str, str]] = set()
        entry = 0
        while len(lines) < lines_per_batch - n_expense:
            role, category, rate = rng.choice(_ROLES)
            project, task = rng.choice(_PROJECTS), rng.choice(_TASKS)
            if (role, project, task) in seen:
                # A line is one role x project x task x rate; extend the catalogue if needed.
                project = f"{project} {len(seen)}"
            seen.add((role, project, task))
            n = max(1, int(rng.gauss(entries_per_line, entries_per_line / 4)))
            hours = sum(Decimal(rng.randint(1, 32)) / 4 for _ in range(n))
            cids = tuple(f"te_{id_prefix}{seed}_{period}_{c}_{entry + i}" for i in range(n))
            entry += n
            lines.append(
                BatchLine(
                    kind=LABOUR,
                    category=category,
                    description=f"{role} - Project {project} - {task} - {label}",
                    quantity=hours,
                    unit_price=rate,
                    tax_code=labour_tax,
                    tax_amount=line_tax(hours, rate, TAX_RATES[labour_tax], entity.currency),
                    correlation_ids=cids,
                )
            )
        for category in _EXPENSES[:n_expense]:
            n = rng.randint(1, 6)
            amount = sum(Decimal(rng.randint(1500, 90000)) / 100 for _ in range(n))
            cids = tuple(f"ex_{id_prefix}{seed}_{period}_{c}_{category}_{i}" for i in range(n))
            lines.append(
                BatchLine(
                    kind=EXPENSE,
                    category=category,
                    description=f"{category.replace('_', ' ').capitalize()} - {label}",
                    quantity=Decimal(1),
                    unit_price=amount,
                    tax_code=entity.expense_tax,
                    tax_amount=line_tax(
                        Decimal(1), amount, TAX_RATES[entity.expense_tax], entity.currency
                    ),
                    correlation_ids=cids,
                )
            )
        batches.append(
            BillingBatch(
                client_ref=client_ref,
                client_name=f"Client {c:05d} {entity.code}",
                contract_ref=f"CTR-{c:05d}-TM",
                legal_entity=entity.code,
                currency=entity.currency,
                period=period,
                invoice_date=period_end(period),
                payment_terms=("NET30", "NET45", "NET 60")[c % 3],
                lines=tuple(lines),
            )
        )
    return batches

"""What the warehouse hands to the ERP: billing batches, their lines and control totals.

A :class:`BillingBatch` is one draft customer invoice to be: one client × contract × legal
entity × currency × billing period (docs/design.md §6.1). Its lines are what the client reads (per
role, project, task and rate; expenses per category), each carrying the correlation ids of
the time entries and expenses it bills (docs/design.md §3). Keys are computed on construction, so a
batch and its key cannot disagree. Money is :class:`~decimal.Decimal`, never float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from erp import keys

LABOUR = "labour"
EXPENSE = "expense"
# A contract's billing schedule (docs/design.md §4): one line per due amount.
FIXED_FEE_INSTALMENT = "fixed_fee_instalment"
RETAINER_FEE = "retainer_fee"
RETAINER_OVERAGE = "retainer_overage"
MILESTONE = "milestone"
LINE_KINDS = (LABOUR, EXPENSE, FIXED_FEE_INSTALMENT, RETAINER_FEE, RETAINER_OVERAGE, MILESTONE)
#: Kinds billed as hours x rate (unit: hour); the others are one unit at an amount.
HOURLY_KINDS = (LABOUR, RETAINER_OVERAGE)

#: Minor-unit exponents that differ from 2 (ISO 4217). Mirrors the ERP's currency rounding.
_CURRENCY_DIGITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3}
#: Quantity precision the ERP keeps per kind: hours to 1/100, amount lines are counts.
QUANTITY_DIGITS = {kind: 2 if kind in HOURLY_KINDS else 0 for kind in LINE_KINDS}
#: Unit price precision (Tryton's default ``product.price_decimal``).
PRICE_DIGITS = 4

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def currency_digits(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit (2 unless listed otherwise)."""
    return _CURRENCY_DIGITS.get(currency, 2)


def round_money(value: Decimal, currency: str) -> Decimal:
    """Round ``value`` to ``currency``'s minor unit, half-even like the ERP's currency rounding."""
    return value.quantize(Decimal(1).scaleb(-currency_digits(currency)), rounding=ROUND_HALF_EVEN)


def line_tax(quantity: Decimal, unit_price: Decimal, rate: Decimal, currency: str) -> Decimal:
    """Tax of one line as the ERP computes it with per-line tax rounding.

    Tryton taxes the unrounded base (quantity × unit price) and rounds each line's tax;
    the warehouse's expected tax must follow the same rule for the reconciliation to tie.
    """
    return round_money(quantity * unit_price * rate, currency)


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True)
class ControlTotals:
    """Totals of a batch that the ERP's copy must reproduce (docs/design.md §6.2, §6.4)."""

    line_count: int
    quantity: Decimal
    amount: Decimal
    tax_amount: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (Decimals as strings)."""
        return {
            "line_count": self.line_count,
            "quantity": str(self.quantity),
            "amount": str(self.amount),
            "tax_amount": str(self.tax_amount),
        }


@dataclass(frozen=True)
class BatchLine:
    """One invoice line as the client reads it.

    ``kind`` is one of :data:`LINE_KINDS`: ``labour`` and ``retainer_overage`` bill hours at a
    rate (:data:`HOURLY_KINDS`), the others one unit at an amount. ``category`` names the ERP
    service product with the kind: the role family for labour (for example ``consulting``),
    the expense category for expenses (``airfare``, ``lodging``...), the contract's billing
    method for a schedule line (``fixed_fee``, ``retainer``, ``milestone``).
    ``tax_amount`` is the warehouse's expected tax for the line (see :func:`line_tax`).
    ``line_key`` is filled in by the batch; leave it empty when building lines.
    """

    kind: str
    category: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_code: str
    tax_amount: Decimal
    correlation_ids: tuple[str, ...]
    line_key: str = ""

    def __post_init__(self) -> None:
        if self.kind not in LINE_KINDS:
            raise ValueError(f"line kind must be one of {LINE_KINDS}, not {self.kind!r}")
        for name in ("quantity", "unit_price", "tax_amount"):
            if not isinstance(getattr(self, name), Decimal):
                raise TypeError(f"{name} must be a Decimal (money is never float)")
        if not self.correlation_ids:
            raise ValueError("a line bills at least one correlation id")
        if len(set(self.correlation_ids)) != len(self.correlation_ids):
            raise ValueError("a line lists a correlation id twice")
        if self.quantity == 0:
            raise ValueError("quantity must not be zero")
        if _decimals(self.quantity) > QUANTITY_DIGITS[self.kind]:
            raise ValueError(
                f"{self.kind} quantity {self.quantity} has more than "
                f"{QUANTITY_DIGITS[self.kind]} decimals"
            )
        if _decimals(self.unit_price) > PRICE_DIGITS:
            raise ValueError(f"unit price {self.unit_price} has more than {PRICE_DIGITS} decimals")
        if not self.description.strip() or not self.tax_code or not self.category:
            raise ValueError("description, category and tax code are required")
        # Sorted, so the same line built from differently ordered rows compares equal.
        object.__setattr__(self, "correlation_ids", tuple(sorted(self.correlation_ids)))

    def amount(self, currency: str) -> Decimal:
        """Untaxed amount of the line, rounded like the ERP rounds it."""
        return round_money(self.quantity * self.unit_price, currency)

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready form (Decimals as strings) for the outbox payload."""
        return {
            "line_key": self.line_key,
            "kind": self.kind,
            "category": self.category,
            "description": self.description,
            "quantity": str(self.quantity),
            "unit_price": str(self.unit_price),
            "tax_code": self.tax_code,
            "tax_amount": str(self.tax_amount),
            "correlation_ids": list(self.correlation_ids),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> BatchLine:
        """Inverse of :meth:`to_payload`."""
        return cls(
            kind=data["kind"],
            category=data["category"],
            description=data["description"],
            quantity=Decimal(data["quantity"]),
            unit_price=Decimal(data["unit_price"]),
            tax_code=data["tax_code"],
            tax_amount=Decimal(data["tax_amount"]),
            correlation_ids=tuple(data["correlation_ids"]),
            line_key=data.get("line_key", ""),
        )


@dataclass(frozen=True)
class BillingBatch:
    """One draft customer invoice to create in the ERP, keyed by its idempotency key.

    Identity (part of the key): ``client_ref`` (the ERP customer code), ``contract_ref``,
    ``legal_entity``, ``currency``, ``period`` (``YYYY-MM``), plus every line's correlation
    ids. ``client_name``, ``invoice_date`` and ``payment_terms`` (``NET30``...) describe
    the invoice but are not identity.
    """

    client_ref: str
    client_name: str
    contract_ref: str
    legal_entity: str
    currency: str
    period: str
    invoice_date: date
    payment_terms: str
    lines: tuple[BatchLine, ...]
    batch_key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not _PERIOD.match(self.period):
            raise ValueError(f"period must be YYYY-MM, not {self.period!r}")
        if not _CURRENCY.match(self.currency):
            raise ValueError(f"currency must be an ISO 4217 code, not {self.currency!r}")
        if not (self.client_ref and self.contract_ref and self.legal_entity):
            raise ValueError("client, contract and legal entity are required")
        lines = tuple(self.lines)
        if not lines:
            raise ValueError("a batch has at least one line")
        seen: set[str] = set()
        for line in lines:
            if seen.intersection(line.correlation_ids):
                raise ValueError("a correlation id is billed on two lines of one batch")
            seen.update(line.correlation_ids)
        key = keys.batch_key(self.identity(), seen)
        if self.batch_key and self.batch_key != key:
            raise ValueError(f"batch key {self.batch_key} does not match its content ({key})")
        keyed = []
        for line in lines:
            lk = keys.line_key(key, line.kind, line.correlation_ids)
            if line.line_key and line.line_key != lk:
                raise ValueError(f"line key {line.line_key} does not match its content ({lk})")
            keyed.append(replace(line, line_key=lk))
        object.__setattr__(self, "lines", tuple(keyed))
        object.__setattr__(self, "batch_key", key)

    def identity(self) -> dict[str, str]:
        """The identity fields hashed into the batch key."""
        return {
            "client_ref": self.client_ref,
            "contract_ref": self.contract_ref,
            "legal_entity": self.legal_entity,
            "currency": self.currency,
            "period": self.period,
        }

    @property
    def correlation_ids(self) -> tuple[str, ...]:
        """Every correlation id the batch bills, sorted."""
        return tuple(sorted(cid for line in self.lines for cid in line.correlation_ids))

    @property
    def description(self) -> str:
        """Invoice header text: contract and period, as the client reads it."""
        return f"{self.contract_ref} - {self.period}"

    def control_totals(self) -> ControlTotals:
        """Line count, quantity, untaxed amount and expected tax of the batch."""
        return ControlTotals(
            line_count=len(self.lines),
            quantity=sum((line.quantity for line in self.lines), Decimal(0)),
            amount=sum((line.amount(self.currency) for line in self.lines), Decimal(0)),
            tax_amount=sum((line.tax_amount for line in self.lines), Decimal(0)),
        )

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready form stored in the outbox; :meth:`from_payload` rebuilds the batch."""
        return {
            "batch_key": self.batch_key,
            **self.identity(),
            "client_name": self.client_name,
            "invoice_date": self.invoice_date.isoformat(),
            "payment_terms": self.payment_terms,
            "lines": [line.to_payload() for line in self.lines],
        }

    def payload_hash(self) -> str:
        """Hash of the full payload: a different hash under one key means changed content."""
        return keys.payload_hash(self.to_payload())

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> BillingBatch:
        """Rebuild a batch from its payload, re-checking its keys."""
        return cls(
            client_ref=data["client_ref"],
            client_name=data["client_name"],
            contract_ref=data["contract_ref"],
            legal_entity=data["legal_entity"],
            currency=data["currency"],
            period=data["period"],
            invoice_date=date.fromisoformat(data["invoice_date"]),
            payment_terms=data["payment_terms"],
            lines=tuple(BatchLine.from_payload(line) for line in data["lines"]),
            batch_key=data.get("batch_key", ""),
        )

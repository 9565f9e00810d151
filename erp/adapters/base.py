"""The interface every ERP adapter implements, and the errors that drive the outbox.

The outbox (:mod:`erp.outbox`) only ever talks to an :class:`ErpAdapter`. An adapter must make
``create_if_absent`` safe to repeat: it looks each batch key up first and creates only the
batches the ERP does not hold yet, in as few round trips as it can.

Errors: :class:`TransientErpError` (timeouts, locks, the ERP unreachable) means "try again
later" and the batch goes to ``failed_retryable``; :class:`BusinessErpError` means the ERP
refused the content (unknown currency, tax, validation rule) and the batch goes to
``dead_letter`` with the ERP's message until someone corrects it and replays it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from d2b.redaction import redact_text
from erp.model import BillingBatch

#: State an adapter reports for a document it holds but cannot read consistently (a file-drop
#: file whose control record does not tie with its lines). Reconciliation flags its batch.
INVALID_STATE = "invalid"

_NET_TERMS = re.compile(r"^NET(\d{1,3})$")
_IMMEDIATE_TERMS = {"DUE_ON_RECEIPT", "IMMEDIATE", "NET0"}

#: Invoice states after which nothing changes any more: the daily feedback stops reading them.
FINAL_STATES = frozenset({"paid", "cancelled"})


def terms_name(terms: str) -> str:
    """Payment terms as one upper-case word (``net 30`` -> ``NET30``), their ERP name."""
    return re.sub(r"\s+", "", terms.upper())


def payment_term_days(terms: str) -> int | None:
    """Days from invoice date to due date of ``terms`` (``NET30``, ``DUE_ON_RECEIPT``...).

    None for terms no adapter knows how to map (a business error when sending).
    """
    name = terms_name(terms)
    if name in _IMMEDIATE_TERMS:
        return 0
    match = _NET_TERMS.match(name)
    return int(match.group(1)) if match else None


class ErpError(Exception):
    """Base class of errors an adapter raises.

    Its message goes to the outbox, the audit log and run logs, so credentials it quotes (a
    URL with a password, say) are redacted here (:func:`d2b.redaction.redact_text`).
    """

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(redact_text(str(message)), *args)


class TransientErpError(ErpError):
    """The call may succeed if repeated later (outbox status ``failed_retryable``)."""


class BusinessErpError(ErpError):
    """The ERP refused the batch's content (outbox status ``dead_letter``).

    ``message`` is the ERP's own message, kept verbatim (credentials aside) for the person
    correcting the batch.
    """

    def __init__(self, message: str, batch_key: str | None = None) -> None:
        super().__init__(message)
        self.message = self.args[0]
        self.batch_key = batch_key


@dataclass(frozen=True)
class ErpDocument:
    """An ERP invoice found for a batch key."""

    batch_key: str
    document_id: str
    number: str | None
    state: str


@dataclass(frozen=True)
class CreateResult:
    """Outcome of :meth:`ErpAdapter.create_if_absent` for one batch.

    Exactly one of ``document_id`` and ``error`` is set. ``created`` is False when the ERP
    already held an invoice with this batch key (an earlier run created it and crashed before
    recording it): the outbox adopts that document instead of creating a second one.
    """

    batch_key: str
    document_id: str | None = None
    created: bool = False
    error: BusinessErpError | None = None


@dataclass(frozen=True)
class ErpInvoiceLine:
    """One invoice line as the ERP holds it."""

    line_id: str
    line_key: str | None
    description: str
    product_code: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_codes: tuple[str, ...]
    #: The correlation ids the ERP line says it bills (empty when the ERP does not carry them).
    correlation_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErpInvoice:
    """One customer invoice as the ERP holds it (read back to close the loop)."""

    document_id: str
    batch_key: str | None
    number: str | None
    state: str
    party_code: str | None
    currency: str
    invoice_date: date | None
    accounting_date: date | None
    untaxed_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    lines: tuple[ErpInvoiceLine, ...] = field(default=())
    #: The legal entity whose ERP company holds the invoice (None where the ERP has no companies).
    legal_entity: str | None = None


@dataclass(frozen=True)
class ErpInvoiceStatus:
    """Where an invoice stands in the ERP after billing: state, due date, payments.

    Read daily by the feedback (:mod:`erp.outbox.feedback`) for the invoices not yet final
    (:data:`FINAL_STATES`). A field the ERP cannot tell is None (a file drop knows no payments),
    never a guess.
    """

    document_id: str
    batch_key: str | None
    state: str
    currency: str
    total_amount: Decimal
    #: When the receivable falls due (the earliest maturity of the amounts to pay).
    due_date: date | None = None
    #: Paid so far and still to pay, in the invoice currency (None: the ERP cannot tell).
    amount_paid: Decimal | None = None
    amount_due: Decimal | None = None
    #: The day the invoice became fully paid (its last payment's reconciliation).
    paid_date: date | None = None
    #: The day of the latest payment booked against it (partial payments too).
    last_payment_date: date | None = None


class ErpAdapter(ABC):
    """An ERP that billing batches are written to and invoices are read back from."""

    #: Short name recorded in the outbox and audit log (``tryton``, ``filedrop``...).
    name: str = "erp"

    @abstractmethod
    def find_by_keys(self, batch_keys: Sequence[str]) -> dict[str, list[ErpDocument]]:
        """Return the ERP documents carrying each batch key (absent keys are left out).

        A list per key, so that a duplicate (which the outbox must never cause) is visible.
        """

    def find_by_key(self, batch_key: str) -> ErpDocument | None:
        """The ERP document carrying ``batch_key``, or None (first one if duplicated)."""
        found = self.find_by_keys([batch_key]).get(batch_key)
        return found[0] if found else None

    @abstractmethod
    def create_if_absent(self, batches: Sequence[BillingBatch]) -> list[CreateResult]:
        """Create a draft invoice for every batch whose key the ERP does not hold yet.

        Returns one result per batch, in order. A business error on one batch is reported in
        its result and does not stop the others; a transient error raises
        :class:`TransientErpError` for the whole call (nothing is known to be created, and
        the next attempt's lookup finds whatever was).
        """

    @abstractmethod
    def read_invoices(self, batch_keys: Iterable[str] | None = None) -> list[ErpInvoice]:
        """Read the invoices carrying ``batch_keys`` (all write-back invoices when None)."""

    def read_statuses(self, batch_keys: Iterable[str]) -> list[ErpInvoiceStatus]:
        """The state, due date and payments of the invoices carrying ``batch_keys``.

        This default knows only what :meth:`read_invoices` gives (state and total, no due
        date or payments); adapters that can tell more override it.
        """
        return [
            ErpInvoiceStatus(
                document_id=invoice.document_id,
                batch_key=invoice.batch_key,
                state=invoice.state,
                currency=invoice.currency,
                total_amount=invoice.total_amount,
            )
            for invoice in self.read_invoices(list(batch_keys))
        ]

    @abstractmethod
    def post(self, document_ids: Sequence[str], acknowledge: Iterable[str] = ()) -> None:
        """Post (release) the given draft invoices: they get a number and an accounting move.

        ``acknowledge`` names ERP warnings the caller accepts (adapter specific).
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release connections; the adapter may be reopened by the next call."""

    def __enter__(self) -> ErpAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

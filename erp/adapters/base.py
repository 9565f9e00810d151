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

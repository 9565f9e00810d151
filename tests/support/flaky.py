"""An adapter wrapper that injects transient ERP failures, then recovers (fault tests).

Two failure shapes, because they test different things:

- ``fail_before``: the call fails before reaching the ERP (connection refused, lock
  timeout). Nothing was created.
- ``lose_response``: the ERP commits the invoices, then the response is lost (a timeout
  on the way back). The invoices exist but the caller never learned their ids: the retry
  must find them by key instead of creating them again.

It delegates to a real adapter; it is not a stand-in for the ERP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from erp.adapters.base import (
    CreateResult,
    ErpAdapter,
    ErpDocument,
    ErpInvoice,
    TransientErpError,
)
from erp.model import BillingBatch


class FlakyAdapter(ErpAdapter):
    """Fail the first ``fail_before`` + ``lose_response`` creates transiently, then delegate."""

    def __init__(self, inner: ErpAdapter, fail_before: int = 0, lose_response: int = 0) -> None:
        self.inner = inner
        self.name = inner.name
        self.fail_before = fail_before
        self.lose_response = lose_response
        self.calls = 0

    def find_by_keys(self, batch_keys: Sequence[str]) -> dict[str, list[ErpDocument]]:
        """Delegate."""
        return self.inner.find_by_keys(batch_keys)

    def create_if_absent(self, batches: Sequence[BillingBatch]) -> list[CreateResult]:
        """Fail as configured, then delegate."""
        self.calls += 1
        if self.fail_before > 0:
            self.fail_before -= 1
            raise TransientErpError("injected: ERP unreachable (connection refused)")
        if self.lose_response > 0:
            self.lose_response -= 1
            self.inner.create_if_absent(batches)
            raise TransientErpError("injected: ERP response lost after commit (read timeout)")
        return self.inner.create_if_absent(batches)

    def read_invoices(self, batch_keys: Iterable[str] | None = None) -> list[ErpInvoice]:
        """Delegate."""
        return self.inner.read_invoices(batch_keys)

    def post(self, document_ids: Sequence[str], acknowledge: Iterable[str] = ()) -> None:
        """Delegate."""
        self.inner.post(document_ids, acknowledge)

    def close(self) -> None:
        """Delegate."""
        self.inner.close()

"""Reconcile: tie every sent batch out against the ERP's read-back copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from erp.adapters.base import (
    INVALID_STATE,
)
from erp.outbox import store
from erp.outbox.store import (
    MISMATCH,
    RECONCILED,
    SENT,
    Audit,
    ensure_schema,
    in_transaction,
    set_status,
)


@dataclass
class ReconcileResult:
    """Batches :func:`reconcile` found tied out, and the others with their reasons."""

    reconciled: list[str] = field(default_factory=list)
    mismatched: dict[str, str] = field(default_factory=dict)


_RECONCILE_SQL = """
WITH inv AS (
    SELECT i.batch_key, count(*) AS n_invoices, min(i.document_id) AS document_id,
           min(i.number) AS number, min(i.state) AS state, min(i.currency) AS currency,
           min(i.party_code) AS party_code,
           sum(i.untaxed_amount) AS untaxed, sum(i.tax_amount) AS tax
    FROM raw.erp_api__invoices i WHERE i.erp_adapter = $adapter GROUP BY i.batch_key
), lines AS (
    SELECT l.batch_key, count(*) AS n_lines, sum(l.quantity) AS quantity,
           count(*) FILTER (WHERE o.line_key IS NULL OR o.batch_key <> l.batch_key) AS unknown_keys,
           count(*) - count(DISTINCT l.line_key) AS duplicate_keys
    FROM raw.erp_api__invoice_lines l LEFT JOIN ops.erp_outbox_lines o USING (line_key)
    WHERE l.erp_adapter = $adapter GROUP BY l.batch_key
), missing AS (
    SELECT o.batch_key, count(*) AS missing_keys
    FROM ops.erp_outbox_lines o
    WHERE NOT EXISTS (SELECT 1 FROM raw.erp_api__invoice_lines l
                      WHERE l.line_key = o.line_key AND l.erp_adapter = $adapter)
    GROUP BY o.batch_key
)
SELECT b.batch_key, b.status, b.reconciled_at, b.erp_document_id, b.line_count, b.total_quantity,
       b.total_amount, b.expected_tax, b.currency, b.client_ref,
       inv.n_invoices, inv.document_id, inv.number, inv.state, inv.currency, inv.party_code,
       inv.untaxed, inv.tax, lines.n_lines, lines.quantity, lines.unknown_keys,
       lines.duplicate_keys, coalesce(missing.missing_keys, 0)
FROM ops.erp_outbox b
LEFT JOIN inv USING (batch_key)
LEFT JOIN lines USING (batch_key)
LEFT JOIN missing USING (batch_key)
WHERE b.status IN ($sent, $mismatch, $reconciled) AND b.erp_adapter = $adapter
ORDER BY b.batch_key
"""


def reconcile(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    adapter_name: str = "tryton",
    actor: str = "erp.reconcile",
) -> ReconcileResult:
    """Tie every sent batch out against the read back ERP copy (docs/design.md §6.4).

    Checks, per batch: exactly one ERP invoice, the recorded document id, currency and
    customer; line count, quantity, untaxed amount and tax against the frozen control
    totals; every line key present once, none unknown. ``sent`` and ``mismatch`` batches
    move to ``reconciled`` or ``mismatch`` (with the reasons); ``reconciled`` ones are
    re-checked and move to ``mismatch`` if the ERP copy changed since.
    """
    ensure_schema(con)
    rows = con.execute(
        _RECONCILE_SQL,
        {"adapter": adapter_name, "sent": SENT, "mismatch": MISMATCH, "reconciled": RECONCILED},
    ).fetchall()
    result = ReconcileResult()
    audit = Audit(run_id, actor)
    updates: list[dict[str, Any]] = []
    now = store.now_utc()
    for row in rows:
        (
            key,
            status,
            reconciled_at,
            doc_id,
            n,
            qty,
            amount,
            tax,
            currency,
            client,
            n_inv,
            erp_doc,
            number,
            state,
            erp_currency,
            party,
            untaxed,
            erp_tax,
            n_lines,
            erp_qty,
            unknown,
            dupes,
            missing,
        ) = row
        reasons = []
        if not n_inv:
            reasons.append("not found in the ERP read back")
        else:
            if n_inv > 1:
                reasons.append(f"{n_inv} ERP invoices carry this key")
            if erp_doc != doc_id:
                reasons.append(f"ERP document {erp_doc} but outbox recorded {doc_id}")
            if state == "cancelled":
                reasons.append("cancelled in the ERP")
            if state == INVALID_STATE:
                reasons.append(
                    "the ERP's copy is invalid (unreadable, or its control totals do not tie)"
                )
            if erp_currency != currency:
                reasons.append(f"currency {erp_currency} != {currency}")
            if party != client:
                reasons.append(f"customer {party} != {client}")
            if (n_lines or 0) != n:
                reasons.append(f"line count {n_lines or 0} != {n}")
            if (erp_qty or 0) != qty:
                reasons.append(f"quantity {erp_qty} != {qty}")
            if untaxed != amount:
                reasons.append(f"amount {untaxed} != {amount}")
            if erp_tax != tax:
                reasons.append(f"tax {erp_tax} != expected {tax}")
            if unknown:
                reasons.append(f"{unknown} ERP line(s) with unknown line keys")
            if dupes:
                reasons.append(f"{dupes} line key(s) on more than one ERP line")
        if missing:
            reasons.append(f"{missing} line key(s) missing in the ERP")
        new_status = MISMATCH if reasons else RECONCILED
        reason = "; ".join(reasons) or None
        if new_status == RECONCILED:
            result.reconciled.append(key)
        else:
            result.mismatched[key] = reason
        updates.append(
            {
                "batch_key": key,
                "from_status": status,
                "status": new_status,
                "mismatch_reason": reason,
                "erp_number": number,
                "erp_state": state,
                # Still reconciled: refresh number and state (posted since), keep the date.
                "reconciled_at": (reconciled_at or now) if new_status == RECONCILED else None,
            }
        )
        if new_status != status:
            detail: dict[str, Any] = {"erp_number": number, "erp_state": state}
            if reason:
                detail["reason"] = reason
            audit.add(key, new_status, status, new_status, detail)

    def work() -> None:
        set_status(con, updates, ("mismatch_reason", "erp_number", "erp_state", "reconciled_at"))
        audit.write(con)

    in_transaction(con, work)
    return result

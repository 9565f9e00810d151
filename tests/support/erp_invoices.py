"""``python -m tests.support.erp_invoices``: the invoices of ``D2B_HOME``'s ERP, as JSON.

The ERP ``d2b`` bills into (``D2B_ERP_*``), read back in a process of its own: trytond's
SQLite directory is process-wide, so one test process cannot open two homes' embedded ERPs.
Printed per invoice: batch key, state, amounts and lines (line key, quantity, amount and the
correlation ids the line bills), sorted, with none of the ids the ERP draws.
"""

from __future__ import annotations

import json

from erp.adapters import make_adapter
from erp.settings import ErpSettings


def main() -> int:
    """Print the ERP's invoices as one JSON list."""
    adapter = make_adapter(ErpSettings.from_env())
    try:
        invoices = adapter.read_invoices(None)
    finally:
        adapter.close()
    print(
        json.dumps(
            sorted(
                [
                    inv.batch_key,
                    inv.state,
                    str(inv.untaxed_amount),
                    str(inv.tax_amount),
                    sorted(
                        [ln.line_key, str(ln.quantity), str(ln.amount), sorted(ln.correlation_ids)]
                        for ln in inv.lines
                    ),
                ]
                for inv in invoices
            )
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

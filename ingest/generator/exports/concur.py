"""SAP Concur: the sample firm's Standard Accounting Extract, in Concur's published layout.

One file per weekly batch: the ``EXTRACT`` record (``EXTRACT|Batch Date|Record Count|Journal
Amount Total|Batch ID``), then one 400-field DETAIL record per journal line, the tenant's
fields at the positions of its column map (:func:`ingest.sources.concur.sae_fields`). The
sample firm's entries are single-line debits, each with its default 100 % allocation, so
its journal lines are its expense entries.
"""

from __future__ import annotations

from ingest.config import SAE_TENANT_ID
from ingest.generator import reference as ref
from ingest.generator.exports.common import month_label
from ingest.generator.firm import DAY
from ingest.generator.state import World
from ingest.generator.writers import Landing, day_str, iso, money
from ingest.sources.concur import sae_detail_record

_VENDORS = {
    "AIRFR": ("Lufthansa", "British Airways", "Delta Air Lines", "Qantas", "KLM"),
    "LODNG": ("Marriott", "Hilton", "NH Hotels", "Premier Inn", "Hyatt"),
    "MEALS": ("Pret A Manger", "Local Bistro", "Client Canteen", "Sushi Bar"),
    "TAXI": ("Uber", "FreeNow", "Bolt", "City Cabs"),
    "TRAIN": ("Deutsche Bahn", "Eurostar", "NS", "Amtrak"),
    "CARRT": ("Hertz", "Sixt", "Avis"),
    "MILEG": ("Private car",),
    "ENTMT": ("Steakhouse", "Wine Bar", "Theatre"),
    "SUPPL": ("Staples", "Office Depot"),
    "SFTWR": ("Atlassian", "JetBrains", "Miro"),
}


def _vendor(code: str, key: int) -> str:
    v = _VENDORS[code]
    return v[key % len(v)]


def write_concur(w: World, landing: Landing) -> None:
    """Write one SAE file per weekly batch of the firm's expense lines."""
    firm = w.firm
    wk, p = firm.workers, firm.projects
    practice_codes = list(ref.PRACTICES)
    emp = wk["employee_id"].tolist()
    last, first = wk["last_name"].tolist(), wk["first_name"].tolist()
    les = [ref.LEGAL_ENTITIES[i] for i in wk["le"]]
    cc = [f"{les[i].code}-{practice_codes[pr]}" for i, pr in enumerate(wk["practice"])]
    pname = p["name"].tolist()
    for batch_id, g in w.ex.lines.groupby("batch_id", sort=True):
        batch_day = int(g["batch_day"].iloc[0])
        bdate = day_str(batch_day)
        out = []
        total = 0
        for seq, r in enumerate(g.itertuples(index=False), start=1):
            person = int(r.person)
            le = les[person]
            et = ref.EXPENSE_TYPES[int(r.etype)]
            total += int(r.posted_cents)
            proj_name = pname[int(r.project)] if r.project >= 0 else "Internal"
            entry_id = int(r.entry_id)
            values = {
                "constant": "DETAIL",
                "batch_id": str(batch_id),
                "batch_date": bdate,
                "sequence_number": str(seq),
                "employee_id": emp[person],
                "employee_last_name": last[person],
                "employee_first_name": first[person],
                "employee_group_id": "DEFAULT",
                "employee_org_unit_1": le.code,
                "employee_org_unit_2": cc[person],
                "employee_org_unit_3": le.region,
                "report_id": r.report_id,
                "report_key": str(int(r.report_key)),
                "reimbursement_currency": r.currency,
                "report_submit_date": day_str(int(r.submitted) // DAY),
                "report_payment_processing_date": day_str(int(r.processing_day)),
                "report_name": f"{proj_name} - {month_label(int(r.min))}",
                "report_submitted_at": iso(int(r.submitted)),
                "report_approved_at": iso(int(r.approved)),
                "report_entry_id": str(entry_id),
                "report_entry_transaction_type": "REG",
                "report_entry_expense_type_name": et.name,
                "report_entry_transaction_date": day_str(int(r.txn_day)),
                "report_entry_currency": r.txn_currency,
                "report_entry_exchange_rate": f"{float(r.exchange_rate):.6f}",
                "report_entry_exchange_rate_direction": "M",
                "report_entry_is_personal": "N",
                "report_entry_description": f"{et.name} - {proj_name}",
                "report_entry_vendor_name": _vendor(et.code, entry_id),
                "report_entry_receipt_received": "Y" if r.receipt else "N",
                "report_entry_expense_type_code": et.code,
                "report_entry_project": r.project_code,
                "report_entry_transaction_amount": money(int(r.txn_cents)),
                "report_entry_posted_amount": money(int(r.posted_cents)),
                "report_entry_approved_amount": money(int(r.posted_cents)),
                "payment_type_code": "CBCP" if r.company_paid else "CASH",
                "journal_account_code": et.gl_account,
                "journal_debit_or_credit": "DR",
                "journal_amount": "+" + money(int(r.posted_cents)),
                # One journal line and one (default) allocation per entry: both keyed by it.
                "journal_key": str(entry_id),
                "allocation_key": str(entry_id),
                "allocation_percentage": "100.0000",
                "allocation_client": r.client_code,
                "report_entry_city": ref.CITIES[le.country][entry_id % len(ref.CITIES[le.country])],
                "report_entry_is_billable": "Y" if r.billable else "N",
            }
            out.append(sae_detail_record(values))
        header = f"EXTRACT|{bdate}|{len(out)}|{money(total)}|{batch_id}"
        ts = bdate.replace("-", "") + "200000"
        name = f"extract_CES_SAE_v3_{SAE_TENANT_ID}_{ts}.txt"
        data = ("\n".join([header, *out]) + "\n").encode("utf-8")
        landing.write(
            "concur",
            "expenses",
            name,
            [data],
            len(out),
            batch_day * DAY + 21 * 3600,
            int((g["reason"] != 0).sum()),
        )

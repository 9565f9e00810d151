"""SAP Concur: one Standard Accounting Extract (SAE) file per weekly expense batch."""

from __future__ import annotations

from ingest.config import SAE_TENANT_ID, sae_columns
from ingest.generator import reference as ref
from ingest.generator.exports.common import month_label
from ingest.generator.firm import DAY
from ingest.generator.state import World
from ingest.generator.writers import (
    Landing,
    day_str,
    iso,
    money,
)


def write_concur(w: World, landing: Landing) -> None:
    """One SAE file per weekly batch: an EXTRACT row, then one DETAIL row per expense entry."""
    firm = w.firm
    wk, p = firm.workers, firm.projects
    lines = w.ex.lines
    practice_codes = list(ref.PRACTICES)
    emp = wk["employee_id"].tolist()
    last, first = wk["last_name"].tolist(), wk["first_name"].tolist()
    les = [ref.LEGAL_ENTITIES[i] for i in wk["le"]]
    cc = [f"{les[i].code}-{practice_codes[pr]}" for i, pr in enumerate(wk["practice"])]
    pname = p["name"].tolist()
    for batch_id, g in lines.groupby("batch_id", sort=True):
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
                "Constant": "DETAIL",
                "Batch ID": str(batch_id),
                "Batch Date": bdate,
                "Sequence Number": str(seq),
                "Employee ID": emp[person],
                "Employee Last Name": last[person],
                "Employee First Name": first[person],
                "Employee Middle Initial": "",
                "Employee Group ID": "DEFAULT",
                "Employee Org Unit 1": le.code,
                "Employee Org Unit 2": cc[person],
                "Employee Org Unit 3": le.region,
                "Report ID": r.report_id,
                "Report Key": str(int(r.report_key)),
                "Reimbursement Currency Alpha ISO Code": r.currency,
                "Report Submit Date": iso(int(r.submitted)),
                "Report Final Approval Date": iso(int(r.approved)),
                "Report Payment Processing Date": day_str(int(r.processing_day)),
                "Report Name": f"{proj_name} - {month_label(int(r.min))}",
                "Report Entry ID": str(entry_id),
                "Report Entry Transaction Type": "REG",
                "Report Entry Expense Type Code": et.code,
                "Report Entry Expense Type Name": et.name,
                "Report Entry Transaction Date": day_str(int(r.txn_day)),
                "Report Entry Currency Alpha Code": r.txn_currency,
                "Report Entry Exchange Rate": f"{float(r.exchange_rate):.6f}",
                "Report Entry Transaction Amount": money(int(r.txn_cents)),
                "Report Entry Posted Amount": money(int(r.posted_cents)),
                "Report Entry Approved Amount": money(int(r.posted_cents)),
                "Report Entry Payment Type Code": "CBCP" if r.company_paid else "CASH",
                "Report Entry Description": f"{et.name} - {proj_name}",
                "Report Entry Vendor Name": _vendor(et.code, entry_id),
                "Report Entry Location City Name": ref.CITIES[le.country][
                    entry_id % len(ref.CITIES[le.country])
                ],
                "Report Entry Receipt Received Flag": "Y" if r.receipt else "N",
                "Report Entry Is Personal Flag": "N",
                "Report Entry Is Billable Flag": "Y" if r.billable else "N",
                "Journal Account Code": et.gl_account,
                "Journal Debit Or Credit": "DR",
                "Journal Amount": money(int(r.posted_cents)),
                "Allocation Custom 1 Code": r.client_code,
                "Allocation Custom 2 Code": r.project_code,
            }
            out.append("|".join(values[c] for c in sae_columns()))
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

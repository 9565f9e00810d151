"""The legacy ERP: invoices, invoice lines and expense postings, as monthly CSV exports."""

from __future__ import annotations

import numpy as np

from ingest.generator import reference as ref
from ingest.generator.exports.common import SNAPSHOT_HOUR, month_label
from ingest.generator.firm import DAY, NO_DAY, from_day
from ingest.generator.state import World, contract_id
from ingest.generator.writers import (
    Landing,
    csv_bytes,
    day_str,
    iso,
    money,
)

ERP_INVOICE_HEADER = (
    "internal_id",
    "tranid",
    "entity_id",
    "entity_name",
    "customer_external_id",
    "subsidiary",
    "currency",
    "exchange_rate",
    "trandate",
    "posting_period",
    "approval_status",
    "status",
    "released_date",
    "due_date",
    "terms",
    "subtotal",
    "tax_total",
    "total",
    "amount_paid",
    "amount_remaining",
    "paid_date",
    "custbody_sf_contract_id",
    "custbody_psa_project_code",
    "memo",
    "created_date",
    "last_modified_date",
)
ERP_LINE_HEADER = (
    "line_id",
    "invoice_internal_id",
    "line_number",
    "item",
    "description",
    "quantity",
    "rate",
    "amount",
    "tax_code",
    "tax_rate",
    "tax_amount",
    "custcol_line_kind",
    "custcol_psa_project_code",
    "custcol_psa_source_ids",
)
ERP_POSTING_HEADER = (
    "journal_internal_id",
    "journal_tranid",
    "line_id",
    "subsidiary",
    "posted_date",
    "posting_period",
    "gl_account",
    "amount",
    "currency",
    "employee_id",
    "concur_report_id",
    "concur_entry_id",
    "memo",
)
EXTRA_COLUMN = "custcol_legacy_memo"


def write_erp(w: World, landing: Landing) -> None:
    """Monthly legacy ERP exports (snapshot at the as-of date) and the FX table."""
    firm = w.firm
    p, a, wk = firm.projects, firm.accounts, firm.workers
    inv, lines = w.inv.invoices, w.inv.lines
    snap = w.end_ts + SNAPSHOT_HOUR
    month_of = lambda d: str(np.datetime64(int(d), "D").astype("datetime64[M]"))  # noqa: E731
    inv = inv.assign(month=[month_of(d) for d in inv["trandate"]])
    e, exl = w.e, w.ex.lines
    # custcol_psa_source_ids per invoice line: "<system>:<id>" joined by ";", sorted by id.
    el = w.inv.entry_line
    idx = np.nonzero(el >= 0)[0]
    idx = idx[np.lexsort((e.entry_id[idx], el[idx]))]
    names = ("harvest", "toggl")
    refs = [
        f"{names[s]}:{i}"
        for s, i in zip(e.src[idx].tolist(), e.entry_id[idx].tolist(), strict=True)
    ]
    cut = np.searchsorted(el[idx], np.arange(len(lines) + 1)).tolist()
    xl = w.inv.expense_line
    xidx = np.nonzero(xl >= 0)[0]
    xidx = xidx[np.lexsort((exl["entry_id"].to_numpy()[xidx], xl[xidx]))]
    xrefs = [f"concur:{i}" for i in exl["entry_id"].to_numpy()[xidx].tolist()]
    xcut = np.searchsorted(xl[xidx], np.arange(len(lines) + 1)).tolist()
    sources = [
        ";".join(refs[cut[k] : cut[k + 1]]) or ";".join(xrefs[xcut[k] : xcut[k + 1]])
        for k in range(len(lines))
    ]
    inv_cols = {c: inv[c].tolist() for c in ("internal_id", "tax_code", "tax_rate", "project")}
    codes = p["project_code"].tolist()
    acc_ext = [
        x if ok else "" for x, ok in zip(a["account_id"], a["erp_has_external_id"], strict=True)
    ]
    acc_name, acc_erp = a["name"].tolist(), a["erp_customer_id"].tolist()
    extra_month = _extra_column_month(inv) if w.rates.extra_column_file else None
    for month, g in inv.groupby("month", sort=True):
        rows = []
        for r in g.itertuples():
            released = r.released != NO_DAY
            total = r.subtotal_cents + r.tax_cents
            paid = r.paid != NO_DAY
            acc = int(r.account)
            status = "Pending Approval" if not released else ("Paid In Full" if paid else "Open")
            last = max([d for d in (r.trandate, r.released, r.paid) if d != NO_DAY])
            rows.append(
                (
                    str(r.internal_id),
                    r.tranid,
                    str(int(acc_erp[acc])),
                    acc_name[acc],
                    acc_ext[acc],
                    r.le,
                    r.currency,
                    f"{r.usd_rate:.6f}",
                    day_str(r.trandate),
                    month_label(int(r.trandate)),
                    "Approved" if released else "Pending Approval",
                    status,
                    day_str(r.released) if released else "",
                    day_str(r.due) if released else "",
                    r.terms,
                    money(r.subtotal_cents),
                    money(r.tax_cents),
                    money(total),
                    money(total if paid else 0),
                    money(0 if paid else total),
                    day_str(r.paid) if paid else "",
                    contract_id(int(r.project)),
                    p.at[int(r.project), "project_code"],
                    f"Services {from_day(int(r.period_end)):%B %Y}",
                    iso(int(r.trandate) * DAY + 39600),
                    iso(int(last) * DAY + 43200),
                )
            )
        landing.write(
            "erp",
            "invoices",
            f"invoices_{month}.csv",
            [csv_bytes(ERP_INVOICE_HEADER, rows)],
            len(rows),
            snap,
        )

        ln_rows = []
        sub = lines[lines["invoice"].isin(g.index)]
        for ln in sub.itertuples():
            k = int(ln.invoice)
            row = [
                str(ln.line_id),
                str(inv_cols["internal_id"][k]),
                str(ln.line_no),
                ln.item,
                ln.description,
                f"{ln.quantity_q / 4:.2f}",
                money(ln.rate_cents),
                money(ln.amount_cents),
                inv_cols["tax_code"][k],
                inv_cols["tax_rate"][k],
                money(ln.tax_cents),
                ln.kind,
                codes[int(inv_cols["project"][k])],
                sources[ln.Index],
            ]
            if month == extra_month:
                row.append(f"migrated {inv.at[k, 'tranid']}")
            ln_rows.append(row)
        header = ERP_LINE_HEADER + ((EXTRA_COLUMN,) if month == extra_month else ())
        name = f"invoice_lines_{month}.csv"
        landing.write(
            "erp", "invoice_lines", name, [csv_bytes(header, ln_rows)], len(ln_rows), snap
        )

    posted = exl[exl["journal_id"] >= 0].copy()
    posted["month"] = [month_of(d) for d in posted["posted_day"]]
    for month, g in posted.groupby("month", sort=True):
        rows = []
        for r in g.sort_values(["journal_id", "entry_id"]).itertuples():
            le = ref.LEGAL_ENTITIES[int(r.le)]
            rows.append(
                (
                    str(int(r.journal_id)),
                    f"JE-EXP-{int(r.journal_id)}",
                    str(int(r.entry_id) * 2 + 1),
                    le.code,
                    day_str(int(r.posted_day)),
                    month_label(int(r.posted_day)),
                    ref.EXPENSE_TYPES[int(r.etype)].gl_account,
                    money(int(r.posted_cents)),
                    r.currency,
                    wk.at[int(r.person), "employee_id"],
                    r.report_id,
                    str(int(r.entry_id)),
                    f"Concur batch {int(r.batch_id)}",
                )
            )
        landing.write(
            "erp",
            "expense_postings",
            f"expense_postings_{month}.csv",
            [csv_bytes(ERP_POSTING_HEADER, rows)],
            len(rows),
            snap,
        )

    fx_rows = []
    for cur in ref.CURRENCY_LIST:
        if cur == "USD":
            continue
        for k, rate in enumerate(w.fx.usd_per_unit[cur]):
            fx_rows.append((day_str(w.fx.first_day + k), "USD", cur, f"{rate:.6f}"))
    landing.write(
        "erp",
        "fx_rates",
        f"fx_rates_{day_str(firm.end_day)}.csv",
        [
            csv_bytes(
                ("effective_date", "base_currency", "transaction_currency", "exchange_rate"),
                fx_rows,
            )
        ],
        len(fx_rows),
        snap,
    )


def _extra_column_month(inv) -> str | None:
    months = sorted(set(inv["month"]))
    return months[len(months) // 2] if months else None

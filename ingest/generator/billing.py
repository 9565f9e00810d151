"""The legacy ERP's invoice history: what was billed before Deliver-to-Bill took over.

Each contract is billed monthly (milestone contracts every third month) a few days after
month end. An invoice bills the valid, approved, billable time entries and client-rebillable
expenses of its project that were approved by the invoice date and not billed before; about
2% of such records are overlooked (revenue leakage) and contracts carrying a contract-level
exception are not billed. Invoices are released (posted) after a review lag; those not yet
released at the as-of date are "Pending Approval" and do not count as invoiced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.generator import reference as ref
from ingest.generator.activity import Entries, State
from ingest.generator.expenses import Expenses, FxTable
from ingest.generator.firm import DAY, NO_DAY, Firm, from_day, stream

ITEMS = {
    "time_and_materials": "Professional Services - Time & Materials",
    "fixed_fee": "Professional Services - Fixed Fee Instalment",
    "retainer": "Professional Services - Monthly Retainer",
    "milestone": "Professional Services - Milestone",
}
EXPENSE_ITEM = "Reimbursable Expenses"


@dataclass
class Invoices:
    """Legacy invoices and lines; ``entry_line``/``expense_line`` map records to lines."""

    invoices: pd.DataFrame
    lines: pd.DataFrame
    entry_line: np.ndarray  # per time entry: line index or -1
    expense_line: np.ndarray  # per expense line: invoice line index or -1


def half_up(numerator: np.ndarray | int, denominator: int) -> np.ndarray:
    """Integer division rounding halves up (amounts are non-negative)."""
    return (np.asarray(numerator, np.int64) * 2 + denominator) // (2 * denominator)


def build_invoices(firm: Firm, e: Entries, final: State, ex: Expenses, fx: FxTable) -> Invoices:
    """Bill the history contract by contract (see the module docstring)."""
    rng = stream(firm.seed, "invoices")
    p, a, w = firm.projects, firm.accounts, firm.workers
    role = w["role"].to_numpy()[e.person]
    approved_at = np.where(final.status == 2, final.approved_at, np.iinfo(np.int64).max)
    ok_contract = (p["kind"] == "client") & ~p["contract_le_missing"]
    ok_contract &= p["contract_currency"] == p["le"].map(lambda i: ref.LEGAL_ENTITIES[i].currency)
    billable = (e.reason == 0) & e.billable & (e.rate > 0) & ok_contract.to_numpy()[e.project]
    billable &= rng.random(len(e)) >= 0.02  # overlooked: leakage
    ex_lines = ex.lines
    ex_ok = (
        ex_lines["billable"].to_numpy()
        & (ex_lines["reason"].to_numpy() == 0)
        & (ex_lines["project"].to_numpy() >= 0)
    )
    ex_ok &= ok_contract.to_numpy()[np.maximum(ex_lines["project"].to_numpy(), 0)]
    ex_ok &= rng.random(len(ex_lines)) >= 0.02

    # Per project: its billable entries / expenses, sorted by approval time.
    te = pd.DataFrame({"i": np.nonzero(billable)[0]}).assign(
        project=lambda d: e.project[d["i"]], t=lambda d: approved_at[d["i"]]
    )
    te = te[te["t"] < np.iinfo(np.int64).max]
    te_groups = {k: g["i"].to_numpy() for k, g in te.groupby("project", sort=True)}
    xe = pd.DataFrame({"k": np.nonzero(ex_ok)[0]})
    xe["project"] = ex_lines["project"].to_numpy()[xe["k"]]
    xe_groups = {k: g["k"].to_numpy() for k, g in xe.groupby("project", sort=True)}

    month_starts = (
        np.arange(np.datetime64(firm.start, "M"), np.datetime64(firm.as_of, "M") + 1)
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    month_ends = np.append(month_starts[1:], month_starts[-1] + 31) - 1
    month_label = [f"{from_day(int(m)):%b %Y}" for m in month_starts]

    entry_line = np.full(len(e), -1, np.int64)
    expense_line = np.full(len(ex_lines), -1, np.int64)
    inv_rows: list[dict] = []
    line_rows: list[dict] = []
    approval_day = ex_lines["approved"].to_numpy()
    for j in p.index[ok_contract]:
        ents = te_groups.get(j, np.array([], np.int64))
        exps = xe_groups.get(j, np.array([], np.int64))
        if not len(ents) and not len(exps):
            continue
        method = p.at[j, "billing_method"]
        le = ref.LEGAL_ENTITIES[p.at[j, "le"]]
        acc = int(p.at[j, "account"])
        country = a.at[acc, "country"]
        tax_code, tax_rate = ref.tax_rule(le, country)
        tax_bp = int(round(float(tax_rate) * 100))  # basis points
        factor = rng.uniform(0.85, 1.15)
        start_m = int(np.searchsorted(month_starts, p.at[j, "start_day"], side="right") - 1)
        billed_e = np.zeros(len(ents), bool)
        billed_x = np.zeros(len(exps), bool)
        for mi in range(len(month_starts)):
            period_end = int(month_ends[mi])
            if (
                method == "milestone"
                and (mi - start_m) % 3 != 2
                and period_end < p.at[j, "end_day"]
            ):
                continue
            created_day = period_end + int(rng.integers(3, 11))
            if created_day > firm.end_day:
                break
            cutoff = (created_day + 1) * DAY  # approved before the end of the invoice day
            sel_e = ~billed_e & (approved_at[ents] < cutoff) & (e.day[ents] <= period_end)
            sel_x = (
                ~billed_x
                & (approval_day[exps] < cutoff)
                & (ex_lines["txn_day"].to_numpy()[exps] <= period_end)
            )
            if not sel_e.any() and not sel_x.any():
                continue
            billed_e |= sel_e
            billed_x |= sel_x
            inv_no = len(inv_rows)
            lines_here: list[dict] = []
            these = ents[sel_e]
            if len(these):
                if method == "time_and_materials":
                    keys = role[these].astype(np.int64) * 1_000_000 + e.rate[these]
                    uk, grp = np.unique(keys, return_inverse=True)
                    for g, key in enumerate(uk.tolist()):
                        ro, rate = divmod(key, 1_000_000)
                        ids = these[grp == g]
                        q = int(e.hours_q[ids].sum())
                        lines_here.append(
                            {
                                "item": ITEMS[method],
                                "description": f"{ref.ROLES[ro].name} - {p.at[j, 'name']}",
                                "quantity_q": q,
                                "rate_cents": int(rate) * 100,
                                "amount_cents": q * int(rate) * 25,
                                "sources": ids,
                                "kind": "labour",
                            }
                        )
                else:
                    q = int(e.hours_q[these].sum())
                    value = int((e.hours_q[these].astype(np.int64) * e.rate[these] * 25).sum())
                    amount = int(round(value * factor / 100)) * 100
                    lines_here.append(
                        {
                            "item": ITEMS[method],
                            "description": f"{p.at[j, 'name']} - {month_label[mi]}",
                            "quantity_q": q,
                            "rate_cents": int(half_up(amount * 4, q)),
                            "amount_cents": amount,
                            "sources": these,
                            "kind": "labour",
                        }
                    )
            xs = exps[sel_x]
            if len(xs):
                amount = int(ex_lines["posted_cents"].to_numpy()[xs].sum())
                lines_here.append(
                    {
                        "item": EXPENSE_ITEM,
                        "description": f"Rebillable expenses - {p.at[j, 'name']}",
                        "quantity_q": 4,
                        "rate_cents": amount,
                        "amount_cents": amount,
                        "sources": xs,
                        "kind": "expense",
                    }
                )
            release_lag = (
                int(rng.integers(0, 9)) if rng.random() < 0.9 else int(rng.integers(9, 30))
            )
            released = created_day + release_lag
            terms = p.at[j, "payment_terms"]
            due = released + ref.PAYMENT_TERMS_DAYS[terms]
            paid = due + int(np.clip(rng.normal(-3, 12), -25, 60))
            paid = max(paid, released + 1)
            if rng.random() < 0.04:
                paid = NO_DAY  # never paid (so far)
            subtotal = tax = 0
            for ln in lines_here:
                ln["tax_cents"] = int(half_up(ln["amount_cents"] * tax_bp, 10_000))
                subtotal += ln["amount_cents"]
                tax += ln["tax_cents"]
            inv_rows.append(
                {
                    "project": j,
                    "account": acc,
                    "le": le.code,
                    "currency": p.at[j, "contract_currency"],
                    "usd_rate": float(fx.rate(p.at[j, "contract_currency"], created_day)),
                    "trandate": created_day,
                    "period_end": period_end,
                    "released": released if released <= firm.end_day else NO_DAY,
                    "due": due if released <= firm.end_day else NO_DAY,
                    "paid": paid if (released <= firm.end_day and paid <= firm.end_day) else NO_DAY,
                    "terms": terms,
                    "subtotal_cents": subtotal,
                    "tax_cents": tax,
                    "tax_code": tax_code,
                    "tax_rate": tax_rate,
                }
            )
            for n_line, ln in enumerate(lines_here, start=1):
                k = len(line_rows)
                if ln["kind"] == "labour":
                    entry_line[ln["sources"]] = k
                else:
                    expense_line[ln["sources"]] = k
                ln.update({"invoice": inv_no, "line_no": n_line})
                line_rows.append(ln)
    inv = pd.DataFrame(inv_rows)
    inv = inv.sort_values(["trandate", "le", "project"], kind="stable")
    order = inv.index.to_numpy()
    new_no = np.empty(len(order), np.int64)
    new_no[order] = np.arange(len(order))
    inv = inv.reset_index(drop=True)
    inv["internal_id"] = 1_200_000 + np.arange(len(inv)) * 4
    per_le = inv.groupby("le").cumcount() + 1
    inv["tranid"] = [f"INV-{le}-{k:06d}" for le, k in zip(inv["le"], per_le, strict=True)]
    lines = pd.DataFrame(line_rows)
    lines["invoice"] = new_no[lines["invoice"].to_numpy()]
    lines = lines.reset_index().rename(columns={"index": "k"})
    lines = lines.sort_values(["invoice", "line_no"]).reset_index(drop=True)
    remap = np.empty(len(lines), np.int64)
    remap[lines["k"].to_numpy()] = np.arange(len(lines))
    entry_line = np.where(entry_line >= 0, remap[np.maximum(entry_line, 0)], -1)
    expense_line = np.where(expense_line >= 0, remap[np.maximum(expense_line, 0)], -1)
    lines["line_id"] = 9_000_000 + np.arange(len(lines)) * 2
    return Invoices(inv, lines.drop(columns="k"), entry_line, expense_line)

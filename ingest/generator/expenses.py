"""Expenses (Concur SAE), their ERP postings, and the dated FX table they use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.generator import reference as ref
from ingest.generator.activity import Entries, local_ts, weekday
from ingest.generator.defects import CODE, DefectRates
from ingest.generator.firm import DAY, Firm, stream


@dataclass
class FxTable:
    """Daily rates: USD per one unit of each currency, from ``first_day`` on."""

    first_day: int
    usd_per_unit: dict[str, np.ndarray]  # currency -> rates (6 decimals) per day

    def rate(self, currency: str, day: np.ndarray | int) -> np.ndarray:
        """USD per unit of ``currency`` on ``day``."""
        return self.usd_per_unit[currency][np.asarray(day) - self.first_day]


def build_fx(firm: Firm) -> FxTable:
    """A mildly random walk per currency around its reference level, one rate per day."""
    rng = stream(firm.seed, "fx")
    first = firm.start_day - 60
    n = firm.end_day - first + 1
    out = {}
    for cur, units in ref.CURRENCIES.items():
        if cur == "USD":
            out[cur] = np.ones(n)
            continue
        walk = np.cumsum(rng.normal(0, 0.003, n))
        out[cur] = np.round((1 / units) * np.exp(walk - walk.mean()), 6)
    return FxTable(first, out)


@dataclass
class Expenses:
    """Extracted expense lines (one per SAE DETAIL row) and their ERP postings."""

    lines: pd.DataFrame
    batches: pd.DataFrame  # batch_id, batch_day, file sequence


def _report_id(rng: np.random.Generator, n: int) -> list[str]:
    hexes = rng.integers(0, 16, size=(n, 20))
    return ["".join("0123456789ABCDEF"[h] for h in row) for row in hexes]


def build_expenses(firm: Firm, e: Entries, fx: FxTable, rates: DefectRates) -> Expenses:
    """Generate expense reports from the staffing seen in the time entries.

    A worker-month with client work produces about 0.7 reports of one to ten lines; other
    months occasionally produce an internal report. Reports are extracted in the weekly SAE
    batch (Fridays) after their final approval; only batches up to the as-of date exist.
    """
    rng = stream(firm.seed, "expenses")
    p, w, a = firm.projects, firm.workers, firm.accounts
    month = (e.day.astype("datetime64[D]").astype("datetime64[M]")).astype(np.int64)
    client = (p["kind"] == "client").to_numpy()[e.project] & (e.reason == 0)
    df = pd.DataFrame(
        {"person": e.person, "month": month, "project": e.project, "q": e.hours_q, "day": e.day}
    )
    staffed = df[client].groupby(["person", "month", "project"], sort=True)["q"].sum().reset_index()
    staffed = staffed.sort_values(["person", "month", "q", "project"], ascending=[1, 1, 0, 1])
    main = staffed.drop_duplicates(["person", "month"]).set_index(["person", "month"])["project"]
    pm = df.groupby(["person", "month"], sort=True)["day"].agg(["min", "max"]).reset_index()
    pm["project"] = main.reindex(pd.MultiIndex.from_frame(pm[["person", "month"]])).to_numpy()
    pm["project"] = pm["project"].fillna(-1).astype(int)
    has_proj = pm["project"].to_numpy() >= 0
    n_rep = np.where(has_proj, rng.poisson(0.7, len(pm)), rng.poisson(0.06, len(pm)))
    rep = pm.loc[np.repeat(pm.index.to_numpy(), n_rep)].reset_index(drop=True)
    nr = len(rep)
    rep["report_key"] = 500_000 + np.arange(nr) * 3
    rep["report_id"] = _report_id(rng, nr)
    rep["n_lines"] = np.clip(1 + rng.poisson(3.0, nr), 1, 10)
    last_txn = rep["max"].to_numpy()
    submit_day = last_txn + rng.integers(0, 11, nr)
    rep["submitted"] = local_ts(
        firm, rep["person"].to_numpy(), submit_day, rng.integers(36000, 64800, nr)
    )
    lag = np.clip(rng.lognormal(np.log(2 * DAY), 0.8, nr), 3600, 15 * DAY).astype(np.int64)
    rep["approved"] = rep["submitted"] + lag
    approved_day = rep["approved"].to_numpy() // DAY
    rep["processing_day"] = approved_day + rng.integers(0, 3, nr)
    # Weekly SAE batch on the first Friday on or after payment processing.
    proc = rep["processing_day"].to_numpy()
    rep["batch_day"] = proc + (4 - weekday(proc)) % 7
    rep = rep[rep["batch_day"] <= firm.end_day].reset_index(drop=True)

    lines = rep.loc[np.repeat(rep.index.to_numpy(), rep["n_lines"].to_numpy())].reset_index(
        drop=True
    )
    m = len(lines)
    lines["line_no"] = lines.groupby("report_key").cumcount() + 1
    lines["entry_id"] = (3_000_000 + np.arange(m) * 7).astype(np.int64)
    proj_types = [i for i, t in enumerate(ref.EXPENSE_TYPES) if t.project_related]
    int_types = [i for i, t in enumerate(ref.EXPENSE_TYPES) if not t.project_related]
    wp = np.array([ref.EXPENSE_TYPES[i].weight for i in proj_types])
    wi = np.array([ref.EXPENSE_TYPES[i].weight for i in int_types])
    has_proj = lines["project"].to_numpy() >= 0
    internal_line = ~has_proj | (rng.random(m) < 0.08)
    etype = np.where(
        internal_line,
        np.array(int_types)[rng.choice(len(int_types), m, p=wi / wi.sum())],
        np.array(proj_types)[rng.choice(len(proj_types), m, p=wp / wp.sum())],
    )
    lines["etype"] = etype
    lines["project"] = np.where(internal_line, -1, lines["project"].to_numpy())
    lo, hi = lines["min"].to_numpy(), lines["max"].to_numpy()
    lines["txn_day"] = lo + (rng.random(m) * (hi - lo + 1)).astype(np.int64)
    le = w["le"].to_numpy()[lines["person"].to_numpy()]
    reimb = np.array([ref.LEGAL_ENTITIES[i].currency for i in le])
    lines["currency"] = reimb
    units = np.array([ref.CURRENCIES[c] for c in reimb])
    med = np.array([ref.EXPENSE_TYPES[t].median_usd for t in etype]) * units
    limit = np.array(
        [
            ref.money_in(c, ref.EXPENSE_TYPES[t].policy_limit_usd or 10**7) * 100
            for c, t in zip(reimb, etype, strict=True)
        ]
    )
    cents = np.round(med * 100 * rng.lognormal(0, 0.45, m)).astype(np.int64)
    lines["posted_cents"] = np.clip(cents, 100, (limit * 0.95).astype(np.int64))
    lines["limit_cents"] = limit
    thr = np.array(
        [
            ref.money_in(c, ref.EXPENSE_TYPES[t].receipt_required_over_usd) * 100
            if ref.EXPENSE_TYPES[t].receipt_required_over_usd < 10**6
            else -1
            for c, t in zip(reimb, etype, strict=True)
        ]
    )
    lines["receipt_threshold_cents"] = thr
    needs = (thr >= 0) & (lines["posted_cents"].to_numpy() > thr)
    lines["receipt"] = needs | (rng.random(m) < 0.6)
    # Foreign-currency spend, converted into the reimbursement currency.
    foreign = rng.random(m) < 0.08
    other = np.array(ref.CURRENCY_LIST)[rng.integers(0, len(ref.CURRENCY_LIST), m)]
    txn_cur = np.where(foreign & (other != reimb), other, reimb)
    lines["txn_currency"] = txn_cur
    xr = np.ones(m)
    for cur in ref.CURRENCY_LIST:
        for rc in ref.CURRENCY_LIST:
            sel = (txn_cur == cur) & (reimb == rc) & (cur != rc)
            if sel.any():
                d = lines["txn_day"].to_numpy()[sel]
                xr[sel] = np.round(fx.rate(cur, d) / fx.rate(rc, d), 6)
    lines["exchange_rate"] = xr
    is_air = etype == [t.code for t in ref.EXPENSE_TYPES].index("AIRFR")
    lines["company_paid"] = rng.random(m) < np.where(is_air, 0.6, 0.25)
    proj = lines["project"].to_numpy()
    safe = np.where(proj >= 0, proj, 0)
    billable_proj = (proj >= 0) & (p["kind"].to_numpy()[safe] == "client")
    rebill_type = np.array([ref.EXPENSE_TYPES[t].rebillable for t in etype])
    lines["billable"] = billable_proj & rebill_type & (rng.random(m) < 0.85)
    acc = np.where(proj >= 0, p["account"].to_numpy()[safe], -1)
    legacy = (acc >= 0) & a["concur_uses_legacy_code"].to_numpy()[np.maximum(acc, 0)]
    lines["client_code"] = np.where(
        acc < 0,
        "",
        np.where(
            legacy,
            a["legacy_code"].to_numpy()[np.maximum(acc, 0)],
            a["account_id"].to_numpy()[np.maximum(acc, 0)],
        ),
    )
    lines["project_code"] = np.where(proj >= 0, p["project_code"].to_numpy()[safe], "")
    lines["reason"] = 0
    _plant_expense_defects(firm, lines, rates)
    # Transaction amount in the spend currency; the posted amount stays authoritative.
    lines["txn_cents"] = np.round(lines["posted_cents"] / lines["exchange_rate"]).astype(np.int64)

    # ERP postings: one journal per (SAE batch, legal entity), posted a few days later.
    lines["le"] = le
    jr = lines[["batch_day", "le"]].drop_duplicates().sort_values(["batch_day", "le"])
    jr = jr.reset_index(drop=True)
    jlag = np.clip(np.round(rng.lognormal(np.log(3), 0.7, len(jr))), 1, 25).astype(int)
    jr["posted_day"] = jr["batch_day"] + jlag
    jr["journal_id"] = 880_000 + np.arange(len(jr)) * 5
    lines = lines.merge(jr, on=["batch_day", "le"], how="left")
    lines.loc[lines["posted_day"] > firm.end_day, ["posted_day", "journal_id"]] = -1
    lines = lines.sort_values(["batch_day", "report_key", "line_no"]).reset_index(drop=True)
    batches = lines[["batch_day"]].drop_duplicates().reset_index(drop=True)
    batches["batch_id"] = 7000 + np.arange(len(batches))
    lines = lines.merge(batches, on="batch_day", how="left")
    return Expenses(lines, batches)


def _plant_expense_defects(firm: Firm, lines: pd.DataFrame, rates: DefectRates) -> None:
    rng = stream(firm.seed, "expense_defects")
    m = len(lines)
    reason = lines["reason"].to_numpy().copy()
    posted = lines["posted_cents"].to_numpy().copy()
    receipt = lines["receipt"].to_numpy().copy()
    code = lines["client_code"].to_numpy().copy()
    has_limit = lines["limit_cents"].to_numpy() < 10**9

    def pick(mask: np.ndarray, n: int) -> np.ndarray:
        cand = np.nonzero(mask & (reason == 0))[0]
        return np.sort(rng.choice(cand, size=min(n, len(cand)), replace=False))

    idx = pick(has_limit, rates.count("over_policy_limit", m))
    posted[idx] = (lines["limit_cents"].to_numpy()[idx] * rng.uniform(1.15, 1.8, len(idx))).astype(
        np.int64
    )
    receipt[idx] = True  # an over-limit line with its receipt: one reason only
    reason[idx] = CODE["over_policy_limit"]
    thr = lines["receipt_threshold_cents"].to_numpy()
    idx = pick((thr >= 0) & (posted > thr), rates.count("missing_receipt", m))
    receipt[idx] = False
    reason[idx] = CODE["missing_receipt"]
    allocated = code != ""
    idx = pick(allocated, rates.count("unmatched_client", int(allocated.sum())))
    code[idx] = [f"CL-{99_000 + k * 13}" for k in range(len(idx))]
    reason[idx] = CODE["unmatched_client"]
    lines["posted_cents"], lines["receipt"] = posted, receipt
    lines["client_code"], lines["reason"] = code, reason

"""Ground truth, computed from the generator's own state (never by re-reading the files).

Every figure is defined in docs/generator.md ("Ground truth"); the definitions follow
docs/design.md §4 and state the choices made where docs/design.md leaves room.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ingest.generator import activity as act
from ingest.generator.defects import REASONS
from ingest.generator.firm import DAY, NO_DAY
from ingest.generator.state import World, contract_id
from ingest.generator.writers import csv_bytes, day_str, iso, money

AGING_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("0_30", 0, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("91_120", 91, 120),
    ("over_120", 121, 10**9),
)


def hours(q: int | np.integer) -> str:
    """Quarter hours -> decimal hours with two places."""
    q = int(q)
    return f"{q // 4}.{(q % 4) * 25:02d}"


def business_days(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Mon-Fri days in (start, end] (no holidays): the SLA clock of docs/design.md §4."""
    return np.busday_count(
        (np.asarray(start) + 1).astype("datetime64[D]"),
        (np.asarray(end) + 1).astype("datetime64[D]"),
    )


def entry_project_codes(w: World) -> np.ndarray:
    """Canonical project code per entry.

    The project's code, or for an unknown (deleted) project the code the entry carries.
    """
    codes = w.firm.projects["project_code"].to_numpy().astype(object)[w.e.project]
    for i in np.nonzero(w.e.ghost_project >= 0)[0]:
        codes[i] = w.firm.ghost_projects[w.e.ghost_project[i]]["code"]
    return codes


def invoiced_masks(w: World) -> tuple[np.ndarray, np.ndarray]:
    """Per entry: on a released (posted) invoice line; on an invoice paid by the as-of date."""
    inv, lines = w.inv.invoices, w.inv.lines
    line_inv = lines["invoice"].to_numpy()
    released = inv["released"].to_numpy()[line_inv] != NO_DAY
    paid = inv["paid"].to_numpy()[line_inv] != NO_DAY
    el = w.inv.entry_line
    on = el >= 0
    safe = np.maximum(el, 0)
    return on & released[safe], on & paid[safe]


def write_truth(w: World, truth_dir: Path, file_defects: list[dict]) -> dict[str, int]:
    """Write every ground-truth file; return row counts per file name."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    def put(name: str, header: tuple[str, ...], rows: list[tuple]) -> None:
        (truth_dir / name).write_bytes(csv_bytes(header, rows))
        counts[name] = len(rows)

    e, firm, final = w.e, w.firm, w.final
    p = firm.projects
    codes = entry_project_codes(w)
    invoiced, paid = invoiced_masks(w)
    approved = final.status == 2
    valid_billable = approved & e.billable & (e.reason == 0)
    if (e.rate[valid_billable] <= 0).any():
        raise AssertionError("a valid billable entry without a resolved rate")

    # --- planted record defects
    rows = []
    src = np.where(e.src == act.HARVEST, "harvest", "toggl")
    for i in np.nonzero(e.reason)[0][np.argsort(e.entry_id[e.reason != 0], kind="stable")]:
        rows.append((src[i], "time_entries", str(int(e.entry_id[i])), REASONS[e.reason[i] - 1]))
    for j, reason in firm.contract_defects:
        rows.append(("salesforce", "contracts", contract_id(j), reason))
    xl = w.ex.lines
    for r in xl[xl["reason"] != 0].sort_values("entry_id").itertuples():
        rows.append(("concur", "expenses", str(int(r.entry_id)), REASONS[int(r.reason) - 1]))
    rows.sort(key=lambda r: (r[3], r[0], r[1], r[2]))
    put("defects_records.csv", ("system", "entity", "source_id", "reason"), rows)

    put(
        "defects_files.csv",
        ("path", "kind", "expected_outcome", "detail"),
        [(d["path"], d["kind"], d["expected_outcome"], d["detail"]) for d in file_defects],
    )

    # --- funnel hours by project and work month
    month = e.day.astype("datetime64[D]").astype("datetime64[M]").astype(str)
    q = e.hours_q.astype(np.int64)
    df = pd.DataFrame(
        {
            "project_code": codes,
            "work_month": month,
            "delivered": q,
            "approved": np.where(approved, q, 0),
            "billable": np.where(valid_billable, q, 0),
            "invoiced": np.where(invoiced, q, 0),
            "paid": np.where(paid, q, 0),
        }
    )
    fun = df.groupby(["project_code", "work_month"], sort=True).sum().reset_index()
    put(
        "funnel_hours.csv",
        (
            "project_code",
            "work_month",
            "delivered_hours",
            "approved_hours",
            "billable_hours",
            "invoiced_hours",
            "paid_hours",
        ),
        [
            (
                r.project_code,
                r.work_month,
                hours(r.delivered),
                hours(r.approved),
                hours(r.billable),
                hours(r.invoiced),
                hours(r.paid),
            )
            for r in fun.itertuples()
        ],
    )

    # --- unbilled approved hours (WIP) per project, with aging
    wip = valid_billable & ~invoiced
    appr_day = np.where(approved, final.approved_at // DAY, 0)
    age = firm.end_day - appr_day
    value = q * e.rate.astype(np.int64) * 25  # cents
    wdf = pd.DataFrame({"project": e.project, "q": q, "value": value, "age": age})[wip]
    for name, lo, hi in AGING_BUCKETS:
        inb = (wdf["age"] >= lo) & (wdf["age"] <= hi)
        wdf[f"q_{name}"] = np.where(inb, wdf["q"], 0)
        wdf[f"v_{name}"] = np.where(inb, wdf["value"], 0)
    agg = wdf.drop(columns="age").groupby("project", sort=True).sum()
    rows = []
    for j, r in agg.iterrows():
        row = [
            p.at[j, "project_code"],
            contract_id(int(j)),
            p.at[j, "contract_currency"],
            hours(r["q"]),
            money(r["value"]),
        ]
        for name, _, _ in AGING_BUCKETS:
            row += [hours(r[f"q_{name}"]), money(r[f"v_{name}"])]
        rows.append(tuple(row))
    header = ["project_code", "contract_id", "currency", "unbilled_hours", "unbilled_value"]
    for name, _, _ in AGING_BUCKETS:
        header += [f"hours_{name}", f"value_{name}"]
    put("unbilled_wip.csv", tuple(header), rows)

    # --- expense posting lags
    rows = []
    for r in xl.sort_values("entry_id").itertuples():
        posted = int(r.posted_day) >= 0
        appr_day_x = int(r.approved) // DAY
        lag = int(r.posted_day) - appr_day_x if posted else None
        bd = (
            int(business_days(np.array([appr_day_x]), np.array([int(r.posted_day)]))[0])
            if posted
            else None
        )
        rows.append(
            (
                str(int(r.entry_id)),
                r.report_id,
                iso(int(r.approved)),
                day_str(int(r.posted_day)) if posted else "",
                "" if lag is None else str(lag),
                "" if bd is None else str(bd),
            )
        )
    put(
        "expense_posting_lags.csv",
        (
            "concur_entry_id",
            "report_id",
            "approved_at",
            "posted_date",
            "lag_days",
            "lag_business_days",
        ),
        rows,
    )

    # --- invoice release delays
    inv, lines = w.inv.invoices, w.inv.lines
    ready = inv["period_end"].to_numpy().copy()
    line_inv = lines["invoice"].to_numpy()
    ent_idx = np.nonzero(w.inv.entry_line >= 0)[0]
    np.maximum.at(ready, line_inv[w.inv.entry_line[ent_idx]], (final.approved_at[ent_idx] // DAY))
    x_idx = np.nonzero(w.inv.expense_line >= 0)[0]
    np.maximum.at(
        ready, line_inv[w.inv.expense_line[x_idx]], (xl["approved"].to_numpy()[x_idx] // DAY)
    )
    rows = []
    for k, r in enumerate(inv.itertuples()):
        if r.released == NO_DAY:
            continue
        rows.append(
            (
                str(r.internal_id),
                r.tranid,
                day_str(int(ready[k])),
                day_str(int(r.released)),
                str(int(r.released - ready[k])),
                str(int(business_days(np.array([ready[k]]), np.array([r.released]))[0])),
            )
        )
    put(
        "invoice_release_delays.csv",
        (
            "internal_id",
            "tranid",
            "ready_date",
            "released_date",
            "delay_days",
            "delay_business_days",
        ),
        rows,
    )
    return counts

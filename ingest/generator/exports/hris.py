"""HRIS: the employee roster."""

from __future__ import annotations

from ingest.generator import reference as ref
from ingest.generator.exports.common import SNAPSHOT_HOUR
from ingest.generator.firm import DAY, NO_DAY
from ingest.generator.state import World
from ingest.generator.writers import (
    Landing,
    csv_bytes,
    day_str,
    iso,
    money,
)

HRIS_HEADER = (
    "employee_id",
    "first_name",
    "last_name",
    "email",
    "role",
    "practice",
    "region",
    "legal_entity",
    "cost_center",
    "cost_rate",
    "cost_rate_currency",
    "weekly_capacity_hours",
    "employment_type",
    "hire_date",
    "termination_date",
    "updated_at",
)


def write_hris(w: World, landing: Landing) -> None:
    """Worker master snapshot and the regional holiday calendars."""
    firm = w.firm
    wk = firm.workers
    snap = w.end_ts + SNAPSHOT_HOUR
    label = day_str(firm.end_day)
    codes = list(ref.PRACTICES)
    rows = []
    for i in wk.index:
        le = ref.LEGAL_ENTITIES[wk.at[i, "le"]]
        term = int(wk.at[i, "term_day"])
        hire = int(wk.at[i, "hire_day"])
        weekly = float(wk.at[i, "weekly_capacity"])
        rows.append(
            (
                wk.at[i, "employee_id"],
                wk.at[i, "first_name"],
                wk.at[i, "last_name"],
                wk.at[i, "email"],
                ref.ROLES[wk.at[i, "role"]].name,
                ref.PRACTICES[codes[wk.at[i, "practice"]]],
                le.region,
                le.code,
                f"{le.code}-{codes[wk.at[i, 'practice']]}",
                money(int(wk.at[i, "cost_rate"]) * 100),
                le.currency,
                f"{weekly:.2f}",
                "part_time" if wk.at[i, "pattern"] else "full_time",
                day_str(hire),
                "" if term == NO_DAY else day_str(term),
                iso(
                    (term + 1) * DAY + 3600
                    if term != NO_DAY
                    else (max(hire, firm.start_day) + 1) * DAY + 3600
                ),
            )
        )
    landing.write(
        "hris", "workers", f"workers_{label}.csv", [csv_bytes(HRIS_HEADER, rows)], len(rows), snap
    )
    hol = [(region, d.isoformat(), name) for region, d, name in firm.holiday_rows]
    landing.write(
        "hris",
        "holidays",
        f"holidays_{label}.csv",
        [csv_bytes(("region", "holiday_date", "holiday_name"), hol)],
        len(hol),
        snap,
    )

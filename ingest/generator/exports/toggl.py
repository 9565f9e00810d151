"""Toggl Track: time entries (detailed-report CSV and API v9 JSON) and the projects list."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pandas as pd

from ingest.generator import activity as act
from ingest.generator import reference as ref
from ingest.generator.exports.common import SNAPSHOT_HOUR, psa_code
from ingest.generator.firm import DAY, NO_DAY, from_day
from ingest.generator.state import World
from ingest.generator.writers import (
    Landing,
    TimeFormatter,
    csv_bytes,
    day_str,
    iso,
    money,
)
from ingest.sources.toggl import EXTRA_COLUMNS, STOCK_COLUMNS


def toggl_project_name(w: World, j: int) -> str:
    """Toggl project names carry the project code as a prefix, unless it was never entered.

    Names are unique in the workspace (Toggl refuses a second project of the same name):
    a project without code whose name is already taken gets a numbered suffix, as a user
    would add one.
    """
    return _toggl_names(w)[j]


def _toggl_names(w: World) -> dict[int, str]:
    cached = getattr(w, "_toggl_names", None)
    if cached is not None:
        return cached
    p = w.firm.projects
    names: dict[int, str] = {}
    taken: dict[str, int] = {}
    for j in range(len(p)):
        if p.at[j, "psa"] != "toggl":
            continue
        code = psa_code(w, j)
        name = f"{code} {p.at[j, 'name']}" if code else p.at[j, "name"]
        taken[name] = taken.get(name, 0) + 1
        names[j] = name if taken[name] == 1 else f"{name} ({taken[name]})"
    object.__setattr__(w, "_toggl_names", names)
    return names


#: The acquired subsidiary's (NL01) workspace currency.
WORKSPACE_CURRENCY = "EUR"

#: The detailed-report CSV as the sample firm's integration delivers it: Toggl's stock columns in
#: Toggl's order, the amount in the workspace currency, then the columns the integration adds
#: (entry id and approval audit). Both column lists are the parser's, so they cannot drift apart.
TOGGL_HEADER = (*STOCK_COLUMNS, f"Amount ({WORKSPACE_CURRENCY})", *EXTRA_COLUMNS)
TOGGL_WORKSPACE_ID = 4_711_000
#: The workspace's zone: the CSV's wall-clock times are in it, the API's UTC times are read in
#: it (dbt var ``toggl_time_zone``'s default).
WORKSPACE_TIME_ZONE = ZoneInfo("Europe/Amsterdam")
TOGGL_USER_ID_BASE = 6_200_000
TOGGL_TASK_ID_BASE = 88_000_000
GHOST_TOGGL_PROJECT_ID_BASE = 199_000_000


def toggl_user_id(worker: int) -> int:
    """The Toggl user id of worker ``worker`` (API rows name people by it, not by e-mail)."""
    return TOGGL_USER_ID_BASE + worker * 7


def is_toggl_api_version(status: np.ndarray) -> np.ndarray:
    """Which exported versions the integration delivers as API v9 JSON, not in the CSV.

    The integration pulls new entries from the API (``GET /me/time_entries?meta=true``),
    which carries no approval data; the weekly detailed report with the approval-audit extras
    delivers every version once its timesheet is submitted. So an unsubmitted version is an
    API row (approval status null downstream, which every figure reads as not submitted)
    and every later version a CSV row.
    """
    return status == 0


def write_toggl(w: World, landing: Landing) -> None:
    """Write the acquired subsidiary's Toggl Track exports.

    Per weekly window, the changed entries: unsubmitted versions as an API v9 time-entry
    list, the others in a detailed-report CSV (:func:`is_toggl_api_version`); and the
    projects list (API v9 JSON).
    """
    firm, e = w.firm, w.e
    p, wk, a = firm.projects, firm.workers, firm.accounts
    tg = np.nonzero(e.src == act.TOGGL)[0]
    # Start times: the day's entries run back to back from 09:00 local time.
    order = tg[np.lexsort((tg, e.day[tg], e.person[tg]))]
    secs = e.hours_q[order].astype(np.int64) * 900
    grp = e.person[order].astype(np.int64) * 100_000 + e.day[order]
    new = np.r_[True, grp[1:] != grp[:-1]]
    csum = np.cumsum(secs)
    base = np.maximum.accumulate(np.where(new, csum - secs, 0))
    start_local = np.zeros(len(e), np.int64)
    start_local[order] = 9 * 3600 + (csum - secs - base)

    rows, wins = act.versions(e, w.bounds)
    keep = e.src[rows] == act.TOGGL
    rows, wins = rows[keep], wins[keep]
    st = act.state_at(e, w.bounds[wins + 1] - 1, idx=rows)
    fmt = TimeFormatter(firm.start_day - 400, firm.end_day + 40)
    sub = fmt.ts(st.submitted_at, null_at=act.NEVER).to_pylist()
    appr = fmt.ts(st.approved_at, null_at=act.NEVER).to_pylist()
    upd = fmt.ts(st.updated_at).to_pylist()
    ghosts = firm.ghost_projects
    user_name = (wk["first_name"] + " " + wk["last_name"]).tolist()
    email = wk["psa_email"].tolist()
    acc_name = a["name"].tolist()
    proj_name = [
        toggl_project_name(w, j) if p.at[j, "psa"] == "toggl" else "" for j in range(len(p))
    ]
    proj_acc = p["account"].tolist()
    proj_toggl_id = [None if pd.isna(x) else int(x) for x in p["toggl_project_id"]]
    task_name = [t for t, _ in ref.TASKS]
    order_all = np.lexsort((e.entry_id[rows], wins))
    rows, wins = rows[order_all], wins[order_all]
    sub, appr, upd = [
        x[order_all].tolist()
        for x in (np.array(sub, object), np.array(appr, object), np.array(upd, object))
    ]
    status = st.status[order_all].tolist()
    api = is_toggl_api_version(np.asarray(status)).tolist()
    utc_offset = _utc_offsets(int(e.day[rows].min()), int(e.day[rows].max())) if len(rows) else {}
    for win in np.unique(wins):
        sel = np.nonzero(wins == win)[0].tolist()
        out, api_out = [], []
        for k in sel:
            i = int(rows[k])
            person, j = int(e.person[i]), int(e.project[i])
            if e.ghost_project[i] >= 0:
                g = ghosts[e.ghost_project[i]]
                project, acc = f"{g['code']} {g['name']}", g["account"]
                project_id = GHOST_TOGGL_PROJECT_ID_BASE + int(e.ghost_project[i])
            else:
                project, acc = proj_name[j], proj_acc[j]
                project_id = proj_toggl_id[j]
            s = int(start_local[i])
            q = int(e.hours_q[i])
            dur = q * 900
            d0 = int(e.day[i])
            end = s + dur
            billable = bool(e.billable[i])
            if api[k]:
                start_utc = d0 * DAY + s - utc_offset[d0]
                api_out.append(
                    {
                        "id": int(e.entry_id[i]),
                        "workspace_id": TOGGL_WORKSPACE_ID,
                        "project_id": project_id,
                        "task_id": TOGGL_TASK_ID_BASE + j * 100 + int(e.task[i]),
                        "billable": billable,
                        "start": iso(start_utc),
                        "stop": iso(start_utc + dur),
                        "duration": dur,
                        "description": act.NOTES[int(e.note[i])],
                        "tags": [],
                        "tag_ids": [],
                        "duronly": False,
                        "at": upd[k],
                        "server_deleted_at": None,
                        "user_id": toggl_user_id(person),
                        "user_name": user_name[person],
                        "client_name": acc_name[acc] if acc >= 0 else None,
                        "project_name": project,
                        "task_name": task_name[int(e.task[i])],
                    }
                )
                continue
            out.append(
                (
                    user_name[person],
                    email[person],
                    acc_name[acc] if acc >= 0 else "",
                    project,
                    task_name[int(e.task[i])],
                    act.NOTES[int(e.note[i])],
                    "Yes" if billable else "No",
                    day_str(d0),
                    _hms(s),
                    day_str(d0 + end // DAY),
                    _hms(end % DAY),
                    _hms(dur),
                    "",
                    money(q * int(e.psa_rate[i]) * 25) if billable else "0.00",
                    str(int(e.entry_id[i])),
                    act.STATUS_NAMES[status[k]],
                    sub[k],
                    appr[k],
                    upd[k],
                )
            )
        lo = day_str(int(w.bounds[win] // DAY))
        hi = day_str(int((w.bounds[win + 1] - 1) // DAY))
        delivered = int(w.bounds[win + 1]) + SNAPSHOT_HOUR
        defects = e.reason[rows[sel]] != 0
        is_api = np.array([api[k] for k in sel], bool)
        if out:
            landing.write(
                "toggl",
                "time_entries",
                f"Toggl_time_entries_{lo}_to_{hi}.csv",
                [csv_bytes(TOGGL_HEADER, out)],
                len(out),
                delivered,
                int((defects & ~is_api).sum()),
            )
        if api_out:
            landing.write(
                "toggl",
                "time_entries",
                f"time_entries_api_v9_{lo}_to_{hi}.json",
                [orjson.dumps(api_out)],
                len(api_out),
                delivered,
                int((defects & is_api).sum()),
            )

    projects = []
    for j in p.index[p["psa"] == "toggl"]:
        acc = int(p.at[j, "account"])
        start, end = int(p.at[j, "start_day"]), int(p.at[j, "end_day"])
        created = (start - 7) * DAY + 40000
        le = ref.LEGAL_ENTITIES[p.at[j, "le"]]
        rate = p.at[j, "default_rate"]
        projects.append(
            {
                "id": int(p.at[j, "toggl_project_id"]),
                "workspace_id": TOGGL_WORKSPACE_ID,
                "client_id": int(a.at[acc, "toggl_client_id"]) if acc >= 0 else None,
                "name": toggl_project_name(w, int(j)),
                "is_private": False,
                "active": bool(p.at[j, "is_active"]),
                "at": iso(created if p.at[j, "is_active"] else (end + 3) * DAY + 40000),
                "created_at": iso(created),
                "server_deleted_at": None,
                "color": "#0b83d9",
                "billable": bool(p.at[j, "is_billable"]),
                "template": False,
                "auto_estimates": False,
                "estimated_hours": None,
                "rate": None if pd.isna(rate) else float(rate),
                "rate_last_updated": None,
                "currency": a.at[acc, "currency"] if acc >= 0 else le.currency,
                "recurring": False,
                "fixed_fee": float(w.firm.fixed_fee.get(int(j), 0))
                if p.at[j, "billing_method"] == "fixed_fee"
                else None,
                "actual_hours": None,
                "start_date": day_str(start) if p.at[j, "kind"] != "internal" else None,
                "end_date": day_str(end) if end != NO_DAY else None,
            }
        )
    projects.sort(key=lambda r: r["id"])
    landing.write(
        "toggl",
        "projects",
        f"projects_{day_str(firm.end_day)}.json",
        [orjson.dumps(projects)],
        len(projects),
        w.end_ts + SNAPSHOT_HOUR,
    )


def _utc_offsets(first_day: int, last_day: int) -> dict[int, int]:
    """Seconds the workspace's zone is ahead of UTC on each day, at 09:00 local time.

    Entries start at 09:00 or later, after any daylight-saving switch of their day.
    """
    return {
        day: int(
            datetime.combine(from_day(day), datetime.min.time().replace(hour=9))
            .replace(tzinfo=WORKSPACE_TIME_ZONE)
            .utcoffset()
            .total_seconds()
        )
        for day in range(first_day, last_day + 1)
    }


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

"""Per-system exports of a generated :class:`~ingest.generator.state.World` into the landing.

Formats are documented field by field in docs/sources.md; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.generator import activity as act
from ingest.generator import reference as ref
from ingest.generator.firm import DAY, NO_DAY, from_day
from ingest.generator.state import World, contract_id, contract_number, rate_line_id
from ingest.generator.writers import (
    HARVEST_API,
    HARVEST_PER_PAGE,
    Landing,
    TimeFormatter,
    csv_bytes,
    day_str,
    harvest_list_pages,
    harvest_page_footer,
    iso,
    json_join,
    json_str_table,
    money,
    pages,
)

LOCKED_REASON = "Item Approved and Locked for this Time Period"
INTERNAL_CLIENT_ID = 11_900_000  # + legal entity index: Harvest's internal clients
GHOST_UA_ID = 399_000_000
GHOST_TA_ID = 339_000_000
SNAPSHOT_HOUR = 2 * 3600  # snapshot exports run at 02:00 UTC the day after the as-of date


class HarvestIds:
    """Harvest assignment ids, shared by the assignment exports and the time entries."""

    def __init__(self, w: World) -> None:
        e, p, wk = w.e, w.firm.projects, w.firm.workers
        h = (e.src == act.HARVEST) & (e.ghost_project < 0) & ~e.ghost_user
        pairs = set(zip(e.person[h].tolist(), e.project[h].tolist(), strict=True))
        internal = p.index[(p["kind"] == "internal") & (p["psa"] == "harvest")]
        le = wk["le"].to_numpy()
        for j in internal:
            pairs.update((int(x), int(j)) for x in np.nonzero(le == p.at[j, "le"])[0])
        self.ua = {
            pair: 300_000_000 + k * 2
            for k, pair in enumerate(sorted(pairs, key=lambda x: (x[1], x[0])))
        }
        tas = []
        for j in p.index[p["psa"] == "harvest"]:
            for t in p.at[j, "tasks"]:
                tas.append((int(j), int(t)))
        self.ta = {pair: 330_000_000 + k * 2 for k, pair in enumerate(tas)}


def harvest_client_ref(w: World, j: int) -> dict:
    """The ``client`` object {id, name, currency} of Harvest project ``j``."""
    p, a = w.firm.projects, w.firm.accounts
    le = ref.LEGAL_ENTITIES[p.at[j, "le"]]
    acc = int(p.at[j, "account"])
    if acc < 0:
        return {
            "id": INTERNAL_CLIENT_ID + int(p.at[j, "le"]),
            "name": f"D2B Internal ({le.code})",
            "currency": le.currency,
        }
    return {
        "id": int(a.at[acc, "harvest_client_id"]),
        "name": a.at[acc, "name"],
        "currency": a.at[acc, "currency"],
    }


def psa_code(w: World, j: int) -> str | None:
    """The project code as entered in the PSA (missing for a few mapped projects)."""
    p = w.firm.projects
    return None if p.at[j, "code_missing_in_psa"] else p.at[j, "project_code"]


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


def write_all(w: World, landing: Landing, tick: Callable[[str], None]) -> None:
    """Write every system's files, reporting each stage to ``tick``."""
    ids = HarvestIds(w)
    write_harvest_time_entries(w, ids, landing)
    tick("harvest time entries")
    write_harvest_snapshots(w, ids, landing)
    tick("harvest master data")
    write_toggl(w, landing)
    tick("toggl")
    write_concur(w, landing)
    tick("concur")
    write_salesforce(w, landing)
    write_hris(w, landing)
    write_mdm(w, landing)
    tick("salesforce, hris, mdm")
    write_erp(w, landing)
    tick("erp")


# --- Harvest -----------------------------------------------------------------------------------


def write_harvest_time_entries(w: World, ids: HarvestIds, landing: Landing) -> None:
    """Weekly incremental exports of time entries (one set of pages per window)."""
    firm, e = w.firm, w.e
    p, wk, a = firm.projects, firm.workers, firm.accounts
    rows, wins = act.versions(e, w.bounds)
    keep = e.src[rows] == act.HARVEST
    rows, wins = rows[keep], wins[keep]
    fmt = TimeFormatter(firm.start_day - 400, firm.end_day + 40)
    tf = pa.array(["false", "true"])

    # Lookup tables of pre-serialised nested objects.
    users = pa.array(
        [
            orjson.dumps({"id": int(hid), "name": f"{fn} {ln}"}).decode()
            if not pd.isna(hid)
            else "null"
            for hid, fn, ln in zip(
                wk["harvest_user_id"],
                wk["first_name"],
                wk["last_name"],
                strict=True,
            )
        ]
    )
    ghosts = firm.ghost_projects
    n_p = len(p)
    proj_objs, client_objs = [], []
    for j in range(n_p):
        hid = p.at[j, "harvest_project_id"]
        proj_objs.append(
            {"id": int(hid), "name": p.at[j, "name"], "code": psa_code(w, j)}
            if not pd.isna(hid)
            else None
        )
        client_objs.append(harvest_client_ref(w, j) if p.at[j, "psa"] == "harvest" else None)
    for g in ghosts:
        proj_objs.append({"id": g["harvest_id"], "name": g["name"], "code": g["code"]})
        acc = g["account"]
        client_objs.append(
            {
                "id": int(a.at[acc, "harvest_client_id"]),
                "name": a.at[acc, "name"],
                "currency": a.at[acc, "currency"],
            }
            if g["src"] == act.HARVEST
            else None
        )
    projects = pa.array([orjson.dumps(o).decode() for o in proj_objs])
    clients = pa.array([orjson.dumps(o).decode() for o in client_objs])
    tasks = pa.array(
        [
            orjson.dumps({"id": 17_000_000 + t * 11, "name": n}).decode()
            for t, (n, _) in enumerate(ref.TASKS)
        ]
    )
    notes = json_str_table(act.NOTES)
    hours = pa.array([repr(q / 4) for q in range(0, 200)])
    rates = pa.array([repr(float(r)) for r in range(0, 4000)])

    # user / task assignment objects: real ones by pair, ghosts for missing ones.
    ua_keys = sorted(ids.ua)
    ua_frags = []
    for person, j in ua_keys:
        created = (
            max(int(p.at[j, "start_day"]), int(wk.at[person, "hire_day"])) * DAY - DAY + 9 * 3600
        )
        ua_frags.append(
            _ua_obj(
                ids.ua[(person, j)],
                wk.at[person, "role"] >= 4 and p.at[j, "kind"] == "client",
                created,
            )
        )
    pair_key = np.array([pk * 1_000_000 + j for pk, j in ua_keys], np.int64)
    key = e.person.astype(np.int64) * 1_000_000 + e.project
    pos = np.minimum(np.searchsorted(pair_key, key), len(pair_key) - 1)
    found = (pair_key[pos] == key) & (e.ghost_project < 0) & ~e.ghost_user
    ghost_entry = np.nonzero(~found & (e.src == act.HARVEST))[0]
    for k, ent in enumerate(ghost_entry):
        ua_frags.append(_ua_obj(GHOST_UA_ID + k * 2, False, int(e.created[ent]) - 3600))
    ua_idx = np.where(found, pos, len(ua_keys) + np.searchsorted(ghost_entry, np.arange(len(e))))
    ua_tab = pa.array(ua_frags)

    ta_keys = sorted(ids.ta)
    ta_frags = []
    for j, t in ta_keys:
        billable = bool(p.at[j, "is_billable"]) and ref.TASKS[t][1] == "billable"
        ta_frags.append(
            _ta_obj(ids.ta[(j, t)], billable, int(p.at[j, "start_day"]) * DAY - 2 * DAY + 10 * 3600)
        )
    tkey_tab = np.array([j * 100 + t for j, t in ta_keys], np.int64)
    tkey = e.project.astype(np.int64) * 100 + e.task
    tpos = np.minimum(np.searchsorted(tkey_tab, tkey), len(tkey_tab) - 1)
    tfound = (tkey_tab[tpos] == tkey) & ~e.ghost_task & (e.ghost_project < 0)
    tghost = np.nonzero(~tfound & (e.src == act.HARVEST))[0]
    for k, ent in enumerate(tghost):
        ta_frags.append(
            _ta_obj(GHOST_TA_ID + k * 2, bool(e.billable[ent]), int(e.created[ent]) - 7200)
        )
    ta_idx = np.where(tfound, tpos, len(ta_keys) + np.searchsorted(tghost, np.arange(len(e))))
    ta_tab = pa.array(ta_frags)

    proj_idx = np.where(e.ghost_project >= 0, n_p + e.ghost_project, e.project).astype(np.int64)
    budgeted = p["billing_method"].isin(["fixed_fee", "milestone"]).to_numpy()[e.project]
    status_tab = pa.array([f'"{s}"' for s in act.STATUS_NAMES])
    cost = wk["cost_rate"].to_numpy()[e.person].astype(np.int64)

    def take(table: pa.Array, values: np.ndarray) -> pa.Array:
        return table.take(pa.array(np.asarray(values, np.int64)))

    def body(rows: np.ndarray, st: act.State) -> pa.Array:
        approved = st.status == 2
        billable = e.billable[rows]
        hrs = take(hours, e.hours_q[rows])
        locked = take(tf, approved)
        return json_join(
            [
                '{"id":',
                pc.cast(pa.array(e.entry_id[rows]), pa.string()),
                ',"spent_date":"',
                fmt.date(e.day[rows]),
                '","hours":',
                hrs,
                ',"hours_without_timer":',
                hrs,
                ',"rounded_hours":',
                hrs,
                ',"notes":',
                take(notes, e.note[rows]),
                ',"is_locked":',
                locked,
                ',"locked_reason":',
                pc.if_else(pa.array(approved), f'"{LOCKED_REASON}"', "null"),
                ',"is_closed":',
                locked,
                ',"is_billed":false,"timer_started_at":null,"started_time":null,"ended_time":null,'
                '"is_running":false,"billable":',
                take(tf, billable),
                ',"budgeted":',
                take(tf, budgeted[rows]),
                ',"billable_rate":',
                pc.if_else(pa.array(billable), take(rates, e.psa_rate[rows]), "null"),
                ',"cost_rate":',
                take(rates, cost[rows]),
                ',"created_at":',
                fmt.ts(e.created[rows], quote='"'),
                ',"updated_at":',
                fmt.ts(st.updated_at, quote='"'),
                ',"user":',
                take(users, e.person[rows]),
                ',"client":',
                take(clients, proj_idx[rows]),
                ',"project":',
                take(projects, proj_idx[rows]),
                ',"task":',
                take(tasks, e.task[rows]),
                ',"user_assignment":',
                take(ua_tab, ua_idx[rows]),
                ',"task_assignment":',
                take(ta_tab, ta_idx[rows]),
                ',"invoice":null,"external_reference":null,"approval_status":',
                take(status_tab, st.status),
                ',"submitted_at":',
                fmt.ts(st.submitted_at, null_at=act.NEVER, quote='"'),
                ',"approved_at":',
                fmt.ts(st.approved_at, null_at=act.NEVER, quote='"'),
                "}",
            ]
        )

    order = np.lexsort((e.entry_id[rows], wins))
    rows, wins = rows[order], wins[order]
    starts = np.searchsorted(wins, np.arange(len(w.bounds)))
    # One window at a time keeps memory flat and every Arrow string array small.
    for win in np.unique(wins):
        lo, hi = int(starts[win]), int(starts[win + 1])
        n = hi - lo
        wrows = rows[lo:hi]
        st = act.state_at(e, int(w.bounds[win + 1] - 1), idx=wrows)
        text = body(wrows, st)
        defect = e.reason[wrows] != 0
        label = day_str(int((w.bounds[win + 1] - 1) // DAY))
        url = f"{HARVEST_API}/time_entries?updated_since={iso(int(w.bounds[win]))}"
        offsets = np.unique(np.append(np.arange(0, n, HARVEST_PER_PAGE), n)).astype(np.int32)
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), text), ",")
        for k, (page, plo, phi) in enumerate(pages(n, HARVEST_PER_PAGE)):
            name = f"time_entries_updated_{label}_page_{page:04d}.json"
            foot = harvest_page_footer(n, page, HARVEST_PER_PAGE, url)
            landing.write(
                "harvest",
                "time_entries",
                name,
                [b'{"time_entries":[', joined[k].as_buffer().to_pybytes(), foot],
                phi - plo,
                int(w.bounds[win + 1]) + SNAPSHOT_HOUR,
                int(defect[plo:phi].sum()),
            )


def _ua_obj(uid: int, pm: bool, created: int) -> str:
    return orjson.dumps(
        {
            "id": uid,
            "is_project_manager": bool(pm),
            "is_active": True,
            "use_default_rates": True,
            "budget": None,
            "created_at": iso(created),
            "updated_at": iso(created),
            "hourly_rate": None,
        }
    ).decode()


def _ta_obj(tid: int, billable: bool, created: int) -> str:
    return orjson.dumps(
        {
            "id": tid,
            "billable": billable,
            "is_active": True,
            "created_at": iso(created),
            "updated_at": iso(created),
            "hourly_rate": None,
            "budget": None,
        }
    ).decode()


def write_harvest_snapshots(w: World, ids: HarvestIds, landing: Landing) -> None:
    """Full list exports of the Harvest master data, taken after the as-of day."""
    firm = w.firm
    p, wk, a = firm.projects, firm.workers, firm.accounts
    snap = w.end_ts + SNAPSHOT_HOUR
    label = day_str(firm.end_day)
    hp = p.index[p["psa"] == "harvest"]

    def emit(entity: str, records: list[dict]) -> None:
        url = f"{HARVEST_API}/{entity}"
        for page, data, n in harvest_list_pages(entity, records, url):
            landing.write(
                "harvest", entity, f"{entity}_{label}_page_{page:04d}.json", [data], n, snap
            )

    clients = []
    for i, le in enumerate(ref.LEGAL_ENTITIES):
        if le.psa == "harvest":
            created = (firm.start_day - 900) * DAY + 36000
            clients.append(
                _harvest_client(
                    INTERNAL_CLIENT_ID + i, f"D2B Internal ({le.code})", le.currency, created
                )
            )
    for acc in a.index[a["harvest_client_id"].notna()]:
        created = int(a.at[acc, "created_day"]) * DAY + 50000
        clients.append(
            _harvest_client(
                int(a.at[acc, "harvest_client_id"]),
                a.at[acc, "name"],
                a.at[acc, "currency"],
                created,
            )
        )
    emit("clients", sorted(clients, key=lambda r: r["id"]))

    projects = []
    for j in hp:
        kind = p.at[j, "kind"]
        method = p.at[j, "billing_method"]
        start, end = int(p.at[j, "start_day"]), int(p.at[j, "end_day"])
        created = (start - 7) * DAY + 40000
        updated = created if p.at[j, "is_active"] else (end + 3) * DAY + 40000
        fee = None
        if method == "fixed_fee":
            fee = float(w.firm.fixed_fee.get(int(j), 0))
        projects.append(
            {
                "id": int(p.at[j, "harvest_project_id"]),
                "name": p.at[j, "name"],
                "code": psa_code(w, int(j)),
                "is_active": bool(p.at[j, "is_active"]),
                "is_billable": bool(p.at[j, "is_billable"]),
                "is_fixed_fee": method == "fixed_fee",
                "bill_by": "People" if kind == "client" else "none",
                "budget": None,
                "budget_by": "none",
                "budget_is_monthly": False,
                "notify_when_over_budget": False,
                "over_budget_notification_percentage": 80.0,
                "show_budget_to_all": False,
                "created_at": iso(created),
                "updated_at": iso(updated),
                "starts_on": day_str(start) if kind != "internal" else None,
                "ends_on": day_str(end) if end != NO_DAY else None,
                "over_budget_notification_date": None,
                "notes": "",
                "cost_budget": None,
                "cost_budget_include_expenses": False,
                "hourly_rate": None
                if pd.isna(p.at[j, "default_rate"])
                else float(p.at[j, "default_rate"]),
                "fee": fee,
                "client": harvest_client_ref(w, int(j)),
            }
        )
    emit("projects", sorted(projects, key=lambda r: r["id"]))

    users = []
    for i in wk.index[wk["harvest_user_id"].notna()]:
        hire, term = int(wk.at[i, "hire_day"]), int(wk.at[i, "term_day"])
        created = (hire - 3) * DAY + 30000
        active = term == NO_DAY or term > firm.end_day
        users.append(
            {
                "id": int(wk.at[i, "harvest_user_id"]),
                "first_name": wk.at[i, "first_name"],
                "last_name": wk.at[i, "last_name"],
                "email": wk.at[i, "psa_email"],
                "telephone": "",
                "timezone": _tz(int(wk.at[i, "le"])),
                "has_access_to_all_future_projects": False,
                "is_contractor": False,
                "is_active": bool(active),
                "weekly_capacity": int(wk.at[i, "weekly_capacity"] * 3600),
                "default_hourly_rate": None,
                "cost_rate": float(wk.at[i, "cost_rate"]),
                "roles": [
                    ref.ROLES[wk.at[i, "role"]].name,
                    list(ref.PRACTICES.values())[wk.at[i, "practice"]],
                ],
                "access_roles": ["member"],
                "avatar_url": "https://d3s3969qhosaug.cloudfront.net/v2/user.png",
                "created_at": iso(created),
                "updated_at": iso(created if active else (term + 1) * DAY + 30000),
            }
        )
    emit("users", sorted(users, key=lambda r: r["id"]))

    created = (firm.start_day - 1200) * DAY + 30000
    emit(
        "tasks",
        [
            {
                "id": 17_000_000 + t * 11,
                "name": name,
                "billable_by_default": kind == "billable",
                "default_hourly_rate": None,
                "is_default": kind != "internal",
                "is_active": True,
                "created_at": iso(created),
                "updated_at": iso(created),
            }
            for t, (name, kind) in enumerate(ref.TASKS)
        ],
    )

    start = p["start_day"].tolist()
    kind = p["kind"].tolist()
    hire, role = wk["hire_day"].tolist(), wk["role"].tolist()
    proj_ref = {
        int(j): {
            "id": int(p.at[j, "harvest_project_id"]),
            "name": p.at[j, "name"],
            "code": psa_code(w, int(j)),
        }
        for j in hp
    }
    uname = (wk["first_name"] + " " + wk["last_name"]).tolist()
    hid = wk["harvest_user_id"].tolist()
    uas = []
    for (person, j), uid in sorted(ids.ua.items(), key=lambda kv: kv[1]):
        created = max(int(start[j]), int(hire[person])) * DAY - DAY + 9 * 3600
        obj = orjson.loads(_ua_obj(uid, role[person] >= 4 and kind[j] == "client", created))
        obj["project"] = proj_ref[j]
        obj["user"] = {"id": int(hid[person]), "name": uname[person]}
        uas.append(obj)
    emit("user_assignments", uas)

    tas = []
    billable_proj = p["is_billable"].tolist()
    for (j, t), tid in sorted(ids.ta.items(), key=lambda kv: kv[1]):
        billable = bool(billable_proj[j]) and ref.TASKS[t][1] == "billable"
        obj = orjson.loads(_ta_obj(tid, billable, int(start[j]) * DAY - 2 * DAY + 10 * 3600))
        obj["project"] = proj_ref[j]
        obj["task"] = {"id": 17_000_000 + t * 11, "name": ref.TASKS[t][0]}
        tas.append(obj)
    emit("task_assignments", tas)


def _harvest_client(cid: int, name: str, currency: str, created: int) -> dict:
    return {
        "id": cid,
        "name": name,
        "is_active": True,
        "address": "",
        "statement_key": f"{cid:x}",
        "currency": currency,
        "created_at": iso(created),
        "updated_at": iso(created),
    }


def _tz(le: int) -> str:
    return {
        "US01": "Eastern Time (US & Canada)",
        "CA01": "Eastern Time (US & Canada)",
        "GB01": "London",
        "DE01": "Berlin",
        "NL01": "Amsterdam",
        "SG01": "Singapore",
        "AU01": "Sydney",
    }[ref.LEGAL_ENTITIES[le].code]


# --- Toggl -------------------------------------------------------------------------------------

TOGGL_HEADER = (
    "User",
    "Email",
    "Client",
    "Project",
    "Task",
    "Description",
    "Billable",
    "Start date",
    "Start time",
    "End date",
    "End time",
    "Duration",
    "Tags",
    "Amount (EUR)",
    "Time entry ID",
    "Approval status",
    "Submitted at",
    "Approved at",
    "Updated at",
)
TOGGL_WORKSPACE_ID = 4_711_000


def write_toggl(w: World, landing: Landing) -> None:
    """Write the acquired subsidiary's Toggl Track exports.

    Weekly detailed-report CSVs of changed entries, and its projects list (API v9 JSON).
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
    task_name = [t for t, _ in ref.TASKS]
    order_all = np.lexsort((e.entry_id[rows], wins))
    rows, wins = rows[order_all], wins[order_all]
    sub, appr, upd = [
        x[order_all].tolist()
        for x in (np.array(sub, object), np.array(appr, object), np.array(upd, object))
    ]
    status = st.status[order_all].tolist()
    for win in np.unique(wins):
        sel = np.nonzero(wins == win)[0].tolist()
        out = []
        for k in sel:
            i = int(rows[k])
            person, j = int(e.person[i]), int(e.project[i])
            if e.ghost_project[i] >= 0:
                g = ghosts[e.ghost_project[i]]
                project, acc = f"{g['code']} {g['name']}", g["account"]
            else:
                project, acc = proj_name[j], proj_acc[j]
            s = int(start_local[i])
            q = int(e.hours_q[i])
            dur = q * 900
            d0 = int(e.day[i])
            end = s + dur
            billable = bool(e.billable[i])
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
        landing.write(
            "toggl",
            "time_entries",
            f"Toggl_time_entries_{lo}_to_{hi}.csv",
            [csv_bytes(TOGGL_HEADER, out)],
            len(out),
            int(w.bounds[win + 1]) + SNAPSHOT_HOUR,
            int((e.reason[rows[sel]] != 0).sum()),
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


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# --- Concur ------------------------------------------------------------------------------------


def write_concur(w: World, landing: Landing) -> None:
    """One SAE file per weekly batch, in Concur's published layout."""
    from ingest.generator.sae_export import write_sae  # it imports month_label from here

    write_sae(w, landing)


@cache
def month_label(day: int) -> str:
    """``Mon YYYY`` label of the month of ``day``."""
    return f"{from_day(day):%b %Y}"


# --- Salesforce, HRIS, MDM -----------------------------------------------------------------------

SF_ACCOUNT_HEADER = (
    "Id",
    "Name",
    "Type",
    "Industry",
    "BillingCity",
    "BillingCountry",
    "BillingCountryCode",
    "CurrencyIsoCode",
    "Legal_Entity__c",
    "Legacy_Client_Code__c",
    "OwnerId",
    "CreatedDate",
    "LastModifiedDate",
    "IsDeleted",
)
SF_CONTRACT_HEADER = (
    "Id",
    "AccountId",
    "ContractNumber",
    "Name",
    "Status",
    "StartDate",
    "EndDate",
    "ContractTerm",
    "CurrencyIsoCode",
    "Billing_Method__c",
    "Legal_Entity__c",
    "PSA_System__c",
    "PSA_Project_Code__c",
    "Payment_Terms__c",
    "Fixed_Fee_Amount__c",
    "Retainer_Monthly_Fee__c",
    "ActivatedDate",
    "OwnerId",
    "CreatedDate",
    "LastModifiedDate",
    "IsDeleted",
)
SF_RATE_HEADER = (
    "Id",
    "Name",
    "Contract__c",
    "Role__c",
    "Bill_Rate__c",
    "CurrencyIsoCode",
    "Effective_From__c",
    "Effective_To__c",
    "CreatedDate",
    "LastModifiedDate",
    "IsDeleted",
)


def sf_ts(ts: int) -> str:
    """Salesforce datetime: ``2025-01-05T17:03:11.000+0000``."""
    return iso(ts)[:-1] + ".000+0000"


def write_salesforce(w: World, landing: Landing) -> None:
    """Data Loader CSV exports of Account, Contract and Rate_Card_Line__c."""
    firm = w.firm
    p, a = firm.projects, firm.accounts
    snap = w.end_ts + SNAPSHOT_HOUR
    label = day_str(firm.end_day)
    owner = ref.sf_id("005", 900)
    rows = []
    for i in a.index:
        created = int(a.at[i, "created_day"]) * DAY + 36000
        rows.append(
            (
                a.at[i, "account_id"],
                a.at[i, "name"],
                "Customer",
                a.at[i, "industry"],
                a.at[i, "city"],
                ref.COUNTRIES[a.at[i, "country"]],
                a.at[i, "country"],
                a.at[i, "currency"],
                ref.LEGAL_ENTITIES[a.at[i, "le"]].code,
                a.at[i, "legacy_code"],
                owner,
                sf_ts(created),
                sf_ts(created + 86400 * 30),
                "false",
            )
        )
    landing.write(
        "salesforce",
        "accounts",
        f"accounts_{label}.csv",
        [csv_bytes(SF_ACCOUNT_HEADER, rows, quote_all=True)],
        len(rows),
        snap,
    )

    rows = []
    defect_rows = 0
    contract_reasons = {j for j, _ in w.firm.contract_defects}
    for j in p.index[p["kind"] == "client"]:
        start, end = int(p.at[j, "start_day"]), int(p.at[j, "end_day"])
        created = (start - 20) * DAY + 50000
        months = max(1, round((end - start) / 30.44))
        method = p.at[j, "billing_method"]
        le_code = "" if p.at[j, "contract_le_missing"] else ref.LEGAL_ENTITIES[p.at[j, "le"]].code
        defect_rows += int(j) in contract_reasons
        rows.append(
            (
                contract_id(j),
                a.at[int(p.at[j, "account"]), "account_id"],
                contract_number(j),
                f"{a.at[int(p.at[j, 'account']), 'name']} - {p.at[j, 'name']} SOW",
                "Activated" if end >= firm.end_day else "Expired",
                day_str(start),
                day_str(end),
                str(months),
                p.at[j, "contract_currency"],
                method,
                le_code,
                p.at[j, "psa"],
                p.at[j, "project_code"],
                p.at[j, "payment_terms"],
                money(w.firm.fixed_fee.get(int(j), 0) * 100) if method == "fixed_fee" else "",
                money(w.firm.retainer_fee.get(int(j), 0) * 100) if method == "retainer" else "",
                sf_ts(created + 3 * DAY),
                owner,
                sf_ts(created),
                sf_ts(created + 3 * DAY if end >= firm.end_day else (end + 1) * DAY + 7200),
                "false",
            )
        )
    landing.write(
        "salesforce",
        "contracts",
        f"contracts_{label}.csv",
        [csv_bytes(SF_CONTRACT_HEADER, rows, quote_all=True)],
        len(rows),
        snap,
        defect_rows,
    )

    rows = []
    for ln in w.rc.lines.itertuples(index=False):
        j = int(ln.project)
        created = (int(ln.eff_from) - 15) * DAY + 50000
        rows.append(
            (
                rate_line_id(int(ln.line_no)),
                f"RCL-{int(ln.line_no) + 1:06d}",
                contract_id(j),
                ref.ROLES[int(ln.role)].name,
                money(int(ln.rate) * 100),
                p.at[j, "contract_currency"],
                day_str(int(ln.eff_from)),
                "" if ln.eff_to == NO_DAY else day_str(int(ln.eff_to)),
                sf_ts(created),
                sf_ts(created if ln.eff_to == NO_DAY else (int(ln.eff_to) - 10) * DAY + 50000),
                "false",
            )
        )
    landing.write(
        "salesforce",
        "rate_cards",
        f"rate_cards_{label}.csv",
        [csv_bytes(SF_RATE_HEADER, rows, quote_all=True)],
        len(rows),
        snap,
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


MDM_HEADER = (
    "source_system",
    "entity",
    "source_id",
    "target_system",
    "target_id",
    "maintained_by",
    "updated_at",
)


def identity_mapping_rows(w: World) -> list[tuple[str, ...]]:
    """Mappings for every record that lacks its explicit cross-system key."""
    firm = w.firm
    wk, p, a = firm.workers, firm.projects, firm.accounts
    base = firm.start_day * DAY
    rows = []
    for i in wk.index[(wk["psa_email"] != wk["email"])]:
        rows.append(
            (
                "harvest",
                "user",
                str(int(wk.at[i, "harvest_user_id"])),
                "hris",
                wk.at[i, "employee_id"],
                "hr-ops@d2b.example",
                iso(max(base, int(wk.at[i, "hire_day"]) * DAY) + 40000),
            )
        )
    for j in p.index[p["code_missing_in_psa"]]:
        src = p.at[j, "psa"]
        sid = p.at[j, "harvest_project_id"] if src == "harvest" else p.at[j, "toggl_project_id"]
        rows.append(
            (
                src,
                "project",
                str(int(sid)),
                "salesforce",
                contract_id(j),
                "pmo@d2b.example",
                iso(int(p.at[j, "start_day"]) * DAY + 50000),
            )
        )
    for i in a.index[~a["erp_has_external_id"]]:
        rows.append(
            (
                "erp",
                "customer",
                str(int(a.at[i, "erp_customer_id"])),
                "salesforce",
                a.at[i, "account_id"],
                "finance-mdm@d2b.example",
                iso(int(a.at[i, "created_day"]) * DAY + 60000),
            )
        )
    for i in a.index[a["concur_uses_legacy_code"]]:
        rows.append(
            (
                "concur",
                "client",
                a.at[i, "legacy_code"],
                "salesforce",
                a.at[i, "account_id"],
                "finance-mdm@d2b.example",
                iso(int(a.at[i, "created_day"]) * DAY + 61000),
            )
        )
    return rows


def write_mdm(w: World, landing: Landing) -> None:
    """The maintained identity mapping (a landed source, not a dbt seed)."""
    rows = identity_mapping_rows(w)
    landing.write(
        "mdm",
        "identity_mappings",
        "identity_mappings.csv",
        [csv_bytes(MDM_HEADER, rows)],
        len(rows),
        w.end_ts + SNAPSHOT_HOUR,
    )


# --- ERP ---------------------------------------------------------------------------------------

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

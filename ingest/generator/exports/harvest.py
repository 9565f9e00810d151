"""Harvest: weekly time-entry pages (API v2 list shape) and the master-data snapshots."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.generator import activity as act
from ingest.generator import reference as ref
from ingest.generator.exports.common import SNAPSHOT_HOUR, psa_code
from ingest.generator.firm import DAY, NO_DAY
from ingest.generator.state import World
from ingest.generator.writers import (
    HARVEST_API,
    HARVEST_PER_PAGE,
    Landing,
    TimeFormatter,
    day_str,
    harvest_list_pages,
    harvest_page_footer,
    iso,
    json_join,
    json_str_table,
    pages,
)

LOCKED_REASON = "Item Approved and Locked for this Time Period"
INTERNAL_CLIENT_ID = 11_900_000  # + legal entity index: Harvest's internal clients
GHOST_UA_ID = 399_000_000
GHOST_TA_ID = 339_000_000


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

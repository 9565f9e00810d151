"""Delivery activity: staffing, time entries, rate cards and the timesheet approval flow.

Time entries are held column-wise in :class:`Entries` (numpy arrays), one row per entry in its
final state; the approval flow gives each entry up to five events (created, submitted,
decided, resubmitted, approved after resubmission) from which the export versions are cut.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ingest.generator import reference as ref
from ingest.generator.firm import DAY, NO_DAY, Firm, stream

HARVEST, TOGGL = 0, 1
NEVER = np.iinfo(np.int64).max  # an event that has not happened
APPROVED, REJECTED = 1, 2

# Note texts: one global list, indexed per entry.
NOTES: list[str] = []
NOTE_RANGES: dict[int, tuple[int, int]] = {}
for _t, (_name, _kind) in enumerate(ref.TASKS):
    _lo = len(NOTES)
    NOTES.extend(ref.NOTE_PHRASES[_name])
    NOTE_RANGES[_t] = (_lo, len(NOTES))

PATTERN_WEEKDAYS = {0: (0, 1, 2, 3, 4), 1: (0, 1, 2, 3), 2: (0, 1, 2), 3: (0, 1, 2, 3, 4)}


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 for day numbers (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


@dataclass
class Entries:
    """Time entries, column-wise. ``project`` indexes ``Firm.projects``."""

    src: np.ndarray  # HARVEST / TOGGL
    person: np.ndarray
    project: np.ndarray
    task: np.ndarray
    day: np.ndarray
    hours_q: np.ndarray  # quarter hours
    billable: np.ndarray
    note: np.ndarray
    created: np.ndarray  # epoch seconds
    rate: np.ndarray  # resolved bill rate, whole currency units (0 if none)
    psa_rate: np.ndarray  # rate the PSA carries (Harvest billable_rate), 0 if null
    ghost_project: np.ndarray  # index into Firm.ghost_projects, -1 if none
    ghost_task: np.ndarray  # True: task_assignment does not exist on the project
    ghost_user: np.ndarray  # True: user_assignment does not exist
    reason: np.ndarray  # planted defect reason code (0 = clean)
    submitted: np.ndarray | None = None
    decided: np.ndarray | None = None
    decision: np.ndarray | None = None
    resubmitted: np.ndarray | None = None
    approved2: np.ndarray | None = None
    entry_id: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.src)

    def append(self, other: Entries) -> Entries:
        """Concatenate two column sets (events and ids are recomputed afterwards)."""
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = None if a is None or b is None else np.concatenate([a, b])
        return Entries(**values)

    def take(self, idx: np.ndarray) -> Entries:
        """Rows ``idx`` of every column."""
        values = {}
        for f in fields(self):
            a = getattr(self, f.name)
            values[f.name] = None if a is None else a[idx]
        return Entries(**values)


def months(firm: Firm) -> np.ndarray:
    """First day of each calendar month touched by the history (day numbers)."""
    first = np.datetime64(firm.start, "M")
    last = np.datetime64(firm.as_of, "M")
    ms = np.arange(first, last + 1).astype("datetime64[D]").astype(np.int64)
    return ms


def _person_days(firm: Firm) -> pd.DataFrame:
    """Every (worker, working day) in the history, after holidays and vacation blocks."""
    rng = stream(firm.seed, "person_days")
    w = firm.workers
    s, a = firm.start_day, firm.end_day
    people, days = [], []
    for i, row in enumerate(w.itertuples()):
        d0, d1 = max(row.hire_day, s), min(row.term_day, a)
        if d1 < d0:
            continue
        span = np.arange(d0, d1 + 1)
        region = ref.LEGAL_ENTITIES[row.le].region
        keep = np.isin(weekday(span), PATTERN_WEEKDAYS[row.pattern])
        keep &= ~np.isin(span, list(firm.holidays[region]))
        work = span[keep]
        # About 20 days of vacation a year in three blocks.
        if len(work) > 40:
            share = len(work) / 250
            for _ in range(3):
                length = max(1, round(rng.integers(3, 10) * share))
                at = int(rng.integers(0, max(1, len(work) - length)))
                work = np.delete(work, np.arange(at, min(at + length, len(work))))
        people.append(np.full(len(work), i, np.int32))
        days.append(work.astype(np.int32))
    return pd.DataFrame({"person": np.concatenate(people), "day": np.concatenate(days)})


def _staffing(firm: Firm, month_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary project per (worker, month); -1 = none (bench)."""
    rng = stream(firm.seed, "staffing")
    w, p = firm.workers, firm.projects
    n_m = len(month_starts)
    month_ends = np.append(month_starts[1:], firm.end_day + 1) - 1
    client = p.index[p["kind"] == "client"].to_numpy()
    presales = p.index[p["kind"] == "presales"].to_numpy()
    active: dict[tuple[int, int], np.ndarray] = {}
    pres: dict[tuple[int, int], np.ndarray] = {}
    for le_i in range(len(ref.LEGAL_ENTITIES)):
        for m in range(n_m):
            for store, pool in ((active, client), (pres, presales)):
                sel = pool[
                    (p.loc[pool, "le"].to_numpy() == le_i)
                    & (p.loc[pool, "start_day"].to_numpy() <= month_ends[m] - 5)
                    & (p.loc[pool, "end_day"].to_numpy() >= month_starts[m] + 5)
                ]
                store[(le_i, m)] = sel
    primary = np.full((len(w), n_m), -1, np.int32)
    secondary = np.full((len(w), n_m), -1, np.int32)
    draws = rng.random((len(w), n_m, 4))
    picks = rng.integers(0, 1 << 30, size=(len(w), n_m, 2))
    les = w["le"].to_numpy()
    roles = w["role"].to_numpy()
    for i in range(len(w)):
        prev = -1
        senior = roles[i] >= 4
        for m in range(n_m):
            cand = active[(les[i], m)]
            if len(cand) == 0 or draws[i, m, 0] < 0.06:
                prev = -1
                continue  # on the bench this month
            if prev in cand and draws[i, m, 1] < 0.85:
                cur = prev
            else:
                cur = int(cand[picks[i, m, 0] % len(cand)])
            primary[i, m] = cur
            prev = cur
            if draws[i, m, 2] < (0.45 if senior else 0.3):
                others = cand[cand != cur]
                ps = pres[(les[i], m)]
                if senior and len(ps) and draws[i, m, 3] < 0.4:
                    secondary[i, m] = int(ps[picks[i, m, 1] % len(ps)])
                elif len(others):
                    secondary[i, m] = int(others[picks[i, m, 1] % len(others)])
    return primary, secondary


def build_entries(firm: Firm) -> Entries:
    """Generate the clean time entries of the history (no defects, no approval events)."""
    rng = stream(firm.seed, "entries")
    w, p = firm.workers, firm.projects
    pdays = _person_days(firm)
    ms = months(firm)
    primary, secondary = _staffing(firm, ms)
    person = pdays["person"].to_numpy()
    day = pdays["day"].to_numpy()
    n = len(person)
    m_idx = np.searchsorted(ms, day, side="right") - 1
    prim = primary[person, m_idx]
    sec = secondary[person, m_idx]
    p_start = p["start_day"].to_numpy()
    p_end = p["end_day"].to_numpy()

    def active_on(proj: np.ndarray) -> np.ndarray:
        ok = proj >= 0
        safe = np.where(ok, proj, 0)
        return ok & (p_start[safe] <= day) & (p_end[safe] >= day)

    sec = np.where(active_on(sec), sec, -1)
    prim_ok = active_on(prim)
    prim = np.where(prim_ok, prim, sec)  # primary over: the secondary takes its place
    sec = np.where(prim_ok, sec, -1)

    pattern = w["pattern"].to_numpy()[person]
    weekly = w["weekly_capacity"].to_numpy()[person]
    base_q = np.where(pattern == 3, 16, np.where(pattern == 0, (weekly * 4 / 5), 32)).astype(int)
    r = rng.random(n)
    total = base_q.copy()
    total += np.where((r > 0.70) & (r <= 0.85), rng.integers(1, 9, n), 0)
    total -= np.where((r > 0.85) & (r <= 0.95), rng.integers(1, 5, n), 0)
    total = np.clip(total, 4, 48)

    bshare = np.array([ro.billable_share for ro in ref.ROLES])[w["role"].to_numpy()[person]]
    p_int = np.minimum(1.0, (1 - bshare) / 0.5)
    staffed = prim >= 0
    has_int = ~staffed | (rng.random(n) < p_int)
    int_q = np.where(staffed, np.round(total * rng.uniform(0.25, 0.75, n)).astype(int), total)
    int_q = np.where(has_int, np.clip(int_q, 1, total), 0)
    int_q = np.where(staffed & has_int, np.minimum(int_q, total - 2), int_q)
    int_q = np.where(staffed & (int_q < 1), 0, int_q)
    client_q = total - int_q
    use_sec = staffed & (sec >= 0) & (rng.random(n) < 0.65) & (client_q >= 4)
    sec_q = np.where(use_sec, np.maximum(1, np.round(client_q * rng.uniform(0.25, 0.5, n))), 0)
    prim_q = client_q - sec_q
    split = staffed & (prim_q >= 4) & (rng.random(n) < 0.8)
    a_q = np.where(split, np.round(prim_q * rng.uniform(0.3, 0.7, n)).astype(int), prim_q)
    a_q = np.clip(a_q, 1, np.maximum(1, prim_q - 1))
    a_q = np.where(split, a_q, prim_q)
    b_q = np.where(split, prim_q - a_q, 0)

    # Tasks: A and B are distinct billable tasks of the primary project; B is travel (client
    # non-billable) 8% of the time. Secondary: one of its billable tasks.
    ptasks = p["tasks"].tolist()
    n_bill = np.array([len([t for t in ts if t in ref.BILLABLE_TASKS]) for ts in ptasks])
    task_tab = np.full((len(p), 8), -1, np.int32)
    for j, ts in enumerate(ptasks):
        task_tab[j, : len(ts)] = ts
    safe_prim = np.where(staffed, prim, 0)
    nb = np.maximum(1, n_bill[safe_prim])
    ta_i = rng.integers(0, 1 << 30, n) % nb
    tb_i = (ta_i + 1 + rng.integers(0, 1 << 30, n) % np.maximum(1, nb - 1)) % nb
    task_a = task_tab[safe_prim, ta_i]
    task_b = task_tab[safe_prim, tb_i]
    travel = rng.random(n) < 0.08
    task_b = np.where(travel, ref.CLIENT_NONBILLABLE_TASKS[0], task_b)
    safe_sec = np.where(sec >= 0, sec, 0)
    task_s = task_tab[safe_sec, rng.integers(0, 1 << 30, n) % np.maximum(1, n_bill[safe_sec])]

    # Internal project: ADM (admin/bench), TRN (training) or BD (senior roles).
    le = w["le"].to_numpy()[person]
    role = w["role"].to_numpy()[person]
    code_to_idx = {c: i for i, c in enumerate(p["project_code"])}
    int_proj = np.empty((len(ref.LEGAL_ENTITIES), 3), np.int32)
    for li, ent in enumerate(ref.LEGAL_ENTITIES):
        for k, (suffix, _, _) in enumerate(ref.INTERNAL_PROJECTS):
            int_proj[li, k] = code_to_idx[f"INT-{ent.code}-{suffix}"]
    ri = rng.random(n)
    kind = np.where(ri < 0.55, 0, np.where((ri < 0.8) | (role < 4), 1, 2))
    kind = np.where(~staffed & (ri < 0.8), 0, kind)
    iproj = int_proj[le, kind]
    name_to_task = {name: t for t, (name, _) in enumerate(ref.TASKS)}
    # Admin project: staffed people do admin (or internal meetings), the unstaffed are on
    # the bench; training; business development or recruiting.
    admin = np.where(
        staffed,
        np.where(rng.random(n) < 0.8, name_to_task["Admin"], name_to_task["Internal Meeting"]),
        name_to_task["Bench"],
    )
    bd = np.where(
        rng.random(n) < 0.8, name_to_task["Business Development"], name_to_task["Recruiting"]
    )
    itask = np.select([kind == 0, kind == 1], [admin, name_to_task["Training"]], bd)

    pieces = [
        (staffed & (a_q > 0), prim, task_a, a_q),
        (split & (b_q > 0), prim, task_b, b_q),
        (use_sec & (sec_q > 0), sec, task_s, sec_q),
        (int_q > 0, iproj, itask, int_q),
    ]
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "slot", "proj", "task", "q")}
    for slot, (mask, proj, task, q) in enumerate(pieces):
        idx = np.nonzero(mask)[0]
        cols["row"].append(idx)
        cols["slot"].append(np.full(len(idx), slot, np.int8))
        cols["proj"].append(proj[idx].astype(np.int32))
        cols["task"].append(task[idx].astype(np.int16))
        cols["q"].append(q[idx].astype(np.int16))
    row = np.concatenate(cols["row"])
    order = np.lexsort((np.concatenate(cols["slot"]), row))
    row = row[order]
    proj = np.concatenate(cols["proj"])[order]
    task = np.concatenate(cols["task"])[order]
    q = np.concatenate(cols["q"])[order]
    m = len(row)

    is_bill_proj = p["is_billable"].to_numpy()
    task_billable = np.array([k == "billable" for _, k in ref.TASKS])
    billable = is_bill_proj[proj] & task_billable[task]
    lo = np.array([NOTE_RANGES[t][0] for t in range(len(ref.TASKS))])
    hi = np.array([NOTE_RANGES[t][1] for t in range(len(ref.TASKS))])
    note = (lo[task] + rng.integers(0, 1 << 30, m) % (hi[task] - lo[task])).astype(np.int16)
    src = np.where(p["psa"].to_numpy()[proj] == "toggl", TOGGL, HARVEST).astype(np.int8)
    zeros = np.zeros(m, np.int32)
    return Entries(
        src=src,
        person=person[row],
        project=proj,
        task=task,
        day=day[row],
        hours_q=q,
        billable=billable,
        note=note,
        created=np.zeros(m, np.int64),
        rate=zeros.copy(),
        psa_rate=zeros.copy(),
        ghost_project=np.full(m, -1, np.int32),
        ghost_task=np.zeros(m, bool),
        ghost_user=np.zeros(m, bool),
        reason=np.zeros(m, np.int8),
    )


@dataclass
class RateCards:
    """Contract rate card lines: at most one mid-contract change, applied to every role."""

    lines: pd.DataFrame  # project, role, rate, eff_from, eff_to (NO_DAY = open), line_no
    old: np.ndarray  # [project, role] rate before the change (0 = no line)
    new: np.ndarray  # [project, role] rate from the change day
    change: np.ndarray  # [project] change day (NO_DAY = no change)


def build_rate_cards(firm: Firm, e: Entries) -> RateCards:
    """Rate cards for every billable contract, covering the roles staffed on it.

    Where the project has a default rate, some staffed roles are left off the card on purpose
    (their hours resolve to the project default rate), exercising docs/design.md §4's fallback.
    """
    rng = stream(firm.seed, "rate_cards")
    p, w = firm.projects, firm.workers
    n_r = len(ref.ROLES)
    old = np.zeros((len(p), n_r), np.int64)
    new = np.zeros((len(p), n_r), np.int64)
    change = np.full(len(p), NO_DAY, np.int64)
    roles = w["role"].to_numpy()[e.person]
    staffed = np.zeros((len(p), n_r), bool)
    sel = e.billable
    staffed[e.project[sel], roles[sel]] = True
    rows = []
    for j in p.index[p["kind"] == "client"]:
        ent = ref.LEGAL_ENTITIES[p.at[j, "le"]]
        disc = firm.accounts.at[p.at[j, "account"], "discount"]
        has_default = not pd.isna(p.at[j, "default_rate"])
        on_card = staffed[j].copy()
        if has_default:
            on_card &= rng.random(n_r) >= 0.3
        if not on_card.any():
            on_card[int(rng.integers(0, n_r))] = True  # a card always has a line
        s, en = int(p.at[j, "start_day"]), int(p.at[j, "end_day"])
        chg = NO_DAY
        lo, hi = max(s + 60, firm.start_day + 30), min(en - 30, firm.end_day - 15)
        if hi > lo and rng.random() < 0.35:
            chg = int(rng.integers(lo, hi))
        change[j] = chg
        uplift = rng.uniform(1.03, 1.08)
        for ro in np.nonzero(on_card)[0]:
            base = ref.ROLES[ro].bill_rate_usd * ref.CURRENCIES[ent.currency] * disc
            r_old = int(5 * round(base / 5))
            r_new = int(5 * round(base * uplift / 5)) if chg != NO_DAY else r_old
            old[j, ro], new[j, ro] = r_old, r_new
            rows.append((j, ro, r_old, s, chg - 1 if chg != NO_DAY else NO_DAY))
            if chg != NO_DAY:
                rows.append((j, ro, r_new, chg, NO_DAY))
    lines = pd.DataFrame(rows, columns=["project", "role", "rate", "eff_from", "eff_to"])
    lines["line_no"] = np.arange(len(lines))
    return RateCards(lines, old, new, change)


def resolve_rates(firm: Firm, e: Entries, rc: RateCards) -> np.ndarray:
    """Resolved bill rate per entry (docs/design.md §4); 0 where none resolves (missing).

    The contract's rate card line for (contract, role) effective on the work date, else the
    project default rate.
    """
    p = firm.projects
    role = firm.workers["role"].to_numpy()[e.person]
    card = np.where(e.day >= rc.change[e.project], rc.new[e.project, role], rc.old[e.project, role])
    default = p["default_rate"].fillna(0).to_numpy(np.int64)[e.project]
    rate = np.where(card > 0, card, default)
    return np.where(e.billable, rate, 0).astype(np.int32)


def local_ts(firm: Firm, person: np.ndarray, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """UTC epoch seconds for a local time of day on ``day`` at the worker's legal entity."""
    offsets = np.array([le.utc_offset_hours for le in ref.LEGAL_ENTITIES], np.int64)
    le = firm.workers["le"].to_numpy()[person]
    return day.astype(np.int64) * DAY + seconds.astype(np.int64) - offsets[le] * 3600


def week_monday(day: np.ndarray) -> np.ndarray:
    """Monday of the ISO week of each day."""
    return day - weekday(day)


def planned_submission(firm: Firm, person: np.ndarray, monday: np.ndarray) -> np.ndarray:
    """When each (worker, week) timesheet is submitted, before entry creation is known."""
    rng = stream(firm.seed, "submission")
    n = len(person)
    r = rng.random(n)
    offset_days = np.where(
        r < 0.75,
        4,  # Friday
        np.where(
            r < 0.88,
            rng.integers(7, 9, n),
            np.where(r < 0.96, rng.integers(9, 17, n), rng.integers(17, 35, n)),
        ),
    )
    secs = np.where(
        r < 0.75, rng.integers(15 * 3600, 19 * 3600, n), rng.integers(9 * 3600, 18 * 3600, n)
    )
    return local_ts(firm, person, monday + offset_days, secs)


def assign_created(firm: Firm, e: Entries) -> None:
    """Set creation times of the time entries.

    Daily loggers create entries on the evening of the work day, the others in one go shortly
    before they submit the week. Local creation is always after noon, so the UTC date of
    ``created_at`` is never before the work date (see the future_dated rule).
    """
    rng = stream(firm.seed, "created")
    n = len(e)
    monday = week_monday(e.day)
    key = e.person.astype(np.int64) * 100_000 + monday
    uk, inv = np.unique(key, return_inverse=True)
    plan = planned_submission(firm, (uk // 100_000).astype(np.int32), uk % 100_000)[inv]
    daily = firm.workers["daily_logger"].to_numpy()[e.person]
    evening = local_ts(firm, e.person, e.day, rng.integers(17 * 3600, 20 * 3600, n))
    batch = plan - rng.integers(5 * 60, 120 * 60, n)
    noon = local_ts(firm, e.person, e.day, np.full(n, 12 * 3600 + 60))
    created = np.where(daily, evening, np.maximum(batch, noon))
    # Work of the last days is logged before the export at the end of the as-of day, so
    # every entry exists in the landing zone (duplicates follow within ten minutes).
    e.created = np.minimum(created, (firm.end_day + 1) * DAY - 900)


def approval_flow(firm: Firm, e: Entries) -> None:
    """Submission, approval, rejection and resubmission events per (worker, week) timesheet.

    Timesheets are submitted as a whole: the submission happens at the planned time, but
    never before the week's last entry was created. About 4% are rejected, then resubmitted
    one hour to five days later and approved after that.
    """
    rng = stream(firm.seed, "approval")
    monday = week_monday(e.day)
    key = e.person.astype(np.int64) * 100_000 + monday
    uk, inv = np.unique(key, return_inverse=True)
    k = len(uk)
    plan = planned_submission(firm, (uk // 100_000).astype(np.int32), uk % 100_000)
    last_created = np.full(k, np.iinfo(np.int64).min)
    np.maximum.at(last_created, inv, e.created)
    submitted = np.maximum(plan, last_created + 300)
    lag = np.clip(rng.lognormal(np.log(30 * 3600), 0.9, k), 1800, 20 * DAY).astype(np.int64)
    decided = submitted + lag
    rejected = rng.random(k) < 0.04
    resub = decided + rng.integers(3600, 5 * DAY, k)
    appr2 = resub + np.clip(rng.lognormal(np.log(20 * 3600), 0.8, k), 1800, 10 * DAY).astype(
        np.int64
    )
    e.submitted = submitted[inv]
    e.decided = decided[inv]
    e.decision = np.where(rejected, REJECTED, APPROVED)[inv].astype(np.int8)
    e.resubmitted = np.where(rejected, resub, NEVER)[inv]
    e.approved2 = np.where(rejected, appr2, NEVER)[inv]


@dataclass
class State:
    """An entry's state at a point in time (vectorised)."""

    status: np.ndarray  # 0 unsubmitted, 1 submitted, 2 approved, 3 rejected
    submitted_at: np.ndarray  # NEVER = null
    approved_at: np.ndarray  # NEVER = null
    updated_at: np.ndarray


STATUS_NAMES = ("unsubmitted", "submitted", "approved", "rejected")


def state_at(e: Entries, t: np.ndarray | int, idx: np.ndarray | None = None) -> State:
    """State of entries (all, or rows ``idx``) as of epoch second ``t`` (inclusive)."""
    sl = slice(None) if idx is None else idx
    created, sub, dec = e.created[sl], e.submitted[sl], e.decided[sl]
    decision, resub, appr2 = e.decision[sl], e.resubmitted[sl], e.approved2[sl]
    status = np.zeros(len(created), np.int8)
    upd = created.copy()
    sub_at = np.full(len(created), NEVER)
    appr_at = np.full(len(created), NEVER)
    has = sub <= t
    status[has], upd[has], sub_at[has] = 1, sub[has], sub[has]
    has = dec <= t
    ok = has & (decision == APPROVED)
    rej = has & (decision == REJECTED)
    status[ok], appr_at[ok] = 2, dec[ok]
    status[rej] = 3
    upd[has] = dec[has]
    has = resub <= t
    status[has], upd[has], sub_at[has] = 1, resub[has], resub[has]
    has = appr2 <= t
    status[has], upd[has], appr_at[has] = 2, appr2[has], appr2[has]
    return State(status, sub_at, appr_at, upd)


def export_windows(firm: Firm) -> np.ndarray:
    """Boundaries (epoch seconds) of the weekly incremental export windows.

    Windows run Wednesday 00:00 UTC to the next Wednesday (the export job runs early on
    Wednesdays, after most managers approved the previous week); the last window ends at
    the end of the as-of day.
    """
    end = (firm.end_day + 1) * DAY
    first = firm.start_day - 40
    first_wed = first + (2 - weekday(np.array([first]))[0]) % 7
    weds = np.arange(first_wed, firm.end_day + 1, 7, dtype=np.int64) * DAY
    bounds = np.append(weds[weds < end], end)
    return bounds


def versions(e: Entries, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (entry index, window index) to export.

    One per window in which the entry changed, carrying its state at the last change inside
    that window (see docs/sources.md).
    """
    events = np.stack([e.created, e.submitted, e.decided, e.resubmitted, e.approved2], axis=1)
    end = bounds[-1]
    win = np.searchsorted(bounds, events, side="right") - 1  # window index per event
    happened = events < end
    win = np.where(happened, win, -1)
    rows, wins = [], []
    for k in range(events.shape[1]):
        # a later event in the same window supersedes this one
        later_same = np.zeros(len(e), bool)
        for k2 in range(k + 1, events.shape[1]):
            later_same |= win[:, k2] == win[:, k]
        emit = (win[:, k] >= 0) & ~later_same
        idx = np.nonzero(emit)[0]
        rows.append(idx)
        wins.append(win[idx, k])
    r = np.concatenate(rows)
    wv = np.concatenate(wins)
    order = np.lexsort((r, wv))
    return r[order], wv[order]

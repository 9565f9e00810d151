"""Planted record-level defects: one reason per record, each satisfying its documented rule.

The exact predicate of every reason is in docs/generator.md ("Exception rules"); the
planting here is written so that a planted record satisfies exactly its own rule and clean
records satisfy none. Time-entry defects are planted before approval events and ids exist;
expense defects are planted by :mod:`ingest.generator.expenses`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ingest.generator import activity as act
from ingest.generator import reference as ref
from ingest.generator.activity import Entries, RateCards
from ingest.generator.firm import Firm, stream

#: Exception reasons of docs/design.md §5, in order; a record's reason code is its index + 1.
REASONS: tuple[str, ...] = (
    "unknown_project",
    "closed_project",
    "task_not_on_project",
    "resource_not_assigned",
    "missing_rate",
    "rate_mismatch",
    "duplicate_entry",
    "future_dated",
    "over_daily_limit",
    "expired_contract",
    "currency_mismatch",
    "missing_receipt",
    "over_policy_limit",
    "unmatched_client",
    "missing_legal_entity",
)
CODE = {r: i + 1 for i, r in enumerate(REASONS)}
DAILY_LIMIT_Q = 64  # 16 hours in quarter hours


@dataclass(frozen=True)
class DefectRates:
    """How many defects to plant.

    Each rate is a share of the reason's base population:

    - time-entry reasons: of all clean time entries (``task_not_on_project``,
      ``resource_not_assigned``, ``rate_mismatch`` and ``future_dated`` are Harvest-only, so of
      Harvest entries); ``over_daily_limit``: of worker-days with time;
    - contract reasons (``currency_mismatch``, ``missing_legal_entity``): of billable contracts;
    - expense reasons: of Concur expense lines (``unmatched_client``: of lines allocated to a
      client).

    The planted count is ``max(min_per_reason, round(rate * base))`` (fewer only if the firm
    has too few candidates). The file-level switches plant one file each.
    """

    unknown_project: float = 0.0005
    closed_project: float = 0.0004
    task_not_on_project: float = 0.0005
    resource_not_assigned: float = 0.0004
    missing_rate: float = 0.0003
    rate_mismatch: float = 0.001
    duplicate_entry: float = 0.001
    future_dated: float = 0.0005
    over_daily_limit: float = 0.0005
    expired_contract: float = 0.0004
    currency_mismatch: float = 0.01
    missing_receipt: float = 0.004
    over_policy_limit: float = 0.004
    unmatched_client: float = 0.004
    missing_legal_entity: float = 0.01
    min_per_reason: int = 2
    duplicate_file: bool = True
    late_file: bool = True
    malformed_file: bool = True
    extra_column_file: bool = True

    def count(self, reason: str, base: int) -> int:
        """Planned number of defects for ``reason`` over a population of ``base`` units."""
        return max(self.min_per_reason, round(getattr(self, reason) * base))

    def as_dict(self) -> dict[str, float | int | bool]:
        """Plain dict (for the manifest)."""
        return asdict(self)


@dataclass
class Plan:
    """Bookkeeping while planting time-entry defects."""

    firm: Firm
    e: Entries
    rc: RateCards
    rng: np.random.Generator
    used: np.ndarray  # entry already defective or part of a defect pair/group
    day_key: np.ndarray  # sorted unique person-day keys
    day_total: np.ndarray  # quarter hours per key
    day_used: np.ndarray  # person-day hosts an over_daily_limit group
    added: list[dict]
    added_keys: set[tuple[int, int, int, int]]  # (person, project, task, day) of added rows
    pairs: set[tuple[int, int]]  # (person, project) pairs that must keep no other entry
    by_person: np.ndarray  # entry indices sorted by person
    person_bounds: np.ndarray  # by_person slice bounds per person
    by_project: np.ndarray
    project_bounds: np.ndarray

    def of_person(self, person: int) -> np.ndarray:
        """Indices of the entries of ``person``."""
        return self.by_person[self.person_bounds[person] : self.person_bounds[person + 1]]

    def of_project(self, project: int) -> np.ndarray:
        """Indices of the entries on ``project``."""
        return self.by_project[self.project_bounds[project] : self.project_bounds[project + 1]]


def _key(person: np.ndarray | int, day: np.ndarray | int) -> np.ndarray | int:
    return np.asarray(person, np.int64) * 100_000 + day


def plant_entry_defects(firm: Firm, e: Entries, rc: RateCards, rates: DefectRates) -> Entries:
    """Plant every time-entry and contract defect; return entries with the added rows.

    Contract defects are recorded on ``firm.projects`` (``contract_currency``,
    ``contract_le_missing``); ghost (deleted) projects on ``firm.ghost_projects``.
    """
    rng = stream(firm.seed, "defects")
    _ensure_finished_projects(firm)
    keys = _key(e.person, e.day)
    uk, inv = np.unique(keys, return_inverse=True)
    totals = np.bincount(inv, weights=e.hours_q).astype(np.int64)
    by_person = np.argsort(e.person, kind="stable")
    by_project = np.argsort(e.project, kind="stable")
    plan = Plan(
        firm=firm,
        e=e,
        rc=rc,
        rng=rng,
        used=np.zeros(len(e), bool),
        day_key=uk,
        day_total=totals,
        day_used=np.zeros(len(uk), bool),
        added=[],
        added_keys=set(),
        pairs=set(),
        by_person=by_person,
        person_bounds=np.searchsorted(e.person[by_person], np.arange(len(firm.workers) + 1)),
        by_project=by_project,
        project_bounds=np.searchsorted(e.project[by_project], np.arange(len(firm.projects) + 1)),
    )
    # Pairs already worked on must not receive resource_not_assigned / missing_rate entries.
    plan.pairs = set(zip(e.person.tolist(), e.project.tolist(), strict=True))
    firm.ghost_projects = []
    harvest = e.src == act.HARVEST
    n_harvest = int(harvest.sum())

    _plant_over_daily_limit(plan, rates.count("over_daily_limit", len(uk)))
    _plant_unknown_project(plan, rates.count("unknown_project", len(e)))
    _plant_task_not_on_project(plan, rates.count("task_not_on_project", n_harvest))
    _plant_rate_mismatch(plan, rates.count("rate_mismatch", n_harvest))
    _plant_duplicates(plan, rates.count("duplicate_entry", len(e)))
    _plant_after_end(plan, "closed_project", rates.count("closed_project", len(e)), active=False)
    _plant_after_end(plan, "expired_contract", rates.count("expired_contract", len(e)), active=True)
    _plant_unassigned(
        plan, "resource_not_assigned", rates.count("resource_not_assigned", n_harvest)
    )
    _plant_unassigned(plan, "missing_rate", rates.count("missing_rate", len(e)))
    _plant_contract_defects(firm, rates, rng)

    firm.dup_pairs = []
    if plan.added:
        extra = pd.DataFrame(plan.added)
        m = len(extra)
        add = Entries(
            src=extra["src"].to_numpy(np.int8),
            person=extra["person"].to_numpy(np.int32),
            project=extra["project"].to_numpy(np.int32),
            task=extra["task"].to_numpy(np.int16),
            day=extra["day"].to_numpy(np.int32),
            hours_q=extra["hours_q"].to_numpy(np.int16),
            billable=extra["billable"].to_numpy(bool),
            note=extra["note"].to_numpy(np.int16),
            created=np.zeros(m, np.int64),
            rate=np.zeros(m, np.int32),
            psa_rate=np.zeros(m, np.int32),
            ghost_project=np.full(m, -1, np.int32),
            ghost_task=np.zeros(m, bool),
            ghost_user=extra["ghost_user"].to_numpy(bool),
            reason=extra["reason"].to_numpy(np.int8),
        )
        n0 = len(e)
        e = e.append(add)
        dups = extra["dup_of"].to_numpy()
        firm.dup_pairs = [(int(d), n0 + k) for k, d in enumerate(dups) if d >= 0]
    e.rate = act.resolve_rates(firm, e, rc)
    # The PSA carries the resolved rate, except where a rate_mismatch was planted.
    keep_psa = e.reason == CODE["rate_mismatch"]
    e.psa_rate = np.where(keep_psa, e.psa_rate, e.rate).astype(np.int32)
    return e


def plant_future_dated(firm: Firm, e: Entries, rates: DefectRates) -> None:
    """Give some clean Harvest entries a creation time before their work date."""
    rng = stream(firm.seed, "defects_future")
    cand = np.nonzero((e.reason == 0) & (e.src == act.HARVEST) & ~_in_pairs(firm, len(e)))[0]
    n = min(len(cand), rates.count("future_dated", int((e.src == act.HARVEST).sum())))
    pick = np.sort(rng.choice(cand, size=n, replace=False))
    ahead = rng.integers(1, 11, n)
    secs = rng.integers(9 * 3600, 18 * 3600, n)
    e.created[pick] = act.local_ts(firm, e.person[pick], e.day[pick] - ahead, secs)
    e.reason[pick] = CODE["future_dated"]
    # Duplicates copy their original's creation time plus a few minutes.
    for orig, dup in firm.dup_pairs:
        e.created[dup] = e.created[orig] + 60 + (dup % 540)


def _in_pairs(firm: Firm, n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    for orig, dup in firm.dup_pairs:
        mask[orig] = mask[dup] = True
    return mask


def _ensure_finished_projects(firm: Firm) -> None:
    """Make sure both kinds of finished client project exist (archived, and left open)."""
    p = firm.projects
    fin = p.index[(p["kind"] == "client") & (p["end_day"] < firm.end_day - 20)].tolist()
    if len(fin) < 2:
        raise ValueError("the firm is too small: fewer than two finished client projects")
    if not (~p.loc[fin, "is_active"]).any():
        p.loc[fin[0], "is_active"] = False
    if not p.loc[fin, "is_active"].any():
        p.loc[fin[-1], "is_active"] = True


def _clean(plan: Plan, mask: np.ndarray) -> np.ndarray:
    """Indices of entries that are still clean, unused, and not on an over-limit day."""
    e = plan.e
    keys = _key(e.person, e.day)
    pos = np.searchsorted(plan.day_key, keys)
    return np.nonzero(mask & (e.reason == 0) & ~plan.used & ~plan.day_used[pos])[0]


def _pick(plan: Plan, cand: np.ndarray, n: int) -> np.ndarray:
    n = min(n, len(cand))
    return np.sort(plan.rng.choice(cand, size=n, replace=False)) if n else cand[:0]


def _room(plan: Plan, person: int, day: int, q: int) -> bool:
    """True if ``person`` worked on ``day`` and adding ``q`` keeps the day within the limit."""
    k = _key(person, day)
    pos = int(np.searchsorted(plan.day_key, k))
    if pos >= len(plan.day_key) or plan.day_key[pos] != k or plan.day_used[pos]:
        return False
    return int(plan.day_total[pos]) + q <= DAILY_LIMIT_Q


def _add(
    plan: Plan, reason: str, person: int, project: int, task: int, day: int, q: int, **kw
) -> None:
    k = _key(person, day)
    pos = int(np.searchsorted(plan.day_key, k))
    plan.day_total[pos] += q
    plan.added_keys.add((person, project, task, day))
    p = plan.firm.projects
    lo, hi = act.NOTE_RANGES[task]
    billable = bool(p.at[project, "is_billable"]) and ref.TASKS[task][1] == "billable"
    plan.added.append(
        {
            "src": act.TOGGL if p.at[project, "psa"] == "toggl" else act.HARVEST,
            "person": person,
            "project": project,
            "task": task,
            "day": day,
            "hours_q": q,
            "billable": billable,
            "note": lo + (day % (hi - lo)),
            "ghost_user": kw.get("ghost_user", False),
            "reason": CODE[reason],
            "dup_of": kw.get("dup_of", -1),
        }
    )


def _plant_over_daily_limit(plan: Plan, n: int) -> None:
    e, firm = plan.e, plan.firm
    keys = _key(e.person, e.day)
    pos = np.searchsorted(plan.day_key, keys)
    # Days whose entries are all clean and whose total leaves room for a visible overrun.
    dirty = np.zeros(len(plan.day_key), bool)
    np.logical_or.at(dirty, pos, e.reason != 0)
    cand = np.nonzero(~dirty & (plan.day_total <= 40))[0]
    chosen = _pick(plan, cand, n)
    adm = {c: i for i, c in enumerate(firm.projects["project_code"]) if c.endswith("-ADM")}
    name_to_task = {name: t for t, (name, _) in enumerate(ref.TASKS)}
    options = [name_to_task[t] for t in ("Admin", "Bench", "Internal Meeting")]
    for d in chosen:
        person, day = int(plan.day_key[d] // 100_000), int(plan.day_key[d] % 100_000)
        le = ref.LEGAL_ENTITIES[int(firm.workers.at[person, "le"])]
        proj = adm[f"INT-{le.code}-ADM"]
        rows = plan.of_person(person)
        same = rows[e.day[rows] == day]
        taken = set(e.task[same[e.project[same] == proj]].tolist())
        task = next(t for t in options if t not in taken)
        q = DAILY_LIMIT_Q + 1 - int(plan.day_total[d]) + int(plan.rng.integers(0, 9))
        _add(plan, "over_daily_limit", person, proj, task, day, q)
        plan.day_used[d] = True
        e.reason[same] = CODE["over_daily_limit"]
        plan.used[same] = True


def _plant_unknown_project(plan: Plan, n: int) -> None:
    e, p = plan.e, plan.firm.projects
    client = (p["kind"] == "client").to_numpy()[e.project]
    for i in _pick(plan, _clean(plan, client), n):
        j = int(e.project[i])
        k = len(plan.firm.ghost_projects)
        plan.firm.ghost_projects.append(
            {
                "src": int(e.src[i]),
                "account": int(p.at[j, "account"]),
                "harvest_id": 39_500_000 + k * 7,
                "code": f"P-{90001 + k}",
                "name": f"{p.at[j, 'name']} (old)",
            }
        )
        e.ghost_project[i] = k
        e.reason[i] = CODE["unknown_project"]
        plan.used[i] = True


def _plant_task_not_on_project(plan: Plan, n: int) -> None:
    e, p = plan.e, plan.firm.projects
    mask = (e.src == act.HARVEST) & (p["kind"] == "client").to_numpy()[e.project]
    seen: set[tuple[int, int, int]] = set()
    for i in _pick(plan, _clean(plan, mask), n):
        j = int(e.project[i])
        if (int(e.person[i]), j, int(e.day[i])) in seen:
            continue
        seen.add((int(e.person[i]), j, int(e.day[i])))
        off = [t for t in ref.BILLABLE_TASKS if t not in p.at[j, "tasks"]]
        e.task[i] = off[int(e.day[i]) % len(off)]
        e.ghost_task[i] = True
        e.reason[i] = CODE["task_not_on_project"]
        plan.used[i] = True


def _plant_rate_mismatch(plan: Plan, n: int) -> None:
    e = plan.e
    mask = (e.src == act.HARVEST) & e.billable & (e.rate > 0)
    for i in _pick(plan, _clean(plan, mask), n):
        cut = plan.rng.uniform(0.8, 0.95)
        wrong = int(5 * round(e.rate[i] * cut / 5))
        e.psa_rate[i] = wrong if wrong != e.rate[i] else e.rate[i] - 5
        e.reason[i] = CODE["rate_mismatch"]
        plan.used[i] = True


def _plant_duplicates(plan: Plan, n: int) -> None:
    e = plan.e
    cand = _clean(plan, np.ones(len(e), bool))
    out = []
    for i in plan.rng.permutation(cand)[: 20 * n]:
        if len(out) >= n:
            break
        person, day, q = int(e.person[i]), int(e.day[i]), int(e.hours_q[i])
        if not _room(plan, person, day, q):
            continue
        _add(
            plan,
            "duplicate_entry",
            person,
            int(e.project[i]),
            int(e.task[i]),
            day,
            q,
            dup_of=int(i),
        )
        plan.added[-1]["note"] = int(e.note[i])
        plan.added[-1]["billable"] = bool(e.billable[i])
        plan.used[i] = True
        out.append(int(i))


def _plant_after_end(plan: Plan, reason: str, n: int, *, active: bool) -> None:
    """Add entries dated after the end of a finished client project (and its contract).

    On an archived project (closed_project) or one left active (expired_contract).
    """
    e, firm, p = plan.e, plan.firm, plan.firm.projects
    fin = p.index[
        (p["kind"] == "client") & (p["end_day"] < firm.end_day - 1) & (p["is_active"] == active)
    ].to_numpy()
    role = firm.workers["role"].to_numpy()
    default = p["default_rate"].fillna(0).to_numpy()
    placed = 0
    tries = 0
    while placed < n and tries < 50 * n:
        tries += 1
        j = int(plan.rng.choice(fin))
        people = np.unique(e.person[plan.of_project(j)])
        if not len(people):
            continue
        person = int(plan.rng.choice(people))
        if plan.rc.old[j, role[person]] == 0 and default[j] == 0:
            continue  # would also lack a rate
        mine = plan.of_person(person)
        days = e.day[mine[e.day[mine] > p.at[j, "end_day"]]]
        if not len(days):
            continue
        day = int(plan.rng.choice(days))
        q = int(plan.rng.integers(4, 17))
        tasks = [t for t in p.at[j, "tasks"] if t in ref.BILLABLE_TASKS]
        task = tasks[day % len(tasks)]
        if not _room(plan, person, day, q) or (person, j, task, day) in plan.added_keys:
            continue
        _add(plan, reason, person, j, task, day, q)
        placed += 1


def _plant_unassigned(plan: Plan, reason: str, n: int) -> None:
    """Add a worker's only entry on a project.

    Without a user assignment (resource_not_assigned), or with one but with a role the
    contract cannot price (missing_rate).
    """
    e, firm, p = plan.e, plan.firm, plan.firm.projects
    w = firm.workers
    role = w["role"].to_numpy()
    default = p["default_rate"].fillna(0).to_numpy()
    pool = (p["kind"] == "client") & (p["start_day"] < firm.end_day - 10)
    if reason == "resource_not_assigned":
        pool &= p["psa"] == "harvest"
    else:
        pool &= p["default_rate"].isna()
    projects = p.index[pool].to_numpy()
    placed = tries = 0
    while placed < n and tries < 50 * n:
        tries += 1
        j = int(plan.rng.choice(projects))
        le = int(p.at[j, "le"])
        people = w.index[w["le"] == le].to_numpy()
        person = int(plan.rng.choice(people))
        if (person, j) in plan.pairs:
            continue
        priced = plan.rc.old[j, role[person]] > 0 or default[j] > 0
        if priced != (reason == "resource_not_assigned"):
            continue
        lo, hi = int(p.at[j, "start_day"]), min(int(p.at[j, "end_day"]), firm.end_day)
        mine = plan.of_person(person)
        days = e.day[mine[(e.day[mine] >= lo) & (e.day[mine] <= hi)]]
        if not len(days):
            continue
        day = int(plan.rng.choice(days))
        q = int(plan.rng.integers(4, 17))
        tasks = [t for t in p.at[j, "tasks"] if t in ref.BILLABLE_TASKS]
        if not _room(plan, person, day, q):
            continue
        _add(
            plan, reason, person, j, tasks[0], day, q, ghost_user=reason == "resource_not_assigned"
        )
        plan.pairs.add((person, j))
        placed += 1


def _plant_contract_defects(firm: Firm, rates: DefectRates, rng: np.random.Generator) -> None:
    p = firm.projects
    currency = [
        ref.LEGAL_ENTITIES[le].currency if kind == "client" else None
        for le, kind in zip(p["le"], p["kind"], strict=True)
    ]
    p["contract_currency"] = currency
    p["contract_le_missing"] = False
    contracts = p.index[p["kind"] == "client"].to_numpy()
    n_cur = min(len(contracts) // 2, rates.count("currency_mismatch", len(contracts)))
    n_le = min(len(contracts) // 2, rates.count("missing_legal_entity", len(contracts)))
    chosen = rng.choice(contracts, size=n_cur + n_le, replace=False)
    for j in chosen[:n_cur]:
        own = p.at[j, "contract_currency"]
        p.at[j, "contract_currency"] = "USD" if own != "USD" else "EUR"
    for j in chosen[n_cur:]:
        p.at[j, "contract_le_missing"] = True


def contract_defects(firm: Firm) -> list[tuple[int, str]]:
    """(project index, reason) for every contract-level defect."""
    p = firm.projects
    out = []
    for j in p.index[p["kind"] == "client"]:
        if p.at[j, "contract_currency"] != ref.LEGAL_ENTITIES[p.at[j, "le"]].currency:
            out.append((int(j), "currency_mismatch"))
        if p.at[j, "contract_le_missing"]:
            out.append((int(j), "missing_legal_entity"))
    return out

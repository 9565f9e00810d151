"""Master data of the synthetic firm: workers, client accounts, projects and their contracts.

Everything is generated from named random streams (:func:`stream`), so adding a stream
never shifts the numbers another stream draws. Days are integers (days since 1970-01-01) and
timestamps integer seconds since the epoch (UTC).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ingest.generator import reference as ref

EPOCH = date(1970, 1, 1)
DAY = 86_400
NO_DAY = np.iinfo(np.int32).max  # "no date" (open end) in int day arrays


def stream(seed: int, name: str) -> np.random.Generator:
    """A random generator for one named purpose, independent of every other stream."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def to_day(d: date) -> int:
    """Date -> days since 1970-01-01."""
    return (d - EPOCH).days


def from_day(d: int) -> date:
    """Days since 1970-01-01 -> date."""
    return EPOCH + timedelta(days=int(d))


def largest_remainder(total: int, shares: list[float], minimum: int = 0) -> list[int]:
    """Split ``total`` into integer parts proportional to ``shares``, each at least ``minimum``."""
    n = len(shares)
    rest = max(0, total - minimum * n)
    raw = [s * rest / sum(shares) for s in shares]
    parts = [int(x) for x in raw]
    order = sorted(range(n), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


@dataclass
class Firm:
    """The generated master data, plus the history window."""

    seed: int
    scale: float
    as_of: date
    start: date  # first day of the 12-month history
    workers: pd.DataFrame
    accounts: pd.DataFrame
    projects: pd.DataFrame
    holidays: dict[str, set[int]] = field(default_factory=dict)  # region -> days
    holiday_rows: list[tuple[str, date, str]] = field(default_factory=list)
    ghost_projects: list[dict] = field(default_factory=list)  # deleted PSA projects
    dup_pairs: list[tuple[int, int]] = field(default_factory=list)  # (original, duplicate)
    contract_defects: list[tuple[int, str]] = field(default_factory=list)  # (project, reason)
    fixed_fee: dict[int, int] = field(default_factory=dict)  # project -> contract fee (units)
    retainer_fee: dict[int, int] = field(default_factory=dict)  # project -> monthly fee (units)

    @property
    def start_day(self) -> int:
        """First day of history as a day number."""
        return to_day(self.start)

    @property
    def end_day(self) -> int:
        """The as-of day as a day number."""
        return to_day(self.as_of)


def history_start(as_of: date) -> date:
    """First day of the 12 months ending at ``as_of`` (inclusive)."""
    try:
        return as_of.replace(year=as_of.year - 1) + timedelta(days=1)
    except ValueError:  # 29 February
        return date(as_of.year - 1, 3, 1)


def build_firm(seed: int, scale: float, as_of: date) -> Firm:
    """Generate workers, accounts and projects (with contract attributes) for one firm."""
    start = history_start(as_of)
    s_day, a_day = to_day(start), to_day(as_of)
    workers = _workers(seed, scale, s_day, a_day)
    accounts = _accounts(seed, scale, a_day)
    projects = _projects(seed, scale, s_day, a_day, accounts)
    holidays: dict[str, set[int]] = {r: set() for r in ref.REGIONS}
    rows = []
    for year in range(start.year - 1, as_of.year + 2):
        for region in ref.REGIONS:
            for d, name in ref.region_holidays(region, year):
                holidays[region].add(to_day(d))
                # The published calendar covers the history plus one quarter ahead.
                if start - timedelta(days=31) <= d <= as_of + timedelta(days=92):
                    rows.append((region, d, name))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return Firm(seed, scale, as_of, start, workers, accounts, projects, holidays, rows)


def _workers(seed: int, scale: float, s_day: int, a_day: int) -> pd.DataFrame:
    rng = stream(seed, "workers")
    n_initial = max(70, round(5000 * scale))
    n_hires = round(n_initial * 0.11)
    n = n_initial + n_hires
    le_counts = largest_remainder(n, [le.headcount_share for le in ref.LEGAL_ENTITIES], 6)
    le = np.repeat(np.arange(len(ref.LEGAL_ENTITIES)), le_counts)
    le = le[rng.permutation(n)]
    role = rng.choice(len(ref.ROLES), size=n, p=[r.share for r in ref.ROLES])
    practice = rng.integers(0, len(ref.PRACTICES), size=n)
    is_hire = np.zeros(n, bool)
    is_hire[rng.choice(n, size=n_hires, replace=False)] = True
    # Hires are mostly junior.
    role[is_hire] = rng.choice(4, size=int(is_hire.sum()), p=[0.4, 0.3, 0.2, 0.1])
    hire = np.where(
        is_hire,
        rng.integers(s_day + 10, a_day - 20, size=n),
        s_day - rng.integers(30, 4000, size=n),
    )
    leaves = np.where(is_hire, rng.random(n) < 0.05, rng.random(n) < 0.12)
    term_lo = np.maximum(hire + 60, s_day + 20)
    term = np.where(
        leaves & (term_lo < a_day - 10),
        term_lo + (rng.random(n) * np.maximum(1, a_day - 10 - term_lo)).astype(np.int64),
        NO_DAY,
    )
    # Part-time patterns: 0 full time, 1: 4 days x 8h (32), 2: 3 days x 8h (24), 3: 5 x 4h (20)
    pattern = np.where(rng.random(n) < 0.13, rng.integers(1, 4, size=n), 0)
    first = rng.integers(0, len(ref.FIRST_NAMES), size=n)
    last = rng.integers(0, len(ref.LAST_NAMES), size=n)
    cost_noise = rng.uniform(0.9, 1.1, size=n)
    daily_logger = rng.random(n) < 0.4
    alias = rng.random(n) < 0.03
    rows = []
    seen: dict[str, int] = {}
    harvest_seq = 0
    for i in range(n):
        ent = ref.LEGAL_ENTITIES[le[i]]
        fn, ln = ref.FIRST_NAMES[first[i]], ref.LAST_NAMES[last[i]]
        local = f"{fn}.{ln}".lower()
        k = seen.get(local + ent.email_domain, 0) + 1
        seen[local + ent.email_domain] = k
        email = f"{local}{k if k > 1 else ''}@{ent.email_domain}"
        weekly = 37.5 if ent.code == "GB01" else 40.0
        weekly = (weekly, 32.0, 24.0, 20.0)[pattern[i]]
        cost = round(
            ref.ROLES[role[i]].cost_rate_usd * ref.CURRENCIES[ent.currency] * cost_noise[i]
        )
        harvest_id = None
        if ent.psa == "harvest":
            harvest_id = 4_100_000 + harvest_seq * 3
            harvest_seq += 1
        rows.append(
            {
                "employee_id": f"E{100001 + i}",
                "first_name": fn,
                "last_name": ln,
                "email": email,
                "le": int(le[i]),
                "role": int(role[i]),
                "practice": int(practice[i]),
                "weekly_capacity": weekly,
                "pattern": int(pattern[i]),
                "hire_day": int(hire[i]),
                "term_day": int(term[i]),
                "cost_rate": int(cost),
                "daily_logger": bool(daily_logger[i]),
                "harvest_user_id": harvest_id,
                # A few Harvest users were created with a legacy alias address: matched to HR
                # only through the maintained identity mapping.
                "psa_email": (
                    f"{fn[0]}{ln}@legacy-{ent.email_domain}".lower()
                    if alias[i] and ent.psa == "harvest"
                    else email
                ),
            }
        )
    df = pd.DataFrame(rows)
    df["harvest_user_id"] = df["harvest_user_id"].astype("Int64")
    return df


def _accounts(seed: int, scale: float, a_day: int) -> pd.DataFrame:
    rng = stream(seed, "accounts")
    n = max(2 * len(ref.LEGAL_ENTITIES), round(800 * scale))
    le_counts = largest_remainder(n, [le.headcount_share for le in ref.LEGAL_ENTITIES], 2)
    le = np.repeat(np.arange(len(ref.LEGAL_ENTITIES)), le_counts)
    combos = len(ref.CLIENT_WORDS_A) * len(ref.CLIENT_WORDS_B)
    pick = rng.choice(combos, size=n, replace=combos < n)
    rows = []
    used: set[str] = set()
    for i in range(n):
        ent = ref.LEGAL_ENTITIES[le[i]]
        r = rng.random()
        if r < 0.7:
            country = ent.country
        elif r < 0.93:
            country = str(rng.choice(ref.REGION_COUNTRIES[ent.region]))
        else:
            other = [c for c in ref.COUNTRIES if c not in ref.REGION_COUNTRIES[ent.region]]
            country = str(rng.choice(other))
        a, b = divmod(int(pick[i]), len(ref.CLIENT_WORDS_B))
        base = f"{ref.CLIENT_WORDS_A[a]} {ref.CLIENT_WORDS_B[b]}"
        name = f"{base} {ref.COMPANY_SUFFIX[country]}"
        k = 2
        while name in used:
            name = f"{base} {k} {ref.COMPANY_SUFFIX[country]}"
            k += 1
        used.add(name)
        rows.append(
            {
                "account_id": ref.sf_id("001", 7000 + i * 7),
                "name": name,
                "le": int(le[i]),
                "country": country,
                "city": str(rng.choice(ref.CITIES[country])),
                "industry": str(rng.choice(ref.INDUSTRIES)),
                "currency": ent.currency,
                "discount": float(rng.uniform(0.85, 1.05)),
                "created_day": int(a_day - rng.integers(400, 3000)),
                # Legacy ERP customers predate the CRM sync: no external id, mapped in MDM.
                "erp_has_external_id": bool(rng.random() >= 0.1),
                "erp_customer_id": 20_000 + i * 3,
                # Some Concur allocation lists still carry the legacy client code.
                "legacy_code": f"CL-{40_000 + i * 7}",
                "concur_uses_legacy_code": bool(rng.random() < 0.1),
                "harvest_client_id": 11_200_000 + i * 5 if ent.psa == "harvest" else None,
                "toggl_client_id": 61_000_000 + i * 11 if ent.psa == "toggl" else None,
            }
        )
    df = pd.DataFrame(rows)
    # Every firm has at least one account needing each kind of maintained mapping.
    if df["erp_has_external_id"].all():
        df.loc[len(df) - 1, "erp_has_external_id"] = False
    if not df["concur_uses_legacy_code"].any():
        df.loc[0, "concur_uses_legacy_code"] = True
    for col in ("harvest_client_id", "toggl_client_id"):
        df[col] = df[col].astype("Int64")
    return df


def _projects(
    seed: int, scale: float, s_day: int, a_day: int, accounts: pd.DataFrame
) -> pd.DataFrame:
    rng = stream(seed, "projects")
    n_les = len(ref.LEGAL_ENTITIES)
    n_internal = n_les * len(ref.INTERNAL_PROJECTS)
    n_client = max(5 * n_les, round(3000 * scale) - n_internal)
    le_counts = largest_remainder(n_client, [le.headcount_share for le in ref.LEGAL_ENTITIES], 4)
    rows = []
    seq = 0
    names_used: set[tuple[int, str]] = set()
    for le_i, count in enumerate(le_counts):
        ent = ref.LEGAL_ENTITIES[le_i]
        accs = accounts.index[accounts["le"] == le_i].to_numpy()
        # Every client gets a project; the rest go to clients with Zipf-like weights.
        w = 1.0 / np.arange(1, len(accs) + 1) ** 0.8
        owners = np.concatenate(
            [accs, rng.choice(accs, size=max(0, count - len(accs)), p=w / w.sum())]
        )[:count]
        # Spread project windows so every month has projects running; some finish before
        # the as-of date (archived or left open), some run past it.
        starts = rng.integers(s_day - 240, a_day - 25, size=count)
        durations = np.clip(rng.lognormal(np.log(170), 0.5, size=count), 45, 540).astype(int)
        ends = starts + durations
        too_early = ends < s_day + 30
        ends[too_early] = s_day + 30 + rng.integers(0, 90, size=int(too_early.sum()))
        for j in range(count):
            acc = int(owners[j])
            kind = str(rng.choice(ref.PROJECT_KINDS))
            # Project names are unique per client (Toggl joins entries to projects by name).
            phase = 1
            while (acc, kind if phase == 1 else f"{kind} - Phase {phase}") in names_used:
                phase += 1
            kind = kind if phase == 1 else f"{kind} - Phase {phase}"
            names_used.add((acc, kind))
            billable = rng.random() >= 0.08  # pre-sales / proposal work is non-billable
            method = str(rng.choice(ref.BILLING_METHODS, p=ref.BILLING_METHOD_WEIGHTS))
            finished = ends[j] < a_day
            active = (not finished) or rng.random() < 0.3
            has_default_rate = billable and rng.random() < 0.4
            disc = accounts.at[acc, "discount"]
            default_rate = (
                int(5 * round(300 * ref.CURRENCIES[ent.currency] * disc / 5))
                if has_default_rate
                else None
            )
            rows.append(
                {
                    "project_code": f"P-{10001 + seq}",
                    "name": f"{kind}" if billable else f"{kind} - Proposal",
                    "account": acc,
                    "le": le_i,
                    "kind": "client" if billable else "presales",
                    "is_billable": bool(billable),
                    "practice": int(rng.integers(0, len(ref.PRACTICES))),
                    "start_day": int(starts[j]) if billable else int(max(starts[j], s_day)),
                    "end_day": int(ends[j]) if billable else int(max(starts[j], s_day) + 45),
                    "is_active": bool(active) if billable else bool(ends[j] >= a_day),
                    "billing_method": method if billable else None,
                    "default_rate": default_rate,
                    "payment_terms": str(rng.choice(ref.PAYMENT_TERMS)),
                    "psa": ent.psa,
                    # A few PSA projects were set up without the project code: matched to
                    # their contract only through the maintained identity mapping.
                    "code_missing_in_psa": bool(billable and rng.random() < 0.05),
                    "n_tasks": int(rng.integers(4, 7)),
                    "task_seed": int(rng.integers(0, 2**31)),
                }
            )
            seq += 1
    for le_i, ent in enumerate(ref.LEGAL_ENTITIES):
        for suffix, name, _tasks in ref.INTERNAL_PROJECTS:
            rows.append(
                {
                    "project_code": f"INT-{ent.code}-{suffix}",
                    "name": name,
                    "account": -1,
                    "le": le_i,
                    "kind": "internal",
                    "is_billable": False,
                    "practice": -1,
                    "start_day": s_day - 400,
                    "end_day": NO_DAY,
                    "is_active": True,
                    "billing_method": None,
                    "default_rate": None,
                    "payment_terms": None,
                    "psa": ent.psa,
                    "code_missing_in_psa": False,
                    "n_tasks": 0,
                    "task_seed": 0,
                }
            )
    df = pd.DataFrame(rows)
    df["default_rate"] = df["default_rate"].astype("Int64")
    df["harvest_project_id"] = pd.array(
        [31_000_000 + i * 3 if p == "harvest" else None for i, p in enumerate(df["psa"])],
        dtype="Int64",
    )
    df["toggl_project_id"] = pd.array(
        [190_000_000 + i * 17 if p == "toggl" else None for i, p in enumerate(df["psa"])],
        dtype="Int64",
    )
    # Project tasks: billable ones drawn per project, plus travel and internal meetings.
    tasks = []
    for row in df.itertuples():
        if row.kind == "internal":
            names = next(t for s, _, t in ref.INTERNAL_PROJECTS if row.project_code.endswith(s))
            ids = [i for i, (n, _) in enumerate(ref.TASKS) if n in names]
        else:
            r = np.random.default_rng(row.task_seed)
            ids = sorted(r.choice(ref.BILLABLE_TASKS, size=row.n_tasks, replace=False).tolist())
            ids += list(ref.CLIENT_NONBILLABLE_TASKS)
        tasks.append(tuple(int(t) for t in ids))
    df["tasks"] = tasks
    return df

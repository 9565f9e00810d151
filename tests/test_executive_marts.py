"""The executive marts (issue 6) recomputed from the landing files.

The generator writes no ground truth for utilization, timesheet compliance, realization or
margin, so every figure is recomputed here from the landing zone alone, with the independent
readers of ``tests/generator/landing_reader.py`` (HR workers and holidays, every exported
version of the Harvest and Toggl time entries, Salesforce contracts and rate cards, ERP
invoices, invoice lines and FX rates, Concur SAE), following the definitions of
docs/model.md "Executive", and compared exactly with the marts:

* ``utilization_monthly``: capacity days and hours, billable and logged hours per resource
  and month, and specifically for a part-timer, a hire and a leaver;
* ``timesheet_compliance_monthly``: due, on-time, late and missing days per resource and
  month (deadline: end of the Monday after the work week, UTC);
* ``project_financials_monthly``: hours per project, month and the workers' practice,
  region and legal entity; invoiced value per project and month (the pro-rata split of
  each ERP line); realization per contract from the legacy invoice lines; labour and
  expense cost in the contract and the reporting currency; recognized revenue of the
  time-and-materials contracts (their approved billable work at the resolved rate, in its
  work month, converted at the month's last rate) and margin = that - cost;
* ``executive_kpis_monthly``: the firm's monthly ratios from the recomputed totals, billing
  by release month from the ERP export.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from pathlib import Path

import pytest

from tests.generator.landing_reader import (
    Landing,
    load,
    read_csv_rows,
    read_entity,
    resolved_rates,
    validate,
)
from tests.pipeline_runs import PipelineRun, dbt_check_failures, query, read_truth

CENT = Decimal("0.01")
CROSS_RATE_PLACES = Decimal("1e-10")
REPORTING_CURRENCY = "USD"
EXECUTIVE_MARTS = (
    "utilization_monthly",
    "timesheet_compliance_monthly",
    "project_financials_monthly",
    "executive_kpis_monthly",
)

Key = tuple  # a mart row's key, as recomputed


# --- reading the landing zone -------------------------------------------------------------


def money(amount: Decimal) -> Decimal:
    """To cents, half-up (the warehouse's `money` macro)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_utc(text: str) -> datetime:
    """An ISO timestamp of the exports (``…Z``) as a naive UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def correlation_id(system: str, kind: str, source_id: str) -> str:
    """docs/design.md §3's correlation id: md5 of system, record kind and id joined by '|'."""
    return hashlib.md5(f"{system}|{kind}|{source_id}".encode()).hexdigest()


def first_submissions(landing: Path, skip: set[str]) -> dict[tuple[str, str], datetime]:
    """Per time entry, its earliest submission over every exported version."""
    first: dict[tuple[str, str], datetime] = {}

    def seen(key: tuple[str, str], stamp: str | None) -> None:
        if stamp:
            at = parse_utc(stamp)
            first[key] = min(first.get(key, at), at)

    for f in sorted((landing / "harvest" / "time_entries").glob("*.json")):
        if f.relative_to(landing).as_posix() not in skip:
            for t in json.loads(f.read_text(encoding="utf-8"))["time_entries"]:
                seen(("harvest", str(t["id"])), t["submitted_at"])
    for f in sorted((landing / "toggl" / "time_entries").glob("*.csv")):
        for r in read_csv_rows(f):
            seen(("toggl", r["Time entry ID"]), r["Submitted at"])
    return first


class FxRates:
    """USD per unit per day from erp/fx_rates, the last published rate carried over gaps."""

    def __init__(self, landing: Path, skip: set[str]) -> None:
        published: dict[str, dict[date, Decimal]] = defaultdict(dict)
        for r in read_entity(landing, "erp", "fx_rates", skip).itertuples():
            published[r.transaction_currency][date.fromisoformat(r.effective_date)] = Decimal(
                r.exchange_rate
            )
        self.daily: dict[tuple[str, date], Decimal] = {}
        for currency, rates in published.items():
            day, last, rate = min(rates), max(rates), None
            while day <= last:
                rate = rates.get(day, rate)
                self.daily[(currency, day)] = rate
                day += timedelta(days=1)
        self.last = {currency: max(rates) for currency, rates in published.items()}

    def usd_per_unit(self, currency: str, day: date) -> Decimal:
        if currency == REPORTING_CURRENCY:
            return Decimal(1)
        return self.daily[(currency, min(day, self.last[currency]))]

    def convert(self, amount: Decimal, source: str, target: str, day: date) -> Decimal:
        """Amount x cross rate fixed to 10 decimals, to cents (the `convert_money` macro)."""
        cross = (self.usd_per_unit(source, day) / self.usd_per_unit(target, day)).quantize(
            CROSS_RATE_PLACES, rounding=ROUND_HALF_UP
        )
        return money(amount * cross)


@dataclass
class Firm:
    """A generated firm as read back from its landing zone, with what the rules derive."""

    data: Landing
    as_of: date
    workers: dict[str, dict[str, str]]
    holidays: dict[str, set[date]]
    first_submitted: dict[tuple[str, str], datetime]
    excepted: set[tuple[str, str]]  # time entries with a record-level exception
    rates: dict[tuple[str, str], Decimal | None]  # resolved bill rate per entry
    fx: FxRates
    project_ids: dict[tuple[str, str], str]  # (PSA, project reference) -> PSA project id
    project_currency: dict[tuple[str, str], str]  # (PSA, project id) -> contract currency
    project_by_code: dict[str, tuple[str, str]]  # canonical project code -> (PSA, id)
    contract_of_project: dict[tuple[str, str], str]
    contract_terms: dict[str, tuple[str, str]]  # contract Id -> (billing method, currency)

    @property
    def as_of_end(self) -> datetime:
        return datetime.combine(self.as_of + timedelta(days=1), time())

    @cached_property
    def history_start(self) -> date:
        """The first work date of the firm's time history: capacity counts from it."""
        return min(date.fromisoformat(d) for d in self.data.entries["spent_date"])

    def entries(self):
        """The latest version of every entry, as named tuples."""
        return self.data.entries.itertuples()

    def is_billable(self, e) -> bool:
        """docs/design.md §4's billable hour: approved by the as-of date, billable flag, valid."""
        return (
            e.status == "approved"
            and parse_utc(e.approved_at) < self.as_of_end
            and bool(e.billable)
            and (e.source, e.id) not in self.excepted
        )

    def project_key(self, e) -> tuple[str, str]:
        """(PSA, project id); a project missing from the export keeps its reference."""
        return e.source, self.project_ids.get((e.source, e.project_key), e.project_key)

    def currency_of(self, e) -> str | None:
        """Contract currency of the entry's project; else its worker's entity currency."""
        worker = self.workers.get(e.employee_id, {})
        return self.project_currency.get(self.project_key(e)) or worker.get("cost_rate_currency")

    def worker_cut(self, employee_id: str | None) -> tuple[str | None, ...]:
        """Practice, region and legal entity of a worker (none for an unmatched one)."""
        w = self.workers.get(employee_id, {})
        return w.get("practice"), w.get("region"), w.get("legal_entity")


def read_firm(run: PipelineRun) -> Firm:
    skip = {
        r["path"]
        for r in read_truth(run.truth_dir, "defects_files.csv")
        if r["kind"] in ("malformed", "duplicate")
    }
    landing = Path(run.landing)
    data = load(landing, skip)
    holidays: dict[str, set[date]] = defaultdict(set)
    for r in read_entity(landing, "hris", "holidays", skip).itertuples():
        holidays[r.region].add(date.fromisoformat(r.holiday_date))
    excepted = {(s, i) for s, entity, i, _ in validate(data) if entity == "time_entries"}
    rates = dict(
        zip(
            zip(data.entries["source"], data.entries["id"], strict=True),
            resolved_rates(data),
            strict=True,
        )
    )

    toggl_projects = json.loads(
        next((landing / "toggl" / "projects").glob("*.json")).read_text(encoding="utf-8")
    )
    project_ids = {("toggl", p["name"]): str(p["id"]) for p in toggl_projects}
    contracts = {c.Id: c for c in data.contracts.itertuples()}
    project_currency, project_by_code, contract_of_project = {}, {}, {}
    for p in data.projects.itertuples():
        key = (p.source, project_ids.get((p.source, p.key), p.key))
        contract = contracts.get(p.contract_id) if isinstance(p.contract_id, str) else None
        project_currency[key] = contract.CurrencyIsoCode if contract else p.currency
        # a project set up without a code is known by its contract's
        code = p.code if isinstance(p.code, str) else None
        code = code or (contract.PSA_Project_Code__c if contract else None)
        if code:
            project_by_code[code] = key
        if contract:
            contract_of_project[key] = contract.Id
    return Firm(
        data=data,
        as_of=run.as_of,
        workers={w["employee_id"]: w for w in data.workers.to_dict("records")},
        holidays=holidays,
        first_submitted=first_submissions(landing, skip),
        excepted=excepted,
        rates=rates,
        fx=FxRates(landing, skip),
        project_ids=project_ids,
        project_currency=project_currency,
        project_by_code=project_by_code,
        contract_of_project=contract_of_project,
        contract_terms={
            c.Id: (c.Billing_Method__c, c.CurrencyIsoCode)
            for c in data.contracts.itertuples()
            if str(c.IsDeleted).lower() != "true"
        },
    )


# --- the definitions, recomputed ----------------------------------------------------------


def employment(firm: Firm, w: dict[str, str]) -> tuple[date, date]:
    """First and last day the worker counts: employed, in the history, by the as-of date."""
    hire = date.fromisoformat(w["hire_date"])
    end = date.fromisoformat(w["termination_date"]) if w["termination_date"] else firm.as_of
    return max(hire, firm.history_start), min(end, firm.as_of)


def capacity_days(firm: Firm) -> dict[str, list[date]]:
    """Per worker, the Monday-Friday days, not a holiday of their region, they count."""
    days = {}
    for emp, w in firm.workers.items():
        first, last = employment(firm, w)
        span = (first + timedelta(days=n) for n in range((last - first).days + 1))
        days[emp] = [d for d in span if d.weekday() < 5 and d not in firm.holidays[w["region"]]]
    return days


def expected_utilization(firm: Firm) -> dict[Key, tuple[int, Decimal, Decimal, Decimal]]:
    """(employee, month) -> capacity days, capacity hours, billable hours, logged hours."""
    rows: dict[Key, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    month = firm.history_start.replace(day=1)
    while month <= firm.as_of:
        next_month = (month + timedelta(days=32)).replace(day=1)
        for emp, w in firm.workers.items():
            first, last = employment(firm, w)
            month_end = min(next_month - timedelta(days=1), firm.as_of)
            if first <= last and first <= month_end and last >= month:
                rows[(emp, month)]  # employed on a day of the month: a row, maybe empty
        month = next_month
    for emp, days in capacity_days(firm).items():
        daily = Decimal(firm.workers[emp]["weekly_capacity_hours"]) / 5
        for d in days:
            rows[(emp, month_of(d))][0] += 1
            rows[(emp, month_of(d))][1] += daily
    for e in firm.entries():
        if not isinstance(e.employee_id, str):
            continue
        key = (e.employee_id, month_of(date.fromisoformat(e.spent_date)))
        rows[key][3] += e.hours
        if firm.is_billable(e):
            rows[key][2] += e.hours
    return {k: tuple(v) for k, v in rows.items()}


def expected_compliance(firm: Firm) -> dict[Key, tuple[int, int, int, int, int]]:
    """(employee, month) -> capacity, due, on-time, late and missing days."""
    submitted: dict[tuple[str, date], datetime] = {}
    for e in firm.entries():
        at = firm.first_submitted.get((e.source, e.id))
        if isinstance(e.employee_id, str) and at is not None and at < firm.as_of_end:
            key = (e.employee_id, date.fromisoformat(e.spent_date))
            submitted[key] = min(submitted.get(key, at), at)
    rows: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for emp, days in capacity_days(firm).items():
        for d in days:
            row = rows[(emp, month_of(d))]
            row[0] += 1
            # the deadline: end of the Monday after the day's Monday-Sunday week
            next_monday = d + timedelta(days=7 - d.weekday())
            deadline = datetime.combine(next_monday + timedelta(days=1), time())
            if deadline > firm.as_of_end:
                continue
            row[1] += 1
            at = submitted.get((emp, d))
            row[2 if at is not None and at < deadline else 3 if at is not None else 4] += 1
    return {k: tuple(v) for k, v in rows.items()}


def released_labour_lines(firm: Firm) -> list[tuple[str, Decimal, list[tuple[str, str]]]]:
    """(contract Id, amount, billed entries) of every labour line released by the as-of
    date."""
    invoices = firm.data.invoices
    assert invoices["internal_id"].is_unique
    released = {
        r.internal_id: r.custbody_sf_contract_id
        for r in invoices.itertuples()
        if r.released_date and date.fromisoformat(r.released_date) <= firm.as_of
    }
    lines = []
    for r in firm.data.invoice_lines.itertuples():
        if r.custcol_line_kind == "labour" and r.invoice_internal_id in released:
            refs = [tuple(x.split(":", 1)) for x in r.custcol_psa_source_ids.split(";") if x]
            lines.append((released[r.invoice_internal_id], Decimal(r.amount), refs))
    return lines


def value_at_resolved_rate(firm: Firm, e) -> Decimal:
    """hours x resolved bill rate of a billable entry, to cents (its billable amount)."""
    rate = firm.rates[(e.source, e.id)]
    return money(e.hours * rate) if e.billable and rate is not None else Decimal(0)


def contract_of(firm: Firm, e) -> str | None:
    """The contract Id of the entry's project (none without contract)."""
    return firm.contract_of_project.get(firm.project_key(e))


def is_time_and_materials(firm: Firm, e) -> bool:
    terms = firm.contract_terms.get(contract_of(firm, e))
    return terms is not None and terms[0] == "time_and_materials"


def expected_tm_recognized(firm: Firm) -> dict[tuple[str, date], tuple[Decimal, Decimal]]:
    """(T&M contract Id, work month) -> recognized revenue in the contract and the reporting
    currency: Σ approved billable work at the resolved rate, converted at the month's last
    day's rate (the as-of date's in the as-of month)."""
    work: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for e in firm.entries():
        if is_time_and_materials(firm, e) and firm.is_billable(e):
            work[(contract_of(firm, e), month_of(date.fromisoformat(e.spent_date)))] += (
                value_at_resolved_rate(firm, e)
            )
    return {
        (contract, month): (
            value,
            firm.fx.convert(
                value,
                firm.contract_terms[contract][1],
                REPORTING_CURRENCY,
                min(month_end(month), firm.as_of),
            ),
        )
        for (contract, month), value in work.items()
        if value != 0
    }


def expected_financials(firm: Firm) -> dict[Key, dict[str, Decimal]]:
    """(PSA, project id, month, practice, region, legal entity) -> hours, invoiced value,
    labour and expense cost in the contract and the reporting currency."""
    entries = {(e.source, e.id): e for e in firm.entries()}
    rows: dict[Key, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def row_of(e) -> dict[str, Decimal]:
        day = date.fromisoformat(e.spent_date)
        return rows[(*firm.project_key(e), month_of(day), *firm.worker_cut(e.employee_id))]

    for e in entries.values():
        day = date.fromisoformat(e.spent_date)
        row = row_of(e)
        row["hours"] += e.hours
        # a time-and-materials contract recognizes its approved billable work at the
        # resolved rate in the work month; the generator sets no not-to-exceed cap and gives
        # every contract one project, so the contract's month splits over its rows by value
        # exactly: each row recognizes its own work
        if is_time_and_materials(firm, e) and firm.is_billable(e):
            row["recognized_revenue"] += value_at_resolved_rate(firm, e)
        w = firm.workers.get(e.employee_id)
        if w is None:
            continue  # no cost rate without the HR worker
        local = money(e.hours * Decimal(w["cost_rate"]))
        ccy = w["cost_rate_currency"]
        row["labour_cost"] += firm.fx.convert(local, ccy, firm.currency_of(e), day)
        row["labour_cost_reporting"] += firm.fx.convert(local, ccy, REPORTING_CURRENCY, day)

    # each line's amount over its entries pro rata to their value at the resolved rate
    # (hours when none has a value), floors in cents, the cents left to the largest
    # fractions, ties to the lowest correlation id
    for _, amount, refs in released_labour_lines(firm):
        billed = [entries[ref] for ref in refs]
        values = [int(value_at_resolved_rate(firm, e) * 100) for e in billed]
        weights = values if sum(values) > 0 else [int(e.hours * 10000) for e in billed]
        cents, total = int(amount * 100), sum(weights)
        floors = [cents * w // total for w in weights]
        ids = [correlation_id(system, "time_entry", source_id) for system, source_id in refs]
        order = sorted(range(len(billed)), key=lambda i: (-(cents * weights[i] % total), ids[i]))
        for i in order[: cents - sum(floors)]:
            floors[i] += 1
        for e, share in zip(billed, floors, strict=True):
            row_of(e)["invoiced_value"] += Decimal(share) / 100

    for x in firm.data.expenses.to_dict("records"):
        # the allocation's project, else the entry's (SAE fields 192 and 92)
        code = x["allocation_project"] or x["report_entry_project"]
        project = firm.project_by_code.get(code)
        # non-reimbursable cost: not rebilled, and never the employee's own (personal) lines
        if x["report_entry_is_billable"] != "N" or x["report_entry_is_personal"] == "Y":
            continue
        if project is None:
            continue
        day = date.fromisoformat(x["report_entry_transaction_date"])
        posted = Decimal(x["report_entry_posted_amount"])
        spent_in = x["reimbursement_currency"]
        row = rows[(*project, month_of(day), *firm.worker_cut(x["employee_id"]))]
        row["expense_cost"] += firm.fx.convert(
            posted, spent_in, firm.project_currency[project], day
        )
        row["expense_cost_reporting"] += firm.fx.convert(posted, spent_in, "USD", day)
    return rows


# --- comparing ----------------------------------------------------------------------------


def mart_utilization(run: PipelineRun) -> dict[Key, tuple]:
    rows = query(
        run.warehouse,
        "SELECT employee_id, month_start_date, capacity_days, capacity_hours, billable_hours, "
        "logged_hours FROM marts.utilization_monthly",
    )
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def assert_utilization_matches(run: PipelineRun, firm: Firm) -> None:
    expected, got = expected_utilization(firm), mart_utilization(run)
    assert expected and set(got) == set(expected), set(got) ^ set(expected)
    differing = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
    assert not differing, list(differing.items())[:5]


def assert_compliance_matches(run: PipelineRun, firm: Firm) -> None:
    rows = query(
        run.warehouse,
        "SELECT employee_id, month_start_date, capacity_days, due_days, on_time_days, "
        "late_days, missing_days FROM marts.timesheet_compliance_monthly",
    )
    got = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    expected = expected_compliance(firm)
    # a row without capacity (time logged outside employment) is all zeros
    assert set(expected) <= set(got)
    assert all(v == (0, 0, 0, 0, 0) for k, v in got.items() if k not in expected)
    differing = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
    assert not differing, list(differing.items())[:5]
    on_time = sum(v[2] for v in expected.values())
    assert 0 < on_time < sum(v[1] for v in expected.values()), "no late or missing days"


def assert_realization_matches(run: PipelineRun, firm: Firm) -> None:
    """Per contract: Σ released labour line amounts and Σ (hours x resolved rate) of the
    entries they bill, straight from the ERP export."""
    entries = {(e.source, e.id): e for e in firm.entries()}
    invoiced: dict[str, Decimal] = defaultdict(Decimal)
    at_resolved: dict[str, Decimal] = defaultdict(Decimal)
    for contract, amount, refs in released_labour_lines(firm):
        invoiced[contract] += amount
        for ref in refs:
            at_resolved[contract] += value_at_resolved_rate(firm, entries[ref])
    rows = query(
        run.warehouse,
        "SELECT contract_source_id, sum(invoiced_value), sum(invoiced_value_at_resolved_rate), "
        "max(billing_method) FROM marts.project_financials_monthly "
        "WHERE invoiced_hours > 0 GROUP BY contract_source_id",
    )
    got = {r[0]: (r[1], r[2]) for r in rows}
    assert invoiced and set(got) == set(invoiced)
    for contract, (value, resolved) in got.items():
        assert (value, resolved) == (invoiced[contract], at_resolved[contract]), contract
    method = {r[0]: r[3] for r in rows}
    realization = {c: invoiced[c] / at_resolved[c] for c in invoiced}
    # T&M lines bill hours x resolved rate; agreed amounts (fixed fee, ...) do not
    assert all(realization[c] == 1 for c in realization if method[c] == "time_and_materials")
    assert any(realization[c] != 1 for c in realization if method[c] != "time_and_materials")


def assert_financials_match(run: PipelineRun, firm: Firm) -> None:
    measures = (
        "hours",
        "invoiced_value",
        "labour_cost",
        "labour_cost_reporting",
        "expense_cost",
        "expense_cost_reporting",
    )
    rows = query(
        run.warehouse,
        "SELECT source_system, project_source_id, month_start_date, practice, region, "
        f"legal_entity, {', '.join(measures)}, billing_method, contract_source_id, "
        "recognized_revenue, recognized_revenue_reporting, total_cost, margin "
        "FROM marts.project_financials_monthly",
    )
    got = {tuple(r[:6]): r[6:] for r in rows}
    expected = expected_financials(firm)
    # beyond the rows of work and spend: a month a fixed fee or retainer recognizes revenue
    # without work on the project (a retainer's fee), on a row of no worker
    extra = {k: r for k, r in got.items() if k not in expected}
    assert set(expected) <= set(got), set(expected) - set(got)
    assert all(
        k[3:] == (None, None, None)
        and r[: len(measures)] == (0,) * len(measures)
        and r[len(measures)] != "time_and_materials"
        and r[len(measures) + 2] != 0
        for k, r in extra.items()
    ), list(extra.items())[:3]
    differing = {
        k: (got[k], dict(v))
        for k, v in expected.items()
        if tuple(got[k][: len(measures)]) != tuple(v[m] for m in measures)
    }
    assert not differing, list(differing.items())[:3]

    # recognized revenue of T&M work, per row: its work at the resolved rate
    tm = {k: r for k, r in got.items() if r[len(measures)] == "time_and_materials"}
    assert len(tm) > 100
    wrong = {
        k: (r[len(measures) + 2], expected[k]["recognized_revenue"])
        for k, r in tm.items()
        if r[len(measures) + 2] != expected[k]["recognized_revenue"]
    }
    assert not wrong, list(wrong.items())[:3]
    # ... per contract and month in the reporting currency (the split adds up to it)
    reporting: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for k, r in tm.items():
        reporting[(r[len(measures) + 1], k[2])] += r[len(measures) + 3]
    truth = expected_tm_recognized(firm)
    assert {k: v for k, v in reporting.items() if v} == {k: v[1] for k, v in truth.items()}

    # margin = recognized revenue - (labour cost + non-reimbursable expenses), per row; per
    # T&M project from the recomputed figures alone
    assert all(
        r[-1]
        == r[len(measures) + 2]
        - expected.get(k, {}).get("labour_cost", 0)
        - expected.get(k, {}).get("expense_cost", 0)
        for k, r in got.items()
    )
    margin: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    got_margin: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for k, r in tm.items():
        v = expected[k]
        margin[k[:2]] += v["recognized_revenue"] - v["labour_cost"] - v["expense_cost"]
        got_margin[k[:2]] += r[-1]
    assert got_margin == margin
    # a work month with work and no invoice out yet has a margin: the as-of month
    as_of_month = month_of(firm.as_of)
    open_rows = [
        r for k, r in tm.items() if k[2] == as_of_month and r[1] == 0 and r[len(measures) + 2] > 0
    ]
    assert any(r[-1] > 0 for r in open_rows)


def assert_recognized_revenue_ties_to_the_contracts(run: PipelineRun) -> None:
    """Each contract's month of contract_revenue_monthly is split over project rows in whole
    cents that add up to it exactly (every contract of the generator has a project)."""
    rows = query(
        run.warehouse,
        """
        SELECT c.contract_source_id, c.month_start_date, c.recognized_revenue,
            coalesce(p.recognized, 0)
        FROM marts.contract_revenue_monthly AS c
        FULL JOIN (
            SELECT contract_source_id, month_start_date, sum(recognized_revenue) AS recognized
            FROM marts.project_financials_monthly GROUP BY ALL
        ) AS p USING (contract_source_id, month_start_date)
        WHERE coalesce(c.recognized_revenue, 0) != 0 OR coalesce(p.recognized, 0) != 0
        """,
    )
    assert len(rows) > 100
    assert [r for r in rows if r[2] != r[3]] == []


# --- the default sample -------------------------------------------------------------------


@pytest.fixture(scope="module")
def firm(sample_run: PipelineRun) -> Firm:
    return read_firm(sample_run)


def test_the_executive_marts_build_and_their_checks_pass(sample_run: PipelineRun) -> None:
    checks = {
        name: passed
        for name, passed in sample_run.check_results.items()
        if any(mart in name for mart in EXECUTIVE_MARTS)
    }
    names = " ".join(checks)
    for check in (
        "assert_executive_utilization_hours_tie_out",
        "assert_executive_capacity_days_agree",
        "assert_executive_project_financials_tie_out",
    ):
        assert check in names, check
    failed = [n for n in dbt_check_failures(sample_run) if n in checks]
    assert not failed


def test_capacity_billable_and_logged_hours_per_resource_and_month(
    sample_run: PipelineRun, firm: Firm
) -> None:
    assert_utilization_matches(sample_run, firm)


def test_capacity_of_a_part_timer_a_hire_and_a_leaver(sample_run: PipelineRun, firm: Firm) -> None:
    start, as_of = firm.history_start, firm.as_of
    workers = list(firm.workers.values())
    part_timer = next(
        w
        for w in workers
        if w["employment_type"] == "part_time"
        and date.fromisoformat(w["hire_date"]) < start
        and not w["termination_date"]
    )
    hire = next(w for w in workers if start < date.fromisoformat(w["hire_date"]) <= as_of)
    leaver = next(
        w
        for w in workers
        if w["termination_date"] and start <= date.fromisoformat(w["termination_date"]) < as_of
    )
    got = mart_utilization(sample_run)
    expected = expected_utilization(firm)
    for w in (part_timer, hire, leaver):
        emp = w["employee_id"]
        mine = {m: v for (e, m), v in got.items() if e == emp}
        assert mine == {m: v for (e, m), v in expected.items() if e == emp}, emp
        # capacity = a fifth of the weekly hours per counted day
        weekly = Decimal(w["weekly_capacity_hours"])
        assert all(v[1] == v[0] * weekly / 5 for v in mine.values()), emp

    weekly = Decimal(part_timer["weekly_capacity_hours"])
    assert weekly < 37
    # a full month of a part-timer: every working day at weekly ÷ 5
    month = date(as_of.year, as_of.month, 1) - timedelta(days=1)
    month = month.replace(day=1)
    days, hours, *_ = got[(part_timer["employee_id"], month)]
    assert days >= 15 and hours == days * weekly / 5

    hired = date.fromisoformat(hire["hire_date"])
    months = sorted(m for (e, m) in got if e == hire["employee_id"])
    assert months[0] == month_of(hired)
    first_days = got[(hire["employee_id"], month_of(hired))][0]
    counted = [
        d for d in capacity_days(firm)[hire["employee_id"]] if month_of(d) == month_of(hired)
    ]
    assert first_days == len(counted) and all(d >= hired for d in counted)

    left = date.fromisoformat(leaver["termination_date"])
    months = sorted(m for (e, m) in got if e == leaver["employee_id"])
    assert months[-1] == month_of(left)
    counted = capacity_days(firm)[leaver["employee_id"]]
    assert counted and max(counted) <= left


def test_hours_in_utilization_are_the_hours_of_the_facts(sample_run: PipelineRun) -> None:
    ((mart, facts, unmatched, financials, all_facts),) = query(
        sample_run.warehouse,
        """
        SELECT
            (SELECT sum(logged_hours) FROM marts.utilization_monthly),
            (SELECT sum(t.hours) FROM marts.fct_time_entries AS t
             INNER JOIN marts.utilization_monthly AS u
                ON t.resource_id = u.resource_id
                AND date_trunc('month', t.work_date) = u.month_start_date),
            (SELECT count(*) FROM marts.fct_time_entries WHERE resource_id IS NULL),
            (SELECT sum(hours) FROM marts.project_financials_monthly),
            (SELECT sum(hours) FROM marts.fct_time_entries)
        """,
    )
    assert mart == facts == all_facts > 0  # every worker is matched in the sample
    assert unmatched == 0
    assert financials == all_facts


def test_timesheet_compliance_per_resource_and_month(sample_run: PipelineRun, firm: Firm) -> None:
    assert_compliance_matches(sample_run, firm)


def test_realization_per_contract_from_the_legacy_invoice_lines(
    sample_run: PipelineRun, firm: Firm
) -> None:
    assert_realization_matches(sample_run, firm)


def test_invoiced_value_cost_recognized_revenue_and_margin_per_project_month_and_cut(
    sample_run: PipelineRun, firm: Firm
) -> None:
    assert_financials_match(sample_run, firm)


def test_each_contract_month_of_recognized_revenue_is_split_to_the_cent(
    sample_run: PipelineRun,
) -> None:
    assert_recognized_revenue_ties_to_the_contracts(sample_run)


def released_by_month(firm: Firm) -> dict[tuple[str, date], Decimal]:
    """(contract Id, release month) -> Σ labour line amounts released by the as-of date."""
    released = {
        r.internal_id: (r.custbody_sf_contract_id, month_of(date.fromisoformat(r.released_date)))
        for r in firm.data.invoices.itertuples()
        if r.released_date and date.fromisoformat(r.released_date) <= firm.as_of
    }
    billed: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for r in firm.data.invoice_lines.itertuples():
        if r.custcol_line_kind == "labour" and r.invoice_internal_id in released:
            billed[released[r.invoice_internal_id]] += Decimal(r.amount)
    return billed


def test_firm_kpis_are_ratios_of_the_recomputed_totals(sample_run: PipelineRun, firm: Firm) -> None:
    utilization = expected_utilization(firm)
    compliance = expected_compliance(firm)
    rows = query(
        sample_run.warehouse,
        "SELECT month_start_date, capacity_hours, billable_hours, utilization, due_days, "
        "on_time_days, compliance_share, recognized_revenue_reporting, total_cost_reporting, "
        "margin_reporting, billed_reporting FROM marts.executive_kpis_monthly ORDER BY 1",
    )
    # the year of history up to the as-of date; before it, retainer months recognized
    # without work
    history = [r for r in rows if r[0] >= month_of(firm.history_start)]
    assert len(history) == 12
    assert all(r[1] == 0 and r[9] == r[7] > 0 for r in rows if r not in history)
    billed: dict[date, Decimal] = defaultdict(Decimal)
    for (contract, month), amount in released_by_month(firm).items():
        if contract not in firm.contract_terms:
            continue  # an invoice of a contract the CRM does not export (or deleted)
        currency = firm.contract_terms[contract][1]
        billed[month] += firm.fx.convert(
            amount, currency, REPORTING_CURRENCY, min(month_end(month), firm.as_of)
        )
    for month, capacity, billable, ratio, due, on_time, share, revenue, cost, margin, bill in rows:
        assert bill == billed.get(month, 0), month
        assert margin == revenue - cost, month
        if month >= month_of(firm.history_start):
            cap = sum(v[1] for (_, m), v in utilization.items() if m == month)
            bl = sum(v[2] for (_, m), v in utilization.items() if m == month)
            assert (capacity, billable) == (cap, bl), month
            assert ratio == pytest.approx(float(bl / cap)), month
            d = sum(v[1] for (_, m), v in compliance.items() if m == month)
            o = sum(v[2] for (_, m), v in compliance.items() if m == month)
            assert (due, on_time) == (d, o) and share == pytest.approx(o / d), month
    assert sum(billed.values()) > 0 and set(billed) <= {r[0] for r in rows}


def test_firm_contract_positions_are_the_contracts_month_end_positions(
    sample_run: PipelineRun, firm: Firm
) -> None:
    """Contract assets and liabilities per month: each contract's month-end position
    (contract_revenue_monthly) at the month's last rate, summed."""
    positions = query(
        sample_run.warehouse,
        "SELECT month_start_date, currency, contract_asset, contract_liability "
        "FROM marts.contract_revenue_monthly",
    )
    assets: dict[date, Decimal] = defaultdict(Decimal)
    liabilities: dict[date, Decimal] = defaultdict(Decimal)
    for month, currency, asset, liability in positions:
        day = min(month_end(month), firm.as_of)
        assets[month] += firm.fx.convert(asset, currency, REPORTING_CURRENCY, day)
        liabilities[month] += firm.fx.convert(liability, currency, REPORTING_CURRENCY, day)
    rows = query(
        sample_run.warehouse,
        "SELECT month_start_date, contract_asset_reporting, contract_liability_reporting "
        "FROM marts.executive_kpis_monthly ORDER BY 1",
    )
    assert rows and any(r[1] > 0 for r in rows) and any(r[2] > 0 for r in rows)
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        m: (assets.get(m, 0), liabilities.get(m, 0)) for m in {r[0] for r in rows}
    }


# --- a larger firm ------------------------------------------------------------------------


@pytest.mark.slow
def test_executive_marts_match_the_landing_at_scale_0_2(scale_02_run: PipelineRun) -> None:
    firm = read_firm(scale_02_run)
    assert_utilization_matches(scale_02_run, firm)
    assert_compliance_matches(scale_02_run, firm)
    assert_realization_matches(scale_02_run, firm)
    assert_financials_match(scale_02_run, firm)
    assert_recognized_revenue_ties_to_the_contracts(scale_02_run)

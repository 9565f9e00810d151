"""A small, independent reader of a generated landing zone, and a reference implementation of
the exception rules of docs/generator.md, written from the documentation (not the generator).

Tests use it to check that the files say what the ground truth says.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from ingest.sources.concur import sae_detail_values

DAILY_LIMIT = Decimal(16)
#: The Toggl workspace's zone (dbt var toggl_time_zone's default), for the API's UTC times.
WORKSPACE_ZONE = ZoneInfo("Europe/Amsterdam")


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_entity(landing: Path, system: str, entity: str, skip: set[str]) -> pd.DataFrame:
    """All CSV rows of an entity (every file), as strings."""
    frames = []
    for f in sorted((landing / system / entity).glob("*.csv")):
        if f.relative_to(landing).as_posix() in skip:
            continue
        frames.append(pd.DataFrame(read_csv_rows(f), dtype=str))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def harvest_list(landing: Path, entity: str) -> list[dict]:
    out = []
    for f in sorted((landing / "harvest" / entity).glob("*.json")):
        out.extend(json.loads(f.read_text(encoding="utf-8"))[entity])
    return out


@dataclass
class Landing:
    """Everything the rules need, read from the files."""

    entries: pd.DataFrame  # canonical latest time entries of both PSAs
    contracts: pd.DataFrame
    rate_cards: pd.DataFrame
    workers: pd.DataFrame
    expenses: pd.DataFrame
    accounts: pd.DataFrame
    mappings: pd.DataFrame
    projects: pd.DataFrame  # canonical PSA projects (both PSAs)
    invoices: pd.DataFrame
    invoice_lines: pd.DataFrame
    expense_policy: pd.DataFrame  # the firm's config/expense_policy
    user_assignments: set[tuple[str, str]]  # (harvest project id, user id)
    task_assignments: set[tuple[str, str]]  # (harvest project id, task id)


def load(landing: Path, skip: set[str]) -> Landing:
    """Read a landing zone; ``skip`` lists relative paths not to read (rejected files)."""
    workers = read_entity(landing, "hris", "workers", skip)
    mappings = read_entity(landing, "mdm", "identity_mappings", skip)
    email_to_emp = dict(zip(workers["email"].str.lower(), workers["employee_id"], strict=True))
    mapped = {(r.source_system, r.entity, r.source_id): r.target_id for r in mappings.itertuples()}

    # Harvest projects and Toggl projects -> one canonical project table.
    hp = harvest_list(landing, "projects")
    contracts = read_entity(landing, "salesforce", "contracts", skip)
    by_code = dict(zip(contracts["PSA_Project_Code__c"], contracts["Id"], strict=True))
    projects = []
    for pr in hp:
        cid = (
            by_code.get(pr["code"])
            if pr["code"]
            else mapped.get(("harvest", "project", str(pr["id"])))
        )
        projects.append(
            {
                "source": "harvest",
                "key": str(pr["id"]),
                "code": pr["code"],
                "is_active": pr["is_active"],
                "ends_on": pr["ends_on"],
                "default_rate": pr["hourly_rate"],
                "currency": pr["client"]["currency"],
                "contract_id": cid,
            }
        )
    toggl_projects = json.loads(
        next((landing / "toggl" / "projects").glob("*.json")).read_text(encoding="utf-8")
    )
    for pr in toggl_projects:
        token = pr["name"].split(" ", 1)[0]
        code = token if token.startswith(("P-", "INT-")) else None
        cid = by_code.get(code) if code else mapped.get(("toggl", "project", str(pr["id"])))
        projects.append(
            {
                "source": "toggl",
                "key": pr["name"],
                "code": code,
                "is_active": pr["active"],
                "ends_on": pr["end_date"],
                "default_rate": pr["rate"],
                "currency": pr["currency"],
                "contract_id": cid,
            }
        )
    projects = pd.DataFrame(projects)

    users = {u["id"]: u for u in harvest_list(landing, "users")}
    rows = []
    for f in sorted((landing / "harvest" / "time_entries").glob("*.json")):
        if f.relative_to(landing).as_posix() in skip:
            continue
        for t in json.loads(f.read_text(encoding="utf-8"))["time_entries"]:
            email = users[t["user"]["id"]]["email"].lower()
            emp = email_to_emp.get(email) or mapped.get(("harvest", "user", str(t["user"]["id"])))
            rows.append(
                {
                    "source": "harvest",
                    "id": str(t["id"]),
                    "employee_id": emp,
                    "user_key": str(t["user"]["id"]),
                    "project_key": str(t["project"]["id"]),
                    "project_code_on_entry": t["project"]["code"],
                    "task_key": str(t["task"]["id"]),
                    "spent_date": t["spent_date"],
                    "hours": Decimal(str(t["hours"])),
                    "notes": t["notes"],
                    "billable": t["billable"],
                    "psa_rate": None
                    if t["billable_rate"] is None
                    else Decimal(str(t["billable_rate"])),
                    "created_at": t["created_at"],
                    "updated_at": t["updated_at"],
                    "status": t["approval_status"],
                    "approved_at": t["approved_at"],
                }
            )
    for f in sorted((landing / "toggl" / "time_entries").glob("*.csv")):
        for r in read_csv_rows(f):
            hh, mm, ss = (int(x) for x in r["Duration"].split(":"))
            token = r["Project"].split(" ", 1)[0]
            rows.append(
                {
                    "source": "toggl",
                    "id": r["Time entry ID"],
                    "employee_id": email_to_emp.get(r["Email"].lower()),
                    "user_key": r["Email"].lower(),
                    "project_key": r["Project"],
                    "project_code_on_entry": token if token.startswith(("P-", "INT-")) else None,
                    "task_key": r["Task"],
                    "spent_date": r["Start date"],
                    "hours": Decimal(hh * 3600 + mm * 60 + ss) / 3600,
                    "notes": r["Description"],
                    "billable": r["Billable"] == "Yes",
                    "psa_rate": None,
                    "created_at": None,
                    "updated_at": r["Updated at"],
                    "status": r["Approval status"],
                    "approved_at": r["Approved at"] or None,
                }
            )
    for f in sorted((landing / "toggl" / "time_entries").glob("*.json")):
        for t in json.loads(f.read_text(encoding="utf-8")):
            # API v9 (meta=true): the person by user id (mapped to HR), times in UTC, read in
            # the workspace's zone; no approval data (not submitted)
            start = datetime.fromisoformat(t["start"]).astimezone(WORKSPACE_ZONE)
            project = t["project_name"] or ""
            token = project.split(" ", 1)[0]
            rows.append(
                {
                    "source": "toggl",
                    "id": str(t["id"]),
                    "employee_id": mapped.get(("toggl", "user", str(t["user_id"]))),
                    "user_key": str(t["user_id"]),
                    "project_key": project,
                    "project_code_on_entry": token if token.startswith(("P-", "INT-")) else None,
                    "task_key": t["task_name"],
                    "spent_date": start.date().isoformat(),
                    "hours": Decimal(t["duration"]) / 3600,
                    "notes": t["description"],
                    "billable": t["billable"],
                    "psa_rate": None,
                    "created_at": None,
                    "updated_at": t["at"],
                    "status": None,
                    "approved_at": None,
                }
            )
    entries = pd.DataFrame(rows)
    entries = entries.sort_values(["source", "id", "updated_at"]).drop_duplicates(
        ["source", "id"], keep="last"
    )
    entries = entries.merge(
        projects.rename(columns={"key": "project_key"}), on=["source", "project_key"], how="left"
    ).reset_index(drop=True)

    sae = []
    for f in sorted((landing / "concur" / "expenses").glob("*.txt")):
        if f.relative_to(landing).as_posix() in skip:
            continue
        lines = f.read_text(encoding="utf-8").splitlines()
        for line in lines[1:]:
            sae.append(sae_detail_values(line))
    expenses = pd.DataFrame(sae).drop_duplicates("report_entry_id")
    return Landing(
        entries=entries,
        contracts=contracts,
        rate_cards=read_entity(landing, "salesforce", "rate_cards", skip),
        workers=workers,
        expenses=expenses,
        accounts=read_entity(landing, "salesforce", "accounts", skip),
        mappings=mappings,
        projects=projects,
        invoices=read_entity(landing, "erp", "invoices", skip),
        invoice_lines=read_entity(landing, "erp", "invoice_lines", skip),
        expense_policy=read_entity(landing, "config", "expense_policy", skip),
        user_assignments={
            (str(a["project"]["id"]), str(a["user"]["id"]))
            for a in harvest_list(landing, "user_assignments")
        },
        task_assignments={
            (str(a["project"]["id"]), str(a["task"]["id"]))
            for a in harvest_list(landing, "task_assignments")
        },
    )


def resolved_rates(data: Landing) -> pd.Series:
    """docs/design.md §4 resolved bill rate per entry (Decimal), None where none resolves."""
    role = dict(zip(data.workers["employee_id"], data.workers["role"], strict=True))
    lines: dict[tuple[str, str], list[tuple[str, str, Decimal]]] = {}
    for r in data.rate_cards.itertuples():
        lines.setdefault((r.Contract__c, r.Role__c), []).append(
            (r.Effective_From__c, r.Effective_To__c, Decimal(r.Bill_Rate__c))
        )
    out = []
    for r in data.entries.itertuples():
        rate = None
        if isinstance(r.contract_id, str):
            for lo, hi, value in lines.get((r.contract_id, role.get(r.employee_id)), []):
                if lo <= r.spent_date and (hi == "" or r.spent_date <= hi):
                    rate = value
        if rate is None and r.default_rate is not None and r.default_rate == r.default_rate:
            rate = Decimal(str(r.default_rate))
        out.append(rate)
    return pd.Series(out, index=data.entries.index, dtype=object)


def validate(data: Landing) -> set[tuple[str, str, str, str]]:
    """Apply every exception rule of docs/generator.md; return (system, entity, id, reason)."""
    flags: set[tuple[str, str, str, str]] = set()
    e = data.entries
    known = e["is_active"].notna()
    contract_end = dict(zip(data.contracts["Id"], data.contracts["EndDate"], strict=True))
    rate = resolved_rates(data)
    ua, ta = data.user_assignments, data.task_assignments

    def flag(mask: pd.Series, reason: str) -> None:
        for r in e[mask].itertuples():
            flags.add((r.source, "time_entries", r.id, reason))

    harvest = e["source"] == "harvest"
    flag(~known, "unknown_project")
    flag(
        known
        & ~e["is_active"].fillna(True).astype(bool)
        & (e["spent_date"] > e["ends_on"].fillna("9999")),
        "closed_project",
    )
    flag(
        known
        & harvest
        & ~pd.Series(
            [(p, t) in ta for p, t in zip(e["project_key"], e["task_key"], strict=True)],
            index=e.index,
        ),
        "task_not_on_project",
    )
    flag(
        known
        & harvest
        & ~pd.Series(
            [(p, u) in ua for p, u in zip(e["project_key"], e["user_key"], strict=True)],
            index=e.index,
        ),
        "resource_not_assigned",
    )
    has_rate = rate.notna()
    flag(known & e["billable"] & ~has_rate, "missing_rate")
    mism = pd.Series(
        [
            pr is not None and rr is not None and pr != rr
            for pr, rr in zip(e["psa_rate"], rate, strict=True)
        ],
        index=e.index,
    )
    flag(known & harvest & e["billable"] & has_rate & mism, "rate_mismatch")
    key = ["source", "user_key", "project_key", "task_key", "spent_date", "hours", "notes"]
    ordered = e.assign(n=e["id"].astype("int64")).sort_values("n")
    dup = ordered.duplicated(key, keep="first")
    flag(e.index.isin(ordered.index[dup]), "duplicate_entry")
    created_date = e["created_at"].fillna("9999").str[:10]
    flag(harvest & (e["spent_date"] > created_date), "future_dated")
    totals = e.groupby(["employee_id", "spent_date"])["hours"].transform("sum")
    flag(totals > DAILY_LIMIT, "over_daily_limit")
    end = e["contract_id"].map(contract_end)
    flag(
        known
        & e["billable"]
        & e["is_active"].fillna(False).astype(bool)
        & end.notna()
        & (end < e["spent_date"]),
        "expired_contract",
    )

    proj_by_contract = {
        r.contract_id: r for r in data.projects.itertuples() if isinstance(r.contract_id, str)
    }
    for c in data.contracts.itertuples():
        pr = proj_by_contract.get(c.Id)
        if pr is not None and pr.currency != c.CurrencyIsoCode:
            flags.add(("salesforce", "contracts", c.Id, "currency_mismatch"))
        if c.Legal_Entity__c == "":
            flags.add(("salesforce", "contracts", c.Id, "missing_legal_entity"))

    policy = {
        (r["expense_type_code"], r["currency"]): r for r in data.expense_policy.to_dict("records")
    }
    accounts = set(data.accounts["Id"])
    legacy = set(
        data.mappings.loc[
            (data.mappings["source_system"] == "concur") & (data.mappings["entity"] == "client"),
            "source_id",
        ]
    )
    for x in data.expenses.to_dict("records"):
        pol = policy[(x["report_entry_expense_type_code"], x["reimbursement_currency"])]
        amount = Decimal(x["report_entry_posted_amount"])
        xid = x["report_entry_id"]
        if (
            x["report_entry_receipt_received"] == "N"
            and pol["receipt_required_over"]
            and amount > Decimal(pol["receipt_required_over"])
        ):
            flags.add(("concur", "expenses", xid, "missing_receipt"))
        if pol["policy_limit"] and amount > Decimal(pol["policy_limit"]):
            flags.add(("concur", "expenses", xid, "over_policy_limit"))
        client = x["allocation_client"]
        if client and client not in accounts and client not in legacy:
            flags.add(("concur", "expenses", xid, "unmatched_client"))
    return flags

"""Salesforce: accounts, contracts and rate-card lines."""

from __future__ import annotations

from ingest.generator import reference as ref
from ingest.generator.exports.common import SNAPSHOT_HOUR
from ingest.generator.firm import DAY, NO_DAY
from ingest.generator.state import World, contract_id, contract_number, rate_line_id
from ingest.generator.writers import (
    Landing,
    csv_bytes,
    day_str,
    iso,
    money,
)

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

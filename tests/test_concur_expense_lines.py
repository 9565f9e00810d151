"""The hand-written SAE (tests/fixtures/concur/) through ingest and dbt to the expense facts.

The landing holds the fixture extract (batch 42: entry 1001, entry 1002 allocated 50/50 to
P-10001 and P-10002, the credit 1003, the personal company-card charge 1004), a second
extract written from the same lines (batch 43: entry 1005, a copy of entry 1002 without a
receipt, and 1006, a personal line flagged billable on P-10001), the client account the SAE
allocates to with two USD time-and-materials contracts for P-10001 and P-10002, and the ERP's
postings of entries 1001, 1002 and 1004 (the ERP posts an entry as a whole), and the sample
firm's configuration (legal entities, tax rules, expense policy, thresholds). No HR workers
or PSA data: the rules that wait for them stay silent. Everything is in USD, the base
currency, so every rate is 1.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.loader import load_landing
from ingest.warehouse import connect
from tests.pipeline_runs import dbt_build, query
from tests.support.sample_config import write_sample_config

#: Whole-pipeline builds on hand-written landings: the slow step of CI runs them.
pytestmark = pytest.mark.slow

FIXTURE = (
    Path(__file__).parent
    / "fixtures"
    / "concur"
    / "extract_CES_SAE_v3_p0000000test_20251128200000.txt"
)
AS_OF = date(2025, 12, 31)

# 1-based SAE positions the second extract rewrites (docs/sources.md, concur/expenses)
BATCH_ID, BATCH_DATE, SEQUENCE, ENTRY_ID, RECEIPT, PROJECT = 2, 3, 4, 61, 72, 92
JOURNAL_KEY, ALLOCATION_KEY, IS_BILLABLE = 170, 189, 335

ACCOUNT = "001XX000003DHPh"  # the SAE's allocation client (field 191), an account Id
ACCOUNT_HEADER = [
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
]
CONTRACT_HEADER = [
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
]
POSTING_HEADER = [
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
]


def _second_extract(detail_lines: list[str]) -> str:
    """Batch 43: entry 1002's two allocation lines as entry 1005 without a receipt, and the
    personal line 1004 as entry 1006, billable on P-10001."""

    def rewrite(line: str, sequence: int, entry: int, key: int, changes: dict[int, str]) -> str:
        fields = line.split("|")
        values = {
            BATCH_ID: "43",
            BATCH_DATE: "2025-12-05",
            SEQUENCE: str(sequence),
            ENTRY_ID: str(entry),
            JOURNAL_KEY: str(5000 + key),
            ALLOCATION_KEY: str(7000 + key),
            **changes,
        }
        for position, value in values.items():
            fields[position - 1] = value
        return "|".join(fields)

    allocated = [line for line in detail_lines if line.split("|")[ENTRY_ID - 1] == "1002"]
    (personal,) = [line for line in detail_lines if line.split("|")[ENTRY_ID - 1] == "1004"]
    rows = [
        rewrite(allocated[0], 1, 1005, 6, {RECEIPT: "N"}),
        rewrite(allocated[1], 2, 1005, 7, {RECEIPT: "N"}),
        rewrite(personal, 3, 1006, 8, {PROJECT: "P-10001", IS_BILLABLE: "Y"}),
    ]
    return "\n".join(["EXTRACT|2025-12-05|3|47.7500|43", *rows]) + "\n"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)


def _contract(contract_id: str, number: str, project: str) -> list[str]:
    return [
        contract_id, ACCOUNT, number, f"SOW {project}", "Activated", "2025-01-01",
        "2026-12-31", "24", "USD", "time_and_materials", "US01", "harvest", project, "Net 30",
        "", "", "2025-01-01T00:00:00Z", "005XX0000000001AAA", "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:00Z", "false",
    ]  # fmt: skip


def _posting(line_id: int, amount: str, entry: int, gl_account: str) -> list[str]:
    return [
        "880001", "JE-EXP-880001", str(line_id), "US01", "2025-12-01", "Dec 2025", gl_account,
        amount, "USD", "E100095", "9467925FC15040AC8532", str(entry), "Concur batch 42",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The small landing loaded and the expense marts built on it, once for the module."""
    base = tmp_path_factory.mktemp("concur_lines")
    landing = base / "landing"
    extracts = landing / "concur" / "expenses"
    extracts.mkdir(parents=True)
    first = FIXTURE.read_text(encoding="utf-8")
    (extracts / FIXTURE.name).write_text(first, encoding="utf-8")
    detail = [line for line in first.splitlines()[1:] if len(line.split("|")) == 400]
    (extracts / "extract_CES_SAE_v3_p0000000test_20251205200000.txt").write_text(
        _second_extract(detail), encoding="utf-8"
    )
    _write_csv(
        landing / "salesforce" / "accounts" / "accounts_2025-12-31.csv",
        ACCOUNT_HEADER,
        [
            [ACCOUNT, "Northwind", "Customer", "Retail", "New York", "United States", "US",
             "USD", "US01", "", "005XX0000000001AAA", "2025-01-01T00:00:00Z",
             "2025-01-01T00:00:00Z", "false"],
        ],
    )  # fmt: skip
    _write_csv(
        landing / "salesforce" / "contracts" / "contracts_2025-12-31.csv",
        CONTRACT_HEADER,
        [
            _contract("800XX0000000001AAA", "00100001", "P-10001"),
            _contract("800XX0000000002AAA", "00100002", "P-10002"),
        ],
    )
    _write_csv(
        landing / "erp" / "expense_postings" / "expense_postings_2025-12.csv",
        POSTING_HEADER,
        [
            _posting(1, "120.50", 1001, "6120"),
            _posting(2, "35.75", 1002, "6130"),
            _posting(3, "12.00", 1004, "1410"),
        ],
    )
    # the sample firm's configuration: its US01 tax rules and expense policy (receipts over 25)
    write_sample_config(landing)
    warehouse = base / "warehouse.duckdb"
    with connect(warehouse) as con:
        report = load_landing(con, landing)
    assert report.rows_rejected == 1  # the fixture's record cut short after 60 fields
    dbt_build(
        warehouse,
        AS_OF,
        "+fct_expenses +billing_batch_candidates +revenue_leakage +reconciliation_records"
        " +reconciliation_control_totals",
        # tests that also read models outside the selection are left out
        "--indirect-selection",
        "cautious",
    )
    return warehouse


def test_each_journal_line_is_an_expense_with_its_signed_amount(warehouse):
    rows = query(
        warehouse,
        "select source_id, report_entry_id, journal_side, posted_amount, entry_posted_amount,"
        " is_personal, is_billable, project_code, rebill_amount, erp_posted_amount, is_valid,"
        " exception_reasons from marts.fct_expenses order by source_id",
    )
    d = Decimal
    assert rows == [
        # entry, side, posted, entry total, personal, billable, project, rebill, ERP share
        ("1001", "1001", "DR", d("120.50"), d("120.50"), False, True, "P-10001",
         d("120.50"), d("120.50"), True, None),
        # the ERP posts entry 1002 once (35.75): each allocation line carries its share
        ("1002-5002-7002", "1002", "DR", d("17.87"), d("35.75"), False, True, "P-10001",
         d("17.87"), d("17.87"), True, None),
        ("1002-5003-7003", "1002", "DR", d("17.88"), d("35.75"), False, True, "P-10002",
         d("17.88"), d("17.88"), True, None),
        # a credit reduces what is re-billed; the ERP has not posted it
        ("1003", "1003", "CR", d("-45.00"), d("-45.00"), False, True, "P-10001",
         d("-45.00"), None, True, None),
        # the employee's own money: never re-billed
        ("1004", "1004", "DR", d("12.00"), d("12.00"), True, False, None,
         None, d("12.00"), True, None),
        # 17.87 and 17.88 are each under the 25.00 USD receipt threshold of meals, the entry
        # (35.75) is over it: both lines of the entry miss the receipt
        ("1005-5006-7006", "1005", "DR", d("17.87"), d("35.75"), False, True, "P-10001",
         d("17.87"), None, False, "missing_receipt"),
        ("1005-5007-7007", "1005", "DR", d("17.88"), d("35.75"), False, True, "P-10002",
         d("17.88"), None, False, "missing_receipt"),
        ("1006", "1006", "DR", d("12.00"), d("12.00"), True, True, "P-10001",
         None, None, True, None),
    ]  # fmt: skip
    # loaded lines add up to the two extracts' control totals (123.25 + 47.75)
    assert query(warehouse, "select sum(posted_amount) from marts.fct_expenses") == [
        (Decimal("171.00"),)
    ]


def test_rebillable_amounts_net_the_credit_and_leave_out_personal_and_excepted_lines(warehouse):
    candidates = query(
        warehouse,
        "select expenses.project_code, sum(candidates.amount), count(*)"
        " from marts.billing_batch_candidates as candidates"
        " inner join marts.fct_expenses as expenses using (correlation_id)"
        " group by expenses.project_code order by expenses.project_code",
    )
    # P-10001: 120.50 + 17.87 - 45.00 (1005 misses its receipt, 1006 is personal)
    assert candidates == [("P-10001", Decimal("93.37"), 3), ("P-10002", Decimal("17.88"), 1)]


def test_the_erp_posting_of_an_allocated_entry_reconciles_line_by_line(warehouse):
    postings = query(
        warehouse,
        "select source_id, posting_reason from marts.reconciliation_records"
        " where record_kind = 'expense' order by source_id",
    )
    assert postings == [
        ("1001", None),
        ("1002-5002-7002", None),
        ("1002-5003-7003", None),
        ("1003", "expense_not_posted"),
        ("1004", None),
        ("1005-5006-7006", "expense_not_posted"),
        ("1005-5007-7007", "expense_not_posted"),
        ("1006", "expense_not_posted"),
    ]
    journals = query(
        warehouse,
        "select concur_batch_id, psa_record_count, erp_record_count, psa_amount, erp_amount,"
        " difference_reason from marts.reconciliation_control_totals"
        " where control_kind = 'expense_journal' order by batch_id nulls last, concur_batch_id",
    )
    assert journals == [
        # four Concur lines of three entries against the journal's three lines, same amount
        ("42", 3, 3, Decimal("168.25"), Decimal("168.25"), None),
        # the credit waits for its posting; so do batch 43's entries 1005 (two lines) and 1006
        ("42", 1, 0, Decimal("-45.00"), Decimal("0.00"), "journal_not_posted"),
        ("43", 2, 0, Decimal("47.75"), Decimal("0.00"), "journal_not_posted"),
    ]

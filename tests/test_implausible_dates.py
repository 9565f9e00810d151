"""One mistyped date never corrupts figures (issue 21): the sample firm plus one approved
Harvest entry dated 2001-10-19 (a year typed wrong), one Concur expense line, one legacy ERP
invoice and one ERP FX rate with their years typed wrong builds marts equal to the clean
run's; each record is an `implausible_date` exception (the entry with its hours, the expense
and the invoice with their amounts) and reaches no fact.

Before the history window, that one entry moved the calendar spine (int_dates_spined) to
2001: capacity and labour cost were 0 for every real month and WIP had no value.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.generator import GenerationResult
from tests.conftest import SAMPLE_AS_OF
from tests.pipeline_runs import PipelineRun, dbt_check_failures, query, run_pipeline
from tests.test_as_of import mart_fingerprints

#: Two whole-pipeline builds of the sample firm: the slow step of CI runs them.
pytestmark = pytest.mark.slow

TYPO_ID = 2499999999
TYPO_DATE = "2001-10-19"
TYPO_EXPENSE_ID = "999999991"  # a Concur Report Entry Id no extract uses
TYPO_INVOICE_ID = "1999999"
TYPO_FX_DATE = "2001-05-02"


def land_year_typo(landing: Path) -> dict:
    """Land a copy of the sample's first approved billable entry of its last Harvest page,
    with a new id and the year typed wrong, as one more page; return the entry."""
    pages = sorted((landing / "harvest" / "time_entries").glob("*.json"))
    last = json.loads(pages[-1].read_text())
    original = next(
        e for e in last["time_entries"] if e["approval_status"] == "approved" and e["billable"]
    )
    typo = {**original, "id": TYPO_ID, "spent_date": TYPO_DATE}
    # no `links`: an export window would retire the entries it does not list
    page = {key: value for key, value in last.items() if key != "links"}
    page.update(time_entries=[typo], total_entries=1)
    (pages[-1].parent / "time_entries_year_typo_page_0001.json").write_text(json.dumps(page))
    return typo


def land_expense_year_typo(landing: Path) -> dict:
    """Land a copy of a one-line entry of the sample's last SAE extract, with a new Report
    Entry Id and Journal Key and its transaction date's year typed wrong, as the next extract
    (docs/sources.md, SAE layout); return its id, amount and currency."""
    extracts = sorted((landing / "concur" / "expenses").glob("*.txt"))
    header, *details = extracts[-1].read_text().splitlines()
    fields = [line.split("|") for line in details]
    entry_ids = [f[60] for f in fields]
    # fields by position - 1: Report Entry Id 61, Journal Debit or Credit 168
    line = next(f for f in fields if entry_ids.count(f[60]) == 1 and f[167] == "DR")
    _, batch_date, _, _, batch_id = header.split("|")
    typo_batch = str(int(batch_id) + 1)
    typo = [*line]  # Batch ID 2, Transaction Date 64; Journal Key 170 and Allocation Key 189
    typo[1], typo[60], typo[63] = typo_batch, TYPO_EXPENSE_ID, TYPO_DATE
    typo[169] = typo[188] = TYPO_EXPENSE_ID  # new, as the entry is
    amount = Decimal(typo[168])  # Journal Amount 169: the extract's control total
    last = extracts[-1]  # named after its batch time: the typo's extract a second later
    name = f"{last.stem[:-1]}{int(last.stem[-1]) + 1}{last.suffix}"
    (last.parent / name).write_text(
        f"EXTRACT|{batch_date}|1|{amount}|{typo_batch}\n" + "|".join(typo) + "\n"
    )
    # Report Entry Posted Amount 124, Employee Default Currency 22
    return {"amount": Decimal(typo[123]), "currency": typo[21]}


def land_invoice_and_fx_year_typos(landing: Path) -> dict:
    """Land a copy of a well-formed legacy invoice of the sample, with a new internal id and
    number and its year typed wrong, as one more export, and add an FX rate dated 2001 to the
    ERP's current rates; return the invoice's total and currency and the rate's currency."""
    exports = landing / "erp" / "invoices"
    for path in sorted(exports.glob("*.csv")):
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            # the sample's faults include exports with a column too many: skip those
            row = next((r for r in reader if None not in r and None not in r.values()), None)
        if row is not None:
            break
    typo = {
        **row,
        "internal_id": TYPO_INVOICE_ID,
        "tranid": "INV-TYPO-000001",
        "trandate": "2001" + row["trandate"][4:],
    }
    with (exports / f"{path.stem}_year_typo.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(typo))
        writer.writeheader()
        writer.writerow(typo)
    rates = sorted((landing / "erp" / "fx_rates").glob("*.csv"))[-1]
    header, first_rate, *rest = rates.read_text().splitlines()
    currency, rate = first_rate.split(",")[2:]
    typo_rate = f"{TYPO_FX_DATE},USD,{currency},{rate}"
    rates.write_text("\n".join([header, first_rate, *rest, typo_rate]) + "\n")
    return {"amount": Decimal(typo["total"]), "currency": typo["currency"], "fx": currency}


@pytest.fixture(scope="module")
def typo_landing(sample: GenerationResult, tmp_path_factory) -> tuple[Path, dict]:
    """A copy of the sample's landing zone with the four year typos; the records landed."""
    landing = tmp_path_factory.mktemp("year_typo_home") / "landing"
    shutil.copytree(sample.out_dir, landing)
    land_year_typo(landing)
    landed = {"expense": land_expense_year_typo(landing)}
    invoice = land_invoice_and_fx_year_typos(landing)
    landed["fx"] = invoice.pop("fx")
    landed["invoice"] = invoice
    return landing, landed


@pytest.fixture(scope="module")
def typo_run(sample: GenerationResult, typo_landing, dbt_manifest) -> Iterator[PipelineRun]:
    """The sample firm plus the year typos, through every asset as of its as-of date."""
    landing, _ = typo_landing
    yield from run_pipeline(landing, Path(sample.truth_dir), landing.parent, SAMPLE_AS_OF)


def test_the_year_typo_is_an_exception_with_its_hours(typo_run):
    rows = query(
        typo_run.warehouse,
        "SELECT reason, owner_team, record_date, hours FROM marts.billing_exceptions "
        "WHERE source_system = 'harvest' AND source_id = ?",
        [str(TYPO_ID)],
    )
    assert [(reason, owner, day) for reason, owner, day, _ in rows] == [
        ("implausible_date", "delivery", None)
    ]
    assert rows[0][3] > 0
    held = query(
        typo_run.warehouse,
        "SELECT count(*) FROM marts.fct_time_entries WHERE source_id = ?",
        [str(TYPO_ID)],
    )
    assert held == [(0,)]


def test_every_other_figure_equals_the_clean_run(typo_run, sample_run):
    typo, clean = mart_fingerprints(typo_run.warehouse), mart_fingerprints(sample_run.warehouse)
    exceptions = "billing_exceptions"
    assert {t: f for t, f in typo.items() if t != exceptions} == {
        t: f for t, f in clean.items() if t != exceptions
    }
    assert typo[exceptions][0] == clean[exceptions][0] + 4  # the four records with a year typo
    spine = "SELECT min(calendar_date), max(calendar_date) FROM marts.dim_calendar"
    assert query(typo_run.warehouse, spine) == query(sample_run.warehouse, spine)


def test_the_year_typo_fails_no_check_the_clean_run_passes(typo_run, sample_run):
    assert dbt_check_failures(typo_run) == dbt_check_failures(sample_run)


def test_an_expense_invoice_and_fx_rate_with_a_year_typo_are_exceptions(typo_run, typo_landing):
    _, landed = typo_landing
    rows = query(
        typo_run.warehouse,
        "SELECT source_system, source_entity, source_id, record_kind, record_date, amount, "
        "currency FROM marts.billing_exceptions WHERE reason = 'implausible_date' "
        "AND source_entity != 'time_entries' ORDER BY source_entity",
    )
    expense, invoice = landed["expense"], landed["invoice"]
    assert rows == [
        ("concur", "expenses", TYPO_EXPENSE_ID, "expense", None, expense["amount"],
         expense["currency"]),
        ("erp", "fx_rates", f"{landed['fx']} {TYPO_FX_DATE}", "fx_rate", None, None,
         landed["fx"]),
        ("erp", "invoices", TYPO_INVOICE_ID, "invoice", None, invoice["amount"],
         invoice["currency"]),
    ]  # fmt: skip
    held = query(
        typo_run.warehouse,
        "SELECT (SELECT count(*) FROM marts.fct_expenses WHERE source_id = ?), "
        "(SELECT count(*) FROM marts.fct_invoices WHERE source_id = ?), "
        "(SELECT count(*) FROM marts.fct_invoice_lines WHERE invoice_source_id = ?)",
        [TYPO_EXPENSE_ID, TYPO_INVOICE_ID, TYPO_INVOICE_ID],
    )
    assert held == [(0, 0, 0)]

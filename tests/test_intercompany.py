"""Intercompany cross-charges (docs/design.md §4, marts intercompany_cross_charges and
intercompany_cross_charges_monthly).

On the generator's sample firm: the generator staffs every contract from its own legal entity,
so the firm lands its transfer-pricing rule (`*,*,cost_plus,10`) but has no cross-entity work;
its marts are empty and no same-entity entry is charged.

On the hand-written firm (tests/fixtures/firm_by_hand/) with tests/fixtures/firm_intercompany/
laid over it (slow): a second legal entity CA01 (CAD), Ben Okafor employed by CA01 at a cost
rate of 80.00 CAD, and the rule `*,*,cost_plus,10` from 1 January 2026. His approved 6 h of 3
June on P-1002 (a US01 contract) are the one cross-charge: cost 6 x 80.00 = 480.00 CAD,
transfer price 480.00 x 1.10 = 528.00 CAD, owed by US01 to CA01 for June. His bench hours are
internal (no contract); Ada's work is US01's own, or on a contract of MX01, an entity not
configured (an unknown_legal_entity exception, not a cross-charge).

The pricing rules (a billed share, the rule in force on the work date, the most specific rule, a
missing rule) are tested on hand-made rows written from the definition: the dbt unit tests in
dbt_project/models/marts/billing/_billing__unit_tests.yml, run by every build.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.pipeline_runs import PipelineRun, query, run_firm_by_hand

#: The layer over the hand-written firm: a second entity employing one of its two people.
INTERCOMPANY = Path(__file__).parent / "fixtures" / "firm_intercompany"

#: Approved entries of a person of one configured entity on another configured entity's
#: contract, counted from the core facts independently of the mart.
CROSS_ENTITY_ENTRIES = """
SELECT count(*)
FROM marts.fct_time_entries AS entries
JOIN marts.dim_resources AS resources USING (resource_id)
JOIN marts.dim_legal_entities AS suppliers ON resources.legal_entity = suppliers.legal_entity
JOIN marts.dim_legal_entities AS customers ON entries.legal_entity = customers.legal_entity
WHERE entries.is_approved
  AND entries.contract_id IS NOT NULL
  AND resources.legal_entity <> entries.legal_entity
  AND entries.work_date <= ?
"""


def test_the_sample_firm_lands_its_transfer_pricing_rule(sample_run: PipelineRun) -> None:
    rules = query(
        sample_run.warehouse,
        "SELECT from_entity, to_entity, method, markup_pct, share_pct "
        "FROM staging.stg_config__transfer_pricing",
    )
    assert rules == [("*", "*", "cost_plus", Decimal("10.0000"), None)]


def test_the_sample_firm_charges_no_same_entity_work(sample_run: PipelineRun) -> None:
    expected = query(sample_run.warehouse, CROSS_ENTITY_ENTRIES, [sample_run.as_of])
    charged = query(sample_run.warehouse, "SELECT count(*) FROM marts.intercompany_cross_charges")
    assert charged == expected == [(0,)]
    approved = query(
        sample_run.warehouse, "SELECT count(*) FROM marts.fct_time_entries WHERE is_approved"
    )
    assert approved[0][0] > 0  # there is work: none of it crosses entities
    assert query(
        sample_run.warehouse, "SELECT count(*) FROM marts.intercompany_cross_charges_monthly"
    ) == [(0,)]


@pytest.fixture(scope="module")
def intercompany_run(tmp_path_factory, dbt_manifest) -> Iterator[PipelineRun]:
    """The hand-written firm with a CA01 person on US01's contracts, through every asset."""
    yield from run_firm_by_hand(tmp_path_factory.mktemp("firm_intercompany_home"), INTERCOMPANY)


@pytest.mark.slow
def test_a_person_of_one_entity_on_anothers_contract_is_cross_charged(intercompany_run) -> None:
    rows = query(
        intercompany_run.warehouse,
        "SELECT source_id, supplier_entity, customer_entity, month_start_date, hours, currency, "
        "labour_cost, transfer_pricing_method, transfer_price, exception_reason "
        "FROM marts.intercompany_cross_charges ORDER BY source_id",
    )
    assert rows == [
        (
            "2400000003",
            "CA01",
            "US01",
            date(2026, 6, 1),
            Decimal("6.0000"),
            "CAD",
            Decimal("480.00"),
            "cost_plus",
            Decimal("528.00"),
            None,
        )
    ]
    monthly = query(
        intercompany_run.warehouse,
        "SELECT supplier_entity, customer_entity, month_start_date, currency, entry_count, hours, "
        "labour_cost, transfer_price, unpriced_entry_count "
        "FROM marts.intercompany_cross_charges_monthly",
    )
    assert monthly == [
        (
            "CA01",
            "US01",
            date(2026, 6, 1),
            "CAD",
            1,
            Decimal("6.0000"),
            Decimal("480.00"),
            Decimal("528.00"),
            0,
        )
    ]

"""Intercompany cross-charges (docs/design.md §4, marts intercompany_cross_charges and
intercompany_cross_charges_monthly) on the generator's sample firm.

The generator staffs every contract from its own legal entity: the sample firm lands its
transfer-pricing rule (`*,*,cost_plus,10`) but has no cross-entity work, so its marts are empty
and this checks that no same-entity entry is charged. The pricing itself (cost plus 10 %, a
billed share, the rule in force on the work date, a missing rule) is tested on hand-made rows
written from the definition: the dbt unit tests of dbt_project/models/marts/billing/
_billing__unit_tests.yml, which run in every build.
"""

from __future__ import annotations

from decimal import Decimal

from tests.pipeline_runs import PipelineRun, query

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

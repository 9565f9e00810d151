"""Only the code's own invariants block the build (docs/design.md §5, "no data condition fails
the build"): every dbt test of severity error declares why the code guarantees it.

A blocking test either is a not-null test on a source column ingest requires (ingest rejects
a row without it, `missing_required_field`, and stamps every row with its `_load_id`), or
declares `meta: {invariant: <kind>}` with one of the kinds below, on a test of the shape that
kind covers. A test a firm's data can break is a warning (`config: {severity: warn}`) and,
where it makes a record unbillable, an exception row; it never blocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.sources import SOURCE_ENTITIES

#: Why the code guarantees a blocking test, by kind, and which tests each kind may cover.
INVARIANT_KINDS: dict[str, tuple[str, frozenset[str]]] = {
    "own_key": (
        "one row per key: the model builds the key (a surrogate or grouped key), or keeps one "
        "version per source key (ingest rejects a second row with a key in a file, staging "
        "keeps the newest export)",
        frozenset({"unique", "unique_combination"}),
    ),
    "required_field": (
        "the model computes the column, or reads it from a field ingest requires",
        frozenset({"not_null"}),
    ),
    "own_code": (
        "a value the code writes: a case expression, the product's seed, ingest's load status",
        frozenset({"accepted_values"}),
    ),
    "derived_relationship": (
        "the child model is built from the parent model (or the product's seed)",
        frozenset({"relationships"}),
    ),
    "tie_out": (
        "the model's arithmetic checked against itself or against the records it is built from",
        frozenset({"expression_is_true", "singular"}),
    ),
}


@pytest.fixture(scope="module")
def manifest(dbt_manifest) -> dict:
    return json.loads(Path(dbt_manifest).read_text())


def _required_source_columns() -> set[tuple[str, str]]:
    """(raw table, column) of every field ingest requires, and every raw table's _load_id."""
    required = set()
    for entity in SOURCE_ENTITIES.values():
        schema = entity.schema
        required.add((schema.raw_table, "_load_id"))
        required |= {(schema.raw_table, c.name) for c in schema.columns if c.required}
        required |= {(schema.raw_table, name) for name in schema.key}
    return required


def blocking_tests_without_invariant(manifest: dict) -> list[str]:
    """Every blocking dbt test that declares no (fitting) invariant, as a readable line."""
    required = _required_source_columns()
    problems = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        config = node["config"]
        if str(config.get("severity", "error")).lower() != "error":
            continue
        test = (node.get("test_metadata") or {}).get("name", "singular")
        parents = node["depends_on"]["nodes"]
        if test == "not_null" and len(parents) == 1 and parents[0].startswith("source."):
            source = manifest["sources"][parents[0]]
            if (source["identifier"], node["column_name"]) in required:
                continue
        kind = (config.get("meta") or {}).get("invariant")
        if kind not in INVARIANT_KINDS or test not in INVARIANT_KINDS[kind][1]:
            problems.append(f"{node['original_file_path']}: {node['name']} (invariant: {kind})")
    return sorted(problems)


def test_every_blocking_test_is_an_invariant_of_the_code(manifest):
    assert blocking_tests_without_invariant(manifest) == []


def test_the_data_conditions_a_firm_can_create_are_warnings(manifest):
    """The tests a firm's data was seen to break (hand-written firms, issues 19 and 21)."""
    severities = {
        node["name"]: str(node["config"].get("severity", "error")).lower()
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
    }
    data_conditions = [
        "unique_stg_toggl__projects_project_name",
        "not_null_stg_toggl__time_entries_person_source_id",
        "not_null_stg_concur__expenses_reimbursement_currency",
        "unique_stg_salesforce__contracts_project_code",
        "unique_stg_hris__workers_email_normalized",
        "utilization_monthly_billable_hours_within_logged_hours",
        "project_financials_monthly_hours_nest",
        "billing_funnel_stages_narrow",
        "record_lags_not_negative",
        "fct_invoices_bill_a_month_ended_by_their_date",
    ]
    assert {name: severities[name] for name in data_conditions} == dict.fromkeys(
        data_conditions, "warn"
    )


def test_a_blocking_test_without_an_invariant_is_caught(manifest):
    """The rule bites: a unique test on a source natural key, declared nothing, is listed."""
    node = next(
        n
        for n in manifest["nodes"].values()
        if n["name"] == "unique_stg_toggl__projects_project_name"
    )
    forged = {
        "nodes": {"t": {**node, "config": {**node["config"], "severity": "ERROR", "meta": {}}}}
    }
    forged["sources"] = manifest["sources"]
    assert blocking_tests_without_invariant(forged) == [
        "models/staging/toggl/_toggl__models.yml: unique_stg_toggl__projects_project_name "
        "(invariant: None)"
    ]

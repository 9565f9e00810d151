"""A new PSA is its staging folder and one entry in the list of PSAs (var psa_sources).

A copy of the dbt project gets a fake third PSA, ``clockify``: a staging folder whose models
give the canonical columns (their contracts copied from an existing PSA's) from inline
values, and an entry in ``psa_sources``. Built on an empty warehouse, its entries reach
``fct_time_entries`` and the hours tie-out holds, though no other dbt file names it. A
staging model that drifts from the canonical columns fails at that model.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dagster_project.dbt import DBT_PROJECT_DIR, dbt_executable
from ingest.loader import load_landing
from ingest.warehouse import connect

PSA = "clockify"
TEMPLATE_PSA = "toggl"

#: Three exported versions of two entries: 901 was resubmitted with more hours. (Ids are
#: numeric: int_time_entries_unioned orders entries by their id as a number.)
TIME_ENTRIES_SQL = """
with

source as (

    select * from (
        values
        ('901', 'Ann', 2.0, timestamp '2025-06-02 17:00:00', 'submitted'),
        ('901', 'Ann', 3.5, timestamp '2025-06-03 09:00:00', 'approved'),
        ('902', 'Bob', 1.25, timestamp '2025-06-03 10:00:00', 'submitted')
    ) as entries (id, person, hours, changed_at, approval_status)

),

renamed as (

    select
        id as time_entry_source_id,
        lower(person) || '@example.com' as person_source_id,
        person as person_name,
        'Website' as project_ref,
        cast(null as varchar) as project_code,
        'Design' as task_ref,
        'Design' as task_name,
        cast(null as varchar) as client_name,
        date '2025-06-02' as work_date,
        cast(hours as decimal(12, 4)) as hours,
        cast(null as varchar) as notes,
        true as is_billable,
        cast(null as decimal(18, 4)) as psa_bill_rate,
        cast(null as decimal(18, 2)) as psa_amount,
        cast(null as varchar) as psa_currency,
        approval_status,
        changed_at as submitted_at,
        case when approval_status = 'approved' then changed_at end as approved_at,
        cast(null as timestamp) as created_at,
        changed_at as updated_at,
        cast(null as timestamp) as deleted_at,
        'clockify/time_entries/fake.json' as source_file,
        cast(null as varchar) as source_file_sha256,
        cast(1 as bigint) as source_row_number,
        changed_at as ingested_at,
        'fake' as load_id
    from source

)

select * from renamed
"""

PROJECTS_SQL = """
select
    cast(null as varchar) as project_source_id,
    cast(null as varchar) as project_ref,
    cast(null as varchar) as client_source_id,
    cast(null as varchar) as project_name,
    cast(null as varchar) as project_code,
    cast(null as varchar) as client_name,
    cast(null as boolean) as is_active,
    cast(null as boolean) as is_billable,
    cast(null as date) as start_date,
    cast(null as date) as end_date,
    cast(null as decimal(18, 4)) as default_bill_rate,
    cast(null as decimal(18, 2)) as fixed_fee_amount,
    cast(null as varchar) as currency,
    cast(null as timestamp) as updated_at,
    cast(null as timestamp) as first_ingested_at,
    cast(null as varchar) as source_file,
    cast(null as bigint) as source_row_number
where false
"""

PEOPLE_SQL = """
select distinct
    person_source_id,
    person_source_id as email_normalized
from {{ ref('stg_clockify__time_entries') }}
"""


def _add_psa(project: Path, time_entries_sql: str) -> None:
    """Add the fake PSA to the dbt project copy: its staging folder and its list entry."""
    folder = project / "models" / "staging" / PSA
    folder.mkdir()
    (folder / f"stg_{PSA}__time_entries.sql").write_text(time_entries_sql)
    (folder / f"stg_{PSA}__projects.sql").write_text(PROJECTS_SQL)
    (folder / f"stg_{PSA}__people.sql").write_text(PEOPLE_SQL)
    # the contracts are the canonical ones every PSA's staging has: copied from a PSA's
    template = project / "models" / "staging" / TEMPLATE_PSA / f"_{TEMPLATE_PSA}__models.yml"
    models = yaml.safe_load(template.read_text())["models"]
    contracted = [
        {**model, "name": model["name"].replace(TEMPLATE_PSA, PSA)}
        for model in models
        if model["name"].split("__")[-1] in ("time_entries", "projects", "people")
    ]
    assert len(contracted) == 3
    (folder / f"_{PSA}__models.yml").write_text(
        yaml.safe_dump({"version": 2, "models": contracted}, sort_keys=False)
    )
    project_file = project / "dbt_project.yml"
    config = yaml.safe_load(project_file.read_text())
    config["vars"]["psa_sources"].append({"name": PSA, "has_assignments": False})
    project_file.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def project_with_a_third_psa(tmp_path) -> Path:
    """A copy of the dbt project on an empty warehouse."""
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs")
    )
    (tmp_path / "landing").mkdir()
    with connect(tmp_path / "warehouse.duckdb") as con:
        load_landing(con, tmp_path / "landing")  # creates every declared raw table, empty
    return project


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            dbt_executable(),
            *args,
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--vars",
            "{as_of_date: 2025-06-30}",
        ],
        env={
            "PATH": str(Path(dbt_executable()).parent),
            "HOME": str(project.parent),
            "D2B_WAREHOUSE": str(project.parent / "warehouse.duckdb"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_third_psa_reaches_the_time_entry_facts(project_with_a_third_psa):
    project = project_with_a_third_psa
    _add_psa(project, TIME_ENTRIES_SQL)
    # the time-entry chain with its tests, and the hours tie-out (which reads the exceptions)
    built = _dbt(
        project,
        "build",
        "--select",
        "+fct_time_entries +billing_exceptions assert_time_entry_hours_tie_out",
        "--exclude-resource-type",
        "unit_test",
        # tests that also read models outside the selection are left out
        "--indirect-selection",
        "cautious",
    )
    assert built.returncode == 0, built.stdout[-4000:]
    assert "assert_time_entry_hours_tie_out" in built.stdout
    with connect(project.parent / "warehouse.duckdb", read_only=True) as con:
        versions = con.execute(
            "select count(*) from intermediate.int_time_entry_versions where source_system = ?",
            [PSA],
        ).fetchone()[0]
        facts = con.execute(
            "select source_id, hours, is_approved from marts.fct_time_entries "
            "where source_system = ? order by source_id",
            [PSA],
        ).fetchall()
    assert versions == 3
    assert [(source_id, float(hours), approved) for source_id, hours, approved in facts] == [
        ("901", 3.5, True),
        ("902", 1.25, False),
    ]


def test_a_psa_whose_staging_drifts_fails_at_its_own_model(project_with_a_third_psa):
    project = project_with_a_third_psa
    _add_psa(project, TIME_ENTRIES_SQL.replace("person as person_name,", ""))
    built = _dbt(project, "run", "--select", f"stg_{PSA}__time_entries")
    assert built.returncode != 0
    assert f"stg_{PSA}__time_entries" in built.stdout
    assert "person_name" in built.stdout and "contract" in built.stdout.lower()


def test_no_dbt_file_outside_its_staging_names_a_psa() -> None:
    """The PSAs are named once: the list in dbt_project.yml, and each PSA's own staging."""
    psas = [
        entry["name"]
        for entry in yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"][
            "psa_sources"
        ]
    ]
    assert len(psas) >= 2
    naming = {
        path.relative_to(DBT_PROJECT_DIR).as_posix()
        for path in DBT_PROJECT_DIR.rglob("*")
        if path.is_file()
        and path.suffix in {".sql", ".yml", ".yaml", ".csv", ".md"}
        and not {"target", "dbt_packages", "logs"} & set(path.relative_to(DBT_PROJECT_DIR).parts)
        and any(psa in path.read_text().lower() for psa in psas)
    }
    own_staging = {p for p in naming for psa in psas if p.startswith(f"models/staging/{psa}/")}
    assert naming - own_staging == {"dbt_project.yml"}


def test_a_union_over_no_psa_is_the_typed_empty_relation(project_with_a_third_psa):
    """No PSA has the property asked: the union is empty, with its columns and their types,
    so a model reading it needs no branch (int_time_entries_enriched's assignments)."""
    compiled = _dbt(
        project_with_a_third_psa,
        "compile",
        "--quiet",
        "--inline",
        "{{ union_psa_staging('user_assignments', {'project_source_id': 'varchar', "
        "'hours': 'decimal(12, 4)'}, property='no_psa_has_this', distinct=true) }}",
    )
    assert compiled.returncode == 0, compiled.stdout[-4000:]
    with connect(project_with_a_third_psa.parent / "warehouse.duckdb") as con:
        relation = con.sql(compiled.stdout)
        assert list(zip(relation.columns, map(str, relation.types), strict=True)) == [
            ("source_system", "VARCHAR"),
            ("project_source_id", "VARCHAR"),
            ("hours", "DECIMAL(12,4)"),
        ]
        assert relation.fetchall() == []

"""As-of rebuilds (issue 6): build the marts for a past date D, land the later files,
rebuild for D: every mart gives the same figures.

The early landing holds every file of the sample firm except the activity exports
(Harvest and Toggl time entries, Concur extracts) delivered more than a week after D: the
exports delivered in that week still report changes made up to D (Toggl's weekly window),
and also changes made after D, which the rebuild for D must ignore. Master data and the ERP
exports (delivered once, at the end of the firm's history) are in both. The later exports
carry only changes made after D: newer versions of records that existed at D (approvals,
rejections, resubmissions) and new records, some for days up to D, so a model that reads
the latest version, or counts what had not happened by D, changes its answer.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from dagster_project.dbt import DBT_PROJECT_DIR
from ingest.generator import GenerationResult
from ingest.warehouse import connect
from tests.pipeline_runs import dbt_check_failures, run_pipeline

AS_OF = date(2025, 5, 31)
ACTIVITY = {("harvest", "time_entries"), ("toggl", "time_entries"), ("concur", "expenses")}
#: Columns that describe the load, not the books: they differ between two warehouses.
LOAD_COLUMNS = {
    "ingested_at",
    "first_ingested_at",
    "first_seen_date",
    "source_file",
    "source_row_number",
    "version_count",
}
#: Marts about the pipeline itself (runs, checks, freshness: the operations folder), which
#: describe the run that built them, not the firm's figures as of a date.
PIPELINE_MARTS = {
    path.stem for path in (DBT_PROJECT_DIR / "models" / "marts" / "operations").glob("*.sql")
}


def early_landing(sample: GenerationResult, target: Path, cutoff: datetime) -> int:
    """Copy the sample's files known by ``cutoff`` into ``target``; return how many were
    left out."""
    manifest = json.loads((Path(sample.truth_dir) / "manifest.json").read_text())
    left_out = 0
    for entry in manifest["files"]:
        delivered = datetime.fromisoformat(entry["delivered_at"].replace("Z", "+00:00"))
        if (entry["system"], entry["entity"]) in ACTIVITY and delivered > cutoff:
            left_out += 1
            continue
        source = Path(sample.out_dir) / entry["path"]
        (target / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / entry["path"])
    return left_out


def mart_fingerprints(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Per mart: row count and an order-independent hash of its rows (load columns left out)."""
    out = {}
    with connect(warehouse, read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'marts' ORDER BY 1"
            ).fetchall()
            if t not in PIPELINE_MARTS
        ]
        for table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if c not in LOAD_COLUMNS
            ]
            row = ", ".join(f'"{c}"' for c in columns)
            count, digest = con.execute(
                f"SELECT count(*), coalesce(sum(hash(({row}))), 0) FROM marts.{table}"
            ).fetchone()
            out[table] = (count, int(digest))
    return out


@pytest.mark.slow
def test_a_past_as_of_date_gives_the_same_figures_after_later_files_land(
    sample: GenerationResult, tmp_path, dbt_manifest
) -> None:
    cutoff = datetime.combine(AS_OF + timedelta(days=8), time(3), tzinfo=UTC)
    early = tmp_path / "early" / "landing"
    left_out = early_landing(sample, early, cutoff)
    assert left_out > 10, "the later exports should hold weeks of activity"
    early_files = sorted(str(p.relative_to(early)) for p in early.rglob("*") if p.is_file())

    for run in run_pipeline(early, Path(sample.truth_dir), tmp_path / "early_home", AS_OF):
        assert not dbt_check_failures(run)
        before = mart_fingerprints(run.warehouse)

    # every file, including the exports delivered after D, rebuilt for D
    landing, truth = Path(sample.out_dir), Path(sample.truth_dir)
    for run in run_pipeline(landing, truth, tmp_path / "all_home", AS_OF):
        assert not dbt_check_failures(run)
        after = mart_fingerprints(run.warehouse)
        # the premise: the early files hold changes after D (the filter is exercised),
        # the later files hold only changes after D, some of them to days up to D
        with connect(run.warehouse, read_only=True) as con:
            later = con.execute(
                """
                SELECT
                    count(*) FILTER (WHERE updated_at >= $end AND is_early),
                    count(*) FILTER (WHERE updated_at < $end AND NOT is_early),
                    count(*) FILTER (WHERE spent_date <= $d AND NOT is_early)
                FROM (
                    SELECT *, list_contains($early, _source_file) AS is_early
                    FROM raw.harvest__time_entries
                )
                """,
                {"end": AS_OF + timedelta(days=1), "d": AS_OF, "early": early_files},
            ).fetchone()
        assert later[0] > 0 and later[1] == 0 and later[2] > 100, later

    assert before.keys() == after.keys()
    assert {"billing_funnel", "unbilled_approved_hours", "fct_time_entries"} <= set(before)
    differing = sorted(t for t in before if before[t] != after[t])
    assert not differing, {t: (before[t], after[t]) for t in differing}

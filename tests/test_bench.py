"""``d2b bench``: phases run in child processes, figures land in docs, tables are replaced."""

from __future__ import annotations

import ast
import json
import re
from datetime import date

import pytest

from bench import ladder
from ingest.landing import files_under, has_files


def test_phases_are_measured_and_written_to_the_docs(tmp_path):
    results = ladder.bench(
        [0.005],
        as_of=date(2025, 6, 30),
        phases=("generate", "ingest", "publish", "reference"),
        workroot=tmp_path / "work",
        echo=lambda _line: None,
    )

    assert [(r.phase, r.ok) for r in results] == [
        ("generate", True),
        ("ingest", True),
        ("publish", True),
        ("reference", True),  # its figures equal the generator's ground truth
    ]
    ingest = results[1]
    assert ingest.peak_rss_mb > 50 and ingest.seconds > 0
    assert "files_loaded" in ingest.detail  # the load report's summary line
    assert (tmp_path / "work" / "scale-0.005" / "warehouse.duckdb").exists()

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text("# Benchmarks\n\nHand-written notes stay.\n")
    ladder.write_results(results, docs)
    ladder.write_results(results, docs)

    text = (docs / "benchmarks.md").read_text()
    assert "Hand-written notes stay." in text
    assert text.count(ladder.BEGIN) == 1  # the second run replaced the table
    assert "| 0.005 | " in text and "generate | ingest | publish | reference" in text
    history = json.loads((docs / "benchmarks.json").read_text())
    assert len(history) == 2
    assert history[0]["machine"]["cores"] >= 1
    assert [r["phase"] for r in history[0]["results"]] == [
        "generate",
        "ingest",
        "publish",
        "reference",
    ]


def test_a_generated_firm_is_reused_only_from_its_landing_zone(tmp_path):
    work = tmp_path / "work"
    with pytest.raises(FileNotFoundError, match="no landing or ground_truth"):
        ladder.bench([0.005], phases=("ingest",), workroot=work, echo=lambda _line: None)

    ladder.bench(
        [0.005],
        as_of=date(2025, 6, 30),
        phases=("generate", "ingest"),
        workroot=work,
        echo=lambda _line: None,
    )
    with pytest.raises(FileExistsError, match="warehouse.duckdb"):
        ladder.bench([0.005], phases=("ingest",), workroot=work, echo=lambda _line: None)

    firm = work / "scale-0.005"
    (firm / "warehouse.duckdb").unlink()
    landed = sorted(p.name for p in (firm / "landing").rglob("*") if p.is_file())
    results = ladder.bench(
        [0.005], phases=("ingest", "incremental"), workroot=work, echo=lambda _line: None
    )
    assert [(r.phase, r.ok) for r in results] == [("ingest", True), ("incremental", True)]
    # the last day was held back before the ingest, then landed by the incremental phase
    summary = ast.literal_eval(results[0].detail)
    ingested = sum(count for key, count in summary.items() if key.startswith("files_"))
    held = int(results[1].detail.split(" new files")[0])
    assert held > 0 and ingested + held == len(landed)


def test_a_failing_phase_stops_its_scale_and_reports_why(tmp_path):
    # dbt on a firm's directory without a warehouse: the build cannot succeed.
    for name in ("landing", "ground_truth"):
        (tmp_path / "work" / "scale-0.005" / name).mkdir(parents=True)
    results = ladder.bench(
        [0.005],
        phases=("dbt_build", "checks"),
        workroot=tmp_path / "work",
        echo=lambda _line: None,
    )
    assert [(r.phase, r.ok) for r in results] == [("dbt_build", False)]
    assert results[0].detail


@pytest.mark.slow
def test_write_back_and_incremental_day_are_measured(tmp_path):
    """The held-back last day lands and refreshes; the write-back bills the last closed month
    into the embedded Tryton; the reference then sees every file and equals the truth."""
    results = ladder.bench(
        [0.005],
        as_of=date(2025, 6, 30),
        phases=(
            "generate",
            "ingest",
            "dbt_build",
            "incremental",
            "rerun",
            "write_back",
            "reference",
        ),
        workroot=tmp_path / "work",
        echo=lambda _line: None,
    )

    assert [(r.phase, r.ok) for r in results] == [
        ("generate", True),
        ("ingest", True),
        ("dbt_build", True),
        ("incremental", True),
        ("rerun", True),
        ("write_back", True),
        ("reference", True),
    ], [r.detail for r in results if not r.ok]
    incremental, rerun, write_back = results[3:6]
    assert "period 2025-06" in write_back.detail and "'reconciled'" in write_back.detail
    assert "new files" in incremental.detail and "dbt build" in incremental.detail
    assert "'files_loaded': 0" not in incremental.detail
    # the rerun lands nothing new: ingest loads no file, dbt still builds
    assert "'files_loaded': 0" in rerun.detail and "dbt build" in rerun.detail
    workdir = tmp_path / "work" / "scale-0.005"
    assert not has_files(workdir / "next_day")
    table = ladder.markdown_table(results, ladder.machine())
    assert "incremental / full" in table and "%" in table.splitlines()[-1]


def test_files_are_found_at_any_depth_with_or_without_a_suffix(tmp_path):
    assert not has_files(tmp_path / "missing")
    (tmp_path / "empty" / "nested").mkdir(parents=True)
    assert not has_files(tmp_path / "empty")
    (tmp_path / "empty" / "nested" / "EXPORT").write_text("x")
    (tmp_path / "empty" / "top.csv").write_text("x")
    assert has_files(tmp_path / "empty")
    assert sorted(p.name for p in files_under(tmp_path / "empty")) == ["EXPORT", "top.csv"]


def test_each_suite_runs_behind_d2b_bench_with_its_own_options(capsys):
    from bench import SUITES
    from dagster_project.cli import main as d2b

    with pytest.raises(SystemExit):
        d2b(["bench", "--help"])
    listing = capsys.readouterr().out
    for name in SUITES:
        assert f"\n  {name} " in listing
        with pytest.raises(SystemExit) as exit_:
            d2b(["bench", name, "--help"])
        assert exit_.value.code == 0
        assert f"usage: d2b bench {name} " in capsys.readouterr().out


@pytest.mark.slow
def test_write_back_is_measured_over_xmlrpc_beside_embedded(tmp_path):
    """With a trytond server configured, the write-back phase bills the same month into it over
    XML-RPC after the embedded ERP, and reports both send rates; the password stays unprinted."""
    from tests.support.bench_write_back_xmlrpc import bench_write_back_over_xmlrpc
    from tests.support.tryton_server import PASSWORD

    results = bench_write_back_over_xmlrpc(0.005, tmp_path / "work", echo=lambda _line: None)

    assert [(r.phase, r.ok) for r in results] == [
        ("generate", True),
        ("ingest", True),
        ("dbt_build", True),
        ("write_back", True),
    ], [r.detail for r in results if not r.ok]
    detail = results[-1].detail
    invoices = int(re.search(r"period 2025-06: (\d+) invoices", detail).group(1))
    figures = dict(
        (target, (int(rate), int(reconciled)))
        for target, rate, reconciled in re.findall(
            r"(embedded|XML-RPC): [^;]*?, (\d+) lines/s\), \{'reconciled': (\d+)\}", detail
        )
    )
    assert invoices > 0 and set(figures) == {"embedded", "XML-RPC"}, detail
    for target, (rate, reconciled) in figures.items():
        assert rate > 0 and reconciled == invoices, (target, detail)
    assert PASSWORD not in detail

"""User mistakes at the ``d2b`` command line: one line on stderr, exit code 2, no traceback.

Each case is refused before anything runs (no generation, no pipeline), so ``main`` is
called in-process.
"""

from __future__ import annotations

import os
from datetime import date

import duckdb
import pytest

from dagster_project.cli import main
from tests.harvest_pages import Entry, write_page


@pytest.fixture
def cli_environment(tmp_path):
    """A D2B_HOME of the test's own; the environment ``d2b`` exports is restored after."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("D2B_", "DAGSTER_")):
            del os.environ[name]
    os.environ["D2B_HOME"] = str(tmp_path / "home")
    yield tmp_path / "home"
    os.environ.clear()
    os.environ.update(saved)


def _d2b(capsys, *argv: str) -> tuple[int, str]:
    """Exit code and stderr of ``d2b argv`` (argparse's refusals exit through SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err


def _assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "error: " in err and "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("scale", ["-1", "0", "nan", "big"])
def test_generate_refuses_a_scale_that_is_not_a_positive_number(
    cli_environment, tmp_path, capsys, scale
):
    code, err = _d2b(capsys, "generate", "--scale", scale, "--out", str(tmp_path / "firm"))
    _assert_one_line_error(code, err, "--scale", scale)
    assert not (tmp_path / "firm").exists()


def test_generate_refuses_an_output_directory_that_holds_files(cli_environment, tmp_path, capsys):
    out = tmp_path / "firm"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    code, err = _d2b(capsys, "generate", "--out", str(out), "--quiet")
    _assert_one_line_error(code, err, str(out), "empty directory")
    assert [path.name for path in out.iterdir()] == ["notes.txt"]


def test_generate_refuses_an_output_directory_with_only_folders(cli_environment, tmp_path, capsys):
    """A landing zone is never mixed: even an empty system folder makes it non-empty."""
    out = tmp_path / "firm"
    (out / "harvest").mkdir(parents=True)
    code, err = _d2b(capsys, "generate", "--out", str(out), "--quiet")
    _assert_one_line_error(code, err, str(out), "not empty")


def test_generate_refuses_a_ground_truth_directory_that_holds_files(
    cli_environment, tmp_path, capsys
):
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "old.csv").write_text("a\n")
    code, err = _d2b(
        capsys, "generate", "--out", str(tmp_path / "firm"), "--truth", str(truth), "--quiet"
    )
    _assert_one_line_error(code, err, str(truth), "not empty")


def test_run_refuses_a_landing_directory_that_does_not_exist(cli_environment, tmp_path, capsys):
    missing = tmp_path / "mnt" / "landing"
    os.environ["D2B_LANDING"] = str(missing)
    code, err = _d2b(capsys, "run")
    _assert_one_line_error(code, err, str(missing), "does not exist")
    assert not missing.exists()
    assert not (cli_environment / "dagster").exists()


def test_run_refuses_an_as_of_date_before_the_data(cli_environment, capsys):
    """The last build's first time entry is of 2 January 2025: a build as of 1999 would
    publish empty marts, so it is refused before any run starts."""
    home = cli_environment
    write_page(home / "landing", "p1.json", [Entry(1, date(2025, 1, 2), 2)])
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.fct_time_entries AS "
            "SELECT DATE '2025-01-02' AS work_date UNION ALL SELECT DATE '2025-03-31'"
        )

    code, err = _d2b(capsys, "run", "--as-of", "1999-01-01")

    _assert_one_line_error(code, err, "1999-01-01", "2025-01-02")
    assert not (home / "dagster").exists()
    assert not (home / "serving").exists()


def test_an_argument_error_is_one_line_with_where_to_read_the_usage(cli_environment, capsys):
    code, err = _d2b(capsys, "run", "--as-of", "2026-13-01")
    _assert_one_line_error(code, err, "not a date", "d2b run --help")


@pytest.mark.parametrize(
    ("name", "value"), [("D2B_ENGINE", "oracle"), ("D2B_BILLING_BACKOFF_SCALE", "x")]
)
def test_a_mistyped_setting_is_refused_in_one_line(cli_environment, capsys, name, value):
    os.environ[name] = value
    code, err = _d2b(capsys, "run")
    _assert_one_line_error(code, err, name, value)
    assert not (cli_environment / "warehouse.duckdb").exists()

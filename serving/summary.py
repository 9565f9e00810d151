"""Human-readable summaries of a run for ``d2b run``.

Loads, rejections and headline figures; what a run held and why; and, when it failed,
which step, test or model failed, on which records.

``d2b run`` prints them; they read the warehouse file read-only, and dbt's artifacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest.warehouse import connect, table_exists

_TOP_PROJECTS = 10


def warehouse_summary(warehouse: Path) -> list[str]:
    """Lines describing what was loaded, what was rejected and the headline mart figures."""
    lines: list[str] = []
    with connect(warehouse, read_only=True) as con:
        files = con.execute(
            "SELECT status, count(*), sum(rows_loaded), sum(rows_rejected) "
            "FROM ops.landed_files GROUP BY status ORDER BY status"
        ).fetchall()
        lines.append("Landing zone (all loads so far):")
        for status, count, loaded, rejected in files:
            lines.append(
                f"  {status:<12} {count:>6} files  {loaded or 0:>10,} rows loaded"
                f"  {rejected or 0:>8,} rows rejected"
            )
        rejected_files = con.execute(
            "SELECT reason, count(*) FROM quarantine.rejected_files GROUP BY reason ORDER BY reason"
        ).fetchall()
        for reason, count in rejected_files:
            lines.append(f"  rejected file reason {reason}: {count}")
        row_reasons = con.execute(
            "SELECT reason, count(*) FROM quarantine.rejected_rows GROUP BY reason ORDER BY reason"
        ).fetchall()
        for reason, count in row_reasons:
            lines.append(f"  rejected row reason {reason}: {count}")

        (entries, hours) = con.execute(
            "SELECT count(*), coalesce(sum(hours), 0) FROM marts.fct_time_entries"
        ).fetchone()
        lines.append(f"Time entries (fct_time_entries): {entries:,} entries, {hours:,.2f} hours")

        totals = con.execute(
            "SELECT any_value(as_of_date), count(*), coalesce(sum(time_entry_count), 0), "
            "coalesce(sum(unbilled_approved_hours), 0), coalesce(sum(hours_aged_0_30), 0), "
            "coalesce(sum(hours_aged_31_60), 0), coalesce(sum(hours_aged_61_90), 0), "
            "coalesce(sum(hours_aged_91_120), 0), coalesce(sum(hours_aged_over_120), 0) "
            "FROM marts.unbilled_approved_hours"
        ).fetchone()
        as_of, projects, count, hours, *aging = totals
        lines.append(
            f"Unbilled approved hours as of {as_of}: {hours:,.2f} hours in {count:,} entries "
            f"on {projects:,} projects"
        )
        buckets = ("0-30", "31-60", "61-90", "91-120", ">120")
        lines.append(
            "  aged (days since approval): "
            + ", ".join(f"{b}: {h:,.2f}" for b, h in zip(buckets, aging, strict=True))
        )
        top = con.execute(
            "SELECT source_system, project_source_id, unbilled_approved_hours, time_entry_count "
            "FROM marts.unbilled_approved_hours "
            "ORDER BY unbilled_approved_hours DESC, project_source_id LIMIT ?",
            [_TOP_PROJECTS],
        ).fetchall()
        if top:
            lines.append(f"  top {len(top)} projects:")
            for system, project, project_hours, project_entries in top:
                lines.append(
                    f"    {system}:{project:<14} {project_hours:>12,.2f} h"
                    f"  ({project_entries:,} entries)"
                )
    return lines


# --- what a run held, and why a run failed ------------------------------------------------

#: How many failing records (and files, reasons) a summary names before "and N more".
EXAMPLES = 3
#: How many lines of a failed model's error a summary keeps.
ERROR_LINES = 3


@dataclass(frozen=True)
class CheckOutcome:
    """One asset check that did not pass in a run: where, which, how bad, how many records."""

    asset: str
    name: str
    severity: str
    """``ERROR`` (blocking) or ``WARN``."""
    detail: str
    """How many records failed (dbt tests) or the check's own figures (ingest checks)."""


@dataclass(frozen=True)
class DbtProblem:
    """A dbt node that errored, or a test that failed or warned, from ``run_results.json``."""

    kind: str
    """``model`` (or seed, snapshot) or ``test``."""
    name: str
    models: tuple[str, ...]
    """For a test: the model(s) it tests."""
    status: str
    """dbt's status: ``error``, ``fail`` or ``warn``."""
    message: str
    failures: int | None
    examples: tuple[str, ...]
    """A few failing records of a test, as ``column=value`` pairs."""


def dbt_problems(target_dir: Path, warehouse: Path) -> tuple[list[DbtProblem], int]:
    """The errored models and failed or warned tests of one dbt invocation, and its skips.

    ``target_dir`` holds the invocation's ``run_results.json`` and ``manifest.json``. A
    failing test's first records come from re-running its compiled SQL on the warehouse
    (read-only, ``EXAMPLES`` rows): dbt's results give only their count.
    """
    run_results = target_dir / "run_results.json"
    if not run_results.exists():
        return [], 0
    results = json.loads(run_results.read_text())["results"]
    manifest_path = target_dir / "manifest.json"
    nodes = json.loads(manifest_path.read_text())["nodes"] if manifest_path.exists() else {}
    problems: list[DbtProblem] = []
    skipped = sum(result["status"] == "skipped" for result in results)
    for result in results:
        if result["status"] not in ("error", "fail", "warn"):
            continue
        node = nodes.get(result["unique_id"], {})
        kind = node.get("resource_type") or result["unique_id"].split(".")[0]
        failures = result.get("failures")
        examples: tuple[str, ...] = ()
        if kind == "test" and failures and result.get("compiled_code"):
            examples = _failing_records(warehouse, result["compiled_code"])
        problems.append(
            DbtProblem(
                kind=kind,
                name=node.get("name") or result["unique_id"].split(".")[-1],
                models=_tested_models(node, nodes),
                status=result["status"],
                message=(result.get("message") or "").strip(),
                failures=failures,
                examples=examples,
            )
        )
    return problems, skipped


def _tested_models(test: dict, nodes: dict) -> tuple[str, ...]:
    attached = test.get("attached_node")
    parents = [attached] if attached else test.get("depends_on", {}).get("nodes", [])
    return tuple(nodes.get(parent, {}).get("name") or parent.split(".")[-1] for parent in parents)


def _failing_records(warehouse: Path, compiled_sql: str) -> tuple[str, ...]:
    try:
        with connect(warehouse, read_only=True) as con:
            cursor = con.execute(
                # on lines of their own: the compiled SQL may end in a comment
                f"SELECT * FROM (\n{compiled_sql.strip().rstrip(';')}\n) AS failing "
                f"LIMIT {EXAMPLES}"
            )
            columns = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
    except Exception as error:  # noqa: BLE001 - a summary never hides the failure it reports
        return (f"(could not re-run the test: {str(error).splitlines()[0]})",)
    return tuple(
        ", ".join(f"{column}={value}" for column, value in list(zip(columns, row, strict=True))[:4])
        for row in rows
    )


def failure_summary(
    failed_steps: list[tuple[str, str]],
    problems: list[DbtProblem],
    skipped: int,
    next_steps: list[str],
) -> list[str]:
    """Lines saying which step failed and why, on which records, and where to look next.

    ``failed_steps`` are (step, first line of its error); ``problems`` the dbt nodes that
    errored or failed (warnings are left to :func:`held_summary`).
    """
    lines = ["Why the run failed:"]
    for step, error in failed_steps:
        lines.append(f"  step {step} failed: {error}")
    for problem in problems:
        if problem.status == "warn":
            continue
        if problem.kind == "test":
            on = f" on {', '.join(problem.models)}" if problem.models else ""
            count = f"{problem.failures:,} failing records" if problem.failures else "error"
            lines.append(f"  dbt test {problem.name}{on}: {count}")
            lines.extend(f"    {example}" for example in problem.examples)
            if problem.failures is not None and problem.failures > len(problem.examples):
                lines.append(f"    ... and {problem.failures - len(problem.examples):,} more")
            if not problem.failures:
                lines.extend(_first_lines(problem.message))
        else:
            lines.append(f"  dbt {problem.kind} {problem.name} failed:")
            lines.extend(_first_lines(problem.message))
    if skipped:
        lines.append(f"  skipped downstream: {skipped:,} dbt nodes; nothing was published")
    lines.append("Where to look next:")
    lines.extend(f"  {step}" for step in next_steps)
    return lines


def _first_lines(message: str) -> list[str]:
    text = [line.strip() for line in message.splitlines() if line.strip()]
    return [f"    {line[:160]}" for line in text[:ERROR_LINES]]


def held_summary(
    warehouse: Path, warnings: list[CheckOutcome], since: datetime | None = None
) -> list[str]:
    """Lines saying what a run held and why.

    The warning checks that fired, the files and rows rejected at load (since ``since``,
    naive UTC like ingest's stamps; all when None) and the exception queue by owner team.
    """
    lines = ["What was held and why:"]
    for check in warnings:
        kind = "warning check" if check.severity == "WARN" else "check failed (not blocking)"
        lines.append(f"  {kind} {check.asset}:{check.name}: {check.detail}")
    with connect(warehouse, read_only=True) as con:
        window = "rejected_at >= ?" if since else "true"
        params = [since] if since else []
        files = con.execute(
            f"SELECT reason, count(*), list(source_file ORDER BY source_file) "
            f"FROM quarantine.rejected_files WHERE {window} GROUP BY reason ORDER BY reason",
            params,
        ).fetchall()
        for reason, count, names in files:
            shown = ", ".join(Path(name).name for name in names[:EXAMPLES])
            more = f" and {count - EXAMPLES} more" if count > EXAMPLES else ""
            lines.append(f"  rejected files ({reason}): {count:,}: {shown}{more}")
        rows = con.execute(
            f"SELECT reason, count(*), count(DISTINCT source_file) FROM quarantine.rejected_rows "
            f"WHERE {window} GROUP BY reason ORDER BY reason",
            params,
        ).fetchall()
        for reason, count, in_files in rows:
            lines.append(f"  rejected rows ({reason}): {count:,} in {in_files:,} files")
        exceptions = (
            con.execute(
                "SELECT owner_team, sum(n), list(reason || ' ' || n ORDER BY n DESC, reason) FROM ("
                "  SELECT owner_team, reason, count(*) AS n FROM marts.billing_exceptions"
                "  GROUP BY ALL"
                ") GROUP BY owner_team ORDER BY owner_team"
            ).fetchall()
            if table_exists(con, "marts.billing_exceptions")
            else []
        )
        for team, count, reasons in exceptions:
            more = f", {len(reasons) - EXAMPLES} more reasons" if len(reasons) > EXAMPLES else ""
            shown = ", ".join(reasons[:EXAMPLES])
            lines.append(f"  exceptions for {team}: {int(count):,} ({shown}{more})")
    if len(lines) == 1:
        lines.append("  nothing: no warning, no rejection, no exception")
    return lines

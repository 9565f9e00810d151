"""Human-readable summaries of a run for ``d2b run``.

Loads, rejections and headline figures; what a run held and why; and, when it failed,
which step, test or model failed, on which records.

``d2b run`` prints them; they read the warehouse file read-only, and dbt's artifacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ingest.warehouse import connect, table_exists

#: How many clients the summary names, largest work in progress first.
TOP_CLIENTS = 5
#: The aging buckets of unbilled_approved_hours: (column suffix, label).
AGING_BUCKETS = (
    ("0_30", "0-30"),
    ("31_60", "31-60"),
    ("61_90", "61-90"),
    ("91_120", "91-120"),
    ("over_120", "over 120"),
)


def money(amount, currency: str | None) -> str:
    """An amount as a person reads it: currency code, whole units (half up), thousands apart."""
    if amount is None:
        return "no value"
    whole = Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{currency or '(no currency)'} {whole:,}"


def count_of(count: int, noun: str) -> str:
    """``1 record``, ``2 records``: a count with its noun."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def warehouse_summary(warehouse: Path, top: int = TOP_CLIENTS) -> list[str]:
    """Lines in money after a run: loads, work in progress, revenue leakage.

    The files loaded so far, the work in progress (unbilled approved time) with its aging
    and its largest clients by name, and revenue leakage by cause.
    """
    with connect(warehouse, read_only=True) as con:
        lines = [_loads_line(con)]
        (entries, hours) = con.execute(
            "SELECT count(*), coalesce(sum(hours), 0) FROM marts.fct_time_entries"
        ).fetchone()
        lines.append(f"Time entries: {entries:,} entries, {hours:,.2f} hours")
        lines += _wip_lines(con, top)
        if table_exists(con, "marts.revenue_leakage"):
            lines += _leakage_lines(con)
    return lines


def _loads_line(con) -> str:
    files = con.execute(
        "SELECT status, count(*), coalesce(sum(rows_loaded), 0) FROM ops.landed_files "
        "GROUP BY status ORDER BY status = 'loaded' DESC, status"
    ).fetchall()
    parts = [
        f"{count:,} {status}" + (f" ({rows:,} rows)" if status == "loaded" else "")
        for status, count, rows in files
    ]
    return "Files loaded so far: " + (", ".join(parts) or "none")


def _wip_lines(con, top: int) -> list[str]:
    as_of, projects, entries, hours = con.execute(
        "SELECT any_value(as_of_date), count(*), coalesce(sum(time_entry_count), 0), "
        "coalesce(sum(unbilled_approved_hours), 0) FROM marts.unbilled_approved_hours"
    ).fetchone()
    by_currency = con.execute(
        "SELECT reporting_currency, sum(unbilled_value_reporting), "
        + ", ".join(f"sum(value_aged_{suffix}_reporting)" for suffix, _ in AGING_BUCKETS)
        + " FROM marts.unbilled_approved_hours WHERE unbilled_value_reporting IS NOT NULL "
        "GROUP BY ALL ORDER BY 2 DESC"
    ).fetchall()
    worth = " and ".join(money(row[1], row[0]) for row in by_currency)
    lines = [
        f"Unbilled approved hours as of {as_of}: {hours:,.2f} hours in {entries:,} entries "
        f"on {projects:,} projects" + (f", worth {worth} (work in progress)" if worth else "")
    ]
    for currency, _, *aged in by_currency:
        lines.append(
            "  aged by days since approval: "
            + "; ".join(
                f"{label} {money(value, currency)}"
                for (_, label), value in zip(AGING_BUCKETS, aged, strict=True)
            )
        )
    clients = con.execute(
        # a project without a known client (or no master data at all) shows as itself
        "SELECT coalesce(c.client_name, p.psa_client_name, "
        "         u.source_system || ':' || u.project_source_id) AS client, "
        "       u.reporting_currency, sum(u.unbilled_value_reporting), "
        "       sum(u.value_aged_over_120_reporting), sum(u.unbilled_approved_hours) "
        "FROM marts.unbilled_approved_hours AS u "
        "LEFT JOIN marts.dim_projects AS p ON p.project_id = u.project_id "
        "LEFT JOIN marts.dim_clients AS c ON c.client_id = p.client_id "
        "GROUP BY ALL ORDER BY 3 DESC NULLS LAST, 5 DESC, 1 LIMIT ?",
        [top],
    ).fetchall()
    if clients:
        lines.append(f"  largest {len(clients)} clients by work in progress:")
    width = max((len(client) for client, *_ in clients), default=0)
    for client, currency, value, over_120, client_hours in clients:
        old = f", {money(over_120, currency)} over 120 days" if over_120 else ""
        lines.append(
            f"    {client:<{width}}  {money(value, currency):>15}  ({client_hours:,.2f} h{old})"
        )
    return lines


def _leakage_lines(con) -> list[str]:
    causes = con.execute(
        "SELECT cause, reporting_currency, sum(leakage_amount_reporting), count(*) "
        "FROM marts.revenue_leakage GROUP BY ALL ORDER BY 3 DESC NULLS LAST, cause"
    ).fetchall()
    if not causes:
        return ["Revenue leakage: none found"]
    totals: dict[str | None, float] = {}
    for _, currency, amount, _ in causes:
        totals[currency] = totals.get(currency, 0) + (amount or 0)
    records = sum(count for *_, count in causes)
    lines = [
        f"Revenue leakage: {' and '.join(money(v, c) for c, v in totals.items())} "
        f"in {count_of(records, 'record')}, by cause:"
    ]
    width = max(len(cause) for cause, *_ in causes)
    for cause, currency, amount, count in causes:
        label = cause.replace("_", " ")
        lines.append(
            f"  {label:<{width}}  {money(amount, currency):>15}  ({count_of(count, 'record')})"
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

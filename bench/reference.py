"""The benchmark's reference: the headline figures by one hand-written DuckDB script.

``bench/headline_figures.sql`` computes the funnel of hours, unbilled WIP per project and
the lags of docs/design.md §4 straight from the landing files (no ingest, no dbt, no orchestration).
This module runs it in an in-memory DuckDB and compares its figures with the generator's
ground truth (docs/generator.md, "Ground truth")::

    uv run d2b bench reference --landing DIR --as-of 2025-06-30 [--truth DIR]

The script never reads the ground truth; only :func:`compare_with_truth` does.
"""

from __future__ import annotations

import argparse
import csv
import math
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

SCRIPT = Path(__file__).resolve().parent / "headline_figures.sql"

#: The result tables of the script, in the order they are reported.
RESULT_TABLES = (
    "funnel_hours",
    "unbilled_wip",
    "expense_posting_lags",
    "invoice_release_delays",
    "lag_summary",
    "time_entry_exceptions",
    "skipped_files",
)

#: docs/design.md §4 SLA defaults in business days, by the script's variable name.
DEFAULT_SLAS = {"sla_time_approval": 2, "sla_expense_posting": 10, "sla_invoice_release": 5}

#: How many differences per table are spelled out (the rest are counted).
MAX_DETAILS = 10


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def compute_reference(
    landing: Path,
    as_of: date,
    slas: Mapping[str, int] | None = None,
    threads: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the reference script on a landing zone; return its result tables by name.

    ``landing`` is the landing root (``<landing>/<system>/<entity>/<file>``), ``as_of`` the
    as-of date (events up to 23:59:59 UTC of that day). ``slas`` overrides the SLA defaults
    of :data:`DEFAULT_SLAS` (business days); ``threads`` caps DuckDB's threads (default: all
    cores). Hours and money come back as :class:`~decimal.Decimal`, dates as
    :class:`~datetime.date`, so the figures compare exactly.
    """
    landing = Path(landing).resolve()
    if not landing.is_dir():
        raise FileNotFoundError(f"landing zone not found: {landing}")
    unknown = set(slas or {}) - set(DEFAULT_SLAS)
    if unknown:
        raise ValueError(f"unknown SLA names {sorted(unknown)}; known: {sorted(DEFAULT_SLAS)}")
    con = duckdb.connect(":memory:")
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET VARIABLE landing = {_sql_text(landing.as_posix())}")
        con.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
        for name, days in {**DEFAULT_SLAS, **(slas or {})}.items():
            con.execute(f"SET VARIABLE {name} = {int(days)}")
        con.execute(SCRIPT.read_text(encoding="utf-8"))
        return {
            table: con.sql(f"SELECT * FROM {table} ORDER BY ALL")
            .arrow()
            .read_all()
            .to_pandas(integer_object_nulls=True)
            for table in RESULT_TABLES
        }
    finally:
        con.close()


# --- comparison with the ground truth -------------------------------------------------------


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


def _money(value: object) -> str:
    return "" if _missing(value) else f"{Decimal(str(value)):.2f}"


def _integer(value: object) -> str:
    return "" if _missing(value) else str(int(value))


def _day(value: object) -> str:
    if _missing(value):
        return ""
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _instant(value: object) -> str:
    return "" if _missing(value) else pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


#: Per truth file: the reference table, its key columns and how each column is written in
#: the truth (so both sides compare as the same text: exact hours/money, days, seconds).
_TRUTH_TABLES: dict[str, tuple[str, tuple[str, ...], dict[str, Callable[[object], str]]]] = {
    "funnel_hours.csv": (
        "funnel_hours",
        ("project_code", "work_month"),
        {
            "project_code": _text,
            "work_month": _text,
            "delivered_hours": _money,
            "approved_hours": _money,
            "billable_hours": _money,
            "invoiced_hours": _money,
            "paid_hours": _money,
        },
    ),
    "unbilled_wip.csv": (
        "unbilled_wip",
        ("project_code",),
        {
            "project_code": _text,
            "contract_id": _text,
            "currency": _text,
            "unbilled_hours": _money,
            "unbilled_value": _money,
            **{
                f"{kind}_{bucket}": _money
                for bucket in ("0_30", "31_60", "61_90", "91_120", "over_120")
                for kind in ("hours", "value")
            },
        },
    ),
    "expense_posting_lags.csv": (
        "expense_posting_lags",
        ("concur_entry_id",),
        {
            "concur_entry_id": _integer,
            "report_id": _text,
            "approved_at": _instant,
            "posted_date": _day,
            "lag_days": _integer,
            "lag_business_days": _integer,
        },
    ),
    "invoice_release_delays.csv": (
        "invoice_release_delays",
        ("internal_id",),
        {
            "internal_id": _integer,
            "tranid": _text,
            "ready_date": _day,
            "released_date": _day,
            "delay_days": _integer,
            "delay_business_days": _integer,
        },
    ),
}


def _read_truth(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _compare_rows(
    name: str,
    ours: dict[tuple[str, ...], dict[str, str]],
    truth: dict[tuple[str, ...], dict[str, str]],
) -> list[str]:
    out: list[str] = []
    for label, keys in (
        ("only in the reference", sorted(set(ours) - set(truth))),
        ("only in the truth", sorted(set(truth) - set(ours))),
    ):
        if keys:
            shown = ", ".join("/".join(k) for k in keys[:MAX_DETAILS])
            more = f" (+{len(keys) - MAX_DETAILS} more)" if len(keys) > MAX_DETAILS else ""
            out.append(f"{name}: {len(keys)} rows {label}: {shown}{more}")
    mismatches = [
        f"{name}[{'/'.join(key)}].{column}: reference {ours[key][column]!r}, truth {value!r}"
        for key in sorted(set(ours) & set(truth))
        for column, value in truth[key].items()
        if ours[key].get(column) != value
    ]
    out.extend(mismatches[:MAX_DETAILS])
    if len(mismatches) > MAX_DETAILS:
        out.append(f"{name}: {len(mismatches) - MAX_DETAILS} more differing values")
    return out


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Continuous quantile (linear interpolation), as DuckDB's quantile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _summary_from_truth(rows: list[dict[str, str]], days: str, business: str, sla: int) -> dict:
    measured = [r for r in rows if r[days] != ""]
    d = [float(r[days]) for r in measured]
    b = [float(r[business]) for r in measured]
    return {
        "measured": len(measured),
        "median_days": _quantile(d, 0.5),
        "p90_days": _quantile(d, 0.9),
        "median_business_days": _quantile(b, 0.5),
        "p90_business_days": _quantile(b, 0.9),
        "sla_breaches": sum(1 for x in b if x > sla),
    }


def compare_with_truth(results: Mapping[str, pd.DataFrame], truth_dir: Path) -> list[str]:
    """Differences between the reference's figures and the generator's ground truth.

    Returns human-readable lines, empty when both agree. Compared exactly: every row and
    column of ``funnel_hours.csv``, ``unbilled_wip.csv`` (hours and money to the cent),
    ``expense_posting_lags.csv`` (approval to the second, lags to the day) and
    ``invoice_release_delays.csv``; the time-entry rows of ``defects_records.csv`` against
    ``time_entry_exceptions``; the malformed and duplicate files of ``defects_files.csv``
    against ``skipped_files``; and the median, p90 and SLA breaches of the expense posting
    lag and invoice release delay recomputed from the truth files against ``lag_summary``.
    """
    truth_dir = Path(truth_dir)
    out: list[str] = []
    truth_rows: dict[str, list[dict[str, str]]] = {}
    for file_name, (table, key, columns) in _TRUTH_TABLES.items():
        rows = truth_rows[file_name] = _read_truth(truth_dir / file_name)
        truth = {tuple(r[k] for k in key): r for r in rows}
        frame = results[table]
        ours = {}
        for record in frame[list(columns)].to_dict("records"):
            text = {c: fmt(record[c]) for c, fmt in columns.items()}
            ours[tuple(text[k] for k in key)] = text
        if len(ours) != len(frame):
            out.append(f"{table}: {len(frame) - len(ours)} duplicate keys in the reference")
        out.extend(_compare_rows(table, ours, truth))

    flagged = {
        (r["system"], r["source_id"], r["reason"])
        for r in _read_truth(truth_dir / "defects_records.csv")
        if r["entity"] == "time_entries"
    }
    found = {
        (r["source"], str(int(r["entry_id"])), r["reason"])
        for r in results["time_entry_exceptions"].to_dict("records")
    }
    for label, items in (("not planted", found - flagged), ("missed", flagged - found)):
        if items:
            shown = ", ".join(":".join(i) for i in sorted(items)[:MAX_DETAILS])
            out.append(f"time_entry_exceptions: {len(items)} {label}: {shown}")

    expected_skips = {
        (r["path"], {"malformed": "unparseable", "duplicate": "duplicate"}[r["kind"]])
        for r in _read_truth(truth_dir / "defects_files.csv")
        if r["kind"] in ("malformed", "duplicate")
    }
    skipped = {(r["path"], r["reason"]) for r in results["skipped_files"].to_dict("records")}
    if skipped != expected_skips:
        out.append(
            f"skipped_files: reference {sorted(skipped)}, truth expects {sorted(expected_skips)}"
        )

    summary = {r["metric"]: r for r in results["lag_summary"].to_dict("records")}
    for metric, file_name, days, business in (
        ("expense_posting_lag", "expense_posting_lags.csv", "lag_days", "lag_business_days"),
        (
            "invoice_release_delay",
            "invoice_release_delays.csv",
            "delay_days",
            "delay_business_days",
        ),
    ):
        ours = summary.get(metric)
        if ours is None:
            out.append(f"lag_summary: no row for {metric}")
            continue
        expected = _summary_from_truth(
            truth_rows[file_name], days, business, int(ours["sla_business_days"])
        )
        for column, value in expected.items():
            got = ours[column]
            same = (
                _missing(got) and value is None
                if value is None or _missing(got)
                else math.isclose(float(got), float(value), rel_tol=0, abs_tol=1e-9)
            )
            if not same:
                out.append(f"lag_summary[{metric}].{column}: reference {got}, truth {value}")
    return out


# --- command line ---------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reference on a landing zone, print timing, figures and truth differences."""
    parser = argparse.ArgumentParser(
        prog="d2b bench reference",
        description="Headline figures straight from the landing files (reference SQL script).",
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing root")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--truth", type=Path, help="ground-truth dir to compare with")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results = compute_reference(args.landing, args.as_of, threads=args.threads)
    seconds = time.perf_counter() - started
    print(f"reference: {args.landing} as of {args.as_of}")
    print(f"  wall time {seconds:.1f} s, peak RSS {_peak_rss_mb():,.0f} MB")
    for table in RESULT_TABLES:
        print(f"  {table}: {len(results[table]):,} rows")
    funnel = results["funnel_hours"]
    for column in ("delivered_hours", "approved_hours", "billable_hours", "invoiced_hours"):
        print(f"  total {column}: {sum(funnel[column], Decimal(0)):,.2f}")
    wip = results["unbilled_wip"]
    print(f"  unbilled WIP: {sum(wip['unbilled_hours'], Decimal(0)):,.2f} h in {len(wip)} projects")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(results["lag_summary"].to_string(index=False))
    for row in results["skipped_files"].to_dict("records"):
        print(f"  skipped {row['path']}: {row['reason']}")
    if args.truth is None:
        return 0
    started = time.perf_counter()
    differences = compare_with_truth(results, args.truth)
    print(f"compared with {args.truth} in {time.perf_counter() - started:.1f} s")
    for line in differences:
        print(f"  DIFF {line}")
    print(f"  {len(differences)} differences" if differences else "  no differences")
    return 1 if differences else 0

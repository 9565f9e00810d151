"""Page-render benchmark of the dashboards (not a test): query latency and render time per page.

::

    uv run d2b bench dashboards --home $D2B_HOME [--runs 5] [--json out.json]

For each page it runs the app once under Streamlit's AppTest, recording the queries the page
issues (name and bound parameters, default filters), then times:

- **queries**: each recorded query ``--runs`` times against the published snapshot without
  the result cache (``data.run_uncached``, on the app's shared read-only connection); the
  page's query time per run is the sum over its queries;
- **render (cold)**: the whole page under AppTest with Streamlit's data cache cleared first
  (every query runs, plus the page's pandas and Plotly work and Streamlit's serialization);
- **render (warm)**: the same page again with the cache filled (a user switching pages).

It prints p50 / p95 per page (and per query with ``--queries``). The Trace page is measured
with a time entry on an invoice typed into its search box. Browser paint time is not
included: AppTest runs the script, not a browser.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from d2b.settings import Settings

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"


@dataclass
class PageResult:
    """Timings of one page, in milliseconds."""

    page: str
    queries: list[str] = field(default_factory=list)
    query_ms: list[float] = field(default_factory=list)
    cold_ms: list[float] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    per_query_ms: dict[str, list[float]] = field(default_factory=dict)


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (nearest rank, 0 < share <= 1) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def _trace_needle(snapshot_path: Path) -> str | None:
    import duckdb

    with duckdb.connect(str(snapshot_path), read_only=True) as con:
        row = con.execute(
            "SELECT source_id FROM marts.fct_time_entries WHERE is_invoiced "
            "ORDER BY work_date, source_id LIMIT 1"
        ).fetchone()
    return row[0] if row else None


def _render(page: str, needle: str | None) -> Callable[..., float]:
    """A function that opens the app, then times switching to ``page`` and rendering it.

    The app's first run (its default page) is not timed: the measure is a user navigating
    to the page in an open session. ``before`` runs just before the timed part.
    """
    from streamlit.testing.v1 import AppTest

    def run(before: Callable[[], None] = lambda: None) -> float:
        app = AppTest.from_file(str(APP), default_timeout=600)
        app.run()
        before()
        started = time.perf_counter()
        app.switch_page(page)
        app.run()
        if needle is not None and page.endswith("trace.py"):
            app.text_input(key="trace_needle").input(needle).run()
        elapsed = (time.perf_counter() - started) * 1000
        if app.exception:
            raise RuntimeError(f"{page}: {app.exception[0].message}")
        return elapsed

    return run


def measure(home: Path, runs: int, pages: Sequence[str] | None = None) -> list[PageResult]:
    """Time every page of the app on the snapshot published under ``home``."""
    os.environ["D2B_HOME"] = str(home)
    # the pages as the demo user sees them (everything, no sign-in): the executive's load
    os.environ["D2B_DASHBOARD_DEMO"] = "true"
    import streamlit as st

    from dashboards import data
    from dashboards.navigation import PAGE_SPECS

    snapshot = data.current_snapshot()
    if snapshot is None:
        raise SystemExit(f"no serving snapshot published under {home}")
    needle = _trace_needle(snapshot.path)
    recorded: list[tuple[str, tuple]] = []
    cached = data._run

    def recording(path: str, name: str, params: tuple) -> Any:
        if path == str(snapshot.path):
            recorded.append((name, params))
        return cached(path, name, params)

    results = []
    for spec in PAGE_SPECS:
        if pages and spec.url_path not in pages:
            continue
        result = PageResult(spec.url_path)
        render = _render(spec.script, needle)

        def record() -> None:
            recorded.clear()
            st.cache_data.clear()
            data._run = recording

        try:
            render(record)
        finally:
            data._run = cached
        calls = list(dict.fromkeys(recorded))  # unique, in order
        result.queries = [name for name, _ in calls]
        for _ in range(runs):
            total = 0.0
            for name, params in calls:
                started = time.perf_counter()
                data.run_uncached(snapshot.path, name, dict(params))
                elapsed = (time.perf_counter() - started) * 1000
                result.per_query_ms.setdefault(name, []).append(elapsed)
                total += elapsed
            result.query_ms.append(total)
        for _ in range(runs):
            result.cold_ms.append(render(st.cache_data.clear))
            result.warm_ms.append(render())
        results.append(result)
    return results


def report(results: Sequence[PageResult], *, per_query: bool = False) -> str:
    """The results as a text table (milliseconds)."""
    lines = [
        f"{'page':<20} {'queries':>7} {'query p50':>10} {'query p95':>10} "
        f"{'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9}"
    ]
    for r in results:
        lines.append(
            f"{r.page:<20} {len(r.queries):>7} {percentile(r.query_ms, 0.5):>10.0f} "
            f"{percentile(r.query_ms, 0.95):>10.0f} {percentile(r.cold_ms, 0.5):>9.0f} "
            f"{percentile(r.cold_ms, 0.95):>9.0f} {percentile(r.warm_ms, 0.5):>9.0f} "
            f"{percentile(r.warm_ms, 0.95):>9.0f}"
        )
        if per_query:
            for name, values in r.per_query_ms.items():
                lines.append(
                    f"  {name:<28} p50 {percentile(values, 0.5):7.1f}  "
                    f"p95 {percentile(values, 0.95):7.1f}"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: measure, print, optionally write JSON."""
    parser = argparse.ArgumentParser(prog="d2b bench dashboards", description=__doc__)
    parser.add_argument("--home", type=Path, default=None, help="D2B_HOME (default: env)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per page (default 5)")
    parser.add_argument("--page", action="append", help="only this page (url path); repeat")
    parser.add_argument("--queries", action="store_true", help="also print each query")
    parser.add_argument("--json", type=Path, help="write the raw timings here")
    args = parser.parse_args(argv)
    home = args.home or Settings.from_env().home
    results = measure(home.resolve(), max(args.runs, 1), args.page)
    from dashboards.data import current_snapshot

    snapshot = current_snapshot()
    print(f"snapshot {snapshot.version} ({snapshot.path.stat().st_size / 1e6:,.0f} MB)")
    print(f"{max(args.runs, 1)} runs per page, milliseconds; queries uncached, render via AppTest")
    print(report(results, per_query=args.queries))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"snapshot": snapshot.version, "pages": [asdict(r) for r in results]}, indent=2
            )
        )
    return 0

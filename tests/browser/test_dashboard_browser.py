"""Every dashboard page in a real browser (Debian's Chromium driven by Playwright).

Starts ``d2b dashboard`` on a free loopback port against the default sample firm's published
snapshot (``sample_run``), loads each page, checks that no exception is shown and that a
known figure (computed here from the snapshot with SQL of its own) appears in its tile, and
saves a full-page screenshot per page under ``test-artifacts/browser/``. The Trace page is
driven like a user: an invoiced time entry's id typed into its search box.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from dashboards import format as fmt
from dashboards.navigation import PAGE_SPECS, page_url
from tests.support.dashboard_server import chromium, running_dashboard

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

#: Per page: the tile to read and how to compute what it must show from the snapshot.
KNOWN_FIGURES: dict[str, tuple[str, str, Callable]] = {
    "executive": (
        "WIP value (USD)",
        "SELECT sum(unbilled_value_reporting) FROM marts.unbilled_approved_hours",
        fmt.money,
    ),
    "utilization-margin": (
        "Capacity hours",
        "SELECT sum(capacity_hours) FROM marts.utilization_monthly",
        fmt.hours,
    ),
    "billing-operations": (
        "Open exceptions",
        "SELECT count(*) FROM marts.billing_exceptions",
        fmt.count,
    ),
    "reconciliation": (
        "Records matched",
        "SELECT count(*) FROM marts.reconciliation_records WHERE reconciliation_status = 'matched'",
        fmt.count,
    ),
    "data-health": (
        "Rows rejected",
        "SELECT sum(rows_rejected) FROM marts.pipeline_health_sources",
        lambda rows: f"{rows:,}",
    ),
}
#: An invoiced (and paid) time entry for the Trace page, and its invoice number.
TRACED = (
    "SELECT t.source_id, i.invoice_number FROM marts.fct_time_entries t "
    "JOIN marts.fct_invoices i USING (invoice_id) WHERE t.is_paid "
    "ORDER BY t.work_date, t.source_id LIMIT 1"
)


@pytest.fixture(scope="module")
def home(sample_run) -> Path:
    return sample_run.warehouse.parent


@pytest.fixture(scope="module")
def snapshot_rows(home) -> Callable[[str], list[tuple]]:
    serving = home / "serving"
    path = serving / "snapshots" / json.loads((serving / "CURRENT").read_text())["file"]

    def rows(sql: str) -> list[tuple]:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql).fetchall()

    return rows


@pytest.fixture(scope="module")
def dashboard_url(home):
    with running_dashboard({"D2B_HOME": str(home)}, "--demo") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def tile_value(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to it."""
    height = page.evaluate(
        "() => (document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
        " || document.body).scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": min(max(1000, height + 200), 16000)})
    page.wait_for_timeout(1500)  # let charts redraw at the new size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_clean(page, errors: list[str]) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert errors == []


@pytest.mark.parametrize("spec", PAGE_SPECS, ids=lambda spec: spec.url_path)
def test_page_loads_without_exception_and_shows_its_figures(
    dashboard_url, browser, snapshot_rows, spec
):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{dashboard_url}/{page_url(spec)}", wait_until="networkidle")
    page.get_by_text(spec.landmark).first.wait_for(timeout=60_000)
    if spec.url_path == "trace":
        source_id, invoice_number = snapshot_rows(TRACED)[0]
        search = page.locator(".st-key-trace_needle input")
        search.fill(source_id)
        search.press("Enter")
        page.get_by_text(f"Time entry {source_id}").first.wait_for(timeout=60_000)
        # the invoice line table (a canvas grid: its cells are in the DOM, not visible)
        page.get_by_text(invoice_number).first.wait_for(state="attached", timeout=30_000)
    else:
        label, sql, shown_as = KNOWN_FIGURES[spec.url_path]
        ((value,),) = snapshot_rows(sql)
        page.locator('[data-testid="stMetric"]').filter(has_text=label).first.wait_for(
            timeout=60_000
        )
        assert tile_value(page, label) == shown_as(value)
    page.wait_for_timeout(1000)  # let charts finish drawing before the screenshot
    screenshot(page, spec.url_path)
    assert_clean(page, errors)
    page.close()


def test_filters_survive_switching_pages_and_live_in_the_url(dashboard_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{dashboard_url}/?currency=contract&period_from=2025-01", wait_until="networkidle")
    page.get_by_text("Deliver-to-bill funnel").first.wait_for(timeout=60_000)
    page.get_by_role("link", name="Reconciliation").click()
    page.get_by_text("Control totals per batch").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    assert "currency=contract" in page.url and "period_from=2025-01" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()

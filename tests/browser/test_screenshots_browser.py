"""Every dashboard page at 1440x1000 in Chromium, screenshotted for review (issue 23).

On the default sample firm's published snapshot (``sample_run``) each page is loaded as a
user opens it, saved as ``<page>.png`` in the test's output directory (the path is printed),
and checked for what a reader should never see: a ``None`` or ``nan`` cell, a raw
``snake_case`` column header, or a chart without a title.
"""

from __future__ import annotations

import re

import pytest

from dashboards.navigation import PAGE_SPECS, page_url
from tests.support.dashboard_server import chromium, running_dashboard

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1440, "height": 1000}
SNAKE_CASE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)+$")
#: What a missing value reads as when a table forgets to format it.
MISSING_SPELLINGS = frozenset({"None", "nan", "NaN", "<NA>", "NaT", "null"})
#: Pages whose charts are not titled yet: Billing operations is being reworked elsewhere
#: (its three charts go through ``dashboards.ui.plot`` with that work).
UNTITLED_CHARTS_PAGES = frozenset({"billing-operations"})


@pytest.fixture(scope="module")
def dashboard_url(sample_run):
    with running_dashboard({"D2B_HOME": str(sample_run.warehouse.parent)}, "--demo") as url:
        yield url


def test_every_page_at_1440x1000_reads_cleanly(dashboard_url, tmp_path):
    print(f"screenshots in {tmp_path}")
    problems: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        for spec in PAGE_SPECS:
            page.goto(f"{dashboard_url}/{page_url(spec)}", wait_until="networkidle")
            page.get_by_text(spec.landmark).first.wait_for(timeout=60_000)
            page.wait_for_timeout(3000)  # let tables and charts finish drawing
            page.screenshot(path=str(tmp_path / f"{spec.url_path}.png"))
            assert page.locator('[data-testid="stException"]').count() == 0, spec.url_path
            grids = page.locator('[data-testid="stDataFrame"]')
            headers = grids.locator('[role="columnheader"]').all_text_contents()
            cells = grids.locator('[role="gridcell"]').all_text_contents()
            problems += [
                f"{spec.url_path}: raw header {h.strip()!r}"
                for h in headers
                if SNAKE_CASE.match(h.strip())
            ]
            problems += [
                f"{spec.url_path}: cell {c.strip()!r}"
                for c in cells
                if c.strip() in MISSING_SPELLINGS
            ]
            charts = page.locator('[data-testid="stPlotlyChart"]').all()
            if spec.url_path in UNTITLED_CHARTS_PAGES:
                charts = []
            for chart in charts:
                if not "".join(chart.locator(".gtitle").all_text_contents()).strip():
                    problems.append(f"{spec.url_path}: a chart without a title")
        page.close()
    assert sorted(set(problems)) == []
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        f"{spec.url_path}.png" for spec in PAGE_SPECS
    )

"""Every dashboard page at 1440x1000 in Chromium, screenshotted for review (issue 23).

On the default sample firm's published snapshot (``sample_run``) each page is loaded as a
user opens it, saved as ``<page>.png`` in the test's output directory (the path is printed),
and checked for what a reader should never see: an exception, a chart without a title, a table
header in snake_case or a cell reading None or nan. (Tables are drawn on a canvas; their cells
and headers are read from the accessible grid the data grid keeps beside it.)
"""

from __future__ import annotations

import re

import pytest

from dashboards.navigation import PAGE_SPECS, page_url
from tests.support.dashboard_server import chromium, running_dashboard

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1440, "height": 1000}
SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
#: What a missing value must never read as (the grid's placeholder is a dash).
MISSING_AS_CODE = {"None", "none", "nan", "NaN", "<NA>", "NaT", "null"}


@pytest.fixture(scope="module")
def dashboard_url(sample_run):
    with running_dashboard({"D2B_HOME": str(sample_run.warehouse.parent)}, "--demo") as url:
        yield url


def test_every_page_at_1440x1000_reads_cleanly(dashboard_url, tmp_path):
    print(f"screenshots in {tmp_path}")
    problems: list[str] = []
    headers_seen = 0
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        for spec in PAGE_SPECS:
            page.goto(f"{dashboard_url}/{page_url(spec)}", wait_until="networkidle")
            page.get_by_text(spec.landmark).first.wait_for(timeout=60_000)
            page.wait_for_timeout(3000)  # let tables and charts finish drawing
            page.screenshot(path=str(tmp_path / f"{spec.url_path}.png"))
            assert page.locator('[data-testid="stException"]').count() == 0, spec.url_path
            tables = page.locator('[data-testid="stDataFrame"]').all()
            for grid in tables:
                for header in grid.locator('[role="columnheader"]').all_text_contents():
                    if SNAKE_CASE.match(header.strip()):
                        problems.append(f"{spec.url_path}: a raw header {header.strip()!r}")
                for cell in grid.locator('[role="gridcell"]').all_text_contents():
                    if cell.strip() in MISSING_AS_CODE:
                        problems.append(f"{spec.url_path}: a cell reading {cell.strip()!r}")
            headers_seen += sum(t.locator('[role="columnheader"]').count() for t in tables)
            for chart in page.locator('[data-testid="stPlotlyChart"]').all():
                if not "".join(chart.locator(".gtitle").all_text_contents()).strip():
                    problems.append(f"{spec.url_path}: a chart without a title")
        page.close()
    assert headers_seen > 0  # the accessible grids were read
    assert sorted(set(problems)) == []
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        f"{spec.url_path}.png" for spec in PAGE_SPECS
    )

"""Sign-in and row-level scopes in a real browser (issue 24's acceptance).

Starts a local OpenID provider (``oidc-provider-mock``: a user signs in by typing a subject,
which becomes the ID token's ``email``) and ``d2b dashboard`` configured against it through
the ``D2B_OIDC_*`` variables, on the default sample firm's snapshot (``sample_run``) with an
access file granting two regional leads one region each. Then, in Chromium driven by
Playwright: an unauthenticated visit to any page shows the sign-in button and no figure; each
lead signs in and sees their region's WIP (computed here from the snapshot with SQL of its
own), downloads only their region's rows, finds a time entry of their region on the Trace
page, and does not find one of the other region.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest

from dashboards import format as fmt
from dashboards.navigation import PAGE_SPECS, page_url
from tests.browser.test_dashboard_browser import browser, tile_value  # noqa: F401
from tests.support.dashboard_server import free_port, running_dashboard

pytestmark = pytest.mark.slow

#: The two regional leads: e-mail -> region (the regions with the most WIP value).
LEADS_SQL = (
    "SELECT e.region FROM marts.unbilled_approved_hours w "
    "JOIN marts.dim_contracts c USING (contract_id) "
    "JOIN marts.dim_legal_entities e USING (legal_entity) "
    "GROUP BY 1 ORDER BY sum(w.unbilled_value_reporting) DESC LIMIT 2"
)
WIP_SQL = (
    "SELECT sum(w.unbilled_value_reporting) FROM marts.unbilled_approved_hours w "
    "JOIN marts.dim_contracts c USING (contract_id) "
    "JOIN marts.dim_legal_entities e USING (legal_entity) WHERE e.region = ?"
)
#: A time entry of the region (its source id is what a user types on the Trace page).
ENTRY_SQL = (
    "SELECT t.source_id FROM marts.fct_time_entries t "
    "JOIN marts.dim_legal_entities e USING (legal_entity) "
    "WHERE e.region = ? ORDER BY t.work_date, t.source_id LIMIT 1"
)


@pytest.fixture(scope="module")
def snapshot_rows(sample_run):
    serving = sample_run.warehouse.parent / "serving"
    path = serving / "snapshots" / json.loads((serving / "CURRENT").read_text())["file"]

    def rows(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return rows


@pytest.fixture(scope="module")
def leads(snapshot_rows) -> dict[str, str]:
    regions = [region for (region,) in snapshot_rows(LEADS_SQL)]
    assert len(regions) == 2
    return {f"lead.{region.lower()}@firm.example": region for region in regions}


@pytest.fixture(scope="module")
def provider():
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=free_port()) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_in_url(sample_run, provider, leads, tmp_path_factory):
    access = tmp_path_factory.mktemp("access") / "access.toml"
    access.write_text(
        "".join(
            f'[[grant]]\nrole = "regional_lead"\nemails = ["{email}"]\nregions = ["{region}"]\n\n'
            for email, region in leads.items()
        )
    )
    env = {
        "D2B_HOME": str(sample_run.warehouse.parent),
        "D2B_ACCESS_FILE": str(access),
        "D2B_OIDC_METADATA_URL": f"{provider}/.well-known/openid-configuration",
        "D2B_OIDC_CLIENT_ID": "d2b-dashboards",
        "D2B_OIDC_CLIENT_SECRET": "test-client-secret",
        "D2B_OIDC_COOKIE_SECRET": "test-cookie-secret-of-sufficient-length-0123456789",
    }
    with running_dashboard(env, host="localhost") as url:
        yield url


def test_an_unauthenticated_visit_reaches_no_page_with_data(signed_in_url, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for spec in PAGE_SPECS:
        page.goto(f"{signed_in_url}/{page_url(spec)}", wait_until="networkidle")
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        assert page.get_by_text(spec.landmark).count() == 0
    page.close()


def sign_in(browser, url: str, email: str):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.get_by_role("button", name="Sign in").click()
    page.locator('input[name="sub"]').wait_for(timeout=30_000)
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(f"Signed in as {email}").wait_for(timeout=60_000)
    return context, page


@pytest.mark.parametrize("lead", [0, 1])
def test_each_regional_lead_sees_only_their_region(
    signed_in_url,
    browser,  # noqa: F811
    snapshot_rows,
    leads,
    lead,
):
    email, region = list(leads.items())[lead]
    (other,) = set(leads.values()) - {region}
    context, page = sign_in(browser, signed_in_url, email)

    # figures: the WIP tile is the region's WIP
    page.get_by_text("Deliver-to-bill funnel").first.wait_for(timeout=60_000)
    ((wip,),) = snapshot_rows(WIP_SQL, [region])
    page.locator('[data-testid="stMetric"]').filter(has_text="WIP value (USD)").first.wait_for(
        timeout=60_000
    )
    assert tile_value(page, "WIP value (USD)") == fmt.money(wip)

    # downloads: the billing operations exception queue holds the region's rows only
    page.goto(f"{signed_in_url}/billing-operations", wait_until="networkidle")
    page.get_by_text("Exception queue").first.wait_for(timeout=60_000)
    button = page.locator(".st-key-download_exception_records button")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        button.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    ((held,),) = snapshot_rows(
        "SELECT count(*) FROM marts.billing_exceptions x "
        "JOIN marts.dim_legal_entities e USING (legal_entity) WHERE e.region = ?",
        [region],
    )
    assert len(rows) == held > 0
    assert {row["region"] for row in rows} == {region}

    # traces: a time entry of the region is found, one of the other region is not
    page.goto(f"{signed_in_url}/trace", wait_until="networkidle")
    search = page.locator(".st-key-trace_needle input")
    search.wait_for(timeout=60_000)
    ((own,),) = snapshot_rows(ENTRY_SQL, [region])
    search.fill(own)
    search.press("Enter")
    page.get_by_text(f"Time entry {own}").first.wait_for(timeout=60_000)
    ((foreign,),) = snapshot_rows(ENTRY_SQL, [other])
    search.fill(foreign)
    search.press("Enter")
    page.get_by_text(f"Nothing matches {foreign}").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    context.close()

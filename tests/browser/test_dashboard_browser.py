"""Every dashboard page in a real browser (Debian's Chromium driven by Playwright).

Starts ``d2b dashboard`` on a free loopback port against a published snapshot, loads each
page, checks that no exception is shown and that a known figure appears, and saves a
screenshot per page under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboards.navigation import PAGE_SPECS, page_url

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(published_home):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("D2B_", "DAGSTER_"))}
    env["D2B_HOME"] = str(published_home)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "d2b"), "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not start: {process.stdout.read().decode()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed (apt-get install chromium); see .ci/run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.mark.parametrize("spec", PAGE_SPECS, ids=lambda spec: spec.url_path)
def test_page_loads_without_exception_and_shows_its_figures(dashboard_url, browser, spec):
    path = spec.url_path
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{dashboard_url}/{page_url(spec)}", wait_until="networkidle")
    page.get_by_text(spec.landmark).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # let charts finish drawing before the screenshot
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert errors == []
    if path == "data_health":
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="Rows rejected")
        assert metric.locator('[data-testid="stMetricValue"]').inner_text() == "1"
    page.close()

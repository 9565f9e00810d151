"""``d2b dashboard`` on a free loopback port and Debian's Chromium, for the browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Seconds ``d2b dashboard`` may take to answer its health check.
START_TIMEOUT = 60


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_dashboard(
    env: Mapping[str, str],
    *options: str,
    host: str = "127.0.0.1",
    start_timeout: float = START_TIMEOUT,
    clear: tuple[str, ...] = (),
    log: Path | None = None,
) -> Iterator[str]:
    """Run ``d2b dashboard <options>`` with ``env`` (over a clean D2B environment); its URL.

    ``host`` is the name the URL uses (the sign-in provider's redirect needs ``localhost``);
    ``clear`` names further variables of this environment the dashboard must not see;
    ``log``, if given, receives everything the server prints.
    """
    port = free_port()
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("D2B_", "DAGSTER_")) and k not in clear
    }
    output = log.open("wb") if log is not None else subprocess.PIPE
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "d2b"), "dashboard", *options, "--port", str(port)],
        env={**clean, **env},
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                printed = log.read_text() if log is not None else process.stdout.read().decode()
                raise RuntimeError(f"dashboard did not start: {printed}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        if log is not None:
            output.close()


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium driven by Playwright (a Playwright ``Browser``)."""
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
        try:
            yield browser
        finally:
            browser.close()

"""Running the ``d2b`` console script as a user does, in a D2B_HOME of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.erp_templates import ERP_TEMPLATES

D2B = str(Path(sys.executable).parent / "d2b")


def d2b_environment(home: Path) -> dict[str, str]:
    """This environment with ``D2B_HOME=home`` and no other D2B_* or DAGSTER_* setting but
    the shared cache of ERP templates (:data:`ERP_TEMPLATES`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("D2B_", "DAGSTER_"))}
    env["D2B_HOME"] = str(home)
    env["D2B_ERP_TEMPLATE_DIR"] = str(ERP_TEMPLATES)
    return env


def run_d2b(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``d2b <args>`` in :func:`d2b_environment`, stopped after ``timeout`` seconds."""
    return subprocess.run(
        [D2B, *args],
        env=d2b_environment(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

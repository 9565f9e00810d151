"""The Dagster instance kept under ``D2B_HOME`` (runs, event logs, schedules)."""

from __future__ import annotations

import os
from pathlib import Path

from d2b.settings import Settings

DAGSTER_YAML = """\
# Written by d2b. Keep Dagster's state under D2B_HOME and nothing sent anywhere.
telemetry:
  enabled: false
concurrency:
  pools:
    # One writer (docs/design.md §7): assets that write the warehouse share pool d2b_warehouse.
    default_limit: 1
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """Create ``$D2B_HOME/dagster`` with its ``dagster.yaml`` unless ``DAGSTER_HOME`` is set.

    Sets ``DAGSTER_HOME`` for this process and its children; call it only from entry
    points (the CLI), never at import time.
    """
    configured = os.environ.get("DAGSTER_HOME")
    home = Path(configured) if configured else settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home

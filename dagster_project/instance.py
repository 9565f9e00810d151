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
run_monitoring:
  # Under `d2b dev`, the daemon frees the slots a finished (e.g. canceled) run still holds.
  # A run whose process died is marked failed by `d2b run` and `d2b dev` at start-up
  # (dagster_project/recovery.py): the default run launcher cannot check its workers.
  enabled: true
  free_slots_after_run_end_seconds: 60
"""
#: Loading the definitions (the dbt manifest) takes minutes on a busy 2-core machine;
#: Dagster's default of 180 s made `d2b dev` give up on its own code server.
CODE_SERVERS_YAML = """\
code_servers:
  local_startup_timeout: 600
"""
DAGSTER_YAML += CODE_SERVERS_YAML


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
    elif "code_servers:" not in (written := config.read_text()):
        # an instance an older d2b created: add the start-up timeout, keep the rest as it is
        config.write_text(written.rstrip("\n") + "\n" + CODE_SERVERS_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home

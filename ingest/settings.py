"""Runtime settings: where Deliver-to-Bill keeps its state.

Every path derives from one home directory (``D2B_HOME``) unless a more specific variable
points elsewhere. Settings are read when :func:`Settings.from_env` is called, never at
import time, so tests and Dagster resources can build their own.

The default warehouse path is mirrored in ``dbt_project/profiles.yml`` (dbt reads the same
variables); ``tests/test_settings.py`` keeps the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path("~/.d2b")

#: Environment variables understood by :meth:`Settings.from_env`, with their meaning.
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "D2B_HOME": "Directory holding all state (default ~/.d2b).",
    "D2B_LANDING": "Landing zone of source files (default $D2B_HOME/landing).",
    "D2B_WAREHOUSE": "DuckDB warehouse file (default $D2B_HOME/warehouse.duckdb).",
}


@dataclass(frozen=True)
class Settings:
    """Resolved locations of Deliver-to-Bill's state."""

    home: Path
    landing: Path
    warehouse: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Resolve settings from environment variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        home = _path(env.get("D2B_HOME")) or DEFAULT_HOME.expanduser()
        return cls(
            home=home,
            landing=_path(env.get("D2B_LANDING")) or home / "landing",
            warehouse=_path(env.get("D2B_WAREHOUSE")) or home / "warehouse.duckdb",
        )

    @property
    def ground_truth(self) -> Path:
        """Where the generator writes its ground truth: next to, never inside, the landing."""
        return self.landing.parent / "ground_truth"

    @property
    def serving(self) -> Path:
        """Published read-only snapshots for dashboards and analysts (docs/design.md §7)."""
        return self.home / "serving"

    @property
    def dagster_home(self) -> Path:
        """Dagster instance directory (run history, event logs) kept under the home."""
        return self.home / "dagster"

    def environment(self) -> dict[str, str]:
        """Return these settings as environment variables, for child processes such as dbt."""
        return {
            "D2B_HOME": str(self.home),
            "D2B_LANDING": str(self.landing),
            "D2B_WAREHOUSE": str(self.warehouse),
        }


def _path(value: str | None) -> Path | None:
    if not value:
        return None
    return Path(value).expanduser().absolute()

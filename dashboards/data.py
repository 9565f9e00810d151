"""The dashboards' only door to data: cached, parameterized, read-only queries.

Queries live in ``dashboards/queries/<name>.sql`` and take named parameters (``$name``);
no SQL is ever built from user input. They run against the current serving snapshot
(``serving.snapshot``), opened read-only, never against the pipeline's warehouse file.
Results are cached per snapshot version, so a new publish shows up on the next rerun.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ingest.settings import Settings
from serving.snapshot import Snapshot, connect_current, current

QUERY_DIR = Path(__file__).parent / "queries"


def serving_dir() -> Path:
    """Where the published snapshots are (``$D2B_HOME/serving``)."""
    return Settings.from_env().serving


def current_snapshot() -> Snapshot | None:
    """The snapshot the dashboards show now, or None before the first publish."""
    return current(serving_dir())


def query_text(name: str) -> str:
    """The SQL of the named query file."""
    path = QUERY_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no query named {name!r} in {QUERY_DIR}")
    return path.read_text()


@st.cache_data(show_spinner=False, max_entries=256)
def _run(version: str, name: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    # ``version`` is part of the cache key only: a new publish means new cache entries.
    con, _ = connect_current(serving_dir())
    with con:
        return con.execute(query_text(name), dict(params)).df()


def query(name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run the named query with ``params`` against the current snapshot (cached)."""
    snapshot = current_snapshot()
    if snapshot is None:
        raise FileNotFoundError("no serving snapshot published yet")
    return _run(snapshot.version, name, tuple(sorted((params or {}).items())))


def table_exists(qualified_name: str) -> bool:
    """Whether the current snapshot has ``schema.table``."""
    snapshot = current_snapshot()
    return snapshot is not None and qualified_name in snapshot.tables

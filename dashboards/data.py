"""The dashboards' only door to data: cached, parameterized, read-only queries.

Queries live in ``dashboards/queries/<name>.sql`` (shared pieces in ``queries/fragments``,
pulled in by an ``--@include <fragment>`` line) and take named parameters (``$name``);
no SQL is ever built from user input. A query is bound to exactly the parameters its text
names, so a page may pass all its filters and each query takes what it honours (which is
also how a page tells which filters did not narrow a figure, :func:`query_parameters`).
Queries run against the current serving snapshot (``serving.snapshot``), opened read-only,
never against the pipeline's warehouse file. Results are cached per snapshot file, so a new
publish shows up on the next rerun.

Every query runs inside the signed-in user's scope (:mod:`dashboards.access`), here and
nowhere else, so no page can forget it (:func:`run_scoped`): a query that takes the scope's
filter gets it narrowed to the scope (a filter the user cannot lift); a query of one record
(``$correlation_id``, ``$batch_key``) returns nothing unless the record is in scope; a search
(``$needle``) and the filter options keep only rows in scope; pipeline metadata
(:data:`UNSCOPED_QUERIES`) is shown to all; any other query returns no rows to a bounded user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from d2b.settings import Settings
from dashboards.access import SCOPE_COLUMNS, Scope, session_principal
from serving import access_log
from serving.snapshot import SNAPSHOTS, Snapshot, current

QUERY_DIR = Path(__file__).parent / "queries"
#: ``$name`` placeholders (DuckDB's named parameters); SQL comments must not use ``$``.
_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")
#: A line ``--@include <fragment>``: replaced by that fragment's SQL.
_INCLUDE = re.compile(r"^[ \t]*--@include (\w+)[ \t]*$", re.MULTILINE)
#: Marts that carry ``as_of_date`` and always have rows once built, best first.
#: The billing write-back's marts (built empty before the first billing run).
BILLING_BATCH_TABLES = ("marts.fct_billing_batches", "marts.fct_billing_batch_events")
_AS_OF_SOURCES = (
    ("marts.lag_summary", "as_of_lag_summary"),
    ("marts.billing_funnel", "as_of_billing_funnel"),
)


def serving_dir() -> Path:
    """Where the published snapshots are (``$D2B_HOME/serving``)."""
    return Settings.from_env().serving


def access_recorder() -> Callable[..., None]:
    """``serving.access_log.append`` bound to this session's user and log.

    Bound while the page runs: a download's data is produced after the run, outside the
    session's context, where the session's state cannot be read.
    """
    return partial(access_log.append, serving_dir(), session_principal().name)


def log_access(
    event: str, *, page: str | None = None, detail: Mapping[str, Any] | None = None
) -> None:
    """Record ``event`` by the session's user in the access log (``serving.access_log``)."""
    access_recorder()(event, page=page, detail=detail)


def current_snapshot() -> Snapshot | None:
    """The snapshot the dashboards show now, or None before the first publish."""
    return current(serving_dir())


def previous_snapshot() -> Snapshot | None:
    """The newest kept snapshot older than the current one (for change since then), if any.

    Its ``tables`` are unknown (only the pointer lists them), so callers must tolerate a
    query failing on it; :func:`query_previous` does.
    """
    snapshot = current_snapshot()
    if snapshot is None:
        return None
    older = sorted(
        path
        for path in (serving_dir() / SNAPSHOTS).glob("*.duckdb")
        if path.stem < snapshot.version
    )
    if not older:
        return None
    path = older[-1]
    try:
        built_at = datetime.strptime(path.stem, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return Snapshot(version=path.stem, path=path, built_at=built_at, tables={})


@cache
def query_text(name: str) -> str:
    """The SQL of the named query file, with its includes spliced in.

    A line ``--@include <fragment>`` becomes ``queries/fragments/<fragment>.sql``: SQL that
    several queries share, such as a filter.
    """
    path = QUERY_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no query named {name!r} in {QUERY_DIR}")
    return _INCLUDE.sub(_fragment, path.read_text())


def _fragment(match: re.Match[str]) -> str:
    path = QUERY_DIR / "fragments" / f"{match.group(1)}.sql"
    if not path.is_file():
        raise KeyError(f"no query fragment {match.group(1)!r} in {path.parent}")
    return path.read_text().rstrip("\n")


@cache
def query_parameters(name: str) -> frozenset[str]:
    """The named parameters the query's SQL uses."""
    return frozenset(_PARAMETER.findall(query_text(name)))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def _bindable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@st.cache_resource(show_spinner=False, max_entries=4)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    """One read-only connection per snapshot file, shared by the sessions.

    Each query runs on its own cursor, which DuckDB allows from any thread. Opening a file
    costs some 20 ms and loses DuckDB's buffer cache, so a page of a dozen queries reuses
    one. A pruned snapshot stays readable while its connection is open; connections evicted
    from this cache are closed when collected.
    """
    return duckdb.connect(path, read_only=True)


def _execute(path: str, name: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    with _connection(path).cursor() as cursor:
        bound = {k: _bindable(v) for k, v in params}
        return cursor.execute(query_text(name), bound).df(date_as_object=True)


@st.cache_data(show_spinner=False, max_entries=512)
def _run(path: str, name: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    # A snapshot file never changes once published, so its path is a sound cache key.
    return _execute(path, name, params)


def bind(name: str, params: Mapping[str, Any] | None = None) -> tuple[tuple[str, Any], ...]:
    """The parameters of ``params`` that query ``name`` uses, as a hashable, sorted tuple."""
    params = params or {}
    wanted = query_parameters(name)
    missing = wanted - params.keys()
    if missing:
        raise KeyError(f"query {name!r} needs parameter(s) {sorted(missing)}")
    return tuple(sorted((key, _hashable(params[key])) for key in wanted))


#: Queries of pipeline metadata only (runs, checks, sources, as-of dates, months): no
#: client's records or money, so every signed-in user sees them whole.
UNSCOPED_QUERIES = frozenset(
    {
        "as_of_billing_funnel",
        "as_of_lag_summary",
        "exec_invoiced_periods",
        "options_periods",
        "health_runs",
        "health_assets",
        "health_checks",
        "health_sources",
    }
)
#: Scope dimension -> the query parameter that filters it (as the sidebar's filters do).
SCOPE_PARAMETERS = {
    "regions": "region",
    "legal_entities": "legal_entity",
    "clients": "client",
    "practices": "practice",
}
#: A filter value no dimension holds: a narrowed filter with nothing left matches no row
#: (an empty list would mean "all").
MATCHES_NOTHING = "\x00no value in scope"
#: The parameters that name one record; the record's scope is looked up before it is shown.
RECORD_KEYS = ("correlation_id", "batch_key")


def run_scoped(
    path: str | Path, name: str, params: Mapping[str, Any] | None, scope: Scope
) -> pd.DataFrame:
    """Query ``name`` on the snapshot at ``path`` as a user with ``scope`` sees it (cached).

    The rules are the module's; a bounded user gets rows only through one of them.
    """
    path = str(path)
    params = dict(params or {})
    if scope.is_everything or name in UNSCOPED_QUERIES:
        return _run(path, name, bind(name, params))
    wanted = query_parameters(name)
    parameter = SCOPE_PARAMETERS[scope.dimension]
    if parameter in wanted:
        chosen = params.get(parameter) or sorted(scope.values)
        params[parameter] = [v for v in chosen if v in scope.values] or [MATCHES_NOTHING]
        return _run(path, name, bind(name, params))
    frame = _run(path, name, bind(name, params))
    keys = [key for key in RECORD_KEYS if key in wanted]
    if keys:
        return frame if _record_in_scope(path, params[keys[0]], scope) else frame.iloc[0:0]
    if name.startswith("options_"):
        outside = (frame["filter_name"] == parameter) & ~frame["value"].isin(scope.values)
        return frame[~outside]
    column = SCOPE_COLUMNS[scope.dimension]
    if "needle" in wanted and column in frame.columns:
        return frame[frame[column].isin(scope.values)]
    return frame.iloc[0:0]


def _record_in_scope(path: str, key: Any, scope: Scope) -> bool:
    """Whether the record (or batch) ``key`` names exists and lies inside ``scope``."""
    owners = _run(path, "access_record_scope", bind("access_record_scope", {"record_key": key}))
    column = SCOPE_COLUMNS[scope.dimension]
    return not owners.empty and bool(owners[column].isin(scope.values).all())


def current_scope() -> Scope:
    """The signed-in user's scope (:func:`dashboards.access.session_principal`)."""
    return session_principal().scope


def query(name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run the named query with ``params`` on the current snapshot, in the user's scope.

    ``params`` may hold more than the query uses; only what its SQL names is bound.
    """
    snapshot = current_snapshot()
    if snapshot is None:
        raise FileNotFoundError("no serving snapshot published yet")
    return run_scoped(snapshot.path, name, params, current_scope())


def query_previous(name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame | None:
    """The same query on the previous snapshot (None: no such snapshot, or it lacks a table).

    Snapshots published before a mart existed lack its table.
    """
    snapshot = previous_snapshot()
    if snapshot is None:
        return None
    try:
        return run_scoped(snapshot.path, name, params, current_scope())
    except (duckdb.CatalogException, duckdb.IOException, duckdb.BinderException):
        return None


def run_uncached(path: Path, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run a query on a snapshot file bypassing the result cache (the benchmark's measure).

    Unscoped: for the benchmark and tests, never called by a page.
    """
    return _execute(str(path), name, bind(name, params))


def table_exists(qualified_name: str) -> bool:
    """Whether the current snapshot has ``schema.table``."""
    snapshot = current_snapshot()
    return snapshot is not None and qualified_name in snapshot.tables


def table_has_rows(qualified_name: str) -> bool:
    """Whether the current snapshot has ``schema.table`` with at least one row."""
    snapshot = current_snapshot()
    return snapshot is not None and snapshot.tables.get(qualified_name, 0) > 0


def snapshot_as_of() -> date | None:
    """The as-of date the current snapshot's marts were built for (None if unknown)."""
    for table, name in _AS_OF_SOURCES:
        if table_exists(table):
            frame = query(name)
            if not frame.empty and pd.notna(frame.iloc[0, 0]):
                return pd.Timestamp(frame.iloc[0, 0]).date()
    return None

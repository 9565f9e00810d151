"""The durable billing store: the billing run's state, apart from the rebuildable warehouse.

The outbox, its audit log, the ERP read-back and the re-sync of what the ERP bills
(:data:`BILLING_TABLES`) live in a DuckDB file of their own, ``D2B_BILLING_STORE`` (default
``$D2B_HOME/billing/billing.duckdb``): the truth, which only the billing run opens. The
warehouse can be deleted and rebuilt from the landing zone; this file cannot, so it is backed
up (docs/erp.md "Backup and restore").

Readers (dbt sources, dashboards, the dry run) keep reading the warehouse: after each billing
step, still inside the warehouse writer pool, :func:`mirror_to_warehouse` copies the store's
tables over the warehouse's. No reader ever opens the store, so DuckDB's one-writer file lock
never puts a dashboard and the billing run in each other's way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from erp.outbox import releasing, store, waivers
from erp.outbox.resync import ensure_schema as ensure_billed_records
from erp.outbox.store import in_transaction
from ingest.warehouse import connect

#: The billing state, copied as a whole into the warehouse after every billing step.
BILLING_TABLES = (
    "ops.erp_outbox",
    "ops.erp_outbox_lines",
    "ops.erp_outbox_correlations",
    "ops.audit_log",
    "ops.erp_billed_records",
    "ops.billing_holds",
    "ops.billing_hold_lifts",
    "ops.billing_waivers",
    "ops.billing_waiver_lifts",
    "raw.erp_api__invoices",
    "raw.erp_api__invoice_lines",
    "raw.erp_api__invoice_status",
)

#: One row once an existing warehouse's billing tables were copied in (never done twice).
_MIGRATION_DDL = """
CREATE TABLE IF NOT EXISTS ops.billing_store_migration (
    migrated_from VARCHAR NOT NULL,       -- the warehouse file the billing tables came from
    rows_copied BIGINT NOT NULL,
    migrated_at TIMESTAMP NOT NULL
);
"""

_ATTACHED = "d2b_attached"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every billing table in the store if absent."""
    store.ensure_schema(con)
    ensure_billed_records(con)
    waivers.ensure_schema(con)
    con.execute(_MIGRATION_DDL)


@contextmanager
def open_store(path: Path, warehouse: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Connect to the billing store, creating it if absent, and close it afterwards.

    With ``warehouse``, a new store first takes over that warehouse's billing tables
    (:func:`migrate_from_warehouse`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        ensure_schema(con)
        if warehouse is not None:
            migrate_from_warehouse(con, warehouse)
        yield con
    finally:
        con.close()


def migrate_from_warehouse(con: duckdb.DuckDBPyConnection, warehouse: Path) -> int | None:
    """Copy the billing tables of ``warehouse`` (where they lived before) into the store, once.

    Runs only while the store has no migration row; the copy and that row commit together.
    Returns the rows copied, or None when the store was already migrated.
    """
    if con.execute("SELECT count(*) FROM ops.billing_store_migration").fetchone()[0]:
        return None
    attached = warehouse.exists()
    if attached:
        con.execute(f"ATTACH '{_quoted(warehouse)}' AS {_ATTACHED} (READ_ONLY)")
    try:
        present = _tables_of(con, _ATTACHED) if attached else set()

        def work() -> int:
            copied = 0
            for table in BILLING_TABLES:
                if table in present:
                    (count,) = con.execute(
                        f"INSERT INTO {table} BY NAME SELECT * FROM {_ATTACHED}.{table}"
                    ).fetchone()
                    copied += count
            con.execute(
                "INSERT INTO ops.billing_store_migration VALUES (?, ?, ?)",
                [str(warehouse), copied, store.now_utc()],
            )
            return copied

        return in_transaction(con, work)
    finally:
        if attached:
            con.execute(f"DETACH {_ATTACHED}")


def mirror_to_warehouse(store_path: Path, warehouse: Path) -> None:
    """Replace the warehouse's copies of :data:`BILLING_TABLES` by the store's, in one transaction.

    Call with the store closed (DuckDB opens a file once per process) and the warehouse
    writer pool held.
    """
    with connect(warehouse) as con:
        (database,) = con.execute("SELECT current_database()").fetchone()
        con.execute(f"ATTACH '{_quoted(store_path)}' AS {_ATTACHED} (READ_ONLY)")
        try:
            present = _tables_of(con, _ATTACHED)

            def work() -> None:
                for table in BILLING_TABLES:
                    if table not in present:
                        continue
                    schema = table.split(".")[0]
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}".{schema}')
                    con.execute(
                        f'CREATE OR REPLACE TABLE "{database}".{table} AS '
                        f"SELECT * FROM {_ATTACHED}.{table}"
                    )

            in_transaction(con, work)
        finally:
            con.execute(f"DETACH {_ATTACHED}")


class StoreBusyError(RuntimeError):
    """Another process (a billing run, ``d2b run``) has the billing store or warehouse open."""


def release_batches(
    store_path: Path, warehouse: Path, batch_keys: Iterable[str], *, by: str
) -> tuple[releasing.ReleaseResult, bool]:
    """Release ``batch_keys`` in the name of ``by`` (a person), as ``d2b bill --release`` does.

    The release (:func:`erp.outbox.releasing.release`, audited with ``by`` and the time)
    commits in the store; then the store is mirrored into the warehouse, as after every
    billing step, so the next ``d2b run`` sees the batches ``ready`` and sends them. Returns
    the release and whether the mirror was done: a warehouse busy with a run is mirrored by
    that run's billing step instead. Raises :class:`StoreBusyError` when a billing run holds
    the store (nothing is released) and ``ValueError`` when there is no store yet.
    """
    if not store_path.is_file():
        raise ValueError(f"no billing store at {store_path}: nothing has been frozen yet")
    try:
        with open_store(store_path) as con:
            run_id = f"release-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            result = releasing.release(con, run_id, by=by, batch_keys=batch_keys)
    except duckdb.IOException as error:  # DuckDB's one-writer lock: a billing run has it
        raise StoreBusyError(
            "a billing run is using the billing store: nothing was released, try again when it ends"
        ) from error
    if not result.released or not warehouse.exists():
        return result, False
    try:
        mirror_to_warehouse(store_path, warehouse)
    except duckdb.IOException:  # a pipeline run holds the warehouse: it mirrors when it bills
        return result, False
    return result, True


def _tables_of(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_catalog = ?",
        [catalog],
    ).fetchall()
    return {name for (name,) in rows}


def _quoted(path: Path) -> str:
    """``path`` as the inside of a SQL string literal (ATTACH takes no parameters)."""
    return str(path).replace("'", "''")

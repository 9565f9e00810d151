"""Health of loaded sources: volume anomalies and schema drift (plain SQL over bookkeeping).

Used by the ingest assets' checks; kept free of Dagster so it is testable alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

import duckdb

from ingest.schema import SourceSchema, quote_identifier

#: Days of load history the volume check compares the latest day against.
TRAILING_DAYS = 14
#: Fewer earlier load days than this and the check has nothing to compare with.
MIN_HISTORY_DAYS = 3


@dataclass(frozen=True)
class VolumeCheck:
    """Rows loaded on the latest load day against the trailing median of earlier days."""

    latest_day: str | None
    latest_rows: int
    trailing_median: float | None
    history_days: int
    low_ratio: float
    high_ratio: float

    @property
    def ratio(self) -> float | None:
        """Latest rows as a share of the trailing median."""
        if not self.trailing_median:
            return None
        return self.latest_rows / self.trailing_median

    @property
    def passed(self) -> bool:
        """True unless there is enough history and the ratio is out of bounds."""
        if self.history_days < MIN_HISTORY_DAYS or self.ratio is None:
            return True
        return self.low_ratio <= self.ratio <= self.high_ratio


def volume_check(
    con: duckdb.DuckDBPyConnection,
    system: str,
    entity: str,
    *,
    low_ratio: float = 0.5,
    high_ratio: float = 2.0,
) -> VolumeCheck:
    """Compare rows loaded on the latest load day with the median of the days before."""
    per_day = con.execute(
        "SELECT CAST(loaded_at AS DATE) AS day, sum(rows_read) FROM ops.landed_files "
        "WHERE system = ? AND entity = ? AND status = 'loaded' GROUP BY 1 ORDER BY 1 DESC "
        "LIMIT ?",
        [system, entity, TRAILING_DAYS + 1],
    ).fetchall()
    if not per_day:
        return VolumeCheck(None, 0, None, 0, low_ratio, high_ratio)
    (latest_day, latest_rows), history = per_day[0], per_day[1:]
    return VolumeCheck(
        latest_day=latest_day.isoformat(),
        latest_rows=int(latest_rows),
        trailing_median=float(median(int(rows) for _, rows in history)) if history else None,
        history_days=len(history),
        low_ratio=low_ratio,
        high_ratio=high_ratio,
    )


@dataclass(frozen=True)
class SchemaCheck:
    """Fields seen in the source that the declared schema does not know, and missing ones."""

    undeclared_fields: dict[str, int] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when the raw table has every declared column and no new fields appeared."""
        return not self.undeclared_fields and not self.missing_columns


def schema_check(con: duckdb.DuckDBPyConnection, schema: SourceSchema) -> SchemaCheck:
    """Report undeclared fields (kept in ``_extra``) and declared columns absent from raw."""
    present = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?",
            [schema.raw_table],
        ).fetchall()
    }
    if not present:
        return SchemaCheck()
    missing = [c.name for c in schema.columns if c.name not in present]
    table = f"raw.{quote_identifier(schema.raw_table)}"
    undeclared = con.execute(
        f"SELECT key, count(*) FROM (SELECT unnest(json_keys(_extra)) AS key FROM {table} "
        "WHERE _extra IS NOT NULL) GROUP BY key ORDER BY key"
    ).fetchall()
    return SchemaCheck(
        undeclared_fields={key: int(count) for key, count in undeclared}, missing_columns=missing
    )

"""Write the landing zone: every system's export in its documented format (docs/sources.md).

Files are written streaming, page by page, with their SHA-256 computed on the way. Large JSON
is assembled column-wise with pyarrow string kernels rather than per-record dicts: the same
bytes, an order of magnitude faster.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ingest.generator.firm import DAY, from_day

HARVEST_PER_PAGE = 2000
HARVEST_API = "https://api.harvestapp.com/v2"


@dataclass
class FileRecord:
    """One landed file, as listed in the manifest."""

    path: str  # relative to the landing root, POSIX separators
    system: str
    entity: str
    rows: int
    sha256: str
    bytes: int
    delivered_at: str  # simulated delivery time (UTC ISO-8601)
    defect_rows: int = 0  # rows of records carrying a planted record-level defect


@dataclass
class Landing:
    """Writes files under ``root`` and records them."""

    root: Path
    files: list[FileRecord] = field(default_factory=list)
    on_file: Callable[[], None] | None = None

    def write(
        self,
        system: str,
        entity: str,
        name: str,
        chunks: Iterable[bytes],
        rows: int,
        delivered_at: int,
        defect_rows: int = 0,
    ) -> FileRecord:
        """Write ``chunks`` to ``<root>/<system>/<entity>/<name>`` and record the file."""
        folder = self.root / system / entity
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with open(folder / name, "wb") as fh:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
        rec = FileRecord(
            f"{system}/{entity}/{name}",
            system,
            entity,
            rows,
            digest.hexdigest(),
            size,
            iso(delivered_at),
            defect_rows,
        )
        self.files.append(rec)
        if self.on_file is not None:
            self.on_file()
        return rec


# --- value formatting --------------------------------------------------------------------------


def iso(ts: int) -> str:
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SSZ``."""
    return str(np.datetime64(int(ts), "s")) + "Z"


@cache
def day_str(day: int) -> str:
    """Day number -> ``YYYY-MM-DD``."""
    return from_day(day).isoformat()


def money(cents: int) -> str:
    """Integer cents -> decimal string with two places."""
    sign = "-" if cents < 0 else ""
    c = abs(int(cents))
    return f"{sign}{c // 100}.{c % 100:02d}"


def money_array(cents: np.ndarray) -> pa.Array:
    """Vectorised :func:`money` for non-negative cents."""
    c = pa.array(np.asarray(cents, np.int64))
    units = pc.cast(pc.divide(c, 100), pa.string())
    frac = pc.utf8_lpad(
        pc.cast(pc.subtract(c, pc.multiply(pc.divide(c, 100), 100)), pa.string()), 2, "0"
    )
    return pc.binary_join_element_wise(units, ".", frac, "")


class TimeFormatter:
    """Vectorised ISO-8601 formatting through lookup tables of days and times of day."""

    def __init__(self, first_day: int, last_day: int) -> None:
        self.first = first_day
        days = np.arange(first_day, last_day + 1).astype("datetime64[D]")
        self.dates = pa.array(np.datetime_as_string(days).tolist())
        sod = np.arange(DAY)
        self.times = pa.array(
            [
                f"{h:02d}:{m:02d}:{s:02d}"
                for h, m, s in zip(sod // 3600, sod // 60 % 60, sod % 60, strict=True)
            ]
        )

    def date(self, day: np.ndarray) -> pa.Array:
        """``YYYY-MM-DD`` per day number."""
        return self.dates.take(pa.array(np.asarray(day, np.int64) - self.first))

    def ts(self, ts: np.ndarray, null_at: int | None = None, quote: str = "") -> pa.Array:
        """``YYYY-MM-DDTHH:MM:SSZ`` per epoch second; ``null`` (JSON) where ``ts >= null_at``."""
        ts = np.asarray(ts, np.int64)
        missing = None if null_at is None else ts >= null_at
        safe = np.where(missing, self.first * DAY, ts) if missing is not None else ts
        out = pc.binary_join_element_wise(
            quote,
            self.dates.take(pa.array(safe // DAY - self.first)),
            "T",
            self.times.take(pa.array(safe % DAY)),
            "Z" + quote,
            "",
        )
        if missing is not None:
            out = pc.if_else(pa.array(missing), pa.scalar("null" if quote else ""), out)
        return out


def json_str_table(values: Sequence[str]) -> pa.Array:
    """JSON-encoded strings (with quotes) for a lookup table."""
    return pa.array([orjson.dumps(v).decode() for v in values])


def json_join(parts: list[pa.Array | str]) -> pa.Array:
    """Concatenate string arrays and literals element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def pages(n: int, per_page: int) -> Iterator[tuple[int, int, int]]:
    """(page number, start, stop) over ``n`` items; at least one (empty) page."""
    total = max(1, -(-n // per_page))
    for k in range(total):
        yield k + 1, k * per_page, min(n, (k + 1) * per_page)


def harvest_page_footer(n_total: int, page: int, per_page: int, url: str) -> bytes:
    """The pagination fields and links that follow the record array of a Harvest page."""
    total_pages = max(1, -(-n_total // per_page))

    def link(k: int | None) -> str | None:
        return (
            None if k is None else f"{url}{'&' if '?' in url else '?'}page={k}&per_page={per_page}"
        )

    nxt = page + 1 if page < total_pages else None
    prev = page - 1 if page > 1 else None
    tail = {
        "per_page": per_page,
        "total_pages": total_pages,
        "total_entries": n_total,
        "next_page": nxt,
        "previous_page": prev,
        "page": page,
        "links": {
            "first": link(1),
            "next": link(nxt),
            "previous": link(prev),
            "last": link(total_pages),
        },
    }
    return b"]," + orjson.dumps(tail)[1:]


def harvest_list_pages(key: str, records: list[dict], url: str) -> Iterator[tuple[int, bytes, int]]:
    """Yield (page number, page bytes, rows) for a small Harvest list endpoint."""
    for page, lo, hi in pages(len(records), HARVEST_PER_PAGE):
        body = b",".join(orjson.dumps(r) for r in records[lo:hi])
        head = b'{"' + key.encode() + b'":['
        yield (
            page,
            head + body + harvest_page_footer(len(records), page, HARVEST_PER_PAGE, url),
            hi - lo,
        )


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, quote_all: bool = False
) -> bytes:
    """RFC 4180 CSV (UTF-8, LF line ends) with a header row."""
    buf = io.StringIO()
    wr = csv.writer(
        buf, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    wr.writerow(header)
    wr.writerows(rows)
    return buf.getvalue().encode("utf-8")

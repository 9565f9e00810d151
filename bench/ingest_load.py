"""Ingest benchmark: load a landing zone into a fresh warehouse and print the figures.

    uv run d2b bench ingest --landing /path/to/landing      # an existing landing zone
    uv run d2b bench ingest --scale 1.0                     # generate one first

Prints wall time, rows per second and peak memory (resident set size of the process) of
the first load, then the time of a second pass over the same files (every file is a
no-op). Target (issue "Ingest"): scale 1.0 in at most 60 s with at most 4 GB.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from ingest.landing import files_under
from ingest.loader import load_landing
from ingest.warehouse import connect


def _peak_rss_gb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="d2b bench ingest", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--landing", type=Path, help="an existing landing zone to load")
    source.add_argument("--scale", type=float, help="generate a firm of this scale first")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 20))
    parser.add_argument(
        "--workdir", type=Path, help="where to put generated data and the warehouse"
    )
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="d2b-ingest-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    landing = args.landing
    if landing is None:
        from ingest.generator import generate

        print(f"generating scale {args.scale} into {workdir / 'landing'} (not timed)", flush=True)
        generate(workdir / "landing", scale=args.scale, seed=args.seed, as_of=args.as_of)
        landing = workdir / "landing"
    size_gb = sum(p.stat().st_size for p in files_under(landing)) / 1024**3
    warehouse = workdir / "bench-warehouse.duckdb"
    warehouse.unlink(missing_ok=True)

    with connect(warehouse) as con:
        started = time.perf_counter()
        report = load_landing(con, landing)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = load_landing(con, landing)
        second = time.perf_counter() - started

    summary = report.summary()
    print(f"landing:           {landing} ({size_gb:.2f} GB, {len(report.files)} files)")
    print(f"files:             {summary}")
    print(f"first load:        {first:.1f} s, {report.rows_read / first:,.0f} rows/s")
    print(f"second pass:       {second:.1f} s ({again.count('unchanged')} files unchanged)")
    print(f"peak memory (RSS): {_peak_rss_gb():.2f} GB")
    return 0

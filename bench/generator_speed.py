"""Generator benchmark: ``uv run d2b bench generator --scale 1.0``.

Generates a firm into a temporary directory and prints wall time, peak RSS (this process,
from ``resource``) and row counts. Not a test: the figures go into the issue note.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from ingest.generator import generate
from ingest.landing import files_under


def main(argv: list[str] | None = None) -> int:
    """Run one generation and report its cost."""
    ap = argparse.ArgumentParser(prog="d2b bench generator", description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--as-of", type=date.fromisoformat, default=date(2025, 6, 30))
    ap.add_argument("--keep", type=Path, default=None, help="generate here and keep the files")
    args = ap.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="d2b-bench-"))
    try:
        t0 = time.perf_counter()
        result = generate(base / "landing", scale=args.scale, seed=args.seed, as_of=args.as_of)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = sum(f.stat().st_size for f in files_under(base / "landing"))
        for line in result.summary_lines():
            print(line)
        print(f"wall: {wall:.1f} s; peak RSS: {peak_mb:,.0f} MB; landing size: {size / 1e9:.2f} GB")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0

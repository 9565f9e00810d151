"""The ladder's write-back over XML-RPC beside embedded, on a trytond server started here.

::

    uv run python -m tests.support.bench_write_back_xmlrpc [--scale 0.1] [--workdir DIR]

Starts PostgreSQL and trytond on loopback (:func:`running_tryton_server`), points
``D2B_ERP_XMLRPC_URL`` / ``D2B_ERP_USER`` / ``D2B_ERP_PASSWORD`` at a fresh database on it,
and runs ``d2b bench``'s ``generate``, ``ingest``, ``dbt_build`` and ``write_back`` phases:
the write-back bills the last closed month into the embedded ERP and then into the server.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from bench import ladder
from tests.support.erp_templates import ERP_TEMPLATES
from tests.support.tryton_server import running_tryton_server

PHASES = ("generate", "ingest", "dbt_build", "write_back")
AS_OF = date(2025, 6, 30)


def bench_write_back_over_xmlrpc(
    scale: float, workroot: Path, echo=print
) -> list[ladder.PhaseResult]:
    """The ladder's phases up to ``write_back`` at ``scale``, with a trytond server configured."""
    with running_tryton_server(cache_dir=ERP_TEMPLATES) as server:
        settings = server.new_database("bench")
        env = pytest.MonkeyPatch()
        try:
            env.setenv("D2B_ERP_XMLRPC_URL", settings.xmlrpc_url or "")
            env.setenv("D2B_ERP_USER", settings.user)
            env.setenv("D2B_ERP_PASSWORD", settings.password)
            return ladder.bench([scale], as_of=AS_OF, phases=PHASES, workroot=workroot, echo=echo)
        finally:
            env.undo()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement and print the write-back's summary line (both figures)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="firm size (1.0 = 5,000 people)")
    parser.add_argument("--workdir", type=Path, help="keep the firm here (default: temporary)")
    args = parser.parse_args(argv)
    workroot = args.workdir or Path(tempfile.mkdtemp(prefix="d2b-bench-xmlrpc-"))
    results = bench_write_back_over_xmlrpc(args.scale, workroot)
    for result in results:
        print(f"{result.phase}: {'ok' if result.ok else 'FAILED'} {result.seconds:.1f} s")
    print(results[-1].detail)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())

r"""Write-back benchmark (not a test): Tryton bulk-create speed and a month of billing.

::

    uv run d2b bench erp [--scale 1.0] [--adapters tryton,filedrop] [--json]
        [--xmlrpc-url http://host:8000/<db>/rpc/]

Two measurements, each on a fresh embedded Tryton database (a copy of the cached template,
bootstrapped first if missing) and a fresh DuckDB warehouse in a temporary directory.
``--xmlrpc-url`` measures a trytond server's database instead (bootstrapped, login from
``D2B_ERP_USER`` / ``D2B_ERP_PASSWORD``; every measurement writes new invoices into it):

1. **Bulk create**: invoice lines written to embedded Tryton per second, one
   ``create_if_absent`` of 50 invoices with 40 lines each (2,000 lines), customers and
   products already in the ERP; and the same for 400 small invoices of 5 lines. Median of
   three runs each (the figure varies with other load on the machine).
2. **A month of billing** for a firm of ``5,000 × scale`` people: ``2,700 × scale``
   contracts, each one invoice (most with a few lines, some with dozens: lines grouped per
   person or role, project, task and rate, expenses per category): 15,400 lines billing
   about 160,000 time entries and expenses at scale 1.0. Freeze, send, read back and
   reconcile (:func:`erp.run_billing.run_billing`), timed per step, on an ERP that has
   never seen these customers; then the same run again, which must change nothing.

Targets (issue 7): at least 250 lines per second, a month within 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import duckdb

from bench.sample import sample_batches
from erp.adapters.base import ErpAdapter
from erp.model import BillingBatch
from erp.outbox import NO_BACKOFF
from erp.run_billing import run_billing
from erp.settings import TrytonSettings

#: Contract tiers of the benchmark firm at scale 1.0: (contracts, lines per invoice).
#: Small engagements with one or two people dominate; a few programmes bill dozens of lines.
MONTH_TIERS = ((1900, 3), (650, 8), (150, 30))
#: Time entries per labour line (on average): the generator's firm at scale 1.0 logs about
#: 214,000 time entries a month, most of them billable, over ~14,000 labour lines.
ENTRIES_PER_LINE = 12
PERIOD = "2026-03"
LINES_PER_SECOND_TARGET = 250.0
MONTH_SECONDS_TARGET = 180.0


def month_batches(scale: float = 1.0, period: str = PERIOD) -> list[BillingBatch]:
    """About one month of billing batches for a firm of ``5,000 × scale`` people."""
    batches: list[BillingBatch] = []
    first = 0
    for contracts, lines in MONTH_TIERS:
        n = max(1, round(contracts * scale))
        batches += sample_batches(
            n,
            period=period,
            lines_per_batch=lines,
            entries_per_line=ENTRIES_PER_LINE,
            id_prefix="bench",
            first_client=first,
        )
        first += n
    return batches


@dataclass
class Report:
    """Measured figures, printed as text or JSON."""

    figures: dict[str, Any] = field(default_factory=dict)
    #: Where the text goes: stdout, or stderr when stdout carries the JSON.
    stream: TextIO = sys.stdout

    def say(self, text: str) -> None:
        """Print a heading or verdict."""
        print(text, file=self.stream, flush=True)

    def add(self, key: str, value: Any, label: str, unit: str = "") -> None:
        """Record one figure and print it."""
        self.figures[key] = value
        digits = 2 if unit == "s" else 1
        shown = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
        self.say(f"  {label:<52} {shown:>9} {unit}".rstrip())


def _tryton(
    workdir: Path, template_dir: Path | None, report: Report, key: str, xmlrpc_url: str | None
) -> ErpAdapter:
    from erp.adapters.tryton import TrytonAdapter

    if xmlrpc_url:
        env = TrytonSettings.from_env()
        settings = TrytonSettings(xmlrpc_url=xmlrpc_url, user=env.user, password=env.password)
    else:
        settings = TrytonSettings(
            database_dir=workdir / "erp",
            database_name=f"bench_{uuid.uuid4().hex[:10]}",
            template_dir=template_dir or TrytonSettings.from_env().templates,
        )
    adapter = TrytonAdapter(settings)
    started = time.perf_counter()
    adapter.connect()
    report.add(
        key,
        time.perf_counter() - started,
        "log in to the server"
        if xmlrpc_url
        else "open a fresh ERP database (bootstrap if uncached)",
        "s",
    )
    return adapter


def bench_bulk_create(
    workdir: Path,
    template_dir: Path | None,
    report: Report,
    repeats: int = 3,
    xmlrpc_url: str | None = None,
) -> None:
    """Invoice lines per second of one bulk create, customers and products already there.

    Each shape is measured ``repeats`` times on new invoices; the median is the figure.
    """
    report.say(f"Bulk create into {'a trytond server' if xmlrpc_url else 'embedded Tryton'}")
    adapter = _tryton(workdir, template_dir, report, "bulk_open_s", xmlrpc_url)
    try:
        for label, invoices, lines in (("large", 50, 40), ("small", 400, 5)):
            # Create the customers and products first: the figure is the invoices alone.
            adapter.create_if_absent(
                sample_batches(invoices, lines_per_batch=2, id_prefix=f"warm-{label}")
            )
            rates = []
            for run in range(repeats):
                batches = sample_batches(
                    invoices, lines_per_batch=lines, id_prefix=f"bulk-{label}-{run}"
                )
                n = sum(len(b.lines) for b in batches)
                started = time.perf_counter()
                results = adapter.create_if_absent(batches)
                rates.append(n / (time.perf_counter() - started))
                if not all(r.created for r in results):
                    raise RuntimeError("bulk create did not create every invoice")
            report.add(
                f"bulk_{label}_lines_per_s",
                statistics.median(rates),
                f"{invoices} invoices x {lines} lines, median of {repeats}",
                "lines/s",
            )
            report.figures[f"bulk_{label}_lines_per_s_runs"] = [round(r, 1) for r in rates]
    finally:
        adapter.close()


def bench_month(
    workdir: Path,
    adapter_name: str,
    template_dir: Path | None,
    scale: float,
    report: Report,
    xmlrpc_url: str | None = None,
) -> None:
    """A month of billing end to end, then the same run again (which must change nothing)."""
    batches = month_batches(scale)
    lines = sum(len(b.lines) for b in batches)
    entries = sum(len(b.correlation_ids) for b in batches)
    report.say(
        f"A month of billing at scale {scale} into {adapter_name}: {len(batches):,} invoices, "
        f"{lines:,} lines, {entries:,} time entries and expenses"
    )
    if adapter_name == "tryton":
        adapter = _tryton(workdir, template_dir, report, "month_tryton_open_s", xmlrpc_url)
    else:
        from erp.adapters.filedrop import FileDropAdapter

        adapter = FileDropAdapter(workdir / f"filedrop_{uuid.uuid4().hex[:6]}")
    con = duckdb.connect(str(workdir / f"warehouse_{adapter_name}.duckdb"))
    prefix = f"month_{adapter_name}"
    report.figures[f"{prefix}_invoices"] = len(batches)
    report.figures[f"{prefix}_lines"] = lines
    try:
        started = time.perf_counter()
        summary = run_billing(con, adapter, batches, f"bench-{adapter_name}-1", backoff=NO_BACKOFF)
        wall = time.perf_counter() - started
        if summary.statuses != {"reconciled": len(batches)}:
            raise RuntimeError(f"month did not reconcile: {summary.statuses}")
        for step, seconds in summary.seconds.items():
            report.add(f"{prefix}_{step}_s", seconds, step, "s")
        report.add(
            f"{prefix}_send_lines_per_s",
            lines / summary.seconds["send"],
            "send: lines per second (customers created too)",
            "lines/s",
        )
        report.add(f"{prefix}_wall_s", wall, "month wall time (freeze to reconcile)", "s")

        started = time.perf_counter()
        again = run_billing(con, adapter, batches, f"bench-{adapter_name}-2", backoff=NO_BACKOFF)
        rerun = time.perf_counter() - started
        if again.send["erp_calls"] or again.freeze["frozen"]:
            raise RuntimeError(f"the second run changed something: {again}")
        report.add(f"{prefix}_rerun_wall_s", rerun, "same month again (no ERP writes)", "s")
    finally:
        con.close()
        adapter.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, printing figures as they come (as JSON at the end with ``--json``)."""
    parser = argparse.ArgumentParser(prog="d2b bench erp", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="firm size (1.0 = 5,000 people)")
    parser.add_argument(
        "--adapters", default="tryton,filedrop", help="month benchmark adapters, comma separated"
    )
    parser.add_argument("--skip-bulk", action="store_true", help="skip the bulk-create figure")
    parser.add_argument("--template-dir", type=Path, help="cache of bootstrapped Tryton templates")
    parser.add_argument(
        "--xmlrpc-url", help="measure this trytond server's database instead of embedded Tryton"
    )
    parser.add_argument("--workdir", type=Path, help="keep databases here (default: temporary)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    args = parser.parse_args(argv)
    adapters = [a.strip() for a in args.adapters.split(",") if a.strip()]
    unknown = set(adapters) - {"tryton", "filedrop"}
    if unknown:
        parser.error(f"unknown adapter(s) {sorted(unknown)}")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="d2b-erp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    template_dir = args.template_dir.absolute() if args.template_dir else None
    report = Report(stream=sys.stderr if args.json else sys.stdout)
    try:
        if not args.skip_bulk:
            bench_bulk_create(workdir, template_dir, report, xmlrpc_url=args.xmlrpc_url)
        for name in adapters:
            bench_month(workdir, name, template_dir, args.scale, report, args.xmlrpc_url)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    verdicts = []
    if "bulk_large_lines_per_s" in report.figures:
        ok = report.figures["bulk_large_lines_per_s"] >= LINES_PER_SECOND_TARGET
        verdicts.append(f"bulk create >= {LINES_PER_SECOND_TARGET:.0f} lines/s: {_ok(ok)}")
    if "month_tryton_wall_s" in report.figures:
        ok = report.figures["month_tryton_wall_s"] <= MONTH_SECONDS_TARGET
        verdicts.append(f"month into Tryton <= {MONTH_SECONDS_TARGET:.0f} s: {_ok(ok)}")
    for verdict in verdicts:
        report.say(verdict)
    if args.json:
        json.dump(report.figures, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    return 0


def _ok(ok: bool) -> str:
    return "met" if ok else "MISSED"

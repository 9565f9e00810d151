r"""One billing run end to end, and its command line.

``run_billing`` chains the steps the Dagster assets will run one by one: freeze, send, read
back, reconcile. The command line reads candidate batches from a JSON file (a list of
:meth:`BillingBatch.to_payload` objects; later the ``billing_batch_candidates`` mart) and
prints a JSON summary::

    uv run python -m erp.run_billing --warehouse W.duckdb --batches B.json \\
        [--erp-dir DIR --erp-name NAME] [--dry-run]

The crash tests run the same command line with fault injection added
(``python -m tests.support.run_billing``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from d2b.files import PRIVATE_UMASK
from erp import outbox
from erp.adapters import make_adapter
from erp.adapters.base import ErpAdapter
from erp.model import BillingBatch
from erp.settings import ErpSettings
from erp.step_hook import NO_STEP_HOOK, StepHook


@dataclass
class RunSummary:
    """What one billing run did, step by step."""

    run_id: str
    resync: dict[str, Any]
    freeze: dict[str, Any]
    send: dict[str, Any]
    read_back: dict[str, Any]
    reconcile: dict[str, Any]
    statuses: dict[str, int]
    seconds: dict[str, float]


def run_billing(
    con: duckdb.DuckDBPyConnection,
    adapter: ErpAdapter,
    batches: Iterable[BillingBatch],
    run_id: str | None = None,
    *,
    step_hook: StepHook = NO_STEP_HOOK,
    max_attempts: int = 5,
    backoff: outbox.Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunSummary:
    """Freeze ``batches``, send what is due, read the ERP back and reconcile.

    The ERP is re-synced first (:func:`erp.outbox.resync`), so freezing rejects a batch
    billing a record some ERP invoice already bills. ``step_hook`` is called at every step
    boundary (:data:`erp.step_hook.BILLING_STEPS`).
    """
    run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
    backoff = backoff or outbox.Backoff()
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    # What the ERP already bills, before any freeze (a lost or old billing store).
    synced = outbox.resync_or_keep(con, adapter, run_id)
    seconds["resync"] = time.perf_counter() - started

    started = time.perf_counter()
    frozen = outbox.freeze(con, batches, run_id)
    seconds["freeze"] = time.perf_counter() - started
    step_hook.hit("after_freeze")

    started = time.perf_counter()
    sent = outbox.send(
        con,
        adapter,
        run_id,
        max_attempts=max_attempts,
        backoff=backoff,
        sleep=sleep,
        faults=step_hook,
    )
    seconds["send"] = time.perf_counter() - started

    started = time.perf_counter()
    loaded = outbox.read_back(con, adapter, run_id, faults=step_hook)
    seconds["read_back"] = time.perf_counter() - started
    step_hook.hit("after_read_back")

    started = time.perf_counter()
    tied = outbox.reconcile(con, run_id, adapter.name)
    seconds["reconcile"] = time.perf_counter() - started
    step_hook.hit("after_reconcile")

    return RunSummary(
        run_id=run_id,
        resync={"invoices": synced.invoices, "records": synced.records, "error": synced.error},
        freeze={
            "frozen": len(frozen.frozen),
            "unchanged": len(frozen.unchanged),
            "corrected": len(frozen.corrected),
            "rejected": frozen.rejected,
        },
        send={
            "created": len(sent.created),
            "adopted": len(sent.adopted),
            "dead_lettered": len(sent.dead_lettered),
            "failed_retryable": len(sent.failed_retryable),
            "not_due": len(sent.not_due),
            "erp_calls": sent.attempts,
        },
        read_back={"invoices": loaded.invoices, "lines": loaded.lines},
        reconcile={"reconciled": len(tied.reconciled), "mismatched": tied.mismatched},
        statuses=outbox.status_counts(con),
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )


def load_batches_file(path: Path) -> list[BillingBatch]:
    """Read candidate batches from a JSON list of batch payloads."""
    return [BillingBatch.from_payload(item) for item in json.loads(path.read_text())]


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (the crash tests' entry point adds fault injection)."""
    parser = argparse.ArgumentParser(
        prog="python -m erp.run_billing", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--warehouse", type=Path, required=True, help="DuckDB warehouse file")
    parser.add_argument("--batches", type=Path, help="JSON list of batch payloads to freeze")
    parser.add_argument(
        "--adapter", choices=("tryton", "filedrop"), help="default: D2B_ERP_ADAPTER"
    )
    parser.add_argument(
        "--erp-dir", type=Path, help="embedded Tryton directory (default $D2B_HOME/erp)"
    )
    parser.add_argument("--erp-name", help="embedded Tryton database name")
    parser.add_argument("--template-dir", type=Path, help="cache of bootstrapped Tryton templates")
    parser.add_argument("--filedrop-dir", type=Path, help="file-drop adapter root")
    parser.add_argument("--run-id")
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--backoff-seconds", type=float, default=2.0)
    parser.add_argument("--replay", action="store_true", help="replay dead letters before sending")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    return parser


def settings_from_args(args: argparse.Namespace) -> ErpSettings:
    """Environment settings overridden by command-line options."""
    settings = ErpSettings.from_env()
    tryton = settings.tryton
    if args.erp_dir:
        tryton = replace(tryton, database_dir=args.erp_dir.absolute())
    if args.erp_name:
        tryton = replace(tryton, database_name=args.erp_name)
    if args.template_dir:
        tryton = replace(tryton, template_dir=args.template_dir.absolute())
    return replace(
        settings,
        adapter=args.adapter or settings.adapter,
        tryton=tryton,
        filedrop_dir=args.filedrop_dir.absolute() if args.filedrop_dir else settings.filedrop_dir,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints a JSON summary (or the dry-run plan)."""
    os.umask(PRIVATE_UMASK)  # the outbox, ERP files and logs hold billing data: the user's only
    return run_from_args(build_parser().parse_args(argv))


def run_from_args(
    args: argparse.Namespace,
    *,
    step_hook: StepHook = NO_STEP_HOOK,
    wrap_adapter: Callable[[ErpAdapter], ErpAdapter] | None = None,
) -> int:
    """Run the billing ``args`` of :func:`build_parser` ask for; print a JSON summary.

    ``step_hook`` and ``wrap_adapter`` (applied to the configured adapter) are the seams the
    crash tests inject faults through.
    """
    batches = load_batches_file(args.batches) if args.batches else []
    adapter: ErpAdapter = make_adapter(settings_from_args(args))
    if wrap_adapter is not None:
        adapter = wrap_adapter(adapter)
    args.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(args.warehouse))
    try:
        if args.dry_run:
            items = outbox.plan(con, adapter, batches)
            json.dump([asdict(i) for i in items], sys.stdout, indent=1, default=str)
            return 0
        run_id = args.run_id or f"run-{uuid.uuid4().hex[:12]}"
        if args.replay:
            outbox.replay_dead_letters(con, run_id)
        summary = run_billing(
            con,
            adapter,
            batches,
            run_id,
            step_hook=step_hook,
            max_attempts=args.max_attempts,
            backoff=outbox.Backoff(args.backoff_seconds, 2.0, 300.0),
        )
        json.dump(asdict(summary), sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
        return 0
    finally:
        con.close()
        adapter.close()


if __name__ == "__main__":
    raise SystemExit(main())

r"""One billing run end to end, and its command line (used by the crash tests).

``run_billing`` chains the steps the Dagster assets will run one by one: freeze, send, read
back, reconcile. The command line reads candidate batches from a JSON file (a list of
:meth:`BillingBatch.to_payload` objects; later the ``billing_batch_candidates`` mart) and
prints a JSON summary::

    uv run python -m erp.run_billing --warehouse W.duckdb --batches B.json \\
        [--erp-dir DIR --erp-name NAME] [--fault-after STEP] [--transient-failures N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from erp import outbox
from erp.adapters import make_adapter
from erp.adapters.base import ErpAdapter
from erp.adapters.flaky import FlakyAdapter
from erp.faults import FAULT_POINTS, NO_FAULTS, Faults
from erp.model import BillingBatch
from erp.settings import ErpSettings


@dataclass
class RunSummary:
    """What one billing run did, step by step."""

    run_id: str
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
    faults: Faults = NO_FAULTS,
    max_attempts: int = 5,
    backoff: outbox.Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunSummary:
    """Freeze ``batches``, send what is due, read the ERP back and reconcile."""
    run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
    backoff = backoff or outbox.Backoff()
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    frozen = outbox.freeze(con, batches, run_id)
    seconds["freeze"] = time.perf_counter() - started
    faults.hit("after_freeze")

    started = time.perf_counter()
    sent = outbox.send(
        con, adapter, run_id, max_attempts=max_attempts, backoff=backoff, sleep=sleep, faults=faults
    )
    seconds["send"] = time.perf_counter() - started

    started = time.perf_counter()
    loaded = outbox.read_back(con, adapter, run_id, faults=faults)
    seconds["read_back"] = time.perf_counter() - started
    faults.hit("after_read_back")

    started = time.perf_counter()
    tied = outbox.reconcile(con, run_id, adapter.name)
    seconds["reconcile"] = time.perf_counter() - started
    faults.hit("after_reconcile")

    return RunSummary(
        run_id=run_id,
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


def _parser() -> argparse.ArgumentParser:
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
    parser.add_argument(
        "--fault-after",
        action="append",
        choices=FAULT_POINTS,
        default=[],
        help="SIGKILL this process at STEP (repeatable); D2B_FAULT_INJECT works too",
    )
    parser.add_argument("--transient-failures", type=int, default=0, help="fail N creates first")
    parser.add_argument("--lost-responses", type=int, default=0, help="lose N create responses")
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
    args = _parser().parse_args(argv)
    faults = Faults.of([*args.fault_after, *Faults.from_env().points])
    batches = load_batches_file(args.batches) if args.batches else []
    adapter: ErpAdapter = make_adapter(settings_from_args(args))
    if args.transient_failures or args.lost_responses:
        adapter = FlakyAdapter(adapter, args.transient_failures, args.lost_responses)
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
            faults=faults,
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

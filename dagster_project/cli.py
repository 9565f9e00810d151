"""The ``d2b`` command line (docs/design.md §8).

``d2b run`` loads the landing zone and builds every model in-process, ``d2b generate``
writes a synthetic firm, ``d2b dev`` opens the Dagster UI. Settings come from the ``D2B_*``
environment variables of :mod:`d2b.settings` (``d2b --help`` lists them).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench import SUITES
from d2b.files import PRIVATE_UMASK
from d2b.settings import SettingError, Settings, help_text
from ingest.landing import has_files

if TYPE_CHECKING:
    from erp.adapters.base import ErpAdapter

#: The small sample firm ``d2b run`` generates into an empty landing zone (about 100 people).
SAMPLE_SCALE = 0.02
SAMPLE_SEED = 42


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``d2b`` console script."""
    # Everything d2b and its children (dbt, Dagster's daemon and webserver) create is the
    # user's alone: the warehouse, snapshots, ERP files and logs hold billing data.
    os.umask(PRIVATE_UMASK)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and len(argv) > 1 and argv[1] in SUITES:
        # A suite parses its own options (argparse cannot pass unknown ones through).
        return _bench_suite(argv[1], argv[2:])
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except CliError as error:
        print(f"d2b: error: {error}", file=sys.stderr)
        return error.exit_code
    except SettingError as error:  # a mistyped D2B_* variable: a usage mistake, exit 2
        print(f"d2b: error: {error}", file=sys.stderr)
        return UsageError.exit_code
    except KeyboardInterrupt:
        print("d2b: interrupted", file=sys.stderr)
        return 130


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""

    exit_code = 1


class UsageError(CliError):
    """A mistake in the command or its inputs (a value, a directory): exit 2, like argparse."""

    exit_code = 2


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: the message and where to read the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class NothingToDo(CliError):
    """The input is well formed but names nothing to work on (exit status 2, like bad usage)."""

    exit_code = 2


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="d2b",
        description="Deliver-to-Bill: deliver-to-bill analytics for professional-services firms.",
        epilog=f"environment variables (read when a command runs):\n{help_text()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="load the landing zone and build every model in-process, then print a summary",
        description=(
            "Materialize every asset in-process on the embedded DuckDB warehouse: load new "
            "files from the landing zone, build the dbt models and run their tests. With an "
            "empty landing zone, a small sample firm is generated first."
        ),
    )
    run.add_argument("--as-of", type=_date, help="build the marts as of this date (YYYY-MM-DD)")
    run.add_argument(
        "--no-sample",
        action="store_true",
        help="do not generate the sample firm when the landing zone is empty",
    )
    run.set_defaults(handler=_run)

    generate = commands.add_parser(
        "generate",
        help="write a synthetic firm (all source systems) into a landing zone, with ground truth",
        description=(
            "Write a deterministic synthetic professional-services firm into a landing zone "
            "and its ground truth next to it. Scale 1.0 is a 5,000-person firm over 12 months."
        ),
    )
    generate.add_argument(
        "--scale", type=_scale, default=SAMPLE_SCALE, help="firm size (1.0 = 5,000 people)"
    )
    generate.add_argument("--seed", type=int, default=SAMPLE_SEED, help="random seed")
    generate.add_argument(
        "--as-of", type=_date, default=None, help="last day of history (default today)"
    )
    generate.add_argument(
        "--out", type=Path, default=None, help="landing directory (default $D2B_LANDING)"
    )
    generate.add_argument(
        "--truth", type=Path, default=None, help="ground-truth directory (default: beside --out)"
    )
    generate.add_argument("--quiet", action="store_true", help="no progress bar")
    generate.set_defaults(handler=_generate)

    dashboard = commands.add_parser(
        "dashboard",
        help="open the Streamlit dashboards on the published serving snapshot",
        description=(
            "Serve the dashboards (Streamlit) for D2B_HOME. They read the latest published "
            "serving snapshot read-only, so they stay up while the pipeline runs."
        ),
    )
    dashboard.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    dashboard.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; another needs sign-in configured)",
    )
    dashboard.add_argument(
        "--demo",
        action="store_true",
        help="no sign-in: one local executive, loopback only (D2B_DASHBOARD_DEMO=true)",
    )
    dashboard.set_defaults(handler=_dashboard)

    dev = commands.add_parser(
        "dev",
        help="open the Dagster UI (dagster dev) on this project with D2B_HOME's instance",
        description="Run `dagster dev` with DAGSTER_HOME under D2B_HOME; extra args pass through.",
    )
    dev.add_argument("dagster_args", nargs=argparse.REMAINDER, help="arguments for dagster dev")
    dev.set_defaults(handler=_dev)

    billing_plan = commands.add_parser(
        "billing-plan",
        help="dry run of a billing period: what would be created, retried, adopted or skipped",
        description=(
            "Group the period's candidate records (marts.billing_batch_candidates) into "
            "batches and show, per batch, what the billing run would do in the ERP "
            "(D2B_ERP_ADAPTER) and why. Writes nothing to the warehouse or the ERP."
        ),
    )
    billing_plan.add_argument("--period", required=True, type=_period, help="YYYY-MM")
    billing_plan.set_defaults(handler=_billing_plan)

    bill = commands.add_parser(
        "bill",
        help="bill one period: freeze, release, send to the ERP, read back, reconcile",
        description=(
            "Bill one closed period into the ERP (D2B_ERP_ADAPTER). Its candidate records "
            "(marts.billing_batch_candidates, built as of --as-of) are frozen into batches "
            "that wait for release; the entities the firm releases automatically "
            "(config/billing_release) go on, the others with --release. Then every released "
            "batch is sent exactly once, read back and reconciled. Held batches and records "
            "wait (d2b hold). Prints what was billed and what awaits release, and why."
        ),
    )
    bill.add_argument("--period", required=True, type=_period, help="YYYY-MM")
    bill.add_argument(
        "--release", action="store_true", help="release the period's batches awaiting release"
    )
    bill.add_argument(
        "--by", default=None, help="who releases (recorded in the audit log; default the OS user)"
    )
    bill.add_argument(
        "--as-of",
        type=_date,
        default=None,
        help="the as-of date the marts were built for (default today, UTC)",
    )
    bill.add_argument(
        "--dry-run", action="store_true", help="show what would happen; change nothing"
    )
    bill.set_defaults(handler=_bill)

    hold = commands.add_parser(
        "hold",
        help="hold a batch awaiting release or a record from billing; list or lift holds",
        description=(
            "A held batch is not released and a held record (time entry or expense, by "
            "correlation id) is not frozen into a batch until the hold expires or is lifted. "
            "Placing and lifting holds is recorded in the audit log."
        ),
    )
    target = hold.add_mutually_exclusive_group(required=True)
    target.add_argument("--batch", help="hold this batch (its key; it must await release)")
    target.add_argument("--record", help="hold this record (its correlation id)")
    target.add_argument("--list", action="store_true", help="list the holds in force")
    target.add_argument("--lift", metavar="HOLD_ID", help="lift this hold")
    hold.add_argument("--reason", help="why (required to place a hold)")
    hold.add_argument("--until", type=_date, help="the hold expires on this date (YYYY-MM-DD)")
    hold.add_argument("--by", default=None, help="approver (default the OS user)")
    hold.set_defaults(handler=_hold)

    waive = commands.add_parser(
        "waive",
        help="waive an exception of a record so it can be billed; list or lift waivers",
        description=(
            "A record (time entry or expense, by correlation id) whose every exception is "
            "waived is billed from the next build of the marts on, until the waiver expires "
            'or is lifted. Only judgement exceptions can be waived (docs/erp.md, "Exception '
            'waivers"). Placing and lifting waivers is recorded in the audit log.'
        ),
    )
    waived = waive.add_mutually_exclusive_group(required=True)
    waived.add_argument("--record", help="the excepted record (its correlation id)")
    waived.add_argument("--list", action="store_true", help="list the waivers in force")
    waived.add_argument("--lift", metavar="WAIVER_ID", help="lift this waiver")
    waive.add_argument("--exception", help="the exception code waived (with --record)")
    waive.add_argument("--reason", help="why (required to waive)")
    waive.add_argument("--until", type=_date, help="the waiver expires on this date (YYYY-MM-DD)")
    waive.add_argument("--by", default=None, help="approver (default the OS user)")
    waive.set_defaults(handler=_waive)

    feedback = commands.add_parser(
        "erp-feedback",
        help="read the ERP's state, due date and payments of the invoices not yet final",
        description=(
            "Read every invoice the write-back created in the ERP (D2B_ERP_ADAPTER) that is "
            "not yet paid or cancelled: its state, due date and payments, one reading each, "
            "kept in the billing store and mirrored to the warehouse. AR aging and paid hours "
            "use the newest reading at the next build (the nightly refresh; d2b run reads the "
            "feedback itself before its build). The erp_feedback_daily schedule runs the same "
            "every day."
        ),
    )
    feedback.set_defaults(handler=_erp_feedback)

    suites = "\n".join(f"  {name:<11} {summary}" for name, (_, summary) in SUITES.items())
    bench = commands.add_parser(
        "bench",
        help="time every pipeline phase and its peak memory across firm scales",
        usage="d2b bench [options] | d2b bench SUITE [suite options]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"suites (d2b bench SUITE --help for their options):\n{suites}",
        description=textwrap.fill(
            "For each scale: generate a firm into a fresh work directory (its last day of "
            "activity held back), then time ingest, dbt build, checks (dbt tests), publish, "
            "the held-back day as an incremental refresh, the same refresh again with nothing "
            "new (rerun), write-back (the last closed month "
            "into the embedded Tryton ERP) and the reference SQL, each in its own process "
            "(wall time and peak memory). Appends to docs/benchmarks.json and rewrites the "
            "table in docs/benchmarks.md. Disk: scale 1.0 needs about 10 GB, scale 3.0 about "
            "30 GB (DuckDB spills past its memory limit)."
        ),
    )
    bench.add_argument(
        "--scales",
        type=_scales,
        default=None,
        help="comma-separated scales (default 0.1,0.5,1.0,3.0)",
    )
    bench.add_argument("--seed", type=int, default=SAMPLE_SEED, help="generator seed")
    bench.add_argument(
        "--as-of", type=_date, default=date(2026, 11, 20), help="as-of date of the firm"
    )
    bench.add_argument(
        "--workdir", type=Path, help="where to generate (default: a new temporary directory)"
    )
    bench.add_argument(
        "--phases",
        type=_phases,
        default=None,
        help=(
            "comma-separated phases to run (default all, in order). Without generate, "
            "--workdir must hold the firms of an earlier bench (landing/, ground_truth/) "
            "with their warehouse, serving and erp deleted: the phases run on them again"
        ),
    )
    bench.add_argument(
        "--docs", type=Path, default=None, help="where to write the results (default docs/)"
    )
    bench.set_defaults(handler=_bench)

    services = commands.add_parser(
        "services",
        help="start, stop or show PostgreSQL and the Spark Thrift server on loopback",
        description=(
            "The servers of the postgres and spark engines, under $D2B_HOME/services/<name> "
            "(data, server.log, server.pid), on 127.0.0.1 at D2B_POSTGRES_PORT and "
            "D2B_SPARK_PORT (docs/scale.md). Start waits for the port; stop signals the "
            "server by its own process id."
        ),
    )
    services.add_argument("action", choices=("start", "stop", "status"))
    services.add_argument(
        "names", nargs="*", metavar="NAME", help="postgres and/or spark (default: both)"
    )
    services.set_defaults(handler=_services)
    return parser


def _period(text: str) -> str:
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a billing period (YYYY-MM): {text!r}") from error
    return text


def _billing_plan(args) -> int:
    from erp.adapters import make_adapter
    from erp.candidates import CANDIDATES_RELATION
    from ingest.warehouse import connect, table_exists

    settings = _settings()
    if not settings.warehouse.exists():
        raise CliError(f"no warehouse at {settings.warehouse}: run `d2b run` first")
    # Read-only: the plan writes nothing, so it never waits for (or blocks) the writer.
    with connect(settings.warehouse, read_only=True) as con:
        if not table_exists(con, CANDIDATES_RELATION):
            raise CliError(f"{CANDIDATES_RELATION} does not exist: build the marts first")
        adapter = make_adapter(_erp_settings())
        try:
            candidates, excluded, items = _dry_run(con, adapter, args.period)
        finally:
            adapter.close()
    print(
        f"billing period {args.period}: {len(candidates)} candidate batches, "
        f"{len(excluded)} record(s) excluded as already billed"
    )
    print(f"{'action':<18} {'batch':<18} {'client':<20} {'lines':>6} {'amount':>16}  reason")
    for item in items:
        print(
            f"{item.action:<18} {item.batch_key[:16]:<18} {item.client_ref[:20]:<20} "
            f"{item.line_count:>6} {item.amount:>12} {item.currency}  {item.reason}"
        )
    return 0


def _dry_run(con, adapter, period: str):
    """What a billing run of ``period`` would do, read only: ``(batches, excluded, plan)``.

    As a billing run does: records on hold are left out, and so are the records the ERP
    already bills (read from the ERP now, as the run's re-sync would).
    """
    from erp import outbox
    from erp.candidates import batches_from_rows, records_for_period
    from erp.outbox import releasing
    from erp.outbox.resync import read_erp_billed

    records = records_for_period(con, period, held=releasing.held_records(con))
    records, excluded = outbox.split_billed(con, records, read_erp_billed(adapter))
    batches = batches_from_rows(records)
    return batches, excluded, outbox.plan(con, adapter, batches, excluded)


def _erp_settings():
    """The ERP settings from the environment; a bad value is a :class:`CliError`."""
    from erp.settings import ErpSettings

    try:
        return ErpSettings.from_env()
    except ValueError as error:
        raise CliError(str(error)) from error


def _configured_adapter() -> ErpAdapter:
    """The adapter of the ERP the ``D2B_ERP_*`` settings name (``ValueError`` if they are bad)."""
    from erp.adapters import make_adapter
    from erp.settings import ErpSettings

    return make_adapter(ErpSettings.from_env())


def _scale(text: str) -> float:
    try:
        scale = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from error
    if not scale > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"the scale must be a positive number, not {text}")
    return scale


def _bill(args) -> int:
    from erp import outbox
    from erp.adapters import make_adapter
    from erp.billing_cycle import bill_periods, read_candidates
    from erp.billing_store import mirror_to_warehouse, open_store
    from erp.candidates import CANDIDATES_RELATION, StaleCandidatesError
    from ingest.warehouse import connect, table_exists

    settings = _settings()
    as_of = args.as_of or datetime.now(UTC).date()
    if not settings.warehouse.exists():
        raise CliError(f"no warehouse at {settings.warehouse}: run `d2b run` first")
    erp_settings = _erp_settings()
    with connect(settings.warehouse, read_only=True) as con:
        if not table_exists(con, CANDIDATES_RELATION):
            raise CliError(f"{CANDIDATES_RELATION} does not exist: build the marts first")
        _require_something_to_bill(con, args.period, as_of)
        if args.dry_run:
            adapter = make_adapter(erp_settings)
            try:
                _, _, items = _dry_run(con, adapter, args.period)
            finally:
                adapter.close()
            for line in _plan_lines(args.period, items):
                print(line)
            return 0
        try:
            candidates = read_candidates(con, [args.period], as_of)
        except StaleCandidatesError as error:
            raise CliError(str(error)) from error
    adapter = make_adapter(erp_settings)
    try:
        with open_store(settings.billing.store, settings.warehouse) as store:
            cycle = bill_periods(
                store,
                candidates,
                adapter,
                run_id=f"bill-{args.period}-{datetime.now(UTC):%Y%m%dT%H%M%S}",
                by=args.by or _os_user(),
                release=args.release,
                backoff=outbox.Backoff().scaled(settings.billing.backoff_scale),
            )
            summary = bill_summary(store, cycle, args.period)
    finally:
        adapter.close()
    # Readers (dbt, dashboards) see the billing store through the warehouse's copy.
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    for line in summary:
        print(line)
    return 0


def _erp_feedback(args) -> int:
    from erp.adapters import make_adapter
    from erp.billing_store import mirror_to_warehouse, open_store
    from erp.outbox import read_feedback

    settings = _settings()
    adapter = make_adapter(_erp_settings())
    try:
        with open_store(settings.billing.store, settings.warehouse) as con:
            result = read_feedback(con, adapter, f"feedback-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    finally:
        adapter.close()
    if settings.warehouse.exists():
        mirror_to_warehouse(settings.billing.store, settings.warehouse)
    print(_feedback_line(result))
    return 0


def _feedback_line(result) -> str:
    """``ERP feedback: <read> of <asked> open invoices read (<count> <state>, ...)``."""
    states = ", ".join(f"{count} {state}" for state, count in result.states.items())
    return f"ERP feedback: {result.read} of {result.asked} open invoices read" + (
        f" ({states})" if states else ""
    )


def read_erp_feedback(settings: Settings, adapter_factory: Callable[[], ErpAdapter]) -> str:
    """``d2b run``'s ERP feedback, before its build; returns the one line to print.

    As ``d2b erp-feedback``, it reads the ERP's state, due date and payments of the invoices
    not yet final, through the adapter ``adapter_factory`` builds (and this closes), so the
    marts the run builds show them (AR aging, paid hours). Never fails the run: with nothing
    sent to an ERP yet it builds no adapter and creates no billing store; with ERP settings
    that do not resolve (the factory's ``ValueError``), or an ERP that does not answer, it says
    so and the marts keep the last reading.
    """
    from erp.adapters.base import ErpError
    from erp.billing_store import mirror_to_warehouse, open_store
    from erp.outbox import read_feedback
    from ingest.warehouse import connect

    started = time.perf_counter()
    store_path, warehouse = settings.billing.store, settings.warehouse
    if not store_path.exists():
        # a warehouse of before the billing store still holds the outbox (open_store takes it)
        legacy = False
        if warehouse.exists():
            with connect(warehouse, read_only=True) as con:
                legacy = outbox_exists(con)
        if not legacy:
            return "ERP feedback: nothing sent to the ERP yet"
    with open_store(store_path, warehouse) as con:
        ((sent,),) = con.execute(
            "SELECT count(*) FROM ops.erp_outbox WHERE erp_document_id IS NOT NULL"
        ).fetchall()
        if not sent:
            return "ERP feedback: nothing sent to the ERP yet"
        try:
            adapter = adapter_factory()
        except ValueError as error:  # settings errors name the variable, never a secret
            return f"ERP feedback: no ERP configured ({error}); not read"
        try:
            result = read_feedback(con, adapter, f"run-feedback-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        except ErpError as error:  # its message is redacted (erp.adapters.base)
            return f"ERP feedback: not read, {error}; the marts keep the last reading"
        finally:
            adapter.close()
    if warehouse.exists():
        mirror_to_warehouse(store_path, warehouse)
    return f"{_feedback_line(result)} in {time.perf_counter() - started:.1f} s"


def _in_billing_store(verb: str, change) -> int:
    """Run ``change(con, run_id)`` on the billing store, for ``d2b hold`` and ``d2b waive``.

    ``change`` returns the line to print after a change (then mirrored to the warehouse, so the
    next build of the marts sees it), or None when it only listed; a ValueError it raises is
    the command's one-line error.
    """
    from erp.billing_store import mirror_to_warehouse, open_store

    settings = _settings()
    run_id = f"{verb}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    with open_store(settings.billing.store, settings.warehouse) as con:
        try:
            said = change(con, run_id)
        except ValueError as error:
            raise CliError(str(error)) from error
    if said is None:
        return 0
    if settings.warehouse.exists():
        mirror_to_warehouse(settings.billing.store, settings.warehouse)
    print(said)
    return 0


def _hold(args) -> int:
    from erp.outbox import releasing

    by = args.by or _os_user()

    def change(con, run_id: str) -> str | None:
        if args.list:
            holds = releasing.active_holds(con)
            print(f"{len(holds)} holds in force")
            for h in holds:
                print(
                    f"  {h.hold_id} {h.scope:<6} {h.target} until {h.expires_on} "
                    f"by {h.approver}: {h.reason}"
                )
            return None
        if args.lift:
            releasing.lift_hold(con, args.lift, by=by, run_id=run_id)
            return f"lifted {args.lift}"
        if not args.reason or not args.until:
            raise CliError("a hold needs --reason and --until")
        scope = releasing.BATCH if args.batch else releasing.RECORD
        hold_id = releasing.place_hold(
            con,
            scope,
            args.batch or args.record,
            approver=by,
            reason=args.reason,
            expires_on=args.until,
            run_id=run_id,
        )
        return f"{hold_id}: {scope} {args.batch or args.record} held until {args.until}"

    return _in_billing_store("hold", change)


def _waive(args) -> int:
    from erp.outbox import waivers

    by = args.by or _os_user()

    def change(con, run_id: str) -> str | None:
        if args.list:
            active = waivers.active_waivers(con)
            print(f"{len(active)} waivers in force")
            for w in active:
                print(
                    f"  {w.waiver_id} {w.correlation_id} {w.exception_code} until "
                    f"{w.expires_on} by {w.approver}: {w.reason}"
                )
            return None
        if args.lift:
            waivers.lift_waiver(con, args.lift, by=by, run_id=run_id)
            return f"lifted {args.lift}"
        if not args.exception or not args.reason or not args.until:
            raise CliError("a waiver needs --exception, --reason and --until")
        waiver_id = waivers.place_waiver(
            con,
            args.record,
            args.exception,
            approver=by,
            reason=args.reason,
            expires_on=args.until,
            run_id=run_id,
        )
        return (
            f"{waiver_id}: {args.exception} of {args.record} waived until {args.until}; "
            "billed from the next build of the marts if nothing else holds it"
        )

    return _in_billing_store("waive", change)


def outbox_exists(con) -> bool:
    """Whether the billing run has created its tables in this warehouse."""
    from erp.outbox.store import outbox_exists as exists

    return exists(con)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): say so rather than guess
        return "unknown-user"


def _require_something_to_bill(con, period: str, as_of: date) -> None:
    """Raise :class:`NothingToDo` (with the reason) when ``period`` has nothing to bill."""
    from erp.candidates import CANDIDATES_RELATION

    period_start = date.fromisoformat(f"{period}-01")
    next_start = date(period_start.year + period_start.month // 12, period_start.month % 12 + 1, 1)
    if next_start > as_of + timedelta(days=1):
        raise NothingToDo(
            f"{period} is not closed as of {as_of}: a period is billed once it has ended"
        )
    ((candidates,),) = con.execute(
        f"SELECT count(*) FROM {CANDIDATES_RELATION} WHERE period = ?", [period]
    ).fetchall()
    batches = 0
    if outbox_exists(con):
        ((batches,),) = con.execute(
            "SELECT count(*) FROM ops.erp_outbox WHERE period = ?", [period]
        ).fetchall()
    if candidates or batches:
        return
    raise NothingToDo(
        f"{period} has no candidates: no approved, billable, priced record of that month is "
        "waiting to be invoiced (already on an ERP invoice, held back by an exception, or none "
        "was logged)"
    )


def _plan_lines(period: str, items) -> list[str]:
    items = [item for item in items if item.period == period]  # the plan covers every period
    lines = [f"billing period {period} (dry run: nothing changed): {len(items)} batches"]
    lines.append(f"{'action':<18} {'batch':<18} {'client':<20} {'lines':>6} {'amount':>16}  why")
    for item in items:
        lines.append(
            f"{item.action:<18} {item.batch_key[:16]:<18} {item.client_ref[:20]:<20} "
            f"{item.line_count:>6} {_money(item.amount, item.currency):>16}  {item.reason}"
        )
    return lines


def _money(amount, currency: str) -> str:
    """An amount as people read it: thousands separated, two decimals, then the currency."""
    from decimal import Decimal

    return f"{Decimal(amount):,.2f} {currency}"


def bill_summary(con, cycle, period: str) -> list[str]:
    """The readable summary of a billing run for ``period``: what was billed, what waits."""
    from erp.outbox import releasing

    (billed,) = [p for p in cycle.periods if p.period == period]
    lines = [
        f"billing period {period} (run {cycle.run_id}): {billed.candidate_batches} candidate "
        f"batches, {billed.candidate_lines} lines"
    ]
    if billed.held_records:
        lines.append(f"  {billed.held_records} records on hold, not billed (d2b hold --list)")
    frozen = billed.freeze
    lines.append(
        f"  frozen {len(frozen.frozen)} new, {len(frozen.unchanged)} already frozen, "
        f"{len(frozen.rejected)} rejected"
    )
    for key, reason in frozen.rejected.items():
        lines.append(f"    rejected {key[:16]}: {reason}")
    lines.append(
        f"  released {len(billed.auto_released)} by the entities' auto-release rule, "
        f"{len(billed.released)} by hand"
    )
    sent = cycle.send
    lines.append(
        f"  sent {len(sent.created)} invoices to the ERP ({len(sent.adopted)} already there), "
        f"{len(sent.dead_lettered)} dead letters, {len(sent.failed_retryable)} to retry"
    )
    if cycle.reconcile is not None:
        lines.append(
            f"  reconciled {len(cycle.reconcile.reconciled)}, "
            f"{len(cycle.reconcile.mismatched)} mismatched"
        )
    lines.append(f"{period} in the outbox, by status and currency:")
    rows = con.execute(
        "SELECT status, currency, count(*), sum(line_count), sum(total_amount) "
        "FROM ops.erp_outbox WHERE period = ? GROUP BY ALL ORDER BY ALL",
        [period],
    ).fetchall()
    for status, currency, batches, line_count, amount in rows:
        lines.append(
            f"  {status:<18} {batches:>5} batches {line_count:>6} lines "
            f"{_money(amount, currency):>18}"
        )
    waiting = releasing.awaiting_release(con, period)
    if waiting:
        holds = {h.target: h for h in releasing.active_holds(con, releasing.BATCH)}
        held = [key for key in waiting if key in holds]
        lines.append(
            f"awaiting release: {len(waiting)} batches ({len(held)} on hold); release with "
            f"`d2b bill --period {period} --release`"
        )
        for key in held:
            hold = holds[key]
            lines.append(
                f"  held {key[:16]}: {hold.reason} (by {hold.approver} until {hold.expires_on})"
            )
        if len(held) < len(waiting):
            lines.append(
                f"  {len(waiting) - len(held)} not on hold: their legal entities are not "
                "released automatically (config/billing_release), a person releases them"
            )
    return lines


def _scales(text: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from error
    if not scales or any(scale <= 0 for scale in scales):
        raise argparse.ArgumentTypeError("scales must be positive numbers")
    return scales


def _phases(text: str) -> tuple[str, ...]:
    from bench.ladder import PHASES

    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(chosen - set(PHASES))
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown phase(s) {', '.join(unknown) or text!r}; choose from {', '.join(PHASES)}"
        )
    return tuple(phase for phase in PHASES if phase in chosen)


def _bench_suite(name: str, argv: Sequence[str]) -> int:
    import importlib

    module, _ = SUITES[name]
    return importlib.import_module(module).main(list(argv))


def _bench(args) -> int:
    from bench import ladder as bench

    phases = args.phases or bench.PHASES
    if "generate" not in phases and args.workdir is None:
        raise CliError("--phases without generate needs the --workdir of an earlier bench")
    try:
        results = bench.bench(
            args.scales or bench.DEFAULT_SCALES,
            seed=args.seed,
            as_of=args.as_of,
            phases=phases,
            workroot=args.workdir,
        )
    except (FileExistsError, FileNotFoundError) as error:
        raise CliError(str(error)) from error
    docs = args.docs or bench.REPO / "docs"
    bench.write_results(results, docs)
    print(bench.markdown_table(results, bench.machine()))
    print(f"results: {docs / 'benchmarks.md'}, {docs / 'benchmarks.json'}")
    return 0 if all(result.ok for result in results) else 1


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def _settings() -> Settings:
    """Resolve settings and export them, so dbt and Dagster child processes agree."""
    settings = Settings.from_env()
    os.environ.update(settings.environment())
    # dbt is looked up on PATH; make this environment's dbt findable without activation.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return settings


def _generate_into(
    settings: Settings, out: Path, truth: Path | None, args, listing: bool = True
) -> None:
    """Generate a firm into ``out`` and say what was written.

    Every entity's rows and the defects planted, or (``listing`` False, for ``d2b run``)
    only where it went and how long it took.
    """
    try:
        from ingest.generator import generate
    except ImportError as error:  # pragma: no cover - only before the generator lands
        raise CliError(f"the synthetic firm generator is not available: {error}") from error
    as_of = args.as_of or date.today()
    try:
        result = generate(
            out,
            scale=args.scale,
            seed=args.seed,
            as_of=as_of,
            truth_dir=truth,
            progress=not getattr(args, "quiet", False),
        )
    except (ValueError, FileExistsError, NotADirectoryError) as error:
        # checked before anything is written: a non-empty ground-truth directory, a truth
        # directory inside the landing zone, an output path that is a file
        raise UsageError(str(error)) from error
    lines = result.summary_lines()  # where it went, each entity's rows, ..., the time taken
    for line in lines if listing else [lines[0], lines[-1]]:
        print(line)


def _generate(args) -> int:
    settings = _settings()
    out = (args.out or settings.landing).expanduser().absolute()
    truth = args.truth.expanduser().absolute() if args.truth else None
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; generate into an empty directory")
    if out.exists() and has_files(out):
        raise UsageError(f"{out} already holds files; generate into an empty directory")
    _generate_into(settings, out, truth, args)
    return 0


def _run(args) -> int:
    from dagster_project.instance import ensure_dagster_home

    settings = _settings()
    _check_landing(settings)
    if args.as_of is not None:
        _check_as_of(settings.warehouse, args.as_of)
    print(f"D2B_HOME={settings.home}\nlanding: {settings.landing}\nwarehouse: {settings.warehouse}")
    if not has_files(settings.landing):
        if args.no_sample:
            raise CliError(f"the landing zone {settings.landing} is empty")
        print(f"landing zone is empty: generating the sample firm (scale {SAMPLE_SCALE})")
        sample = argparse.Namespace(
            scale=SAMPLE_SCALE, seed=SAMPLE_SEED, as_of=args.as_of, quiet=True
        )
        _generate_into(settings, settings.landing, None, sample, listing=False)

    ensure_dagster_home(settings)
    import dagster as dg

    from dagster_project.dbt import prepare_manifest
    from dagster_project.recovery import wait_for_warehouse
    from dagster_project.run_output import output_to_log, run_log_path, with_phase_lines

    log_path = run_log_path(settings.home)
    print(f"log (Dagster events, dbt output): {log_path}")
    with dg.DagsterInstance.get() as instance:
        # A killed run's slot would block this run forever; a live one is waited for here,
        # where Ctrl-C and SIGTERM work (docs/operations.md, "Recovery").
        wait_for_warehouse(instance, settings.serving)
        # before the build, so the marts it publishes show the ERP's newest states
        print(read_erp_feedback(settings, _configured_adapter))
        started = time.perf_counter()
        since = datetime.now(UTC).replace(tzinfo=None)  # ingest stamps rejections in naive UTC
        with output_to_log(log_path) as terminal:
            print("parsing the dbt project", file=terminal)
            prepare_manifest(force=True)  # pick up any model edits since the last run
            from dagster_project.definitions import ALL_ASSETS_JOB, defs
            from dagster_project.defs.dbt_models import as_of_run_config

            definitions = defs()
            job, run_config = with_phase_lines(
                definitions.resolve_job_def(ALL_ASSETS_JOB), as_of_run_config(args.as_of), terminal
            )
            result = job.execute_in_process(
                instance=instance, run_config=run_config, raise_on_error=False
            )
    elapsed = time.perf_counter() - started
    from serving.summary import held_summary, warehouse_summary

    if not result.success:
        # After the logs, a few lines that say why (docs/design.md §8).
        for line in _failure_report(result, settings, log_path):
            print(line, file=sys.stderr)
        raise CliError(f"run {result.run_id} failed after {elapsed:.1f} s")

    from serving.snapshot import current

    print(f"run {result.run_id} succeeded in {elapsed:.1f} s")
    for line in _bill_closed_periods(settings, args.as_of or datetime.now(UTC).date()):
        print(line)
    for line in warehouse_summary(settings.warehouse):
        print(line)
    for line in held_summary(settings.warehouse, _checks_not_passed(result), since):
        print(line)
    snapshot = current(settings.serving)
    if snapshot is not None:
        print(f"Serving snapshot {snapshot.version}: {snapshot.path}")
    print("Next: `d2b dashboard` for the executive overview, exception queue and data health")
    return 0


def _check_landing(settings: Settings) -> None:
    """Refuse a landing zone set to a directory that does not exist, or to a file.

    A typo or an unmounted share: the sample firm is generated only into the default
    landing zone, under D2B_HOME.
    """
    landing = settings.landing
    if landing.exists() and not landing.is_dir():
        raise UsageError(f"the landing zone {landing} (D2B_LANDING) is a file, not a directory")
    if not landing.exists() and landing != settings.home / "landing":
        raise UsageError(f"the landing zone {landing} (D2B_LANDING) does not exist")


def _check_as_of(warehouse: Path, as_of: date) -> None:
    """Refuse an as-of date before the first time entry of the warehouse's last build.

    Such a build would publish empty marts over the good snapshot. A first run (no
    warehouse yet) cannot tell before loading; its generated sample follows ``as_of``.
    """
    import duckdb

    from ingest.warehouse import connect, table_exists

    if not warehouse.exists():
        return
    try:
        with connect(warehouse, read_only=True) as con:
            if not table_exists(con, "marts.fct_time_entries"):
                return
            first_day = con.execute("SELECT min(work_date) FROM marts.fct_time_entries").fetchone()[
                0
            ]
    except duckdb.IOException:  # the writer holds the file: wait_for_warehouse reports it
        return
    if first_day is not None and as_of < first_day:
        raise UsageError(
            f"--as-of {as_of} is before the data (its first time entry is of {first_day}): "
            "nothing would be built or published"
        )


#: The marts that read the billing run's tables (the ERP's read back and the outbox), rebuilt
#: after billing so the published snapshot shows it (docs/erp.md).
DBT_AFTER_BILLING = (
    "source:erp_api+ source:ops.erp_outbox_correlations+ source:ops.erp_outbox+ "
    "source:ops.audit_log+"
)


def _bill_closed_periods(settings: Settings, as_of: date) -> list[str]:
    """Bill every closed period with candidates into the ERP, then rebuild and publish.

    The same steps as ``d2b bill`` (erp.billing_cycle) behind the same release gate: the
    entities the firm releases automatically are sent, the others wait for `d2b bill
    --release`. With nothing new to freeze or read back it costs one query, so a second
    run sends nothing and rebuilds nothing. Returns the summary lines.
    """
    from dashboards.access import load_policy
    from erp import outbox
    from erp.adapters import make_adapter
    from erp.billing_cycle import AUTO_RELEASE_ACTOR, bill_periods, read_candidates
    from erp.billing_store import mirror_to_warehouse, open_store
    from erp.candidates import CANDIDATES_RELATION, StaleCandidatesError
    from ingest.warehouse import connect, table_exists
    from serving.scoped import analyst_scopes
    from serving.snapshot import publish

    started = time.perf_counter()
    with connect(settings.warehouse, read_only=True) as con:
        if not table_exists(con, CANDIDATES_RELATION):
            return []
        periods = [
            period
            for (period,) in con.execute(
                f"SELECT DISTINCT period FROM {CANDIDATES_RELATION} ORDER BY period"
            ).fetchall()
        ]
        ready = 0
        if outbox_exists(con):  # the billing store's copy (erp.billing_store)
            ((ready,),) = con.execute(
                "SELECT count(*) FROM ops.erp_outbox WHERE status IN "
                "('ready', 'failed_retryable', 'sent')"
            ).fetchall()
        if not periods and not ready:
            return ["billing: nothing new to bill"]
        try:
            candidates = read_candidates(con, periods, as_of)
        except StaleCandidatesError as error:
            raise CliError(str(error)) from error
    adapter = make_adapter(_erp_settings())
    try:
        with open_store(settings.billing.store, settings.warehouse) as store:
            cycle = bill_periods(
                store,
                candidates,
                adapter,
                run_id=f"run-billing-{datetime.now(UTC):%Y%m%dT%H%M%S}",
                by=AUTO_RELEASE_ACTOR,
                backoff=outbox.Backoff().scaled(settings.billing.backoff_scale),
            )
            ((waiting,),) = store.execute(
                "SELECT count(*) FROM ops.erp_outbox WHERE status = 'awaiting_release'"
            ).fetchall()
    finally:
        adapter.close()
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    _dbt_build(DBT_AFTER_BILLING, as_of)
    scopes = analyst_scopes(load_policy(settings.dashboard.access_file))
    with connect(settings.warehouse) as con:
        publish(con, settings.serving, analyst_scopes=scopes)
    frozen = sum(len(p.freeze.frozen) for p in cycle.periods)
    reconciled = len(cycle.reconcile.reconciled) if cycle.reconcile else 0
    return [
        f"billing {', '.join(periods) or '(no new candidates)'}: {frozen} batches frozen, "
        f"{len(cycle.send.created)} invoices sent to the ERP, {reconciled} reconciled, "
        f"{len(cycle.send.dead_lettered)} dead letters, {waiting} awaiting release "
        f"({time.perf_counter() - started:.1f} s)"
    ]


def _dbt_build(select: str, as_of: date) -> None:
    """``dbt build --select <select>`` as of ``as_of``; raises :class:`CliError` on failure."""
    import subprocess

    from dagster_project.dbt import dbt_command

    completed = subprocess.run(
        dbt_command(["--quiet", "build", "--select", select], as_of),
        capture_output=True,
        text=True,
    )
    if completed.returncode:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        raise CliError(f"dbt build after billing failed: {' | '.join(tail)}")


def _checks_not_passed(result) -> list:
    """The run's asset checks that did not pass, with their failing record counts."""
    from serving.summary import CheckOutcome

    outcomes = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        metadata = {name: value.value for name, value in evaluation.metadata.items()}
        failed_rows = metadata.get("dagster_dbt/failed_row_count")
        if failed_rows is not None:
            detail = f"{failed_rows:,} records"
        else:  # ingest's checks describe themselves in their metadata
            detail = ", ".join(f"{name}={value}" for name, value in metadata.items())
        outcomes.append(
            CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                name=evaluation.check_name,
                severity=evaluation.severity.value,
                detail=detail,
            )
        )
    return outcomes


def _failure_report(result, settings: Settings, log_path: Path) -> list[str]:
    """Which steps failed and why, the dbt models and tests behind it, where to look next."""
    from dagster_project.dbt import dbt_project
    from dagster_project.defs.dbt_models import d2b_dbt_models
    from serving.summary import dbt_problems, failure_summary

    failed_steps = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            message = error.message if error else event.message or ""
            # one line: the error without its class name, whitespace folded
            message = " ".join(message.split(": ", 1)[-1].split())
            failed_steps.append((_step_name(event.step_key), message[:160]))
    # dagster-dbt gives each invocation its own target directory, named after op and run
    # (target_path is relative to the project directory)
    target_root = dbt_project.project_dir / dbt_project.target_path
    targets = sorted(target_root.glob(f"{d2b_dbt_models.op.name}-{result.run_id[:7]}-*"))
    problems, skipped, next_steps = [], 0, []
    if targets:
        problems, skipped = dbt_problems(targets[-1], settings.warehouse)
        next_steps.append(f"dbt log: {targets[-1] / 'dbt.log'}")
    next_steps += [
        f"this run's log: {log_path}",
        f"the run's events and logs: `d2b dev`, then Runs, run {result.run_id}",
        "the last published state: the Data health page (`d2b dashboard`)",
    ]
    return failure_summary(failed_steps, problems, skipped, next_steps)


def _step_name(step_key: str | None) -> str:
    """A step of the all-assets job, as a user knows it."""
    from dagster_project.run_output import INGEST_PREFIX, phase_label

    label = phase_label(step_key)
    if label and not step_key.startswith(INGEST_PREFIX):
        return f"{label} ({step_key})"
    return step_key or "run"  # the ingest steps are named ingest_<system>


def _dashboard(args) -> int:
    from d2b.web import dashboard_host_options
    from dashboards.serving_auth import is_loopback, secrets_file

    settings = _settings()
    demo = args.demo or settings.dashboard.demo
    try:
        secrets = None if demo else secrets_file(settings.dashboard, args.port)
    except ValueError as error:
        print(f"d2b dashboard: {error}", file=sys.stderr)
        return 2
    if (demo or secrets is None) and not is_loopback(args.address):
        why = "demo mode signs nobody in" if demo else "sign-in is not configured"
        print(
            f"d2b dashboard: refusing to listen on {args.address}: {why}; set the D2B_OIDC_* "
            "variables (docs/access.md) or listen on 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    if demo:
        os.environ["D2B_DASHBOARD_DEMO"] = "true"
        print("demo mode: no sign-in, everything visible to anyone on this machine")
    elif secrets is None:
        print("sign-in is not configured: the dashboards show no data (docs/access.md)")
    app = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"
    command = [
        str(Path(sys.executable).parent / "streamlit"),
        "run",
        str(app),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        # Viewers see a generic message; the traceback (server paths) goes to this console.
        "--client.showErrorDetails",
        "none",
        *dashboard_host_options(args.address),  # a foreign Host header is refused (d2b/web.py)
        *(["--secrets.files", str(secrets)] if secrets else []),
    ]
    print(f"dashboards for D2B_HOME={settings.home} on http://{args.address}:{args.port}")
    os.execv(command[0], command)
    return 0  # pragma: no cover - execv does not return


def _services(args) -> int:
    from d2b import services

    settings = _settings()
    return services.main(
        args.action,
        args.names,
        settings.home,
        postgres_port=int(settings.dbt.postgres_port),
        spark_port=int(settings.dbt.spark_port),
    )


def _dev(args) -> int:
    from dagster_project.instance import ensure_dagster_home

    settings = _settings()
    ensure_dagster_home(settings)
    import dagster as dg

    from dagster_project.recovery import recover_dead_runs

    with dg.DagsterInstance.get() as instance:
        for run in recover_dead_runs(instance):  # the daemon frees only finished runs' slots
            print(run.describe())
    dagster_args = [a for a in args.dagster_args if a != "--"]
    host = _dagster_host(dagster_args)
    if host is None:
        dagster_args = ["--host", "127.0.0.1", *dagster_args]
    else:
        from dashboards.serving_auth import is_loopback

        if not is_loopback(host):
            print(
                f"warning: the Dagster UI has no sign-in and can launch billing runs; serving "
                f"it on {host} lets anyone who reaches it do so. Keep it on 127.0.0.1 behind "
                "a signing-in reverse proxy (docs/access.md).",
                file=sys.stderr,
            )
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-m",
        "dagster_project.definitions",
        *dagster_args,
    ]
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}\n{' '.join(command)}")
    return run_dagster_dev(command)


def run_dagster_dev(command: list[str]) -> int:
    """Run ``command`` (``dagster dev``) until it stops; then cancel the runs it left queued.

    Ctrl-C reaches ``dagster dev`` with the terminal's process group; SIGTERM to ``d2b dev``
    is passed on to it. Either way ``d2b dev`` waits for it to stop, so no run it queued is
    left for the next start (:func:`dagster_project.recovery.cancel_queued_runs`).
    """
    import signal
    import subprocess

    import dagster as dg

    from dagster_project.recovery import cancel_queued_runs

    started_at = datetime.now(UTC)
    child = subprocess.Popen(command)
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # dagster dev got it too and is shutting down
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)
    with dg.DagsterInstance.get() as instance:
        canceled = cancel_queued_runs(instance, started_at)
    if canceled:
        print(f"canceled {len(canceled)} queued run(s) d2b dev left behind: {', '.join(canceled)}")
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


def _dagster_host(dagster_args: list[str]) -> str | None:
    """The host ``dagster dev`` is told to listen on (None: not given)."""
    for index, arg in enumerate(dagster_args):
        for flag in ("-h", "--host", "--dagit-host"):
            if arg == flag and index + 1 < len(dagster_args):
                return dagster_args[index + 1]
            if arg.startswith(f"{flag}="):
                return arg.split("=", 1)[1]
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

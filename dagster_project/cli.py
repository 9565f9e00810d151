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
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from bench import SUITES
from d2b.settings import Settings, help_text
from ingest.landing import has_files

#: The small sample firm ``d2b run`` generates into an empty landing zone (about 100 people).
SAMPLE_SCALE = 0.02
SAMPLE_SEED = 42
#: Files 0600, directories 0700.
PRIVATE_UMASK = 0o077


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
        return 1
    except KeyboardInterrupt:
        print("d2b: interrupted", file=sys.stderr)
        return 130


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        "--scale", type=float, default=SAMPLE_SCALE, help="firm size (1.0 = 5,000 people)"
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
        "--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
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
    return parser


def _period(text: str) -> str:
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a billing period (YYYY-MM): {text!r}") from error
    return text


def _billing_plan(args) -> int:
    from erp import outbox
    from erp.adapters import make_adapter
    from erp.candidates import CANDIDATES_RELATION, batches_from_rows, records_for_period
    from erp.outbox.resync import read_erp_billed
    from erp.settings import ErpSettings
    from ingest.warehouse import connect, table_exists

    settings = _settings()
    if not settings.warehouse.exists():
        raise CliError(f"no warehouse at {settings.warehouse}: run `d2b run` first")
    # Read-only: the plan writes nothing, so it never waits for (or blocks) the writer.
    with connect(settings.warehouse, read_only=True) as con:
        if not table_exists(con, CANDIDATES_RELATION):
            raise CliError(f"{CANDIDATES_RELATION} does not exist: build the marts first")
        records = records_for_period(con, args.period)
        try:
            erp_settings = ErpSettings.from_env()
        except ValueError as error:
            raise CliError(str(error)) from error
        adapter = make_adapter(erp_settings)
        try:
            # The re-sync a billing run does first, read only: records the ERP bills stay out.
            records, excluded = outbox.split_billed(con, records, read_erp_billed(adapter))
            candidates = batches_from_rows(records)
            items = outbox.plan(con, adapter, candidates, excluded)
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


def _generate_into(settings: Settings, out: Path, truth: Path | None, args) -> None:
    try:
        from ingest.generator import generate
    except ImportError as error:  # pragma: no cover - only before the generator lands
        raise CliError(f"the synthetic firm generator is not available: {error}") from error
    as_of = args.as_of or date.today()
    started = time.perf_counter()
    result = generate(
        out,
        scale=args.scale,
        seed=args.seed,
        as_of=as_of,
        truth_dir=truth,
        progress=not getattr(args, "quiet", False),
    )
    for line in result.summary_lines():
        print(line)
    print(f"generated in {time.perf_counter() - started:.1f} s")


def _generate(args) -> int:
    settings = _settings()
    out = (args.out or settings.landing).expanduser().absolute()
    truth = args.truth.expanduser().absolute() if args.truth else None
    if out.exists() and has_files(out):
        raise CliError(f"{out} already holds files; generate into an empty directory")
    _generate_into(settings, out, truth, args)
    return 0


def _run(args) -> int:
    from dagster_project.instance import ensure_dagster_home

    settings = _settings()
    print(f"D2B_HOME={settings.home}\nlanding: {settings.landing}\nwarehouse: {settings.warehouse}")
    if not has_files(settings.landing):
        if args.no_sample:
            raise CliError(f"the landing zone {settings.landing} is empty")
        print(f"landing zone is empty: generating the sample firm (scale {SAMPLE_SCALE})")
        sample = argparse.Namespace(
            scale=SAMPLE_SCALE, seed=SAMPLE_SEED, as_of=args.as_of, quiet=False
        )
        _generate_into(settings, settings.landing, None, sample)

    ensure_dagster_home(settings)
    import dagster as dg

    from dagster_project.dbt import prepare_manifest
    from dagster_project.recovery import wait_for_warehouse

    with dg.DagsterInstance.get() as instance:
        # A killed run's slot would block this run forever; a live one is waited for here,
        # where Ctrl-C and SIGTERM work (docs/operations.md, "Recovery").
        wait_for_warehouse(instance, settings.serving)
        started = time.perf_counter()
        since = datetime.now(UTC).replace(tzinfo=None)  # ingest stamps rejections in naive UTC
        prepare_manifest(force=True)  # pick up any model edits since the last run
        from dagster_project.definitions import ALL_ASSETS_JOB, defs
        from dagster_project.defs.dbt_models import as_of_run_config

        definitions = defs()
        job = definitions.resolve_job_def(ALL_ASSETS_JOB)
        result = job.execute_in_process(
            instance=instance, run_config=as_of_run_config(args.as_of), raise_on_error=False
        )
    elapsed = time.perf_counter() - started
    from serving.summary import held_summary, warehouse_summary

    if not result.success:
        # After the logs, a few lines that say why (docs/design.md §8).
        for line in _failure_report(result, settings):
            print(line, file=sys.stderr)
        raise CliError(f"run {result.run_id} failed after {elapsed:.1f} s")

    from serving.snapshot import current

    print(f"run {result.run_id} succeeded in {elapsed:.1f} s")
    for line in warehouse_summary(settings.warehouse):
        print(line)
    for line in held_summary(settings.warehouse, _checks_not_passed(result), since):
        print(line)
    snapshot = current(settings.serving)
    if snapshot is not None:
        print(f"Serving snapshot {snapshot.version}: {snapshot.path}")
    return 0


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


def _failure_report(result, settings: Settings) -> list[str]:
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
        f"the run's events and logs: `d2b dev`, then Runs, run {result.run_id}",
        "the last published state: the Data health page (`d2b dashboard`)",
    ]
    return failure_summary(failed_steps, problems, skipped, next_steps)


def _step_name(step_key: str | None) -> str:
    """A step of the all-assets job, as a user knows it."""
    from dagster_project.defs.dbt_models import d2b_dbt_models, d2b_pipeline_health_models
    from dagster_project.defs.serving import serving_snapshot

    known = {
        d2b_dbt_models.op.name: "dbt build",
        d2b_pipeline_health_models.op.name: "dbt build of the health marts",
        serving_snapshot.op.name: "publish",
    }
    if step_key in known:
        return f"{known[step_key]} ({step_key})"
    return step_key or "run"  # the ingest steps are named ingest_<system>


def _dashboard(args) -> int:
    settings = _settings()
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
    ]
    print(f"dashboards for D2B_HOME={settings.home} on http://{args.address}:{args.port}")
    os.execv(command[0], command)
    return 0  # pragma: no cover - execv does not return


def _dev(args) -> int:
    from dagster_project.instance import ensure_dagster_home

    settings = _settings()
    ensure_dagster_home(settings)
    import dagster as dg

    from dagster_project.recovery import recover_dead_runs

    with dg.DagsterInstance.get() as instance:
        for run in recover_dead_runs(instance):  # the daemon frees only finished runs' slots
            print(run.describe())
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-m",
        "dagster_project.definitions",
        *[a for a in args.dagster_args if a != "--"],
    ]
    print(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}\n{' '.join(command)}")
    os.execv(command[0], command)
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``d2b bench``: the scale ladder. Time and peak memory of every pipeline phase per scale.

For each scale, a fresh work directory gets a generated firm, then each phase runs in its
own child process so its wall time and peak resident memory (``wait4`` rusage) are its
own: ``generate`` (the firm; with ``incremental``, its last day's activity exports held back),
``ingest`` (landing -> raw), ``dbt_build`` (seeds, snapshots, models), ``checks`` (every dbt
test), ``publish`` (serving snapshot), ``incremental`` (the held-back day lands: ingest of the new
files and the dbt build, as a share of the full ingest + build), ``rerun`` (the same refresh
again with nothing new: the floor of any daily run), ``write_back`` (the last
closed month's billing candidates into the embedded Tryton ERP: freeze, send, read back,
reconcile; the same candidates again into a trytond server over XML-RPC when
``D2B_ERP_XMLRPC_URL`` configures one, the two send rates side by side), and ``reference``:
the hand-written DuckDB SQL of the same headline figures (``bench/headline_figures.sql``)
on every file, which also checks them against the generator's ground truth; the pipeline's
time is reported as a ratio to it. Results go to
``docs/benchmarks.json`` (machine-readable, appended per run) and a table between markers in
``docs/benchmarks.md``, with the machine's cores and memory.

The phases are the pipeline's own code paths (``ingest.loader``, the dbt CLI,
``serving.snapshot``), not copies, so a regression shows up here.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.landing import files_under, has_files
from ingest.sources import ACTIVITY_ENTITIES

if TYPE_CHECKING:
    import duckdb

    from erp.model import BillingBatch
    from erp.settings import ErpSettings

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCALES = (0.1, 0.5, 1.0, 3.0)
PHASES = (
    "generate",
    "ingest",
    "dbt_build",
    "checks",
    "publish",
    # before write_back: a billing run changes the outbox, which rebuilds the models that
    # read it in full, and the day's figure is of a refresh, not of the first build after one
    "incremental",
    # the same refresh with nothing new landed: what every daily run costs whatever it brings
    "rerun",
    "write_back",
    "reference",
)
#: The phases that take the landing zone to fresh, tested marts (compared with the reference).
PIPELINE_PHASES = ("ingest", "dbt_build", "checks")
BEGIN, END = "<!-- d2b-bench:begin -->", "<!-- d2b-bench:end -->"


@dataclass(frozen=True)
class PhaseResult:
    """One phase of one scale."""

    scale: float
    phase: str
    seconds: float
    peak_rss_mb: float
    ok: bool
    detail: str = ""


def machine() -> dict[str, object]:
    """Cores, memory and versions of the machine the figures were measured on."""
    with open("/proc/meminfo") as handle:
        total_kib = int(handle.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(total_kib / 1024**2, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _phase_command(phase: str, workdir: Path, scale: float, seed: int, as_of: date) -> list[str]:
    python = sys.executable
    if phase == "generate":
        code = (
            "from datetime import date; from pathlib import Path; "
            "from ingest.generator import generate; "
            f"generate(Path({str(workdir / 'landing')!r}), scale={scale}, seed={seed}, "
            f"as_of=date.fromisoformat({as_of.isoformat()!r}), progress=False)"
        )
        return [python, "-c", code]
    if phase == "ingest":
        code = (
            "from pathlib import Path; from ingest.loader import load_landing; "
            "from ingest.warehouse import connect; "
            f"con = connect(Path({str(workdir / 'warehouse.duckdb')!r})); "
            f"r = load_landing(con, Path({str(workdir / 'landing')!r})); con.close(); "
            "print(r.summary())"
        )
        return [python, "-c", code]
    if phase in ("dbt_build", "checks"):
        from dagster_project.dbt import DBT_PROJECT_DIR, dbt_executable

        vars_ = json.dumps({"as_of_date": as_of.isoformat()})
        # a build goes through the incremental plan (d2b/incremental_plan.py), as in Dagster
        selection = (
            [python, "-m", "d2b.incremental_plan", "build"]
            + ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
            if phase == "dbt_build"
            else [dbt_executable(), "test"]
        )
        return [
            *selection,
            "--vars",
            vars_,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "dbt-target"),
            "--quiet",
        ]
    if phase == "publish":
        code = (
            "from pathlib import Path; from ingest.warehouse import connect; "
            "from serving.snapshot import publish; "
            f"con = connect(Path({str(workdir / 'warehouse.duckdb')!r})); "
            f"s = publish(con, Path({str(workdir / 'serving')!r})); con.close(); "
            "print(s.version, sum(s.tables.values()), 'rows')"
        )
        return [python, "-c", code]
    if phase == "write_back":
        code = (
            "from datetime import date; from pathlib import Path; "
            "from bench.ladder import bill_last_closed_period; "
            f"print(bill_last_closed_period(Path({str(workdir)!r}), "
            f"date.fromisoformat({as_of.isoformat()!r})))"
        )
        return [python, "-c", code]
    if phase in ("incremental", "rerun"):
        function = "land_next_day" if phase == "incremental" else "refresh"
        code = (
            "from datetime import date; from pathlib import Path; "
            f"from bench.ladder import {function}; "
            f"print({function}(Path({str(workdir)!r}), "
            f"date.fromisoformat({as_of.isoformat()!r})))"
        )
        return [python, "-c", code]
    if phase == "reference":
        # The hand-written SQL of the same headline figures, checked against the ground truth.
        return [
            python,
            "-m",
            "dagster_project.cli",
            "bench",
            "reference",
            "--landing",
            str(workdir / "landing"),
            "--as-of",
            as_of.isoformat(),
            "--truth",
            str(workdir / "ground_truth"),
        ]
    raise ValueError(f"unknown phase {phase!r}")


def hold_back_last_day(workdir: Path) -> int:
    """Hold back the activity exports of the firm's last delivery day.

    They move from the landing zone to ``<workdir>/next_day``, so ``incremental`` can land
    them after a full build.
    """
    manifest = json.loads((workdir / "ground_truth" / "manifest.json").read_text())
    activity = [f for f in manifest["files"] if f"{f['system']}/{f['entity']}" in ACTIVITY_ENTITIES]
    last_day = max(f["delivered_at"][:10] for f in activity)
    held = [f["path"] for f in activity if f["delivered_at"][:10] == last_day]
    for relative in held:
        target = workdir / "next_day" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (workdir / "landing" / relative).rename(target)
    print(f"held back {len(held)} files delivered on {last_day}")
    return len(held)


def land_next_day(workdir: Path, as_of: date) -> str:
    """Land the held-back day and run what a daily refresh runs; return a summary line."""
    moved = 0
    for source in sorted(files_under(workdir / "next_day")):
        target = workdir / "landing" / source.relative_to(workdir / "next_day")
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        moved += 1
    return f"{moved} new files ({refresh(workdir, as_of)})"


def refresh(workdir: Path, as_of: date) -> str:
    """Run what a daily refresh runs; return the load report and the time of each step.

    Ingest of what landed, then the dbt build (models, as of ``as_of``).
    """
    from ingest.loader import load_landing
    from ingest.warehouse import connect

    started = time.perf_counter()
    con = connect(workdir / "warehouse.duckdb")
    try:
        loaded = load_landing(con, workdir / "landing")
    finally:
        con.close()
    ingest_seconds = time.perf_counter() - started
    command = _phase_command("dbt_build", workdir, 0, 0, as_of)
    subprocess.run(command, cwd=REPO, check=True, env={**os.environ})
    build_seconds = time.perf_counter() - started - ingest_seconds
    return f"{loaded.summary()}; ingest {ingest_seconds:.1f} s, dbt build {build_seconds:.1f} s"


def bill_last_closed_period(
    workdir: Path, as_of: date, environ: Mapping[str, str] = os.environ
) -> str:
    """Bill the last month closed by ``as_of`` into the embedded Tryton ERP (and a server).

    The same candidates also go to a trytond server over XML-RPC when ``environ`` configures
    one (``D2B_ERP_XMLRPC_URL``, login from ``D2B_ERP_USER`` / ``D2B_ERP_PASSWORD``). The
    embedded ERP lives under ``workdir`` and its run's outbox in the warehouse; the server's
    run keeps its outbox in ``workdir/billing_xmlrpc.duckdb``, so both bill the same
    candidates from scratch. Each run freezes, sends, reads back and reconciles
    (``erp.run_billing``). Returns one summary line, the two figures side by side.
    """
    import duckdb

    from erp.candidates import batches_for_period
    from erp.settings import ErpSettings
    from ingest.warehouse import connect

    # the latest month whose last day is on or before the as-of date
    closed = as_of if (as_of + timedelta(days=1)).day == 1 else as_of.replace(day=1) - timedelta(1)
    period = f"{closed.year:04d}-{closed.month:02d}"
    con = connect(workdir / "warehouse.duckdb")
    try:
        batches = batches_for_period(con, period)
        embedded = ErpSettings.from_env({"D2B_HOME": str(workdir), "D2B_ERP_ADAPTER": "tryton"})
        runs = [_write_back(con, embedded, batches, "embedded", "ERP bootstrap")]
    finally:
        con.close()
    if environ.get("D2B_ERP_XMLRPC_URL"):
        server = ErpSettings.from_env(
            {**environ, "D2B_HOME": str(workdir), "D2B_ERP_ADAPTER": "tryton"}
        )
        outbox_path = workdir / "billing_xmlrpc.duckdb"
        outbox_path.unlink(missing_ok=True)
        outbox_con = duckdb.connect(str(outbox_path))
        try:
            runs.append(_write_back(outbox_con, server, batches, "XML-RPC", "log in"))
        finally:
            outbox_con.close()
    lines = sum(len(b.lines) for b in batches)
    return f"period {period}: {len(batches)} invoices, {lines} lines; " + "; ".join(runs)


def _write_back(
    con: duckdb.DuckDBPyConnection,
    settings: ErpSettings,
    batches: list[BillingBatch],
    target: str,
    connect_label: str,
) -> str:
    """One billing run of ``batches`` into the Tryton ERP of ``settings``; a summary part.

    The adapter's one-time connect (the bootstrap of a new embedded database, a login to a
    server) is timed apart from the billing run and its send.
    """
    from erp.adapters.tryton import TrytonAdapter
    from erp.run_billing import run_billing

    lines = sum(len(b.lines) for b in batches)
    with TrytonAdapter(settings.tryton) as adapter:
        started = time.perf_counter()
        adapter.connect()
        connect_seconds = time.perf_counter() - started
        started = time.perf_counter()
        summary = run_billing(con, adapter, batches)
        seconds = time.perf_counter() - started
    send = summary.seconds.get("send", 0.0)
    rate = lines / send if send else 0.0
    return (
        f"{target}: {connect_label} {connect_seconds:.1f} s, billing {seconds:.1f} s "
        f"(send {send:.1f} s, {rate:.0f} lines/s), {summary.statuses}"
    )


def run_phase(phase: str, workdir: Path, scale: float, seed: int, as_of: date) -> PhaseResult:
    """Run one phase in a child process; measure its wall time and peak memory."""
    env = {
        **os.environ,
        "D2B_HOME": str(workdir),
        "D2B_WAREHOUSE": str(workdir / "warehouse.duckdb"),
        "D2B_LANDING": str(workdir / "landing"),
    }
    started = time.perf_counter()
    child = subprocess.Popen(
        _phase_command(phase, workdir, scale, seed, as_of),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Read output while the child runs (a full pipe would block it), then reap it with its
    # own resource usage: ru_maxrss of this child alone, in KiB.
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    ok = child.returncode == 0
    detail = output.strip().splitlines()[-1][:300] if output.strip() else ""
    if not ok:
        detail = output.strip()[-2000:]
    return PhaseResult(
        scale, phase, round(seconds, 2), round(usage.ru_maxrss / 1024, 1), ok, detail
    )


def bench(
    scales: Sequence[float],
    *,
    seed: int = 42,
    as_of: date = date(2026, 11, 20),
    phases: Sequence[str] = PHASES,
    workroot: Path | None = None,
    echo=print,
) -> list[PhaseResult]:
    """Run ``phases`` for every scale; stop a scale at its first failing phase.

    Without ``generate`` among them, each ``<workroot>/scale-<scale>`` must hold a firm a
    previous bench generated (``landing/``, ``ground_truth/``) and no warehouse yet: the
    phases run on it again (its last day held back first, if ``incremental`` runs).
    """
    results: list[PhaseResult] = []
    root = workroot or Path(tempfile.mkdtemp(prefix="d2b-bench-"))
    for scale in scales:
        workdir = root / f"scale-{scale:g}"
        if "generate" in phases:
            if workdir.exists():
                raise FileExistsError(f"{workdir} exists: pick an empty --workdir")
        else:
            _check_reusable(workdir)
            if "incremental" in phases and not has_files(workdir / "next_day"):
                hold_back_last_day(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        for phase in phases:
            echo(f"scale {scale:g}: {phase} ...")
            result = run_phase(phase, workdir, scale, seed, as_of)
            results.append(result)
            if phase == "generate" and result.ok and "incremental" in phases:
                hold_back_last_day(workdir)
            echo(
                f"scale {scale:g}: {phase} {'ok' if result.ok else 'FAILED'} in "
                f"{result.seconds:.1f} s, peak {result.peak_rss_mb:,.0f} MB"
            )
            if not result.ok:
                echo(result.detail)
                break
    return results


def _check_reusable(workdir: Path) -> None:
    """Refuse a work directory the phases cannot start on without ``generate``."""
    missing = [name for name in ("landing", "ground_truth") if not (workdir / name).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"{workdir} has no {' or '.join(missing)}: run with the generate phase first"
        )
    leftovers = [
        name for name in ("warehouse.duckdb", "serving", "erp") if (workdir / name).exists()
    ]
    if leftovers:
        raise FileExistsError(
            f"{workdir} holds {', '.join(leftovers)} from an earlier run: delete them so the "
            "phases start from the landing zone alone"
        )


def markdown_table(results: Sequence[PhaseResult], info: dict[str, object]) -> str:
    """The results as a Markdown table, one row per scale, seconds and peak MB per phase."""
    phases = [p for p in PHASES if any(r.phase == p for r in results)]
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {info['cores']} cores, "
        f"{info['memory_gb']} GB RAM (Python {info['python']}). Seconds (peak MB) per phase; "
        "ingest + dbt_build + checks is the pipeline's time to fresh marts; incremental is "
        "one more day of files (ingest + build) as a share of the full ingest + build.",
        "",
        "| scale | "
        + " | ".join(phases)
        + " | ingest + build + checks | × reference | incremental / full |",
        "|---" * (len(phases) + 4) + "|",
    ]
    for scale in sorted({r.scale for r in results}):
        by_phase = {r.phase: r for r in results if r.scale == scale}
        cells = []
        for phase in phases:
            r = by_phase.get(phase)
            cells.append(
                "–"
                if r is None
                else f"{r.seconds:.1f} ({r.peak_rss_mb:,.0f})" + ("" if r.ok else " FAILED")
            )
        core = [by_phase.get(p) for p in PIPELINE_PHASES]
        complete = all(r and r.ok for r in core)
        total = sum(r.seconds for r in core) if complete else None
        reference = by_phase.get("reference")
        ratio = (
            f"{total / reference.seconds:.1f}"
            if total is not None and reference and reference.ok and reference.seconds
            else "–"
        )
        shown = f"{total:.1f}" if total is not None else "–"
        incremental = by_phase.get("incremental")
        full = [by_phase.get(p) for p in ("ingest", "dbt_build")]
        share = (
            f"{incremental.seconds / sum(r.seconds for r in full):.0%}"
            if incremental and incremental.ok and all(r and r.ok for r in full)
            else "–"
        )
        lines.append(f"| {scale:g} | " + " | ".join(cells) + f" | {shown} | {ratio} | {share} |")
    return "\n".join(lines)


def write_results(results: Sequence[PhaseResult], docs: Path) -> None:
    """Append the run to ``benchmarks.json`` and replace the table in ``benchmarks.md``."""
    info = machine()
    record = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "results": [asdict(r) for r in results],
    }
    docs.mkdir(parents=True, exist_ok=True)
    json_path = docs / "benchmarks.json"
    history = json.loads(json_path.read_text()) if json_path.exists() else []
    history.append(record)
    json_path.write_text(json.dumps(history, indent=2) + "\n")

    md_path = docs / "benchmarks.md"
    table = f"{BEGIN}\n{markdown_table(results, info)}\n{END}"
    text = md_path.read_text() if md_path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + table + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Scale ladder (`d2b bench`)\n\n" + table + "\n"
    md_path.write_text(text)

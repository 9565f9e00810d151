from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path

import duckdb
import pytest

from erp.adapters.base import ErpAdapter
from erp.adapters.filedrop import FileDropAdapter
from erp.adapters.tryton import TrytonAdapter
from erp.model import BillingBatch
from erp.settings import TrytonSettings
from tests.support.erp_templates import ERP_TEMPLATES
from tests.support.faults import FAULT_POINTS
from tests.support.tryton_server import TrytonServer, running_tryton_server

REPO = Path(__file__).resolve().parents[2]

#: The story each kill leaves in the audit log of a batch, after the clean re-run.
KILL_STORY = {
    "after_freeze": ["frozen", "sent", "reconciled"],
    "before_erp_create": ["frozen", "sent", "reconciled"],
    # The ERP committed, the outbox never heard: the re-run adopts, never recreates.
    "after_erp_create": ["frozen", "adopted", "reconciled"],
    "after_outbox_update": ["frozen", "sent", "reconciled"],
    "mid_read_back": ["frozen", "sent", "reconciled"],
    "after_read_back": ["frozen", "sent", "reconciled"],
    "after_reconcile": ["frozen", "sent", "reconciled"],
}

#: The default suite kills at the steps that matter most for exactly once (the ERP/outbox
#: gap, the outbox commit, a half-written read back); the others run with ``-m slow``.
DEFAULT_KILL_POINTS = {"after_freeze", "after_erp_create", "after_outbox_update", "mid_read_back"}


def kill_point_params(default: Collection[str] = DEFAULT_KILL_POINTS) -> list:
    """Every fault point as a pytest parameter; those outside ``default`` marked slow."""
    return [p if p in default else pytest.param(p, marks=pytest.mark.slow) for p in FAULT_POINTS]


@pytest.fixture(scope="session")
def template_dir() -> Path:
    """Bootstrapped Tryton templates, kept across sessions (bootstrap takes ~16 s)."""
    ERP_TEMPLATES.mkdir(parents=True, exist_ok=True)
    return ERP_TEMPLATES


@pytest.fixture(scope="session")
def tryton_server(template_dir) -> Iterator[TrytonServer]:
    """A PostgreSQL cluster and a trytond server for the session (started on first use)."""
    with running_tryton_server(cache_dir=template_dir) as server:
        yield server


#: ERP modes the Tryton tests run in: embedded SQLite, and (slow) a trytond server over
#: XML-RPC on PostgreSQL. A test pins one with ``@pytest.mark.parametrize("erp_settings",
#: ["sqlite"], indirect=True)``.
ERP_MODES = ["sqlite", pytest.param("xmlrpc", marks=pytest.mark.slow)]


@pytest.fixture(params=ERP_MODES)
def erp_settings(request, tmp_path, template_dir) -> TrytonSettings:
    """A fresh Tryton database for one test: a copy of the bootstrapped template, embedded
    (SQLite) or served by trytond over XML-RPC (PostgreSQL)."""
    if request.param == "xmlrpc":
        return request.getfixturevalue("tryton_server").new_database()
    # Names are unique per process: trytond's SQLite directory is process-wide.
    return TrytonSettings(
        database_dir=tmp_path / "erp",
        database_name=f"erp_{uuid.uuid4().hex[:10]}",
        template_dir=template_dir,
    )


@pytest.fixture
def tryton(erp_settings):
    adapter = TrytonAdapter(erp_settings)
    yield adapter
    adapter.close()


@pytest.fixture
def filedrop(tmp_path) -> FileDropAdapter:
    """A file-drop ERP: an empty drop folder of its own."""
    return FileDropAdapter(tmp_path / "filedrop")


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


def child_env(home: Path, erp: TrytonSettings | FileDropAdapter | None = None) -> dict[str, str]:
    """This environment without trytond or project settings, for a child run in ``home``.

    A trytond server is given through the environment (the password stays off the command
    line).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYTOND_", "D2B_"))}
    env["D2B_HOME"] = str(home)
    if isinstance(erp, TrytonSettings) and erp.mode == "xmlrpc":
        env["D2B_ERP_XMLRPC_URL"] = erp.xmlrpc_url
        env["D2B_ERP_USER"] = erp.user
        env["D2B_ERP_PASSWORD"] = erp.password or ""
    return env


def erp_cli_args(erp: TrytonSettings | FileDropAdapter) -> list[str]:
    """Command-line options pointing ``erp.run_billing`` at the test's ERP."""
    if isinstance(erp, FileDropAdapter):
        return ["--adapter", "filedrop", "--filedrop-dir", str(erp.root)]
    if erp.mode == "xmlrpc":
        return ["--adapter", "tryton"]  # the server is in the environment (child_env)
    return [
        "--adapter",
        "tryton",
        "--erp-dir",
        str(erp.database_dir),
        "--erp-name",
        erp.database_name,
        "--template-dir",
        str(erp.template_dir),
    ]


def billing_cli_command(
    tmp_path: Path, erp: TrytonSettings | FileDropAdapter, batches_file: Path, *extra: str
) -> list[str]:
    """The ``python -m tests.support.run_billing`` command line for the test's warehouse and ERP."""
    return [
        sys.executable,
        "-m",
        "tests.support.run_billing",
        "--warehouse",
        str(tmp_path / "warehouse.duckdb"),
        "--batches",
        str(batches_file),
        *erp_cli_args(erp),
        "--backoff-seconds",
        "0",
        *extra,
    ]


def run_billing_cli(
    tmp_path: Path, erp: TrytonSettings | FileDropAdapter, batches_file: Path, *extra: str
) -> subprocess.CompletedProcess:
    """Run ``python -m tests.support.run_billing`` in a child process against the test's ERP."""
    return subprocess.run(
        billing_cli_command(tmp_path, erp, batches_file, *extra),
        cwd=REPO,
        env=child_env(tmp_path / "home", erp),
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_batches(tmp_path: Path, batches: list[BillingBatch]) -> Path:
    """Candidate batches as the JSON file ``erp.run_billing --batches`` reads."""
    path = tmp_path / "batches.json"
    path.write_text(json.dumps([b.to_payload() for b in batches]))
    return path


def erp_snapshot(adapter: ErpAdapter) -> list[tuple]:
    """Everything the ERP holds for the write-back, comparable before and after a re-run."""
    return sorted(
        (
            inv.document_id,
            inv.batch_key,
            inv.state,
            inv.untaxed_amount,
            inv.tax_amount,
            tuple((ln.line_id, ln.line_key, ln.quantity, ln.amount) for ln in inv.lines),
        )
        for inv in adapter.read_invoices(None)
    )


def assert_exactly_once(
    con: duckdb.DuckDBPyConnection, adapter: ErpAdapter, batches: list[BillingBatch]
) -> None:
    """Every candidate line on exactly one ERP line, none twice, none missing; totals tie."""
    expected_lines = {ln.line_key for b in batches for ln in b.lines}
    invoices = adapter.read_invoices(None)
    erp_line_keys = Counter(ln.line_key for inv in invoices for ln in inv.lines)
    assert set(erp_line_keys) == expected_lines, "ERP lines differ from candidate lines"
    assert max(erp_line_keys.values()) == 1, "a line key is on two ERP lines"
    per_key = Counter(inv.batch_key for inv in invoices)
    assert per_key == Counter({b.batch_key: 1 for b in batches}), (
        "a batch is not on exactly one invoice"
    )
    by_key = {inv.batch_key: inv for inv in invoices}
    for batch in batches:
        totals = batch.control_totals()
        inv = by_key[batch.batch_key]
        assert len(inv.lines) == totals.line_count
        assert sum(ln.quantity for ln in inv.lines) == totals.quantity
        assert inv.untaxed_amount == totals.amount
        assert inv.tax_amount == totals.tax_amount
    # Every correlation id traced to exactly one ERP line through the read back.
    cids = Counter(
        cid
        for (cid,) in con.execute(
            "SELECT unnest(correlation_ids) FROM raw.erp_api__invoice_lines"
        ).fetchall()
    )
    expected_cids = {c for b in batches for c in b.correlation_ids}
    assert set(cids) == expected_cids
    assert max(cids.values()) == 1
    statuses = dict(
        con.execute("SELECT status, count(*) FROM ops.erp_outbox GROUP BY 1").fetchall()
    )
    assert statuses == {"reconciled": len(batches)}


def audit_events(con: duckdb.DuckDBPyConnection, batch_key: str) -> list[str]:
    return [
        e
        for (e,) in con.execute(
            "SELECT event FROM ops.audit_log WHERE batch_key = ? ORDER BY event_at, event_id",
            [batch_key],
        ).fetchall()
    ]

"""Secrets never persisted (issue 21): credentials stay out of logs, tables and snapshots.

The billing run is pointed at an ERP URL with a recognisable password in it; the ERP (a local
HTTP server) refuses every call, so the password's only ways out are the error messages the
outbox, the audit log and Dagster record. Then every file under ``D2B_HOME``, every row of
the warehouse and of the published snapshot, and the run's event log are searched for it.
"""

from __future__ import annotations

import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from bench.sample import sample_batches
from d2b.redaction import redact_text, redact_url, split_credentials
from d2b.settings import Settings
from dagster_project.defs.billing import BILLING_JOB
from dagster_project.instance import ensure_dagster_home
from erp.adapters.base import BusinessErpError, TransientErpError
from erp.settings import ErpSettings
from ingest.warehouse import connect
from serving.snapshot import publish
from tests.candidates import write_candidates
from tests.support.d2b_cli import run_d2b

SECRET = "s3cret-Qx7v"


class _RefusingErp(BaseHTTPRequestHandler):
    """An XML-RPC endpoint that answers every call 404, as a wrong database path does."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # keep the test's output quiet
        pass


@pytest.fixture
def refusing_erp():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingErp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _rows_with(database: Path, secret: str) -> list[str]:
    """``schema.table`` of every table of ``database`` with a row that contains ``secret``."""
    found = []
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            (hits,) = con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" AS t '
                "WHERE contains(CAST(t AS VARCHAR), ?)",
                [secret],
            ).fetchone()
            if hits:
                found.append(f"{schema}.{table}")
    return found


def _files_with(home: Path, secret: str) -> list[str]:
    """Files under ``home`` (DuckDB files aside: they are searched by row) that hold ``secret``."""
    return [
        str(path)
        for path in home.rglob("*")
        if path.is_file() and ".duckdb" not in path.name and secret.encode() in path.read_bytes()
    ]


def test_a_password_in_the_erp_url_is_never_persisted(
    d2b_home, monkeypatch, refusing_erp, dbt_manifest, capsys
):
    monkeypatch.setenv("D2B_ERP_ADAPTER", "tryton")
    monkeypatch.setenv("D2B_ERP_XMLRPC_URL", f"http://admin:{SECRET}@127.0.0.1:{refusing_erp}/d2b/")
    # every retry still happens (send attempts, step retries), without the waits between them
    monkeypatch.setenv("D2B_BILLING_BACKOFF_SCALE", "0.001")
    monkeypatch.setenv("DAGSTER_HOME", str(d2b_home.dagster_home))
    ensure_dagster_home(d2b_home)
    with connect(d2b_home.warehouse) as con:
        write_candidates(con, sample_batches(clients=2, period="2026-03"))
    from dagster_project.definitions import defs

    with dg.DagsterInstance.get() as instance:
        result = (
            defs()
            .resolve_job_def(BILLING_JOB)
            .execute_in_process(partition_key="2026-03-01", instance=instance, raise_on_error=False)
        )
        events = [
            dg.serialize_value(record.event_log_entry)
            for record in instance.get_records_for_run(result.run_id).records
        ]
    with connect(d2b_home.warehouse) as con:
        errors = con.execute(
            "SELECT detail->>'error' FROM ops.audit_log WHERE event = 'transient_error'"
        ).fetchall()
        snapshot = publish(con, d2b_home.serving)

    # The run reached the ERP, was refused, and recorded why (with where it called).
    assert not result.success
    assert errors and all(f"127.0.0.1:{refusing_erp}/d2b/" in error for (error,) in errors)
    assert _rows_with(d2b_home.warehouse, SECRET) == []
    assert _rows_with(snapshot.path, SECRET) == []
    assert [event for event in events if SECRET in event] == []
    assert _files_with(d2b_home.home, SECRET) == []
    assert SECRET not in "".join(capsys.readouterr())


def test_files_d2b_creates_are_the_users_alone(tmp_path):
    """``d2b`` sets its umask first: what it (and every child) creates is 0600, dirs 0700."""
    result = run_d2b("generate", "--scale", "0.002", "--quiet", home=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    created = list(tmp_path.rglob("*"))
    assert any(p.suffix == ".json" for p in created) and any(p.is_dir() for p in created)
    shared = [str(p) for p in created if stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert shared == []


def test_credentials_in_the_erp_url_are_taken_out_where_it_enters(tmp_path):
    env = {
        "D2B_HOME": str(tmp_path),
        "D2B_ERP_XMLRPC_URL": f"https://billing:{SECRET}@erp.example.com/d2b/",
    }
    settings = ErpSettings.from_env(env)
    assert settings.tryton.xmlrpc_url == "https://erp.example.com/d2b/"
    assert (settings.tryton.user, settings.tryton.password) == ("billing", SECRET)
    assert SECRET not in repr(settings)
    assert SECRET not in repr(Settings.from_env(env))
    assert "erp.example.com" in repr(Settings.from_env(env))  # where, not how to get in
    with pytest.raises(ValueError, match="two different passwords"):
        ErpSettings.from_env({**env, "D2B_ERP_PASSWORD": "another"})


def test_the_embedded_erps_postgresql_uri_shows_redacted(tmp_path):
    env = {"D2B_HOME": str(tmp_path), "D2B_ERP_DATABASE_URI": f"postgresql://d2b:{SECRET}@db/erp"}
    settings = ErpSettings.from_env(env)
    assert settings.tryton.postgres_uri.endswith(f"{SECRET}@db/erp")  # trytond needs it whole
    assert SECRET not in repr(settings)
    assert "postgresql://d2b:***@db/erp" in repr(settings)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://admin:pw@erp.example.com:8000/d2b/", False),
        ("http://admin:pw@10.0.0.5:8000/d2b/", False),
        ("https://admin:pw@erp.example.com/d2b/", True),
        ("http://admin:pw@localhost:8000/d2b/", True),
        ("http://admin:pw@127.0.0.1:8000/d2b/", True),
        ("http://admin:pw@[::1]:8000/d2b/", True),
        ("http://erp.example.com:8000/d2b/", True),  # no password to send
    ],
)
def test_a_remote_erp_password_needs_https_unless_allowed(tmp_path, url, allowed):
    env = {"D2B_HOME": str(tmp_path), "D2B_ERP_XMLRPC_URL": url}
    if allowed:
        ErpSettings.from_env(env)
    else:
        with pytest.raises(ValueError, match="in clear to .*: use https://"):
            ErpSettings.from_env(env)
        ErpSettings.from_env({**env, "D2B_ERP_ALLOW_PLAIN_HTTP": "true"})


def test_a_password_sent_separately_also_needs_https(tmp_path):
    env = {
        "D2B_HOME": str(tmp_path),
        "D2B_ERP_XMLRPC_URL": "http://erp.example.com:8000/d2b/",
        "D2B_ERP_PASSWORD": SECRET,
    }
    with pytest.raises(ValueError, match="in clear to erp.example.com"):
        ErpSettings.from_env(env)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:pw@host:8000/db/", "http://admin:***@host:8000/db/"),
        ("postgresql://u:p%40ss@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            "https://hooks.example.com/x?token=abc&team=7",
            "https://hooks.example.com/x?token=***&team=7",
        ),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("https://host/db/", "https://host/db/"),
        ("not a url", "not a url"),
    ],
)
def test_a_url_shows_without_its_secrets(url, shown):
    assert redact_url(url) == shown


def test_messages_quoting_credentials_are_redacted():
    # xmlrpc.client quotes the URL without its scheme.
    quoted = f"<ProtocolError for admin:{SECRET}@erp.example.com/d2b/: 404 Not Found>"
    assert (
        redact_text(quoted) == "<ProtocolError for admin:***@erp.example.com/d2b/: 404 Not Found>"
    )
    assert redact_text(f"dsn host=db user=u password={SECRET} sslmode=require") == (
        "dsn host=db user=u password=*** sslmode=require"
    )
    assert redact_text("at 17:42:03 for ops@example.com") == "at 17:42:03 for ops@example.com"
    assert SECRET not in str(TransientErpError(f"cannot reach the ERP: {quoted}"))
    assert SECRET not in BusinessErpError(f"refused by http://a:{SECRET}@h/").message


def test_split_credentials_decodes_them():
    assert split_credentials("https://a%20b:p%40ss@host/db/") == ("https://host/db/", "a b", "p@ss")
    assert split_credentials("https://host/db/") == ("https://host/db/", None, None)


# --- the dashboard (slow: a server, a sign-in provider and a browser) ----------------------

#: Recognisable values for every secret the dashboard's environment holds.
DASHBOARD_SECRETS = {
    "D2B_OIDC_CLIENT_SECRET": "oidc-client-Kp3w9sXq",
    "D2B_OIDC_COOKIE_SECRET": "cookie-Vn82Lr5tHc0Jd4Wm7Ye1Qa6Uz9Bs3Fg",
    "ERP password": "erp-pass-Tz4mW8c",
}


@pytest.mark.slow
def test_the_dashboard_shows_logs_and_downloads_no_secret(sample_run, tmp_path):
    """Sign in and visit every page; the rendered pages, the downloads, the server's output,
    the access log and every file and table under its home hold none of the secrets."""
    import shutil

    from oidc_provider_mock import run_server_in_thread

    from dashboards.navigation import PAGE_SPECS, page_url
    from tests.browser.test_signin_browser import sign_in
    from tests.support.dashboard_server import chromium, free_port, running_dashboard

    home = tmp_path / "home"
    shutil.copytree(sample_run.warehouse.parent / "serving", home / "serving")
    (tmp_path / "access.toml").write_text(
        '[administrators]\nemails = ["boss@firm.example"]\n\n'
        '[[grant]]\nrole = "executive"\nemails = ["boss@firm.example"]\n'
    )
    log = tmp_path / "dashboard.log"
    shown: list[str] = []
    with (
        run_server_in_thread(port=free_port()) as provider,
        chromium() as browser,
    ):
        env = {
            "D2B_HOME": str(home),
            "D2B_ACCESS_FILE": str(tmp_path / "access.toml"),
            "D2B_OIDC_METADATA_URL": (
                f"http://localhost:{provider.server_port}/.well-known/openid-configuration"
            ),
            "D2B_OIDC_CLIENT_ID": "d2b-dashboards",
            "D2B_OIDC_CLIENT_SECRET": DASHBOARD_SECRETS["D2B_OIDC_CLIENT_SECRET"],
            "D2B_OIDC_COOKIE_SECRET": DASHBOARD_SECRETS["D2B_OIDC_COOKIE_SECRET"],
            "D2B_ERP_ADAPTER": "tryton",
            "D2B_ERP_XMLRPC_URL": (
                f"http://admin:{DASHBOARD_SECRETS['ERP password']}@127.0.0.1:9/d2b/"
            ),
        }
        with running_dashboard(env, host="localhost", log=log) as url:
            context, page = sign_in(browser, url, "boss@firm.example")
            for spec in PAGE_SPECS:
                page.goto(f"{url}/{page_url(spec)}", wait_until="networkidle")
                page.get_by_text(spec.landmark).first.wait_for(timeout=90_000)
                shown.append(page.content())
                buttons = page.locator('[class*="st-key-download_"] button')
                if buttons.count():
                    with page.expect_download(timeout=60_000) as download:
                        buttons.first.click()
                    shown.append(Path(download.value.path()).read_text())
            shown.extend(cookie["value"] for cookie in context.cookies())
            context.close()

    access_log = home / "serving" / "access_log.jsonl"
    assert "sign_in" in access_log.read_text() and "download" in access_log.read_text()
    assert len(shown) > len(PAGE_SPECS)  # pages and at least one download
    printed = log.read_text()
    assert f"dashboards for D2B_HOME={home}" in printed  # the server's output was caught
    for name, secret in DASHBOARD_SECRETS.items():
        assert [text for text in shown if secret in text] == [], name
        assert secret not in printed, name
        assert _files_with(home, secret) == [], name
        for database in (home / "serving").rglob("*.duckdb"):
            assert _rows_with(database, secret) == [], (name, database)


#: Secrets a firm sets in the pipeline's environment, each recognisable.
PIPELINE_SECRETS = {
    "D2B_ERP_PASSWORD": "erp-pass-Hd5nR2wq",
    "D2B_POSTGRES_PASSWORD": "pg-pass-Ls8cV1ye",
    "D2B_OIDC_CLIENT_SECRET": "oidc-client-Mb4tZ7ka",
    "D2B_OIDC_COOKIE_SECRET": "cookie-Wq2Xe9Rt5Yu1Io7Pa3Sd6Fg0Hj4Kl8Zx",
}


@pytest.mark.slow
def test_a_run_with_secrets_in_its_environment_persists_none(tmp_path):
    """``d2b run`` (ingest, the dbt build, billing into the embedded ERP, publish) with every
    secret setting set: its output, every file and table under its home (Dagster's run records
    and event logs included), the published snapshot and the dbt artifacts and logs it wrote
    hold none of them."""
    import subprocess
    import time

    from dagster_project.dbt import DBT_PROJECT_DIR
    from tests.pipeline_runs import TINY_AS_OF, write_tiny_landing
    from tests.support.d2b_cli import D2B, d2b_environment

    home = tmp_path / "home"
    write_tiny_landing(home / "landing")
    started = time.time()
    done = subprocess.run(
        [D2B, "run", "--as-of", TINY_AS_OF.isoformat()],
        env={**d2b_environment(home), **PIPELINE_SECRETS},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the whole loop ran: billing into the embedded ERP, then the publish
    assert "publish in " in done.stdout and "bill" in done.stdout, done.stdout

    dbt_written = [
        path
        for folder in (DBT_PROJECT_DIR / "target", DBT_PROJECT_DIR / "logs")
        for path in folder.rglob("*")
        if path.is_file() and path.stat().st_mtime >= started
    ]
    assert any(path.name == "run_results.json" for path in dbt_written)
    databases = [path for path in home.rglob("*.duckdb") if path.is_file()]
    assert {p.parent.name for p in databases} >= {"home", "snapshots"}  # warehouse, snapshot
    for name, secret in PIPELINE_SECRETS.items():
        assert secret not in done.stdout + done.stderr, name
        assert _files_with(home, secret) == [], name
        assert [str(p) for p in dbt_written if secret.encode() in p.read_bytes()] == [], name
        for database in databases:
            assert _rows_with(database, secret) == [], (name, database)

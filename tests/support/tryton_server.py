"""A real PostgreSQL 15 cluster and a real trytond server, on loopback, for tests and benchmarks.

:func:`running_tryton_server` starts both under a scratch directory, bootstraps one template
database with the write-back's modules, company and chart (the adapter's PostgreSQL mode, in
a child process: trytond binds one backend per process), and yields a :class:`TrytonServer`
whose :meth:`~TrytonServer.new_database` copies the template (``CREATE DATABASE ... TEMPLATE``,
about a second) and returns XML-RPC settings for it. Both servers are stopped by their own
process ids on exit, whatever happened in between.

Debian's ``postgresql`` package provides the binaries (``/usr/lib/postgresql/15/bin``;
``make test-slow`` installs it). ``initdb`` and ``postgres`` refuse to run as root: as root the
cluster runs as the ``postgres`` user, in a scratch directory that user can reach.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from d2b.services import (
    initdb,
    postgres_binary,
    postgres_command,
    unprivileged_user,
    wait_for_port,
)
from erp.settings import TrytonSettings

REPO = Path(__file__).resolve().parents[2]
#: The user trytond logs in as over XML-RPC (trytond refuses logins without a password).
USER = "admin"
PASSWORD = "Qx7-trytond-D2B"
TEMPLATE_DATABASE = "d2b_erp_template"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop one process by its own id: ``sig``, then SIGKILL after 30 s."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster listening on 127.0.0.1:``port`` (trust auth)."""

    data_dir: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        """Server URI without a database, the way trytond wants it."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/"

    def database_uri(self, name: str) -> str:
        """URI of one database of the cluster (the adapter's PostgreSQL mode)."""
        return f"{self.uri}{name}"

    def start(self) -> None:
        """initdb, then run ``postgres`` in the foreground of a child we own (the commands
        ``d2b services start postgres`` runs, d2b/services.py)."""
        as_user = unprivileged_user()
        initdb(self.data_dir)
        log = self.data_dir.parent / "postgres.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                postgres_command(self.data_dir, self.port),
                stdout=out,
                stderr=subprocess.STDOUT,
                user=as_user.pw_uid if as_user else None,
                group=as_user.pw_gid if as_user else None,
            )
        wait_for_port(self.port, self.process.poll, "postgres", log)

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back, disconnect clients, exit)."""
        if self.process is not None:
            _stop(self.process, signal.SIGINT)

    def create_database(self, name: str, template: str | None = None) -> None:
        """``CREATE DATABASE name [TEMPLATE template]`` (a template must have no session)."""
        import psycopg

        con = psycopg.connect(self.database_uri("postgres"))
        try:
            con.autocommit = True
            with con.cursor() as cur:
                copied = f' TEMPLATE "{template}"' if template else ""
                cur.execute(f'CREATE DATABASE "{name}"{copied}')
        finally:
            con.close()


@dataclass
class TrytonServer:
    """A trytond server process serving every database of ``cluster`` over XML-RPC."""

    cluster: PostgresCluster
    workdir: Path
    port: int = 0
    process: subprocess.Popen | None = None

    def url(self, database: str) -> str:
        """The XML-RPC route of one database."""
        return f"http://127.0.0.1:{self.port}/{database}/rpc/"

    def settings(self, database: str) -> TrytonSettings:
        """Adapter settings pointing at ``database`` on this server."""
        return TrytonSettings(
            database_name=database, xmlrpc_url=self.url(database), user=USER, password=PASSWORD
        )

    def new_database(self, prefix: str = "erp") -> TrytonSettings:
        """A fresh copy of the bootstrapped template, served alone; XML-RPC settings for it.

        trytond 8.2 serves only the databases whose pool it initialised at start
        (``TRYTOND_DATABASE_NAMES``): a database created later fails its first login with
        ``KeyError: 'res.user'``. So every new database restarts the server (a few seconds).
        """
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.cluster.create_database(name, TEMPLATE_DATABASE)
        self.serve(name)
        return self.settings(name)

    def serve(self, database: str) -> None:
        """(Re)start ``trytond`` from this environment, serving ``database``."""
        self.stop()
        self.port = free_port()
        config = self.workdir / "trytond.conf"
        config.write_text(
            f"[database]\nuri = {self.cluster.uri}\n[web]\nlisten = 127.0.0.1:{self.port}\n"
        )
        log = self.workdir / "trytond.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "trytond"), "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**_clean_env(), "TRYTOND_DATABASE_NAMES": database},
            )
        wait_for_port(self.port, self.process.poll, "trytond", log)

    def stop(self) -> None:
        """Stop trytond by its process id."""
        if self.process is not None:
            _stop(self.process)


def _clean_env() -> dict[str, str]:
    """This environment without trytond or project settings (the child gets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TRYTOND_", "D2B_"))}


def template_dump_name() -> str:
    """File name of the cached template dump: keyed like the SQLite templates, plus the login."""
    from erp.adapters.tryton_bootstrap import template_hash

    settings = TrytonSettings(user=USER, password=PASSWORD)
    key = hashlib.sha256(f"{template_hash(settings)}:{USER}:{PASSWORD}".encode()).hexdigest()
    return f"d2b_erp_template_pg15_{key[:16]}.pgdump"


def bootstrap_template(cluster: PostgresCluster, cache_dir: Path | None = None) -> None:
    """Create the template database: restored from ``cache_dir`` if dumped there before, else
    bootstrapped through the adapter's PostgreSQL mode in a child process (then dumped).

    The child connects once (which bootstraps an empty database in place, with the password
    set so the user can log in over XML-RPC) and exits, leaving no session on the template.
    Bootstrapping takes minutes on a busy machine; a restore, seconds.
    """
    dump = cache_dir / template_dump_name() if cache_dir is not None else None
    if dump is not None and dump.exists():
        cluster.create_database(TEMPLATE_DATABASE, "template0")
        _run(
            [
                str(postgres_binary("pg_restore")),
                "--no-owner",
                "--dbname",
                cluster.database_uri(TEMPLATE_DATABASE),
                str(dump),
            ],
            "restoring the Tryton template",
        )
        return
    code = (
        "import sys\n"
        "from erp.adapters.tryton import TrytonAdapter\n"
        "from erp.settings import TrytonSettings\n"
        "adapter = TrytonAdapter(TrytonSettings(database_name=sys.argv[1], "
        "postgres_uri=sys.argv[2], user=sys.argv[3], password=sys.argv[4]))\n"
        "adapter.connect()\n"
        "adapter.close()\n"
    )
    _run(
        [
            sys.executable,
            "-c",
            code,
            TEMPLATE_DATABASE,
            cluster.database_uri(TEMPLATE_DATABASE),
            USER,
            PASSWORD,
        ],
        "Tryton bootstrap on PostgreSQL",
    )
    if dump is not None:
        dump.parent.mkdir(parents=True, exist_ok=True)
        partial = dump.with_suffix(".partial")
        _run(
            [
                str(postgres_binary("pg_dump")),
                "--format=custom",
                "--file",
                str(partial),
                cluster.database_uri(TEMPLATE_DATABASE),
            ],
            "dumping the Tryton template",
        )
        partial.replace(dump)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(
        command, cwd=REPO, env=_clean_env(), capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed: {result.stderr[-2000:]}")


@contextlib.contextmanager
def running_tryton_server(
    workdir: Path | None = None, cache_dir: Path | None = None
) -> Iterator[TrytonServer]:
    """A PostgreSQL cluster and a trytond server with a bootstrapped template, both stopped on exit.

    ``workdir`` holds the cluster, the logs and trytond's configuration (default: a fresh
    temporary directory, removed on exit); ``cache_dir`` keeps the template's dump across
    runs (see :func:`bootstrap_template`). As root the cluster directory is always a fresh
    temporary directory the ``postgres`` user can reach, removed on exit.
    """
    with contextlib.ExitStack() as stack:
        if workdir is None or unprivileged_user() is not None:
            # pytest's own tmp dirs are private to their owner (0700): postgres could not enter.
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="d2b-tryton-")))
            workdir.chmod(0o755)
        workdir.mkdir(parents=True, exist_ok=True)
        cluster = PostgresCluster(workdir / "pgdata", free_port())
        stack.callback(cluster.stop)
        cluster.start()
        bootstrap_template(cluster, cache_dir)
        server = TrytonServer(cluster, workdir)
        stack.callback(server.stop)
        yield server

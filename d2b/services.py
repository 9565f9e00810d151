"""Servers the other engines need, started by the project on loopback (docs/scale.md).

``d2b services start|stop|status [postgres|spark]`` runs PostgreSQL 15 (Debian's server
binaries) and the Spark Thrift server (from the pyspark wheel, on Java 17) under
``$D2B_HOME/services/<name>/``: the server's data, its log and its pid file. Start waits until
the port accepts connections; stop signals the process whose id the pid file holds, and only
if that process is still the server it started. The tests' PostgreSQL cluster
(tests/support/tryton_server.py) and Spark fixture build their servers from the same
commands here.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Where Debian puts the PostgreSQL server binaries (not on PATH by default).
POSTGRES_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)
#: Seconds a server may take to listen on its port (the Thrift server's JVM takes ~10-30 s).
STARTUP_SECONDS = 180
#: The Thrift server's JVM heap: with Spark's default of 1 GB the firm written by hand's build
#: stalled in back-to-back full collections (old generation full) at the billing marts.
SPARK_DRIVER_MEMORY = "3g"
#: Seconds a server may take to stop after its signal before it is killed.
STOP_SECONDS = 30


def postgres_binary(name: str) -> Path:
    """Path of a PostgreSQL server binary (``initdb``, ``postgres``), or a one-line error."""
    for directory in POSTGRES_BIN_DIRS:
        if (directory / name).exists():
            return directory / name
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} not found: install Debian's postgresql package (make postgres-deps)"
        )
    return Path(found)


def unprivileged_user() -> pwd.struct_passwd | None:
    """The user PostgreSQL runs as when we are root (it refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root and no 'postgres' user: install Debian's postgresql package"
        ) from None


def initdb(data_dir: Path) -> None:
    """A new PostgreSQL cluster in ``data_dir`` (trust authentication, user ``postgres``)."""
    as_user = unprivileged_user()
    data_dir.mkdir(parents=True)
    if as_user is not None:
        shutil.chown(data_dir, as_user.pw_name, as_user.pw_gid)
    completed = subprocess.run(
        [
            str(postgres_binary("initdb")),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=False,
        capture_output=True,
        text=True,
        user=as_user.pw_uid if as_user else None,
        group=as_user.pw_gid if as_user else None,
    )
    if completed.returncode != 0:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {completed.stderr.strip()[-500:]}")


def postgres_command(data_dir: Path, port: int) -> list[str]:
    """``postgres`` in the foreground on 127.0.0.1:``port``, its socket in ``data_dir``."""
    return [
        str(postgres_binary("postgres")),
        "-D",
        str(data_dir),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-k",
        str(data_dir),
        # scratch servers: durability is not what they are for, speed is welcome
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
    ]


def spark_home() -> Path:
    """The Spark distribution the pyspark wheel bundles."""
    import pyspark

    return Path(pyspark.__file__).parent


def spark_thrift_command(service_dir: Path, port: int) -> list[str]:
    """The Spark Thrift server on 127.0.0.1:``port``, ``local[2]``, state in ``service_dir``.

    Its Derby metastore and warehouse live there; the wheel has no ``start-thriftserver.sh``.
    """
    return [
        str(spark_home() / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--master",
        "local[2]",
        "--driver-memory",
        SPARK_DRIVER_MEMORY,
        "--name",
        "d2b-thrift-server",
        "--conf",
        f"spark.sql.warehouse.dir={service_dir / 'warehouse'}",
        "--conf",
        f"spark.driver.extraJavaOptions=-Dderby.system.home={service_dir / 'derby'}",
        "--conf",
        "spark.hadoop.javax.jdo.option.ConnectionURL="
        f"jdbc:derby:;databaseName={service_dir / 'metastore_db'};create=true",
        "--conf",
        "spark.ui.enabled=false",
        # timestamps are naive wall times in UTC on every engine
        "--conf",
        "spark.sql.session.timeZone=UTC",
        "--hiveconf",
        "hive.server2.thrift.bind.host=127.0.0.1",
        "--hiveconf",
        f"hive.server2.thrift.port={port}",
        "spark-internal",
    ]


def spark_environment() -> dict[str, str]:
    """The environment with ``SPARK_HOME`` (the wheel's) and a Java 17 ``JAVA_HOME``."""
    env = {**os.environ, "SPARK_HOME": str(spark_home())}
    java17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")
    if "JAVA_HOME" not in env and java17.exists():
        env["JAVA_HOME"] = str(java17)
    if "JAVA_HOME" not in env and shutil.which("java") is None:
        raise FileNotFoundError("java not found: install Debian's openjdk-17-jre-headless")
    return env


def port_is_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` now."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def wait_for_port(port: int, exited: Callable[[], int | None], what: str, log: Path) -> None:
    """Wait until something accepts connections on ``port``.

    ``exited()`` gives the server's exit status once it has died: then fail at once.
    """
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        status = exited()
        if status is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            raise RuntimeError(f"{what} exited with {status}: {tail}")
        if port_is_open(port):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not listen on port {port} in {STARTUP_SECONDS} s")


@dataclass(frozen=True)
class Service:
    """One server under ``<home>/services/<name>/``: ``data/``, ``server.log``, ``server.pid``."""

    name: str
    home: Path
    port: int

    @property
    def directory(self) -> Path:
        """The service's own directory."""
        return self.home / "services" / self.name

    @property
    def log(self) -> Path:
        """The server's output."""
        return self.directory / "server.log"

    @property
    def pid_file(self) -> Path:
        """The running server's process id and port."""
        return self.directory / "server.pid"

    def pid(self) -> int | None:
        """The id of this service's server if it is running, else None.

        A stale pid file (the server died, or its id now names another process) is removed.
        """
        if not self.pid_file.exists():
            return None
        pid = int(self.pid_file.read_text().split()[0])
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            cmdline = ""
        # the id may have been reused since: only our own server's command line counts
        if str(self.directory) not in cmdline:
            self.pid_file.unlink()
            return None
        return pid

    def start(self) -> int:
        """Start the server unless it runs; wait for its port. Returns its process id."""
        running = self.pid()
        if running is not None:
            return running
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: choose another for {self.name}")
        self.directory.mkdir(parents=True, exist_ok=True)
        command, env, as_user = self._prepare()
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                command,
                cwd=self.directory,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `d2b services start`
                user=as_user.pw_uid if as_user else None,
                group=as_user.pw_gid if as_user else None,
            )
        self.pid_file.write_text(f"{process.pid} {self.port}\n")
        try:
            wait_for_port(self.port, process.poll, self.name, self.log)
        except BaseException:
            self.stop()
            raise
        return process.pid

    def _prepare(self) -> tuple[list[str], dict[str, str], pwd.struct_passwd | None]:
        if self.name == "postgres":
            data_dir = self.directory / "data"
            as_user = unprivileged_user()
            if as_user is not None:
                # the server runs as the postgres user: it must pass through the home (no
                # listing) and own its data directory and log
                for directory in (self.home, self.directory.parent):
                    directory.chmod(directory.stat().st_mode | 0o001)
                self.directory.chmod(0o755)
                self.log.touch()
                shutil.chown(self.log, as_user.pw_name, as_user.pw_gid)
            if not data_dir.exists():
                initdb(data_dir)
            return postgres_command(data_dir, self.port), dict(os.environ), as_user
        if self.name == "spark":
            return spark_thrift_command(self.directory, self.port), spark_environment(), None
        raise ValueError(f"unknown service {self.name!r}; known: {SERVICES}")

    def stop(self) -> bool:
        """Stop the server by its own process id; whether one was running."""
        pid = self.pid()
        if pid is None:
            return False
        # PostgreSQL's fast shutdown is SIGINT; the JVM stops on SIGTERM
        os.kill(pid, signal.SIGINT if self.name == "postgres" else signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> str:
        """One line: running (pid, port) or stopped."""
        pid = self.pid()
        if pid is None:
            return f"{self.name}: stopped"
        return f"{self.name}: running, pid {pid}, 127.0.0.1:{self.port}, {self.directory}"


def _alive(pid: int) -> bool:
    # reap it if it is our child (the tests' fixture), else ask the kernel
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return ""


#: The services ``d2b services`` knows, in start order.
SERVICES = ("postgres", "spark")


def services(home: Path, postgres_port: int, spark_port: int) -> dict[str, Service]:
    """Every service of ``home`` on its port (D2B_POSTGRES_PORT, D2B_SPARK_PORT)."""
    return {
        "postgres": Service("postgres", home, postgres_port),
        "spark": Service("spark", home, spark_port),
    }


def main(action: str, names: list[str], home: Path, postgres_port: int, spark_port: int) -> int:
    """``d2b services <action> [names]``: print one line per service; 0 unless start failed."""
    known = services(home, postgres_port, spark_port)
    unknown = set(names) - set(SERVICES)
    if unknown:
        print(f"unknown service(s) {sorted(unknown)}; known: {list(SERVICES)}", file=sys.stderr)
        return 2
    for name in names or SERVICES:
        service = known[name]
        if action == "start":
            try:
                service.start()
            except (OSError, RuntimeError) as error:
                print(f"{name}: failed to start: {error}", file=sys.stderr)
                return 1
        elif action == "stop":
            service.stop()
        print(service.status())
    return 0

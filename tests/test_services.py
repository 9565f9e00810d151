"""``d2b services`` (d2b/services.py) and the Spark lake (ingest/spark_sink.py), without servers.

Starting real servers is the slow engine tests' part (tests/test_engine_spark.py,
tests/test_engine_postgres.py); here: the pid file only ever names the service's own
process, the commands, and the Parquet a source table becomes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from d2b import services
from d2b.services import Service
from ingest.spark_sink import write_source_lake


def test_a_pid_file_naming_another_process_is_stale_and_nothing_is_stopped(tmp_path) -> None:
    service = Service("spark", tmp_path, 1)
    service.directory.mkdir(parents=True)
    # this test's own process: alive, but not the service's server
    service.pid_file.write_text(f"{os.getpid()} 1\n")
    assert service.pid() is None
    assert not service.pid_file.exists()
    assert service.stop() is False
    assert service.status() == "spark: stopped"


def test_stop_ends_the_server_its_pid_file_names(tmp_path) -> None:
    service = Service("spark", tmp_path, 1)
    service.directory.mkdir(parents=True)
    # a stand-in server whose command line names the service directory, as the real ones do
    process = subprocess.Popen(
        [sys.executable, "-c", "import time, sys; time.sleep(60)", str(service.directory)]
    )
    try:
        # until the child has exec'd, /proc shows the forking parent's command line
        cmdline = Path(f"/proc/{process.pid}/cmdline")
        deadline = time.monotonic() + 10
        while str(service.directory) not in cmdline.read_bytes().decode(errors="replace"):
            assert time.monotonic() < deadline, "the stand-in server did not start"
            time.sleep(0.05)
        service.pid_file.write_text(f"{process.pid} 1\n")
        assert service.pid() == process.pid
        assert service.status().startswith(f"spark: running, pid {process.pid}")
        assert service.stop() is True
        assert process.wait(5) is not None
        assert not service.pid_file.exists()
    finally:
        process.kill()
        process.wait()


def test_the_thrift_server_binds_loopback_on_its_port_with_state_in_its_directory(
    tmp_path,
) -> None:
    command = services.spark_thrift_command(tmp_path, 10123)
    assert Path(command[0]).name == "spark-submit" and Path(command[0]).exists()
    assert "hive.server2.thrift.bind.host=127.0.0.1" in command
    assert "hive.server2.thrift.port=10123" in command
    assert f"spark.sql.warehouse.dir={tmp_path / 'warehouse'}" in command
    assert any(str(tmp_path / "metastore_db") in part for part in command)


def test_an_unknown_service_is_a_usage_error(tmp_path, capsys) -> None:
    assert services.main("start", ["mysql"], tmp_path, 5432, 10000) == 2
    assert "unknown service(s) ['mysql']" in capsys.readouterr().err


def test_the_lake_stores_each_source_table_as_parquet_spark_can_read(tmp_path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.toggl__time_entries as select "
            "'a' as id, interval 90 minute as duration, time '09:30:00' as start_time, "
            "cast(7 as hugeint) as big, cast(3 as ubigint) as unsigned, "
            "['x', 'y'] as tags, cast(12.50 as decimal(18, 2)) as amount"
        )
        con.execute("create schema ops")
        con.execute("create table ops.landed_files (source_file varchar)")
    written = write_source_lake(warehouse, tmp_path / "lake")
    assert written == {
        "ops.landed_files": tmp_path / "lake" / "ops" / "landed_files",
        "raw.toggl__time_entries": tmp_path / "lake" / "raw" / "toggl__time_entries",
    }
    files = written["raw.toggl__time_entries"] / "*.parquet"
    with duckdb.connect() as con:
        types = dict(
            con.execute(f"select column_name, column_type from (describe '{files}')").fetchall()
        )
        row = con.execute(f"select * from '{files}'").fetchone()
    assert types == {
        "id": "VARCHAR",
        "duration": "DECIMAL(18,6)",
        "start_time": "VARCHAR",
        "big": "DECIMAL(38,0)",
        "unsigned": "DECIMAL(20,0)",
        "tags": "VARCHAR[]",
        "amount": "DECIMAL(18,2)",
    }
    assert row == (
        "a",
        Decimal(timedelta(minutes=90).total_seconds()),
        "09:30:00",
        7,
        3,
        ["x", "y"],
        Decimal("12.50"),
    )


@pytest.mark.parametrize("name", ["postgres", "spark"])
def test_each_service_lives_under_the_home(tmp_path, name: str) -> None:
    service = services.services(tmp_path, 5432, 10000)[name]
    assert service.directory == tmp_path / "services" / name
    assert service.log.parent == service.pid_file.parent == service.directory

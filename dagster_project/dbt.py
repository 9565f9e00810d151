"""The dbt project as Dagster sees it, and how its manifest gets prepared."""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
from datetime import date
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The ``dbt`` of this Python environment, found even when the venv is not activated."""
    beside_python = Path(sys.executable).parent / "dbt"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("dbt") or "dbt"


def dbt_command(args: list[str], as_of: date) -> list[str]:
    """The ``dbt`` command line running ``args`` on this project as of ``as_of``.

    Global flags (``--quiet``) go first in ``args``; options after the subcommand may follow
    the returned list.
    """
    return [
        dbt_executable(),
        *args,
        "--vars",
        json.dumps({"as_of_date": as_of.isoformat()}),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource used by the dbt assets."""
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )


#: What dbt parses: a file here newer than the manifest makes the manifest stale.
_PARSED_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")


def manifest_is_stale() -> bool:
    """Whether ``target/manifest.json`` is missing or older than any file dbt parses."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    parsed_at = manifest.stat().st_mtime
    for name in _PARSED_SOURCES:
        path = DBT_PROJECT_DIR / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(f.is_file() and f.stat().st_mtime > parsed_at for f in files):
            return True
    return False


def prepare_manifest(force: bool = False) -> Path:
    """Write ``target/manifest.json`` with ``dbt parse`` when it is stale (or ``force``).

    Under ``dagster dev`` the manifest is re-parsed on every code reload by
    ``DbtProject.prepare_if_dev``; everywhere else (``d2b run``, tests, CI) this function
    prepares it explicitly, because ``prepare_if_dev`` does nothing outside dev. A manifest
    older than the project's files (a checkout, a merge, an edit) is parsed again, so the
    asset graph never describes other models than the ones dbt will run.
    """
    target = DBT_PROJECT_DIR / dbt_project.target_path
    target.mkdir(parents=True, exist_ok=True)
    # Processes importing the definitions at once (pytest workers, a run beside `dagster dev`)
    # would parse together, and one would read the manifest half-written: one parses at a time,
    # and the others then find it fresh.
    with open(target / "parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or manifest_is_stale():
            dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path

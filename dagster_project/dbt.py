"""The dbt project as Dagster sees it, and how its manifest gets prepared."""

from __future__ import annotations

import shutil
import sys
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


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource used by the dbt assets."""
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )


def prepare_manifest(force: bool = False) -> Path:
    """Write ``target/manifest.json`` with ``dbt parse`` unless it exists (or ``force``).

    Under ``dagster dev`` the manifest is re-parsed on every code reload by
    ``DbtProject.prepare_if_dev``; everywhere else (``d2b run``, tests, CI) this function
    prepares it explicitly, because ``prepare_if_dev`` does nothing outside dev.
    """
    if force or not dbt_project.manifest_path.exists():
        dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path

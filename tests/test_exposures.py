"""The dbt exposures list exactly what each dashboard page's SQL reads.

A page reads the queries (``dashboards/queries/<name>.sql``) whose names appear as string
literals in its script and in the ``dashboards`` modules it imports; the modules the app
shell (``dashboards/app.py``: sidebar filters, the as-of header) imports are the shell's,
listed once by the exposure of ``app.py``. Each exposure names its script in
``meta.dashboard_script``. A query reads the tables it names schema-qualified.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from dashboards.data import QUERY_DIR, query_text
from dashboards.navigation import PAGE_SPECS
from serving.snapshot import PUBLISHED_SCHEMAS

DASHBOARDS = Path(__file__).resolve().parent.parent / "dashboards"
SHELL_SCRIPT = "app.py"
#: ``schema.table`` of a published schema, outside comments.
_TABLE = re.compile(rf"\b({'|'.join(PUBLISHED_SCHEMAS)})\.(\w+)\b")
_COMMENT = re.compile(r"--[^\n]*")


def _imported_modules(script: Path) -> set[Path]:
    """The ``dashboards`` modules ``script`` imports, transitively (``script`` included)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "dashboards":
                todo += [DASHBOARDS / f"{alias.name}.py" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dashboards."):
                todo.append(DASHBOARDS / f"{node.module.split('.', 1)[1].replace('.', '/')}.py")
    return {path for path in seen if path.is_file()}


#: The functions of ``dashboards.data`` that run a named query (the name is their first argument).
QUERY_FUNCTIONS = frozenset({"query", "query_previous", "run_uncached"})


def _query_names(modules: set[Path]) -> set[str]:
    """The query files ``modules`` run.

    A query call's first argument is a literal name, or an expression over module-level
    tables of names (``DETAIL_QUERIES[kind]``, or a loop variable over ``LIST_FILTERS``):
    then every query name in those tables counts.
    """
    queries = {path.stem for path in QUERY_DIR.glob("*.sql")}
    names: set[str] = set()
    for path in modules:
        tree = ast.parse(path.read_text())
        tables = {
            target.id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name) and node.value is not None
        }
        loops = {
            variable.id: loop.iter
            for loop in ast.walk(tree)
            if isinstance(loop, ast.For)
            for variable in ast.walk(loop.target)
            if isinstance(variable, ast.Name)
        }
        for call in ast.walk(tree):
            func = getattr(call, "func", None)
            called = getattr(func, "id", None) or getattr(func, "attr", None)
            if not isinstance(call, ast.Call) or called not in QUERY_FUNCTIONS or not call.args:
                continue
            sources = [call.args[0]]
            for name in [n.id for n in ast.walk(call.args[0]) if isinstance(n, ast.Name)]:
                sources += [tables[name]] if name in tables else []
                for loop_name in ast.walk(loops.get(name, ast.Pass())):
                    if isinstance(loop_name, ast.Name) and loop_name.id in tables:
                        sources.append(tables[loop_name.id])
            names |= {
                node.value
                for source in sources
                for node in ast.walk(source)
                if isinstance(node, ast.Constant) and node.value in queries
            }
    return names


def tables_read(sql: str) -> set[str]:
    """The ``schema.table`` names an SQL text reads (comments ignored)."""
    return {f"{schema}.{table}" for schema, table in _TABLE.findall(_COMMENT.sub("", sql))}


def pages_reads() -> dict[str, set[str]]:
    """Per script (relative to ``dashboards/``), the tables its queries read."""
    shell = _imported_modules(DASHBOARDS / SHELL_SCRIPT)
    reads = {SHELL_SCRIPT: shell}
    for spec in PAGE_SPECS:
        reads[spec.script] = _imported_modules(DASHBOARDS / spec.script) - shell
    return {
        script: {table for name in _query_names(modules) for table in tables_read(query_text(name))}
        for script, modules in reads.items()
    }


@pytest.fixture(scope="module")
def manifest(dbt_manifest) -> dict:
    return json.loads(Path(dbt_manifest).read_text())


def _relations(manifest: dict) -> dict[str, str]:
    """``schema.table`` of every model and source -> its dbt unique id."""
    relations = {}
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        if node["resource_type"] in ("model", "source"):
            name = node.get("identifier") or node.get("alias") or node["name"]
            relations[f"{node['schema']}.{name}"] = node["unique_id"]
    return relations


def _script(exposure: dict) -> str | None:
    """The dashboard script an exposure declares (``config.meta.dashboard_script``)."""
    return {**exposure.get("meta", {}), **exposure["config"].get("meta", {})}.get(
        "dashboard_script"
    )


def test_tables_read_ignores_comments_and_aliases():
    sql = (
        "-- from ops.erp_outbox\nselect b.x from marts.fct_a as b join quarantine.rows_b using (x)"
    )
    assert tables_read(sql) == {"marts.fct_a", "quarantine.rows_b"}


def test_every_page_and_the_shell_have_one_exposure(manifest):
    scripts = [_script(exposure) for exposure in manifest["exposures"].values()]
    assert sorted(scripts) == sorted([SHELL_SCRIPT, *(spec.script for spec in PAGE_SPECS)])


def test_exposures_depend_on_exactly_what_each_page_reads(manifest):
    relations = _relations(manifest)
    reads = pages_reads()
    for exposure in manifest["exposures"].values():
        script = _script(exposure)
        unknown = {table for table in reads[script] if table not in relations}
        assert not unknown, f"{script} reads tables dbt does not declare: {sorted(unknown)}"
        assert sorted(exposure["depends_on"]["nodes"]) == sorted(
            relations[table] for table in reads[script]
        ), f"exposure {exposure['name']} vs the SQL of {script}"


def test_pages_read_no_pipeline_state_directly():
    # Dashboards read the marts (and ingest's quarantine), never the write-back's ops tables.
    for script, tables in pages_reads().items():
        assert not {t for t in tables if t.startswith("ops.")}, script

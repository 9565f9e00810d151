"""Sign-in and entitlements (issue 24): the firm's grants, the scope every query runs in,
safe CSV exports, the access log and where the dashboards may listen.

Grants and exports on small hand-written inputs; the scope per role on the default sample
firm's published snapshot (``sample_run``), each figure compared with SQL of its own.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from d2b.settings import Settings
from dashboards import data
from dashboards import format as fmt
from dashboards.access import (
    NOTHING,
    AccessError,
    Scope,
    parse_policy,
    principal_from_claims,
)
from dashboards.exports import csv_for_spreadsheets, neutralise_formula
from dashboards.serving_auth import auth_section, is_loopback
from serving import access_log

POLICY = """
groups_claim = "roles"

[administrators]
emails = ["Audit@Firm.example"]

[[grant]]
role = "executive"
groups = ["leadership"]

[[grant]]
role = "regional_lead"
emails = ["eu.lead@firm.example"]
regions = ["EMEA"]

[[grant]]
role = "regional_lead"
groups = ["apac-leads"]
regions = ["APAC"]

[[grant]]
role = "entity_finance"
groups = ["finance-de"]
legal_entities = ["DE01"]

[[grant]]
role = "delivery_lead"
emails = ["dl@firm.example"]
clients = ["Acme"]

[[grant]]
role = "analyst"
groups = ["analysts-na"]
regions = ["NA"]

[[grant]]
role = "delivery_lead"
groups = ["delivery-data"]
practices = ["Data", "Cloud"]
"""


def test_roles_map_from_groups_and_emails():
    policy = parse_policy(POLICY)
    assert policy.scope_for("boss@firm.example", ["leadership"]) == Scope()
    assert policy.scope_for("EU.Lead@firm.example", []) == Scope("regions", frozenset({"EMEA"}))
    assert policy.scope_for("x@firm.example", ["finance-de"]) == Scope(
        "legal_entities", frozenset({"DE01"})
    )
    assert policy.scope_for("dl@firm.example", []) == Scope("clients", frozenset({"Acme"}))
    assert policy.scope_for(None, ["analysts-na"]) == Scope("regions", frozenset({"NA"}))
    assert policy.scope_for(None, ["delivery-data"]) == Scope(
        "practices", frozenset({"Data", "Cloud"})
    )
    # same dimension: union; an executive grant wins; no grant: nothing
    assert policy.scope_for("eu.lead@firm.example", ["apac-leads"]).values == {"EMEA", "APAC"}
    assert policy.scope_for("dl@firm.example", ["leadership"]).is_everything
    assert policy.scope_for("stranger@firm.example", ["staff"]) == NOTHING
    with pytest.raises(AccessError, match="grants on clients and legal_entities"):
        policy.scope_for("dl@firm.example", ["finance-de"])


def test_the_groups_claim_and_administrators_come_from_the_file():
    policy = parse_policy(POLICY)
    lead = principal_from_claims(
        {"sub": "1", "email": "x@firm.example", "roles": "apac-leads"}, policy
    )
    assert (lead.name, lead.scope.values, lead.is_admin) == ("x@firm.example", {"APAC"}, False)
    auditor = principal_from_claims({"sub": "2", "email": "audit@firm.example"}, policy)
    assert auditor.is_admin and auditor.scope == NOTHING
    nameless = principal_from_claims({"sub": "abc", "groups": ["leadership"]}, policy)
    assert nameless.name == "abc" and nameless.scope == NOTHING  # the claim is "roles" here


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        ('role = "boss"\ngroups = ["g"]', "role must be one of"),
        ('role = "regional_lead"\ngroups = ["g"]', "lists regions"),
        ('role = "regional_lead"\ngroups = ["g"]\nclients = ["Acme"]', "lists regions"),
        ('role = "executive"\ngroups = ["g"]\nregions = ["EMEA"]', "lists no regions"),
        ('role = "analyst"\ngroups = ["g"]', "one of regions, legal_entities, clients"),
        ('role = "delivery_lead"\nclients = ["Acme"]', "names emails or groups"),
        ('role = "delivery_lead"\ngroups = ["g"]\nregions = ["EMEA"]', "one of practices, clients"),
        ('role = "delivery_lead"\ngroups = ["g"]\npractices = ["Data"]\nclients = ["A"]', "one of"),
        ('role = "entity_finance"\ngroups = ["g"]\nlegal_entities = []', "is empty"),
        ('role = "executive"\ngroups = "g"', "must be a list"),
        ('role = "executive"\ngroups = ["g"]\nregion = ["EMEA"]', "unknown key"),
    ],
)
def test_a_malformed_grant_is_named_in_one_line(grant, message):
    with pytest.raises(AccessError, match=message) as error:
        parse_policy(f"[[grant]]\n{grant}\n", "access.toml")
    assert "access.toml, grant 1" in str(error.value) and "\n" not in str(error.value)


def test_formulas_in_text_are_neutralised_and_numbers_stay_numbers():
    frame = pd.DataFrame(
        {
            "client_name": [
                '=HYPERLINK("http://x")',
                "+1 Corp",
                "-x",
                "@SUM(A1)",
                "\tTab",
                "\rCR",
                "Acme",
                None,
            ],
            "amount": [-12.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "hours": [-3, 1, 2, 3, 4, 5, 6, 7],
        }
    )
    parsed = pd.read_csv(io.BytesIO(csv_for_spreadsheets(frame)))
    assert parsed["client_name"].tolist()[:7] == [
        '\'=HYPERLINK("http://x")',
        "'+1 Corp",
        "'-x",
        "'@SUM(A1)",
        "'\tTab",
        "'\rCR",
        "Acme",
    ]
    assert parsed["amount"].tolist() == frame["amount"].tolist()
    assert parsed["hours"].tolist() == frame["hours"].tolist()
    assert neutralise_formula(-5) == -5 and neutralise_formula("5-3") == "5-3"


def test_the_access_log_only_appends(tmp_path):
    first = datetime(2026, 12, 4, 9, tzinfo=UTC)
    access_log.append(
        tmp_path, "a@firm.example", "sign_in", detail={"scope": "all data"}, now=first
    )
    access_log.append(tmp_path, "a@firm.example", "page", page="Trace", detail={"region": ["EMEA"]})
    access_log.append(tmp_path, "a@firm.example", "download", detail={"file": "x.csv", "rows": 3})
    lines = (tmp_path / access_log.ACCESS_LOG).read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["sign_in", "page", "download"]
    assert json.loads(lines[0])["at"] == "2026-12-04T09:00:00+00:00"
    shown = access_log.read(tmp_path)
    assert shown["event"].tolist() == ["download", "page", "sign_in"]
    assert shown.loc[1, "detail"] == '{"region": ["EMEA"]}'
    with pytest.raises(ValueError, match="event must be one of"):
        access_log.append(tmp_path, "a", "delete")


def test_sign_in_settings_must_be_complete(monkeypatch):
    monkeypatch.setenv(
        "D2B_OIDC_METADATA_URL", "https://idp.example/.well-known/openid-configuration"
    )
    monkeypatch.setenv("D2B_OIDC_CLIENT_ID", "d2b")
    settings = Settings.from_env().dashboard
    with pytest.raises(ValueError, match="D2B_OIDC_CLIENT_SECRET, D2B_OIDC_COOKIE_SECRET"):
        auth_section(settings, 8501)
    monkeypatch.setenv("D2B_OIDC_CLIENT_SECRET", "s3cret-client")
    monkeypatch.setenv("D2B_OIDC_COOKIE_SECRET", "s3cret-cookie")
    section = auth_section(Settings.from_env().dashboard, 8600)
    assert section["redirect_uri"] == "http://localhost:8600/oauth2callback"
    assert "s3cret" not in repr(Settings.from_env())
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")


@pytest.mark.parametrize("demo", [False, True])
def test_the_dashboard_refuses_other_addresses_without_sign_in(d2b_home, monkeypatch, capsys, demo):
    from dagster_project.cli import main

    monkeypatch.delenv("D2B_DASHBOARD_DEMO")
    for name in ("D2B_OIDC_METADATA_URL", "D2B_DASHBOARD_SECRETS"):
        monkeypatch.delenv(name, raising=False)
    args = ["dashboard", "--address", "0.0.0.0", *(["--demo"] if demo else [])]
    assert main(args) == 2
    why = "demo mode signs nobody in" if demo else "sign-in is not configured"
    assert f"refusing to listen on 0.0.0.0: {why}" in capsys.readouterr().err


# --- the scope on the sample firm's snapshot -------------------------------------------


@pytest.fixture(scope="module")
def snapshot_path(sample_run) -> Path:
    serving = sample_run.warehouse.parent / "serving"
    return serving / "snapshots" / json.loads((serving / "CURRENT").read_text())["file"]


@pytest.fixture(scope="module")
def sql(snapshot_path):
    def rows(text: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(snapshot_path), read_only=True) as con:
            return con.execute(text, params or []).fetchall()

    return rows


ALL = {
    "as_of": None,
    "period_start": None,
    "period_end": None,
    "region": [],
    "legal_entity": [],
    "practice": [],
    "client": [],
    "currency": "reporting",
}


def _regions(sql) -> list[str]:
    return [r for (r,) in sql("select distinct region from marts.dim_legal_entities order by 1")]


def test_a_regional_lead_sees_only_their_regions_wip(snapshot_path, sql):
    regions = _regions(sql)
    assert len(regions) >= 2
    for region in regions:
        scope = Scope("regions", frozenset({region}))
        wip = data.run_scoped(snapshot_path, "exec_wip", ALL, scope)
        ((expected,),) = sql(
            "select sum(w.unbilled_value_reporting) from marts.unbilled_approved_hours w "
            "join marts.dim_contracts c using (contract_id) "
            "join marts.dim_legal_entities e using (legal_entity) where e.region = ?",
            [region],
        )
        assert set(wip["region"]) == {region}
        assert float(wip["unbilled_value"].sum()) == pytest.approx(float(expected))
        # the sidebar's filter cannot lift the scope: another region gives nothing
        other = next(r for r in regions if r != region)
        lifted = data.run_scoped(snapshot_path, "exec_wip", {**ALL, "region": [other]}, scope)
        assert lifted.empty


def test_revenue_recognition_is_scoped_like_wip(snapshot_path, sql):
    """Contract positions follow the contract's legal entity, its region and client; a
    contract has no practice, so a practice's delivery lead sees none."""
    regions = _regions(sql)
    for region in regions:
        scope = Scope("regions", frozenset({region}))
        positions = data.run_scoped(snapshot_path, "exec_contract_positions", ALL, scope)
        ((recognized, assets),) = sql(
            "select sum(r.recognized_revenue_reporting), sum(r.contract_asset_reporting) "
            "from marts.contract_revenue_monthly r "
            "join marts.dim_contracts c using (contract_id) "
            "join marts.dim_legal_entities e using (legal_entity) where e.region = ?",
            [region],
        )
        if recognized is None:
            assert positions.empty, region
            continue
        assert set(positions["region"]) == {region}
        assert float(positions["recognized_revenue"].sum()) == pytest.approx(float(recognized))
        assert float(positions["contract_assets"].sum()) == pytest.approx(float(assets))
        other = next(r for r in regions if r != region)
        lifted = data.run_scoped(
            snapshot_path, "exec_contract_positions", {**ALL, "region": [other]}, scope
        )
        assert lifted.empty
    ((practice,),) = sql("select min(practice) from marts.dim_resources")
    practices = Scope("practices", frozenset({practice}))
    assert data.run_scoped(snapshot_path, "exec_contract_positions", ALL, practices).empty


def test_entity_finance_and_delivery_leads_see_their_rows_only(snapshot_path, sql):
    ((entity,),) = sql("select min(legal_entity) from marts.reconciliation_records")
    records = data.run_scoped(
        snapshot_path,
        "recon_records",
        {**ALL, "reason": [], "status": []},
        Scope("legal_entities", frozenset({entity})),
    )
    ((count,),) = sql(
        "select count(*) from marts.reconciliation_records where legal_entity = ?", [entity]
    )
    assert not records.empty and set(records["legal_entity"]) == {entity}
    assert len(records) == min(count, len(records))  # the page's own row limit may cut it

    ((client,),) = sql(
        "select c.client_name from marts.billing_exceptions x join marts.dim_clients c "
        "using (client_id) group by 1 order by count(*) desc, 1 limit 1"
    )
    scope = Scope("clients", frozenset({client}))
    exceptions = data.run_scoped(
        snapshot_path, "ops_exceptions", {**ALL, "built_date": None}, scope
    )
    assert not exceptions.empty and set(exceptions["client_name"]) == {client}
    # utilization has no client: a delivery lead sees none of it
    assert data.run_scoped(snapshot_path, "utilization", ALL, scope).empty
    options = data.run_scoped(snapshot_path, "options_clients", {}, scope)
    assert options["value"].tolist() == [client]


def test_trace_finds_only_records_in_scope(snapshot_path, sql):
    (source_id, correlation_id, region), *_ = sql(
        "select t.source_id, t.correlation_id, e.region from marts.fct_time_entries t "
        "join marts.dim_legal_entities e using (legal_entity) order by t.source_id limit 1"
    )
    other = next(r for r in _regions(sql) if r != region)
    inside, outside = Scope("regions", frozenset({region})), Scope("regions", frozenset({other}))
    needle = {"needle": source_id}
    assert data.run_scoped(snapshot_path, "trace_find", needle, inside)["source_id"].tolist() == [
        source_id
    ]
    assert data.run_scoped(snapshot_path, "trace_find", needle, outside).empty
    by_id = {"correlation_id": correlation_id}
    assert len(data.run_scoped(snapshot_path, "trace_time_entry", by_id, inside)) == 1
    for name in ("trace_time_entry", "trace_record_lines"):
        assert data.run_scoped(snapshot_path, name, by_id, outside).empty
    events = {**by_id, "record_kind": "time_entry", "source_id": source_id}
    assert data.run_scoped(snapshot_path, "trace_events", events, outside).empty
    assert not data.run_scoped(snapshot_path, "trace_events", events, inside).empty
    # the search text is a bound parameter: an injection probe is just an id nothing has
    for probe in (
        "' or 1=1 --",
        f"{source_id}' or '1'='1",
        "x'); drop table marts.dim_clients; --",
    ):
        assert data.run_scoped(snapshot_path, "trace_find", {"needle": probe}, Scope()).empty
    # nobody's grant: nothing, not even firm-wide counts; pipeline metadata stays visible
    assert data.run_scoped(snapshot_path, "trace_time_entry", by_id, NOTHING).empty
    assert data.run_scoped(snapshot_path, "health_held_exceptions", {}, NOTHING).empty
    assert not data.run_scoped(snapshot_path, "health_sources", {}, NOTHING).empty


def test_a_practice_lead_sees_their_practices_workers_only(snapshot_path, sql):
    practices = [p for (p,) in sql("select distinct practice from marts.dim_resources order by 1")]
    assert len(practices) >= 2
    practice, other = practices[0], practices[1]
    scope = Scope("practices", frozenset({practice}))
    utilization = data.run_scoped(snapshot_path, "utilization", ALL, scope)
    ((expected,),) = sql(
        "select sum(billable_hours) from marts.utilization_monthly where practice = ?", [practice]
    )
    assert set(utilization["practice"]) == {practice}
    assert float(utilization["billable_hours"].sum()) == pytest.approx(float(expected))
    # the sidebar cannot lift it; figures without a worker (WIP by contract) show nothing
    lifted = {**ALL, "practice": [other]}
    assert data.run_scoped(snapshot_path, "utilization", lifted, scope).empty
    assert data.run_scoped(snapshot_path, "exec_wip", ALL, scope).empty
    options = data.run_scoped(snapshot_path, "options_resources", {}, scope)
    assert options.loc[options["filter_name"] == "practice", "value"].tolist() == [practice]
    # Trace: a time entry of the practice's worker is found, another practice's is not
    (source_id, correlation_id), *_ = sql(
        "select t.source_id, t.correlation_id from marts.fct_time_entries t "
        "join marts.dim_resources r using (resource_id) where r.practice = ? "
        "order by t.source_id limit 1",
        [practice],
    )
    outside = Scope("practices", frozenset({other}))
    found = data.run_scoped(snapshot_path, "trace_find", {"needle": source_id}, scope)
    assert found["source_id"].tolist() == [source_id]
    assert data.run_scoped(snapshot_path, "trace_find", {"needle": source_id}, outside).empty
    by_id = {"correlation_id": correlation_id}
    assert len(data.run_scoped(snapshot_path, "trace_time_entry", by_id, scope)) == 1
    assert data.run_scoped(snapshot_path, "trace_time_entry", by_id, outside).empty


def test_an_executive_sees_what_the_unscoped_query_shows(snapshot_path):
    for name in ("exec_wip", "utilization", "health_held_exceptions"):
        scoped = data.run_scoped(snapshot_path, name, ALL, Scope())
        pd.testing.assert_frame_equal(scoped, data.run_uncached(snapshot_path, name, ALL))


@pytest.mark.parametrize(
    ("extra", "host", "warned"),
    [([], "127.0.0.1", False), (["--", "-h", "0.0.0.0"], "0.0.0.0", True)],
)
def test_d2b_dev_listens_on_loopback_and_warns_otherwise(
    d2b_home, monkeypatch, capsys, extra, host, warned
):
    from dagster_project import cli

    launched: list[list[str]] = []
    monkeypatch.setattr(cli, "run_dagster_dev", launched.append)
    cli.main(["dev", *extra])
    assert cli._dagster_host(launched[0]) == host
    assert ("warning: the Dagster UI has no sign-in" in capsys.readouterr().err) == warned


# --- the app's sign-in gate (AppTest, as the identity provider's user) ---------------------

APP = str(Path(__file__).parent.parent / "dashboards" / "app.py")
AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-test-cookie-secret-of-sufficient-length",
        "client_id": "d2b",
        "client_secret": "a-test-client-secret",
        "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
    }
}


@pytest.fixture
def signed_in_app(sample_run, monkeypatch, tmp_path):
    """A function running the app on the sample firm as ``user`` (None: signed out)."""
    monkeypatch.delenv("D2B_DASHBOARD_DEMO")
    monkeypatch.setenv("D2B_HOME", str(sample_run.warehouse.parent))
    for name in ("D2B_LANDING", "D2B_WAREHOUSE", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("D2B_ACCESS_FILE", str(tmp_path / "access.toml"))

    def run(user: dict | None, access: str = "", page: str | None = None) -> AppTest:
        (tmp_path / "access.toml").write_text(access)
        app = AppTest.from_file(APP, default_timeout=120)
        app.secrets.update(AUTH)
        app.user = {"is_logged_in": user is not None, **(user or {})}
        app.run()
        if page is not None:
            app.switch_page(page)
            app.run()
        assert not app.exception, app.exception
        return app

    return run


def test_without_sign_in_no_page_shows_data(signed_in_app, monkeypatch):
    app = signed_in_app(None)
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.metric and not app.dataframe
    unconfigured = AppTest.from_file(APP, default_timeout=60)
    unconfigured.run()
    assert "Sign-in is not configured" in unconfigured.error[0].value
    assert not unconfigured.metric and not unconfigured.dataframe


def test_a_signed_in_regional_lead_sees_their_regions_figures(signed_in_app, sql):
    region = _regions(sql)[0]
    access = (
        '[[grant]]\nrole = "regional_lead"\nemails = ["lead@firm.example"]\n'
        f'regions = ["{region}"]\n'
    )
    app = signed_in_app({"email": "lead@firm.example", "sub": "1"}, access)
    ((wip,),) = sql(
        "select sum(w.unbilled_value_reporting) from marts.unbilled_approved_hours w "
        "join marts.dim_contracts c using (contract_id) "
        "join marts.dim_legal_entities e using (legal_entity) where e.region = ?",
        [region],
    )
    shown = {m.label: m.value for m in app.metric}
    assert shown["WIP value (USD)"] == fmt.money(wip)
    assert f"Signed in as lead@firm.example (regions: {region})" in [
        c.value for c in app.sidebar.caption
    ]
    # a user no grant names signs in and sees no figure
    stranger = signed_in_app({"email": "who@firm.example", "sub": "2"}, access)
    shown = {m.label: m.value for m in stranger.metric}
    assert (shown["WIP value"], shown["Recognized revenue"], shown["Utilization"]) == (
        "0",
        "0",
        "–",
    )


def test_every_page_runs_in_every_scope(signed_in_app, sql):
    from dashboards.navigation import PAGE_SPECS

    ((client,),) = sql("select min(client_name) from marts.dim_clients")
    ((entity, region),) = sql("select min(legal_entity), min(region) from marts.dim_legal_entities")
    ((practice,),) = sql("select min(practice) from marts.dim_resources")
    access = (
        f'[[grant]]\nrole = "delivery_lead"\nemails = ["dl@firm.example"]\nclients = ["{client}"]\n'
        f'[[grant]]\nrole = "entity_finance"\nemails = ["ef@firm.example"]\n'
        f'legal_entities = ["{entity}"]\n'
        f'[[grant]]\nrole = "analyst"\nemails = ["an@firm.example"]\nregions = ["{region}"]\n'
        f'[[grant]]\nrole = "delivery_lead"\nemails = ["pl@firm.example"]\n'
        f'practices = ["{practice}"]\n'
    )
    emails = ("dl@firm.example", "pl@firm.example", "ef@firm.example", "an@firm.example")
    for email in (*emails, "who@firm.example"):
        for spec in PAGE_SPECS:
            app = signed_in_app({"email": email, "sub": email}, access, page=spec.script)
            assert not app.exception, (email, spec.url_path)

"""Every ``D2B_*`` environment variable, in one typed tree read at run time.

:meth:`Settings.from_env` reads the environment when it is called, never at import time, so
tests, Dagster resources and child processes can each resolve their own. Each field of the
tree is declared with :func:`_variable`: its variable's name, default and meaning live in the
field's metadata, and ``d2b --help``, the README's Settings table (``tests/test_settings.py``
keeps it in step) and the defaults applied here are all read from there.

Every path derives from one home directory (``D2B_HOME``) unless a more specific variable
points elsewhere: a default written ``$D2B_HOME/...`` is resolved against the home. An empty
variable counts as unset. Secrets (:attr:`Variable.secret`) are redacted in ``repr``, and so
are credentials inside any other value that is a URL (:func:`d2b.redaction.redact_url`).

The default warehouse path and memory limit are mirrored in ``dbt_project/profiles.yml``
(dbt reads the same variables); ``tests/test_settings.py`` keeps them in step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from d2b.redaction import redact_url

#: Metadata key of a settings field's :class:`Variable`.
_VARIABLE = "d2b_variable"
_HOME = "$D2B_HOME"


class SettingError(ValueError):
    """A ``D2B_*`` variable holds a value the setting cannot take (a user's mistake)."""


def _path(value: str) -> Path:
    return Path(value).expanduser().absolute()


def _optional_path(value: str) -> Path | None:
    return _path(value) if value else None


def _text(value: str) -> str:
    return value


def _optional_text(value: str) -> str | None:
    return value or None


def _flag(value: str) -> bool:
    return value == "true"


def _scale(value: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        scale = -1.0
    if not scale >= 0:  # also rejects nan
        raise ValueError(f"must be a number of at least 0, not {value!r}")
    return scale


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, default (as documented) and meaning."""

    name: str
    default: str
    meaning: str
    parse: Callable[[str], Any] = _text
    choices: tuple[str, ...] = ()
    secret: bool = False

    def resolve(self, environ: Mapping[str, str], home: Path | None) -> Any:
        """The value in ``environ``, else the default (``$D2B_HOME`` resolved)."""
        raw = environ.get(self.name) or self.default
        if home is not None and raw.startswith(_HOME):
            raw = str(home) + raw[len(_HOME) :]
        if self.choices:
            raw = raw.lower()
            if raw not in self.choices:
                raise SettingError(f"{self.name} must be one of {self.choices}, not {raw!r}")
        try:
            return self.parse(raw)
        except ValueError as error:
            raise SettingError(f"{self.name} {error}") from None


def _variable(
    name: str,
    default: str,
    meaning: str,
    *,
    parse: Callable[[str], Any] = _text,
    choices: tuple[str, ...] = (),
    secret: bool = False,
) -> Any:
    """A settings field read from environment variable ``name``."""
    return field(metadata={_VARIABLE: Variable(name, default, meaning, parse, choices, secret)})


class _Node:
    """A group of settings: resolved field by field from the environment."""

    @classmethod
    def _resolve(cls, environ: Mapping[str, str], home: Path | None) -> Any:
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            variable = f.metadata.get(_VARIABLE)
            if variable is not None:
                values[f.name] = variable.resolve(environ, home)
        return cls(**values)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            variable = f.metadata.get(_VARIABLE)
            if variable and variable.secret and value:
                shown = "'<redacted>'"
            else:
                shown = repr(redact_url(value) if isinstance(value, str) else value)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class DbtSettings(_Node):
    """The dbt build (``dbt_project/profiles.yml`` reads these variables itself)."""

    duckdb_memory_limit: str = _variable(
        "D2B_DUCKDB_MEMORY_LIMIT",
        "4GB",
        "DuckDB's memory limit for dbt builds; past it, DuckDB spills to disk beside the warehouse",
    )
    engine: str = _variable(
        "D2B_ENGINE",
        "duckdb",
        "the engine dbt builds the models on: `duckdb` (the warehouse file), `postgres` (the "
        "`D2B_POSTGRES_*` server; raw tables are copied there after ingest, docs/scale.md) or "
        "`spark` (the `D2B_SPARK_*` Thrift server; raw tables go there as a Parquet lake)",
        choices=("duckdb", "postgres", "spark"),
    )
    postgres_host: str = _variable(
        "D2B_POSTGRES_HOST", "127.0.0.1", "PostgreSQL host of the `postgres` engine"
    )
    postgres_port: str = _variable(
        "D2B_POSTGRES_PORT", "5432", "PostgreSQL port of the `postgres` engine"
    )
    postgres_database: str = _variable(
        "D2B_POSTGRES_DATABASE", "d2b", "PostgreSQL database of the `postgres` engine"
    )
    postgres_user: str = _variable(
        "D2B_POSTGRES_USER", "d2b", "PostgreSQL user of the `postgres` engine"
    )
    postgres_password: str | None = _variable(
        "D2B_POSTGRES_PASSWORD",
        "",
        "PostgreSQL password of the `postgres` engine (empty: none, e.g. trust or a "
        "`.pgpass`); never logged",
        parse=_optional_text,
        secret=True,
    )

    spark_host: str = _variable(
        "D2B_SPARK_HOST", "127.0.0.1", "Spark Thrift server host of the `spark` engine"
    )
    spark_port: str = _variable(
        "D2B_SPARK_PORT",
        "10000",
        "Spark Thrift server port of the `spark` engine (also where `d2b services start spark` "
        "listens)",
    )
    lake: Path = _variable(
        "D2B_LAKE",
        "$D2B_HOME/lake",
        "the Parquet lake the `spark` engine reads its source tables from "
        "(`<lake>/<schema>/<table>/`); the Thrift server must see it at the same path",
        parse=_path,
    )

    def require_duckdb_marts(self, reader: str) -> None:
        """Refuse ``reader``, a step reading the DuckDB warehouse's marts, on another engine.

        The marts there would be stale or absent (docs/scale.md, "Not yet").
        """
        if self.engine != "duckdb":
            raise ValueError(
                f"{reader} reads the DuckDB warehouse's marts, which D2B_ENGINE={self.engine} "
                "does not build (docs/scale.md)"
            )

    def postgres_connection(self) -> dict[str, Any]:
        """Connection keywords of the `postgres` engine's server (psycopg2's and dbt's)."""
        connection = {
            "host": self.postgres_host,
            "port": int(self.postgres_port),
            "dbname": self.postgres_database,
            "user": self.postgres_user,
        }
        if self.postgres_password:
            connection["password"] = self.postgres_password
        return connection


@dataclass(frozen=True, repr=False)
class BillingSettings(_Node):
    """Billing periods."""

    start: str = _variable(
        "D2B_BILLING_START",
        "2025-01-01",
        "first monthly billing-period partition (backfills start here)",
    )
    store: Path = _variable(
        "D2B_BILLING_STORE",
        "$D2B_HOME/billing/billing.duckdb",
        "the durable billing store: outbox, audit log, ERP read-back (back it up; see docs/erp.md)",
        parse=_path,
    )
    backoff_scale: float = _variable(
        "D2B_BILLING_BACKOFF_SCALE",
        "1",
        "multiplies every wait between the billing run's retries (the ERP send's 2 s doubling, "
        "a failed billing step's 10 s doubling); `1` in production, near `0` in tests",
        parse=_scale,
    )


@dataclass(frozen=True, repr=False)
class AlertSettings(_Node):
    """Where run-failure alerts go besides the log."""

    webhook_url: str | None = _variable(
        "D2B_ALERT_WEBHOOK_URL",
        "",
        "when set, every failed run's alert is also POSTed there as JSON (may carry a token: "
        "never logged)",
        parse=_optional_text,
        secret=True,
    )


@dataclass(frozen=True, repr=False)
class ErpEnvironment(_Node):
    """The ERP the billing run writes to (docs/erp.md; :mod:`erp.settings` builds on it)."""

    adapter: str = _variable(
        "D2B_ERP_ADAPTER",
        "tryton",
        "ERP the billing run writes to: `tryton` (embedded SQLite under `$D2B_HOME/erp`, or a "
        "server) or `filedrop` (CSV per batch)",
        choices=("tryton", "filedrop"),
    )
    database_uri: str | None = _variable(
        "D2B_ERP_DATABASE_URI",
        "",
        "Tryton database: empty for embedded SQLite under `$D2B_HOME/erp`, or "
        "`postgresql://user@host:port/dbname`",
        parse=_optional_text,
        secret=True,  # a PostgreSQL URI may carry a password
    )
    xmlrpc_url: str | None = _variable(
        "D2B_ERP_XMLRPC_URL",
        "",
        "a trytond server, e.g. `https://host:8000/<db>/rpc/` (wins over the URI); a user and "
        "password in it are used to log in and never kept in the URL",
        parse=_optional_text,
    )
    user: str = _variable("D2B_ERP_USER", "admin", "ERP login")
    password: str | None = _variable(
        "D2B_ERP_PASSWORD",
        "",
        "ERP password (XML-RPC; set at bootstrap if given); never logged",
        parse=_optional_text,
        secret=True,
    )
    template_dir: Path | None = _variable(
        "D2B_ERP_TEMPLATE_DIR",
        "",
        "cache of bootstrapped empty Tryton databases; unset: `templates/` in the embedded "
        "ERP's directory (`$D2B_HOME/erp`)",
        parse=_optional_path,
    )
    filedrop_dir: Path = _variable(
        "D2B_ERP_FILEDROP_DIR",
        "$D2B_HOME/erp/filedrop",
        "the file-drop adapter's root",
        parse=_path,
    )
    allow_plain_http: bool = _variable(
        "D2B_ERP_ALLOW_PLAIN_HTTP",
        "false",
        "`true` lets the ERP password travel over plain `http://` to a server other than this "
        "machine (a trusted network only); otherwise such a server needs `https://`",
        parse=_flag,
        choices=("false", "true"),
    )


@dataclass(frozen=True, repr=False)
class DashboardSettings(_Node):
    """Sign-in and entitlements of the dashboards (docs/access.md)."""

    access_file: Path = _variable(
        "D2B_ACCESS_FILE",
        "$D2B_HOME/access.toml",
        "the firm's grants: which IdP groups or e-mails see which regions, legal entities or "
        "clients (no file: nobody signed in sees data)",
        parse=_path,
    )
    demo: bool = _variable(
        "D2B_DASHBOARD_DEMO",
        "false",
        "`true` runs the dashboards without sign-in as one local executive, on loopback only "
        "(`d2b dashboard --demo`)",
        parse=_flag,
        choices=("false", "true"),
    )
    secrets_file: Path | None = _variable(
        "D2B_DASHBOARD_SECRETS",
        "",
        "a Streamlit secrets file whose `[auth]` section configures sign-in (instead of the "
        "`D2B_OIDC_*` variables)",
        parse=_optional_path,
    )
    oidc_metadata_url: str | None = _variable(
        "D2B_OIDC_METADATA_URL",
        "",
        "the identity provider's OpenID metadata URL (`.../.well-known/openid-configuration`)",
        parse=_optional_text,
    )
    oidc_client_id: str | None = _variable(
        "D2B_OIDC_CLIENT_ID",
        "",
        "the dashboards' client id at the identity provider",
        parse=_optional_text,
    )
    oidc_client_secret: str | None = _variable(
        "D2B_OIDC_CLIENT_SECRET",
        "",
        "the dashboards' client secret at the identity provider",
        parse=_optional_text,
        secret=True,
    )
    oidc_cookie_secret: str | None = _variable(
        "D2B_OIDC_COOKIE_SECRET",
        "",
        "a long random string signing the sign-in cookie",
        parse=_optional_text,
        secret=True,
    )
    oidc_redirect_uri: str | None = _variable(
        "D2B_OIDC_REDIRECT_URI",
        "",
        "the URL the provider returns to: the dashboards' public address + `/oauth2callback` "
        "(default `http://localhost:<port>/oauth2callback`)",
        parse=_optional_text,
    )


@dataclass(frozen=True, repr=False)
class Settings(_Node):
    """Where Deliver-to-Bill keeps its state, and every other ``D2B_*`` setting."""

    home: Path = _variable(
        "D2B_HOME",
        "~/.d2b",
        "all state: landing zone, warehouse, ERP database, Dagster instance",
        parse=_path,
    )
    landing: Path = _variable(
        "D2B_LANDING", "$D2B_HOME/landing", "landing zone, `<system>/<entity>/<file>`", parse=_path
    )
    warehouse: Path = _variable(
        "D2B_WAREHOUSE", "$D2B_HOME/warehouse.duckdb", "the DuckDB warehouse file", parse=_path
    )
    dbt: DbtSettings
    billing: BillingSettings
    alerts: AlertSettings
    erp: ErpEnvironment
    dashboard: DashboardSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Resolve every setting from environment variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        home = HOME.resolve(env, None)
        return cls(
            home=home,
            landing=LANDING.resolve(env, home),
            warehouse=WAREHOUSE.resolve(env, home),
            dbt=DbtSettings._resolve(env, home),
            billing=BillingSettings._resolve(env, home),
            alerts=AlertSettings._resolve(env, home),
            erp=ErpEnvironment._resolve(env, home),
            dashboard=DashboardSettings._resolve(env, home),
        )

    @property
    def ground_truth(self) -> Path:
        """Where the generator writes its ground truth: next to, never inside, the landing."""
        return self.landing.parent / "ground_truth"

    @property
    def serving(self) -> Path:
        """Published read-only snapshots for dashboards and analysts (docs/design.md §7)."""
        return self.home / "serving"

    @property
    def dagster_home(self) -> Path:
        """Dagster instance directory (run history, event logs) kept under the home."""
        return self.home / "dagster"

    def environment(self) -> dict[str, str]:
        """The locations as environment variables, for child processes such as dbt."""
        return {
            HOME.name: str(self.home),
            LANDING.name: str(self.landing),
            WAREHOUSE.name: str(self.warehouse),
        }


def _variables_of(node: type) -> Iterator[Variable]:
    for f in fields(node):
        variable = f.metadata.get(_VARIABLE)
        if variable is not None:
            yield variable


HOME, LANDING, WAREHOUSE = _variables_of(Settings)

#: Every variable of the tree, in the order they are documented.
VARIABLES: tuple[Variable, ...] = tuple(
    variable
    for node in (
        Settings,
        DbtSettings,
        BillingSettings,
        AlertSettings,
        ErpEnvironment,
        DashboardSettings,
    )
    for variable in _variables_of(node)
)


def help_text() -> str:
    """The variables as ``d2b --help`` lists them: name, default and meaning."""
    width = max(len(v.name) for v in VARIABLES)
    return "\n".join(
        f"  {v.name:<{width}}  {v.meaning.replace('`', '')} (default: {v.default or 'unset'})"
        for v in VARIABLES
    )


def markdown_table() -> str:
    """The variables as the README's Settings table."""
    rows = [
        f"| `{v.name}` | {f'`{v.default}`' if v.default else 'unset'} | {v.meaning} |"
        for v in VARIABLES
    ]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])

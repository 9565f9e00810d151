"""ERP write-back settings: which adapter, and where the ERP lives (DESIGN §8).

Read from the environment only when :meth:`ErpSettings.from_env` is called, never at import
time. The ERP password is kept out of ``repr`` and logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ingest.settings import Settings

#: Environment variables understood by :meth:`ErpSettings.from_env`, with their meaning.
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "D2B_ERP_ADAPTER": "tryton (default) or filedrop.",
    "D2B_ERP_DATABASE_URI": (
        "Tryton database: empty for embedded SQLite under $D2B_HOME/erp, or a "
        "postgresql://user@host:port/dbname URI."
    ),
    "D2B_ERP_XMLRPC_URL": (
        "URL of a trytond server, e.g. http://host:8000/<db>/ (wins over the URI)."
    ),
    "D2B_ERP_USER": "ERP login (default admin).",
    "D2B_ERP_PASSWORD": "ERP password (XML-RPC only; never logged).",
    "D2B_ERP_TEMPLATE_DIR": (
        "Cache of bootstrapped empty Tryton databases (default $D2B_HOME/erp/templates)."
    ),
    "D2B_ERP_FILEDROP_DIR": "File-drop adapter's outbox root (default $D2B_HOME/erp/filedrop).",
}


@dataclass(frozen=True)
class TaxSpec:
    """An ERP tax created at bootstrap for a warehouse tax code."""

    code: str
    rate: Decimal
    description: str


#: Tax codes of the warehouse's tax rules seed (DESIGN §3) and the ERP tax each maps to.
#: Codes the ERP lacks are business errors, so a new code is configured before it is billed.
DEFAULT_TAXES: tuple[TaxSpec, ...] = (
    TaxSpec("US-EXEMPT", Decimal("0"), "US services, not taxable"),
    TaxSpec("US-NY-SVC", Decimal("0.08875"), "New York City sales tax on taxable services"),
    TaxSpec("GB-VAT-STD", Decimal("0.20"), "UK VAT standard rate"),
    TaxSpec("GB-VAT-ZERO", Decimal("0"), "UK VAT zero rate"),
    TaxSpec("EU-VAT-RC", Decimal("0"), "EU VAT reverse charge (Art. 196)"),
    TaxSpec("DE-VAT-STD", Decimal("0.19"), "German VAT standard rate"),
    TaxSpec("FR-VAT-STD", Decimal("0.20"), "French VAT standard rate"),
    TaxSpec("CA-GST", Decimal("0.05"), "Canada GST"),
    TaxSpec("CA-ON-HST", Decimal("0.13"), "Ontario HST"),
)

#: Currencies the ERP knows, with a placeholder rate against the company currency (USD).
#: The warehouse's dated FX table is the reporting truth; these only let Tryton post moves.
DEFAULT_CURRENCIES: tuple[tuple[str, Decimal], ...] = (
    ("USD", Decimal("1")),
    ("EUR", Decimal("0.92")),
    ("GBP", Decimal("0.79")),
    ("CAD", Decimal("1.36")),
)


@dataclass(frozen=True)
class TrytonSettings:
    """Where the Tryton ERP is and how its embedded copy is bootstrapped.

    Exactly one mode applies: ``xmlrpc_url`` (a trytond server; the database must already be
    set up), else ``postgres_uri`` (trytond embedded in this process on PostgreSQL), else
    embedded SQLite: ``<database_dir>/<database_name>.sqlite``, bootstrapped on first use
    from a cached template under ``template_dir``.
    """

    database_dir: Path | None = None
    database_name: str = "d2b_erp"
    xmlrpc_url: str | None = None
    postgres_uri: str | None = None
    user: str = "admin"
    password: str | None = field(default=None, repr=False)
    template_dir: Path | None = None
    company_name: str = "Deliver-to-Bill Group"
    company_currency: str = "USD"
    currencies: tuple[tuple[str, Decimal], ...] = DEFAULT_CURRENCIES
    taxes: tuple[TaxSpec, ...] = DEFAULT_TAXES
    #: Fiscal years created at bootstrap; other years are created when first invoiced.
    fiscal_years: tuple[int, ...] = (2025, 2026, 2027)

    @property
    def mode(self) -> str:
        """``xmlrpc``, ``postgresql`` or ``sqlite``."""
        if self.xmlrpc_url:
            return "xmlrpc"
        if self.postgres_uri:
            return "postgresql"
        return "sqlite"

    @property
    def database_file(self) -> Path:
        """The embedded SQLite database file."""
        if self.database_dir is None:
            raise ValueError("embedded SQLite needs a database_dir")
        return self.database_dir / f"{self.database_name}.sqlite"

    @property
    def templates(self) -> Path:
        """Directory caching bootstrapped template databases."""
        if self.template_dir is not None:
            return self.template_dir
        if self.database_dir is None:
            raise ValueError("embedded SQLite needs a database_dir")
        return self.database_dir / "templates"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TrytonSettings:
        """Resolve from ``D2B_HOME`` and ``D2B_ERP_*`` (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        home = Settings.from_env(env).home
        uri = env.get("D2B_ERP_DATABASE_URI") or None
        postgres_uri = None
        name = "d2b_erp"
        if uri:
            if not uri.startswith(("postgresql://", "postgres://")):
                raise ValueError("D2B_ERP_DATABASE_URI must be a postgresql:// URI")
            postgres_uri = uri
            name = uri.rsplit("/", 1)[-1].split("?", 1)[0] or name
        template = env.get("D2B_ERP_TEMPLATE_DIR")
        return cls(
            database_dir=home / "erp",
            database_name=name,
            xmlrpc_url=env.get("D2B_ERP_XMLRPC_URL") or None,
            postgres_uri=postgres_uri,
            user=env.get("D2B_ERP_USER") or "admin",
            password=env.get("D2B_ERP_PASSWORD") or None,
            template_dir=Path(template).expanduser().absolute() if template else None,
        )


@dataclass(frozen=True)
class ErpSettings:
    """Which adapter to use and its settings."""

    adapter: str = "tryton"
    tryton: TrytonSettings = field(default_factory=TrytonSettings)
    filedrop_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ErpSettings:
        """Resolve from ``D2B_HOME`` and ``D2B_ERP_*`` (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        adapter = (env.get("D2B_ERP_ADAPTER") or "tryton").lower()
        if adapter not in {"tryton", "filedrop"}:
            raise ValueError(f"D2B_ERP_ADAPTER must be tryton or filedrop, not {adapter!r}")
        home = Settings.from_env(env).home
        filedrop = env.get("D2B_ERP_FILEDROP_DIR")
        return cls(
            adapter=adapter,
            tryton=TrytonSettings.from_env(env),
            filedrop_dir=(
                Path(filedrop).expanduser().absolute() if filedrop else home / "erp" / "filedrop"
            ),
        )

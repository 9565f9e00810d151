"""ERP write-back settings: which adapter, and where the ERP lives (docs/design.md §8).

Built from the ``erp`` branch of the settings tree (:class:`d2b.settings.ErpEnvironment`, every
``D2B_ERP_*`` variable) when :meth:`ErpSettings.from_env` is called, never at import time. The
ERP password is kept out of ``repr`` and logs: a user and password written into
``D2B_ERP_XMLRPC_URL`` are taken out of the URL here, where it enters, so no error message,
log line or audit row that quotes the URL can carry them; the PostgreSQL URI (which trytond
needs whole) shows redacted.
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from d2b.redaction import redact_url, split_credentials
from d2b.settings import Settings
from ingest.generator.reference import LEGAL_ENTITIES, tax_rule_rows


@dataclass(frozen=True)
class TaxSpec:
    """An ERP tax created at bootstrap for a warehouse tax code."""

    code: str
    rate: Decimal
    description: str


#: ERP taxes beyond the tax rules' (the sample batches of bench.sample and the tests use them).
EXTRA_TAXES: tuple[TaxSpec, ...] = (
    TaxSpec("US-NY-SVC", Decimal("0.08875"), "New York City sales tax on taxable services"),
    TaxSpec("GB-VAT-STD", Decimal("0.20"), "UK VAT standard rate"),
    TaxSpec("GB-VAT-ZERO", Decimal("0"), "UK VAT zero rate"),
    TaxSpec("EU-VAT-RC", Decimal("0"), "EU VAT reverse charge (Art. 196)"),
    TaxSpec("DE-VAT-STD", Decimal("0.19"), "German VAT standard rate"),
    TaxSpec("FR-VAT-STD", Decimal("0.20"), "French VAT standard rate"),
    TaxSpec("CA-ON-HST", Decimal("0.13"), "Ontario HST"),
)


def rule_taxes(rules: Iterable[Mapping[str, str]] | None = None) -> tuple[TaxSpec, ...]:
    """One ERP tax per tax code of the firm's tax rules (config/tax_rules), at the rule's rate.

    ``rules`` defaults to the sample firm's (the embedded ERP is the sample firm's ERP). The
    rules give percentages, the ERP fractions. A code with two rates is an error.
    """
    if rules is None:
        rules = tax_rule_rows()
    rates: dict[str, Decimal] = {}
    for row in rules:
        rate = Decimal(row["tax_rate"]) / 100
        if rates.setdefault(row["tax_code"], rate) != rate:
            raise ValueError(f"tax code {row['tax_code']} has two rates")
    return tuple(
        TaxSpec(code, rate.normalize(), f"{code} (tax rules)")
        for code, rate in sorted(rates.items())
    )


#: The taxes the ERP is bootstrapped with: every tax rule's code, so each billing line's tax code
#: maps to an ERP tax that computes the amount the warehouse expects; codes the ERP lacks are
#: business errors (dead letters), so a new code is configured before it is billed.
def firm_taxes(rules: Iterable[Mapping[str, str]] | None = None) -> tuple[TaxSpec, ...]:
    """The firm's rule taxes (:func:`rule_taxes`), then the extra ones its rules lack."""
    taxes = rule_taxes(rules)
    return taxes + tuple(t for t in EXTRA_TAXES if t.code not in {s.code for s in taxes})


DEFAULT_TAXES: tuple[TaxSpec, ...] = firm_taxes()


@dataclass(frozen=True)
class EntitySpec:
    """A legal entity the ERP keeps a company of its own for (config/legal_entities).

    Its company has the entity's functional currency, its own chart of accounts, fiscal years
    and taxes; every invoice of the entity's batches is that company's.
    """

    code: str
    name: str
    currency: str


def firm_entities(rows: Iterable[Mapping[str, str]] | None = None) -> tuple[EntitySpec, ...]:
    """One ERP company per row of the firm's legal entities (config/legal_entities columns).

    ``rows`` defaults to the sample firm's. A code given twice is an error.
    """
    if rows is None:
        rows = [
            {"legal_entity": e.code, "legal_entity_name": e.name, "currency": e.currency}
            for e in LEGAL_ENTITIES
        ]
    entities: dict[str, EntitySpec] = {}
    for row in rows:
        code = row["legal_entity"]
        if code in entities:
            raise ValueError(f"legal entity {code} is configured twice")
        entities[code] = EntitySpec(code, row["legal_entity_name"], row["currency"])
    if not entities:
        raise ValueError("no legal entity configured: the ERP needs one company per entity")
    return tuple(entities.values())


def newest_config_rows(landing: Path, entity: str) -> list[dict[str, str]] | None:
    """Rows of the newest ``config/<entity>/<entity>_<date>.csv`` in ``landing``; None if none.

    File names sort by their date (docs/sources.md, "config"), so the last name is in force.
    """
    files = sorted((landing / "config" / entity).glob(f"{entity}_*.csv"))
    if not files:
        return None
    with files[-1].open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


#: The sample firm's legal entities: the embedded ERP's companies when the landing zone has no
#: config/legal_entities yet.
DEFAULT_ENTITIES: tuple[EntitySpec, ...] = firm_entities()

#: Currencies the ERP knows (every legal entity's, config/legal_entities), with a
#: placeholder rate against the company currency (USD). The warehouse's dated FX table is the
#: reporting truth; these only let Tryton post moves.
DEFAULT_CURRENCIES: tuple[tuple[str, Decimal], ...] = (
    ("USD", Decimal("1")),
    ("EUR", Decimal("0.92")),
    ("GBP", Decimal("0.79")),
    ("CAD", Decimal("1.36")),
    ("SGD", Decimal("1.35")),
    ("AUD", Decimal("1.52")),
)


@dataclass(frozen=True, repr=False)
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
    #: One company per legal entity, created at bootstrap and on connect when missing.
    entities: tuple[EntitySpec, ...] = DEFAULT_ENTITIES
    currencies: tuple[tuple[str, Decimal], ...] = DEFAULT_CURRENCIES
    taxes: tuple[TaxSpec, ...] = DEFAULT_TAXES
    #: Fiscal years created at bootstrap; other years are created when first invoiced.
    fiscal_years: tuple[int, ...] = (2025, 2026, 2027)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "password":
                value = "<redacted>" if value else value
            elif isinstance(value, str):
                value = redact_url(value)
            shown.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

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
        settings = Settings.from_env(environ)
        erp = settings.erp
        uri = erp.database_uri
        postgres_uri = None
        name = "d2b_erp"
        if uri:
            if not uri.startswith(("postgresql://", "postgres://")):
                raise ValueError("D2B_ERP_DATABASE_URI must be a postgresql:// URI")
            postgres_uri = uri
            name = uri.rsplit("/", 1)[-1].split("?", 1)[0] or name
        xmlrpc_url, user, password = erp.xmlrpc_url, erp.user, erp.password
        if xmlrpc_url:
            xmlrpc_url, url_user, url_password = split_credentials(xmlrpc_url)
            if url_password and password and url_password != password:
                raise ValueError(
                    "D2B_ERP_XMLRPC_URL and D2B_ERP_PASSWORD give two different passwords"
                )
            user, password = url_user or user, password or url_password
            if password and not erp.allow_plain_http:
                _refuse_plain_http(xmlrpc_url)
        # The firm's companies and taxes: its landed configuration, else the sample firm's.
        entity_rows = newest_config_rows(settings.landing, "legal_entities")
        rule_rows = newest_config_rows(settings.landing, "tax_rules")
        return cls(
            entities=firm_entities(entity_rows),
            taxes=firm_taxes(rule_rows),
            database_dir=settings.home / "erp",
            database_name=name,
            xmlrpc_url=xmlrpc_url,
            postgres_uri=postgres_uri,
            user=user,
            password=password,
            template_dir=erp.template_dir,
        )


def _refuse_plain_http(url: str) -> None:
    """Raise unless ``url`` keeps a password off the network: https, or this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" or _is_loopback(parts.hostname or ""):
        return
    raise ValueError(
        f"D2B_ERP_XMLRPC_URL would send the ERP password in clear to {parts.hostname}: use "
        "https://, or set D2B_ERP_ALLOW_PLAIN_HTTP=true on a trusted network"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ErpSettings:
    """Which adapter to use and its settings."""

    adapter: str = "tryton"
    tryton: TrytonSettings = field(default_factory=TrytonSettings)
    filedrop_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ErpSettings:
        """Resolve from ``D2B_HOME`` and ``D2B_ERP_*`` (``os.environ`` by default)."""
        erp = Settings.from_env(environ).erp
        return cls(
            adapter=erp.adapter,
            tryton=TrytonSettings.from_env(environ),
            filedrop_dir=erp.filedrop_dir,
        )

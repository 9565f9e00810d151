"""Embedded Tryton: process-wide trytond configuration and the idempotent bootstrap.

trytond keeps its configuration and backend in module globals: the backend (SQLite or
PostgreSQL) is fixed when ``trytond.backend`` is first imported, and the SQLite directory is
read from the configuration whenever a connection opens. Hence one backend per process, and
embedded SQLite databases told apart by name (see :func:`configure_embedded`).

Bootstrapping a database takes about 16 s for one legal entity's company (creation, module
activation, company, chart of accounts, fiscal years, taxes) and some seconds more per further
company, so the result is cached as a template file keyed by a hash of everything that shapes
it, and a new database is a copy of the template (well under a second). The steps follow
trytond's own test tools (``modules/company/tests/tools.py``,
``modules/account/tests/tools.py``, ``modules/account_invoice/tests/tools.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import shutil
import sqlite3
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from d2b.files import partial_path, remove_orphaned_partials
from erp.keys import canonical_json
from erp.model import currency_digits
from erp.settings import TrytonSettings

logger = logging.getLogger(__name__)

#: Modules the write-back needs; project_invoice brings project and timesheet.
MODULES = ("account_invoice", "project_invoice")
#: Bump when the bootstrap steps change, so cached templates are rebuilt.
BOOTSTRAP_VERSION = 4
#: Product code prefix of the service products the write-back creates.
PRODUCT_PREFIX = "D2B"

_lock = threading.RLock()
_sqlite_names: dict[str, Path] = {}


def _backend_uri(settings: TrytonSettings) -> str:
    if settings.mode == "postgresql":
        # trytond wants the server URI without a database: the name is passed per connection.
        parsed = urllib.parse.urlparse(settings.postgres_uri)
        return urllib.parse.urlunparse(parsed._replace(path="/", query=""))
    return "sqlite://"


def configure_embedded(settings: TrytonSettings) -> None:
    """Point this process's trytond at ``settings``' database (SQLite dir or PostgreSQL).

    Raises ValueError when trytond is already bound to another backend in this process, or
    when another directory already uses the same SQLite database name.
    """
    import trytond.config as tconfig

    uri = _backend_uri(settings)
    scheme = urllib.parse.urlparse(uri).scheme
    with _lock:
        if "trytond.backend" in sys.modules:
            from trytond import backend

            if backend.name != scheme:
                raise ValueError(
                    f"trytond in this process already runs on {backend.name}; "
                    f"one ERP backend per process (asked for {scheme})"
                )
        tconfig.set("database", "uri", uri)
        if settings.mode == "sqlite":
            directory = settings.database_file.parent.absolute()
            known = _sqlite_names.get(settings.database_name)
            if known is not None and known != directory:
                raise ValueError(
                    f"SQLite database name {settings.database_name!r} is already open from "
                    f"{known} in this process; use distinct names per directory"
                )
            _sqlite_names[settings.database_name] = directory
            directory.mkdir(parents=True, exist_ok=True)
            tconfig.set("database", "path", str(directory))


@contextlib.contextmanager
def _sqlite_dir(directory: Path) -> Iterator[None]:
    """Temporarily point trytond's SQLite directory elsewhere (template building)."""
    import trytond.config as tconfig

    previous = tconfig.get("database", "path")
    tconfig.set("database", "path", str(directory))
    try:
        yield
    finally:
        tconfig.set("database", "path", previous)


def proteus_config(database_name: str, user: str) -> Any:
    """A proteus config running trytond in this process on ``database_name``.

    proteus writes ``TRYTOND_DATABASE_URI`` into the environment; restore it so child
    processes (tests, dbt) do not inherit a half URI.
    """
    from proteus.config import TrytondConfig

    saved = os.environ.get("TRYTOND_DATABASE_URI")
    try:
        return TrytondConfig(database=database_name, user=user)
    finally:
        if saved is None:
            os.environ.pop("TRYTOND_DATABASE_URI", None)
        else:
            os.environ["TRYTOND_DATABASE_URI"] = saved


def template_hash(settings: TrytonSettings) -> str:
    """Hash of everything that shapes a bootstrapped database (cache key of the template)."""
    import trytond

    spec = {
        "version": BOOTSTRAP_VERSION,
        "trytond": trytond.__version__,
        "modules": MODULES,
        "user": settings.user,
        "companies": [[e.code, e.name, e.currency] for e in settings.entities],
        "currencies": settings.currencies,
        "taxes": [[t.code, t.rate, t.description] for t in settings.taxes],
        "fiscal_years": settings.fiscal_years,
    }
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]


def ensure_sqlite_database(settings: TrytonSettings) -> bool:
    """Make sure the embedded SQLite database exists and is bootstrapped.

    Returns True when it had to be created. The file appears atomically (copy to a temporary
    name, then rename), so an existing file is always a complete database.
    """
    target = settings.database_file
    remove_leftovers(settings)
    if target.exists():
        return False
    with _lock:
        if target.exists():
            return False
        template = _ensure_template(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(target)
        _sqlite_backup(template, partial)
        os.replace(partial, target)
        logger.info("ERP database %s created from template %s", target, template.name)
        return True


#: A template build's database file (named after its process), with SQLite's side files.
_TEMPLATE_BUILD = re.compile(r"^d2b_erp_build_\w+_(?P<pid>\d+)\.sqlite(?:-wal|-shm|-journal)?$")


def remove_leftovers(settings: TrytonSettings) -> list[Path]:
    """Delete what killed bootstraps and copies left behind; return the files removed.

    Partial database and template copies and template builds go when their process is gone;
    a live process's files are kept.
    """
    removed = remove_orphaned_partials(settings.database_file.parent)
    removed += remove_orphaned_partials(settings.templates)
    removed += remove_orphaned_partials(settings.templates, _TEMPLATE_BUILD)
    for path in removed:
        logger.info("removed %s, left by an interrupted ERP bootstrap", path)
    return removed


def _sqlite_backup(source: Path, destination: Path) -> None:
    # The backup API copies a consistent snapshot, WAL content included (a plain file copy
    # of a WAL-mode database may miss committed pages).
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(destination)) as dst,
    ):
        src.backup(dst)


def _ensure_template(settings: TrytonSettings) -> Path:
    directory = settings.templates
    directory.mkdir(parents=True, exist_ok=True)
    digest = template_hash(settings)
    template = directory / f"d2b_erp_template_{digest}.sqlite"
    if template.exists():
        return template
    # Build under a unique database name in the template directory, then publish by rename:
    # a killed bootstrap leaves only a stray build file, never a half template.
    name = f"d2b_erp_build_{digest}_{os.getpid()}"
    build = directory / f"{name}.sqlite"
    started = dt.datetime.now()
    with _sqlite_dir(directory):
        try:
            bootstrap_database(settings, name)
        except BaseException:
            build.unlink(missing_ok=True)
            raise
    partial = partial_path(template)
    _sqlite_backup(build, partial)
    os.replace(partial, template)
    build.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(build) + suffix).unlink(missing_ok=True)
    logger.info(
        "ERP template %s bootstrapped in %.1fs",
        template.name,
        (dt.datetime.now() - started).total_seconds(),
    )
    return template


def bootstrap_database(settings: TrytonSettings, database_name: str) -> None:
    """Create and set up a Tryton database from scratch (about 16 s).

    Creates the database, activates :data:`MODULES`, creates the admin user, currencies with
    placeholder rates, the account category of service products, and one company per legal
    entity (:func:`ensure_companies`: currency, a minimal chart of accounts from Tryton's
    generic template, per-line tax rounding, fiscal years with monthly periods and invoice
    sequences, one tax per configured tax code). Parties, products and payment terms are
    created on demand by the adapter.
    """
    _create_database(settings, database_name)
    cfg = proteus_config(database_name, settings.user)
    _activate_modules(cfg)
    _setup_shared(settings, cfg)
    ensure_companies(settings, cfg)


def _create_database(settings: TrytonSettings, name: str) -> None:
    from sql import Table
    from trytond import backend
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    database = backend.Database()
    database.connect()
    connection = database.get_connection(autocommit=True)
    try:
        # On SQLite this creates the file, which must exist before the schema is initialised.
        database.create(connection, name)
    finally:
        database.put_connection(connection)
        database.close()
    database = backend.Database(name)
    connection = database.get_connection()
    try:
        with connection.cursor() as cursor:
            database.init()
            ir_configuration = Table("ir_configuration")
            cursor.execute(*ir_configuration.insert([ir_configuration.language], [["en"]]))
        connection.commit()
    finally:
        database.put_connection(connection)
    pool = Pool(name)
    pool.init(update=["res", "ir"], lang=["en"])
    with Transaction().start(name, 0):
        # Creating a database from code does not create its admin user (docs/stack-notes.md).
        User = pool.get("res.user")
        Lang = pool.get("ir.lang")
        (language,) = Lang.search([("code", "=", "en")])
        language.translatable = True
        language.save()
        values = {
            "login": settings.user,
            "name": "Administrator",
            "administrator": True,
            "language": language.id,
        }
        if settings.password:
            values["password"] = settings.password
        User.create([values])
        pool.get("ir.module").update_list()


def _activate_modules(cfg: Any) -> None:
    from proteus import Model, Wizard

    Module = Model.get("ir.module", config=cfg)
    records = Module.find([("name", "in", list(MODULES))])
    if len(records) != len(MODULES):
        raise RuntimeError(f"Tryton modules not installed: {MODULES}")
    Module.click(records, "activate")
    Wizard("ir.module.activate_upgrade", config=cfg).execute("upgrade")


def _setup_shared(settings: TrytonSettings, cfg: Any) -> None:
    """What every company shares: currencies and the service product category."""
    from proteus import Model

    Currency = Model.get("currency.currency", config=cfg)
    CurrencyRate = Model.get("currency.currency.rate", config=cfg)
    for code, rate in settings.currencies:
        digits = currency_digits(code)
        currency = Currency(
            name=code, symbol=code, code=code, rounding=Decimal(1).scaleb(-digits), digits=digits
        )
        currency.save()
        CurrencyRate(date=dt.date(2000, 1, 1), rate=rate, currency=currency).save()
    Category = Model.get("product.category", config=cfg)
    Category(name=f"{PRODUCT_PREFIX} services", accounting=True).save()


def entity_party_code(entity: str) -> str:
    """Party code of the legal entity's company (how the ERP's companies are told apart)."""
    return f"{PRODUCT_PREFIX}-ENTITY-{entity}"


def entity_companies(cfg: Any) -> dict[str, int]:
    """Company id per legal entity code, for the companies the bootstrap made."""
    prefix = entity_party_code("")
    rows = cfg.get_proxy("company.company").search_read(
        [("party.code", "like", f"{prefix}%")], 0, None, None, ["party.code"], cfg.context
    )
    return {row["party."]["code"].removeprefix(prefix): row["id"] for row in rows}


def ensure_companies(settings: TrytonSettings, cfg: Any) -> list[str]:
    """Create the company of every configured legal entity the ERP lacks; return their codes.

    Each new company gets the entity's currency, a chart of accounts, per-line tax rounding,
    the fiscal years of ``settings``, one tax per configured tax code and the service
    category's accounts. The ERP user works for every company.
    """
    from proteus import Model

    existing = entity_companies(cfg)
    missing = [e for e in settings.entities if e.code not in existing]
    if not missing:
        return []
    Party = Model.get("party.party", config=cfg)
    Company = Model.get("company.company", config=cfg)
    Currency = Model.get("currency.currency", config=cfg)
    User = Model.get("res.user", config=cfg)
    currencies = {c.code: c for c in Currency.find([])}
    created = []
    for entity in missing:
        if entity.currency not in currencies:
            raise ValueError(
                f"legal entity {entity.code}'s currency {entity.currency} is not an ERP currency"
            )
        party = Party(name=entity.name, code=entity_party_code(entity.code))
        party.save()
        company = Company(party=party, currency=currencies[entity.currency])
        company.save()
        created.append(company)
    user = User(cfg.user)
    for company in created:
        user.companies.append(Company(company.id))
    # Record rules then let the write-back see every company's invoices (lookup, read-back);
    # a database bootstrapped with one company for all entities gets it here too.
    user.company_filter = "all"
    if user.company is None:
        user.company = Company(created[0].id)
    user.save()
    # The user's companies changed: refresh the context (docs/stack-notes.md).
    cfg._context = User.get_preferences(True, {})
    for company in created:
        with cfg.set_context(company=company.id):
            _setup_company_accounting(settings, cfg, Company(company.id))
    return [e.code for e in missing]


def _setup_company_accounting(settings: TrytonSettings, cfg: Any, company: Any) -> None:
    """Chart, configuration, fiscal years, taxes and category accounts of one company.

    Run in the company's context: Tryton keeps these per company.
    """
    from proteus import Model

    accounts = _create_chart(cfg, company)
    Configuration = Model.get("account.configuration", config=cfg)
    configuration = Configuration(1)
    # The warehouse computes expected tax per line (erp.model.line_tax): make Tryton agree.
    configuration.tax_rounding = "line"
    # Posting an invoice in another currency than the company's books the rounding of the
    # conversion as a currency exchange difference: Tryton refuses to post without accounts.
    configuration.currency_exchange_credit_account = accounts["revenue"]
    configuration.currency_exchange_debit_account = accounts["expense"]
    configuration.save()

    for year in settings.fiscal_years:
        create_fiscal_year(cfg, company, year)

    Tax = Model.get("account.tax", config=cfg)
    for spec in settings.taxes:
        Tax(
            name=spec.code,
            description=spec.description,
            type="percentage",
            rate=spec.rate,
            company=company,
            invoice_account=accounts["tax"],
            credit_note_account=accounts["tax"],
        ).save()

    Category = Model.get("product.category", config=cfg)
    (category,) = Category.find([("name", "=", f"{PRODUCT_PREFIX} services")])
    category.account_revenue = accounts["revenue"]
    category.account_expense = accounts["expense"]
    category.save()


def _create_chart(cfg: Any, company: Any) -> dict[str, Any]:
    from proteus import Model, Wizard

    AccountTemplate = Model.get("account.account.template", config=cfg)
    ModelData = Model.get("ir.model.data", config=cfg)
    template = AccountTemplate(ModelData.get_id("account.account_template_root_en", cfg.context))
    wizard = Wizard("account.create_chart", config=cfg)
    wizard.execute("account")
    wizard.form.account_template = template
    wizard.form.company = company
    wizard.execute("create_account")
    accounts = chart_accounts(cfg, company.id)
    wizard.form.account_receivable = accounts["receivable"]
    wizard.form.account_payable = accounts["payable"]
    wizard.form.category_account_expense = accounts["expense"]
    wizard.form.category_account_revenue = accounts["revenue"]
    wizard.execute("create_properties")
    return accounts


def chart_accounts(cfg: Any, company_id: int) -> dict[str, Any]:
    """The accounts the write-back books to, by role, from Tryton's generic chart."""
    from proteus import Model

    Account = Model.get("account.account", config=cfg)
    accounts = {}
    for kind in ("receivable", "payable", "revenue", "expense"):
        (accounts[kind],) = Account.find(
            [(f"type.{kind}", "=", True), ("company", "=", company_id), ("closed", "!=", True)],
            limit=1,
        )
    # 6.3.6 is the generic chart's tax account ("Taxes" payable), as in Tryton's tests.
    (accounts["tax"],) = Account.find([("company", "=", company_id), ("code", "=", "6.3.6")])
    return accounts


def create_fiscal_year(cfg: Any, company: Any, year: int) -> None:
    """Create a calendar fiscal year with monthly periods and its invoice sequences."""
    from proteus import Model

    FiscalYear = Model.get("account.fiscalyear", config=cfg)
    Sequence = Model.get("ir.sequence.strict", config=cfg)
    SequenceType = Model.get("ir.sequence.type", config=cfg)

    (move_type,) = SequenceType.find([("name", "=", "Account Move")], limit=1)
    (invoice_type,) = SequenceType.find([("name", "=", "Invoice")], limit=1)
    move_sequence = Sequence(name=f"Moves {year}", sequence_type=move_type, company=company)
    move_sequence.save()
    invoice_sequence = Sequence(
        name=f"Invoices {year}", sequence_type=invoice_type, company=company, prefix=f"{year}/"
    )
    invoice_sequence.save()
    fiscal_year = FiscalYear(
        name=str(year),
        start_date=dt.date(year, 1, 1),
        end_date=dt.date(year, 12, 31),
        company=company,
        move_sequence=move_sequence,
    )
    (sequences,) = fiscal_year.invoice_sequences
    sequences.out_invoice_sequence = invoice_sequence
    sequences.out_credit_note_sequence = invoice_sequence
    sequences.in_invoice_sequence = invoice_sequence
    sequences.in_credit_note_sequence = invoice_sequence
    fiscal_year.save()
    fiscal_year.click("create_period")


def remove_sqlite_database(settings: TrytonSettings) -> None:
    """Delete an embedded SQLite database (tests, benchmarks); the template stays."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(settings.database_file) + suffix).unlink(missing_ok=True)


def copy_sqlite_database(source: TrytonSettings, destination: TrytonSettings) -> None:
    """Copy one embedded database to another name or directory (snapshots in tests)."""
    destination.database_file.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(destination.database_file)
    _sqlite_backup(source.database_file, partial)
    shutil.move(partial, destination.database_file)

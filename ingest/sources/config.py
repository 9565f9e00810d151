"""The firm's own configuration, landed like any source: ``config/<entity>/<entity>_<date>.csv``.

A firm's legal entities, tax rules, expense policy, service-level thresholds, business
calendars, (where its ERP has none) FX rates, billing release rules, transfer-pricing rules
and system-of-record routing are its data, not the product's code (docs/sources.md,
"config"). Each file is a full snapshot dated in its name; the newest not after the as-of date
is in force, so a new version replaces the last and the earlier ones stay in ``raw`` as
history. Rows that cannot be read (a rate that
is not a number, an unknown line kind, a repeated key) go to ``quarantine.rejected_rows`` with
their reason like any source's; rules across files (a tax rule for an unknown legal entity) are
checked by the staging models' tests.

FX rates are first the ERP's (``erp/fx_rates``, finance's system of record); the firm's
``config/fx_rates`` supplies the currencies the ERP does not publish (docs/design.md §3).
"""

from __future__ import annotations

from ingest.schema import Column, SourceSchema
from ingest.sources.base import CsvReader, SourceEntity
from ingest.sources.cadence import FIRM_CONFIGURATION

LEGAL_ENTITIES = SourceSchema(
    system="config",
    entity="legal_entities",
    key=("legal_entity",),
    snapshot=True,
    description="The firm's legal entities (contracting and employing companies).",
    columns=(
        Column("legal_entity", "VARCHAR", required=True, description="Entity code (US01)."),
        Column("legal_entity_name", "VARCHAR", required=True, description="Registered name."),
        Column("region", "VARCHAR", required=True, description="Holiday region of its people."),
        Column("country_code", "VARCHAR", required=True, description="ISO-2 country."),
        Column("currency", "VARCHAR", required=True, description="Functional currency."),
        Column("psa_system", "VARCHAR", required=True, description="PSA its people log in."),
    ),
)

TAX_RULES = SourceSchema(
    system="config",
    entity="tax_rules",
    key=("legal_entity", "client_country", "line_kind"),
    snapshot=True,
    description="Tax code and rate per legal entity x client country x line kind.",
    columns=(
        Column("legal_entity", "VARCHAR", required=True),
        Column("client_country", "VARCHAR", required=True),
        Column("line_kind", "VARCHAR", required=True),
        Column("tax_code", "VARCHAR", required=True),
        Column("tax_rate", "DECIMAL(8, 4)", required=True),
    ),
)

EXPENSE_POLICY = SourceSchema(
    system="config",
    entity="expense_policy",
    key=("expense_type_code", "currency"),
    snapshot=True,
    description="Receipt threshold and policy limit per expense type and currency.",
    columns=(
        Column("expense_type_code", "VARCHAR", required=True),
        Column("expense_type_name", "VARCHAR"),
        Column("currency", "VARCHAR", required=True),
        Column("receipt_required_over", "DECIMAL(18, 2)"),
        Column("policy_limit", "DECIMAL(18, 2)"),
        Column("is_rebillable_type", "BOOLEAN", required=True),
    ),
)

#: The thresholds a firm sets (docs/sources.md, config/sla_thresholds), each a whole number.
THRESHOLD_NAMES = (
    "sla_time_approval_business_days",
    "sla_expense_posting_business_days",
    "sla_invoice_release_business_days",
    "timesheet_deadline_business_days",
    "leakage_unbilled_days",
    "daily_hours_limit",
    "history_years",
)

SLA_THRESHOLDS = SourceSchema(
    system="config",
    entity="sla_thresholds",
    key=("threshold",),
    snapshot=True,
    description="Service levels and limits: one row per named threshold.",
    columns=(
        Column("threshold", "VARCHAR", required=True),
        Column("value", "INTEGER", required=True),
        Column("description", "VARCHAR"),
    ),
)

BUSINESS_CALENDARS = SourceSchema(
    system="config",
    entity="business_calendars",
    key=("legal_entity", "non_working_date"),
    snapshot=True,
    # a calendar without non-working dates is a firm's real choice, not a truncated export
    may_be_empty=True,
    description="The non-working dates (public holidays, closures) of each legal entity.",
    columns=(
        Column("legal_entity", "VARCHAR", required=True, description="Entity code (US01)."),
        Column("non_working_date", "DATE", required=True, description="A day it does not work."),
        Column("name", "VARCHAR", description="What the day is (Independence Day)."),
    ),
)

FX_RATES = SourceSchema(
    system="config",
    entity="fx_rates",
    key=("effective_date", "currency"),
    snapshot=True,
    description="Daily FX rates of the currencies the ERP does not publish (base per unit).",
    columns=(
        Column("effective_date", "DATE", required=True, description="Day the rate is for."),
        Column("currency", "VARCHAR", required=True, description="ISO 4217 currency."),
        Column("base_currency", "VARCHAR", required=True, description="Quote currency (USD)."),
        Column("base_per_unit", "DECIMAL(18, 6)", required=True, description="Base per unit."),
    ),
)

#: How often the firm loads config (ingest/sources/cadence.py).
CADENCE = FIRM_CONFIGURATION

BILLING_RELEASE = SourceSchema(
    system="config",
    entity="billing_release",
    key=("legal_entity",),
    snapshot=True,
    description="Per legal entity: whether its frozen billing batches are released automatically.",
    columns=(
        Column("legal_entity", "VARCHAR", required=True, description="Entity code (US01)."),
        Column(
            "auto_release",
            "BOOLEAN",
            required=True,
            description="true: sent without a person's release; false: waits for one.",
        ),
    ),
)

#: How a supplying entity prices the labour it lends to another (config/transfer_pricing).
TRANSFER_PRICING_METHODS = ("cost_plus", "billed_share")

TRANSFER_PRICING = SourceSchema(
    system="config",
    entity="transfer_pricing",
    key=("from_entity", "to_entity", "effective_from"),
    snapshot=True,
    description=(
        "Transfer-pricing rules: how a supplying (employing) legal entity charges the labour "
        "of its people on another entity's contract, from a date."
    ),
    columns=(
        Column(
            "from_entity",
            "VARCHAR",
            required=True,
            description="Supplying (employing) entity code, or * for any.",
        ),
        Column(
            "to_entity",
            "VARCHAR",
            required=True,
            description="Customer (contracting) entity code, or * for any.",
        ),
        Column("method", "VARCHAR", required=True, description="cost_plus or billed_share."),
        Column("markup_pct", "DECIMAL(8, 4)", description="cost_plus: markup on cost, percent."),
        Column(
            "share_pct",
            "DECIMAL(8, 4)",
            description="billed_share: share of the billable value, percent.",
        ),
        Column(
            "effective_from",
            "DATE",
            required=True,
            description="First work date the rule applies to.",
        ),
    ),
)

#: Who bills each domain of an entity's work during a phased ERP migration
#: (config/system_of_record), and the domains it routes.
SYSTEMS_OF_RECORD = ("legacy", "write_back")
BILLING_DOMAINS = ("time", "expenses", "invoices")

SYSTEM_OF_RECORD = SourceSchema(
    system="config",
    entity="system_of_record",
    key=("legal_entity", "domain", "effective_from"),
    snapshot=True,
    description=(
        "System-of-record routing for a phased ERP migration: per legal entity and billing "
        "domain, whether the legacy ERP or the write-back bills it, from a billing period."
    ),
    columns=(
        Column(
            "legal_entity",
            "VARCHAR",
            required=True,
            description="Contracting entity code, or * for any.",
        ),
        Column(
            "domain",
            "VARCHAR",
            required=True,
            description="time (labour), expenses (re-billed) or invoices (schedule amounts).",
        ),
        Column("system", "VARCHAR", required=True, description="legacy or write_back."),
        Column(
            "effective_from",
            "DATE",
            required=True,
            description="The cutover: the rule bills the periods starting on or after it.",
        ),
    ),
)

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = ()

ENTITIES = tuple(
    SourceEntity(schema=schema, reader=CsvReader(), file_suffixes=(".csv",))
    for schema in (
        LEGAL_ENTITIES,
        TAX_RULES,
        EXPENSE_POLICY,
        SLA_THRESHOLDS,
        BUSINESS_CALENDARS,
        FX_RATES,
        BILLING_RELEASE,
        TRANSFER_PRICING,
        SYSTEM_OF_RECORD,
    )
)

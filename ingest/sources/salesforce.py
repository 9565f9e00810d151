"""Salesforce Data Loader CSV exports (snapshots): accounts, contracts, rate cards, schedules.

Columns are Salesforce API field names; raw columns use snake_case names of them.
"""

from __future__ import annotations

from ingest.schema import Column, SourceSchema
from ingest.sources.base import CsvReader, SourceEntity
from ingest.sources.cadence import MASTER_DATA_NIGHTLY

_AUDIT = (
    Column("created_date", "TIMESTAMP", source="CreatedDate"),
    Column("last_modified_date", "TIMESTAMP", source="LastModifiedDate", required=True),
    Column("is_deleted", "BOOLEAN", source="IsDeleted"),
)

ACCOUNTS = SourceSchema(
    system="salesforce",
    entity="accounts",
    key=("id",),
    snapshot=True,
    description="Client accounts (Salesforce Account).",
    columns=(
        Column("id", "VARCHAR", source="Id", required=True),
        Column("name", "VARCHAR", source="Name", required=True),
        Column("type", "VARCHAR", source="Type"),
        Column("industry", "VARCHAR", source="Industry"),
        Column("billing_city", "VARCHAR", source="BillingCity"),
        Column("billing_country", "VARCHAR", source="BillingCountry"),
        Column("billing_country_code", "VARCHAR", source="BillingCountryCode", required=True),
        Column("currency_iso_code", "VARCHAR", source="CurrencyIsoCode", required=True),
        Column("legal_entity", "VARCHAR", source="Legal_Entity__c"),
        Column("legacy_client_code", "VARCHAR", source="Legacy_Client_Code__c"),
        Column("owner_id", "VARCHAR", source="OwnerId"),
        *_AUDIT,
    ),
)

CONTRACTS = SourceSchema(
    system="salesforce",
    entity="contracts",
    key=("id",),
    snapshot=True,
    description="Client contracts (statements of work) with billing method and legal entity.",
    columns=(
        Column("id", "VARCHAR", source="Id", required=True),
        Column("account_id", "VARCHAR", source="AccountId", required=True),
        Column("contract_number", "VARCHAR", source="ContractNumber", required=True),
        Column("name", "VARCHAR", source="Name"),
        Column("status", "VARCHAR", source="Status"),
        Column("start_date", "DATE", source="StartDate", required=True),
        Column("end_date", "DATE", source="EndDate"),
        Column("contract_term", "INTEGER", source="ContractTerm"),
        Column("currency_iso_code", "VARCHAR", source="CurrencyIsoCode", required=True),
        Column(
            "billing_method",
            "VARCHAR",
            source="Billing_Method__c",
            required=True,
        ),
        # Empty is a business exception (missing_legal_entity), not a load error.
        Column("legal_entity", "VARCHAR", source="Legal_Entity__c"),
        Column("psa_system", "VARCHAR", source="PSA_System__c"),
        Column("psa_project_code", "VARCHAR", source="PSA_Project_Code__c"),
        Column("payment_terms", "VARCHAR", source="Payment_Terms__c"),
        Column("fixed_fee_amount", "DECIMAL(18, 2)", source="Fixed_Fee_Amount__c"),
        Column("retainer_monthly_fee", "DECIMAL(18, 2)", source="Retainer_Monthly_Fee__c"),
        # Not-to-exceed caps (optional fields: an export without them has no caps).
        Column("not_to_exceed_hours", "DECIMAL(12, 2)", source="Not_To_Exceed_Hours__c"),
        Column("not_to_exceed_amount", "DECIMAL(18, 2)", source="Not_To_Exceed_Amount__c"),
        Column("activated_date", "TIMESTAMP", source="ActivatedDate"),
        Column("owner_id", "VARCHAR", source="OwnerId"),
        *_AUDIT,
    ),
)

RATE_CARDS = SourceSchema(
    system="salesforce",
    entity="rate_cards",
    key=("id",),
    snapshot=True,
    description="Dated bill rates per contract and role (custom object Rate_Card_Line__c).",
    columns=(
        Column("id", "VARCHAR", source="Id", required=True),
        Column("name", "VARCHAR", source="Name"),
        Column("contract_id", "VARCHAR", source="Contract__c", required=True),
        Column("role", "VARCHAR", source="Role__c", required=True),
        Column("bill_rate", "DECIMAL(18, 4)", source="Bill_Rate__c", required=True),
        Column("currency_iso_code", "VARCHAR", source="CurrencyIsoCode", required=True),
        Column("effective_from", "DATE", source="Effective_From__c", required=True),
        Column("effective_to", "DATE", source="Effective_To__c"),
        *_AUDIT,
    ),
)

BILLING_SCHEDULES = SourceSchema(
    system="salesforce",
    entity="billing_schedules",
    key=("id",),
    snapshot=True,
    description=(
        "Billing schedule lines of fixed-fee, retainer and milestone contracts "
        "(custom object Billing_Schedule_Line__c)."
    ),
    columns=(
        Column("id", "VARCHAR", source="Id", required=True),
        Column("name", "VARCHAR", source="Name"),
        Column("contract_id", "VARCHAR", source="Contract__c", required=True),
        # instalment (fixed fee), retainer_period, milestone
        Column("line_type", "VARCHAR", source="Line_Type__c", required=True),
        Column("description", "VARCHAR", source="Description__c"),
        Column("amount", "DECIMAL(18, 2)", source="Amount__c", required=True),
        Column("currency_iso_code", "VARCHAR", source="CurrencyIsoCode", required=True),
        Column("due_date", "DATE", source="Due_Date__c"),
        Column("period_start", "DATE", source="Period_Start__c"),
        Column("period_end", "DATE", source="Period_End__c"),
        Column("included_hours", "DECIMAL(12, 2)", source="Included_Hours__c"),
        Column("overage_rate", "DECIMAL(18, 4)", source="Overage_Rate__c"),
        Column("acceptance_date", "DATE", source="Acceptance_Date__c"),
        *_AUDIT,
    ),
)

#: How often the firm loads salesforce (ingest/sources/cadence.py).
CADENCE = MASTER_DATA_NIGHTLY

#: The entities of the firm's daily activity (not master data, not the ERP): what a new
#: day's exports bring (bench.ladder holds them back and lands them as the next day).
DAILY_ACTIVITY = ()

ENTITIES = tuple(
    SourceEntity(schema=schema, reader=CsvReader(), file_suffixes=(".csv",))
    for schema in (ACCOUNTS, CONTRACTS, RATE_CARDS, BILLING_SCHEDULES)
)

"""Config: the sample firm's own configuration, landed as ``config/<entity>/`` snapshots.

The values are the generator's reference data (:mod:`ingest.generator.reference`) and the
sample firm's service levels. Its business calendar lists no non-working dates: the ground
truth's business days are Monday to Friday (docs/generator.md). Its ERP publishes every
currency it uses, so it lands no ``config/fx_rates``. Every file is dated with the first day
of the history, so the configuration is in force for any as-of date (docs/sources.md,
"config"). Every legal entity's billing batches are released automatically, and an entity
lending its people to another charges their cost plus 10 % (config/transfer_pricing).
"""

from __future__ import annotations

from ingest.generator import reference as ref
from ingest.generator.firm import DAY
from ingest.generator.state import World
from ingest.generator.writers import Landing, csv_bytes, day_str
from ingest.sources.config import (
    BILLING_RELEASE,
    BUSINESS_CALENDARS,
    EXPENSE_POLICY,
    LEGAL_ENTITIES,
    SLA_THRESHOLDS,
    TAX_RULES,
    TRANSFER_PRICING,
)

#: The sample firm's thresholds: (name, value, what it means).
SAMPLE_THRESHOLDS: tuple[tuple[str, int, str], ...] = (
    ("sla_time_approval_business_days", 2, "Time approved within N business days of submission"),
    ("sla_expense_posting_business_days", 10, "Expense posted within N business days of approval"),
    (
        "sla_invoice_release_business_days",
        5,
        "Invoice released within N business days of period end",
    ),
    (
        "timesheet_deadline_business_days",
        1,
        "Time submitted by the N-th business day after the week",
    ),
    ("leakage_unbilled_days", 90, "Approved billable work unbilled for more days is leakage"),
    ("daily_hours_limit", 16, "A worker's hours on one day above N are an exception"),
    ("history_years", 10, "Records dated over N years before the as-of date are implausible"),
)


def _header(schema) -> tuple[str, ...]:
    return tuple(column.name for column in schema.columns)


def config_rows(dated: str) -> dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]]:
    """Every config entity's header and rows for the sample firm, dated ``dated``.

    ``dated`` (YYYY-MM-DD) is also the first work date its transfer-pricing rule applies to.
    """
    entities = [
        (le.code, le.name, le.region, le.country, le.currency, le.psa) for le in ref.LEGAL_ENTITIES
    ]
    taxes = [tuple(row.values()) for row in ref.tax_rule_rows()]
    policy = [tuple(row.values()) for row in ref.expense_policy_rows()]
    return {
        "legal_entities": (_header(LEGAL_ENTITIES), entities),
        "tax_rules": (_header(TAX_RULES), taxes),
        "expense_policy": (_header(EXPENSE_POLICY), policy),
        "sla_thresholds": (_header(SLA_THRESHOLDS), list(SAMPLE_THRESHOLDS)),
        "business_calendars": (_header(BUSINESS_CALENDARS), []),
        # every entity releases automatically, so `d2b run` shows the whole billing loop
        "billing_release": (
            _header(BILLING_RELEASE),
            [(le.code, "true") for le in ref.LEGAL_ENTITIES],
        ),
        # one firm-wide rule: an entity lends its people to another at cost plus 10 %
        "transfer_pricing": (
            _header(TRANSFER_PRICING),
            [("*", "*", "cost_plus", "10", "", dated)],
        ),
    }


def write_config(w: World, landing: Landing) -> None:
    """The sample firm's configuration, one snapshot file per entity."""
    label = day_str(w.firm.start_day)
    for entity, (header, rows) in config_rows(label).items():
        landing.write(
            "config",
            entity,
            f"{entity}_{label}.csv",
            [csv_bytes(header, rows)],
            len(rows),
            w.firm.start_day * DAY,
        )

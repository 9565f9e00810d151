"""The billing run: candidate batches into the ERP exactly once, then read back (docs/design.md §6).

Monthly billing-period partitions. For a period:

1. ``billing/erp_outbox`` re-syncs the records the ERP already bills, then freezes the
   period's other candidate records
   (``marts.billing_batch_candidates``) into ``ops.erp_outbox`` as batches with idempotency
   keys and control totals, waiting for release (``awaiting_release``); the entities the firm
   releases automatically (``config/billing_release``) are released at once, the others by a
   person (``d2b bill --release``). Records on hold are left out. A blocking check
   (``no_rejected_batches``) stops the run when a batch could not be frozen (it overlaps
   another batch or changes one already sent); another (``candidates_built_as_of_run``)
   freezes nothing when the candidates were built as of another date than the run's
   (``as_of_date`` in the run config, default today).
2. ``billing/erp_send`` posts every ``ready`` and due ``failed_retryable`` batch through the
   ERP adapter (``D2B_ERP_ADAPTER``: Tryton by default, or file drop); business errors go to
   ``dead_letter`` with the ERP's message.
3. ``billing/erp_read_back`` reads the ERP's invoices back into ``raw.erp_api__invoices`` and
   ``raw.erp_api__invoice_lines``.
4. ``billing/erp_reconciliation`` ties each batch out against the ERP (``reconciled`` or
   ``mismatch``).

The steps work on the durable billing store (``D2B_BILLING_STORE``, :mod:`erp.billing_store`),
never lost with the warehouse; after each step its tables are mirrored into the warehouse,
where dbt and the dashboards read them. Freezing first re-syncs what the ERP already bills
(:mod:`erp.outbox.resync`) and leaves those records out, so a rebuilt warehouse or a lost
store never bills a record twice.

The tables the steps write (``ops/erp_outbox*``, ``ops/audit_log``, ``raw/erp_api__*``) are
assets of their own in this group, declared from their dbt sources: the marts read them, and
drawing them as the steps' outputs would close a cycle (billing reads the marts).

Each step is safe to repeat: a crash anywhere, a retry or a re-run never posts a line twice
(see docs/erp.md). The ``billing_replay`` job re-sends dead letters after correction; the
schedule runs the closed period on the 3rd of each month; past periods are backfilled by
launching the partitioned job for them. The ``erp_feedback`` job, apart from billing, reads
the state, due date and payments of the invoices not yet final every day
(:mod:`erp.outbox.feedback`, schedule ``erp_feedback_daily``).
"""

from datetime import UTC, date, datetime

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from d2b.settings import Settings
from dagster_project.defs.dbt_models import d2b_dbt_models
from dagster_project.resources import WAREHOUSE_POOL, D2BSettingsResource
from erp import outbox
from erp.adapters import make_adapter
from erp.adapters.base import ErpAdapter
from erp.billing_cycle import freeze_period, read_candidates
from erp.billing_store import mirror_to_warehouse, open_store
from erp.candidates import CANDIDATES_RELATION, StaleCandidatesError
from erp.outbox import releasing
from erp.settings import ErpSettings
from ingest.warehouse import connect, table_exists

BILLING_GROUP = "billing"
CANDIDATES_KEY = get_asset_key_for_model([d2b_dbt_models], "billing_batch_candidates")
OUTBOX_KEY = dg.AssetKey(["billing", "erp_outbox"])
SEND_KEY = dg.AssetKey(["billing", "erp_send"])
READ_BACK_KEY = dg.AssetKey(["billing", "erp_read_back"])
RECONCILIATION_KEY = dg.AssetKey(["billing", "erp_reconciliation"])
BILLING_JOB = "billing_run"
#: Finance operations own the billing run (as they own the billing marts, see dbt meta).
BILLING_OWNERS = ["team:finance_operations"]
REPLAY_JOB = "billing_replay"
FEEDBACK_JOB = "erp_feedback"

#: First billing period the partitions offer (backfills start here); ``YYYY-MM-DD``.
# Partitions are part of the definitions, so D2B_BILLING_START is read when they load.
BILLING_START = Settings.from_env().billing.start
billing_periods = dg.MonthlyPartitionsDefinition(start_date=BILLING_START)


class ScaledRetryPolicy(dg.RetryPolicy):
    """A retry policy whose waits are multiplied by ``D2B_BILLING_BACKOFF_SCALE``.

    The scale is read when a step fails, not at import, so an in-process run sees its caller's.
    """

    def calculate_delay(self, attempt_num: int) -> float:
        """Seconds before retry ``attempt_num``: the policy's delay, scaled."""
        return super().calculate_delay(attempt_num) * Settings.from_env().billing.backoff_scale


#: ERP errors are handled by the outbox (retryable or dead letter); this retries the step
#: itself after an unexpected failure (the warehouse busy, the process killed).
BILLING_RETRY_POLICY = ScaledRetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)


def period_of(partition_key: str) -> str:
    """The billing period ``YYYY-MM`` of a monthly partition key ``YYYY-MM-DD``."""
    return partition_key[:7]


class ErpResource(dg.ConfigurableResource):
    """The ERP adapter, built from ``D2B_ERP_*`` settings when a step needs it.

    Settings (and the ERP password, for XML-RPC) are read from the environment at run time
    and never logged.
    """

    def adapter(self) -> ErpAdapter:
        """A new adapter for the configured ERP."""
        return make_adapter(ErpSettings.from_env())


class BillingRunConfig(dg.Config):
    """The billing run's as-of date: the date its candidates must have been built for."""

    as_of_date: str | None = None

    def as_of(self) -> date:
        """The as-of date (``YYYY-MM-DD``), today (UTC) by default."""
        return date.fromisoformat(self.as_of_date) if self.as_of_date else datetime.now(UTC).date()


@dg.asset(
    key=OUTBOX_KEY,
    deps=[CANDIDATES_KEY],
    partitions_def=billing_periods,
    group_name=BILLING_GROUP,
    owners=BILLING_OWNERS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    retry_policy=BILLING_RETRY_POLICY,
    check_specs=[
        dg.AssetCheckSpec(
            "no_rejected_batches",
            asset=OUTBOX_KEY,
            blocking=True,
            description="Every candidate batch of the period was frozen (none rejected).",
        ),
        dg.AssetCheckSpec(
            "candidates_built_as_of_run",
            asset=OUTBOX_KEY,
            blocking=True,
            description=(
                "The candidates were built as of the run's as-of date (a past-date rebuild "
                "never feeds billing)."
            ),
        ),
    ],
    description=(
        "The period's candidate batches frozen in ops.erp_outbox with control totals, "
        "released by the entity's auto-release rule or awaiting a person's release."
    ),
)
def erp_outbox(
    context: dg.AssetExecutionContext,
    d2b: D2BSettingsResource,
    erp: ErpResource,
    config: BillingRunConfig,
):
    """Re-sync what the ERP bills, then freeze the period's unbilled candidates (idempotent)."""
    period = period_of(context.partition_key)
    settings = d2b.settings()
    settings.dbt.require_duckdb_marts("billing")
    with connect(settings.warehouse) as warehouse:
        if not table_exists(warehouse, CANDIDATES_RELATION):
            # a missing mart does not appear by waiting: fail at once, without the step's retries
            raise dg.Failure(
                f"{CANDIDATES_RELATION} does not exist: build the marts before billing",
                allow_retries=False,
            )
        try:
            candidates = read_candidates(warehouse, [period], config.as_of())
        except StaleCandidatesError as error:
            context.log.error(str(error))
            yield dg.MaterializeResult(metadata={"period": period, "frozen": 0})
            yield dg.AssetCheckResult(
                check_name="candidates_built_as_of_run", passed=False, metadata={"why": str(error)}
            )
            yield dg.AssetCheckResult(check_name="no_rejected_batches", passed=True)
            return
    adapter = erp.adapter()
    try:
        with open_store(settings.billing.store, settings.warehouse) as con:
            synced = outbox.resync_or_keep(con, adapter, context.run_id)
            billed = freeze_period(con, candidates, period, run_id=context.run_id)
            waiting = releasing.awaiting_release(con, period)
            totals = con.execute(
                "SELECT count(*), coalesce(sum(line_count), 0), coalesce(sum(total_amount), 0) "
                "FROM ops.erp_outbox WHERE period = ?",
                [period],
            ).fetchall()[0]
    finally:
        adapter.close()
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    result = billed.freeze
    if synced.error:
        context.log.warning("ERP not re-synced, froze on the last re-sync: %s", synced.error)
    if billed.excluded_records:
        context.log.warning(
            "%d candidate record(s) left out: the ERP or the outbox already bills them",
            billed.excluded_records,
        )
    for key, reason in result.rejected.items():
        context.log.error("batch %s rejected: %s", key, reason)
    yield dg.MaterializeResult(
        metadata={
            "period": period,
            "candidate_batches": billed.candidate_batches,
            "held_records": billed.held_records,
            "frozen": len(result.frozen),
            "unchanged": len(result.unchanged),
            "corrected": len(result.corrected),
            "rejected": len(result.rejected),
            "auto_released": len(billed.auto_released),
            "awaiting_release": len(waiting),
            "erp_billed_records": synced.records,
            "excluded_records": billed.excluded_records,
            "outbox_batches": totals[0],
            "outbox_lines": totals[1],
            "outbox_amount": float(totals[2]),
        }
    )
    yield dg.AssetCheckResult(check_name="candidates_built_as_of_run", passed=True)
    yield dg.AssetCheckResult(
        check_name="no_rejected_batches",
        passed=not result.rejected,
        metadata={"rejected": dg.MetadataValue.json(result.rejected)},
    )


@dg.asset(
    key=SEND_KEY,
    deps=[OUTBOX_KEY],
    partitions_def=billing_periods,
    group_name=BILLING_GROUP,
    owners=BILLING_OWNERS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    retry_policy=BILLING_RETRY_POLICY,
    description="Ready and due retryable batches created in the ERP, exactly once.",
)
def erp_send(
    context: dg.AssetExecutionContext, d2b: D2BSettingsResource, erp: ErpResource
) -> dg.MaterializeResult:
    """Send what the outbox holds as due (every period), recording ERP document ids."""
    settings = d2b.settings()
    backoff = outbox.Backoff().scaled(settings.billing.backoff_scale)
    adapter = erp.adapter()
    try:
        with open_store(settings.billing.store, settings.warehouse) as con:
            result = outbox.send(con, adapter, context.run_id, backoff=backoff)
            statuses = outbox.status_counts(con)
    finally:
        adapter.close()
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    for key in result.dead_lettered:
        context.log.warning("batch %s dead-lettered (see ops.erp_outbox.last_error)", key)
    return dg.MaterializeResult(
        metadata={
            "erp": adapter.name,
            "created": len(result.created),
            "adopted": len(result.adopted),
            "dead_lettered": len(result.dead_lettered),
            "failed_retryable": len(result.failed_retryable),
            "not_due": len(result.not_due),
            "erp_calls": result.attempts,
            "outbox_statuses": dg.MetadataValue.json(statuses),
        }
    )


@dg.asset(
    key=READ_BACK_KEY,
    deps=[SEND_KEY],
    partitions_def=billing_periods,
    group_name=BILLING_GROUP,
    owners=BILLING_OWNERS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    retry_policy=BILLING_RETRY_POLICY,
    description=(
        "The ERP's copy of our invoices and their lines, read back with correlation ids into "
        "raw.erp_api__invoices and raw.erp_api__invoice_lines."
    ),
)
def erp_read_back(
    context: dg.AssetExecutionContext, d2b: D2BSettingsResource, erp: ErpResource
) -> dg.MaterializeResult:
    """Load the ERP's invoices and lines for every outbox batch into ``raw.erp_api__*``."""
    settings = d2b.settings()
    adapter = erp.adapter()
    try:
        with open_store(settings.billing.store, settings.warehouse) as con:
            result = outbox.read_back(con, adapter, context.run_id)
    finally:
        adapter.close()
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    return dg.MaterializeResult(
        metadata={
            "load_id": result.load_id,
            "invoices": result.invoices,
            "invoice_lines": result.lines,
            "dagster/row_count": result.invoices + result.lines,
        }
    )


@dg.asset(
    key=RECONCILIATION_KEY,
    deps=[READ_BACK_KEY],
    partitions_def=billing_periods,
    group_name=BILLING_GROUP,
    owners=BILLING_OWNERS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "batches_tie_out",
            asset=RECONCILIATION_KEY,
            description="Every sent batch matches its ERP invoice (control totals, lines).",
        )
    ],
    description="Sent batches tied out against the ERP's invoices: reconciled or mismatch.",
)
def erp_reconciliation(
    context: dg.AssetExecutionContext, d2b: D2BSettingsResource, erp: ErpResource
):
    """Reconcile sent batches with what the ERP holds."""
    adapter_name = ErpSettings.from_env().adapter
    settings = d2b.settings()
    with open_store(settings.billing.store, settings.warehouse) as con:
        result = outbox.reconcile(con, context.run_id, adapter_name)
        statuses = outbox.status_counts(con)
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    for key, reason in result.mismatched.items():
        context.log.error("batch %s does not tie out: %s", key, reason)
    yield dg.MaterializeResult(
        metadata={
            "reconciled": len(result.reconciled),
            "mismatched": len(result.mismatched),
            "outbox_statuses": dg.MetadataValue.json(statuses),
        }
    )
    yield dg.AssetCheckResult(
        check_name="batches_tie_out",
        passed=not result.mismatched,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"mismatched": dg.MetadataValue.json(result.mismatched)},
    )


@dg.op(description="Mark dead-lettered batches ready again, then send them.")
def replay_dead_letters(
    context: dg.OpExecutionContext, d2b: D2BSettingsResource, erp: ErpResource
) -> None:
    """Re-send every dead-lettered batch (after its cause was corrected)."""
    settings = d2b.settings()
    backoff = outbox.Backoff().scaled(settings.billing.backoff_scale)
    adapter = erp.adapter()
    try:
        with open_store(settings.billing.store, settings.warehouse) as con:
            replayed = outbox.replay_dead_letters(con, context.run_id)
            result = outbox.send(con, adapter, context.run_id, backoff=backoff)
    finally:
        adapter.close()
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    context.log.info(
        "replayed %d dead letters: %d created, %d dead-lettered again",
        len(replayed),
        len(result.created),
        len(result.dead_lettered),
    )


@dg.job(name=REPLAY_JOB, description="Re-send dead-lettered billing batches after correction.")
def billing_replay() -> None:
    """The replay job (run it after correcting the cause of the dead letters)."""
    replay_dead_letters()


@dg.op(
    pool=WAREHOUSE_POOL,
    retry_policy=BILLING_RETRY_POLICY,
    description=(
        "Read the state, due date and payments of every ERP invoice not yet paid or "
        "cancelled into raw.erp_api__invoice_status (one reading each, insert-only)."
    ),
)
def read_erp_feedback(
    context: dg.OpExecutionContext, d2b: D2BSettingsResource, erp: ErpResource
) -> None:
    """Append today's reading of the open ERP invoices, then mirror it to the warehouse."""
    settings = d2b.settings()
    adapter = erp.adapter()
    try:
        with open_store(settings.billing.store, settings.warehouse) as con:
            result = outbox.read_feedback(con, adapter, context.run_id)
    finally:
        adapter.close()
    mirror_to_warehouse(settings.billing.store, settings.warehouse)
    context.log.info(
        "ERP feedback: %d open invoices asked, %d read, by state %s",
        result.asked,
        result.read,
        result.states,
    )


@dg.job(
    name=FEEDBACK_JOB,
    description="Read the ERP's state, due date and payments of our open invoices.",
)
def erp_feedback() -> None:
    """The daily ERP feedback (independent of billing: it sends nothing)."""
    read_erp_feedback()


#: Daily at 01:30, before the nightly refresh (02:00) rebuilds AR aging and paid hours.
erp_feedback_schedule = dg.ScheduleDefinition(
    name="erp_feedback_daily",
    job=erp_feedback,
    cron_schedule="30 1 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Reads the ERP's state, due dates and payments of the invoices not yet final.",
)

BILLING_SELECTION = dg.AssetSelection.groups(BILLING_GROUP)

billing_job = dg.define_asset_job(
    BILLING_JOB,
    selection=BILLING_SELECTION,
    partitions_def=billing_periods,
    description="Freeze, send, read back and reconcile one billing period.",
)

#: The closed period runs on the 3rd at 06:00 (approvals of the period's last days are in).
billing_schedule = dg.build_schedule_from_partitioned_job(
    billing_job, hour_of_day=6, minute_of_hour=0, day_of_month=3, name="billing_monthly"
)

defs = dg.Definitions(
    assets=[erp_outbox, erp_send, erp_read_back, erp_reconciliation],
    jobs=[billing_job, billing_replay, erp_feedback],
    schedules=[billing_schedule, erp_feedback_schedule],
    resources={"erp": ErpResource()},
)

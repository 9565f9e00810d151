"""Billing operations: what blocks billing, what the billing run did, and how fast things move.

The exception queue by owner team, reason and age with the records behind it; billing batches
in the ERP outbox with their status, dead letters with the ERP's message; the lags of docs/design.md
§4 against their SLAs with the records past them.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import format as fmt
from dashboards import lags as lags_module
from dashboards.data import (
    BILLING_BATCH_TABLES,
    current_snapshot,
    query,
    table_has_rows,
)
from dashboards.filters import current_filters
from dashboards.release import release_action
from dashboards.ui import (
    filter_note,
    in_words,
    page_header,
    plot,
    require_as_of,
    require_snapshot,
    require_tables,
    table,
)

TABLES = (
    "marts.billing_exceptions",
    "marts.billing_batch_candidates",
    "marts.record_lags",
    "marts.lag_summary",
    "marts.dim_clients",
    "marts.dim_legal_entities",
    "marts.dim_resources",
)
QUEUE_AGES = ("0–7 days", "8–30 days", "31–90 days", "> 90 days")
STATUSES = (
    "awaiting_release",
    "ready",
    "sent",
    "failed_retryable",
    "dead_letter",
    "reconciled",
    "mismatch",
)
LAG_LABELS = {
    "time_approval": "Time approval",
    "expense_posting": "Expense posting",
    "invoice_release": "Invoice release",
}


def exception_queue(params, filters) -> None:
    """The exception queue: counts by owner team, reason and age, and the records."""
    st.subheader("Exception queue")
    st.caption(
        "Records held from billing until their exception is resolved (marts.billing_exceptions)"
        ". Days in queue: from the day the pipeline first saw the record to the snapshot's "
        "build date."
    )
    filter_note(filters, ["ops_exceptions"])
    exceptions = query("ops_exceptions", params)
    if exceptions.empty:
        st.success("No open exceptions in scope.")
        return
    columns = st.columns(4)
    columns[0].metric("Open exceptions", fmt.count(len(exceptions)))
    columns[1].metric("High severity", fmt.count((exceptions["severity"] == "high").sum()))
    columns[2].metric("Records held", fmt.count(exceptions["correlation_id"].nunique()))
    columns[3].metric(
        "Hours held", fmt.hours(exceptions.drop_duplicates("correlation_id")["hours"].sum())
    )

    left, right = st.columns([3, 2])
    reasons = (
        exceptions.groupby(["owner_team", "reason"], as_index=False)
        .agg(exceptions=("source_id", "count"))
        .sort_values("exceptions")
    )
    figure = px.bar(
        in_words(reasons, "reason", "owner_team"),
        x="exceptions",
        y="reason",
        color="owner_team",
        orientation="h",
        labels={"reason": "", "owner_team": "owner team"},
    )
    figure.update_layout(height=max(300, 60 + 26 * len(reasons)))
    plot(left, figure, key="exceptions_chart", title="Open exceptions by reason")
    ages = exceptions.groupby(["owner_team", "queue_age"], as_index=False).agg(
        exceptions=("source_id", "count")
    )
    figure = px.bar(
        in_words(ages, "owner_team"),
        x="owner_team",
        y="exceptions",
        color="queue_age",
        category_orders={"queue_age": list(QUEUE_AGES)},
        labels={"owner_team": "", "queue_age": "in queue"},
    )
    figure.update_layout(height=max(300, 60 + 26 * len(reasons)))
    plot(right, figure, key="exceptions_age_chart", title="Open exceptions by time in queue")
    teams = (
        exceptions.groupby("owner_team", as_index=False)
        .agg(
            exceptions=("source_id", "count"),
            high=("severity", lambda s: int((s == "high").sum())),
            reasons=("reason", "nunique"),
            oldest_first_seen=("first_seen_date", "min"),
            max_days_in_queue=("days_in_queue", "max"),
        )
        .sort_values("exceptions", ascending=False)
    )
    table(teams, "exceptions_by_owner_team", empty="No exceptions.")

    st.markdown("**The records behind them**")
    pick = st.columns(3)
    team = pick[0].selectbox(
        "Owner team",
        [None, *sorted(exceptions["owner_team"].unique())],
        key="queue_team",
        format_func=lambda v: "all" if v is None else v,
    )
    scoped = exceptions if team is None else exceptions[exceptions["owner_team"] == team]
    reason = pick[1].selectbox(
        "Reason",
        [None, *sorted(scoped["reason"].unique())],
        key="queue_reason",
        format_func=lambda v: "all" if v is None else v,
    )
    scoped = scoped if reason is None else scoped[scoped["reason"] == reason]
    age = pick[2].selectbox(
        "In queue",
        [None, *[a for a in QUEUE_AGES if a in set(scoped["queue_age"])]],
        key="queue_age",
        format_func=lambda v: "any time" if v is None else v,
    )
    scoped = scoped if age is None else scoped[scoped["queue_age"] == age]
    table(scoped, "exception_records", empty="No records for this choice.", height=360)


def billing_batches(params, filters) -> None:
    """Outbox batches by status, dead letters, audit trail, and what waits to be batched."""
    st.subheader("Billing batches")
    # The marts exist (empty) from the first build; a batch in them means billing ran.
    has_outbox = table_has_rows(BILLING_BATCH_TABLES[0])
    if has_outbox:
        filter_note(filters, ["ops_outbox"])
        outbox = query("ops_outbox", params)
        counts = outbox["status"].value_counts()
        columns = st.columns(len(STATUSES))
        for column, status in zip(columns, STATUSES, strict=True):
            column.metric(status.replace("_", " ").capitalize(), fmt.count(counts.get(status, 0)))
        table(
            outbox.drop(columns=["last_error"]),
            "billing_batches",
            empty="No billing batches in scope.",
            height=320,
        )

        st.markdown("**Awaiting release**")
        waiting = outbox[outbox["status"] == "awaiting_release"]
        if not waiting.empty:
            st.caption(
                "Frozen, not sent: released by the entity's auto-release rule "
                "(config/billing_release) or by a person: below, or `d2b bill --period P "
                "--release`."
            )
        table(
            waiting[["batch_key", "period", "client_name", "legal_entity", "line_count", "amount"]],
            "awaiting_release",
            empty="Nothing awaits release.",
        )
        release_action(waiting)
        holds = query("ops_holds")
        table(holds, "billing_holds", empty="No holds in force (`d2b hold`).")
        waivers = query("ops_waivers")
        if not waivers.empty:
            st.caption(
                "Exception waivers: a record whose every exception is waived is billed "
                "(record waived); the others still wait for their other exceptions."
            )
        table(waivers, "billing_waivers", empty="No exception waivers in force (`d2b waive`).")

        st.markdown("**Dead letters**")
        dead = outbox[outbox["status"] == "dead_letter"][
            [
                "batch_key",
                "period",
                "client_name",
                "contract_ref",
                "legal_entity",
                "currency",
                "line_count",
                "amount",
                "attempts",
                "last_error",
                "updated_at",
            ]
        ]
        if not dead.empty:
            st.caption(
                "The ERP refused these batches; correct the cause, then run `billing_replay`."
            )
        table(dead, "dead_letters", empty="No dead letters: the ERP accepted every batch sent.")
        retrying = outbox[outbox["status"] == "failed_retryable"]
        if not retrying.empty:
            st.markdown("**Waiting to retry**")
            table(
                retrying[["batch_key", "period", "attempts", "next_attempt_at", "last_error"]],
                "retrying_batches",
                empty="",
            )
        with st.expander("Outbox activity (audit log)"):
            table(query("ops_audit", params), "outbox_audit_log", empty="No outbox activity.")
    else:
        st.info(
            "No billing run yet: the snapshot has no billing batch. The billing run "
            "(`billing_run`, monthly) freezes the candidates below into batches."
        )
    st.markdown("**Ready to bill, not yet batched**")
    filter_note(filters, ["ops_candidates"], "candidates are per record, not per person.")
    candidates = query("ops_candidates", params)
    if not candidates.empty:
        st.caption(
            f"{fmt.count(candidates['records'].sum())} records in "
            f"{fmt.count(len(candidates))} client × contract × period groups "
            "(marts.billing_batch_candidates); amounts in the contract currency."
        )
    table(candidates, "billing_candidates", empty="Nothing waiting to be batched.", height=300)


def lags(params, filters) -> None:
    """The three lags against their SLAs, by month, and the records past them."""
    st.subheader("Lags against SLAs")
    stats = lags_module.summary(params, params["period_start"], params["period_end"])
    filter_note(filters, ["lag_stats"], "lags are per record or invoice.")
    columns = st.columns(len(stats)) if len(stats) else []  # none in the user's scope
    for column, row in zip(columns, stats.itertuples(), strict=True):
        column.metric(
            f"{LAG_LABELS.get(row.lag_kind, row.lag_kind)} (median)",
            f"{fmt.days(row.median_business_days)} days",
            help=f"Business days; p90 {fmt.days(row.p90_business_days)}, SLA "
            f"{row.sla_business_days}.",
        )
        column.caption(
            f"p90 {fmt.days(row.p90_business_days)} · SLA {row.sla_business_days} · "
            f"**{fmt.count(row.sla_breach_count)}** of {fmt.count(row.measured_count)} over SLA"
            f" · {fmt.count(row.open_count)} open ({fmt.count(row.open_past_sla_count)} late)"
        )
    table(stats, "lag_summary", empty="No lags.")

    monthly = lags_module.monthly(query("lag_histogram", {**params, "lag_kind": []}))
    if params["period_start"] is not None:
        monthly = monthly[pd.to_datetime(monthly["finish_month"]).dt.date >= params["period_start"]]
    if params["period_end"] is not None:
        monthly = monthly[pd.to_datetime(monthly["finish_month"]).dt.date <= params["period_end"]]
    if not monthly.empty:
        figure = px.line(
            monthly.assign(lag_kind=monthly["lag_kind"].map(lambda k: LAG_LABELS.get(k, k))),
            x="finish_month",
            y="median_business_days",
            color="lag_kind",
            markers=True,
            labels={
                "median_business_days": "median business days",
                "finish_month": "",
                "lag_kind": "lag",
            },
        )
        for row in stats.itertuples():
            figure.add_hline(
                y=row.sla_business_days,
                line_dash="dot",
                annotation_text=f"SLA {LAG_LABELS.get(row.lag_kind, row.lag_kind)}",
            )
        plot(st, figure, key="lags_chart", title="Median lag by month (business days)")
    st.markdown("**Past the SLA**")
    late = query("ops_open_lags", params)
    if len(late) >= 2000:
        st.caption("The 2,000 latest-running records; narrow the filters to see others.")
    table(late, "records_past_sla", empty="No record past its SLA.", height=320)


page_header(
    "Billing operations",
    "The exception queue, billing batches and their ERP outbox status, dead letters, and lags "
    "against their SLAs.",
)
filters = current_filters()
if require_snapshot() and require_tables(*TABLES) and require_as_of(filters):
    snapshot = current_snapshot()
    params = {**filters.params(), "built_date": snapshot.built_at.date()}
    exception_queue(params, filters)
    billing_batches(params, filters)
    lags(params, filters)

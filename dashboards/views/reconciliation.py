"""Reconciliation: PSA and Concur against the ERP, per record and per batch.

Record level: every approved billable time entry and expense matched to the ERP invoice line
that bills it (and each expense to its ERP posting), with a status (matched, timing, held,
discrepancy) and the reason it differs. Batch level: the control totals of each ERP invoice
and expense journal, PSA side against ERP side.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import format as fmt
from dashboards.data import query
from dashboards.filters import current_filters
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
    "marts.reconciliation_records",
    "marts.reconciliation_control_totals",
    "marts.fct_time_entries",
    "marts.fct_expenses",
    "marts.fct_invoices",
    "marts.dim_clients",
    "marts.dim_legal_entities",
    "marts.dim_resources",
)
RECORD_STATUSES = ("matched", "timing", "held", "discrepancy")
BATCH_STATUSES = ("matched", "explained", "timing", "discrepancy")
CURRENCY_NOTE = (
    "Amounts in the contract currency (records) or the batch's currency (control totals): "
    "the reconciliation marts carry no reporting-currency amounts."
)


def records(params, filters) -> None:
    """Record-level reconciliation: statuses, reasons and the records behind them."""
    st.subheader("PSA vs ERP by record")
    filter_note(filters, ["recon_summary", "recon_records"])
    summary = query("recon_summary", params)
    if summary.empty:
        st.caption("No billable records in scope.")
        return
    counts = summary.groupby("reconciliation_status")["records"].sum()
    total = counts.sum()
    columns = st.columns(len(RECORD_STATUSES))
    for column, status in zip(columns, RECORD_STATUSES, strict=True):
        column.metric(
            f"Records {status}",
            fmt.count(counts.get(status, 0)),
            help=f"{fmt.share(fmt.ratio(counts.get(status, 0), total))} of {fmt.count(total)}",
        )
    differing = summary[summary["reconciliation_status"] != "matched"]
    if not differing.empty:
        by_reason = differing.groupby(
            ["reconciliation_status", "difference_reason"], as_index=False
        )[["records"]].sum()
        figure = px.bar(
            in_words(by_reason, "difference_reason"),
            x="records",
            y="difference_reason",
            color="reconciliation_status",
            orientation="h",
            labels={"difference_reason": "", "reconciliation_status": "status"},
            category_orders={"reconciliation_status": list(RECORD_STATUSES)},
        )
        figure.update_layout(height=max(260, 60 + 32 * by_reason["difference_reason"].nunique()))
        plot(st, figure, key="recon_reasons_chart", title="Records by difference reason")
    if filters.currency == "reporting":
        st.caption(CURRENCY_NOTE)
    table(summary, "reconciliation_by_reason", empty="No records.")

    st.markdown("**The records behind them**")
    pick = st.columns(2)
    statuses = pick[0].multiselect(
        "Status",
        [s for s in RECORD_STATUSES if s in set(summary["reconciliation_status"])],
        key="recon_status",
        placeholder="All but matched",
    )
    reasons_in_scope = summary[
        summary["reconciliation_status"].isin(statuses or RECORD_STATUSES[1:])
    ]["difference_reason"]
    reasons = pick[1].multiselect(
        "Reason",
        sorted(r for r in reasons_in_scope.unique() if r != "(matched)"),
        key="recon_reason",
        placeholder="All",
    )
    rows = query("recon_records", {**params, "status": statuses, "reason": reasons})
    if len(rows) >= 2000:
        st.caption("The 2,000 largest differences; narrow the choice to see others.")
    table(rows, "reconciliation_records", empty="No records for this choice.", height=360)


def control_totals(params, filters) -> None:
    """Control totals per ERP invoice and expense journal."""
    st.subheader("Control totals per batch")
    st.caption(
        "Each ERP invoice (a billing batch; write-back invoices carry their Deliver-to-Bill "
        "batch key) and each expense journal: record count, hours and amount on the PSA / "
        "Concur side against the ERP."
    )
    filter_note(filters, ["recon_control_totals"], "batches are per invoice or journal.")
    totals = query("recon_control_totals", params)
    if totals.empty:
        st.caption("No ERP batches in scope.")
        return
    columns = st.columns(len(BATCH_STATUSES))
    for column, status in zip(columns, BATCH_STATUSES, strict=True):
        column.metric(f"Batches {status}", fmt.count((totals["control_status"] == status).sum()))
    by_kind = totals.groupby(
        ["control_kind", "control_status", "difference_reason"], dropna=False, as_index=False
    ).agg(batches=("batch_id", "size"))
    table(by_kind, "control_totals_by_status", empty="No batches.")
    kind = st.segmented_control(
        "Batches",
        ["invoice", "expense_journal"],
        default="invoice",
        key="recon_kind",
        format_func=lambda k: "Invoices" if k == "invoice" else "Expense journals",
    )
    shown = totals if kind is None else totals[totals["control_kind"] == kind]
    table(shown, "control_totals", empty="No batches of this kind.", height=360)


page_header(
    "Reconciliation",
    "PSA and Concur against the ERP: differences per record with their reasons, and control "
    "totals per batch.",
)
filters = current_filters()
if require_snapshot() and require_tables(*TABLES) and require_as_of(filters):
    params = filters.params()
    records(params, filters)
    control_totals(params, filters)

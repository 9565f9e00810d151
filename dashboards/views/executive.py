"""Executive overview: where money is stuck, at a glance.

KPI tiles with their change, the deliver-to-bill funnel, WIP aging, trends by month (with
revenue recognition: recognized revenue, billed, contract assets and liabilities beside the
margin) and breakdowns by region, legal entity, practice and client. Flows (leakage,
realization, utilization, recognized revenue, margin, invoice release delay) cover the KPI
window (the chosen period, else the last three complete months) against the window before,
when the firm's history covers it; months still open (not ended, or their invoicing not out)
are marked and never compared. Stocks (WIP) stand at the as-of date against the previous
published snapshot.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards import format as fmt
from dashboards.data import previous_snapshot, query, query_previous, snapshot_as_of
from dashboards.filters import (
    current_filters,
    in_window,
    kpi_windows,
    last_complete_month,
    last_ended_month,
    month_start,
    open_months,
    period_window,
    shift_period,
)
from dashboards.lags import monthly as lag_months
from dashboards.ui import (
    currency_totals,
    filter_note,
    metric,
    money_metric,
    page_header,
    plot,
    require_as_of,
    require_snapshot,
    require_tables,
    table,
)

TABLES = (
    "marts.unbilled_approved_hours",
    "marts.billing_funnel",
    "marts.revenue_leakage",
    "marts.project_financials_monthly",
    "marts.contract_revenue_monthly",
    "marts.utilization_monthly",
    "marts.timesheet_compliance_monthly",
    "marts.record_lags",
    "marts.lag_summary",
    "marts.dim_contracts",
    "marts.dim_clients",
    "marts.dim_legal_entities",
    "marts.fct_invoices",
)
STAGES = ("delivered", "approved", "billable", "batched", "invoiced", "paid")
BUCKETS = (
    ("0_30", "0–30 days"),
    ("31_60", "31–60 days"),
    ("61_90", "61–90 days"),
    ("91_120", "91–120 days"),
    ("over_120", "> 120 days"),
)
DIMENSIONS = {
    "Region": "region",
    "Legal entity": "legal_entity",
    "Practice": "practice",
    "Client": "client_name",
}


def ratio_of_sums(frame: pd.DataFrame, top: str, bottom: str) -> float | None:
    """Σ top ÷ Σ bottom (None without rows or with a zero denominator)."""
    return fmt.ratio(frame[top].sum(), frame[bottom].sum()) if not frame.empty else None


def invoice_release_row(lags: pd.DataFrame) -> pd.Series | None:
    """The invoice-release row of ``lag_stats`` (None: the user's scope shows no invoices)."""
    rows = lags.set_index("lag_kind")
    return rows.loc["invoice_release"] if "invoice_release" in rows.index else None


def complete_until(as_of) -> str | None:
    """The last complete month of the snapshot (``filters.last_complete_month``)."""
    return last_complete_month(as_of, query("exec_invoiced_periods"))


def open_note(last_complete: str | None) -> str:
    """Why the months after ``last_complete`` are open."""
    return (
        f"months after {fmt.month(month_start(last_complete))} are open"
        if last_complete
        else "every month is open"
    ) + " (not ended, or their invoicing not yet out)"


def mark_open(figure: go.Figure, months: pd.Series, last_complete: str | None) -> None:
    """Shade the open months among ``months`` (a chart's x values, month dates)."""
    first_open = month_start(shift_period(last_complete, 1)) if last_complete else date.min
    shown = sorted({m for m in pd.to_datetime(months).dt.date if m >= first_open})
    if not shown:
        return
    half_month = timedelta(days=15)
    figure.add_vrect(
        x0=shown[0] - half_month,
        x1=shown[-1] + half_month,
        fillcolor="grey",
        opacity=0.15,
        line_width=0,
        annotation_text="open",
        annotation_position="top left",
    )


def tiles(params, filters, as_of, last_complete: str | None) -> None:
    """The KPI tiles with their change (flows: window before; WIP: previous snapshot)."""
    window, previous = kpi_windows(filters, last_complete or last_ended_month(as_of))
    still_open = open_months(window, last_complete)
    reporting = {**params, "currency": "reporting"}
    wip = query("exec_wip", params)
    wip_before = query_previous("exec_wip", params)
    leakage = query("exec_leakage", params)
    financials = query("financials", params)
    ratios = query("financials", reporting)  # ratios are taken in the reporting currency
    utilization = query("utilization", params)
    invoices = {**params, "lag_kind": ["invoice_release"]}
    lags_now = query("lag_stats", {**invoices, **window.params()})
    lags_before = query("lag_stats", {**invoices, **previous.params()})

    history_start = min(pd.to_datetime(ratios["month_start_date"]).dt.date, default=None)
    # no change against missing history, nor for a window holding open months
    has_previous = (
        history_start is not None and history_start <= previous.start and still_open is None
    )
    before_snapshot = previous_snapshot()
    before_as_of = query_previous("as_of_lag_summary")
    if still_open is not None:
        compared = f" (**{still_open.label()} open**: {open_note(last_complete)}; not compared)"
    elif has_previous:
        compared = f", change against {previous.label()}"
    else:
        compared = f" (no history for {previous.label()}: not compared)"
    st.caption(
        f"Flows: **{window.label()}**"
        + compared
        + ". WIP: at the as-of date"
        + (
            f", change since the snapshot built {before_snapshot.built_at:%Y-%m-%d %H:%M} UTC"
            + (
                f" (as of {before_as_of.iloc[0, 0]:%Y-%m-%d})."
                if before_as_of is not None and pd.notna(before_as_of.iloc[0, 0])
                else "."
            )
            if wip_before is not None and before_snapshot is not None
            else " (no earlier snapshot to compare with)."
        )
    )

    first, second = st.columns(4), st.columns(4)
    money_metric(
        first[0],
        "WIP value",
        currency_totals(wip, "unbilled_value"),
        currency_totals(wip_before, "unbilled_value") if wip_before is not None else None,
        help="Unbilled approved hours × resolved bill rate (marts.unbilled_approved_hours).",
        inverse=True,
    )
    hours_now = float(wip["unbilled_hours"].sum()) if not wip.empty else 0.0
    hours_before = (
        float(wip_before["unbilled_hours"].sum())
        if wip_before is not None and not wip_before.empty
        else (0.0 if wip_before is not None else None)
    )
    change = fmt.difference(hours_now, hours_before)
    metric(
        first[1],
        "Unbilled approved hours",
        fmt.hours(hours_now),
        change,
        fmt.hours_delta(change),
        help="Approved, billable, valid hours on no released invoice line.",
        inverse=True,
    )
    leak_now = in_window(leakage, "record_month", window)
    leak_before = in_window(leakage, "record_month", previous)
    money_metric(
        first[2],
        "Revenue leakage",
        currency_totals(leak_now, "leakage_amount"),
        currency_totals(leak_before, "leakage_amount") if has_previous else None,
        help="Billed below rate, unbilled over 90 days and work on expired contracts, on "
        "records dated in the window (marts.revenue_leakage).",
        inverse=True,
    )
    real_now = ratio_of_sums(
        in_window(ratios, "month_start_date", window),
        "invoiced_value",
        "invoiced_value_at_resolved_rate",
    )
    real_before = ratio_of_sums(
        in_window(ratios, "month_start_date", previous),
        "invoiced_value",
        "invoiced_value_at_resolved_rate",
    )
    change = fmt.difference(real_now, real_before) if has_previous else None
    metric(
        first[3],
        "Realization",
        fmt.share(real_now),
        change,
        fmt.share_delta(change),
        help="Invoiced value ÷ invoiced hours at the resolved rate, work months in the window "
        "(reporting currency).",
    )
    util_now = ratio_of_sums(
        in_window(utilization, "month_start_date", window), "billable_hours", "capacity_hours"
    )
    util_before = ratio_of_sums(
        in_window(utilization, "month_start_date", previous), "billable_hours", "capacity_hours"
    )
    change = fmt.difference(util_now, util_before) if has_previous else None
    metric(
        second[0],
        "Utilization",
        fmt.share(util_now),
        change,
        fmt.share_delta(change),
        help="Billable hours ÷ capacity hours (marts.utilization_monthly).",
    )
    fin_now = in_window(financials, "month_start_date", window)
    fin_before = in_window(financials, "month_start_date", previous)
    margin_share = ratio_of_sums(
        in_window(ratios, "month_start_date", window), "margin", "recognized_revenue"
    )
    money_metric(
        second[1],
        "Margin",
        currency_totals(fin_now, "margin"),
        currency_totals(fin_before, "margin") if has_previous else None,
        help="Recognized revenue − labour cost − non-reimbursable expenses, by work month"
        f" (marts.project_financials_monthly). Margin share: {fmt.share(margin_share)}.",
    )
    release = invoice_release_row(lags_now)
    release_before = invoice_release_row(lags_before)
    if release is None:  # a scope that shows no invoices (a practice's: invoices have none)
        metric(second[2], "Invoice release delay", "–", help="No invoices in your scope.")
    else:
        change = (
            fmt.difference(release["median_business_days"], release_before["median_business_days"])
            if has_previous and release_before is not None
            else None
        )
        metric(
            second[2],
            "Invoice release delay",
            f"{fmt.days(release['median_business_days'])} days",
            change,
            fmt.days_delta(change),
            inverse=True,
            help="Median business days from ready to release of invoices released in the "
            f"window (p90 {fmt.days(release['p90_business_days'])}; SLA "
            f"{int(release['sla_business_days'])}; {int(release['sla_breach_count'])} "
            "breaches).",
        )
    money_metric(
        second[3],
        "Recognized revenue",
        currency_totals(fin_now, "recognized_revenue"),
        currency_totals(fin_before, "recognized_revenue") if has_previous else None,
        help="Revenue recognized in the window's work months: time and materials as delivered "
        "(approved billable work at rate), fixed fees by completion, retainers straight-line "
        "(marts.contract_revenue_monthly, split over the projects).",
    )
    if filters.currency == "contract":
        by_currency = pd.concat(
            {
                "WIP value": currency_totals(wip, "unbilled_value"),
                "Leakage": currency_totals(leak_now, "leakage_amount"),
                "Recognized revenue": currency_totals(fin_now, "recognized_revenue"),
                "Margin": currency_totals(fin_now, "margin"),
            },
            axis=1,
        ).reset_index(names="currency")
        st.markdown("**Money by contract currency**")
        table(by_currency, "kpis_by_currency", empty="No amounts in scope.")
    filter_note(filters, ["exec_wip"], "WIP is per project at the as-of date.")
    filter_note(filters, ["utilization"], "utilization is per person.", sliced=["period"])
    filter_note(filters, ["lag_stats"], "invoices have no practice.", sliced=["period"])


def funnel(params, filters) -> None:
    """The deliver-to-bill funnel in hours, with hours and values per stage."""
    st.subheader("Deliver-to-bill funnel")
    frame = in_window(query("exec_funnel", params), "work_month", period_window(filters))
    if frame.empty:
        st.caption("No time entries in scope.")
        return
    st.caption(
        "Time entries by work month"
        + (f" ({period_window(filters).label()})" if period_window(filters) else " (all months)")
        + ": delivered, approved, billable (approved, billable, valid), batched, invoiced "
        "(released invoice), paid."
    )
    filter_note(filters, ["exec_funnel"], "the funnel is per project.", sliced=["period"])
    hours = [float(frame[f"{stage}_hours"].sum()) for stage in STAGES]
    left, right = st.columns([3, 2])
    figure = go.Figure(
        go.Funnel(
            y=[stage.capitalize() for stage in STAGES],
            x=hours,
            textinfo="value+percent initial",
            texttemplate="%{value:,.0f} h (%{percentInitial:.1%})",
        )
    )
    figure.update_layout(height=340, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    plot(left, figure, key="funnel_chart", title="Hours by stage (h)")
    stages = pd.DataFrame({"stage": STAGES, "hours": hours})
    values = (
        frame.groupby("currency")[[f"{stage}_value" for stage in STAGES]]
        .sum()
        .T.set_axis(STAGES)
        .rename(columns=lambda currency: f"value {currency}")
        .reset_index(drop=True)
    )
    with right:
        table(pd.concat([stages, values], axis=1), "funnel", empty="No time entries.")


def wip_aging(params, filters) -> None:
    """WIP by days since approval, and by client."""
    st.subheader("WIP aging")
    wip = query("exec_wip", params)
    if wip.empty:
        st.caption("No unbilled approved hours.")
        return
    filter_note(filters, ["exec_wip"], "WIP is per project at the as-of date.")
    rows = []
    for key, label in BUCKETS:
        if filters.currency == "contract":
            for currency, part in wip.groupby("currency"):
                rows.append(
                    {
                        "age": label,
                        "currency": currency,
                        "hours": float(part[f"hours_aged_{key}"].sum()),
                        "value": float(part[f"value_aged_{key}"].sum()),
                    }
                )
        else:
            rows.append(
                {
                    "age": label,
                    "hours": float(wip[f"hours_aged_{key}"].sum()),
                    f"value {wip['currency'].iloc[0]}": float(
                        wip[f"value_aged_{key}_reporting"].sum()
                    ),
                }
            )
    aging = pd.DataFrame(rows)
    left, right = st.columns([3, 2])
    if filters.currency == "contract":
        figure = px.bar(aging, x="age", y="value", color="currency", barmode="group")
    else:
        value = aging.columns[-1]
        figure = px.bar(aging, x="age", y=value, labels={"age": "days since approval"})
        left.caption(f"Unbilled value ({value.split()[-1]}) by days since approval.")
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    plot(left, figure, key="wip_aging_chart", title="Unbilled value by days since approval")
    with right:
        table(aging, "wip_aging", empty="No unbilled approved hours.")
    by_client = (
        wip.groupby(["client_name", "legal_entity", "currency"], as_index=False)[
            ["projects", "time_entries", "unbilled_hours", "unbilled_value", "hours_aged_over_120"]
        ]
        .sum()
        .sort_values("unbilled_value", ascending=False)
    )
    over_120(wip, filters)
    with st.expander("WIP by client"):
        table(by_client, "wip_by_client", empty="No unbilled approved hours.")


#: Clients listed beside the over-120-day WIP tile.
TOP_OVER_120_CLIENTS = 5


def over_120(wip: pd.DataFrame, filters) -> None:
    """WIP approved more than 120 days ago and the clients holding most of it, in view."""
    value = (
        "value_aged_over_120" if filters.currency == "contract" else "value_aged_over_120_reporting"
    )
    old = wip[wip["hours_aged_over_120"] > 0]
    tile, clients = st.columns([1, 3])
    money_metric(
        tile,
        "WIP over 120 days",
        currency_totals(old.rename(columns={value: "over_120_value"}), "over_120_value"),
        help="Unbilled approved hours approved more than 120 days before the as-of date, "
        "at the resolved bill rate.",
        inverse=True,
    )
    largest = (
        old.groupby(["client_name", "currency"], as_index=False)[["hours_aged_over_120", value]]
        .sum()
        .rename(columns={value: "value_aged_over_120"})
        .sort_values("value_aged_over_120", ascending=False)
        .head(TOP_OVER_120_CLIENTS)
    )
    with clients:
        st.markdown(f"**Largest clients with WIP over 120 days** (top {TOP_OVER_120_CLIENTS})")
        table(largest, "wip_over_120_by_client", empty="No WIP older than 120 days.")


def trends(params, filters, last_complete: str | None) -> None:
    """Monthly trends: money, ratios, billing stages, leakage, invoice release delay.

    Open months are shaded: their money and ratios are not final.
    """
    st.subheader("Trends by month")
    st.caption(f"Shaded: {open_note(last_complete)}; their figures are not final.")
    window = period_window(filters)
    financials = in_window(query("financials", params), "month_start_date", window)
    ratios = in_window(
        query("financials", {**params, "currency": "reporting"}), "month_start_date", window
    )
    utilization = in_window(query("utilization", params), "month_start_date", window)
    funnel_frame = in_window(query("exec_funnel", params), "work_month", window)
    leakage = in_window(query("exec_leakage", params), "record_month", window)
    positions = in_window(query("exec_contract_positions", params), "month_start_date", window)
    lags = in_window(
        lag_months(query("lag_histogram", {**params, "lag_kind": ["invoice_release"]})),
        "finish_month",
        window,
    )

    filter_note(
        filters,
        ["utilization", "exec_funnel", "lag_histogram", "exec_contract_positions"],
        "utilization is per person, the funnel and invoices per project, revenue recognition "
        "per contract.",
        sliced=["period"],
    )
    money, rates, billing, leak, release = st.tabs(
        ["Revenue and margin", "Utilization and realization", "Billing", "Leakage", "Release delay"]
    )
    with money:
        monthly = financials.groupby(["month_start_date", "currency"], as_index=False)[
            ["recognized_revenue", "total_cost", "margin"]
        ].sum()
        long = monthly.melt(["month_start_date", "currency"], var_name="measure")
        figure = px.bar(
            long,
            x="month_start_date",
            y="value",
            color="measure",
            barmode="group",
            facet_row="currency" if monthly["currency"].nunique() > 1 else None,
            labels={"month_start_date": "work month", "value": ""},
        )
        mark_open(figure, monthly["month_start_date"], last_complete)
        plot(
            st,
            figure,
            key="trend_margin_chart",
            title="Recognized revenue, cost and margin by work month",
        )
        recognition(monthly, positions, filters, last_complete)
    with rates:
        util = utilization.groupby("month_start_date", as_index=False)[
            ["billable_hours", "logged_hours", "capacity_hours", "on_time_days", "due_days"]
        ].sum()
        util["utilization"] = util["billable_hours"] / util["capacity_hours"]
        util["total_utilization"] = util["logged_hours"] / util["capacity_hours"]
        util["compliance"] = util["on_time_days"] / util["due_days"]
        real = ratios.groupby("month_start_date", as_index=False)[
            ["invoiced_value", "invoiced_value_at_resolved_rate"]
        ].sum()
        real["realization"] = real["invoiced_value"] / real["invoiced_value_at_resolved_rate"]
        both = util.merge(real[["month_start_date", "realization"]], how="outer")
        long = both.melt(
            "month_start_date",
            ["utilization", "total_utilization", "realization", "compliance"],
            var_name="measure",
        )
        figure = px.line(long, x="month_start_date", y="value", color="measure", markers=True)
        figure.update_yaxes(tickformat=".0%")
        mark_open(figure, both["month_start_date"], last_complete)
        plot(
            st, figure, key="trend_rates_chart", title="Utilization, realization and compliance (%)"
        )
        table(both, "trend_rates", empty="No utilization in scope.")
    with billing:
        monthly = funnel_frame.groupby(["work_month", "currency"], as_index=False)[
            ["billable_value", "batched_value", "invoiced_value", "paid_value"]
        ].sum()
        long = monthly.melt(["work_month", "currency"], var_name="stage")
        figure = px.line(
            long,
            x="work_month",
            y="value",
            color="stage",
            line_dash="currency" if monthly["currency"].nunique() > 1 else None,
            markers=True,
        )
        mark_open(figure, monthly["work_month"], last_complete)
        plot(st, figure, key="trend_billing_chart", title="Value by billing stage and work month")
        table(monthly, "trend_billing", empty="No time entries in scope.")
    with leak:
        monthly = leakage.groupby(["record_month", "cause", "currency"], as_index=False)[
            ["records", "leakage_amount"]
        ].sum()
        figure = px.bar(
            monthly,
            x="record_month",
            y="leakage_amount",
            color="cause",
            facet_row="currency" if monthly["currency"].nunique() > 1 else None,
        )
        mark_open(figure, monthly["record_month"], last_complete)
        plot(st, figure, key="trend_leakage_chart", title="Revenue leakage by cause and month")
        table(monthly, "trend_leakage", empty="No leakage in scope.")
    with release:
        invoices = lags[lags["lag_kind"] == "invoice_release"]
        if not invoices.empty:
            figure = px.line(
                invoices.melt(
                    ["finish_month"], ["median_business_days", "p90_business_days"], var_name="m"
                ),
                x="finish_month",
                y="value",
                color="m",
                markers=True,
                labels={"value": "business days", "finish_month": "release month"},
            )
            figure.add_hline(
                y=float(invoices["sla_business_days"].max()),
                line_dash="dot",
                annotation_text="SLA",
            )
            plot(
                st, figure, key="trend_release_chart", title="Invoice release delay (business days)"
            )
        table(invoices, "trend_release_delay", empty="No invoice released in scope.")


#: The revenue recognition table's money columns, in their order.
RECOGNITION = ("recognized_revenue", "billed", "contract_assets", "contract_liabilities")


def recognition(monthly: pd.DataFrame, positions: pd.DataFrame, filters, last_complete) -> None:
    """Revenue recognition per month beside the margin.

    Recognized revenue, billed and the month-end contract assets and liabilities
    (``exec_contract_positions``), with the projects' cost and margin of the work month
    (``monthly``, from ``financials``).
    """
    by_contract = positions.groupby(["month_start_date", "currency"], as_index=False)[
        list(RECOGNITION)
    ].sum()
    frame = by_contract.merge(
        monthly[["month_start_date", "currency", "total_cost", "margin"]],
        on=["month_start_date", "currency"],
        how="outer",
    ).sort_values(["month_start_date", "currency"], ignore_index=True)
    long = frame.melt(["month_start_date", "currency"], list(RECOGNITION), var_name="measure")
    figure = px.line(
        long,
        x="month_start_date",
        y="value",
        color="measure",
        line_dash="currency" if frame["currency"].nunique() > 1 else None,
        markers=True,
        labels={"month_start_date": "month", "value": ""},
    )
    mark_open(figure, frame["month_start_date"], last_complete)
    plot(st, figure, key="trend_recognition_chart", title="Revenue recognition by month")
    st.caption(
        "Recognized revenue in the month it is earned; billed: labour invoice lines released "
        "in the month; contract assets (recognized above billed) and liabilities (billed above "
        "recognized): per contract at the month's end"
        + (
            ", each contract's month at the month's last FX rate."
            if filters.currency != "contract"
            else "."
        )
        + " Cost and margin: the projects' work of the month (margin = recognized revenue − "
        "cost)."
    )
    table(frame, "trend_revenue_recognition", empty="No revenue recognized in scope.")


def breakdowns(params, filters) -> None:
    """Money, WIP, leakage and utilization by region, legal entity, practice or client."""
    st.subheader("Breakdowns")
    label = st.segmented_control(
        "Break down by", list(DIMENSIONS), default="Region", key="exec_breakdown", required=True
    )
    dimension = DIMENSIONS[label or "Region"]
    window = period_window(filters)
    keys = [dimension, "currency"]
    financials = in_window(query("financials", params), "month_start_date", window)
    parts = [
        financials.groupby(keys)[
            ["billable_value", "recognized_revenue", "invoiced_value", "total_cost", "margin"]
        ].sum()
    ]
    if dimension != "practice":
        wip = query("exec_wip", params)
        parts.append(
            wip.groupby(keys)[["unbilled_hours", "unbilled_value"]]
            .sum()
            .rename(columns={"unbilled_value": "wip_value", "unbilled_hours": "wip_hours"})
        )
    leakage = in_window(query("exec_leakage", params), "record_month", window)
    if dimension in leakage:
        parts.append(
            leakage.groupby(keys)[["leakage_amount"]]
            .sum()
            .rename(columns={"leakage_amount": "leakage"})
        )
    frame = pd.concat(parts, axis=1).reset_index()
    frame["margin_share"] = frame["margin"] / frame["recognized_revenue"].where(
        frame["recognized_revenue"] != 0
    )
    if dimension != "client_name":
        utilization = in_window(query("utilization", params), "month_start_date", window)
        util = utilization.groupby(dimension)[["billable_hours", "capacity_hours"]].sum()
        frame = frame.merge(
            (util["billable_hours"] / util["capacity_hours"]).rename("utilization"),
            left_on=dimension,
            right_index=True,
            how="left",
        )
    frame = frame.sort_values(["recognized_revenue", *keys], ascending=[False, True, True])
    figure = px.bar(
        frame.melt(
            keys,
            [c for c in ("recognized_revenue", "margin", "wip_value", "leakage") if c in frame],
        ),
        x=dimension,
        y="value",
        color="variable",
        barmode="group",
        facet_row="currency" if frame["currency"].nunique() > 1 else None,
        labels={dimension: label, "variable": ""},
    )
    plot(st, figure, key="breakdown_chart", title=f"Money by {label.lower()}")
    st.caption(
        "Recognized revenue, billed (invoiced) value, cost and margin by the workers' practice "
        "and region and the project's "
        "billing legal entity and client (period: "
        + (window.label() if window else "all months")
        + "); WIP and leakage by the contract's legal entity, its region and client."
    )
    table(frame, f"breakdown_{dimension}", empty="Nothing in scope.")


page_header(
    "Executive overview",
    "Where money is stuck: WIP, leakage, realization, utilization, margin and how fast "
    "invoices go out.",
)
filters = current_filters()
if require_snapshot() and require_tables(*TABLES) and require_as_of(filters):
    params = filters.params()
    as_of = snapshot_as_of()
    last_complete = complete_until(as_of)
    tiles(params, filters, as_of, last_complete)
    funnel(params, filters)
    wip_aging(params, filters)
    trends(params, filters, last_complete)
    breakdowns(params, filters)

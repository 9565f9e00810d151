"""Utilization and margin: capacity against billable time, and what the work earns.

Utilization = billable hours ÷ capacity hours (weekly capacity on working days, less the
region's holidays, within employment dates); total utilization uses every logged hour;
compliance is the share of due capacity days with time submitted by the deadline. Margin =
recognized revenue (marts.contract_revenue_monthly split over the projects' work) − labour
cost − non-reimbursable expenses, by work month.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import format as fmt
from dashboards.data import query
from dashboards.filters import current_filters, in_window, period_window
from dashboards.ui import (
    currency_totals,
    filter_note,
    money_metric,
    page_header,
    plot,
    require_as_of,
    require_snapshot,
    require_tables,
    table,
)

TABLES = (
    "marts.utilization_monthly",
    "marts.timesheet_compliance_monthly",
    "marts.project_financials_monthly",
    "marts.dim_resources",
)
UTILIZATION_SUMS = [
    "resources_with_capacity",
    "capacity_hours",
    "billable_hours",
    "logged_hours",
    "due_days",
    "on_time_days",
]
MONEY_SUMS = [
    "billable_value",
    "recognized_revenue",
    "invoiced_value",
    "labour_cost",
    "expense_cost",
    "total_cost",
    "margin",
]


def with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Utilization, total utilization and compliance as ratios of the summed hours and days."""
    frame = frame.copy()
    capacity = frame["capacity_hours"].where(frame["capacity_hours"] != 0)
    frame["utilization"] = frame["billable_hours"] / capacity
    frame["total_utilization"] = frame["logged_hours"] / capacity
    frame["compliance"] = frame["on_time_days"] / frame["due_days"].where(frame["due_days"] != 0)
    return frame


def by_dimension(utilization, financials, ratios, dimension: str) -> pd.DataFrame:
    """Capacity, utilization and money per ``dimension`` (and currency) over the period."""
    util = utilization.groupby(dimension)[UTILIZATION_SUMS[1:]].sum()
    # people with capacity: the most in any one month of the period
    people = (
        utilization.groupby([dimension, "month_start_date"])["resources_with_capacity"]
        .sum()
        .groupby(level=0)
        .max()
    )
    util = with_rates(util.assign(people=people)).reset_index()
    money = financials.groupby([dimension, "currency"], as_index=False)[MONEY_SUMS].sum()
    money["margin_share"] = money["margin"] / money["recognized_revenue"].where(
        money["recognized_revenue"] != 0
    )
    real = ratios.groupby(dimension)[["invoiced_value", "invoiced_value_at_resolved_rate"]].sum()
    realization = (real["invoiced_value"] / real["invoiced_value_at_resolved_rate"]).rename(
        "realization"
    )
    frame = util.merge(money, on=dimension, how="outer").merge(
        realization, left_on=dimension, right_index=True, how="left"
    )
    return frame.sort_values("capacity_hours", ascending=False)


def tiles(utilization, financials, ratios) -> None:
    """Capacity, billable hours, utilization, compliance, recognized revenue, cost, margin."""
    totals = with_rates(utilization[UTILIZATION_SUMS[1:]].sum().to_frame().T).iloc[0]
    columns = st.columns(4)
    columns[0].metric("Capacity hours", fmt.hours(totals["capacity_hours"]))
    columns[1].metric("Billable hours", fmt.hours(totals["billable_hours"]))
    columns[2].metric(
        "Utilization",
        fmt.share(totals["utilization"]),
        help=f"Total utilization (all logged hours): {fmt.share(totals['total_utilization'])}",
    )
    columns[3].metric(
        "Timesheet compliance",
        fmt.share(totals["compliance"]),
        help="Due capacity days with time submitted by the deadline.",
    )
    columns = st.columns(4)
    money_metric(
        columns[0],
        "Recognized revenue",
        currency_totals(financials, "recognized_revenue"),
        help="Revenue recognized in the work month (as delivered, by completion or straight-line).",
    )
    money_metric(columns[1], "Cost", currency_totals(financials, "total_cost"))
    money_metric(columns[2], "Margin", currency_totals(financials, "margin"))
    columns[3].metric(
        "Margin share",
        fmt.share(fmt.ratio(ratios["margin"].sum(), ratios["recognized_revenue"].sum())),
        help="Margin ÷ recognized revenue (reporting currency).",
    )


def section(title, key, utilization, financials, ratios, dimension, filters) -> None:
    """Capacity and money charts and a table for one dimension."""
    st.subheader(title)
    frame = by_dimension(utilization, financials, ratios, dimension)
    if frame.empty:
        st.caption("Nothing in scope.")
        return
    left, right = st.columns(2)
    capacity = frame.drop_duplicates(dimension).melt(
        dimension, ["capacity_hours", "billable_hours", "logged_hours"], var_name="hours"
    )
    figure = px.bar(
        capacity, x=dimension, y="value", color="hours", barmode="group", labels={"value": ""}
    )
    figure.update_layout(height=320, margin={"t": 30})
    plot(left, figure, key=f"{key}_capacity_chart", title=f"Hours by {title.lower()} (h)")
    margin = frame.dropna(subset=["currency"]).melt(
        [dimension, "currency"], ["recognized_revenue", "total_cost", "margin"], var_name="measure"
    )
    figure = px.bar(
        margin,
        x=dimension,
        y="value",
        color="measure",
        barmode="group",
        facet_row="currency" if margin["currency"].nunique() > 1 else None,
        labels={"value": ""},
    )
    figure.update_layout(height=320, margin={"t": 30})
    currency = margin["currency"].iloc[0] if margin["currency"].nunique() == 1 else "by currency"
    plot(
        right,
        figure,
        key=f"{key}_margin_chart",
        title=f"Recognized revenue, cost and margin by {title.lower()} ({currency})",
    )
    table(frame, f"{key}_utilization_margin", empty="Nothing in scope.")


page_header(
    "Utilization and margin",
    "Capacity against billable and logged time by person, practice and region, and the "
    "revenue, cost and margin of their work.",
)
filters = current_filters()
if require_snapshot() and require_tables(*TABLES) and require_as_of(filters):
    params = filters.params()
    window = period_window(filters)
    utilization = in_window(query("utilization", params), "month_start_date", window)
    financials = in_window(query("financials", params), "month_start_date", window)
    ratios = in_window(
        query("financials", {**params, "currency": "reporting"}), "month_start_date", window
    )
    st.caption(
        "Period: "
        + (window.label() if window else "all months")
        + ". Recognized revenue and margin by the workers' practice and region."
    )
    filter_note(filters, ["utilization"], "utilization is per person.", sliced=["period"])
    if utilization.empty:
        st.info("No capacity in scope: no person was employed in the chosen period.")
    else:
        tiles(utilization, financials, ratios)
        section(
            "Utilization by practice",
            "practice",
            utilization,
            financials,
            ratios,
            "practice",
            filters,
        )
        monthly = with_rates(
            utilization.groupby(["month_start_date", "practice"], as_index=False)[
                UTILIZATION_SUMS[1:]
            ].sum()
        )
        figure = px.line(
            monthly,
            x="month_start_date",
            y="utilization",
            color="practice",
            markers=True,
            labels={"month_start_date": ""},
        )
        figure.update_yaxes(tickformat=".0%")
        plot(st, figure, key="practice_trend_chart", title="Utilization by practice and month (%)")
        section(
            "Utilization by region", "region", utilization, financials, ratios, "region", filters
        )

        st.subheader("By person")
        people = query("util_by_person", params)
        table(
            people,
            "utilization_by_person",
            empty="Nobody in scope.",
            height=420,
            column_config={
                "utilization": st.column_config.ProgressColumn(
                    "utilization", format="percent", min_value=0, max_value=1
                ),
                "total_utilization": st.column_config.NumberColumn(format="percent"),
                "compliance": st.column_config.NumberColumn(format="percent"),
            },
        )

        st.subheader("Margin by client")
        clients = financials.groupby(["client_name", "currency"], as_index=False)[
            MONEY_SUMS + ["hours", "invoiced_hours"]
        ].sum()
        clients["margin_share"] = clients["margin"] / clients["recognized_revenue"].where(
            clients["recognized_revenue"] != 0
        )
        table(
            clients.sort_values(["recognized_revenue", "client_name"], ascending=[False, True]),
            "margin_by_client",
            empty="No work in scope.",
        )

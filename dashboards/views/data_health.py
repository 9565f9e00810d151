"""Data health: is the data fresh, what was rejected, did the checks and runs pass."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards.data import query
from dashboards.ui import page_header, require_snapshot, require_tables, table

page_header("Data health", "Freshness, quarantine, check results and recent runs of the pipeline.")

HEALTH_TABLES = (
    "marts.pipeline_health_assets",
    "marts.pipeline_health_sources",
    "marts.pipeline_health_runs",
    "quarantine.rejected_rows",
)

if require_snapshot() and require_tables(*HEALTH_TABLES):
    assets = query("health_assets")
    sources = query("health_sources")
    runs = query("health_runs")
    rejections = query("quarantine_reasons")

    stale = int(assets["freshness_status"].isin(["warn", "fail"]).sum())
    failing = int(assets["checks_failed"].sum())
    rejected_rows = int(sources["rows_rejected"].sum()) if not sources.empty else 0
    rejected_files = int(sources["files_rejected"].sum()) if not sources.empty else 0
    columns = st.columns(4)
    columns[0].metric("Assets stale", stale, help="Freshness status warn or fail.")
    columns[1].metric("Failing checks", failing)
    columns[2].metric("Rows rejected", f"{rejected_rows:,}")
    columns[3].metric("Files rejected", rejected_files)

    st.subheader("Sources")
    table(sources, "pipeline_health_sources", empty="No files loaded yet.")

    st.subheader("Quarantine")
    if not rejections.empty:
        figure = px.bar(
            rejections,
            x="rows",
            y="reason",
            color="source_system",
            orientation="h",
            labels={"rows": "rejected rows", "reason": ""},
        )
        figure.update_layout(height=max(220, 80 + 40 * rejections["reason"].nunique()))
        st.plotly_chart(figure, width="stretch")
    table(rejections, "quarantine_reasons", empty="Nothing rejected.")

    st.subheader("Assets")
    table(assets, "pipeline_health_assets", empty="No assets recorded yet.")

    st.subheader("Recent runs")
    finished = runs.dropna(subset=["duration_seconds"])
    if not finished.empty:
        figure = px.bar(
            finished.sort_values("started_at"),
            x="started_at",
            y="duration_seconds",
            color="run_status",
            labels={"started_at": "", "duration_seconds": "seconds"},
        )
        st.plotly_chart(figure, width="stretch")
    table(runs, "pipeline_health_runs", empty="No runs recorded yet.")

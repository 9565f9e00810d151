"""Data health: is the data fresh, what was rejected or held and why, did checks and runs pass."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards.data import query
from dashboards.ui import in_words, page_header, plot, require_snapshot, require_tables, table

page_header(
    "Data health",
    "Freshness, rejected files and rows, checks that did not pass, what the exception queue "
    "holds, and recent runs of the pipeline.",
)

HEALTH_TABLES = (
    "marts.pipeline_health_assets",
    "marts.pipeline_health_sources",
    "marts.pipeline_health_runs",
    "marts.pipeline_health_checks",
    "marts.billing_exceptions",
    "quarantine.rejected_rows",
    "quarantine.rejected_files",
)

if require_snapshot() and require_tables(*HEALTH_TABLES):
    assets = query("health_assets")
    sources = query("health_sources")
    runs = query("health_runs")
    rejections = query("quarantine_reasons")
    rejected_file_list = query("health_rejected_files")
    checks = query("health_checks")
    held = query("health_held_exceptions")

    stale = int(assets["freshness_status"].isin(["warn", "fail"]).sum())
    rejected_rows = int(sources["rows_rejected"].sum()) if not sources.empty else 0
    rejected_files = int(sources["files_rejected"].sum()) if not sources.empty else 0
    failing = int((checks["check_outcome"] == "failed").sum())
    warnings = int((checks["check_outcome"] == "warning").sum())
    columns = st.columns(6)
    columns[0].metric("Assets stale", stale, help="Freshness status warn or fail.")
    columns[1].metric("Failing checks", failing, help="Blocking checks that failed.")
    columns[2].metric("Warning checks", warnings, help="Warning checks that fired: nothing held.")
    columns[3].metric("Rows rejected", f"{rejected_rows:,}")
    columns[4].metric("Files rejected", rejected_files)
    columns[5].metric(
        "Records held", f"{int(held['records'].sum()):,}", help="In the exception queue."
    )

    st.subheader("Sources")
    table(sources, "pipeline_health_sources", empty="No files loaded yet.")

    st.subheader("Quarantine")
    if not rejections.empty:
        figure = px.bar(
            in_words(rejections, "reason"),
            x="rows",
            y="reason",
            color="source_system",
            orientation="h",
            labels={"rows": "rejected rows", "reason": "", "source_system": "source"},
        )
        figure.update_layout(height=max(220, 80 + 40 * rejections["reason"].nunique()))
        plot(st, figure, key="health_rejections_chart", title="Rejected rows by reason")
    table(rejections, "quarantine_reasons", empty="Nothing rejected.")
    st.markdown("**Rejected files**")
    table(rejected_file_list, "health_rejected_files", empty="No file rejected.")

    st.subheader("Held for review")
    st.caption(
        "Records loaded but held from billing as exceptions, by the team that owns them "
        "(the Operations page lists each record)."
    )
    table(held, "health_held_exceptions", empty="The exception queue is empty.")

    st.subheader("Checks that did not pass")
    st.caption(
        "Each check's latest evaluation, this build's own: a blocking check that failed "
        "stopped its run; a warning check that fired held nothing back."
    )
    table(checks, "health_checks", empty="Every evaluated check passed.")

    st.subheader("Assets")
    table(assets, "pipeline_health_assets", empty="No assets recorded yet.")

    st.subheader("Recent runs")
    st.caption(
        "`built` is the run that built this snapshot: its models and checks had passed when it "
        "recorded this history, before publishing."
    )
    finished = runs.dropna(subset=["duration_seconds"])
    if not finished.empty:
        figure = px.bar(
            finished.sort_values("started_at"),
            x="started_at",
            y="duration_seconds",
            color="run_status",
            labels={"started_at": "", "duration_seconds": "seconds"},
        )
        plot(st, figure, key="health_runs_chart", title="Run durations (seconds)")
    table(runs, "pipeline_health_runs", empty="No runs recorded yet.")

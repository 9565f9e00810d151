"""Trace: one record's whole life, from source submission to ERP posting and payment.

Type a time entry id, expense id, expense report id, invoice number or ERP id, correlation id
or billing batch key. What is typed is only ever a bound query parameter, compared for
equality: never part of the SQL.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards.data import BILLING_BATCH_TABLES, query, table_exists
from dashboards.format import plain
from dashboards.ui import page_header, plot, require_snapshot, require_tables, table

TABLES = (
    "marts.fct_lifecycle_events",
    "marts.fct_time_entries",
    "marts.fct_expenses",
    "marts.fct_invoices",
    "marts.fct_invoice_lines",
    "marts.fct_invoice_line_records",
    "marts.dim_clients",
    "marts.dim_projects",
    "marts.dim_resources",
)
#: Lifecycle stages in order (the timeline's rows, top to bottom).
STAGES = (
    "submitted",
    "rejected",
    "approved",
    "validated",
    "batched",
    "frozen",
    "sent",
    "invoiced",
    "posted",
    "reconciled",
    "paid",
)
DETAIL_QUERIES = {
    "time_entry": "trace_time_entry",
    "expense": "trace_expense",
    "invoice": "trace_invoice",
}
KIND_LABELS = {
    "time_entry": "Time entry",
    "expense": "Expense",
    "invoice": "Invoice",
    "batch": "Billing batch",
}


def find(needle: str) -> pd.DataFrame:
    """Records matching ``needle`` exactly (bound as a parameter)."""
    found = [query("trace_find", {"needle": needle})]
    if all(table_exists(name) for name in BILLING_BATCH_TABLES):
        found.append(query("trace_find_batch", {"needle": needle}))
    return pd.concat(found, ignore_index=True)


def outbox_events(batch_key: str | None) -> pd.DataFrame:
    """The batch's audit trail as timeline events (empty without an outbox or a batch)."""
    if not batch_key or not all(table_exists(name) for name in BILLING_BATCH_TABLES):
        return pd.DataFrame(columns=["event_at", "event_type", "event_source", "detail"])
    audit = query("trace_batch_events", {"batch_key": batch_key})
    return pd.DataFrame(
        {
            "event_at": audit["event_at"],
            "event_type": audit["to_status"].where(~audit["to_status"].isin(["ready"]), "frozen"),
            "event_source": "d2b outbox",
            "detail": audit["event"] + " (" + audit["actor"] + ")",
        }
    )


def in_lifecycle_order(events: pd.DataFrame) -> pd.DataFrame:
    """Events by day, then by stage within a day, then by time.

    The ERP's events are dates (midnight), so on the day a batch is frozen, sent, invoiced
    and posted the stage order is the truthful one.
    """
    if events.empty:
        return events
    stamps = pd.to_datetime(events["event_at"])
    stage = events["event_type"].map({s: i for i, s in enumerate(STAGES)}).fillna(len(STAGES))
    order = pd.DataFrame({"day": stamps.dt.normalize(), "stage": stage, "at": stamps})
    return events.loc[order.sort_values(["day", "stage", "at"], kind="stable").index].reset_index(
        drop=True
    )


def timeline(events: pd.DataFrame) -> None:
    """The events as a timeline, one row per lifecycle stage."""
    if events.empty:
        st.caption("No lifecycle events recorded for this record.")
        return
    order = [s for s in STAGES if s in set(events["event_type"])] + sorted(
        set(events["event_type"]) - set(STAGES)
    )
    figure = px.line(
        events,
        x="event_at",
        y="event_type",
        markers=True,
        text="event_type",
        hover_data=[c for c in ("event_source", "detail") if c in events],
        category_orders={"event_type": order},
        labels={"event_at": "", "event_type": ""},
    )
    figure.update_traces(textposition="top center", line={"dash": "dot"})
    figure.update_layout(height=120 + 40 * len(order), margin={"l": 10, "r": 10, "t": 20})
    plot(st, figure, key="trace_timeline_chart", title="Lifecycle of the record")


def key_values(frame: pd.DataFrame, name: str) -> None:
    """One record's fields as a two-column table (field, value)."""
    if frame.empty:
        st.caption("Not found in the marts.")
        return
    row = frame.iloc[0]
    pairs = pd.DataFrame({"field": list(frame.columns), "value": [_text(v) for v in row]})
    table(pairs, name, empty="")


def _text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


def show_record(kind: str, correlation_id: str, source_id: str) -> None:
    """A record's lifecycle, its invoice lines or records billed, its batch and fields."""
    st.subheader(f"{KIND_LABELS.get(kind, kind)} {plain(source_id)}")
    if kind == "batch":
        show_batch(correlation_id)
        return
    detail = query(DETAIL_QUERIES[kind], {"correlation_id": correlation_id})
    events = query(
        "trace_events",
        {"correlation_id": correlation_id, "record_kind": kind, "source_id": source_id},
    )
    batch_key = None
    if not detail.empty and "batch_key" in detail and pd.notna(detail.iloc[0]["batch_key"]):
        batch_key = detail.iloc[0]["batch_key"]
    extra = outbox_events(batch_key)
    combined = in_lifecycle_order(
        pd.concat(
            [
                events.assign(detail=None)[["event_at", "event_type", "event_source", "detail"]],
                extra,
            ],
            ignore_index=True,
        )
    )
    st.markdown("**Lifecycle**")
    st.caption(f"Correlation id {plain(correlation_id)}")
    timeline(combined)
    table(combined, "trace_events", empty="No lifecycle events.")

    if kind in ("time_entry", "expense"):
        st.markdown("**On ERP invoice lines**")
        lines = query("trace_record_lines", {"correlation_id": correlation_id})
        if len(lines) > 1:
            st.warning(f"Billed on {len(lines)} invoice lines: double billing.")
        table(lines, "trace_invoice_lines", empty="Not on any ERP invoice line yet.")
    else:
        st.markdown("**Invoice lines**")
        table(
            query("trace_invoice_lines", {"correlation_id": correlation_id}),
            "trace_invoice_lines",
            empty="The invoice has no lines.",
        )
        st.markdown("**Records billed**")
        table(
            query("trace_invoice_records", {"correlation_id": correlation_id}),
            "trace_invoice_records",
            empty="The invoice's lines bill no known record (agreed amounts).",
        )
    if batch_key:
        st.markdown("**Billing batch**")
        if all(table_exists(name) for name in BILLING_BATCH_TABLES):
            key_values(query("trace_batch", {"batch_key": batch_key}), "trace_batch")
        else:
            st.caption(f"Batch {plain(batch_key)} (the snapshot has no billing batches).")
    st.markdown("**Record**")
    key_values(detail, "trace_record")


def show_batch(batch_key: str) -> None:
    """A billing batch: its outbox trail, its ERP invoice and its fields."""
    batch = query("trace_batch", {"batch_key": batch_key})
    events = in_lifecycle_order(outbox_events(batch_key))
    st.markdown("**Lifecycle**")
    timeline(events)
    table(events, "trace_events", empty="No outbox events.")
    invoice = find(batch_key)
    invoice = invoice[invoice["record_kind"] == "invoice"]
    if not invoice.empty:
        st.markdown("**ERP invoice**")
        first = invoice.iloc[0]
        st.caption(f"{plain(first['summary'])} — trace it by its number or id.")
        table(
            query("trace_invoice_lines", {"correlation_id": first["correlation_id"]}),
            "trace_invoice_lines",
            empty="The invoice has no lines.",
        )
    st.markdown("**Batch**")
    key_values(batch, "trace_batch")


page_header(
    "Trace",
    "Find a time entry, expense, invoice, correlation id or billing batch and follow it from "
    "source submission through approval, validation, batching and the ERP to payment.",
)
if require_snapshot() and require_tables(*TABLES):
    st.subheader("Find a record")
    # the record traced lives in the URL (?record=...): a link or a reload shows it again
    if "trace_needle" not in st.session_state:
        st.session_state["trace_needle"] = st.query_params.get("record", "")
    needle = st.text_input(
        "Record id",
        key="trace_needle",
        placeholder="2400000018, INV-US01-000001, an expense report id, a correlation id ...",
        help="Matched exactly: a Harvest/Toggl entry id, a Concur entry or report id, an ERP "
        "invoice number or id, a correlation id or key, a billing batch key.",
    ).strip()
    if needle:
        st.query_params["record"] = needle
    elif "record" in st.query_params:
        del st.query_params["record"]
    if not needle:
        st.caption("Type an id to see its lifecycle.")
    else:
        matches = find(needle)
        if matches.empty:
            st.info(f"Nothing matches {plain(needle)}.")
        else:
            choice = 0
            if len(matches) > 1:
                labels = [
                    f"{KIND_LABELS.get(r.record_kind, r.record_kind)} {r.source_system}:"
                    f"{r.source_id} — {r.summary}"
                    for r in matches.itertuples()
                ]
                choice = st.selectbox(
                    f"{len(matches)} records match",
                    range(len(matches)),
                    format_func=labels.__getitem__,
                    key="trace_choice",
                )
            match = matches.iloc[choice]
            show_record(match["record_kind"], match["correlation_id"], match["source_id"])

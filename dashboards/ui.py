"""Small building blocks shared by the pages.

Headers, empty states, tiles, tables with downloads, and the notes that say which global
filters a figure does not honour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

import pandas as pd
import streamlit as st

from dashboards.data import access_recorder, current_snapshot, query_parameters, snapshot_as_of
from dashboards.exports import csv_for_spreadsheets
from dashboards.filters import LIST_FILTERS, Filters
from dashboards.format import MISSING

#: Global filter -> the query parameters that apply it.
FILTER_PARAMETERS: dict[str, tuple[str, ...]] = {
    "region": ("region",),
    "legal_entity": ("legal_entity",),
    "practice": ("practice",),
    "client": ("client",),
    "period": ("period_start", "period_end", "window_start", "window_end"),
}


def page_header(title: str, caption: str) -> None:
    """The page's title, what it shows, and which snapshot (version, build time, as-of)."""
    st.title(title)
    st.caption(caption)
    snapshot = current_snapshot()
    if snapshot is not None:
        as_of = snapshot_as_of()
        st.caption(
            f"Snapshot `{snapshot.version}`, built {snapshot.built_at:%Y-%m-%d %H:%M} UTC"
            + (f"; figures as of **{as_of:%Y-%m-%d}**" if as_of else "")
        )


def require_snapshot() -> bool:
    """Show an explanation and return False when nothing has been published yet."""
    if current_snapshot() is None:
        st.info(
            "No data published yet. Run the pipeline (`d2b run`, or `make run`) to build the "
            "warehouse and publish the serving snapshot these pages read."
        )
        return False
    return True


def require_tables(*qualified_names: str) -> bool:
    """Explain which tables the snapshot lacks and return False, or return True."""
    snapshot = current_snapshot()
    missing = [name for name in qualified_names if snapshot and name not in snapshot.tables]
    if missing:
        st.info(
            "This page needs " + ", ".join(f"`{name}`" for name in missing) + ", which the "
            "published snapshot does not have yet. Run the full pipeline (`d2b run`)."
        )
        return False
    return True


def require_as_of(filters: Filters) -> bool:
    """The marts hold one as-of date: explain, and return False, when another one is chosen."""
    built = snapshot_as_of()
    if filters.as_of is not None and built is not None and filters.as_of != built:
        st.warning(
            f"The published marts are built as of **{built:%Y-%m-%d}**; you chose "
            f"{filters.as_of:%Y-%m-%d}. Rebuild for that date (`d2b run --as-of "
            f"{filters.as_of:%Y-%m-%d}`) or set the as-of filter back to {built:%Y-%m-%d}."
        )
        return False
    return True


def active_filters(filters: Filters) -> list[str]:
    """The global filters that narrow something now (``period`` for a chosen period)."""
    names = [name for name in LIST_FILTERS if getattr(filters, name)]
    if filters.period_from or filters.period_to:
        names.append("period")
    return names


def unapplied_filters(
    filters: Filters, queries: Iterable[str], sliced: Iterable[str] = ()
) -> list[str]:
    """Active filters that some of ``queries`` take no parameter for.

    ``sliced`` names filters the page applies itself to the results (the period on monthly
    rows).
    """
    used = [query_parameters(name) for name in queries]
    return [
        name
        for name in active_filters(filters)
        if name not in sliced
        and not all(params.intersection(FILTER_PARAMETERS[name]) for params in used)
    ]


def filter_note(
    filters: Filters, queries: Iterable[str], why: str = "", *, sliced: Iterable[str] = ()
) -> None:
    """A caption naming the active filters that do not narrow the figures of ``queries``."""
    missing = unapplied_filters(filters, queries, sliced)
    if missing:
        labels = ", ".join(_label(name) for name in missing)
        st.caption(
            f":material/filter_alt_off: Not narrowed by {labels}" + (f": {why}" if why else ".")
        )


def _label(name: str) -> str:
    return LIST_FILTERS[name][0].lower() if name in LIST_FILTERS else name


#: Columns holding ratios, shown as percentages.
RATIO_COLUMNS = frozenset(
    {
        "utilization",
        "total_utilization",
        "realization",
        "compliance",
        "compliance_share",
        "margin_share",
    }
)


#: Words written as initialisms in column labels.
INITIALISMS = {
    "wip": "WIP",
    "sla": "SLA",
    "erp": "ERP",
    "fx": "FX",
    "csv": "CSV",
    "id": "ID",
    "psa": "PSA",
}
#: Words that make a column an amount of money (labelled with its currency when it has one).
MONEY_WORDS = frozenset(
    {"value", "amount", "revenue", "cost", "margin", "leakage", "total", "billed"}
    | {"assets", "liabilities"}
)


def column_label(name: str, currency: str | None = None) -> str:
    """A column's header: ``client_name`` -> ``Client name``, ``wip_value`` -> ``WIP value``.

    An amount of money (a name with a word of :data:`MONEY_WORDS`, not a ratio) is labelled
    with ``currency`` when the table holds one currency: ``Unbilled value (USD)``.
    """
    words = str(name).split("_")
    label = " ".join(INITIALISMS.get(word, word) for word in words)
    label = label[:1].upper() + label[1:]
    is_money = name not in RATIO_COLUMNS and not MONEY_WORDS.isdisjoint(words)
    return f"{label} ({currency})" if currency and is_money else label


def _single_currency(frame: pd.DataFrame) -> str | None:
    """The table's one currency (its ``currency`` column), None with none or several."""
    if "currency" not in frame.columns:
        return None
    currencies = frame["currency"].dropna().unique()
    return str(currencies[0]) if len(currencies) == 1 else None


def _column_labels(frame: pd.DataFrame, config: dict) -> dict:
    """``config`` with a human label on every column that has none."""
    currency = _single_currency(frame)
    labelled = dict(config)
    for column in frame.columns:
        entry = labelled.get(column)
        if isinstance(entry, str) or (isinstance(entry, dict) and entry.get("label")):
            continue
        label = column_label(column, currency)
        labelled[column] = {**entry, "label": label} if isinstance(entry, dict) else label
    return labelled


def _is_text(column: pd.Series) -> bool:
    """Whether ``column`` holds text (not numbers, dates or flags)."""
    if pd.api.types.is_string_dtype(column) and column.dtype != object:
        return True
    values = column.dropna()
    return column.dtype == object and values.map(lambda v: isinstance(v, str)).all()


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a table shows it: a missing text is a dash, never ``None``.

    A missing number keeps its column's type (it still sorts) and shows the table's
    placeholder, the same dash.
    """
    text = [c for c in frame.columns if frame[c].isna().any() and _is_text(frame[c])]
    return frame.assign(**{c: frame[c].astype(object).fillna(MISSING) for c in text})


def _number_formats(frame: pd.DataFrame) -> dict:
    """Ratios as percentages, other decimals with two places and thousands separators."""
    config = {}
    for column in frame.columns:
        if column in RATIO_COLUMNS:
            config[column] = st.column_config.NumberColumn(format="percent")
        elif pd.api.types.is_float_dtype(frame[column]) or (
            frame[column].dtype == object
            and frame[column].map(lambda v: isinstance(v, Decimal)).any()
        ):
            # printf with grouping: "localized" drops trailing zeros (179,046.5 beside 181,603.25)
            config[column] = st.column_config.NumberColumn(format="%,.2f")
    return config


def table(
    frame: pd.DataFrame,
    name: str,
    *,
    empty: str,
    height: int | None = None,
    column_config: dict | None = None,
) -> None:
    """Show ``frame`` with a CSV download, or ``empty`` when it has no rows.

    ``name`` is the CSV's file name; the table and its button sit in a container keyed
    ``table_<name>`` (tests and the browser find them by it).
    """
    if frame.empty:
        st.caption(empty)
        return
    record = access_recorder()
    box = st.container(key=f"table_{name}")
    box.dataframe(
        shown(frame),
        placeholder=MISSING,  # a missing number too shows the dash, never "None"
        hide_index=True,
        width="stretch",
        height=height or "auto",
        column_config=_column_labels(frame, {**_number_formats(frame), **(column_config or {})}),
    )
    box.download_button(
        "Download CSV",
        lambda: _download(frame, name, record),  # written only when clicked
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download_{name}",
        on_click="ignore",
    )


def _download(frame: pd.DataFrame, name: str, record: Callable[..., None]) -> bytes:
    """The CSV a download serves (formulas neutralised), recorded in the access log."""
    record("download", detail={"file": f"{name}.csv", "rows": len(frame)})
    return csv_for_spreadsheets(frame)


def in_words(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` with the codes in ``columns`` written as words for a chart's axis or legend.

    ``skipped_by_invoice`` becomes ``skipped by invoice``; tables and filters keep the codes.
    """
    return frame.assign(**{c: frame[c].astype("string").str.replace("_", " ") for c in columns})


def plot(container, figure, *, key: str, title: str) -> None:
    """Show a Plotly ``figure`` titled ``title`` (say the unit: ``Revenue by month (USD)``)."""
    figure.update_layout(title={"text": title, "x": 0, "font": {"size": 15}})
    if figure.layout.margin.t is not None and figure.layout.margin.t < 40:
        figure.update_layout(margin={"t": 40})
    container.plotly_chart(figure, width="stretch", key=key)


def currency_totals(frame: pd.DataFrame | None, column: str) -> pd.Series:
    """``column`` summed per currency (one entry in reporting mode)."""
    if frame is None or frame.empty:
        return pd.Series(dtype=float)
    return frame.groupby("currency", dropna=False)[column].sum().astype(float)


def metric(
    container,
    label: str,
    value: str,
    change: float | None = None,
    change_text: str | None = None,
    *,
    help: str | None = None,
    inverse: bool = False,
) -> None:
    """A tile; ``change`` (a number) colours ``change_text`` (green when good, grey when 0)."""
    color = "off" if change is None or change == 0 else ("inverse" if inverse else "normal")
    container.metric(
        label,
        value,
        delta=change_text if change is not None else None,
        delta_color=color,
        help=help,
    )


def money_metric(
    container,
    label: str,
    current: pd.Series,
    previous: pd.Series | None = None,
    *,
    help: str | None = None,
    inverse: bool = False,
) -> None:
    """A money tile, labelled with its currency (``WIP value (USD)``).

    With several currencies in scope it says how many (the page then shows the amounts per
    currency). The change is against ``previous`` (None: no comparison), same currency.
    """
    from dashboards import format as fmt

    if len(current) > 1:
        container.metric(
            label,
            f"{len(current)} currencies",
            help=(help or "") + " Amounts per contract currency are in the table below.",
        )
        return
    if current.empty:
        metric(container, label, fmt.money(0), help=help)
        return
    currency, value = current.index[0], current.iloc[0]
    change = None
    if previous is not None:
        change = fmt.difference(value, previous.get(currency, 0.0))
    metric(
        container,
        f"{label} ({currency})",
        fmt.money(value),
        change,
        fmt.money_delta(change),
        help=help,
        inverse=inverse,
    )

"""The global filters: chosen once in the sidebar, kept across pages and in the URL.

A filter's value lives in ``st.session_state`` (so it survives switching pages) and is
mirrored into the URL's query parameters on every run (so a link reproduces the view).
A new session starts from the URL. Option lists come from the published snapshot's
dimensions through the query module; a filter whose dimension is not published is hidden.
Pages read :func:`current_filters` and pass :meth:`Filters.params` to their queries, which
treat an empty list as "all".
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboards.data import query, snapshot_as_of, table_exists

CURRENCY_MODES = ("reporting", "contract")
#: URL parameters a page owns, kept when the filters rewrite the URL (``record``: Trace).
PAGE_PARAMS = ("record",)
_STATE_KEY = "d2b_filters"

#: Multi-value filters: name -> (label, dimension table, query that lists the options).
LIST_FILTERS = {
    "region": ("Region", "marts.dim_resources", "options_resources"),
    "legal_entity": ("Legal entity", "marts.dim_legal_entities", "options_legal_entities"),
    "practice": ("Practice", "marts.dim_resources", "options_resources"),
    "client": ("Client", "marts.dim_clients", "options_clients"),
}


@dataclass(frozen=True)
class Filters:
    """The filters a page applies (empty tuples mean "all")."""

    as_of: date | None = None
    period_from: str | None = None
    period_to: str | None = None
    region: tuple[str, ...] = ()
    legal_entity: tuple[str, ...] = ()
    practice: tuple[str, ...] = ()
    client: tuple[str, ...] = ()
    currency: str = "reporting"

    def params(self) -> dict[str, Any]:
        """Named query parameters (``$region`` ...); lists are passed as arrays.

        The period is passed as dates: ``$period_start`` (first day of the first month) and
        ``$period_end`` (last day of the last month), None when open.
        """
        return {
            "as_of": self.as_of,
            "period_start": month_start(self.period_from) if self.period_from else None,
            "period_end": month_end(self.period_to) if self.period_to else None,
            "region": list(self.region),
            "legal_entity": list(self.legal_entity),
            "practice": list(self.practice),
            "client": list(self.client),
            "currency": self.currency,
        }

    def to_query_params(self) -> dict[str, str | list[str]]:
        """The URL form: only what differs from the defaults."""
        out: dict[str, str | list[str]] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value == field.default or value in ((), None):
                continue
            out[field.name] = list(value) if isinstance(value, tuple) else str(value)
        return out

    @classmethod
    def from_query_params(cls, params: Any) -> Filters:
        """Read filters from ``st.query_params`` (unknown or malformed values are ignored)."""
        values: dict[str, Any] = {}
        for name in LIST_FILTERS:
            chosen = [v for v in params.get_all(name) if v]
            if chosen:
                values[name] = tuple(chosen)
        as_of = params.get("as_of")
        if as_of:
            with contextlib.suppress(ValueError):
                values["as_of"] = date.fromisoformat(as_of)
        for name in ("period_from", "period_to"):
            period = params.get(name)
            if period and _is_period(period):
                values[name] = period
        if params.get("currency") in CURRENCY_MODES:
            values["currency"] = params.get("currency")
        return cls(**values)


def month_start(period: str) -> date:
    """First day of the month ``YYYY-MM``."""
    return date.fromisoformat(f"{period}-01")


def month_end(period: str) -> date:
    """Last day of the month ``YYYY-MM``."""
    first = month_start(period)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _is_period(text: str) -> bool:
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError:
        return False
    return len(text) == 7


def current_filters() -> Filters:
    """The session's filters (from the URL on a session's first run)."""
    if _STATE_KEY not in st.session_state:
        st.session_state[_STATE_KEY] = Filters.from_query_params(st.query_params)
    return st.session_state[_STATE_KEY]


def _options() -> dict[str, list[str]]:
    """Option lists of the filters whose dimension is published."""
    options: dict[str, list[str]] = {}
    for name, (_, table, query_name) in LIST_FILTERS.items():
        if table_exists(table):
            frame = query(query_name)
            options[name] = sorted(frame.loc[frame["filter_name"] == name, "value"].tolist())
    return options


def _periods(as_of: date | None) -> list[str]:
    """Months a period can start or end in (``YYYY-MM``), up to the as-of month."""
    if not table_exists("marts.dim_calendar"):
        return []
    months = query("options_periods")["month_start_date"]
    periods = [f"{m:%Y-%m}" for m in months]
    return [p for p in periods if as_of is None or p <= f"{as_of:%Y-%m}"]


def sidebar_filters() -> Filters:
    """Draw the filters in the sidebar, store the choice, mirror it into the URL."""
    chosen = current_filters()
    options = _options()
    built_as_of = snapshot_as_of()
    with st.sidebar:
        st.markdown("**Filters**")
        as_of = st.date_input(
            "As of",
            value=chosen.as_of or built_as_of,
            key="filter_as_of",
            help="The snapshot's marts are built for one as-of date; another date needs a "
            "rebuild (`d2b run --as-of DATE`).",
        )
        # The snapshot's own as-of date is the default: kept out of the URL.
        values: dict[str, Any] = {"as_of": as_of if as_of and as_of != built_as_of else None}
        periods = _periods(as_of or built_as_of)
        if periods:
            columns = st.columns(2)
            picked_period = []
            for column, name, label in zip(
                columns, ("period_from", "period_to"), ("From", "To"), strict=True
            ):
                current = getattr(chosen, name)
                picked_period.append(
                    column.selectbox(
                        label,
                        [None, *periods],
                        index=periods.index(current) + 1 if current in periods else 0,
                        format_func=lambda p: "all months" if p is None else p,
                        key=f"filter_{name}",
                        help="Period (months) the figures cover.",
                    )
                )
            start, end = picked_period
            if start and end and start > end:
                start, end = end, start
            values["period_from"], values["period_to"] = start, end
        for name, (label, _, _) in LIST_FILTERS.items():
            if name not in options:
                continue
            picked = st.multiselect(
                label,
                options[name],
                default=[v for v in getattr(chosen, name) if v in options[name]],
                key=f"filter_{name}",
                placeholder="All",
            )
            values[name] = tuple(picked)
        values["currency"] = st.radio(
            "Currency",
            CURRENCY_MODES,
            index=CURRENCY_MODES.index(chosen.currency),
            horizontal=True,
            key="filter_currency",
            help="Reporting currency (USD) or each contract's own currency.",
        )
    updated = Filters(**{**{f.name: getattr(chosen, f.name) for f in fields(chosen)}, **values})
    st.session_state[_STATE_KEY] = updated
    # the filters rewrite the URL; what a page keeps there (the record traced) stays
    kept = {name: st.query_params.get_all(name) for name in PAGE_PARAMS if name in st.query_params}
    st.query_params.from_dict({**kept, **updated.to_query_params()})
    return updated


@dataclass(frozen=True)
class Window:
    """A run of whole months, ``start`` (a first day) to ``end`` (a last day) inclusive."""

    start: date
    end: date

    @property
    def months(self) -> int:
        """How many months the window spans."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def label(self) -> str:
        """``Apr 2025 – Jun 2025`` (one month: ``Jun 2025``; open ends: ``from``, ``until``)."""
        first, last = f"{self.start:%b %Y}", f"{self.end:%b %Y}"
        if self.start == date.min:
            return f"until {last}"
        if self.end == date.max:
            return f"from {first}"
        return first if first == last else f"{first} – {last}"

    def params(self) -> dict[str, date]:
        """``$window_start`` and ``$window_end``."""
        return {"window_start": self.start, "window_end": self.end}


def shift_period(period: str, months: int) -> str:
    """The month ``months`` after (before, when negative) ``YYYY-MM``."""
    index = int(period[:4]) * 12 + int(period[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


#: Months in the KPI window when no period is chosen.
DEFAULT_KPI_MONTHS = 3


def last_ended_month(as_of: date) -> str:
    """The latest month (``YYYY-MM``) that has ended by ``as_of`` (its last day counts)."""
    this_month = f"{as_of:%Y-%m}"
    return this_month if as_of == month_end(this_month) else shift_period(this_month, -1)


def invoices_monthly(invoice_periods: pd.DataFrame) -> bool:
    """Whether the firm invoices monthly: it has invoices and each one bills a calendar month.

    ``invoice_periods`` has ``period_start`` and ``period_end`` (the billing periods of the
    firm's invoices, query ``exec_invoiced_periods``).
    """
    if invoice_periods.empty:
        return False
    starts = pd.to_datetime(invoice_periods["period_start"])
    ends = pd.to_datetime(invoice_periods["period_end"])
    return bool(((starts.dt.day == 1) & (ends == starts + pd.offsets.MonthEnd(0))).all())


def last_complete_month(as_of: date, invoice_periods: pd.DataFrame) -> str | None:
    """The latest complete month (``YYYY-MM``) at ``as_of``; None when no month is complete.

    A month is complete when it has ended by the as-of date and, if the firm invoices
    monthly (:func:`invoices_monthly`), its invoicing is out: it has invoices and every one
    of them is released (``all_released``). Every month before the latest complete one
    counts as complete too, so one draft left behind does not reopen the history. Later
    months are open: the pages mark them and do not compare them (docs/design.md §8).
    """
    ended = last_ended_month(as_of)
    if not invoices_monthly(invoice_periods):
        return ended
    released = invoice_periods[invoice_periods["all_released"].astype(bool)]
    months = [f"{start:%Y-%m}" for start in pd.to_datetime(released["period_start"])]
    return max((m for m in months if m <= ended), default=None)


def open_months(window: Window, last_complete: str | None) -> Window | None:
    """The part of ``window`` after the last complete month (None: the window is complete)."""
    first_open = month_start(shift_period(last_complete, 1)) if last_complete else date.min
    if window.end < first_open:
        return None
    return Window(max(window.start, first_open), window.end)


def kpi_windows(filters: Filters, last_complete: str) -> tuple[Window, Window]:
    """The KPI tiles' window and the one they are compared with.

    The window is the chosen period; without one, the last ``DEFAULT_KPI_MONTHS`` months up to
    the period's end (default: ``last_complete``, the last complete month). The comparison
    is the window of as many months just before it.
    """
    last = filters.period_to or last_complete
    first = filters.period_from or shift_period(last, 1 - DEFAULT_KPI_MONTHS)
    window = Window(month_start(first), month_end(last))
    previous = Window(
        month_start(shift_period(first, -window.months)), month_end(shift_period(first, -1))
    )
    return window, previous


def period_window(filters: Filters) -> Window | None:
    """The chosen period as a window (None: all months)."""
    if not (filters.period_from or filters.period_to):
        return None
    return Window(
        month_start(filters.period_from) if filters.period_from else date.min,
        month_end(filters.period_to) if filters.period_to else date.max,
    )


def in_window(frame: pd.DataFrame, column: str, window: Window | None) -> pd.DataFrame:
    """Rows whose month (date) ``column`` falls in ``window`` (all rows for None)."""
    if window is None or frame.empty:
        return frame
    months = pd.to_datetime(frame[column]).dt.date
    return frame[(months >= window.start) & (months <= window.end)]

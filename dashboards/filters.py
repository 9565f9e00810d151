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
from datetime import date
from typing import Any

import streamlit as st

from dashboards.data import query, table_exists

CURRENCY_MODES = ("reporting", "contract")
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
        """Named query parameters (``$region`` ...); lists are passed as arrays."""
        return {
            "as_of": self.as_of,
            "period_from": self.period_from,
            "period_to": self.period_to,
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


def sidebar_filters() -> Filters:
    """Draw the filters in the sidebar, store the choice, mirror it into the URL."""
    chosen = current_filters()
    options = _options()
    with st.sidebar:
        st.markdown("**Filters**")
        as_of = st.date_input("As of", value=chosen.as_of, key="filter_as_of")
        values: dict[str, Any] = {"as_of": as_of or None}
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
    st.query_params.from_dict(updated.to_query_params())
    return updated

"""The lags of docs/design.md §4 for the pages: summary per lag kind and medians per month.

The summary comes from ``marts.lag_summary`` when nothing narrows it, neither a filter nor the
user's scope (the mart is exactly that), else from the records (``lag_stats``). Monthly
medians and p90s are taken from a histogram of business days (``lag_histogram``): exact, and
far cheaper than quantiles over millions of records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dashboards.data import current_scope, query

#: Filters that narrow the lags (lag_stats' parameters besides the window).
_NARROWING = ("legal_entity", "region", "client")


def summary(params: Mapping[str, Any], window_start=None, window_end=None) -> pd.DataFrame:
    """Per lag kind: measured, open, median and p90 (calendar and business days), breaches."""
    if (
        window_start is None
        and window_end is None
        and not any(params[k] for k in _NARROWING)
        and current_scope().is_everything
    ):
        return query("lag_summary")
    return query(
        "lag_stats",
        {**params, "lag_kind": [], "window_start": window_start, "window_end": window_end},
    )


def quantile_cont(values: pd.Series, counts: pd.Series, share: float) -> float:
    """The continuous quantile of ``values`` repeated ``counts`` times.

    Linear interpolation between the two nearest ranks, as SQL's ``quantile_cont``.
    """
    order = values.argsort(kind="stable")
    values, counts = values.iloc[order].to_numpy(dtype=float), counts.iloc[order].to_numpy()
    total = int(counts.sum())
    if total == 0:
        return float("nan")
    position = share * (total - 1)
    below, fraction = int(position), position - int(position)
    ends = counts.cumsum()  # ends[i] = number of items up to and including values[i]

    def at(index: int) -> float:
        return float(values[(ends > index).argmax()])

    low = at(below)
    return low if fraction == 0 else low + fraction * (at(below + 1) - low)


def monthly(histogram: pd.DataFrame) -> pd.DataFrame:
    """Per lag kind and finish month: records, median and p90 business days, breaches, SLA."""
    rows = []
    for (kind, month), part in histogram.groupby(["lag_kind", "finish_month"], sort=True):
        rows.append(
            {
                "lag_kind": kind,
                "finish_month": month,
                "sla_business_days": part["sla_business_days"].max(),
                "measured_count": int(part["records"].sum()),
                "median_business_days": quantile_cont(
                    part["lag_business_days"], part["records"], 0.5
                ),
                "p90_business_days": quantile_cont(part["lag_business_days"], part["records"], 0.9),
                "sla_breach_count": int(part["sla_breach_count"].sum()),
            }
        )
    columns = [
        "lag_kind",
        "finish_month",
        "sla_business_days",
        "measured_count",
        "median_business_days",
        "p90_business_days",
        "sla_breach_count",
    ]
    return pd.DataFrame(rows, columns=columns)

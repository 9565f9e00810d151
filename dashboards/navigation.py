"""The app's pages, one per audience, grouped in the sidebar.

The first page is the default and is served at the app's root URL; the others at
``/<url_path>``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One dashboard page."""

    section: str
    script: str
    title: str
    icon: str
    url_path: str
    #: A text the page always shows once data is published (the browser test waits for it).
    landmark: str


PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec(
        "Executives",
        "views/executive.py",
        "Executive overview",
        ":material/dashboard:",
        "executive",
        "Deliver-to-bill funnel",
    ),
    PageSpec(
        "Executives",
        "views/utilization.py",
        "Utilization and margin",
        ":material/groups:",
        "utilization-margin",
        "Utilization by practice",
    ),
    PageSpec(
        "Finance operations",
        "views/billing_operations.py",
        "Billing operations",
        ":material/receipt_long:",
        "billing-operations",
        "Exception queue",
    ),
    PageSpec(
        "Finance operations",
        "views/reconciliation.py",
        "Reconciliation",
        ":material/balance:",
        "reconciliation",
        "Control totals per batch",
    ),
    PageSpec(
        "Finance operations",
        "views/trace.py",
        "Trace",
        ":material/timeline:",
        "trace",
        "Find a record",
    ),
    PageSpec(
        "Operations",
        "views/data_health.py",
        "Data health",
        ":material/monitor_heart:",
        "data-health",
        "Rows rejected",
    ),
)


def page_url(spec: PageSpec) -> str:
    """Path of the page below the app's root ("" for the default page)."""
    return "" if spec == PAGE_SPECS[0] else spec.url_path

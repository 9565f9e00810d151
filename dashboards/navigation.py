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
        "Operations",
        "views/data_health.py",
        "Data health",
        ":material/monitor_heart:",
        "data_health",
        "Rows rejected",
    ),
)


def page_url(spec: PageSpec) -> str:
    """Path of the page below the app's root ("" for the default page)."""
    return "" if spec == PAGE_SPECS[0] else spec.url_path

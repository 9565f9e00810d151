"""Deliver-to-Bill dashboards: one app, a page per audience (``d2b dashboard``).

Reads only the published serving snapshot (never the pipeline's warehouse file), so the
dashboards stay up while the pipeline writes.
"""

from __future__ import annotations

from collections import defaultdict

import streamlit as st

from dashboards.data import current_snapshot
from dashboards.filters import sidebar_filters
from dashboards.navigation import PAGE_SPECS


def main() -> None:
    """Lay out the app shell and run the selected page."""
    st.set_page_config(
        page_title="Deliver-to-Bill", page_icon=":material/receipt_long:", layout="wide"
    )
    sections: dict[str, list] = defaultdict(list)
    for index, spec in enumerate(PAGE_SPECS):
        sections[spec.section].append(
            st.Page(
                spec.script,
                title=spec.title,
                icon=spec.icon,
                url_path=spec.url_path,
                default=index == 0,
            )
        )
    page = st.navigation(dict(sections))
    with st.sidebar:
        st.markdown("**Deliver-to-Bill**")
        snapshot = current_snapshot()
        if snapshot is None:
            st.caption("No snapshot published yet.")
        else:
            st.caption(
                f"Snapshot {snapshot.version}  \nbuilt {snapshot.built_at:%Y-%m-%d %H:%M} UTC"
            )
        if snapshot is not None:
            sidebar_filters()
    page.run()


main()

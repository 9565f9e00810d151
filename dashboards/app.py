"""Deliver-to-Bill dashboards: one app, a page per audience (``d2b dashboard``).

Reads only the published serving snapshot (never the pipeline's warehouse file), so the
dashboards stay up while the pipeline writes.
"""

from __future__ import annotations

import streamlit as st

from dashboards.data import current_snapshot

PAGES = {
    "Operations": [
        st.Page("pages/data_health.py", title="Data health", icon=":material/monitor_heart:"),
    ],
}


def main() -> None:
    """Lay out the app shell and run the selected page."""
    st.set_page_config(
        page_title="Deliver-to-Bill", page_icon=":material/receipt_long:", layout="wide"
    )
    page = st.navigation(PAGES)
    with st.sidebar:
        st.markdown("**Deliver-to-Bill**")
        snapshot = current_snapshot()
        if snapshot is None:
            st.caption("No snapshot published yet.")
        else:
            st.caption(
                f"Snapshot {snapshot.version}  \nbuilt {snapshot.built_at:%Y-%m-%d %H:%M} UTC"
            )
    page.run()


main()

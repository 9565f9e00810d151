"""Small building blocks shared by the pages: headers, empty states, tables with downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards.data import current_snapshot


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


def table(frame: pd.DataFrame, name: str, *, empty: str, height: int | None = None) -> None:
    """Show ``frame`` with a CSV download, or ``empty`` when it has no rows."""
    if frame.empty:
        st.caption(empty)
        return
    st.dataframe(frame, hide_index=True, width="stretch", height=height or "auto")
    st.download_button(
        "Download CSV",
        frame.to_csv(index=False).encode(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download_{name}",
        on_click="ignore",
    )

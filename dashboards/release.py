"""The Billing operations page's release action: a person releases batches awaiting release.

Shown only to users whose role allows ``release_billing`` (:mod:`dashboards.access`), and
only for the batches the page shows them (their scope). The release goes through the same
code as ``d2b bill --release`` (:func:`erp.billing_store.release_batches`): it writes to the
billing store, audited with the signed-in user and the time, and mirrors the store into the
warehouse. The page itself reads the serving snapshot, so a released batch shows as
``ready`` (then ``sent``) after the next publish.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from d2b.settings import Settings
from dashboards.access import RELEASE_BILLING, session_principal


def release_action(waiting: pd.DataFrame) -> None:
    """Pick among the ``waiting`` batches and release them, for users allowed to release.

    ``waiting`` has ``batch_key``, ``client_name`` and ``period``: the batches awaiting
    release that the page shows the user.
    """
    from erp.billing_store import StoreBusyError, release_batches

    principal = session_principal()
    if waiting.empty or not principal.may(RELEASE_BILLING):
        return
    labels = {
        row.batch_key: f"{row.client_name} · {row.period} · {row.batch_key[:16]}"
        for row in waiting.itertuples()
    }
    chosen = st.multiselect(
        "Batches to release",
        list(labels),
        format_func=labels.__getitem__,
        key="release_batches",
        help="Released batches go to the ERP with the next billing run; held batches stay.",
    )
    if not st.button("Release", key="release_button", disabled=not chosen):
        return
    settings = Settings.from_env()
    try:
        result, mirrored = release_batches(
            settings.billing.store, settings.warehouse, chosen, by=principal.name
        )
    except (StoreBusyError, ValueError) as error:
        st.error(str(error))
        return
    if result.released:
        st.success(
            f"Released {len(result.released)} batch(es) as {principal.name}, recorded in the "
            "audit log; the next billing run sends them. They show as ready here after the "
            "next publish."
            + ("" if mirrored else " (The warehouse was busy: the running pipeline copies it.)")
        )
    for key, reason in result.held.items():
        st.error(f"{labels[key]} is on hold and was not released: {reason}")
    for key in result.not_awaiting:
        st.warning(f"{labels[key]} no longer awaits release (released already?)")

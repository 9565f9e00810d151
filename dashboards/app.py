"""Deliver-to-Bill dashboards: one app, a page per audience (``d2b dashboard``).

Reads only the published serving snapshot (never the pipeline's warehouse file), so the
dashboards stay up while the pipeline writes. Nothing is shown before sign-in: the gate
below resolves the session's principal (the identity provider's user and the firm's grants,
:mod:`dashboards.access`) on every run, and the data module reads it for every query.
"""

from __future__ import annotations

from collections import defaultdict

import streamlit as st

from dashboards.access import (
    DEMO_PRINCIPAL,
    PRINCIPAL_KEY,
    AccessError,
    Principal,
    demo_mode,
    load_policy,
    principal_from_claims,
)
from dashboards.data import current_snapshot, log_access
from dashboards.filters import current_filters, sidebar_filters
from dashboards.navigation import PAGE_SPECS
from dashboards.serving_auth import is_loopback

_LAST_LOGGED = "d2b_last_logged_view"


def _sign_in_configured() -> bool:
    try:
        return bool(st.secrets.get("auth"))
    except FileNotFoundError:  # no secrets file at all
        return False


def signed_in_principal() -> Principal | None:
    """The session's principal, or None after showing why there is none (sign in first ...)."""
    if demo_mode():
        if not is_loopback(st.get_option("server.address") or "127.0.0.1"):
            st.error("Demo mode signs nobody in, so it serves on loopback only.")
            return None
        return DEMO_PRINCIPAL
    if not _sign_in_configured():
        st.error(
            "Sign-in is not configured: set the D2B_OIDC_* variables (or D2B_DASHBOARD_SECRETS) "
            "and restart, or run `d2b dashboard --demo` on this machine."
        )
        return None
    if not st.user.is_logged_in:
        st.title("Deliver-to-Bill")
        st.write("Sign in with your organisation's account to see the dashboards.")
        st.button("Sign in", on_click=st.login, type="primary", key="sign_in")
        return None
    try:
        return principal_from_claims(st.user.to_dict(), load_policy())
    except AccessError as error:
        st.error(f"Access configuration: {error}")
        return None


def _log_view(principal: Principal, title: str) -> None:
    """Log the sign-in once per session, then each change of page or filters."""
    view = (title, tuple(sorted(current_filters().to_query_params().items(), key=str)))
    if _LAST_LOGGED not in st.session_state:
        log_access("sign_in", detail={"scope": principal.scope.describe()})
    if st.session_state.get(_LAST_LOGGED) != view:
        log_access("page", page=title, detail=current_filters().to_query_params())
        st.session_state[_LAST_LOGGED] = view


def main() -> None:
    """Sign the user in, lay out the app shell and run the selected page."""
    st.set_page_config(
        page_title="Deliver-to-Bill", page_icon=":material/receipt_long:", layout="wide"
    )
    principal = signed_in_principal()
    if principal is None:
        st.session_state.pop(PRINCIPAL_KEY, None)
        st.stop()
    st.session_state[PRINCIPAL_KEY] = principal
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
    if principal.is_admin:
        sections["Administration"].append(
            st.Page(
                "views/access_log.py",
                title="Access log",
                icon=":material/policy:",
                url_path="access-log",
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
        st.caption(f"Signed in as {principal.name} ({principal.scope.describe()})")
        if principal is not DEMO_PRINCIPAL:
            st.button("Sign out", on_click=st.logout, key="sign_out")
        if snapshot is not None:
            sidebar_filters()
    _log_view(principal, page.title)
    page.run()


main()

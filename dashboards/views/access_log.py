"""Access log (administrators): who signed in, which page and filters, which downloads."""

from __future__ import annotations

import streamlit as st

from dashboards.access import session_principal
from dashboards.data import serving_dir
from dashboards.ui import page_header, table
from serving import access_log

page_header(
    "Access log",
    "Who signed in, which page with which filters, which downloads: newest first, "
    "insert-only, kept beside the serving snapshots.",
)
if not session_principal().is_admin:
    st.error("The access log is for administrators.")
else:
    table(access_log.read(serving_dir()), "access_log", empty="Nothing logged yet.")

"""How ``d2b dashboard`` hands sign-in to Streamlit, and where it may listen.

Streamlit's ``st.login`` reads its OpenID Connect client from the ``[auth]`` section of a
secrets file. The firm gives it either that file (``D2B_DASHBOARD_SECRETS``) or the
``D2B_OIDC_*`` variables, which are written to a private file in a private temporary
directory (never under D2B_HOME, never logged; ``execv`` leaves nobody to delete it).
Without either, the dashboards sign nobody in, so they listen on loopback only.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from d2b.settings import DashboardSettings

#: Addresses only this machine reaches.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: D2B_OIDC_* setting -> the Streamlit ``[auth]`` key it fills.
_AUTH_KEYS = {
    "oidc_metadata_url": "server_metadata_url",
    "oidc_client_id": "client_id",
    "oidc_client_secret": "client_secret",
    "oidc_cookie_secret": "cookie_secret",
}


def is_loopback(address: str) -> bool:
    """Whether ``address`` is reachable from this machine only."""
    return address in LOOPBACK or address.startswith("127.")


def auth_section(settings: DashboardSettings, port: int) -> dict[str, str] | None:
    """Streamlit's ``[auth]`` section from the ``D2B_OIDC_*`` variables (None: none set).

    Raises ValueError naming the variables missing when only some are set.
    """
    values = {key: getattr(settings, name) for name, key in _AUTH_KEYS.items()}
    if not any(values.values()):
        return None
    missing = [f"D2B_{name.upper()}" for name, key in _AUTH_KEYS.items() if not values[key]]
    if missing:
        raise ValueError(f"sign-in needs {', '.join(missing)} as well")
    redirect = settings.oidc_redirect_uri or f"http://localhost:{port}/oauth2callback"
    return {"redirect_uri": redirect, **values}


def write_secrets(section: dict[str, str]) -> Path:
    """A private Streamlit secrets file holding ``[auth]`` (TOML strings written as JSON's)."""
    directory = Path(tempfile.mkdtemp(prefix="d2b-dashboard-"))  # mode 0700
    path = directory / "secrets.toml"
    lines = ["[auth]", *(f"{key} = {json.dumps(value)}" for key, value in section.items())]
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def secrets_file(settings: DashboardSettings, port: int) -> Path | None:
    """The secrets file that configures sign-in (None: sign-in is not configured)."""
    if settings.secrets_file is not None:
        if not settings.secrets_file.is_file():
            raise ValueError(f"D2B_DASHBOARD_SECRETS: no file {settings.secrets_file}")
        return settings.secrets_file
    section = auth_section(settings, port)
    return write_secrets(section) if section else None

"""Which host names the web UIs answer to (DNS rebinding: docs/operations.md).

A page on another site whose name re-resolves to this machine reaches a local server with
its own name in the ``Host`` header; a server that accepts only the names it is really
reached by refuses it. Streamlit checks the ``Host`` of its WebSocket (the channel every
page's data goes through) against ``server.allowedHosts``; ``d2b dashboard`` sets it from
the address it listens on. Dagster's webserver has no such check (docs/operations.md).
"""

from __future__ import annotations

import ipaddress
import os
import socket

#: The names of this machine as seen from itself.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
#: Streamlit's own environment setting: when the user sets it, it wins.
STREAMLIT_ALLOWED_HOSTS_ENV = "STREAMLIT_SERVER_ALLOWED_HOSTS"


def allowed_hosts(address: str) -> list[str]:
    """The host names a server listening on ``address`` is reached by.

    On a loopback address, the loopback names; on another address, that address too, and on
    a wildcard (``0.0.0.0``, ``::``) this machine's own names.
    """
    hosts = list(LOOPBACK_HOSTS)
    if not _is_loopback(address):
        if _is_wildcard(address):
            hosts += [socket.gethostname(), socket.getfqdn()]
        else:
            hosts.append(address)
    return list(dict.fromkeys(h.lower() for h in hosts if h))


def dashboard_host_options(address: str) -> list[str]:
    """Streamlit command-line options that refuse a foreign ``Host``.

    None when the user sets ``STREAMLIT_SERVER_ALLOWED_HOSTS`` (the names a reverse proxy
    serves the dashboards under, say): Streamlit's own setting wins.
    """
    if os.environ.get(STREAMLIT_ALLOWED_HOSTS_ENV):
        return []
    return [option for host in allowed_hosts(address) for option in ("--server.allowedHosts", host)]


def _is_loopback(address: str) -> bool:
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _is_wildcard(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:
        return False

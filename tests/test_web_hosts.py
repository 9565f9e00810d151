"""The dashboards refuse a request whose Host header names another site (DNS rebinding,
issue 21): ``d2b dashboard`` sets Streamlit's ``server.allowedHosts`` from its address
(d2b/web.py), so the WebSocket every page's data goes through opens only for this machine's
names."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from d2b.web import (
    LOOPBACK_HOSTS,
    STREAMLIT_ALLOWED_HOSTS_ENV,
    allowed_hosts,
    dashboard_host_options,
)
from tests.support.dashboard_server import running_dashboard


def test_a_loopback_server_answers_to_loopback_names_only():
    assert allowed_hosts("127.0.0.1") == ["localhost", "127.0.0.1", "::1"]
    assert allowed_hosts("localhost") == ["localhost", "127.0.0.1", "::1"]


def test_a_server_on_an_address_answers_to_it_and_a_wildcard_to_the_machines_names():
    assert allowed_hosts("10.1.2.3") == ["localhost", "127.0.0.1", "::1", "10.1.2.3"]
    machine = {socket.gethostname().lower(), socket.getfqdn().lower()}
    assert set(allowed_hosts("0.0.0.0")) == {*LOOPBACK_HOSTS, *machine}


def test_streamlits_own_setting_wins(monkeypatch):
    monkeypatch.delenv(STREAMLIT_ALLOWED_HOSTS_ENV, raising=False)
    assert dashboard_host_options("127.0.0.1")[:2] == ["--server.allowedHosts", "localhost"]
    monkeypatch.setenv(STREAMLIT_ALLOWED_HOSTS_ENV, "bi.example.com")
    assert dashboard_host_options("127.0.0.1") == []


@pytest.fixture(scope="module")
def dashboard_port(tmp_path_factory) -> Iterator[int]:
    """``d2b dashboard`` on 127.0.0.1 (an empty D2B_HOME: no page is rendered here)."""
    home = tmp_path_factory.mktemp("web_hosts_home")
    with running_dashboard(
        {"D2B_HOME": str(home)}, start_timeout=90, clear=(STREAMLIT_ALLOWED_HOSTS_ENV,)
    ) as url:
        yield urlsplit(url).port


def websocket_status(port: int, host: str) -> str:
    """The status line answering a WebSocket opening of the app's stream, sent with ``host``
    as the Host and the same origin (what a rebound page sends)."""
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Origin: http://{host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.makefile("rb").readline().decode().strip()


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="d2b dashboard replaces its process (exec)")
def test_the_dashboard_refuses_a_foreign_host_header(dashboard_port):
    assert websocket_status(dashboard_port, "localhost").startswith("HTTP/1.1 101")
    assert websocket_status(dashboard_port, "127.0.0.1").startswith("HTTP/1.1 101")
    assert websocket_status(dashboard_port, "rebound.example").startswith("HTTP/1.1 403")

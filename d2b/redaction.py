"""Credentials never leave the process: the one redaction for every URL or DSN we show.

A URL may carry a password (``http://user:password@host/``) or a token in its query
(``?access_token=...``); a libpq DSN a ``password=...`` pair. Whatever shows, logs or stores
a URL, a DSN or an error message that may quote one passes it through :func:`redact_url` or
:func:`redact_text` first. Settings split credentials out of the URLs they are given
(:func:`split_credentials`), so the URLs the code uses carry none to begin with.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

#: What a secret is replaced with.
REDACTED = "***"

#: Query parameters and DSN keywords whose value is a secret.
_SECRET_KEYS = re.compile(
    r"^(password|passwd|pwd|secret|token|access_token|api_key|apikey|key|auth|signature|sig)$",
    re.IGNORECASE,
)
#: A URL inside free text (up to whitespace, quotes or brackets).
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
#: ``user:password@host`` without a scheme, as ``xmlrpc.client`` quotes a URL in its errors.
_USERINFO = re.compile(r"(?<![\w/:@])([^\s:/@'\"<>]+):([^\s/@'\"<>]+)@(?=[\w\[])")
#: ``password=...`` in a libpq keyword DSN or a log line.
_KEYWORD = re.compile(
    r"\b(password|passwd|pwd|secret|token|access_token|api_key)=('[^']*'|[^\s&;,]+)",
    re.IGNORECASE,
)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without its user and password, then the user and password (decoded) or None."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.netloc.rsplit("@", 1)[1]
    clean = urlunsplit(parts._replace(netloc=host))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def redact_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``.

    The user and host stay (they say where, not how to get in). Text that is not a URL
    comes back as it is.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text_keywords(url)
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_KEYS.match(name) for name, _ in pairs):
            query = urlencode(
                [(n, REDACTED if _SECRET_KEYS.match(n) else v) for n, v in pairs], safe="*"
            )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_text_keywords(text: str) -> str:
    """``text`` with the value of every ``password=...``-like pair replaced."""
    return _KEYWORD.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


def redact_text(text: str) -> str:
    """Free text (an error message, a log line) with every credential it quotes replaced.

    URLs' passwords and secret query values, ``user:password@host`` and ``password=...``.
    """
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _USERINFO.sub(
        lambda m: m.group(0) if m.group(2) == REDACTED else f"{m.group(1)}:{REDACTED}@", text
    )
    return redact_text_keywords(text)

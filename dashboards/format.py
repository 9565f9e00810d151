"""How figures are written on the pages (tiles, captions): one place, so tests can rely on it."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

MISSING = "–"
#: Every ASCII punctuation character: markdown lets a backslash make each one literal.
_MARKDOWN_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def plain(text: Any) -> str:
    """Text from a user or a source, shown in markdown as itself (punctuation escaped).

    Never a link, an image, emphasis, a colour directive or code: search text and names
    from the sources are data, not markup.
    """
    return "".join(f"\\{c}" if c in _MARKDOWN_PUNCTUATION else c for c in str(text))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def money(value: Any, currency: str | None = None) -> str:
    """``1,234,567`` in whole units, ``USD 1,234,567`` with a currency.

    Tiles name the currency in their label; the tables keep the cents.
    """
    number = _number(value)
    if number is None:
        return MISSING
    return f"{currency or ''} {number:,.0f}".strip()


def money_delta(value: Any) -> str | None:
    """A signed change of money in whole units, ``+1,234`` (None when unknown)."""
    number = _number(value)
    return None if number is None else f"{number:+,.0f}"


def hours(value: Any) -> str:
    """``11,024.75`` (hours are in quarter-hour steps)."""
    number = _number(value)
    return MISSING if number is None else f"{number:,.2f}"


def hours_delta(value: Any) -> str | None:
    """A signed change of hours, ``+12.50 h``."""
    number = _number(value)
    return None if number is None else f"{number:+,.2f} h"


def share(value: Any) -> str:
    """A ratio as a percentage with one decimal, ``63.6%``."""
    number = _number(value)
    return MISSING if number is None else f"{number:.1%}"


def share_delta(value: Any) -> str | None:
    """A change of a ratio in percentage points, ``+1.2 pp``."""
    number = _number(value)
    return None if number is None else f"{number * 100:+.1f} pp"


def days(value: Any) -> str:
    """Days with one decimal, ``5.0``."""
    number = _number(value)
    return MISSING if number is None else f"{number:,.1f}"


def days_delta(value: Any) -> str | None:
    """A signed change of days, ``-1.5 d``."""
    number = _number(value)
    return None if number is None else f"{number:+,.1f} d"


def count(value: Any) -> str:
    """A whole number with thousands separators."""
    number = _number(value)
    return MISSING if number is None else f"{number:,.0f}"


def month(value: date) -> str:
    """``Jun 2025``."""
    return f"{value:%b %Y}"


def ratio(numerator: Any, denominator: Any) -> float | None:
    """Numerator ÷ denominator, None when either is unknown or the denominator is 0."""
    top, bottom = _number(numerator), _number(denominator)
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def difference(current: Any, previous: Any) -> float | None:
    """Current − previous, None when either is unknown."""
    now, before = _number(current), _number(previous)
    if now is None or before is None:
        return None
    return now - before

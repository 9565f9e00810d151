"""Downloads that are safe to open in a spreadsheet.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by spreadsheet programs, and client names, notes and ERP messages come from source
systems anyone can type into. Such a cell is written with a leading ``'`` (the spreadsheets'
"this is text" mark); numbers, dates and booleans stay as they are.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_for_spreadsheets(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV with every text cell neutralised (numbers stay numbers)."""
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(neutralise_formula)
    # CRLF rows (RFC 4180): the writer then quotes any cell holding a CR or LF of its own
    return safe.to_csv(index=False, lineterminator="\r\n").encode()

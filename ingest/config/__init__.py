"""Source-format configuration, read by the generator and the ingest parsers.

- ``concur_sae_columns.csv``: the tenant's SAP Concur Standard Accounting Extract column map
  (the DETAIL positions read, their raw columns and meaning; read by
  :func:`ingest.sources.concur.sae_fields`). It says how a file is parsed, so it stays with
  the parser; the firm's business configuration (legal entities, tax rules, expense policy,
  thresholds) is landed data, ``config/<entity>/`` (:mod:`ingest.sources.config`).

Files are read on demand, never at import time.
"""

from __future__ import annotations

import csv
from pathlib import Path

CONFIG_DIR = Path(__file__).parent
SAE_COLUMNS_FILE = CONFIG_DIR / "concur_sae_columns.csv"

#: Concur entity code of the firm's tenant, part of every SAE file name.
SAE_TENANT_ID = "p0004711d2b"


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a UTF-8 config CSV as dicts (all values as strings)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))

"""Shared source-format configuration, read by the generator and the ingest parsers.

- ``concur_sae_columns.csv``: the tenant's SAP Concur Standard Accounting Extract column map
  (the DETAIL positions read, their raw columns and meaning; read by
  :func:`ingest.sources.concur.sae_fields`);
- ``expense_policy.csv``: receipt thresholds and policy limits per expense type and currency;
- ``tax_rules.csv``: tax code and rate per legal entity x client country x line kind (the dbt
  project's maintained seed).

Files are read on demand, never at import time.
"""

from __future__ import annotations

import csv
from pathlib import Path

CONFIG_DIR = Path(__file__).parent
SAE_COLUMNS_FILE = CONFIG_DIR / "concur_sae_columns.csv"
EXPENSE_POLICY_FILE = CONFIG_DIR / "expense_policy.csv"
TAX_RULES_FILE = CONFIG_DIR / "tax_rules.csv"

#: Concur entity code of the firm's tenant, part of every SAE file name.
SAE_TENANT_ID = "p0004711d2b"


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a UTF-8 config CSV as dicts (all values as strings)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))

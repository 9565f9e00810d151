"""The generator's complete in-memory state, shared by the exports and the ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.generator import reference as ref
from ingest.generator.activity import Entries, RateCards, State
from ingest.generator.billing import Invoices
from ingest.generator.defects import DefectRates
from ingest.generator.expenses import Expenses, FxTable
from ingest.generator.firm import DAY, Firm


@dataclass
class World:
    """Everything generated for one firm; the landing files and the truth both derive from it."""

    firm: Firm
    e: Entries
    rc: RateCards
    fx: FxTable
    ex: Expenses
    inv: Invoices
    bounds: np.ndarray  # export window boundaries (epoch seconds)
    final: State  # every entry's state at the end of the as-of day
    rates: DefectRates

    @property
    def end_ts(self) -> int:
        """First second after the as-of day."""
        return (self.firm.end_day + 1) * DAY


def contract_id(j: int) -> str:
    """Salesforce Contract Id of the contract of project ``j``."""
    return ref.sf_id("800", 3000 + j * 5)


def contract_number(j: int) -> str:
    """Salesforce ContractNumber (auto-number) of the contract of project ``j``."""
    return f"{100000 + j:08d}"


def rate_line_id(line_no: int) -> str:
    """Salesforce Id of a Rate_Card_Line__c record."""
    return ref.sf_id("a0R", 10_000 + line_no * 3)

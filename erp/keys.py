"""Deterministic keys: batch idempotency keys, line keys and payload hashes (docs/design.md §3, §6).

Keys are pure functions of what a batch bills, so re-running a billing period rebuilds the
same keys and the ERP lookup by key turns a re-send into a no-op.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

#: Bump when the key recipe changes: keys of earlier runs then no longer match by design.
KEY_VERSION = "d2b.erp.v1"
_KEY_HEX = 32  # 128 bits: collisions are not a practical concern at any firm's volume


def canonical_json(value: Any) -> str:
    """Serialise ``value`` as canonical JSON: sorted keys, no spaces, Decimals as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # normalize() would turn 100 into 1E+2: keep the plain positional form.
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _digest(parts: Any) -> str:
    return hashlib.sha256(canonical_json([KEY_VERSION, parts]).encode()).hexdigest()[:_KEY_HEX]


def batch_key(identity: Mapping[str, str], correlation_ids: Iterable[str]) -> str:
    """Idempotency key of a batch: hash of its identity and the sorted correlation ids it bills.

    ``identity`` holds the batch's identity fields (client, contract, legal entity, currency,
    billing period). The same lines for the same client and period always give the same key;
    a late-approved entry billed later lands in a new batch with a new key.
    """
    return "b_" + _digest([dict(identity), sorted(correlation_ids)])


def line_key(batch_key_: str, kind: str, correlation_ids: Iterable[str]) -> str:
    """Key of one invoice line: hash of its batch key, kind and the correlation ids it bills.

    A correlation id belongs to one line only, so line keys are unique within a batch, and
    across batches because the batch key is part of the hash.
    """
    return "l_" + _digest([batch_key_, kind, sorted(correlation_ids)])


def payload_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of a batch payload's canonical JSON: detects a changed payload under one key."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


#: Label of the second line of an ERP line note, before the correlation ids the line bills.
_RECORDS_LABEL = "records:"


def line_note(line_key_: str, correlation_ids: Iterable[str]) -> str:
    """The text an ERP invoice line carries: its line key, then the correlation ids it bills.

    The ids make the ERP itself the record of what is billed: a lost billing store or a
    rebuilt warehouse re-reads them (``erp.outbox.resync``) and never bills a record twice.
    """
    return f"{line_key_}\n{_RECORDS_LABEL} {' '.join(sorted(correlation_ids))}"


def parse_line_note(note: str | None) -> tuple[str | None, tuple[str, ...]]:
    """Line key and correlation ids of an ERP line note (:func:`line_note`; a bare key too)."""
    text = (note or "").strip()
    if not text:
        return None, ()
    first, _, rest = text.partition("\n")
    rest = rest.strip()
    ids = (
        tuple(rest.removeprefix(_RECORDS_LABEL).split()) if rest.startswith(_RECORDS_LABEL) else ()
    )
    return first.strip() or None, ids

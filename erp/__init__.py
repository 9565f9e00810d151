"""ERP write-back: billing batches to the ERP exactly once, and the ERP read back.

See docs/design.md §6.

Plain Python (no Dagster import), like ``ingest/``: the Dagster freeze, send and read-back
assets are thin wrappers around :mod:`erp.outbox`.
"""

"""The sample firm's configuration files, for tests that write a small landing by hand."""

from __future__ import annotations

from pathlib import Path

from ingest.generator.exports.config import config_rows
from ingest.generator.writers import csv_bytes


def write_sample_config(landing: Path, dated: str = "2025-01-01") -> None:
    """Land the sample firm's legal entities, tax rules, expense policy, thresholds,
    billing release and transfer-pricing rules, dated ``dated``."""
    for entity, (header, rows) in config_rows(dated).items():
        folder = landing / "config" / entity
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{entity}_{dated}.csv").write_bytes(csv_bytes(header, rows))

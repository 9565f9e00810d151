from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.generator import GenerationResult
from tests.conftest import SAMPLE_AS_OF, SAMPLE_SEED

AS_OF = SAMPLE_AS_OF
SEED = SAMPLE_SEED


@pytest.fixture(scope="session")
def truth_records(sample: GenerationResult) -> set[tuple[str, str, str, str]]:
    with open(sample.truth_dir / "defects_records.csv", newline="") as fh:
        return {(r["system"], r["entity"], r["source_id"], r["reason"]) for r in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def rejected_files(sample: GenerationResult) -> set[str]:
    """Files the loader is expected not to read: the malformed one and the duplicate."""
    with open(sample.truth_dir / "defects_files.csv", newline="") as fh:
        return {r["path"] for r in csv.DictReader(fh) if r["kind"] in ("malformed", "duplicate")}


@pytest.fixture(scope="session")
def landing_data(sample: GenerationResult, rejected_files: set[str]):
    from .landing_reader import load

    return load(Path(sample.out_dir), rejected_files)

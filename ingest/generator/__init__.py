"""Synthetic firm generator.

``d2b generate`` writes a coherent professional-services firm into a landing zone
(docs/design.md §2), with ground truth beside it. See docs/generator.md.
"""

from ingest.generator.core import GenerationResult, generate
from ingest.generator.defects import REASONS, DefectRates

__all__ = ["REASONS", "DefectRates", "GenerationResult", "generate"]

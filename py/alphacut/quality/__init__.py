"""Is this cut-out good? Scores of the matte and the photo, judged against thresholds.

The scores are measured in :mod:`.scores`; :mod:`.checks` holds the table of checks (name,
direction, thresholds, reason) and the verdict. These are the names the pipeline and its users
import.
"""
from .checks import (CHECKS, DEFAULT_THRESHOLDS, Check, CheckSpec, QualityReport, QualityThresholds, assess,
                     flagged_regions, judge)
from .scores import (boundary_confidence, colour_spill, count_fragments, count_holes, edge_jaggedness, edge_support,
                     foreground_fraction, halo_fraction, sharpness)

__all__ = ["CHECKS", "DEFAULT_THRESHOLDS", "Check", "CheckSpec", "QualityReport", "QualityThresholds", "assess",
           "boundary_confidence", "colour_spill", "count_fragments", "count_holes", "edge_jaggedness", "edge_support",
           "flagged_regions", "foreground_fraction", "halo_fraction", "judge", "sharpness"]

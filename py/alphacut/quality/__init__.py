"""Is this cut-out good? Scores of the matte and the photo, judged against thresholds.

The checks live in :mod:`.checks`; these are the names the pipeline and its users import.
"""
from .checks import DEFAULT_THRESHOLDS, Check, QualityReport, QualityThresholds, assess, flagged_regions, judge

__all__ = ["DEFAULT_THRESHOLDS", "Check", "QualityReport", "QualityThresholds", "assess", "flagged_regions", "judge"]

"""Merge an AI edit back into the original photo: only the edited region changes.

The steps are one module each: take the edit's JPEG compression out (:mod:`.compression`),
align (:mod:`.align`), find the edited regions (:mod:`.regions`, :mod:`.texture`), place a
recolour's boundary at half its blend weight (:mod:`.blend`), feather the mask along the photo's
edges (:mod:`.feather`), and the merge that composes them (:mod:`.merge`).
"""
from .merge import MergeOptions, MergeResult, merge_edit, merge_edit_bytes, merge_edit_labels_bytes

__all__ = ["MergeOptions", "MergeResult", "merge_edit", "merge_edit_bytes", "merge_edit_labels_bytes"]

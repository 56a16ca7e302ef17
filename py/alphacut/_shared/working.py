"""The working copy: a photo and its matte box-reduced by one whole factor to at most 1024 px.

The quality checks score it (:func:`alphacut.quality.checks.assess`) and decontamination
estimates its smooth colours on it (:func:`alphacut.matte.decontaminate.estimate_foreground`).
The pipeline makes it once and hands it to both: reducing a 12 MP photo and its matte takes about
70 ms in wasm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .resample import reduce

__all__ = ["MAX_SIDE", "WorkingCopy", "factor", "shrink"]

#: Longer side of the working copy (pixels).
MAX_SIDE = 1024


def factor(shape, max_side: int = MAX_SIDE) -> int:
    """The whole factor that brings ``shape``'s longer side to at most ``max_side`` (1: as it is).

    Examples
    --------
    >>> factor((3000, 4000)), factor((600, 800)), factor((1025, 10))
    (4, 1, 2)
    """
    return max(1, -(-max(shape[:2]) // max_side))


def shrink(x: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``x`` box-reduced by :func:`factor` (:func:`alphacut._shared.resample.reduce`); ``x`` itself when 1.

    Parameters
    ----------
    x : (M, N) ndarray of float32 or uint8, or (M, N, 3) ndarray of uint8
    """
    k = factor(x.shape, max_side)
    return x if k == 1 else reduce(x, k)


@dataclass(frozen=True)
class WorkingCopy:
    """A photo and its matte at working size.

    Attributes
    ----------
    shape : (M, N)
        The full-size photo's.
    factor : int
        The reduction; 1 when the photo is at most ``max_side`` (then the arrays are the
        full-size ones, not copies).
    alpha : (m, n) ndarray of float32 in [0, 1]
    rgb : (m, n, 3) ndarray of uint8, or None

    Examples
    --------
    >>> w = WorkingCopy.of(np.ones((3000, 4000), np.float32), np.zeros((3000, 4000, 3), np.uint8))
    >>> w.factor, w.alpha.shape, w.rgb.shape
    (4, (750, 1000), (750, 1000, 3))
    """

    shape: tuple[int, int]
    factor: int
    alpha: np.ndarray
    rgb: np.ndarray | None = None

    @classmethod
    def of(cls, alpha: np.ndarray, rgb: np.ndarray | None = None, max_side: int = MAX_SIDE) -> WorkingCopy:
        """Reduce ``alpha`` (float32, [0, 1]) and ``rgb`` (uint8, optional) by one factor."""
        alpha = np.asarray(alpha, np.float32)
        if rgb is not None and rgb.shape[:2] != alpha.shape:
            raise ValueError(f"rgb {rgb.shape} and alpha {alpha.shape} differ in size")
        return cls(alpha.shape, factor(alpha.shape, max_side), shrink(alpha, max_side),
                   None if rgb is None else shrink(rgb, max_side))

    def check(self, shape, max_side: int = MAX_SIDE, *, rgb: bool = False) -> WorkingCopy:
        """Raise ValueError unless this is the working copy of a ``shape`` photo at ``max_side``
        (with its photo when ``rgb``); returns it."""
        if tuple(shape[:2]) != self.shape or factor(shape, max_side) != self.factor:
            raise ValueError(f"the working copy is of a {self.shape} photo reduced {self.factor}x, "
                             f"not of {tuple(shape[:2])} at {max_side} px")
        if rgb and self.rgb is None:
            raise ValueError("the working copy has no photo")
        return self

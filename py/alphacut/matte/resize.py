"""Resampling of alpha mattes."""
from __future__ import annotations

import numpy as np
from PIL import Image

from .._shared.resample import upsample_bands


def resize_alpha(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a matte bilinearly to ``shape`` (rows, cols), clipped to [0, 1].

    Enlarging fills the result block by block (:func:`alphacut._shared.resample.upsample_bands`),
    so a 12 MP matte is held once, not three times as through Pillow; shrinking uses Pillow's
    antialiased bilinear filter.

    Parameters
    ----------
    alpha : (m, n) ndarray of float32
    shape : tuple of int
        Output ``(rows, cols)``.

    Returns
    -------
    (rows, cols) ndarray of float32 in [0, 1]

    Examples
    --------
    >>> resize_alpha(np.ones((4, 4), np.float32), (2, 3)).shape
    (2, 3)
    """
    if alpha.ndim != 2:
        raise ValueError(f"alpha must be 2-D, got shape {alpha.shape}")
    if not _enlarging(alpha.shape, shape):
        return _pillow(alpha, shape)
    out = np.empty(shape, np.float32)
    for rows, block in resize_bands(alpha, shape):
        out[rows] = block
    return out


def resize_bands(alpha: np.ndarray, shape: tuple[int, int]):
    """:func:`resize_alpha` as (rows, block) pairs, block by block when enlarging (one block when not).

    For callers that use the resized matte once, row by row, without holding it at full size.

    Examples
    --------
    >>> [(r.start, b.shape) for r, b in resize_bands(np.ones((2, 2), np.float32), (600, 3))]
    [(0, (256, 3)), (256, (256, 3)), (512, (88, 3))]
    """
    if not _enlarging(alpha.shape, shape):
        yield slice(0, shape[0]), _pillow(alpha, shape)
        return
    for rows, block in upsample_bands(alpha, shape):
        yield rows, np.clip(block, 0.0, 1.0, out=block)


def above(alpha: np.ndarray, shape: tuple[int, int], level: float) -> np.ndarray:
    """Where ``resize_alpha(alpha, shape)`` exceeds ``level``, without holding the resized matte.

    Examples
    --------
    >>> above(np.array([[0.0, 1.0]], np.float32), (1, 4), 0.5).tolist()
    [[False, False, True, True]]
    """
    out = np.empty(shape, bool)
    for rows, block in resize_bands(alpha, shape):
        np.greater(block, level, out=out[rows])
    return out


def _enlarging(old: tuple[int, int], new: tuple[int, int]) -> bool:
    return new[0] >= old[0] and new[1] >= old[1]


def _pillow(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    img = Image.fromarray(np.ascontiguousarray(alpha, dtype=np.float32), mode="F")
    out = np.asarray(img.resize((shape[1], shape[0]), Image.BILINEAR), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)

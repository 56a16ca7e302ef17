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
    rows, cols = shape
    if rows >= alpha.shape[0] and cols >= alpha.shape[1]:  # enlarging: block by block, no copies
        out = np.empty((rows, cols), np.float32)
        for band, block in upsample_bands(alpha, shape):
            np.clip(block, 0.0, 1.0, out=out[band])
        return out
    img = Image.fromarray(np.ascontiguousarray(alpha, dtype=np.float32), mode="F")
    out = np.asarray(img.resize((cols, rows), Image.BILINEAR), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def above(alpha: np.ndarray, shape: tuple[int, int], level: float) -> np.ndarray:
    """Where ``resize_alpha(alpha, shape)`` exceeds ``level``, without holding the resized matte.

    Examples
    --------
    >>> above(np.array([[0.0, 1.0]], np.float32), (1, 4), 0.5).tolist()
    [[False, False, True, True]]
    """
    if alpha.ndim != 2 or shape[0] < alpha.shape[0] or shape[1] < alpha.shape[1]:
        return resize_alpha(alpha, shape) > level
    out = np.empty(shape, bool)
    for band, block in upsample_bands(alpha, shape):
        np.greater(np.clip(block, 0.0, 1.0, out=block), level, out=out[band])
    return out

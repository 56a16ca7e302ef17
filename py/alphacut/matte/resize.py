"""Resampling of alpha mattes."""
from __future__ import annotations

import numpy as np
from PIL import Image

from .._shared.resample import taps, upsample_bands


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


def reach(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Where ``resize_alpha(mask, shape)`` is above 0: the pixels a boolean mask reaches when resized.

    Enlarging, a pixel is reached when any of the (up to four) coarse pixels its bilinear mix
    weighs with a positive weight is set: worked out on booleans, from the resize's own taps,
    with no float resize at full size (in wasm it is a third of the float resize's time). Shrinking
    (or mixed sizes), through the float resize.

    Parameters
    ----------
    mask : (m, n) ndarray of bool
    shape : tuple of int
        Output ``(rows, cols)``.

    Returns
    -------
    (rows, cols) ndarray of bool

    Examples
    --------
    >>> reach(np.array([[False, True]]), (1, 4)).tolist()
    [[False, True, True, True]]
    """
    mask = np.asarray(mask, bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    if not _enlarging(mask.shape, shape):
        return resize_alpha(mask.astype(np.float32), shape) > 0
    c0, c1, wc = taps(mask.shape[1], shape[1])
    cols = mask[:, c0] | (mask[:, c1] & (wc > 0))  # coarse rows, full-resolution columns
    # Each output row is a coarse row, or a coarse row OR'd with the next one: both kinds are made
    # at coarse height, and the output is one gather of whole rows from them.
    m = cols.shape[0]
    rows = np.empty((2 * m, cols.shape[1]), bool)  # the coarse rows, then each OR'd with the next
    rows[:m] = cols
    rows[m:] = cols
    rows[m : 2 * m - 1] |= cols[1:]
    del cols
    r0, r1, wr = taps(mask.shape[0], shape[0])
    pick = np.where((wr > 0) & (r1 > r0), r0 + m, r0)
    return np.take(rows, pick, axis=0)  # written straight into the result: no temporaries


def _enlarging(old: tuple[int, int], new: tuple[int, int]) -> bool:
    return new[0] >= old[0] and new[1] >= old[1]


def _pillow(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    img = Image.fromarray(np.ascontiguousarray(alpha, dtype=np.float32), mode="F")
    out = np.asarray(img.resize((shape[1], shape[0]), Image.BILINEAR), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)

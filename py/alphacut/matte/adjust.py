"""User adjustments of a finished matte: brush strokes, edge shift and feather.

They run after refinement and cost little, so the page can re-run them on every change of a
control without running the model again.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

#: Values of a strokes mask.
NONE, KEEP, REMOVE = 0, 1, 2


def resize_strokes(strokes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a strokes mask to ``shape`` (rows, cols) with nearest-neighbour sampling.

    Parameters
    ----------
    strokes : (m, n) ndarray of uint8
        0 (no stroke), 1 (keep) or 2 (remove), at any resolution of the same aspect.
    shape : tuple of int

    Returns
    -------
    (rows, cols) ndarray of uint8

    Examples
    --------
    >>> resize_strokes(np.array([[1, 2]], np.uint8), (2, 4)).tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2]]
    """
    if strokes.ndim != 2 or strokes.dtype != np.uint8:
        raise ValueError(f"strokes must be a 2-D uint8 array, got {strokes.shape} {strokes.dtype}")
    if strokes.max(initial=0) > REMOVE:
        raise ValueError("strokes values must be 0 (none), 1 (keep) or 2 (remove)")
    if strokes.shape == tuple(shape):
        return strokes
    rows, cols = shape
    return np.asarray(Image.fromarray(strokes).resize((cols, rows), Image.NEAREST))


def apply_strokes(alpha: np.ndarray, strokes: np.ndarray | None) -> np.ndarray:
    """Force the matte to 1 under keep strokes and to 0 under remove strokes.

    Parameters
    ----------
    alpha : (M, N) ndarray of float32 in [0, 1]
    strokes : (m, n) ndarray of uint8, or None
        See :func:`resize_strokes`.

    Returns
    -------
    (M, N) ndarray of float32
        A new array; ``alpha`` is not modified.

    Examples
    --------
    >>> apply_strokes(np.full((1, 3), 0.5, np.float32), np.array([[0, 1, 2]], np.uint8)).tolist()
    [[0.5, 1.0, 0.0]]
    """
    out = np.array(alpha, dtype=np.float32, copy=True)
    if strokes is None:
        return out
    s = resize_strokes(strokes, alpha.shape)
    out[s == KEEP] = 1.0
    out[s == REMOVE] = 0.0
    return out


def shift_edge(alpha: np.ndarray, *, pixels: float) -> np.ndarray:
    """Expand (``pixels > 0``) or contract (``pixels < 0``) the matte's edge.

    A grey dilation or erosion with a square of side ``2 * round(|pixels|) + 1``
    (separable maximum or minimum filters, so cost does not grow with the radius).

    Parameters
    ----------
    alpha : (M, N) ndarray of float32 in [0, 1]
    pixels : float
        Distance in pixels of the full-resolution image.

    Returns
    -------
    (M, N) ndarray of float32

    Examples
    --------
    >>> a = np.zeros((1, 5), np.float32); a[0, 2] = 1
    >>> shift_edge(a, pixels=1).tolist()
    [[0.0, 1.0, 1.0, 1.0, 0.0]]
    >>> shift_edge(shift_edge(a, pixels=1), pixels=-1).tolist()
    [[0.0, 0.0, 1.0, 0.0, 0.0]]
    """
    r = int(round(abs(pixels)))
    if r == 0:
        return np.asarray(alpha, dtype=np.float32)
    size = 2 * r + 1
    f = ndimage.maximum_filter if pixels > 0 else ndimage.minimum_filter
    return f(np.asarray(alpha, dtype=np.float32), size=size, mode="nearest")


def feather(alpha: np.ndarray, *, radius: float) -> np.ndarray:
    """Soften the matte's edge with a Gaussian of standard deviation ``radius / 2``.

    Parameters
    ----------
    alpha : (M, N) ndarray of float32 in [0, 1]
    radius : float
        Feather width in pixels of the full-resolution image; 0 leaves the matte as it is.

    Returns
    -------
    (M, N) ndarray of float32 in [0, 1]

    Examples
    --------
    >>> a = np.zeros((1, 9), np.float32); a[0, 4:] = 1
    >>> [round(float(v), 2) for v in feather(a, radius=2)[0]]
    [0.0, 0.0, 0.06, 0.3, 0.7, 0.94, 1.0, 1.0, 1.0]
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    if radius == 0:
        return np.asarray(alpha, dtype=np.float32)
    out = ndimage.gaussian_filter(np.asarray(alpha, dtype=np.float32), sigma=radius / 2, mode="nearest", truncate=3.0)
    return np.clip(out, 0.0, 1.0, out=out)

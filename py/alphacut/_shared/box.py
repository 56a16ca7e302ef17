"""The box filter: the mean over a square window, by running sums, at any radius for the same cost."""
import numpy as np
from scipy import ndimage as ndi

from .checks import check_radius

__all__ = ["box_mean", "window_counts"]


def box_mean(stack, radius, *, edges="clip"):
    """Replace each value of a stack of planes by its mean over a square window, in place.

    Parameters
    ----------
    stack : (M, K, N) ndarray of float32
        K planes of M rows and N columns: row ``i`` of plane ``k`` is
        ``stack[i, k]``, which keeps every step of the running sums on
        contiguous memory.
    radius : int
        The window is ``2 * radius + 1`` pixels square.
    edges : {'clip', 'nearest'}, optional
        ``'clip'``: the mean over the part of the window inside the plane.
        ``'nearest'``: the plane's edge pixels are repeated outward (scipy's
        ``mode="nearest"``).

    Returns
    -------
    stack : (M, K, N) ndarray of float32
        The same array.

    Examples
    --------
    >>> x = np.zeros((3, 1, 3), np.float32); x[1, 0, 1] = 9
    >>> box_mean(x, 1)[:, 0]
    array([[2.25, 1.5 , 2.25],
           [1.5 , 1.  , 1.5 ],
           [2.25, 1.5 , 2.25]], dtype=float32)
    """
    if stack.ndim != 3 or stack.dtype != np.float32:
        raise ValueError(f"stack must be (M, K, N) float32, got {stack.shape} {stack.dtype}")
    if edges not in ("clip", "nearest"):
        raise ValueError(f"edges must be 'clip' or 'nearest', got {edges!r}")
    radius = check_radius(radius)
    clipped = edges == "clip"
    _box_rows(stack, radius, clipped)
    size = 2 * radius + 1
    ndi.uniform_filter1d(stack, size, axis=2, mode="constant" if clipped else "nearest", output=stack)
    if clipped:
        stack *= (size / window_counts(stack.shape[2], radius)).astype(np.float32)
    return stack


def _box_rows(x, radius, clipped):
    """Mean along axis 0 of ``x``, in place: a float64 running sum, one contiguous row per step."""
    m = x.shape[0]
    inv = 1.0 / (window_counts(m, radius) if clipped else np.full(m, 2 * radius + 1))
    # The sum over the window of row -1; the loop adds a row ahead and drops one behind.
    acc = np.zeros(x.shape[1:], np.float64)
    for j in range(-radius - 1, radius):
        if 0 <= j < m or not clipped:
            acc += x[min(max(j, 0), m - 1)]
    first = x[0].copy()
    ring = np.empty((radius + 1,) + x.shape[1:], x.dtype)  # rows already overwritten, as they were
    for i in range(m):
        if i + radius < m:
            acc += x[i + radius]
        elif not clipped:
            acc += x[m - 1]
        slot = ring[i % (radius + 1)]
        if i > radius:
            acc -= slot
        elif not clipped:
            acc -= first
        slot[...] = x[i]
        np.multiply(acc, inv[i], out=x[i], casting="unsafe")


def window_counts(n, radius):
    """How many pixels of an axis of ``n`` fall in the window of radius ``radius`` around each.

    >>> window_counts(5, 1)
    array([2, 3, 3, 3, 2])
    """
    idx = np.arange(n)
    return np.minimum(idx + radius, n - 1) - np.maximum(idx - radius, 0) + 1

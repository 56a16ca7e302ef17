"""Assemble the cut-out."""
from __future__ import annotations

import numpy as np


def to_rgba(rgb: np.ndarray, alpha: np.ndarray, *, source_alpha: np.ndarray | None = None) -> np.ndarray:
    """Stack colour and a matte into RGBA uint8, leaving ``rgb`` untouched.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
    alpha : (M, N) ndarray of float32 in [0, 1]
    source_alpha : (M, N) ndarray of uint8, optional
        The input's own transparency; it multiplies the matte, so what was
        transparent stays transparent.

    Returns
    -------
    (M, N, 4) ndarray of uint8

    Examples
    --------
    >>> out = to_rgba(np.zeros((1, 2, 3), np.uint8), np.array([[0.0, 1.0]], np.float32))
    >>> out[..., 3].tolist()
    [[0, 255]]
    """
    if rgb.shape[:2] != alpha.shape:
        raise ValueError(f"rgb {rgb.shape} and alpha {alpha.shape} differ in size")
    out = np.empty(alpha.shape + (4,), np.uint8)
    out[..., :3] = rgb
    a = alpha * np.float32(255.0)
    if source_alpha is not None:
        a *= source_alpha * np.float32(1 / 255)
    np.rint(a, out=a)
    out[..., 3] = a
    return out

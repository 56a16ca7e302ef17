"""Resampling of alpha mattes."""
from __future__ import annotations

import numpy as np
from PIL import Image


def resize_alpha(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a matte bilinearly to ``shape`` (rows, cols), clipped to [0, 1].

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
    img = Image.fromarray(np.ascontiguousarray(alpha, dtype=np.float32), mode="F")
    out = np.asarray(img.resize((cols, rows), Image.BILINEAR), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)

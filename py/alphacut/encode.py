"""Encode arrays to image bytes. Outputs carry no metadata (no EXIF, no GPS, no text)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode_png(pixels: np.ndarray, *, compress_level: int = 1) -> bytes:
    """Encode an RGBA, RGB or grey image as PNG, with no metadata chunks.

    Parameters
    ----------
    pixels : (M, N, 4), (M, N, 3) or (M, N) ndarray of uint8
    compress_level : int, optional
        zlib level 0-9. Level 1 is several times faster than the default 6 for a
        file about 10 % larger.

    Returns
    -------
    bytes

    Examples
    --------
    >>> encode_png(np.zeros((1, 1, 4), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    if pixels.dtype != np.uint8:
        raise TypeError(f"pixels must be uint8, got {pixels.dtype}")
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))):
        raise ValueError(f"pixels must be (M, N), (M, N, 3) or (M, N, 4), got {pixels.shape}")
    if not 0 <= compress_level <= 9:
        raise ValueError(f"compress_level must be in 0..9, got {compress_level}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()

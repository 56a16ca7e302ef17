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
    _image(pixels).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def _image(pixels: np.ndarray) -> Image.Image:
    """``pixels`` as a Pillow image. RGBA and grey share the array's memory (Pillow maps them
    read-only), where ``Image.fromarray`` would copy them; RGB is copied either way (Pillow
    stores it as 4 bytes per pixel)."""
    pixels = np.ascontiguousarray(pixels)
    mode = "L" if pixels.ndim == 2 else {4: "RGBA"}.get(pixels.shape[2])
    if mode is None:
        return Image.fromarray(pixels)
    return Image.frombuffer(mode, (pixels.shape[1], pixels.shape[0]), pixels, "raw", mode, 0, 1)


def encode_jpeg(rgb: np.ndarray, *, quality: int = 92) -> bytes:
    """Encode an opaque RGB image as JPEG (4:2:0 above quality 90 is 4:4:4), no metadata.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
    quality : int, optional
        1-100.

    Examples
    --------
    >>> encode_jpeg(np.zeros((2, 2, 3), np.uint8))[:3]
    b'\xff\xd8\xff'
    """
    return _encode_rgb(rgb, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)


def encode_webp(rgb: np.ndarray, *, quality: int = 90) -> bytes:
    """Encode an opaque RGB image as lossy WebP, no metadata.

    Examples
    --------
    >>> encode_webp(np.zeros((2, 2, 3), np.uint8))[8:12]
    b'WEBP'
    """
    return _encode_rgb(rgb, "WEBP", quality=quality, method=4)


def _encode_rgb(rgb: np.ndarray, fmt: str, *, quality: int, **kw) -> bytes:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (M, N, 3) uint8, got {rgb.shape} {rgb.dtype}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format=fmt, quality=quality, **kw)
    return buf.getvalue()

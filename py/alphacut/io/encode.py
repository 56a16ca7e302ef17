"""Encode arrays to image bytes. Outputs carry no metadata (no EXIF, no GPS, no text).

The one thing carried over from an input is its ICC colour profile, when given (``icc``): it
says which colours the pixel values mean, so a viewer shows a Display P3 photo's cut-out in the
photo's colours. It is embedded only in RGB and RGBA images.
"""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from .._shared.resample import BAND_ROWS


def encode_png(pixels: np.ndarray, *, compress_level: int = 1, icc: bytes | None = None) -> bytes:
    """Encode an RGBA, RGB or grey image as PNG, with no metadata chunks.

    Parameters
    ----------
    pixels : (M, N, 4), (M, N, 3) or (M, N) ndarray of uint8
    compress_level : int, optional
        zlib level 0-9. Level 1 is several times faster than the default 6 for a
        file about 10 % larger.
    icc : bytes, optional
        An ICC profile for RGB colour, embedded as PNG's iCCP chunk (RGB and RGBA only).

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
    shape = pixels.shape if pixels.ndim == 3 else pixels.shape + (1,)
    bands = (pixels[top : top + BAND_ROWS] for top in range(0, shape[0], BAND_ROWS))
    return write_png(shape, bands, compress_level=compress_level, icc=icc)


def write_png(shape: tuple[int, int, int], bands, *, compress_level: int = 1, icc: bytes | None = None) -> bytes:
    """Encode a PNG from its rows, given band by band, so that the whole image need never exist.

    Every row is stored with PNG's "Up" filter (its difference from the row above) and the
    zlib stream is fed one band at a time. Pillow's encoder would need the whole image in its
    own memory (4 bytes a pixel, beside the pipeline's arrays) and tries five filters on every
    row: on a 12 MP cut-out this writes a file 4 % smaller in under half the time
    (BENCHMARKS.md, "Memory: the cut-out written band by band").

    Parameters
    ----------
    shape : (M, N, C) tuple of int
        Rows, columns and channels: 1 (grey), 3 (RGB) or 4 (RGBA).
    bands : iterable of (R, N, C) or (R, N) ndarrays of uint8
        The image's rows from the top, in blocks of any height; together exactly ``M`` rows.
    compress_level : int, optional
        zlib level 0-9.
    icc : bytes, optional
        An ICC profile for RGB colour, embedded as PNG's iCCP chunk; only with 3 or 4 channels
        (a grey image would need a grey profile).

    Returns
    -------
    bytes

    Examples
    --------
    >>> img = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    >>> png = write_png(img.shape, [img[:1], img[1:]])
    >>> np.array_equal(np.asarray(Image.open(io.BytesIO(png))), img)
    True
    """
    rows, cols, channels = shape
    if channels not in _COLOUR_TYPE or min(rows, cols) < 1:
        raise ValueError(f"shape must be (M, N, 1, 3 or 4) with M, N >= 1, got {shape}")
    if not 0 <= compress_level <= 9:
        raise ValueError(f"compress_level must be in 0..9, got {compress_level}")
    if icc is not None and channels == 1:
        raise ValueError("an ICC profile for RGB colour cannot be embedded in a grey image")
    width = cols * channels
    out = [_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, _COLOUR_TYPE[channels], 0, 0, 0))]
    if icc is not None:  # name, compression method 0 (zlib), the compressed profile; before IDAT
        out.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(bytes(icc), 9)))
    z = zlib.compressobj(compress_level)
    above = np.zeros((1, width), np.uint8)
    done = 0
    for band in bands:
        band = np.asarray(band)
        if band.dtype != np.uint8 or band.size != band.shape[0] * width:
            raise ValueError(f"a band must be (R, {cols}, {channels}) uint8, got {band.shape} {band.dtype}")
        flat = band.reshape(band.shape[0], width)
        filtered = np.empty((flat.shape[0], width + 1), np.uint8)
        filtered[:, 0] = _UP
        np.subtract(flat[:1], above, out=filtered[:1, 1:])  # uint8 arithmetic wraps, as PNG's does
        np.subtract(flat[1:], flat[:-1], out=filtered[1:, 1:])
        above = flat[-1:].copy()
        done += flat.shape[0]
        if done > rows:
            break
        _idat(out, z.compress(filtered))
    if done != rows:
        raise ValueError(f"the bands hold {done} rows, the image {rows}")
    _idat(out, z.flush())
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 3: 2, 4: 6}  # grey, RGB, RGBA
_UP = 2  # PNG filter type "Up"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _idat(out: list, data: bytes) -> None:
    if data:
        out.append(_chunk(b"IDAT", data))


def encode_jpeg(rgb: np.ndarray, *, quality: int = 92, icc: bytes | None = None) -> bytes:
    """Encode an opaque RGB image as JPEG (4:2:0 above quality 90 is 4:4:4), no metadata.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
    quality : int, optional
        1-100.
    icc : bytes, optional
        An ICC profile for RGB colour, embedded.

    Examples
    --------
    >>> encode_jpeg(np.zeros((2, 2, 3), np.uint8))[:3]
    b'\xff\xd8\xff'
    """
    return _encode_rgb(rgb, "JPEG", quality=quality, icc=icc, subsampling=0 if quality >= 90 else 2)


def encode_webp(rgb: np.ndarray, *, quality: int = 90, icc: bytes | None = None) -> bytes:
    """Encode an opaque RGB image as lossy WebP, no metadata (``icc``: a profile to embed).

    Examples
    --------
    >>> encode_webp(np.zeros((2, 2, 3), np.uint8))[8:12]
    b'WEBP'
    """
    return _encode_rgb(rgb, "WEBP", quality=quality, icc=icc, method=4)


def _encode_rgb(rgb: np.ndarray, fmt: str, *, quality: int, icc: bytes | None = None, **kw) -> bytes:
    if icc is not None:
        kw["icc_profile"] = bytes(icc)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (M, N, 3) uint8, got {rgb.shape} {rgb.dtype}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format=fmt, quality=quality, **kw)
    return buf.getvalue()

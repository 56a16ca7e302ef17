"""Decode image bytes into the pipeline's one internal format: RGB uint8 plus optional alpha."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Default pixel limit (rows x cols). A 50 MP RGBA image already takes 200 MB as uint8,
#: plus float32 work arrays; beyond that a browser tab runs out of memory.
MAX_PIXELS = 50_000_000


class DecodeError(ValueError):
    """The input bytes are not an image we can cut out; the message says why, for a user."""


@dataclass(frozen=True)
class Decoded:
    """A decoded image.

    Attributes
    ----------
    rgb : (M, N, 3) ndarray of uint8
        Colour, EXIF orientation applied.
    alpha : (M, N) ndarray of uint8, or None
        The input's own transparency, if it had any.
    format : str
        Container format as Pillow names it (``"PNG"``, ``"JPEG"``...).
    mode : str
        The source pixel mode before conversion (``"CMYK"``, ``"I;16"``...).
    frames : int
        Frame count; only the first frame of an animation is used.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    format: str
    mode: str
    frames: int


def decode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Decoded:
    """Decode ``data`` to RGB uint8 with EXIF orientation applied.

    Parameters
    ----------
    data : bytes
        The encoded file.
    max_pixels : int, optional
        Refuse images with more pixels than this, before decoding them.

    Returns
    -------
    Decoded

    Raises
    ------
    DecodeError
        Empty, unknown, truncated, corrupt or oversized input, with a specific message.

    Examples
    --------
    >>> from alphacut.encode import encode_png
    >>> d = decode(encode_png(np.zeros((2, 3, 4), np.uint8)))
    >>> d.rgb.shape, d.alpha.shape, d.format
    ((2, 3, 3), (2, 3), 'PNG')
    """
    if not data:
        raise DecodeError("the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_size(img.size, max_pixels)
            fmt, mode, frames = img.format or "", img.mode, getattr(img, "n_frames", 1)
            img.load()
            img = ImageOps.exif_transpose(img)
    except DecodeError:
        raise
    except UnidentifiedImageError:
        raise DecodeError("not an image format this app can read (PNG, JPEG, WebP, GIF, BMP, TIFF, ICO)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DecodeError(f"the image is too large to process safely ({e})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise DecodeError(f"the image data is damaged or truncated ({e})") from None
    rgb, alpha = _to_rgb_alpha(img)
    return Decoded(rgb=rgb, alpha=alpha, format=fmt, mode=mode, frames=frames)


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    cols, rows = size
    if rows * cols > max_pixels:
        raise DecodeError(
            f"the image is {cols}x{rows} = {rows * cols / 1e6:.1f} MP, above the limit of "
            f"{max_pixels / 1e6:.0f} MP")
    if rows == 0 or cols == 0:
        raise DecodeError(f"the image has no pixels ({cols}x{rows})")


def _to_rgb_alpha(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert any Pillow mode to (RGB uint8, alpha uint8 or None)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        peak = 1.0 if mode == "F" else (255.0 if arr.max(initial=0) <= 255 else 65535.0)
        grey = np.clip(np.rint(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2), None
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"))
        alpha = np.ascontiguousarray(rgba[:, :, 3])
        return np.ascontiguousarray(rgba[:, :, :3]), alpha
    return np.asarray(img.convert("RGB")), None

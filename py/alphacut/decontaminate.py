"""Foreground colour estimation: take the background's colour out of semi-transparent edges.

Blur-fusion (Forte and Pitié, "Approximate fast foreground colour estimation", ICIP 2021):
two passes of local means of the foreground and background colours, weighted by alpha, then a
correction so that ``alpha * F + (1 - alpha) * B`` reproduces the photo. Here both passes run at
a working resolution of at most 1024 px; at full resolution only the semi-transparent band is
touched (see :func:`_foreground_in_band`), so the cost follows the band, not the photo.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

#: Box radii of the two passes, in pixels of the (at most 1024-px) working image: the paper's
#: 90 and 6 at about 1 MP.
WIDE, NARROW = 90, 6


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, *, amount: float = 1.0) -> np.ndarray:
    """Estimate the foreground colour where ``0 < alpha < 1``.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    alpha : (M, N) ndarray of float32 in [0, 1]
    amount : float, optional
        0 returns ``image`` unchanged, 1 the full estimate; in between, a blend.

    Returns
    -------
    (M, N, 3) ndarray of uint8
        Pixels whose alpha rounds to 255 or to 0 keep their original RGB exactly.

    Examples
    --------
    >>> img = np.zeros((20, 20, 3), np.uint8); img[..., 1] = 200      # green screen
    >>> img[:, 10:] = (200, 40, 40); img[:, 9] = (100, 120, 20)      # red subject, mixed edge
    >>> a = np.zeros((20, 20), np.float32); a[:, 10:] = 1; a[:, 9] = 0.5
    >>> out = estimate_foreground(img, a)
    >>> int(out[5, 9, 1]) < 60, bool((out[:, 10:] == img[:, 10:]).all())
    (True, True)
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (M, N, 3) uint8, got {image.shape} {image.dtype}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} and image {image.shape} differ in size")
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be in [0, 1], got {amount}")
    a8 = np.rint(alpha * 255)
    band = (a8 > 0) & (a8 < 255)
    if amount == 0.0 or not band.any():
        return image.copy()
    f = _foreground_in_band(image, np.asarray(alpha, np.float32), band)
    img_band = image[band].astype(np.float32)
    mixed = img_band + np.float32(amount) * (f - img_band * np.float32(1 / 255)) * np.float32(255)
    out = image.copy()
    out[band] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out


def _foreground_in_band(image: np.ndarray, alpha: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Foreground colours in [0, 1] of the band pixels, as a (K, 3) array.

    Both blur-fusion passes run on a copy at most 1024 px on its longer side. At full resolution,
    only the band pixels are touched: the background estimate is resized there, and the
    compositing equation ``I = a F + (1 - a) B`` is solved for ``F``, which keeps the fine detail
    of hair; where alpha is small that solution is noisy, so it is blended towards the smooth
    estimate.
    """
    rows, cols = alpha.shape
    k = min(1.0, 1024 / max(rows, cols))
    small_size = (max(1, round(cols * k)), max(1, round(rows * k)))
    if k == 1.0:
        small_img = image.astype(np.float32) * np.float32(1 / 255)
        small_a = alpha
    else:
        small_img = np.asarray(Image.fromarray(image).resize(small_size, Image.BILINEAR), np.float32) / 255
        small_a = _resize(alpha, small_size)
    f1, b1 = _fuse(small_img, small_img, small_img, small_a, WIDE)
    f2, b2 = _fuse(small_img, f1, b1, small_a, NARROW)
    if k == 1.0:
        f_smooth, b = f2[band], b2[band]
    else:
        f_smooth = np.stack([_resize(f2[..., c], (cols, rows))[band] for c in range(3)], axis=1)
        b = np.stack([_resize(b2[..., c], (cols, rows))[band] for c in range(3)], axis=1)
    a = alpha[band][:, None]
    i = image[band].astype(np.float32) * np.float32(1 / 255)
    f_solved = np.clip((i - (1 - a) * b) / np.maximum(a, 0.05), 0, 1)
    w = np.clip((a - 0.2) / 0.6, 0, 1)
    return w * f_solved + (1 - w) * f_smooth


def _box(x: np.ndarray, r: int) -> np.ndarray:
    size = (2 * r + 1,) * 2 + ((1,) if x.ndim == 3 else ())
    return ndimage.uniform_filter(x, size=size, mode="nearest")


def _fuse(image, fg, bg, alpha, r):
    """One blur-fusion pass; returns (foreground, blurred background)."""
    a3 = alpha[..., None]
    ba = _box(alpha, r)[..., None]
    bf = _box(fg * a3, r) / (ba + 1e-5)
    bb = _box(bg * (1 - a3), r) / ((1 - ba) + 1e-5)
    f = bf + a3 * (image - a3 * bf - (1 - a3) * bb)
    return np.clip(f, 0, 1, out=f), bb


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(np.ascontiguousarray(x, np.float32), mode="F").resize(size, Image.BILINEAR))

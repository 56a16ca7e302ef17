"""Foreground colour estimation: take the background's colour out of semi-transparent edges.

Blur-fusion (Forte and Pitié, "Approximate fast foreground colour estimation", ICIP 2021):
two passes of local means of the foreground and background colours, weighted by alpha, then a
correction so that ``alpha * F + (1 - alpha) * B`` reproduces the photo. Here both passes run on
the working copy that the quality checks score too (:class:`alphacut._shared.working.WorkingCopy`:
box-reduced by a whole factor to at most 1024 px); at full resolution only the runs of columns
that hold semi-transparent pixels are touched, strip by strip (see :func:`_decontaminate`), so the
cost follows the band, not the photo, and no full-size float copy is made.
"""
from __future__ import annotations

import numpy as np

from .._shared.box import box_mean
from .._shared.checks import as_rgb8
from .._shared.resample import bilinear_block
from .._shared.runs import true_runs
from .._shared.working import MAX_SIDE, WorkingCopy
from ..options import Number

#: Box radii of the two passes, in pixels of a working copy 1024 px on its longer side (the
#: paper's 90 and 6 at about 1 MP); a reduced copy's radii are scaled to its size, so that they
#: cover as much of the photo. A photo of at most 1024 px is worked on as it is, with these radii.
WIDE, NARROW = 90, 6
#: Rows per strip of the full-resolution pass.
_STRIP_ROWS = 64
#: Runs of band columns closer than this many pixels are computed as one (a run costs about as
#: much as computing a few thousand pixels).
_GAP = 64
#: Longest run computed at once (bounds the temporaries).
_LONGEST = 1024


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, *, amount: float = 1.0,
                        out: np.ndarray | None = None, work: WorkingCopy | None = None) -> np.ndarray:
    """Estimate the foreground colour where ``0 < alpha < 1``.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    alpha : (M, N) ndarray of float32 in [0, 1]
    amount : float, optional
        0 returns ``image`` unchanged, 1 the full estimate; in between, a blend.
    out : (M, N, 3) ndarray of uint8, optional
        Where to write the result; ``image`` itself, to estimate in place (every strip of the
        photo is read before it is written), so that no second full-size copy is made.
    work : WorkingCopy, optional
        ``WorkingCopy.of(alpha, image)``, when the caller has made it already.

    Returns
    -------
    (M, N, 3) ndarray of uint8
        ``out`` if given. Pixels whose alpha rounds to 255 or to 0 keep their original RGB exactly.

    Examples
    --------
    >>> img = np.zeros((20, 20, 3), np.uint8); img[..., 1] = 200      # green screen
    >>> img[:, 10:] = (200, 40, 40); img[:, 9] = (100, 120, 20)      # red subject, mixed edge
    >>> a = np.zeros((20, 20), np.float32); a[:, 10:] = 1; a[:, 9] = 0.5
    >>> out = estimate_foreground(img, a)
    >>> int(out[5, 9, 1]) < 60, bool((out[:, 10:] == img[:, 10:]).all())
    (True, True)
    """
    image = as_rgb8(image)
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} and image {image.shape} differ in size")
    amount = Number(0.0, 1.0).check("amount", amount)
    if out is None:
        out = np.empty_like(image)
    elif out.shape != image.shape or out.dtype != np.uint8:
        raise ValueError(f"out must be {image.shape} uint8, got {out.shape} {out.dtype}")
    if out is not image:
        out[...] = image
    if amount == 0.0:
        return out
    if work is not None:
        work.check(alpha.shape, rgb=True)
    rows, cols = alpha.shape
    smooth = None
    for start in range(0, rows, _STRIP_ROWS):
        s = slice(start, start + _STRIP_ROWS)
        a8 = np.rint(alpha[s] * 255)
        band = (a8 > 0) & (a8 < 255)
        for x0, x1 in true_runs(band.any(axis=0), gap=_GAP, longest=_LONGEST):
            if smooth is None:
                smooth = _smooth_estimates(work or WorkingCopy.of(alpha, image))
            # A block's colours as (R, 3 C) rows, channels interleaved as in the image: every
            # operation runs on contiguous memory, and per-pixel values are repeated per channel.
            cs = slice(x0, x1)
            r = band.shape[0]
            img = image[s, cs].reshape(r, -1).astype(np.float32)
            fg, bg = (bilinear_block(e, (rows, cols), s, cs).reshape(r, -1) for e in smooth)
            new = _decontaminate(img, alpha[s, cs], fg, bg, amount)
            new -= img
            new *= _per_channel(band[:, cs])  # whole numbers, so outside the band this is exact
            new += img
            out[s, cs] = new.reshape(r, -1, 3)
    return out


def _smooth_estimates(work: WorkingCopy) -> tuple[np.ndarray, np.ndarray]:
    """Blur-fusion's foreground and background on the working copy, two (m, n, 3) arrays.

    Both passes run in one stack of seven planes (alpha, alpha-weighted foreground,
    (1 - alpha)-weighted background) that is box-filtered in place and then overwritten by the
    pass's estimates.
    """
    small_img, small_a = work.rgb, work.alpha
    scale = 1.0 if work.factor == 1 else max(small_a.shape) / MAX_SIDE
    img = np.empty((small_img.shape[0], 3, small_img.shape[1]), np.float32)  # (m, 3, n) planes
    for c in range(3):
        np.multiply(small_img[..., c], np.float32(1 / 255), out=img[:, c])
    a = small_a[:, np.newaxis, :]
    stack = np.empty((img.shape[0], 7, img.shape[2]), np.float32)
    stack[:, 1:4] = img
    stack[:, 4:7] = img
    for r in (WIDE, NARROW):  # the second pass starts from the first's foreground and background
        stack[:, :1] = a
        stack[:, 1:4] *= a
        stack[:, 4:7] *= 1 - a
        box_mean(stack, max(1, round(r * scale)), edges="nearest")
        _fuse(stack, img, a)
    return _interleave(stack[:, 1:4]), _interleave(stack[:, 4:7])


def _interleave(planes: np.ndarray) -> np.ndarray:
    """(m, 3, n) planes as an (m, n, 3) array, one channel at a time (much faster than a transposed copy)."""
    out = np.empty((planes.shape[0], planes.shape[2], planes.shape[1]), planes.dtype)
    for c in range(planes.shape[1]):
        out[..., c] = planes[:, c]
    return out


def _fuse(stack, image, a):
    """Turn a box-filtered stack into one pass's (foreground, background), in planes 1-3 and 4-6."""
    ba = stack[:, :1]
    bf, bb = stack[:, 1:4], stack[:, 4:7]
    bf /= ba + 1e-5
    bb /= (1 - ba) + 1e-5
    t = image - a * bf
    t -= (1 - a) * bb
    t *= a
    bf += t
    np.clip(bf, 0, 1, out=bf)


def _decontaminate(img: np.ndarray, alpha: np.ndarray, fg: np.ndarray, bg: np.ndarray, amount: float) -> np.ndarray:
    """New colours (whole numbers in 0-255) of an (R, C) block of pixels, as (R, 3 C) rows.

    ``img`` holds the colours in 0-255 and ``fg``, ``bg`` the smooth foreground and background in
    [0, 1], all as (R, 3 C) rows with the channels interleaved; ``alpha`` is (R, C). The
    compositing equation ``I = a F + (1 - a) B`` is solved for ``F`` with the smooth background,
    which keeps the fine detail of hair; where alpha is small that solution is noisy, so it is
    blended towards the smooth foreground.
    """
    a = np.asarray(alpha, np.float32)
    inv = np.float32(1) / np.maximum(a, np.float32(0.05))
    per_pixel = [inv, (a - 1) * inv * np.float32(255), np.clip((a - np.float32(0.2)) * np.float32(1 / 0.6), 0, 1)]
    inv, scale_bg, weight = (_per_channel(x) for x in per_pixel)
    f = bg * scale_bg  # F = (I - (1 - a) B) / max(a, 0.05)
    f += img * inv
    np.clip(f, 0, 255, out=f)
    smooth = fg * np.float32(255)
    f -= smooth
    f *= weight
    f += smooth
    if amount != 1.0:
        f -= img
        f *= np.float32(amount)
        f += img
    return np.rint(f, out=f)


def _per_channel(x: np.ndarray) -> np.ndarray:
    """An (R, C) array repeated for each of 3 interleaved channels, as (R, 3 C) (faster than np.repeat)."""
    out = np.empty(x.shape + (3,), x.dtype)
    for c in range(3):
        out[..., c] = x
    return out.reshape(x.shape[0], -1)

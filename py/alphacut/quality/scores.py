"""The quality check's scores: cheap measurements of the matte (and the photo).

Every score is a pure function of the alpha matte (and, for colour spill and blur, the photo),
computed on a working copy whose longer side is at most ``max_side`` (1024 by default; smaller
inputs are used as they are, never upsampled). Lengths below are in working pixels, so the
scores of a 12 MP photo and of its 1024 px copy agree.

=================  ==========  =====================================================================
score              range       meaning (worse is ...)
=================  ==========  =====================================================================
``jaggedness``     [0, inf)    boundary length of the binarised matte over that of a smoothed copy,
                               minus one (higher): 0 for a smooth outline, 0.3 = 30 % extra wiggle
``confidence``     [0, 1]      mean ``|2 a - 1|`` in a band around the outline (lower): 1 is crisp,
                               0 is a matte that hedges at one half
``halo``           [0, 1]      fraction of the visible cut-out (a > 0.05) that is semi-transparent,
                               0.05 < a < 0.95 (higher)
``spill``          [0, 1]      mean of ``max(0, a - a_colour)`` in the band, where ``a_colour``
                               projects the pixel's colour between the nearby background and
                               foreground colours (higher): background kept as foreground
``edge_support``   [0, 1]      share of the matte's edge that lies on an edge of the photo (lower)
``fragments``      0, 1, ...   connected pieces (a > 0.5, 8-connected, >= 4 px) besides the
                               largest one (higher)
``holes``          0, 1, ...   enclosed transparent pieces (a <= 0.5, 4-connected, >= 4 px, not
                               touching the frame) (higher)
``area``           [0, 1]      mean alpha: the share of the photo that is kept (both ends bad:
                               ``nothing found`` / ``nothing removed``)
``sharpness``      [0, inf)    variance of the Laplacian of the grey photo (0-255) at working
                               size (lower): a blurry photo gives soft edges whatever the matte
=================  ==========  =====================================================================

:mod:`alphacut.quality.checks` turns them into a verdict with reasons, from one table of checks.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .._shared.checks import as_alpha, as_rgb8
from .._shared.working import MAX_SIDE, shrink
from ..options import Integer

__all__ = [
    "edge_jaggedness", "boundary_confidence", "halo_fraction", "colour_spill", "edge_support",
    "foreground_fraction", "count_fragments", "count_holes", "sharpness",
]

#: Alpha below this is "transparent" and above ``1 - _LO`` "opaque" for the halo score.
_LO = 0.05
#: Gaussian scale (working px) at which boundary length is measured.
_SIGMA_LENGTH = 1.0
#: Gaussian scale (working px) of the smoothed outline the jaggedness compares against.
_SIGMA_SMOOTH = 3.0
#: Half-width (working px) of the band around the outline.
_BAND = 3
#: Scale (working px) of the local background/foreground colour estimates for the spill.
_SIGMA_COLOUR = 6.0
#: Minimal |F - B| (RGB in [0, 1]) for a band pixel to be informative about spill.
_MIN_CONTRAST = 0.12
#: Pieces smaller than this (working px) are ignored by the fragment and hole counts.
_MIN_PIECE = 4
_EIGHT = np.ones((3, 3), bool)


# --- input helpers -------------------------------------------------------------------------


def _check_side(max_side) -> int:
    return Integer(16).check("max_side", max_side)


def _check_min_size(min_size) -> int:
    return Integer(1).check("min_size", min_size)


def _work_alpha(alpha: np.ndarray, max_side: int) -> np.ndarray:
    """Box-average ``alpha`` (float32, [0, 1]) by the integer factor that brings it to at most
    ``max_side``; never upsampled."""
    return shrink(np.asarray(alpha, np.float32), max_side)


def _work_image(image: np.ndarray, max_side: int) -> np.ndarray:
    """RGB float32 in [0, 1], box-averaged by the same integer factor as :func:`_work_alpha`."""
    return _as_float(shrink(image, max_side))


def _as_float(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) * np.float32(1 / 255)


# --- kernels (working resolution) ----------------------------------------------------------


def _length(mask: np.ndarray) -> float:
    """Boundary length in pixels: total variation of the mask blurred at 1 px (isotropic)."""
    if not mask.any() or mask.all():
        return 0.0
    g = ndi.gaussian_gradient_magnitude(mask.astype(np.float32), _SIGMA_LENGTH, mode="nearest", truncate=3.0)
    return float(g.sum(dtype=np.float64))


def _smooth(mask: np.ndarray) -> np.ndarray:
    return ndi.gaussian_filter(mask.astype(np.float32), _SIGMA_SMOOTH, mode="nearest", truncate=3.0) > 0.5


def _crop_to_outline(mask: np.ndarray) -> np.ndarray:
    """The part of ``mask`` where the outline is, with room for the smoothing around it."""
    rows = np.flatnonzero(mask.any(axis=1) & ~mask.all(axis=1))
    cols = np.flatnonzero(mask.any(axis=0) & ~mask.all(axis=0))
    if rows.size == 0 and cols.size == 0:
        return mask[:0, :0]
    pad = int(3 * _SIGMA_SMOOTH) + 3
    r0 = max(rows.min() - pad, 0) if rows.size else 0
    r1 = min(rows.max() + pad + 1, mask.shape[0]) if rows.size else mask.shape[0]
    c0 = max(cols.min() - pad, 0) if cols.size else 0
    c1 = min(cols.max() + pad + 1, mask.shape[1]) if cols.size else mask.shape[1]
    return mask[r0:r1, c0:c1]


def _jaggedness(mask: np.ndarray) -> float:
    mask = _crop_to_outline(mask)
    raw = _length(mask)
    smooth = _length(_smooth(mask))
    return max(0.0, raw - smooth) / max(smooth, 8.0 * _SIGMA_SMOOTH)


def _band(mask: np.ndarray) -> np.ndarray:
    m = mask.view(np.uint8)
    size = 2 * _BAND + 1
    return ndi.maximum_filter(m, size, mode="nearest") != ndi.minimum_filter(m, size, mode="nearest")


def _confidence(a: np.ndarray, band: np.ndarray) -> float:
    if not band.any():
        return 1.0
    return float(np.abs(2.0 * a[band] - 1.0).mean(dtype=np.float64))


def _halo(a: np.ndarray) -> float:
    visible = int(np.count_nonzero(a > _LO))
    if visible == 0:
        return 0.0
    mid = int(np.count_nonzero((a > _LO) & (a < 1 - _LO)))
    return mid / visible


#: Colour estimates for the spill are made on a grid this many working pixels apart.
_COLOUR_STEP = 4


def _pool(x: np.ndarray, k: int) -> np.ndarray:
    """Sum over k x k blocks (zero padded) of a (M, N[, C]) float32 array."""
    m, n = x.shape[:2]
    pm, pn = -(-m // k) * k, -(-n // k) * k
    if (pm, pn) != (m, n):
        x = np.pad(x, [(0, pm - m), (0, pn - n)] + [(0, 0)] * (x.ndim - 2))
    out = x[0::k, 0::k].copy()
    for i in range(k):
        for j in range(k):
            if i or j:
                out += x[i::k, j::k]
    return out


def _bilinear_at(layers: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Bilinear samples of (L, H, W) ``layers`` at fractional (row, col), clamped: (L, P)."""
    h, w = layers.shape[1:]
    r = np.clip(r, 0, h - 1).astype(np.float32)
    c = np.clip(c, 0, w - 1).astype(np.float32)
    r0 = np.minimum(r.astype(np.intp), max(h - 2, 0))
    c0 = np.minimum(c.astype(np.intp), max(w - 2, 0))
    r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
    fr, fc = r - r0, c - c0
    top = layers[:, r0, c0] * (1 - fc) + layers[:, r0, c1] * fc
    bottom = layers[:, r1, c0] * (1 - fc) + layers[:, r1, c1] * fc
    return top * (1 - fr) + bottom * fr


def _spill_map(rgb: np.ndarray, a: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Per band pixel ``max(0, a - a_colour)``; NaN where uninformative or outside the band.

    The local background (a < 0.05) and foreground (a > 0.95) colours are Gaussian-weighted
    means (normalised convolution) computed on a grid ``_COLOUR_STEP`` pixels apart and
    interpolated bilinearly at the band pixels.
    """
    out = np.full(a.shape, np.nan, np.float32)
    rows, cols = np.nonzero(band)
    if rows.size == 0:
        return out
    k = _COLOUR_STEP
    sigma = _SIGMA_COLOUR / k
    layers = []
    for weight in (a < _LO, a > 1 - _LO):
        w = weight.astype(np.float32)
        sums = _pool(rgb * w[..., None], k)
        for c in range(3):
            layers.append(ndi.gaussian_filter(sums[..., c], sigma, mode="constant", truncate=3.0))
        layers.append(ndi.gaussian_filter(_pool(w, k), sigma, mode="constant", truncate=3.0))
    v = _bilinear_at(np.stack(layers), (rows + 0.5) / k - 0.5, (cols + 0.5) / k - 0.5)
    min_w = 0.05 * k * k
    ok = (v[3] > min_w) & (v[7] > min_w)
    bg = v[0:3, ok] / v[3, ok]
    fg = v[4:7, ok] / v[7, ok]
    d = fg - bg
    dd = (d * d).sum(axis=0)
    pix = rgb[rows[ok], cols[ok]].T
    informative = dd > _MIN_CONTRAST ** 2
    proj = ((pix - bg) * d).sum(axis=0)[informative] / dd[informative]
    r, c = rows[ok][informative], cols[ok][informative]
    out[r, c] = np.maximum(a[r, c] - np.clip(proj, 0.0, 1.0), 0.0)
    return out


def _pieces(mask: np.ndarray, structure) -> tuple[np.ndarray, np.ndarray]:
    labels, n = ndi.label(mask, structure=structure)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    return labels, sizes


def _fragments(mask: np.ndarray, min_size: int) -> int:
    _, sizes = _pieces(mask, _EIGHT)
    return max(0, int(np.count_nonzero(sizes >= min_size)) - 1)


def _holes_labels(mask: np.ndarray, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels of ``~mask`` and a boolean per label: an enclosed hole of at least ``min_size``."""
    labels, sizes = _pieces(~mask, None)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    hole = sizes >= min_size
    hole[border] = False
    hole[0] = False
    return labels, hole


def _edge_support(rgb: np.ndarray, a: np.ndarray, band: np.ndarray) -> float:
    """Share of the matte's edge that lies on an edge of the photo (kernel of :func:`edge_support`)."""
    rows, cols = np.flatnonzero(band.any(axis=1)), np.flatnonzero(band.any(axis=0))
    if rows.size == 0:
        return 1.0
    pad = 4
    sl = (slice(max(rows[0] - pad, 0), rows[-1] + pad + 1), slice(max(cols[0] - pad, 0), cols[-1] + pad + 1))
    ga = ndi.gaussian_gradient_magnitude(a[sl], 1.0, mode="nearest", truncate=3.0)
    total = float(ga.sum(dtype=np.float64))
    if total <= 0:
        return 1.0
    grey = rgb[sl] @ np.array([0.299, 0.587, 0.114], np.float32)
    gi = ndi.gaussian_gradient_magnitude(grey, 1.0, mode="nearest", truncate=3.0)
    scale = float(np.percentile(gi, 90))
    if scale <= 1e-6:
        return 0.0
    support = np.minimum(gi / np.float32(scale), 1.0)
    return float((ga * support).sum(dtype=np.float64) / total)


def _sharpness(rgb: np.ndarray) -> float:
    grey = rgb @ np.array([0.299 * 255, 0.587 * 255, 0.114 * 255], np.float32)
    return float(ndi.laplace(grey, mode="nearest").var(dtype=np.float64))


# --- public scores -------------------------------------------------------------------------

#: The parameters that the scores share, filled into their docstrings by ``_docfiller`` (the
#: ``%(name)s`` convention of scipy.ndimage's docstrings), so each is worded once.
_PARAMETERS = {
    "alpha": "alpha : (M, N) ndarray of float in [0, 1], uint8 or bool",
    "image": "image : (M, N, 3) ndarray of uint8",
    "max_side": "max_side : int, optional\n        Longer side of the working copy.",
}
_PARAMETERS["alpha_parameters"] = "Parameters\n    ----------\n    {alpha}\n    {max_side}".format(**_PARAMETERS)


def _docfiller(f):
    if f.__doc__:  # None under python -OO
        f.__doc__ = f.__doc__ % _PARAMETERS
    return f


@_docfiller
def edge_jaggedness(alpha, *, max_side: int = MAX_SIDE) -> float:
    """How much longer the outline is than a smoothed copy of itself.

    The matte is binarised at 0.5; boundary length is the total variation of that mask blurred
    at 1 working pixel (isotropic, so a smooth diagonal is not counted as a staircase), and is
    compared with the length of the mask smoothed by a Gaussian of 3 working pixels and
    binarised again.

    Parameters
    ----------
    %(alpha)s
    max_side : int, optional
        Longer side of the working copy; larger mattes are area-averaged down to it.

    Returns
    -------
    float
        ``>= 0``: 0 for a smooth outline (a disc scores about 0.0), 0.3 means 30 %% extra
        boundary. Fragments and pin holes that the smoothing removes count as extra boundary.

    Examples
    --------
    >>> r, c = np.mgrid[:128, :128]
    >>> disc = ((r - 64) ** 2 + (c - 64) ** 2 < 40 ** 2).astype(np.float32)
    >>> edge_jaggedness(disc) < 0.05
    True
    """
    a = _work_alpha(as_alpha(alpha), _check_side(max_side))
    return _jaggedness(a > 0.5)


@_docfiller
def boundary_confidence(alpha, *, max_side: int = MAX_SIDE) -> float:
    """Mean ``|2 a - 1|`` in a band of 3 working pixels either side of the 0.5 outline.

    %(alpha_parameters)s

    Returns
    -------
    float
        In [0, 1]: 1 when the matte is 0 or 1 right up to its outline, near 0 when it hedges at
        one half there. 1 when there is no outline at all.

    Examples
    --------
    >>> alpha = np.zeros((32, 32), np.float32); alpha[:, 16:] = 1
    >>> round(boundary_confidence(alpha), 3)
    1.0
    >>> round(boundary_confidence(np.clip(alpha, 0.4, 0.6)), 3)
    0.2
    """
    a = _work_alpha(as_alpha(alpha), _check_side(max_side))
    return _confidence(a, _band(a > 0.5))


@_docfiller
def halo_fraction(alpha, *, max_side: int = MAX_SIDE) -> float:
    """Fraction of the visible cut-out (a > 0.05) that is semi-transparent (0.05 < a < 0.95).

    %(alpha_parameters)s

    Returns
    -------
    float
        In [0, 1]; 0 for a hard matte (and for an empty one).

    Examples
    --------
    >>> alpha = np.zeros((4, 4), np.float32); alpha[:, 2] = 0.5; alpha[:, 3] = 1
    >>> halo_fraction(alpha)
    0.5
    """
    return _halo(_work_alpha(as_alpha(alpha), _check_side(max_side)))


@_docfiller
def colour_spill(image, alpha, *, max_side: int = MAX_SIDE) -> float:
    """How much background colour the matte keeps along its outline.

    Near each pixel of the outline band the background colour ``B`` (mean of the pixels with
    a < 0.05 within about 6 working pixels) and foreground colour ``F`` (a > 0.95) are
    estimated; the pixel's colour ``I`` then implies ``a_colour = (I - B).(F - B) / |F - B|^2``.
    Where the matte says more than that, it keeps background: the halo one sees around a
    cut-out. Pixels whose ``|F - B|`` is under 0.12 (RGB in [0, 1]) say nothing and are skipped.

    Parameters
    ----------
    %(image)s
        The photo.
    %(alpha)s
    %(max_side)s

    Returns
    -------
    float
        In [0, 1]: mean of ``max(0, a - a_colour)`` over the informative band pixels; 0 when
        there are none.

    Examples
    --------
    >>> image = np.zeros((32, 32, 3), np.uint8); image[:, 16:] = 255
    >>> alpha = np.zeros((32, 32), np.float32); alpha[:, 16:] = 1
    >>> colour_spill(image, alpha)
    0.0
    >>> alpha[:, 12:] = 1  # four columns of black kept as foreground
    >>> colour_spill(image, alpha) > 0.3
    True
    """
    a = as_alpha(alpha)
    image = as_rgb8(image, shape=a.shape)
    side = _check_side(max_side)
    a = _work_alpha(a, side)
    spill = _spill_map(_work_image(image, side), a, _band(a > 0.5))
    return _nanmean(spill)


@_docfiller
def edge_support(image, alpha, *, max_side: int = MAX_SIDE) -> float:
    """How much of the matte's edge lies on an edge of the photo.

    Each pixel of the matte's edge (its gradient magnitude at 1 working pixel) is weighted by
    the photo's own gradient there, relative to the 90th percentile of the photo's gradient
    around the subject and capped at 1. A matte that follows the subject scores near 1;
    one that cuts through the subject (eroded, dilated, half missing, punched) or through flat
    background scores lower.

    Parameters
    ----------
    %(image)s
    %(alpha)s
    %(max_side)s

    Returns
    -------
    float
        In [0, 1]; 1 for a matte without edges.

    Examples
    --------
    >>> image = np.zeros((32, 32, 3), np.uint8); image[:, 16:] = 255
    >>> alpha = np.zeros((32, 32), np.float32); alpha[:, 16:] = 1
    >>> edge_support(image, alpha) > 0.7
    True
    >>> alpha[:, 8:] = 1  # the edge now runs through flat colour
    >>> edge_support(image, alpha) < 0.1
    True
    """
    a = as_alpha(alpha)
    image = as_rgb8(image, shape=a.shape)
    side = _check_side(max_side)
    a = _work_alpha(a, side)
    return _edge_support(_work_image(image, side), a, _band(a > 0.5))


def _nanmean(x: np.ndarray) -> float:
    ok = ~np.isnan(x)
    return float(x[ok].mean(dtype=np.float64)) if ok.any() else 0.0


@_docfiller
def foreground_fraction(alpha) -> float:
    """Mean alpha: the share of the photo that the cut-out keeps.

    Parameters
    ----------
    %(alpha)s

    Returns
    -------
    float
        In [0, 1]; near 0 means nothing was found, near 1 that nothing was removed.

    Examples
    --------
    >>> foreground_fraction(np.array([[0, 1], [1, 0.5]]))
    0.625
    """
    return float(as_alpha(alpha).mean(dtype=np.float64))


@_docfiller
def count_fragments(alpha, *, min_size: int = 1) -> int:
    """Number of connected pieces of the cut-out (a > 0.5, 8-connected) of at least ``min_size`` pixels.

    Counts at the resolution given (no working copy), so it equals ``scipy.ndimage.label``'s
    count with a 3x3 structure when ``min_size=1``.

    Parameters
    ----------
    %(alpha)s
    min_size : int, optional
        Pieces with fewer pixels are ignored. >= 1.

    Returns
    -------
    int
        0 for an empty cut-out, 1 for a single subject.

    Examples
    --------
    >>> alpha = np.zeros((5, 5)); alpha[0, 0] = alpha[1, 1] = alpha[4, 4] = 1
    >>> count_fragments(alpha)
    2
    """
    min_size = _check_min_size(min_size)
    _, sizes = _pieces(as_alpha(alpha) > 0.5, _EIGHT)
    return int(np.count_nonzero(sizes >= min_size))


@_docfiller
def count_holes(alpha, *, min_size: int = 1) -> int:
    """Number of enclosed holes: pieces of a <= 0.5 (4-connected) that do not touch the frame.

    Parameters
    ----------
    %(alpha)s
    min_size : int, optional
        Holes with fewer pixels are ignored. >= 1.

    Returns
    -------
    int

    Examples
    --------
    >>> alpha = np.ones((5, 5)); alpha[2, 2] = 0; alpha[0, 0] = 0
    >>> count_holes(alpha)
    1
    """
    min_size = _check_min_size(min_size)
    _, hole = _holes_labels(as_alpha(alpha) > 0.5, min_size)
    return int(np.count_nonzero(hole))


@_docfiller
def sharpness(image, *, max_side: int = MAX_SIDE) -> float:
    """Variance of the Laplacian of the grey photo (0-255 scale) at working size.

    Parameters
    ----------
    %(image)s
    max_side : int, optional
        Longer side of the working copy (the score depends on scale, so compare like with like).

    Returns
    -------
    float
        ``>= 0``; 0 for a flat image, a few hundred for a sharp photo, under about 20 for a
        blurry one.

    Examples
    --------
    >>> sharpness(np.full((16, 16, 3), 128, np.uint8))
    0.0
    """
    image = as_rgb8(image)
    return _sharpness(_work_image(image, _check_side(max_side)))


# --- verdict -------------------------------------------------------------------------------

"""Texture change: where an edit changed the fine detail but not the local mean colour.

A blurred colour difference sees recolours and content swaps, but an edit that adds grain,
smooths skin or changes a fine pattern leaves the local mean almost unchanged: its difference is
zero-mean and the blur cancels it. Its local spread does not cancel: in a window of scale
``sigma`` the difference ``d`` (Lab, per channel) has energy ``E = G * |d|^2`` and mean
``m = G * d``, and ``E - |m|^2`` is the variance of the difference around its local mean. A
smooth change (the soft edge of a recolour) has a variance too: a difference that varies
linearly in the window has ``sigma^2 |grad m|^2``. So the spread is
``T = sqrt(max(E - |m|^2 - sigma^2 |grad m|^2, 0))``: what the mean and its slope do not explain.

Compression and resampling also leave a zero-mean difference, larger where the original is
busy (JPEG errors grow with the local detail). So ``T`` is compared with what the image's own
untouched pixels show at the same level of detail: the pixels are binned by the local spread of
the original's finest detail (``A``: its lightness minus a 1-pixel blur), and in each bin a low quantile of ``T`` is the noise there
(an edit covering less than about three quarters of a bin does not move it). The result is
``T`` in units of that noise.

:func:`structure_change` asks another question of the same windows: how much of the original's
structure (its correlation with the edit, SSIM's contrast-structure term) the edit kept.
Compression keeps it where there is detail to keep; grain, a new texture, smoothing or other
content do not.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["texture_change", "structure_change", "noise_by_detail"]

#: Number of bins of the original's local detail, each with its own noise level.
_BINS = 6
#: The noise level of a bin is this quantile of ``T`` in it.
_NOISE_QUANTILE = 0.25
#: The noise level is at least this, in Delta E (a perfect copy has no noise at all).
_MIN_NOISE = 0.25


def texture_change(planes: np.ndarray, lightness: np.ndarray, *, sigma: float,
                   region_sigma: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local spread of a colour difference, raw and in units of its noise at that level of detail.

    Parameters
    ----------
    planes : (C, M, N) ndarray of float32
        Lab difference, edited minus original, channel first (all three channels, or some).
    lightness : (M, N) ndarray of float32
        The original's L*.
    sigma : float
        Gaussian scale of the local statistics, in pixels, > 0.
    region_sigma : float, optional
        If > 0, both outputs are then averaged at this larger scale (pixels): a region whose
        spread is steadily a little above the noise stands out of the pixels that are sometimes
        far above it (edges, compression blocks).

    Returns
    -------
    spread : (M, N) ndarray of float32
        ``T``, Delta E.
    ratio : (M, N) ndarray of float32
        ``T`` divided by the noise level of pixels with as much detail in the original.
    detail : (M, N) ndarray of float32
        That level of detail, ``A`` (for :func:`noise_by_detail`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> planes = rng.normal(0, 0.5, (3, 64, 64)).astype(np.float32)
    >>> planes[0, 20:44, 20:44] += rng.normal(0, 8, (24, 24)).astype(np.float32)
    >>> spread, ratio, detail = texture_change(planes, np.full((64, 64), 50, np.float32), sigma=2)
    >>> bool(ratio[32, 32] > 8 > 2 > ratio[5, 5])
    True
    """
    planes = np.asarray(planes, dtype=np.float32)
    lightness = np.asarray(lightness, dtype=np.float32)
    if planes.ndim != 3 or planes.shape[1:] != lightness.shape:
        raise ValueError(f"planes must be (C, M, N) and lightness (M, N), got {planes.shape} and {lightness.shape}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    # The statistics are smooth at this scale: compute them on 2 x 2 blocks (their sums of d and
    # of d^2, so no variance is lost) and bring them back up.
    k = _block_factor(sigma, lightness.shape)
    spread = _local_spread(planes, sigma, k)
    # Compression errors follow the finest detail (what JPEG quantises), so the detail measure is
    # the local spread of the lightness minus a 1-pixel blur of it.
    fine = _finest(lightness)
    activity = _local_spread(fine[np.newaxis], sigma, k)
    ratio = spread / noise_by_detail(spread, activity)
    if region_sigma > 0:
        spread = ndi.gaussian_filter(spread, region_sigma / k, mode="nearest", truncate=3.0)
        ratio = ndi.gaussian_filter(ratio, region_sigma / k, mode="nearest", truncate=3.0)
    return tuple(_upsample(a, k, lightness.shape) for a in (spread, ratio, activity))


def structure_change(lightness: np.ndarray, lightness_change: np.ndarray, *, sigma: float,
                     contrast: float) -> np.ndarray:
    """How much of the local structure an edit replaced: one minus SSIM's contrast-structure term.

    In a Gaussian window of scale ``sigma`` the original's lightness ``x`` and the edit's ``y``
    have variances ``v_x``, ``v_y`` and covariance ``c``; the result is
    ``1 - (2 c + C) / (v_x + v_y + C)`` with ``C = contrast**2`` (Wang et al., 2004). It is 0
    where the edit keeps the structure up to a change of mean or a mild gain (a colour drift, a
    recolour, compression of detail much stronger than ``contrast``) and approaches 1 where it
    replaced or added detail stronger than ``contrast`` (grain, a new texture, smoothing, other
    content): compression keeps the structure it quantises, an edit of texture does not.

    Parameters
    ----------
    lightness, lightness_change : (M, N) ndarray of float32
        The original's L* and the edit's L* minus it.
    sigma : float
        Gaussian window scale in pixels, > 0.
    contrast : float
        Standard deviation (L* units) below which detail does not count, > 0.

    Returns
    -------
    (M, N) ndarray of float32 in [0, 2]

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lightness = (50 + 10 * rng.standard_normal((64, 64))).astype(np.float32)
    >>> change = rng.normal(0, 1, (64, 64)).astype(np.float32)
    >>> change[20:44, 20:44] += rng.normal(0, 10, (24, 24)).astype(np.float32)
    >>> d = structure_change(lightness, change, sigma=2, contrast=4)
    >>> bool(d[32, 32] > 0.3 > 0.05 > d[5, 5])
    True
    """
    x = np.asarray(lightness, dtype=np.float32)
    y = x + np.asarray(lightness_change, dtype=np.float32)
    if x.ndim != 2 or y.shape != x.shape:
        raise ValueError(f"lightness and lightness_change must be (M, N) of one shape, got {x.shape} and {y.shape}")
    if not (sigma > 0 and contrast > 0):
        raise ValueError(f"sigma and contrast must be > 0, got {sigma} and {contrast}")

    # As in texture_change: the window sums (of x, y and their products, so that no variance is
    # lost) over 2 x 2 blocks when the window is wide enough, and the result brought back up.
    k = _block_factor(sigma, x.shape)

    def g(a):
        return ndi.gaussian_filter(_blocks(a, k), sigma / k, mode="nearest", truncate=3.0)

    mx, my = g(x), g(y)
    c = np.float32(contrast * contrast)
    num = g(x * y)
    num -= mx * my
    num *= 2
    num += c
    den = g(x * x) + g(y * y)
    den -= np.square(mx)
    den -= np.square(my)
    den += c
    np.maximum(den, c, out=den)
    num /= den
    return _upsample(np.subtract(np.float32(1), num, out=num), k, x.shape)


def _finest(image: np.ndarray) -> np.ndarray:
    """The finest detail of an (M, N) image: itself minus a 1-pixel Gaussian blur of it."""
    return image - ndi.gaussian_filter(image, 1.0, mode="nearest", truncate=3.0)


def _block_factor(sigma: float, shape) -> int:
    """2 (statistics on 2 x 2 blocks) when a window of ``sigma`` pixels is wide enough for it, else 1."""
    return 2 if sigma >= 2 and min(shape) >= 8 else 1


def _blocks(image: np.ndarray, k: int) -> np.ndarray:
    """Mean over k x k blocks of the last two axes (edges repeated to a multiple of k)."""
    if k == 1:
        return image
    rows, cols = image.shape[-2:]
    pad = [(0, 0)] * (image.ndim - 2) + [(0, -rows % k), (0, -cols % k)]
    image = np.pad(image, pad, mode="edge")
    shape = image.shape[:-2] + (image.shape[-2] // k, k, image.shape[-1] // k, k)
    return image.reshape(shape).mean(axis=(-3, -1), dtype=np.float32)


def _upsample(image: np.ndarray, k: int, shape) -> np.ndarray:
    """Back from :func:`_blocks` (k = 1 or 2) to ``shape``: bilinear, block centres aligned, edges
    repeated. By slicing: SciPy's ``affine_transform`` took 40 ms per 1024 px map, this about 5."""
    if k == 1:
        return image
    if k != 2:
        raise ValueError(f"k must be 1 or 2, got {k}")
    out = np.asarray(image, dtype=np.float32)
    for axis in (0, 1):
        a = np.moveaxis(out, axis, 0)
        prev = np.concatenate([a[:1], a[:-1]])
        nxt = np.concatenate([a[1:], a[-1:]])
        doubled = np.empty((2 * a.shape[0],) + a.shape[1:], np.float32)
        # Output pixel 2i sits a quarter block before block i's centre, 2i + 1 a quarter after.
        np.multiply(a, np.float32(0.75), out=doubled[0::2])
        doubled[0::2] += np.float32(0.25) * prev
        np.multiply(a, np.float32(0.75), out=doubled[1::2])
        doubled[1::2] += np.float32(0.25) * nxt
        out = np.moveaxis(doubled, 0, axis)
    return np.ascontiguousarray(out[:shape[0], :shape[1]])


def _local_spread(planes: np.ndarray, sigma: float, k: int) -> np.ndarray:
    """sqrt(G * |p|^2 - |G * p|^2 - sigma^2 |grad G * p|^2) over the channels of (C, M, N) ``planes``.

    Computed on k x k blocks: the result is (ceil(M / k), ceil(N / k)).
    """
    sigma = sigma / k
    shape = _blocks(planes[0], k).shape
    energy = np.zeros(shape, np.float32)
    explained = np.zeros(shape, np.float32)
    # A linear ramp with gradient g (per block) has variance sigma^2 |g|^2 across the window and
    # |g|^2 (k^2 - 1) / (12 k^2) within each block.
    s2 = np.float32(sigma * sigma + (k * k - 1) / (12 * k * k))
    for p in planes:
        energy += ndi.gaussian_filter(_blocks(np.square(p), k), sigma, mode="nearest", truncate=3.0)
        m = ndi.gaussian_filter(_blocks(p, k), sigma, mode="nearest", truncate=3.0)
        explained += np.square(m)
        for g in np.gradient(m):
            g *= g
            g *= s2
            explained += g
    energy -= explained
    return np.sqrt(np.maximum(energy, 0, out=energy), out=energy)


def noise_by_detail(values: np.ndarray, detail: np.ndarray, *, floor: float = _MIN_NOISE,
                    quantile: float = _NOISE_QUANTILE) -> np.ndarray:
    """Per pixel, a quantile of ``values`` (a low one by default) among the pixels with a similar level of ``detail``.

    Parameters
    ----------
    values, detail : (M, N) ndarray of float32
        A difference statistic, and the original's level of detail (see :func:`texture_change`).
    floor : float, optional
        The smallest noise level, in the units of ``values``.
    quantile : float, optional
        The noise level of a bin is this quantile of ``values`` in it.

    Returns
    -------
    (M, N) ndarray of float32
        The noise level, non-decreasing in ``detail`` and at least ``floor``.

    Examples
    --------
    >>> detail = np.tile(np.arange(60, dtype=np.float32), (10, 1))
    >>> values = np.where(detail < 30, 1, 3).astype(np.float32)
    >>> noise = noise_by_detail(values, detail)
    >>> float(noise[0, 0]), float(noise[0, 59])
    (1.0, 3.0)
    """
    spread, activity = values, detail
    step = max(1, int(np.sqrt(spread.size / 250_000)))
    s, a = spread[::step, ::step].ravel(), activity[::step, ::step].ravel()
    edges = np.quantile(a, np.linspace(0, 1, _BINS + 1))
    which = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, _BINS - 1)
    centres, levels = [], []
    for b in range(_BINS):
        sel = which == b
        if sel.any():
            centres.append(float(np.median(a[sel])))
            levels.append(float(np.quantile(s[sel], quantile)))
    # More detail never means less noise: a monotone model, interpolated between the bins.
    levels = np.maximum(np.maximum.accumulate(levels), floor)
    return np.interp(activity, centres, levels).astype(np.float32)

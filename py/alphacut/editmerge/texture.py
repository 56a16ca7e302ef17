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
(an edit covering less than about three quarters of a bin does not move it). From one bin to the
next the noise may grow at most ``_NOISE_GROWTH`` (1.3) times as fast as ``A``: an edit that covers
most of the most detailed pixels (grain over a detailed subject) would otherwise become their noise. The
result is ``T`` in units of that noise.

:func:`structure_change` asks another question of the same windows: how much of the original's
structure (its correlation with the edit, SSIM's contrast-structure term) the edit kept.
Compression keeps it where there is detail to keep; grain, a new texture, smoothing or other
content do not.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

__all__ = ["texture_change", "detail_blocks", "detail_within", "wide_texture_change", "structure_change",
           "noise_by_detail", "noise_levels"]

#: Number of bins of the original's local detail, each with its own noise level.
_BINS = 6
#: The noise level of a bin is this quantile of ``T`` in it.
_NOISE_QUANTILE = 0.25
#: The noise level is at least this, in Delta E (a perfect copy has no noise at all).
_MIN_NOISE = 0.25
#: From one bin to the next, the noise level grows at most this many times as fast as the
#: detail: compression's errors grow with the detail it quantises, while an edit over most
#: pixels of some level of detail (grain over a detailed subject) lifts that level's alone.
#: Two-fold cross-validation (BENCHMARKS.md, session 28): 1.0 and 1.3 alike (0.8 harms); 1.3,
#: since 1.0 anchored on a near-flat bin cut a foliage photo's noise below its compression's.
_NOISE_GROWTH = 1.3


def texture_change(planes: np.ndarray, lightness: np.ndarray, *, sigma: float,
                   untouched: np.ndarray | None = None,
                   activity: np.ndarray | None = None,
                   within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local spread of a colour difference, raw and in units of its noise at that level of detail.

    Parameters
    ----------
    planes : (C, M, N) ndarray of float32
        Lab difference, edited minus original, channel first (all three channels, or some).
    lightness : (M, N) ndarray of float32
        The original's L*.
    sigma : float
        Gaussian scale of the local statistics, in pixels, > 0.
    untouched : (M, N) ndarray of bool, optional
        The pixels the noise is measured on (see :func:`noise_by_detail`); all by default.
    activity : ndarray of float32, optional
        :func:`detail_blocks` of ``lightness`` at this ``sigma``, if computed ahead (it depends
        on the original alone); computed here otherwise.
    within : (M, N) ndarray of float32, optional
        The variance of the difference within each pixel that a downscale to (M, N) averaged
        away (the sum over ``planes``' channels, squared Delta E), added to its energy.

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
    # The statistics are smooth at this scale: compute them on k x k blocks (their sums of d and
    # of d^2, so no variance is lost) and bring them back up.
    k = _block_factor(sigma, lightness.shape)
    spread = _local_spread(planes, sigma, k, within)
    if activity is None:
        activity = detail_blocks(lightness, sigma=sigma)
    elif activity.shape != spread.shape:
        raise ValueError(f"activity must be detail_blocks(lightness, sigma={sigma}), of shape {spread.shape}; "
                         f"got {activity.shape}")
    ratio = spread / noise_by_detail(spread, activity, untouched=_blocks_all(untouched, k))
    return tuple(_upsample(a, k, lightness.shape) for a in (spread, ratio, activity))


def detail_blocks(lightness: np.ndarray, *, sigma: float) -> np.ndarray:
    """The original's level of detail ``A`` that :func:`texture_change` bins its noise by, on its
    blocks (:func:`_block_factor`): the local spread, at scale ``sigma``, of the lightness minus a
    1-pixel blur of it. Compression errors follow the finest detail (what JPEG quantises).

    It depends on the original alone, so it can be computed while the edit is still being aligned.

    Examples
    --------
    >>> flat = np.full((64, 64), 50, np.float32)
    >>> busy = flat + np.random.default_rng(0).normal(0, 5, (64, 64)).astype(np.float32)
    >>> detail_blocks(flat, sigma=2).shape, float(detail_blocks(flat, sigma=2).max())
    ((32, 32), 0.0)
    >>> bool(detail_blocks(busy, sigma=2).min() > 1)
    True
    """
    lightness = np.asarray(lightness, dtype=np.float32)
    if lightness.ndim != 2:
        raise ValueError(f"lightness must be (M, N), got shape {lightness.shape}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    return _local_spread(_finest(lightness)[np.newaxis], sigma, _block_factor(sigma, lightness.shape))


def detail_within(detail: np.ndarray, within: np.ndarray, *, sigma: float) -> np.ndarray:
    """:func:`detail_blocks` ``detail`` with ``within`` added to its energy: a photo's full-size
    detail is what its compression quantised, and a downscale hides it.

    Parameters
    ----------
    detail : ndarray of float32
        :func:`detail_blocks` of the (M, N) lightness at ``sigma``.
    within : (M, N) ndarray of float32
        The variance of the original's lightness within each pixel that the downscale to (M, N)
        averaged away, L*².
    sigma : float
        The scale ``detail`` was measured at, pixels, > 0.

    Returns
    -------
    ndarray of float32
        ``detail``'s shape.

    Examples
    --------
    >>> flat = np.full((64, 64), 50, np.float32)
    >>> detail = detail_blocks(flat, sigma=2)
    >>> float(detail_within(detail, np.full((64, 64), 4, np.float32), sigma=2).max())
    2.0
    """
    k = _block_factor(sigma, within.shape)
    if detail.shape != tuple(-(-side // k) for side in within.shape):  # _blocks' grid
        raise ValueError(f"detail must be detail_blocks of an image of within's shape {within.shape}, "
                         f"got {detail.shape}")
    energy = _window_mean(within, sigma, k)
    energy += np.square(detail)
    return np.sqrt(energy, out=energy)


def wide_texture_change(lightness_change: np.ndarray, detail: np.ndarray, *, sigma: float, wide: float,
                        exclude: np.ndarray | None = None, cap: float = 3.0,
                        untouched: np.ndarray | None = None,
                        within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The lightness's texture change, averaged over a wider window.

    Grain over a busy area is never far above the compression noise there, so no pixel's ratio
    (:func:`texture_change`) stands out; but it is above the noise everywhere in the region,
    while the untouched pixels' ratio averages about 1. Lightness only: chroma subsampling
    leaves chroma errors along colour edges that the original's lightness detail does not predict.

    Parameters
    ----------
    lightness_change : (M, N) ndarray of float32
        The edit's L* minus the original's.
    detail : (M, N) ndarray of float32
        The original's level of detail, from :func:`texture_change`.
    sigma : float
        Scale of the local statistics, as in :func:`texture_change`, pixels, > 0.
    wide : float
        Gaussian scale of the average, pixels, > 0.
    exclude : (M, N) ndarray of bool, optional
        Pixels left out of the average (normalised convolution), e.g. near a change of the mean colour.
    cap : float, optional
        Each pixel's ratio counts up to this, so that edges and compression blocks do not carry the average.
    untouched : (M, N) ndarray of bool, optional
        The pixels the noise is measured on (see :func:`noise_by_detail`); all by default.
    within : (M, N) ndarray of float32, optional
        As in :func:`texture_change`: the lightness change's variance within each pixel, L*².

    Returns
    -------
    ratio, spread : (M, N) ndarray of float32
        The averages of the capped ratio and of the spread (L*).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> change = rng.normal(0, 1, (96, 96)).astype(np.float32)
    >>> change[24:72, 24:72] *= 2
    >>> ratio, spread = wide_texture_change(change, np.ones((96, 96), np.float32), sigma=2, wide=4)
    >>> bool(ratio[48, 48] > 1.5 > 1.2 > ratio[5, 5])
    True
    """
    change = np.asarray(lightness_change, dtype=np.float32)
    if change.ndim != 2 or np.shape(detail) != change.shape:
        raise ValueError(f"lightness_change and detail must be (M, N) of one shape, got {change.shape} "
                         f"and {np.shape(detail)}")
    if not (sigma > 0 and wide > 0):
        raise ValueError(f"sigma and wide must be > 0, got {sigma} and {wide}")
    k = _block_factor(sigma, change.shape)
    spread = _local_spread(change[np.newaxis], sigma, k, within)
    ratio = spread / noise_by_detail(spread, _blocks(np.asarray(detail, np.float32), k),
                                     untouched=_blocks_all(untouched, k))
    np.minimum(ratio, np.float32(cap), out=ratio)
    # The averages are smooth at this scale: on blocks twice as large again where they fit.
    k2 = 2 if wide >= 2 * k and min(ratio.shape) >= 8 else 1
    valid = np.ones(change.shape, np.float32) if exclude is None else (~np.asarray(exclude, bool)).astype(np.float32)
    valid = _blocks(valid, k)
    weight = ndi.gaussian_filter(_blocks(valid, k2), wide / (k * k2), mode="nearest", truncate=3.0)
    np.maximum(weight, np.float32(1e-3), out=weight)
    out = []
    for a in (ratio, spread):
        a *= valid
        a = ndi.gaussian_filter(_blocks(a, k2), wide / (k * k2), mode="nearest", truncate=3.0)
        a /= weight
        out.append(_upsample(a, k * k2, change.shape))
    return tuple(out)


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
    # lost) over k x k blocks when the window is wide enough, and the result brought back up.
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
    """The side of the blocks the statistics of a window of ``sigma`` pixels are computed on: the
    largest of 4, 2 and 1 that leaves the window at least one block wide (and the map 4 blocks).

    At 1024 px (sigma about 5) blocks of 4 instead of 2 took the texture, structure and wide
    texture maps from 87 ms to 56 on one thread. With blocks of 4 already where sigma is 3 (a
    coarser cut than this rule makes), the edit-merge tune pairs on photos that size (74 per seed,
    3 seeds) lost at most 0.006 of IoU, one gained 0.028, and the mean moved by under 0.001.
    """
    for k in (4, 2):
        if sigma >= k and min(shape) >= 4 * k:
            return k
    return 1


def _blocks(image: np.ndarray, k: int) -> np.ndarray:
    """Mean over k x k blocks of the last two axes (edges repeated to a multiple of k).

    As a sum of k * k strided views: numpy's ``mean`` over the reshaped block axes took about
    40 ms per 1024 px map, this about 5.
    """
    if k == 1:
        return image
    rows, cols = image.shape[-2:]
    pad = [(0, 0)] * (image.ndim - 2) + [(0, -rows % k), (0, -cols % k)]
    if rows % k or cols % k:
        image = np.pad(image, pad, mode="edge")
    out = np.zeros(image.shape[:-2] + (image.shape[-2] // k, image.shape[-1] // k), np.float32)
    for i in range(k):
        for j in range(k):
            out += image[..., i::k, j::k]
    out *= np.float32(1 / (k * k))
    return out


def _upsample(image: np.ndarray, k: int, shape) -> np.ndarray:
    """Back from :func:`_blocks` to ``shape``: bilinear, block centres aligned, edges repeated.

    Pillow's bilinear resize of a float ("F") image by exactly ``k`` does just that; it takes
    about 2 ms per 1024 px map (SciPy's ``affine_transform`` took 40, numpy slicing 6).
    """
    if k == 1:
        return image
    image = np.ascontiguousarray(image, dtype=np.float32)
    size = (image.shape[1] * k, image.shape[0] * k)
    up = np.array(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    return np.ascontiguousarray(up[:shape[0], :shape[1]])


def _repeat_up(image: np.ndarray, k: int, shape) -> np.ndarray:
    """Back from a map on :func:`_blocks`' grid to ``shape`` by repeating each block (nearest),
    for masks."""
    if k == 1:
        return image
    return np.repeat(np.repeat(image, k, axis=0), k, axis=1)[:shape[0], :shape[1]]


def _window_mean(image: np.ndarray, sigma: float, k: int) -> np.ndarray:
    """Gaussian window mean (``sigma`` pixels) of an (M, N) ``image``, on its k x k blocks."""
    return ndi.gaussian_filter(_blocks(np.asarray(image, np.float32), k), sigma / k, mode="nearest", truncate=3.0)


def _local_spread(planes: np.ndarray, sigma: float, k: int, within: np.ndarray | None = None) -> np.ndarray:
    """sqrt(G * |p|^2 - |G * p|^2 - sigma^2 |grad G * p|^2) over the channels of (C, M, N) ``planes``.

    ``within``: (M, N), the variance within each pixel that a downscale averaged away, added to
    the energy ``|p|^2`` (None: none). Computed on k x k blocks: the result is (ceil(M / k), ceil(N / k)).
    """
    shape = _blocks(planes[0], k).shape
    energy = np.zeros(shape, np.float32) if within is None else _window_mean(within, sigma, k)
    sigma = sigma / k
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
                    quantile: float = _NOISE_QUANTILE, untouched: np.ndarray | None = None) -> np.ndarray:
    """Per pixel, a quantile of ``values`` (a low one by default) among the pixels with a similar level of ``detail``.

    Parameters
    ----------
    values, detail : (M, N) ndarray of float32
        A difference statistic, and the original's level of detail (see :func:`texture_change`).
    floor : float, optional
        The smallest noise level, in the units of ``values``.
    quantile : float, optional
        The noise level of a bin is this quantile of ``values`` in it.
    untouched : (M, N) ndarray of bool, optional
        The pixels the bins and their levels are taken from (e.g. all but an edit found before,
        which may cover most pixels of some level of detail); all by default.

    Returns
    -------
    (M, N) ndarray of float32
        The noise level, non-decreasing in ``detail`` and at least ``floor``.

    See Also
    --------
    noise_levels : the bins' centres and levels, which this interpolates.

    Examples
    --------
    >>> detail = np.tile(np.arange(60, dtype=np.float32), (10, 1))
    >>> noise = noise_by_detail(0.5 + detail / 10, detail)
    >>> round(float(noise[0, 0]), 2), round(float(noise[0, 59]), 2)
    (0.7, 5.7)
    """
    centres, levels = noise_levels(values, detail, floor=floor, quantile=quantile, untouched=untouched)
    return np.interp(detail, centres, levels).astype(np.float32)


def noise_levels(values: np.ndarray, detail: np.ndarray, *, floor: float = _MIN_NOISE,
                 quantile: float = _NOISE_QUANTILE, untouched: np.ndarray | None = None,
                 samples: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """The noise model of :func:`noise_by_detail`: ``_BINS`` bins of equal count by ``detail``,
    each with its median detail and its level, the ``quantile`` of ``values`` in it, on a regular
    subsample of about ``samples`` pixels or fewer (65 536: the bins' quantiles are as steady as
    with all of them, and cost a few ms instead of about 30 at 1024 px).

    Returns
    -------
    centres, levels : 1-D ndarrays of float64
        Increasing centres; levels non-decreasing (more detail never means less noise), at
        least ``floor``, and from one bin to the next growing at most ``_NOISE_GROWTH`` times
        as fast as the centres.

    Examples
    --------
    >>> detail = np.tile(np.arange(60, dtype=np.float32), (10, 1))
    >>> values = 0.5 + detail / 10  # compression's noise grows with the detail
    >>> noise_levels(values, detail)[1].round(2).tolist()
    [0.7, 1.7, 2.7, 3.7, 4.7, 5.7]
    >>> values[:, 40:] = 9  # an edit over the most detailed pixels: its jump is held back
    >>> noise_levels(values, detail)[1].round(2).tolist()
    [0.7, 1.7, 2.7, 3.7, 6.2, 9.0]
    >>> noise_levels(values, detail, untouched=values < 9)[1].round(2).tolist()
    [0.6, 1.2, 1.9, 2.6, 3.2, 3.9]
    """
    step = max(1, int(np.ceil(np.sqrt(values.size / samples))))
    s, a = values[::step, ::step].ravel(), detail[::step, ::step].ravel()
    if untouched is not None:
        keep = untouched[::step, ::step].ravel()
        if keep.sum() >= _BINS:
            s, a = s[keep], a[keep]
    edges = np.quantile(a, np.linspace(0, 1, _BINS + 1))
    which = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, _BINS - 1)
    centres, levels = [], []
    for b in range(_BINS):
        sel = which == b
        if sel.any():
            centres.append(float(np.median(a[sel])))
            levels.append(float(np.quantile(s[sel], quantile)))
    levels = np.maximum(levels, floor)
    for b in range(1, len(levels)):
        grown = levels[b - 1] * max(centres[b] / max(centres[b - 1], 1e-6), 1.0) * _NOISE_GROWTH
        levels[b] = min(levels[b], grown)
    levels = np.maximum.accumulate(levels)
    return np.asarray(centres), levels


def _blocks_all(mask: np.ndarray | None, k: int) -> np.ndarray | None:
    """A boolean mask on :func:`_blocks`' grid: a block is set if all its pixels are (None stays None)."""
    if mask is None or k == 1:
        return mask
    return _blocks(np.asarray(mask, np.float32), k) > np.float32(0.999)

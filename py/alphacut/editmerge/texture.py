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

Per-pixel grain is finer than that: at the scale of one pixel, compression's own difference
in busy parts is as large as the grain. But compression removes energy at that scale and grain
adds it, so :func:`added_detail` measures the energy the edit added there.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["texture_change", "added_detail", "noise_by_detail"]

#: Number of bins of the original's local detail, each with its own noise level.
_BINS = 6
#: The noise level of a bin is this quantile of ``T`` in it.
_NOISE_QUANTILE = 0.25
#: The noise level is at least this, in Delta E (a perfect copy has no noise at all).
_MIN_NOISE = 0.25
#: The noise level of :func:`added_detail`: this quantile of ``|X|`` in a bin, and at least
#: ``_MIN_ADDED_NOISE`` Delta E squared.
_ADDED_QUANTILE = 0.75
_MIN_ADDED_NOISE = 1.0


def texture_change(planes: np.ndarray, lightness: np.ndarray, *, sigma: float,
                   region_sigma: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local spread of a colour difference, raw and in units of its noise at that level of detail.

    Parameters
    ----------
    planes : (3, M, N) ndarray of float32
        Lab difference, edited minus original, channel first.
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
    if planes.ndim != 3 or planes.shape[0] != 3 or planes.shape[1:] != lightness.shape:
        raise ValueError(f"planes must be (3, M, N) and lightness (M, N), got {planes.shape} and {lightness.shape}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    # The statistics are smooth at this scale: compute them on 2 x 2 blocks (their sums of d and
    # of d^2, so no variance is lost) and bring them back up.
    k = 2 if sigma >= 2 and min(lightness.shape) >= 8 else 1
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


def added_detail(lightness_change: np.ndarray, lightness: np.ndarray, detail: np.ndarray, *, sigma: float,
                 region_sigma: float = 0.0, noise_quantile: float = _ADDED_QUANTILE) -> tuple[np.ndarray, np.ndarray]:
    """Energy of the finest detail that an edit added, in units of its noise at that level of detail.

    Grain added to a photo is independent of it: the edit's finest detail ``h_e = h_o + h_d``
    (``h``: the lightness minus a 1-pixel blur, of the original and of the difference) has, in a
    window of scale ``sigma``, the energy ``G * h_e^2 = G * h_o^2 + G * h_d^2 + 2 G * h_o h_d``,
    where the last term averages out. Compression removes detail instead (``h_d`` close to
    ``-a h_o``, a loss of energy), however large its difference, and a change of the mean
    colour has little energy at this scale; so the added energy
    ``X = G * (h_d (h_d + 2 h_o))`` is above its noise only where detail was added. Its noise
    is taken, as in :func:`texture_change`, among pixels with as much detail in the original, but
    as a high quantile of ``|X|`` (:func:`noise_by_detail`; compression's ringing next to edges
    has a long tail), at least ``_MIN_ADDED_NOISE``.

    Parameters
    ----------
    lightness_change : (M, N) ndarray of float32
        L* of the edit minus L* of the original.
    lightness : (M, N) ndarray of float32
        The original's L*.
    detail : (M, N) ndarray of float32
        The original's level of detail, as :func:`texture_change` returns it.
    sigma : float
        Gaussian scale of the local energy, in pixels, > 0.
    region_sigma : float, optional
        If > 0, both outputs are then averaged at this larger scale (pixels): grain covers a
        region, compression's ringing only spots of it.
    noise_quantile : float, optional
        The noise level is this quantile of ``|X|`` among the pixels with a similar level of detail.

    Returns
    -------
    added : (M, N) ndarray of float32
        ``X``, Delta E squared: positive where detail was added, negative where it was removed.
    ratio : (M, N) ndarray of float32
        ``X`` divided by its noise level.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lightness = (50 + rng.normal(0, 2, (64, 64))).astype(np.float32)
    >>> change = rng.normal(0, 0.5, (64, 64)).astype(np.float32)
    >>> change[20:44, 20:44] += rng.normal(0, 6, (24, 24)).astype(np.float32)
    >>> _, _, detail = texture_change(np.stack([change] * 3), lightness, sigma=2)
    >>> added, ratio = added_detail(change, lightness, detail, sigma=2)
    >>> bool(ratio[32, 32] > 4 and abs(ratio[5, 5]) < 1 and added[32, 32] > 9)
    True
    """
    lightness_change = np.asarray(lightness_change, dtype=np.float32)
    lightness = np.asarray(lightness, dtype=np.float32)
    if not lightness_change.shape == lightness.shape == np.shape(detail) or lightness.ndim != 2:
        raise ValueError(f"lightness_change, lightness and detail must be (M, N) of one shape, got "
                         f"{lightness_change.shape}, {lightness.shape} and {np.shape(detail)}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    k = 2 if sigma >= 2 and min(lightness.shape) >= 8 else 1
    h_d = _finest(lightness_change)
    energy = _finest(lightness)
    energy *= 2
    energy += h_d
    energy *= h_d
    added = ndi.gaussian_filter(_blocks(energy, k), sigma / k, mode="nearest", truncate=3.0)
    del energy, h_d
    ratio = added / noise_by_detail(np.abs(added), _blocks(np.asarray(detail, np.float32), k), floor=_MIN_ADDED_NOISE,
                                   quantile=noise_quantile)
    if region_sigma > 0:
        added = ndi.gaussian_filter(added, region_sigma / k, mode="nearest", truncate=3.0)
        ratio = ndi.gaussian_filter(ratio, region_sigma / k, mode="nearest", truncate=3.0)
    return _upsample(added, k, lightness.shape), _upsample(ratio, k, lightness.shape)


def _finest(image: np.ndarray) -> np.ndarray:
    """The finest detail of an (M, N) image: itself minus a 1-pixel Gaussian blur of it."""
    return image - ndi.gaussian_filter(image, 1.0, mode="nearest", truncate=3.0)


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
    """Back from :func:`_blocks` to ``shape``: bilinear, block centres aligned."""
    if k == 1:
        return image
    scale = np.array(image.shape, np.float64) / np.array(shape, np.float64)
    # The diagonal as a matrix: SciPy 1.14 (Pyodide's) warns on a 1-D one, for the same result.
    return ndi.affine_transform(image, np.diag(scale), offset=0.5 * scale - 0.5, output_shape=tuple(shape), order=1,
                                mode="nearest", output=np.float32)


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

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
the original's lightness (``A``), and in each bin a low quantile of ``T`` is the noise there
(an edit covering less than about three quarters of a bin does not move it). The result is
``T`` in units of that noise.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["texture_change"]

#: Number of bins of the original's local detail, each with its own noise level.
_BINS = 6
#: The noise level of a bin is this quantile of ``T`` in it.
_NOISE_QUANTILE = 0.25
#: The noise level is at least this, in Delta E (a perfect copy has no noise at all).
_MIN_NOISE = 0.25


def texture_change(planes: np.ndarray, lightness: np.ndarray, *, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Local spread of a colour difference, raw and in units of its noise at that level of detail.

    Parameters
    ----------
    planes : (3, M, N) ndarray of float32
        Lab difference, edited minus original, channel first.
    lightness : (M, N) ndarray of float32
        The original's L*.
    sigma : float
        Gaussian scale of the local statistics, in pixels, > 0.

    Returns
    -------
    spread : (M, N) ndarray of float32
        ``T``, Delta E.
    ratio : (M, N) ndarray of float32
        ``T`` divided by the noise level of pixels with as much detail in the original.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> planes = rng.normal(0, 0.5, (3, 64, 64)).astype(np.float32)
    >>> planes[0, 20:44, 20:44] += rng.normal(0, 8, (24, 24)).astype(np.float32)
    >>> spread, ratio = texture_change(planes, np.full((64, 64), 50, np.float32), sigma=2)
    >>> bool(ratio[32, 32] > 8 > 2 > ratio[5, 5])
    True
    """
    planes = np.asarray(planes, dtype=np.float32)
    lightness = np.asarray(lightness, dtype=np.float32)
    if planes.ndim != 3 or planes.shape[0] != 3 or planes.shape[1:] != lightness.shape:
        raise ValueError(f"planes must be (3, M, N) and lightness (M, N), got {planes.shape} and {lightness.shape}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    spread = _local_spread(planes, sigma)
    activity = _local_spread(lightness[np.newaxis], sigma)
    return spread, spread / _noise_by_activity(spread, activity)


def _local_spread(planes: np.ndarray, sigma: float) -> np.ndarray:
    """sqrt(G * |p|^2 - |G * p|^2 - sigma^2 |grad G * p|^2) over the channels of (C, M, N) ``planes``."""
    energy = np.zeros(planes.shape[1:], np.float32)
    explained = np.zeros(planes.shape[1:], np.float32)
    s2 = np.float32(sigma * sigma)
    for p in planes:
        energy += ndi.gaussian_filter(np.square(p), sigma, mode="nearest", truncate=3.0)
        m = ndi.gaussian_filter(p, sigma, mode="nearest", truncate=3.0)
        explained += np.square(m)
        for g in np.gradient(m):
            g *= g
            g *= s2
            explained += g
    energy -= explained
    return np.sqrt(np.maximum(energy, 0, out=energy), out=energy)


def _noise_by_activity(spread: np.ndarray, activity: np.ndarray) -> np.ndarray:
    """Per pixel, the low quantile of ``spread`` among pixels of similar ``activity``."""
    step = max(1, int(np.sqrt(spread.size / 250_000)))
    s, a = spread[::step, ::step].ravel(), activity[::step, ::step].ravel()
    edges = np.quantile(a, np.linspace(0, 1, _BINS + 1))
    which = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, _BINS - 1)
    centres, levels = [], []
    for b in range(_BINS):
        sel = which == b
        if sel.any():
            centres.append(float(np.median(a[sel])))
            levels.append(float(np.quantile(s[sel], _NOISE_QUANTILE)))
    # More detail never means less noise: a monotone model, interpolated between the bins.
    levels = np.maximum(np.maximum.accumulate(levels), _MIN_NOISE)
    return np.interp(activity, centres, levels).astype(np.float32)

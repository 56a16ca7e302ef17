"""Detect and undo a small global translation between two images (phase correlation).

Image-editing models often return their result moved by a pixel or two. The
normalised cross-power spectrum of two images that differ by a translation is
a pure phase ramp, whose inverse transform is a sharp peak at the shift
(Kuglin and Hines, 1975). A local edit only lowers that peak, so the estimate
holds as long as most of the image is unchanged.
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

__all__ = ["estimate_shift", "phase_correlate", "shift_subpixel"]

#: A correlation peak is accepted when it stands this many standard deviations above the surface.
_MIN_PEAK_SIGMAS = 10.0


def estimate_shift(reference: np.ndarray, moving: np.ndarray, *, max_shift: float) -> tuple[float, float]:
    """Estimate the global translation of ``moving`` relative to ``reference``.

    Parameters
    ----------
    reference, moving : (M, N) or (M, N, 3) ndarray of uint8 or float
        The same scene, same shape. Colour is averaged to grey.
    max_shift : float
        Largest shift to look for, as a fraction of the longer side, in [0, 0.25].

    Returns
    -------
    shift : tuple of 2 float
        ``(rows, cols)`` such that ``moving[r, c]`` shows ``reference[r - rows, c - cols]``,
        to a tenth of a pixel or so; ``(0.0, 0.0)`` when no clear peak stands out.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = ndi.gaussian_filter(rng.random((96, 128)), 2)
    >>> moving = np.roll(ref, (2, -3), axis=(0, 1))
    >>> [round(s) for s in estimate_shift(ref, moving, max_shift=0.05)]
    [2, -3]
    """
    return phase_correlate(reference, moving, max_shift=max_shift)[0]


def phase_correlate(reference: np.ndarray, moving: np.ndarray, *,
                    max_shift: float) -> tuple[tuple[float, float], float]:
    """:func:`estimate_shift`, and how clearly the correlation peak stands out.

    Returns
    -------
    shift : tuple of 2 float
        As :func:`estimate_shift`.
    strength : float
        The peak's height above the correlation surface's mean, in standard deviations of the
        surface; a shift is reported only above 10.

    Examples
    --------
    >>> ref = ndi.gaussian_filter(np.random.default_rng(0).random((96, 128)), 2)
    >>> (rows, cols), strength = phase_correlate(ref, np.roll(ref, 1, axis=0), max_shift=0.05)
    >>> round(rows), round(cols), strength > 10
    (1, 0, True)
    """
    ref = _grey(reference, "reference")
    mov = _grey(moving, "moving")
    if ref.shape != mov.shape:
        raise ValueError(f"reference {ref.shape} and moving {mov.shape} differ in size")
    max_shift = float(max_shift)
    if not 0.0 <= max_shift <= 0.25:
        raise ValueError(f"max_shift must be in [0, 0.25], got {max_shift}")
    return _phase_correlate(ref, mov, max_shift)


def _grey(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        grey = image[:, :, 0].astype(np.float32)  # the channels' mean, without a reduction along them
        grey += image[:, :, 1]
        grey += image[:, :, 2]
        grey *= np.float32(1 / 3)
        image = grey
    if image.ndim != 2 or min(image.shape) < 2:
        raise ValueError(f"{name} must be (M, N) or (M, N, 3) with M, N >= 2, got shape {image.shape}")
    if not (image.dtype == np.uint8 or np.issubdtype(image.dtype, np.floating)):
        raise TypeError(f"{name} must be uint8 or float, got {image.dtype}")
    return image.astype(np.float32, copy=False)


def _phase_correlate(ref: np.ndarray, mov: np.ndarray, max_shift: float) -> tuple[tuple[float, float], float]:
    """Kernel: ((rows, cols) shift, peak strength in standard deviations of the surface)."""
    rows, cols = ref.shape
    limit = int(np.floor(max_shift * max(rows, cols)))
    if limit < 1:
        return (0.0, 0.0), 0.0
    # float32 throughout: scipy.fft keeps single precision (numpy.fft would work in float64).
    window = np.outer(np.hanning(rows).astype(np.float32), np.hanning(cols).astype(np.float32))
    fr = sfft.rfft2((ref - ref.mean()) * window)
    fm = sfft.rfft2((mov - mov.mean()) * window)
    cross = fm * np.conj(fr)
    cross /= np.abs(cross) + np.float32(1e-9)
    surface = sfft.irfft2(cross, s=(rows, cols))
    # Search only shifts within the limit: gather that neighbourhood of (0, 0), with wrap-around.
    ri = np.arange(-min(limit, rows // 2 - 1), min(limit, rows // 2 - 1) + 1)
    ci = np.arange(-min(limit, cols // 2 - 1), min(limit, cols // 2 - 1) + 1)
    local = surface[np.ix_(ri % rows, ci % cols)]
    k = int(np.argmax(local))
    pr, pc = divmod(k, local.shape[1])
    peak = float(local[pr, pc])
    strength = (peak - float(surface.mean())) / (float(surface.std()) + 1e-12)
    if strength < _MIN_PEAK_SIGMAS:
        return (0.0, 0.0), strength
    dr = ri[pr] + _parabola(surface[(ri[pr] - 1) % rows, ci[pc] % cols], peak, surface[(ri[pr] + 1) % rows, ci[pc] % cols])
    dc = ci[pc] + _parabola(surface[ri[pr] % rows, (ci[pc] - 1) % cols], peak, surface[ri[pr] % rows, (ci[pc] + 1) % cols])
    return (float(dr), float(dc)), strength


def _parabola(left: float, centre: float, right: float) -> float:
    """Offset in (-0.5, 0.5) of the vertex of the parabola through three samples."""
    denom = float(left) - 2.0 * float(centre) + float(right)
    if denom >= 0:
        return 0.0
    return float(np.clip(0.5 * (float(left) - float(right)) / denom, -0.5, 0.5))


def shift_subpixel(image: np.ndarray, rows: float, cols: float) -> np.ndarray:
    """Undo a fractional shift with bilinear interpolation (edges repeated outward).

    Parameters
    ----------
    image : (M, N, C) ndarray
    rows, cols : float
        The shift to undo, as :func:`estimate_shift` reports it.

    Returns
    -------
    (M, N, C) ndarray of float32
        ``image`` itself when the shift is zero.

    Examples
    --------
    >>> img = np.arange(4, dtype=np.float32).reshape(1, 4, 1)
    >>> shift_subpixel(img, 0, 0.5)[0, :, 0]
    array([0.5, 1.5, 2.5, 3. ], dtype=float32)
    """
    if rows == 0 and cols == 0:
        return image
    return ndi.shift(image, (-rows, -cols, 0), order=1, mode="nearest", output=np.float32)

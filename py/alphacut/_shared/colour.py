"""sRGB to CIELAB (D65) in float32 and back, and the CIE76 colour difference.

The conversion follows IEC 61966-2-1 (sRGB transfer curve and primaries) and
CIE 15 (Lab with the D65 reference white), the same formulas as
``skimage.color.rgb2lab`` with its default illuminant, computed in float32
so that a 12 MP image needs no float64 temporaries.
"""
from __future__ import annotations

import numpy as np

__all__ = ["srgb_to_lab", "lab_to_srgb", "delta_e"]

#: Linear sRGB -> CIE XYZ, D65 (IEC 61966-2-1).
_RGB_TO_XYZ = np.array(
    [[0.412453, 0.357580, 0.180423],
     [0.212671, 0.715160, 0.072169],
     [0.019334, 0.119193, 0.950227]], np.float64)
#: D65 reference white, 2 degree observer (the XYZ of sRGB white under the matrix above).
_WHITE = _RGB_TO_XYZ.sum(axis=1)
#: XYZ normalised by the white point, folded into one matrix.
_RGB_TO_XYZN = (_RGB_TO_XYZ / _WHITE[:, np.newaxis]).astype(np.float32)
#: Its inverse: normalised XYZ -> linear sRGB.
_XYZN_TO_RGB = np.linalg.inv(_RGB_TO_XYZ / _WHITE[:, np.newaxis]).astype(np.float32)
_DELTA = 6.0 / 29.0


def _linear_lut() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return lin.astype(np.float32)


#: sRGB uint8 code value -> linear light, exact to float32.
_LINEAR_LUT = _linear_lut()


def srgb_to_lab(image: np.ndarray) -> np.ndarray:
    """Convert sRGB colour to CIELAB under D65.

    Parameters
    ----------
    image : (..., 3) ndarray of uint8, or of float in [0, 1]
        sRGB colour. uint8 goes through an exact lookup table.

    Returns
    -------
    lab : (..., 3) ndarray of float32
        L* in [0, 100], a* and b* roughly in [-128, 127].

    Examples
    --------
    >>> lab = srgb_to_lab(np.array([[255, 255, 255], [255, 0, 0]], np.uint8))
    >>> np.round(lab.astype(float), 2).tolist()
    [[100.0, 0.0, 0.0], [53.24, 80.09, 67.2]]
    """
    image = np.asarray(image)
    if image.ndim < 1 or image.shape[-1] != 3:
        raise ValueError(f"image must be (..., 3), got shape {image.shape}")
    if image.dtype == np.uint8:
        lin = _LINEAR_LUT[image]
    elif np.issubdtype(image.dtype, np.floating):
        v = np.clip(image.astype(np.float32), 0.0, 1.0)
        lin = _decode_curve(v)
    else:
        raise TypeError(f"image must be uint8 or float, got {image.dtype}")
    return _linear_to_lab(lin)


def _times(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix.T`` for (..., 3) ``x``, in products of at most ``_PRODUCT_ROWS`` pixels.

    numpy hands a 2-D product to BLAS whole, and a long one starts BLAS's own threads, which then
    spin on the cores beside the caller's (the edit merge's second thread): at 1024 x 768 a
    (-1, 3) product took 2 ms of wall time and 4.6 of CPU time; as (768, 1024, 3), numpy's loop
    of short products, 3.9 of each (session 40).
    """
    if x.ndim != 2 or len(x) <= _PRODUCT_ROWS:
        return x @ matrix.T
    out = np.empty(x.shape, np.result_type(x, matrix))
    for start in range(0, len(x), _PRODUCT_ROWS):
        np.matmul(x[start:start + _PRODUCT_ROWS], matrix.T, out=out[start:start + _PRODUCT_ROWS])
    return out


#: Pixels per colour-matrix product (:func:`_times`): below where OpenBLAS starts its threads.
_PRODUCT_ROWS = 4096


def _power(x: np.ndarray, p: float) -> np.ndarray:
    """``x ** p`` for float32 ``x >= 0``, as ``exp(p * log(x))`` (0 where ``x`` is 0).

    numpy's float32 ``exp`` and ``log`` are vectorised and ``cbrt`` and ``power`` are not: at
    1024 x 768 x 3, 10 ms against 56 (``cbrt``) and 14 (``power``), within 2 ulp of ``cbrt``.
    """
    with np.errstate(divide="ignore"):
        y = np.log(x)
    y *= np.float32(p)
    return np.exp(y, out=y)


def _decode_curve(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer curve (code value in [0, 1] to linear light) on float32."""
    lin = v + np.float32(0.055)
    lin *= np.float32(1 / 1.055)
    lin = _power(lin, 2.4)
    low = v <= np.float32(0.04045)
    lin[low] = v[low] * np.float32(1 / 12.92)
    return lin


def _linear_to_lab(lin: np.ndarray) -> np.ndarray:
    """Kernel: linear sRGB (..., 3) float32 -> Lab (..., 3) float32, computed in place."""
    xyz = _times(lin, _RGB_TO_XYZN)
    small = xyz <= np.float32(_DELTA ** 3)
    f = _power(xyz, 1 / 3)
    f[small] = xyz[small] * np.float32(1 / (3 * _DELTA ** 2)) + np.float32(4 / 29)
    lab = np.empty_like(f)
    lab[..., 0] = np.float32(116) * f[..., 1] - np.float32(16)
    lab[..., 1] = np.float32(500) * (f[..., 0] - f[..., 1])
    lab[..., 2] = np.float32(200) * (f[..., 1] - f[..., 2])
    return lab


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """Convert CIELAB under D65 to sRGB, the inverse of :func:`srgb_to_lab`.

    Parameters
    ----------
    lab : (..., 3) ndarray of float
        L*, a*, b*.

    Returns
    -------
    rgb : (..., 3) ndarray of float32
        sRGB code values in [0, 1]; colours outside the sRGB gamut are clipped to it in linear
        light, channel by channel.

    Examples
    --------
    >>> rgb = np.array([[255, 255, 255], [255, 0, 0], [12, 200, 99]], np.uint8)
    >>> back = lab_to_srgb(srgb_to_lab(rgb)) * 255
    >>> bool(np.abs(back - rgb).max() < 0.01)
    True
    """
    lab = np.asarray(lab, dtype=np.float32)
    if lab.ndim < 1 or lab.shape[-1] != 3:
        raise ValueError(f"lab must be (..., 3), got shape {lab.shape}")
    f = np.empty_like(lab)
    f[..., 1] = (lab[..., 0] + np.float32(16)) * np.float32(1 / 116)
    f[..., 0] = f[..., 1] + lab[..., 1] * np.float32(1 / 500)
    f[..., 2] = f[..., 1] - lab[..., 2] * np.float32(1 / 200)
    small = f <= np.float32(_DELTA)
    xyz = f * f * f
    xyz[small] = (f[small] - np.float32(4 / 29)) * np.float32(3 * _DELTA ** 2)
    lin = _times(xyz, _XYZN_TO_RGB)
    np.clip(lin, 0.0, 1.0, out=lin)
    rgb = _power(lin, 1 / 2.4)
    rgb *= np.float32(1.055)
    rgb -= np.float32(0.055)
    low = lin <= np.float32(0.0031308)
    rgb[low] = lin[low] * np.float32(12.92)
    return rgb


def delta_e(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIE76 colour difference: the Euclidean distance in Lab.

    Parameters
    ----------
    lab1, lab2 : (..., 3) ndarray of float
        Lab colours of the same shape.

    Returns
    -------
    (...) ndarray of float32
        About 2.3 is a just noticeable difference.

    Examples
    --------
    >>> float(delta_e(np.array([50, 0, 0.0]), np.array([50, 3, 4.0])))
    5.0
    """
    lab1 = np.asarray(lab1, dtype=np.float32)
    lab2 = np.asarray(lab2, dtype=np.float32)
    if lab1.shape != lab2.shape or lab1.shape[-1:] != (3,):
        raise ValueError(f"lab1 {lab1.shape} and lab2 {lab2.shape} must both be (..., 3)")
    d = lab1 - lab2
    d *= d
    return np.sqrt(d.sum(axis=-1))

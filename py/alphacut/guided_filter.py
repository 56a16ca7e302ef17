"""Edge-aware smoothing and upsampling with the guided filter.

The guided filter (He, Sun and Tang, "Guided Image Filtering", TPAMI 2013)
fits, in every square window of side ``2 * radius + 1``, a linear model
``q = a . I + b`` from the guide ``I`` to the input ``p``, with a ridge
penalty ``eps * |a|**2``, then averages the coefficients of all windows that
cover a pixel. Windows are clipped at the image border: each mean is taken
over the pixels that exist, never over padding.

The fast variant (He and Sun, "Fast Guided Filter", 2015) fits the model on a
small guide and applies the bilinearly upsampled coefficients to a large one.
Passing ``output_guide`` selects it; this is how a low-resolution alpha is
brought to the full resolution of a photo while snapping to its edges.
"""

import numpy as np
from scipy import ndimage as ndi

__all__ = ["guided_filter"]

#: Rows per strip when the coefficients are applied to a large output guide.
_STRIP_ROWS = 256


def guided_filter(guide, src, *, radius, eps, output_guide=None):
    """Filter ``src`` with the edges of ``guide`` (He et al. guided filter).

    Parameters
    ----------
    guide : (M, N) or (M, N, C) ndarray of uint8 or float
        Guidance image. uint8 is scaled to [0, 1]; floats are used as they
        are, so ``eps`` is in squared guide units.
    src : (M, N) ndarray of float or uint8
        Image to filter, for example an alpha matte in [0, 1]. uint8 is
        scaled to [0, 1].
    radius : int
        Window radius in pixels of ``guide``; the window side is
        ``2 * radius + 1``. Must be >= 1.
    eps : float
        Ridge regularisation, > 0. Larger values smooth more; edges whose
        local guide variance is well above ``eps`` are kept.
    output_guide : (P, Q) or (P, Q, C) ndarray, optional
        If given, the fast guided filter: the coefficients fitted at the
        resolution of ``guide`` are resized bilinearly to ``(P, Q)`` and
        applied to this guide, which must show the same scene with the same
        number of channels and the same scaling as ``guide``.

    Returns
    -------
    out : (M, N) ndarray of float32, or (P, Q) with ``output_guide``
        The filtered image. It is not clipped.

    Examples
    --------
    >>> import numpy as np
    >>> guide = np.zeros((8, 8), np.uint8)
    >>> guide[:, 4:] = 255
    >>> src = np.full((8, 8), 0.5, np.float32)
    >>> src[:, 4:] = 0.9
    >>> out = guided_filter(guide, src, radius=2, eps=1e-4)
    >>> out.shape, out.dtype
    ((8, 8), dtype('float32'))
    >>> bool(abs(out[0, 0] - 0.5) < 1e-3 and abs(out[0, 7] - 0.9) < 1e-3)
    True
    """
    guide3 = _guide_as_float(guide, "guide")
    src = _src_as_float(src)
    if src.shape != guide3.shape[:2]:
        raise ValueError(f"src shape {src.shape} does not match guide shape {guide3.shape[:2]}")
    radius = _check_radius(radius)
    eps = float(eps)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    if output_guide is None:
        a, b = _coefficients(guide3, src, radius, eps)
        return _apply(a, b, guide3)
    out3, out_scale = _guide_view(output_guide, "output_guide")
    if out3.shape[2] != guide3.shape[2]:
        raise ValueError("output_guide and guide must have the same number of channels")
    a, b = _coefficients(guide3, src, radius, eps)
    return _apply_resized(a, b, out3, out_scale)


def _guide_view(guide, name):
    """Return a guide as an (M, N, C) view, unconverted, and the scale to [0, 1] units."""
    guide = np.asarray(guide)
    if guide.ndim == 2:
        guide = guide[:, :, np.newaxis]
    if guide.ndim != 3 or guide.shape[0] < 1 or guide.shape[1] < 1:
        raise ValueError(f"{name} must be (M, N) or (M, N, C), got shape {guide.shape}")
    if guide.dtype == np.uint8:
        return guide, np.float32(1 / 255)
    if not np.issubdtype(guide.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 or float, got {guide.dtype}")
    return guide, np.float32(1)


def _guide_as_float(guide, name):
    """Return a guide as a C-contiguous (M, N, C) float32 array (uint8 -> [0, 1])."""
    guide, scale = _guide_view(guide, name)
    out = guide.astype(np.float32)
    if scale != 1:
        out *= scale
    return out


def _src_as_float(src):
    src = np.asarray(src)
    if src.ndim != 2:
        raise ValueError(f"src must be (M, N), got shape {src.shape}")
    if src.dtype == np.uint8:
        return src.astype(np.float32) * np.float32(1 / 255)
    if not np.issubdtype(src.dtype, np.floating):
        raise TypeError(f"src must be uint8 or float, got {src.dtype}")
    return np.asarray(src, dtype=np.float32)


def _check_radius(radius):
    if isinstance(radius, bool) or int(radius) != radius or radius < 1:
        raise ValueError(f"radius must be an integer >= 1, got {radius!r}")
    return int(radius)


def _box_mean(x, radius):
    """Mean of ``x`` over each (2r+1)^2 window clipped to the image, on axes 0 and 1."""
    size = 2 * radius + 1
    out = x
    for axis in (0, 1):
        n = x.shape[axis]
        idx = np.arange(n)
        count = np.minimum(idx + radius, n - 1) - np.maximum(idx - radius, 0) + 1
        scale = (size / count).astype(np.float32)
        shape = [1] * x.ndim
        shape[axis] = n
        out = ndi.uniform_filter1d(out, size, axis=axis, mode="constant")
        out *= scale.reshape(shape)
    return out


def _coefficients(guide, src, radius, eps):
    """Window-averaged linear coefficients ``a`` (M, N, C) and ``b`` (M, N)."""
    # Centre the guide: the covariances below are differences of means, and
    # centring keeps float32 cancellation small.
    centre = guide.reshape(-1, guide.shape[2]).mean(axis=0).astype(np.float32)
    g = guide - centre
    channels = g.shape[2]
    mean_g = _box_mean(g, radius)
    mean_p = _box_mean(src, radius)
    cov_gp = _box_mean(g * src[:, :, np.newaxis], radius) - mean_g * mean_p[:, :, np.newaxis]
    if channels == 1:
        var = _box_mean(g[:, :, 0] * g[:, :, 0], radius) - mean_g[:, :, 0] ** 2
        a = (cov_gp[:, :, 0] / (var + np.float32(eps)))[:, :, np.newaxis]
    elif channels == 3:
        a = _solve_sym3(g, mean_g, cov_gp, radius, np.float32(eps))
    else:
        a = _solve_general(g, mean_g, cov_gp, radius, np.float32(eps))
    b = mean_p - np.einsum("ijc,ijc->ij", a, mean_g)
    a = _box_mean(a, radius)
    b = _box_mean(b, radius)
    # Undo the centring: q = a.(I - centre) + b = a.I + (b - a.centre).
    b -= np.einsum("ijc,c->ij", a, centre)
    return a, b


def _cov(g, mean_g, i, j, radius, eps):
    c = _box_mean(g[:, :, i] * g[:, :, j], radius) - mean_g[:, :, i] * mean_g[:, :, j]
    if i == j:
        c += eps
    return c


def _solve_sym3(g, mean_g, cov_gp, radius, eps):
    """Solve (Sigma + eps I) a = cov_gp per pixel for a 3-channel guide (adjugate)."""
    s00 = _cov(g, mean_g, 0, 0, radius, eps)
    s01 = _cov(g, mean_g, 0, 1, radius, eps)
    s02 = _cov(g, mean_g, 0, 2, radius, eps)
    s11 = _cov(g, mean_g, 1, 1, radius, eps)
    s12 = _cov(g, mean_g, 1, 2, radius, eps)
    s22 = _cov(g, mean_g, 2, 2, radius, eps)
    i00 = s11 * s22 - s12 * s12
    i01 = s02 * s12 - s01 * s22
    i02 = s01 * s12 - s02 * s11
    i11 = s00 * s22 - s02 * s02
    i12 = s01 * s02 - s00 * s12
    i22 = s00 * s11 - s01 * s01
    det = s00 * i00 + s01 * i01 + s02 * i02
    c0, c1, c2 = cov_gp[:, :, 0], cov_gp[:, :, 1], cov_gp[:, :, 2]
    a = np.empty_like(cov_gp)
    a[:, :, 0] = (i00 * c0 + i01 * c1 + i02 * c2) / det
    a[:, :, 1] = (i01 * c0 + i11 * c1 + i12 * c2) / det
    a[:, :, 2] = (i02 * c0 + i12 * c1 + i22 * c2) / det
    return a


def _solve_general(g, mean_g, cov_gp, radius, eps):
    channels = g.shape[2]
    sigma = np.empty(g.shape[:2] + (channels, channels), np.float32)
    for i in range(channels):
        for j in range(i, channels):
            sigma[:, :, i, j] = sigma[:, :, j, i] = _cov(g, mean_g, i, j, radius, eps)
    return np.linalg.solve(sigma, cov_gp[..., np.newaxis])[..., 0]


def _apply(a, b, guide):
    return (np.einsum("ijc,ijc->ij", a, guide) + b).astype(np.float32, copy=False)


def _apply_resized(a, b, guide, scale):
    """Apply coefficients fitted on a small grid to a large guide, strip by strip.

    The guide is converted to float32 (times ``scale``) one strip at a time, so
    a large uint8 guide is never held in float.
    """
    rows, cols = guide.shape[:2]
    coef = np.concatenate([a, b[:, :, np.newaxis]], axis=2)
    # Resize along columns once (small: h x Q x (C+1)); rows strip by strip.
    c0, c1, wc = _linear_taps(coef.shape[1], cols)
    coef = coef[:, c0] * (1 - wc)[None, :, None] + coef[:, c1] * wc[None, :, None]
    r0, r1, wr = _linear_taps(coef.shape[0], rows)
    out = np.empty((rows, cols), np.float32)
    for start in range(0, rows, _STRIP_ROWS):
        s = slice(start, min(start + _STRIP_ROWS, rows))
        w = wr[s][:, None, None]
        strip = coef[r0[s]] * (1 - w) + coef[r1[s]] * w
        g = guide[s].astype(np.float32)
        if scale != 1:
            g *= scale
        out[s] = np.einsum("ijc,ijc->ij", strip[:, :, :-1], g) + strip[:, :, -1]
    return out


def _linear_taps(n_in, n_out):
    """Indices and weights for half-pixel-centred linear interpolation n_in -> n_out."""
    pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (pos - i0).astype(np.float32)

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

The two steps can also be called alone: :func:`coefficients` fits the model
and :func:`apply_coefficients` evaluates it on a guide of any size. Given
output limits (``clip``), the second skips every pixel whose value provably
lies outside them: for each cell of the coefficient grid it bounds
``a . I + b`` over all the guide's colours. A matte that is mostly exactly 0
or 1 then costs little at full resolution.

Every box mean is a running sum (:func:`alphacut._shared.box.box_mean`), so its cost does not grow
with the radius.
"""

import numpy as np

from .._shared.box import box_mean
from .._shared.checks import check_radius
from .._shared.resample import resize_block, taps
from .._shared.runs import split_runs, true_runs

__all__ = ["apply_coefficients", "coefficients", "guided_filter"]

#: Rows per strip when the coefficients are applied to a large output guide.
_STRIP_ROWS = 64
#: Rows per block of the per-pixel algebra at the coefficients' resolution.
_BLOCK_ROWS = 64
#: A cell is settled at a clip limit only if its bound clears it by this fraction of the bound's
#: magnitude, which covers float32 rounding of ``a . I + b``.
_ROUNDING = 1e-5


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
    ab = coefficients(guide, src, radius=radius, eps=eps)
    return apply_coefficients(ab, guide if output_guide is None else output_guide)


def coefficients(guide, src, *, radius, eps):
    """Fit the guided filter's window-averaged linear model ``src ~ a . guide + b``.

    Parameters
    ----------
    guide, src, radius, eps
        As for :func:`guided_filter`.

    Returns
    -------
    ab : (M, N, C + 1) ndarray of float32
        ``a`` in the first ``C`` channels, ``b`` in the last, in the guide's
        units (a uint8 guide counts as [0, 1]). A view of an (M, C + 1, N)
        array, the layout :func:`apply_coefficients` works in.

    Examples
    --------
    >>> guide = np.zeros((6, 6), np.uint8); guide[:, 3:] = 255
    >>> ab = coefficients(guide, guide > 0, radius=1, eps=1e-4)
    >>> ab.shape
    (6, 6, 2)
    >>> np.round(ab[0, :, 0], 2)  # the slope: 1 across the edge, 0 away from it
    array([0.  , 0.33, 0.67, 0.67, 0.33, 0.  ], dtype=float32)
    """
    guide3, scale = _guide_view(guide, "guide")
    src = _src_as_float(src)
    if src.shape != guide3.shape[:2]:
        raise ValueError(f"src shape {src.shape} does not match guide shape {guide3.shape[:2]}")
    radius = check_radius(radius)
    eps = float(eps)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    return _coefficients(guide3, scale, src, radius, np.float32(eps))


def apply_coefficients(ab, guide, *, clip=None):
    """Evaluate ``a . guide + b``, resizing the coefficients to the guide where their sizes differ.

    Parameters
    ----------
    ab : (m, n, C + 1) ndarray of float32
        From :func:`coefficients`.
    guide : (M, N) or (M, N, C) ndarray of uint8 or float
        uint8 counts as [0, 1]. If ``(M, N)`` is not ``(m, n)``, the
        coefficients are resized bilinearly (pixel centres aligned, edges
        clamped) strip by strip: the fast guided filter. The guide must then
        show the scene the coefficients were fitted on.
    clip : (float, float), optional
        ``(lo, hi)``: clip the output to this range. Resized coefficients are
        then evaluated only near the cells of the coefficient grid where the
        output can lie strictly between ``lo`` and ``hi`` for some colour of
        the guide; the other pixels get ``lo`` or ``hi``.

    Returns
    -------
    out : (M, N) ndarray of float32

    Examples
    --------
    >>> small = np.zeros((4, 4), np.uint8); small[:, 2:] = 255
    >>> big = np.zeros((8, 8), np.uint8); big[:, 4:] = 255
    >>> ab = coefficients(small, small > 0, radius=1, eps=1e-4)
    >>> np.round(apply_coefficients(ab, big, clip=(0.0, 1.0))[0], 2)
    array([0.  , 0.  , 0.  , 0.08, 0.92, 1.  , 1.  , 1.  ], dtype=float32)
    """
    ab = np.asarray(ab)
    if ab.ndim != 3 or ab.shape[2] < 2 or ab.dtype != np.float32:
        raise ValueError(f"ab must be (m, n, C + 1) float32, got {ab.shape} {ab.dtype}")
    g, scale = _guide_view(guide, "guide")
    if g.shape[2] != ab.shape[2] - 1:
        raise ValueError(f"guide has {g.shape[2]} channels, the coefficients {ab.shape[2] - 1}")
    if clip is not None:
        lo, hi = (float(v) for v in clip)
        if not lo < hi:
            raise ValueError(f"clip must be (lo, hi) with lo < hi, got {clip!r}")
        clip = (np.float32(lo), np.float32(hi))
    planes = np.ascontiguousarray(ab.transpose(0, 2, 1))  # (m, C + 1, n): no copy if from coefficients()
    if g.shape[:2] == ab.shape[:2]:
        out = _evaluate(planes, g, scale)
        return out if clip is None else np.clip(out, *clip, out=out)
    return _apply_resized(planes, g, scale, clip)


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


def _src_as_float(src):
    src = np.asarray(src)
    if src.ndim != 2:
        raise ValueError(f"src must be (M, N), got shape {src.shape}")
    if src.dtype == np.bool_:
        return src.astype(np.float32)
    if src.dtype == np.uint8:
        return src.astype(np.float32) * np.float32(1 / 255)
    if not np.issubdtype(src.dtype, np.floating):
        raise TypeError(f"src must be uint8 or float, got {src.dtype}")
    return np.asarray(src, dtype=np.float32)


def _coefficients(guide, scale, src, radius, eps):
    """Window-averaged ``a`` and ``b``: an (M, N, C + 1) view of an (M, C + 1, N) array.

    All the window means are taken in one pass over a stack of planes: the
    guide's channels ``g``, ``g * src``, ``src`` and ``g_i * g_j`` (i <= j).
    The per-pixel solve then overwrites ``g * src`` with ``a`` and ``src``
    with ``b``, block by block, ready for the second pass.
    """
    rows, cols, ch = guide.shape
    pairs = [(i, j) for i in range(ch) for j in range(i, ch)]
    # Centre the guide: the covariances below are differences of means, and
    # centring keeps float32 cancellation small (any value near the mean will do).
    step = max(1, int(np.sqrt(rows * cols / 4096)))
    centre = (guide[::step, ::step].mean(axis=(0, 1), dtype=np.float64) * scale).astype(np.float32)
    stack = np.empty((rows, 2 * ch + 1 + len(pairs), cols), np.float32)
    for s in _blocks(rows):
        g = guide[s].transpose(0, 2, 1).astype(np.float32, order="C")
        g *= scale
        g -= centre[:, None]
        p = src[s][:, None, :]
        st = stack[s]
        st[:, :ch] = g
        np.multiply(g, p, out=st[:, ch : 2 * ch])
        st[:, 2 * ch : 2 * ch + 1] = p
        for k, (i, j) in enumerate(pairs, start=2 * ch + 1):
            np.multiply(g[:, i], g[:, j], out=st[:, k])
    box_mean(stack, radius)
    for s in _blocks(rows):
        st = stack[s]
        mean_g, cov, mean_p = st[:, :ch], st[:, ch : 2 * ch], st[:, 2 * ch]
        cov -= mean_g * mean_p[:, None]
        sigma = {}
        for k, (i, j) in enumerate(pairs, start=2 * ch + 1):
            sigma[i, j] = sigma[j, i] = st[:, k]
            st[:, k] -= mean_g[:, i] * mean_g[:, j]
            if i == j:
                st[:, k] += eps
        cov[...] = _solve(sigma, cov, ch)
        for c in range(ch):
            mean_p -= cov[:, c] * mean_g[:, c]
    ab = stack[:, ch : 2 * ch + 1].copy()  # a, then b
    del stack
    box_mean(ab, radius)
    # Undo the centring: q = a.(I - centre) + b = a.I + (b - a.centre).
    for c in range(ch):
        ab[:, ch] -= ab[:, c] * centre[c]
    return ab.transpose(0, 2, 1)


def _solve(sigma, cov, ch):
    """Solve (Sigma + eps I) a = cov per pixel; planes are (R, N), ``cov`` is (R, C, N)."""
    if ch == 1:
        return cov / sigma[0, 0][:, None]
    if ch == 3:
        # The adjugate of the symmetric 3x3 matrix.
        s = sigma
        adj = {
            (0, 0): s[1, 1] * s[2, 2] - s[1, 2] * s[1, 2],
            (0, 1): s[0, 2] * s[1, 2] - s[0, 1] * s[2, 2],
            (0, 2): s[0, 1] * s[1, 2] - s[0, 2] * s[1, 1],
            (1, 1): s[0, 0] * s[2, 2] - s[0, 2] * s[0, 2],
            (1, 2): s[0, 1] * s[0, 2] - s[0, 0] * s[1, 2],
            (2, 2): s[0, 0] * s[1, 1] - s[0, 1] * s[0, 1],
        }
        inv_det = 1 / (s[0, 0] * adj[0, 0] + s[0, 1] * adj[0, 1] + s[0, 2] * adj[0, 2])
        a = np.empty_like(cov)
        for i in range(3):
            row = [adj[min(i, j), max(i, j)] for j in range(3)]
            a[:, i] = (row[0] * cov[:, 0] + row[1] * cov[:, 1] + row[2] * cov[:, 2]) * inv_det
        return a
    mat = np.empty(cov.shape[:1] + cov.shape[2:] + (ch, ch), np.float32)
    for (i, j), plane in sigma.items():
        mat[..., i, j] = plane
    return np.linalg.solve(mat, cov.transpose(0, 2, 1)[..., np.newaxis])[..., 0].transpose(0, 2, 1)


def _blocks(rows, size=_BLOCK_ROWS):
    return [slice(start, min(start + size, rows)) for start in range(0, rows, size)]


def _evaluate(v, guide, scale):
    """``a . I * scale + b`` for (R, C + 1, N) coefficient planes and an (R, N, C) guide."""
    ch = guide.shape[2]
    out = v[:, 0] * guide[..., 0]
    for c in range(1, ch):
        out += v[:, c] * guide[..., c]
    if scale != 1:
        out *= scale
    out += v[:, ch]
    return out


def _apply_resized(planes, guide, scale, clip):
    """Apply coefficient planes fitted on a small grid to a large guide, strip by strip.

    With ``clip``, each strip is first filled from the labels of its cells
    (:func:`_cell_labels`) and only the runs of columns with a cell in doubt
    are evaluated. A large guide is never held in float.
    """
    rows, cols = guide.shape[:2]
    m, n = planes.shape[0], planes.shape[2]
    col_taps = taps(n, cols)
    r0, c0 = taps(m, rows)[0], col_taps[0]
    cell_cols = np.searchsorted(c0, np.arange(n + 1))  # cell j holds the columns cell_cols[j]:cell_cols[j + 1]
    if clip is not None:
        labels = _cell_labels(planes, guide, scale, *clip)
        doubt, high = labels == _DOUBT, labels == _HI
    out = np.empty((rows, cols), np.float32)
    for s in _blocks(rows, _STRIP_ROWS):
        if clip is None:
            runs = true_runs(np.ones(cols, bool), longest=_LONGEST)
        else:
            # Expand each cell row once, then copy it to the strip's rows that use it.
            top, bottom = r0[s][0], r0[s][-1] + 1
            out[s] = np.take(np.where(high[top:bottom], *clip[::-1]), c0, axis=1)[r0[s] - top]
            cells = true_runs(doubt[top:bottom].any(axis=0), gap=_GAP)
            runs = split_runs([(cell_cols[j0], cell_cols[j1]) for j0, j1 in cells], _LONGEST)
        for x0, x1 in runs:
            cs = slice(x0, x1)
            left, right, weight = (t[cs] for t in col_taps)
            q = _evaluate(resize_block(planes, rows, s, left, right, weight), guide[s, cs], scale)
            out[s, cs] = q if clip is None else np.clip(q, *clip, out=q)
    return out


_LO, _HI, _DOUBT = 0, 1, 2
#: Runs of doubtful cells closer than this many cells are evaluated as one (a run costs about
#: as much as evaluating a few thousand pixels).
_GAP = 16
#: Longest run of columns evaluated at once (bounds the temporaries).
_LONGEST = 1024


def _cell_labels(planes, guide, scale, lo, hi):
    """Per cell of the coefficient grid: ``_LO``/``_HI`` if all its pixels clip there, else ``_DOUBT``.

    Cell ``(i, j)`` holds the pixels whose upper-left interpolation node is
    ``(i, j)``; their value is a convex mix of the four nodes' ``a . I + b``,
    each bounded over the guide's range of colours.
    """
    ch = guide.shape[2]
    if guide.dtype == np.uint8:
        g_lo, g_hi = np.zeros(ch, np.float32), np.full(ch, 255, np.float32)
    else:
        g_lo = guide.min(axis=(0, 1)).astype(np.float32)
        g_hi = guide.max(axis=(0, 1)).astype(np.float32)
    centre, half = (g_lo + g_hi) * (scale / 2), (g_hi - g_lo) * (scale / 2)
    mid = planes[:, ch].copy()
    spread = np.zeros_like(mid)
    for c in range(ch):
        mid += planes[:, c] * centre[c]
        spread += np.abs(planes[:, c]) * half[c]
    slack = (np.abs(mid) + spread) * np.float32(_ROUNDING)
    spread += slack
    top, bottom = mid + spread, mid - spread
    # A cell's bound is the widest of its four nodes' (the last row and column have only theirs).
    for bound, widest in ((top, np.maximum), (bottom, np.minimum)):
        widest(bound[:-1], bound[1:], out=bound[:-1])
        widest(bound[:, :-1], bound[:, 1:], out=bound[:, :-1])
    labels = np.full(mid.shape, _DOUBT, np.uint8)
    labels[top <= lo] = _LO
    labels[bottom >= hi] = _HI
    return labels



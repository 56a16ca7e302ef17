"""Open the small enclosed holes that a matte filled: background seen through rings, handles,
letters and the gaps between strands.

The model tends to fill such holes with the subject's opacity. Where the photo's colour says a
hole shows the background, :func:`open_holes` makes it transparent again; elsewhere it changes
nothing. Detection runs on a copy of at most ``work_side`` pixels (the photo's integer box
reduction, :meth:`PIL.Image.Image.reduce`); the correction is applied at full resolution.

1. **Expected background.** The outer background - alpha below :data:`BG_ALPHA` in regions of
   low alpha that touch the frame or are larger than a hole may be (a region the matte opened
   inside the subject is no evidence) - is fitted, on a coarse grid, by a locally linear model
   of sRGB colour against position (Gaussian-weighted least squares, :data:`BG_SIGMA` of the
   longer side; wider where that reaches no background), so a graded backdrop is followed into
   the subject. This gives the colour ``B`` expected at every pixel and the *spread*: the RMS
   Delta E (CIE76, CIELAB) by which such a fit misses background it has not seen. Where the
   spread exceeds :data:`MAX_SPREAD` the background is too busy for colour to be evidence and
   nothing is opened.
2. **Candidates.** Pixels with alpha of at least :data:`MIN_ALPHA` within ``match_delta_e`` of
   ``B``, grouped into 4-connected components (:func:`scipy.ndimage.label`).
3. **Holes.** A component is a hole when all of these hold:

   * its area is at least :data:`MIN_AREA` pixels and at most ``max_share`` of the subject's;
   * it matches the background as closely as the background matches itself: at least
     :data:`TIGHT_SHARE` of its pixels lie within ``max(MIN_TOL, NOISE_TOL * spread)`` of ``B``
     (a white label on a bottle is a few Delta E off a white backdrop; the backdrop seen through
     a handle is within its own noise);
   * it is enclosed: at most ``max_open`` of its rim (the pixels within :data:`RIM` of it) is
     outer background, the frame counting as outer background (a gap open at one end passes, a
     region along the subject's outline does not), and at least :data:`MIN_RIM_SUBJECT` of the
     rim is subject;
   * the subject around it differs: the mean colour ``F`` of the rim's subject pixels is at
     least ``min_contrast`` Delta E, :data:`SNR` spreads, and :data:`SEPARATION` times its
     distance to ``B`` away from the component's colour. A white shirt on a white backdrop,
     with white around, is left alone.

4. **Soft edge, full resolution.** In a hole and :data:`EDGE` reduced pixels around it, each
   pixel's alpha is the position of its colour between ``B`` (plus the hole's mean offset from
   it) and ``F``, projected in sRGB and stretched so that ``[LO, HI]`` maps to ``[0, 1]``; a
   colour far off that line (another colour of the subject) keeps its alpha. The result is the
   smaller of that and the input, so alpha is only ever lowered, and only there.

Cost: the reduced copies (about 1 MP), a float32 copy of ``alpha`` (the result), and float32
bands of the holes' blocks at full resolution; no full-size float64 array.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .._shared.checks import as_alpha, as_rgb8
from .._shared.colour import srgb_to_lab
from ..options import Integer, Number

__all__ = ["open_holes"]

#: Reduced copies narrower than this many pixels (a sliver of a photo) have no holes to open.
MIN_SIDE = 8
#: Alpha below this, in the outer background, is background: the colour model is fitted on it.
BG_ALPHA = 0.05
#: Alpha at or above this can be a filled hole; below it, the matte already says background.
MIN_ALPHA = 0.25
#: Alpha at or above this counts as subject (its area, and the rim colour ``F``).
FG_ALPHA = 0.5
#: Width of the Gaussian that spreads the background colour inward, as a share of the longer side.
BG_SIGMA = 0.04
#: ... and at least this many pixels of the reduced copy.
MIN_SIGMA = 8.0
#: Damping of the background fit's slopes, relative to a full neighbourhood's spread of positions
#: (a backdrop seen from one side only is extrapolated flatter).
RIDGE = 0.1
#: The fit runs on a grid of at most this many cells along the longer side.
COARSE_SIDE = 64
#: Where the fit misses unseen background by more than this RMS Delta E, nothing is opened.
MAX_SPREAD = 5.0
#: A hole's pixels are within max(MIN_TOL, NOISE_TOL * spread) Delta E of the background, at
#: least TIGHT_SHARE of them. Were they background samples with that RMS spread about an unbiased
#: fit, about 92 % would be (chi-square, 3 degrees of freedom, at 3 * 1.5^2); the margin is for
#: the fit's bias inside the subject.
MIN_TOL = 4.0
NOISE_TOL = 1.5
TIGHT_SHARE = 0.75
#: Smallest hole, in pixels of the reduced copy.
MIN_AREA = 8
#: Rim width, in pixels of the reduced copy, around a component (enclosure and ``F``).
RIM = 3
#: At least this share of the rim must be subject (alpha >= FG_ALPHA, not a candidate).
MIN_RIM_SUBJECT = 0.3
#: The hole's colour must be this many times farther from ``F`` than from ``B``.
SEPARATION = 2.0
#: ... and at least this many times the background's spread from ``F`` (the colour projection
#: of step 4 then has an error of about 1 / SNR from the background's variation alone).
SNR = 6.0
#: Band, in pixels of the reduced copy, around a hole where the soft edge is recomputed.
EDGE = 2
#: Projection of a pixel's colour from ``B`` (0) to ``F`` (1) that maps to alpha 0 and to alpha 1.
LO, HI = 0.1, 0.9
#: Off the line from ``B`` to ``F`` by more than this share of ``|F - B|`` (and at least
#: OFF_LINE_MIN code values), a pixel is another colour of the subject and keeps its alpha;
#: by twice that, fully.
OFF_LINE = 0.3
OFF_LINE_MIN = 16.0


def open_holes(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    match_delta_e: float = 12.0,
    min_contrast: float = 20.0,
    max_open: float = 0.2,
    max_share: float = 0.3,
    work_side: int = 1024,
) -> np.ndarray:
    """Make transparent the enclosed holes that ``alpha`` filled but the photo shows as background.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
        The photo.
    alpha : (M, N) ndarray of float32 in [0, 1]
        Its matte at full resolution (e.g. from :func:`alphacut.matte.refine.refine_alpha`).
    match_delta_e : float, optional
        A pixel is a candidate when its CIE76 Delta E from the local background colour is at
        most this.
    min_contrast : float, optional
        Least Delta E between a hole's colour and the subject around it.
    max_open : float, optional
        Largest share of a hole's rim that may be outer background (0 allows only fully
        enclosed holes; 0.2 also lets through gaps open at one end, such as between strands).
    max_share : float, optional
        Largest hole, as a share of the subject's area (alpha >= 0.5).
    work_side : int, optional
        Longer side, at most, of the reduced copy the holes are found on.

    Returns
    -------
    alpha : (M, N) ndarray of float32 in [0, 1]
        A new matte: the input, lowered inside the holes found and unchanged elsewhere.

    Examples
    --------
    A grey ring on white whose hole the matte filled:

    >>> r, c = np.mgrid[:64, :64]
    >>> d = np.hypot(r - 31.5, c - 31.5)
    >>> ring = (d < 24) & (d >= 10)
    >>> image = np.where(ring[..., None], 90, 245).astype(np.uint8).repeat(3, axis=2)
    >>> filled = (d < 24).astype(np.float32)
    >>> out = open_holes(image, filled)
    >>> float(out[32, 32]), float(out[32, 50]), float(out[ring].min())
    (0.0, 1.0, 1.0)
    """
    image = as_rgb8(image)
    alpha = as_alpha(alpha, shape=image.shape[:2])  # a new array: the one that is returned
    return _open_holes(image, alpha, Number(0.5, 100.0).check("match_delta_e", match_delta_e),
                       Number(0.0, 200.0).check("min_contrast", min_contrast),
                       Number(0.0, 1.0).check("max_open", max_open), Number(0.0, 1.0).check("max_share", max_share),
                       Integer(16).check("work_side", work_side))


def _open_holes(image, alpha, match, min_contrast, max_open, max_share, work_side):
    """Kernel: lowers ``alpha`` (a float32 copy, modified in place) in the holes found; returns it."""
    k = max(1, -(-max(image.shape[:2]) // work_side))
    rgb, a = _reduce(image, alpha, k)
    if min(a.shape) < MIN_SIDE:
        return alpha  # a sliver: no room for a hole with a rim around it
    fg_area = int(np.count_nonzero(a >= FG_ALPHA))
    if fg_area == 0:
        return alpha
    outer = _outer(a, max_share * fg_area)
    bg = outer & (a < BG_ALPHA)  # a region the matte opened inside the subject is no evidence
    if np.count_nonzero(bg) < MIN_AREA:
        return alpha
    model = _background_model(rgb, bg)
    # Candidates, computed only where the matte is high enough and the background quiet enough.
    rr, cc = np.nonzero(a >= MIN_ALPHA)
    spread = _sample(model.spread[..., None], model.cell, rr, cc)[:, 0]
    quiet = spread <= MAX_SPREAD
    rr, cc, spread = rr[quiet], cc[quiet], spread[quiet]
    expected = _sample(model.mean[..., :3], model.cell, rr, cc)
    lab = srgb_to_lab(rgb[rr, cc])
    diff = lab - expected
    de2 = np.einsum("ij,ij->i", diff, diff)  # squared Delta E to the expected background
    near = de2 <= match * match
    if not near.any():
        return alpha
    rr, cc = rr[near], cc[near]
    expected = np.concatenate([expected[near], _sample(model.mean[..., 3:], model.cell, rr, cc)], axis=1)
    pixels = _Pixels(rr, cc, lab[near], expected, de2[near], spread[near])
    cand = np.zeros(a.shape, bool)
    cand[pixels.rr, pixels.cc] = True
    labels, n = ndi.label(cand)
    holes = _judge(labels, n, pixels, rgb, a, outer, fg_area, min_contrast, max_open, max_share)
    if holes:
        ids = labels[pixels.rr, pixels.cc]
        inside = np.isin(ids, list(holes))
        r, c = pixels.rr[inside], pixels.cc[inside]
        _apply(image, alpha, labels, holes, (r.min(), r.max() + 1, c.min(), c.max() + 1), model, k)
    return alpha


class _Model(NamedTuple):
    """The background model on its coarse grid (module docstring, step 1)."""

    #: (R, C, 6) float32: expected background colour, Lab then sRGB.
    mean: np.ndarray
    #: (R, C) float32: RMS Delta E by which the fit misses unseen background; huge where there is none near.
    spread: np.ndarray
    #: Side of a cell in pixels of the reduced copy.
    cell: int


class _Pixels(NamedTuple):
    """The candidate pixels: coordinates in the reduced copy and what was computed at them."""

    rr: np.ndarray
    cc: np.ndarray
    lab: np.ndarray
    expected: np.ndarray
    de2: np.ndarray
    spread: np.ndarray


#: Stands for an infinite spread on the coarse grid (interpolates without NaN).
_HUGE = np.float32(1e30)


def _reduce(image: np.ndarray, alpha: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies ``ceil(M / k)`` by ``ceil(N / k)``: pixel ``(i, j)`` stands for ``(i // k, j // k)``.

    The photo is box-averaged; the matte, which is smooth, is the mean of four samples per block.
    """
    if k == 1:
        return image, alpha
    small_rgb = np.asarray(Image.fromarray(image).reduce(k))
    q, h = k // 4, (3 * k) // 4
    rows, cols = small_rgb.shape[:2]
    small_a = np.zeros((rows, cols), np.float32)
    count = np.zeros((rows, cols), np.float32)
    for r, c in ((q, q), (q, h), (h, q), (h, h)):
        part = alpha[r::k, c::k]  # a partial block at the far edges may lack the sample
        small_a[: part.shape[0], : part.shape[1]] += part
        count[: part.shape[0], : part.shape[1]] += 1
    np.divide(small_a, count, out=small_a, where=count > 0)
    empty = count == 0  # a far-edge block narrower than q + 1 pixels: its first pixel stands for it
    if empty.any():
        small_a[empty] = alpha[::k, ::k][empty]
    return small_rgb, small_a


def _box_mean(plane: np.ndarray, c: int) -> np.ndarray:
    """Means over ``c`` x ``c`` blocks of a 2-D float plane (partial blocks at the far edges)."""
    if c == 1:
        return np.asarray(plane, dtype=np.float32)
    img = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(img.reduce(c), dtype=np.float32)


def _background_model(rgb: np.ndarray, bg: np.ndarray) -> _Model:
    """Background colour expected at each cell (Lab and sRGB), and how well that predicts the background.

    A locally linear fit (first-order normalised convolution: Gaussian-weighted least squares of
    sRGB colour against position, the slopes slightly damped by :data:`RIDGE`) of the background
    pixels on a coarse grid, so that a graded backdrop is followed into the subject; a Gaussian
    4 and 16 times wider where the narrower reaches no background pixel.

    The spread is how well such a fit predicts background it has not seen: the RMS Delta E of
    the background about a fit at their own cell that leaves out the cell's surroundings (a
    hollow kernel, the Gaussian minus a half-width one scaled to cancel it at the centre),
    averaged with the Gaussian. Small for a plain or smoothly graded backdrop, large for a
    busy one. The cells' sums are taken over every ``step``-th pixel (at least 4 samples a
    cell; the Gaussian pools dozens of cells).
    """
    rows, cols = bg.shape
    c = max(1, -(-max(rows, cols) // COARSE_SIDE))
    step = max(1, c // 2)
    c = -(-c // step) * step  # a whole number of samples per cell side
    sub_rgb, w = rgb[step // 2::step, step // 2::step], bg[step // 2::step, step // 2::step].astype(np.float32)
    lab = srgb_to_lab(sub_rgb)
    planes = [w] + [sub_rgb[..., i] * w for i in range(3)] + [lab[..., i] * w for i in range(3)]
    planes.append(planes[4] * lab[..., 0] + planes[5] * lab[..., 1] + planes[6] * lab[..., 2])
    # per cell, means of: w, w * sRGB, w * Lab, w * |Lab|^2 (float64 on the small grid)
    cells = np.stack([_box_mean(x, c // step) for x in planes], axis=2).astype(np.float64)
    w, wlab, wll = cells[..., 0], cells[..., 4:7], cells[..., 7]
    y, x = np.mgrid[: w.shape[0], : w.shape[1]].astype(np.float64)
    y, x = y[..., None], x[..., None]
    wf = cells[..., 1:4]
    moments = np.concatenate([w[..., None] * np.concatenate([np.ones_like(y), y, x, y * y, x * x, x * y], 2),
                              wf, wf * y, wf * x], axis=2)
    sigma = max(BG_SIGMA * max(rows, cols), MIN_SIGMA) / c
    mean = np.zeros(w.shape + (6,), np.float32)
    spread = np.full(w.shape, _HUGE, np.float32)
    done = np.zeros(w.shape, bool)
    for scale in (1, 4, 16):  # wider where the narrower reaches no background
        s = sigma * scale
        near = ndi.gaussian_filter(moments, (s, s, 0), mode="constant", truncate=4.0)
        nearer = ndi.gaussian_filter(moments, (s / 2, s / 2, 0), mode="constant", truncate=4.0)
        damp = RIDGE * s * s
        ok = near[..., 0] > 1e-3
        fit = _linear_fit(near, y[..., 0], x[..., 0], damp, ok)
        unseen = _linear_fit(near - 0.25 * nearer, y[..., 0], x[..., 0], damp, ok)  # the hollow kernel
        fit_lab = srgb_to_lab(np.clip(fit / 255, 0, 1)).astype(np.float64)
        unseen_lab = srgb_to_lab(np.clip(unseen / 255, 0, 1)).astype(np.float64)
        # a cell's mean of w * |Lab - unseen|^2, then its Gaussian mean
        resid = wll - 2 * (unseen_lab * wlab).sum(axis=2) + np.square(unseen_lab).sum(axis=2) * w
        v = np.sqrt(np.maximum(ndi.gaussian_filter(resid, s, mode="constant", truncate=4.0)
                               / np.where(ok, near[..., 0], 1.0), 0.0))
        fill = ok & ~done
        mean[fill] = np.concatenate([fit_lab, fit], axis=2)[fill]
        spread[fill] = v[fill]
        done |= ok
        if done.all():
            break
    return _Model(mean, spread, c)


def _linear_fit(m, y, x, damp, ok):
    """Solves the weighted least squares ``f ~ a + b (row - r) + c (col - c)`` about every cell
    ``(r, c)`` from smoothed moments ``m`` (R, C, 6 + 3 F: ``w`` times 1, row, col, row^2,
    col^2, row col, then ``w f``, ``w f`` row, ``w f`` col); returns ``a`` (R, C, F), 0 where not ``ok``."""
    nf = (m.shape[2] - 6) // 3
    s0, s_y, s_x, s_yy, s_xx, s_xy = (m[..., i] for i in range(6))
    sy, sx = s_y - y * s0, s_x - x * s0  # moments about each cell's own position
    syy = s_yy - 2 * y * s_y + y * y * s0
    sxx = s_xx - 2 * x * s_x + x * x * s0
    sxy = s_xy - y * s_x - x * s_y + x * y * s0
    syy += damp * s0
    sxx += damp * s0
    # the intercept: first row of the inverse of [[s0, sy, sx], [sy, syy, sxy], [sx, sxy, sxx]]
    c0, c1, c2 = syy * sxx - sxy * sxy, sx * sxy - sy * sxx, sy * sxy - sx * syy
    det = s0 * c0 + sy * c1 + sx * c2
    det = np.where(ok, det, 1.0)
    f0 = m[..., 6:6 + nf]
    fy = m[..., 6 + nf:6 + 2 * nf] - y[..., None] * f0
    fx = m[..., 6 + 2 * nf:] - x[..., None] * f0
    a = (c0[..., None] * f0 + c1[..., None] * fy + c2[..., None] * fx) / det[..., None]
    a[~ok] = 0
    return a


def _sample(grid: np.ndarray, cell: int, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of a (R, C, K) coarse grid (cells ``cell`` pixels wide, values at
    their centres, the edges held beyond them) at pixels ``(rr, cc)`` of the reduced copy, as
    :func:`_upsample` would give them; returns (P, K) float32."""
    rows, cols = grid.shape[:2]
    y = np.clip((rr.astype(np.float32) + 0.5) / cell - 0.5, 0, rows - 1)
    x = np.clip((cc.astype(np.float32) + 0.5) / cell - 0.5, 0, cols - 1)
    y0, x0 = y.astype(np.intp), x.astype(np.intp)
    fy, fx = y - y0, x - x0
    i00 = y0 * cols + x0
    i01 = i00 + (x0 < cols - 1)
    i10 = i00 + cols * (y0 < rows - 1)
    i11 = i10 + (x0 < cols - 1)
    w00, w01, w10, w11 = (1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx
    out = np.empty((len(rr), grid.shape[2]), np.float32)
    for k in range(grid.shape[2]):
        g = np.ascontiguousarray(grid[..., k], dtype=np.float32).ravel()
        out[:, k] = g[i00] * w00 + g[i01] * w01 + g[i10] * w10 + g[i11] * w11
    return out


def _upsample(grid: np.ndarray, cell: int, shape: tuple[int, int], box=None) -> np.ndarray:
    """Bilinear from a (R, C) coarse grid (cells ``cell`` pixels wide, values at their centres,
    the edges held beyond them) to ``shape``, the reduced copy's, as float32; only the part
    ``box = (r0, r1, c0, c1)`` of it if given."""
    short = (max(0, -(-shape[0] // cell) - grid.shape[0]), max(0, -(-shape[1] // cell) - grid.shape[1]))
    if any(short):  # the grid may end a cell before the copy does
        grid = np.pad(grid, [(0, short[0]), (0, short[1])], mode="edge")
    r0, r1, c0, c1 = box if box is not None else (0, shape[0], 0, shape[1])
    img = Image.fromarray(np.ascontiguousarray(grid, dtype=np.float32), mode="F")
    out = img.resize((c1 - c0, r1 - r0), Image.BILINEAR, box=(c0 / cell, r0 / cell, c1 / cell, r1 / cell))
    return np.asarray(out, dtype=np.float32)


def _sums(ids: np.ndarray, n: int, values: np.ndarray | None = None) -> np.ndarray:
    """Per-label count (``values`` None) or per-label sums of ``values``, (P,) or (P, C)."""
    if values is None:
        return np.bincount(ids, minlength=n + 1).astype(np.float64)
    if values.ndim == 1:
        return np.bincount(ids, weights=values, minlength=n + 1)
    return np.stack([np.bincount(ids, weights=values[:, i], minlength=n + 1) for i in range(values.shape[1])], axis=1)


def _outer(a: np.ndarray, max_hole: float) -> np.ndarray:
    """The outer background: regions of alpha below :data:`MIN_ALPHA` that touch the frame or
    are larger than ``max_hole`` pixels."""
    low, _ = ndi.label(a < MIN_ALPHA)
    outer_ids = np.bincount(low.ravel()) > max_hole
    outer_ids[np.concatenate([low[0], low[-1], low[:, 0], low[:, -1]])] = True
    outer_ids[0] = False
    return outer_ids[low]


def _judge(labels, n, px: _Pixels, rgb, a, outer, fg_area, min_contrast, max_open, max_share):
    """Tests each component (module docstring, step 3).

    Returns ``{label: (offset, F_rgb)}`` of the holes: the mean sRGB difference between the
    hole's pixels and the expected background there, and the subject's colour around it.
    """
    rows, cols = labels.shape
    ids = labels[px.rr, px.cc]
    area = _sums(ids, n)
    spread_mean = _sums(ids, n, px.spread.astype(np.float64)) / np.maximum(area, 1)
    tol = np.maximum(MIN_TOL, NOISE_TOL * px.spread)
    t = px.de2 <= tol * tol
    ids_t = ids[t]
    n_tight = _sums(ids_t, n)
    c_lab = _sums(ids_t, n, px.lab[t])
    b_lab = _sums(ids_t, n, px.expected[t, :3])
    offset = _sums(ids_t, n, rgb[px.rr[t], px.cc[t]].astype(np.float32) - px.expected[t, 3:])

    # The rim: pixels within RIM of a component and outside every one; the frame counts as outer
    # background. A rim pixel near two components counts for the larger label.
    r0, c0 = px.rr.min(), px.cc.min()  # the candidates' box, padded by RIM on every side
    box = np.pad(labels[r0:px.rr.max() + 1, c0:px.cc.max() + 1], RIM)
    near = ndi.maximum_filter(box, size=2 * RIM + 1)
    pr, pc = np.nonzero((near > 0) & (box == 0))
    rim_ids = near[pr, pc]
    pr += r0 - RIM
    pc += c0 - RIM
    framed = (pr >= 0) & (pr < rows) & (pc >= 0) & (pc < cols)
    off_frame = _sums(rim_ids[~framed], n)
    pr, pc, rim_ids = pr[framed], pc[framed], rim_ids[framed]
    out = outer[pr, pc]
    rim_n = _sums(rim_ids, n) + off_frame
    rim_open = _sums(rim_ids[out], n) + off_frame
    s = ~out & (a[pr, pc] >= FG_ALPHA)
    ids_s, f = rim_ids[s], rgb[pr[s], pc[s]]
    rim_subject = _sums(ids_s, n)
    f_lab = _sums(ids_s, n, srgb_to_lab(f))
    f_rgb = _sums(ids_s, n, f.astype(np.float32))

    with np.errstate(divide="ignore", invalid="ignore"):
        c_lab, b_lab, offset = c_lab / n_tight[:, None], b_lab / n_tight[:, None], offset / n_tight[:, None]
        f_lab, f_rgb = f_lab / rim_subject[:, None], f_rgb / rim_subject[:, None]
        to_f = np.sqrt(np.square(c_lab - f_lab).sum(axis=1))
        to_b = np.sqrt(np.square(c_lab - b_lab).sum(axis=1))
        keep = ((area >= MIN_AREA) & (area <= max_share * fg_area)
                & (n_tight >= TIGHT_SHARE * area)
                & (rim_open <= max_open * rim_n)
                & (rim_subject >= MIN_RIM_SUBJECT * rim_n) & (rim_subject > 0)
                & (to_f >= min_contrast) & (to_f >= SNR * spread_mean) & (to_f >= SEPARATION * to_b))
    keep[0] = False
    return {int(j): (offset[j].astype(np.float32), f_rgb[j].astype(np.float32)) for j in np.flatnonzero(keep)}


def _apply(image, alpha, labels, holes, box, model: _Model, k: int, band: int = 64) -> None:
    """Lowers ``alpha`` in place in the holes and :data:`EDGE` pixels (of the reduced copy) around
    them (``box``: their bounding box in the reduced copy, ``(r0, r1, c0, c1)``): each
    full-resolution pixel gets its colour's position between the background expected there (plus
    the hole's offset) and the hole's rim colour ``F``, in sRGB.

    Per reduced pixel, ``B``, ``F - B`` and the tolerances are computed once and broadcast over
    its ``k`` x ``k`` block; the photo is visited in bands of ``band`` reduced rows, within the
    bounding box of each group of nearby holes.
    """
    accepted = np.zeros(labels.max() + 1, np.int32)
    offset = np.zeros((len(holes) + 1, 3), np.float32)
    f_rgb = np.zeros((len(holes) + 1, 3), np.float32)
    for i, (j, (off, f)) in enumerate(holes.items(), start=1):
        accepted[j], offset[i], f_rgb[i] = i, off, f
    rows, cols = labels.shape
    top, left = max(0, box[0] - EDGE), max(0, box[2] - EDGE)
    bottom, right = min(rows, box[1] + EDGE), min(cols, box[3] + EDGE)
    # each reduced pixel near a hole, with that hole's index (where two meet, the later one)
    which = ndi.grey_dilation(accepted[labels[top:bottom, left:right]], size=(2 * EDGE + 1, 2 * EDGE + 1))
    groups, _ = ndi.label(which > 0, np.ones((3, 3), bool))
    for group in ndi.find_objects(groups):
        for r0 in range(group[0].start, group[0].stop, band):
            r1 = min(r0 + band, group[0].stop)
            w = which[r0:r1, group[1]]
            if not w.any():
                continue
            region = (top + r0, top + r1, left + group[1].start, left + group[1].stop)
            b = np.stack([_upsample(model.mean[..., i], model.cell, labels.shape, region) for i in (3, 4, 5)], axis=-1)
            b += offset[w]
            v = f_rgb[w] - b
            vv = np.maximum(np.einsum("...i,...i->...", v, v), 1.0)
            vn = v / vv[..., None]  # so that t = (I - B) . vn
            tol2 = np.square(np.maximum(np.float32(OFF_LINE_MIN), np.float32(OFF_LINE) * np.sqrt(vv)))
            sl = (slice(region[0], region[1]), slice(region[2], region[3]))
            _apply_blocks(image, alpha, sl, w > 0, b, vn, vv, tol2, k)


def _apply_blocks(image, alpha, sl, mask, b, vn, vv, tol2, k):
    """The full-resolution blocks of reduced pixels ``sl``: whole blocks as an (h, k, w * k) view,
    the per-pixel values repeated along the rows and broadcast down the ``k`` rows of a block
    (so numpy's inner loops run along whole rows); partial blocks at the photo's far edges one
    by one."""
    rows, cols = alpha.shape
    r0, r1, c0, c1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
    hr, hc = min(r1, rows // k), min(c1, cols // k)  # whole blocks end here
    if hr > r0 and hc > c0:
        h, w = hr - r0, hc - c0
        pix = image[r0 * k:hr * k, c0 * k:hc * k].reshape(h, k, w * k, 3)
        win = alpha[r0 * k:hr * k, c0 * k:hc * k].reshape(h, k, w * k)

        def per_block(x):
            return np.repeat(x[:h, :w], k, axis=1)[:, None]

        new = _alpha_from_colour(pix, per_block(b), per_block(vn), per_block(vv), per_block(tol2))
        np.minimum(win, new, out=win, where=per_block(mask))
    partial = mask.copy()
    partial[: max(0, hr - r0), : max(0, hc - c0)] = False
    for i, j in zip(*np.nonzero(partial)):
        rs, cs = slice((r0 + i) * k, (r0 + i + 1) * k), slice((c0 + j) * k, (c0 + j + 1) * k)
        new = _alpha_from_colour(image[rs, cs], b[i, j], vn[i, j], vv[i, j], tol2[i, j])
        np.minimum(alpha[rs, cs], new, out=alpha[rs, cs])


def _alpha_from_colour(pix, b, vn, vv, tol2):
    """Alpha of sRGB colours ``pix`` (..., 3) from their projection on the line from ``b`` to
    ``F = b + vn * vv``; colours off that line by much more than ``sqrt(tol2)`` keep alpha 1.
    ``b`` and ``vn`` broadcast against ``pix``, ``vv`` and ``tol2`` against ``pix[..., 0]``.
    Computed channel by channel in float32 (a sum over a last axis of 3 is slow in numpy)."""
    t = None
    dd = None
    for c in range(3):
        d = np.subtract(pix[..., c], b[..., c], dtype=np.float32)
        t = d * vn[..., c] if t is None else t + d * vn[..., c]
        d *= d
        dd = d if dd is None else dd + d
    dd -= t * t * vv  # squared distance from the line
    np.maximum(dd, 0.0, out=dd)
    dd /= tol2
    np.sqrt(dd, out=dd)
    dd -= 1.0  # off the line by between 1 and 2 tolerances: a ramp back up to 1
    t -= np.float32(LO)
    t *= np.float32(1 / (HI - LO))
    np.maximum(t, dd, out=t)
    return np.clip(t, 0.0, 1.0, out=t)

"""Colour-key cut-out for photos on a plain backdrop (studio white, grey, green, blue): no model.

1. The border of a small copy of the photo (a band ``border`` wide) is clustered in CIELAB with
   k-means (k <= 3, seeded k-means++). The largest cluster is background; a smaller one joins it
   if it holds at least ``min_cluster_share`` of the border and lies within
   ``chain_delta_e`` of a cluster already kept (a graded backdrop comes out as a chain of
   near clusters, a subject touching the frame as a distant one).
2. Every pixel's distance to the background is the CIE76 Delta E to the nearest kept cluster.
3. The backdrop's own spread sets where the ramp starts (``lo``: a high percentile of the
   Delta E of the border pixels that are backdrop); Otsu's threshold on the distance histogram
   of a small copy separates backdrop from subject and sets the ramp's width (``hi = lo +
   ramp_share * (otsu - lo)``). On the small copy, alpha rises linearly from 0 at ``lo`` to 1
   at ``hi``; this gives the subject's mask (alpha >= 0.5).
4. Clean-up on the small copy (scipy.ndimage): pieces smaller than ``min_piece`` of the largest
   (and specks of a few pixels) are dropped, as is everything more than a few pixels away
   from the pieces kept; small enclosed holes (``max_hole``) with no backdrop-coloured pixel
   are filled; the part of the subject that is surely opaque (alpha 1 by the ramp), eroded by a
   few pixels, is made opaque (``solid_interior``).
5. Soft edge: in the band between the surely opaque part and a few pixels outside the mask,
   alpha is the position of the pixel's colour between the local backdrop colour ``B`` and
   the local subject colour ``F`` (means over a small window, normalised convolution):
   ``a = (I - B).(F - B) / |F - B|^2`` in sRGB, stretched so that the backdrop's pixel noise
   (measured on the small copy) maps to 0 and 1 at the ends, clipped to [0, 1], and 0 where
   the colour is within the backdrop's noise in Delta E (<= ``lo``). Where ``|F - B|`` is too small to say, the
   Delta E ramp is used.
6. Spill: in semi-transparent band pixels the backdrop's contribution is taken out,
   ``F = (I - (1 - a) B) / a`` clamped to [0, 255]. Opaque pixels are untouched.

Cost: the clustering, thresholds and clean-up run on a copy subsampled to ``work_side``; at
full resolution only the band pixels are computed (plus the upsampled masks, the returned
float32 alpha and the copy of the image). Colour distances at full resolution go through a
lookup table of 6-bit-per-channel colour bins (262,144 entries), with no float64 temporaries.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .._shared.checks import as_rgb8
from .._shared.colour import srgb_to_lab
from ..options import OptionsBase, flag, integer, number

__all__ = ["ColourKeyOptions", "border_uniformity", "colour_key", "key_if_plain", "should_colour_key"]

#: Bits per channel of the colour lookup table.
_BITS = 6
#: Pieces of the small copy's mask with fewer pixels than this are always dropped (specks).
_MIN_PIECE_PX = 6
#: Rows per strip of the full-resolution pass.
_STRIP_ROWS = 128
#: Half-width, in full-resolution pixels (at least one small-copy pixel), of the band around
#: the outline where alpha is estimated from the local subject and backdrop colours.
_EDGE_PX = 4
#: Window side, in small-copy pixels, of those local colour estimates.
_COLOUR_WINDOW = 7
#: Below this |F - B| (sRGB code values) the local colours say nothing: the lookup alpha is used.
_MIN_CONTRAST = 20.0
_EIGHT = np.ones((3, 3), bool)


@dataclass(frozen=True)
class ColourKeyOptions(OptionsBase):
    """Options of :func:`colour_key` and :func:`border_uniformity`, validated on creation."""

    #: Width of the border band that samples the backdrop, as a share of the shorter side.
    border: float = number(0.03, 0.002, 0.25)
    #: Most k-means clusters of the border colours.
    max_clusters: int = integer(3, 1, 8)
    #: A cluster holding less of the border than this is never backdrop.
    min_cluster_share: float = number(0.10, 0.0, 1.0)
    #: A further cluster is backdrop if its centre is within this Delta E of a kept one.
    chain_delta_e: float = number(20.0, 0.0, 200.0)
    #: Alpha starts to rise at this percentile of the Delta E of the border pixels that are
    #: backdrop (within ``uniform_delta_e``).
    noise_percentile: float = number(99.0, 50.0, 100.0)
    #: The ramp from 0 to 1 is this share of the way from its start to Otsu's threshold.
    ramp_share: float = number(0.5, 0.0, 1.0)
    #: Narrowest ramp, in Delta E.
    min_ramp: float = number(3.0, 0.1, 100.0)
    #: Pieces smaller than this share of the largest piece are dropped.
    min_piece: float = number(0.0005, 0.0, 1.0)
    #: Enclosed holes smaller than this share of the subject are filled unless backdrop-coloured.
    max_hole: float = number(0.01, 0.0, 1.0)
    #: Make the subject opaque more than a few pixels inside its outline.
    solid_interior: bool = flag(True)
    #: Remove the backdrop's colour from semi-transparent pixels.
    decontaminate: bool = flag(True)
    #: Longer side of the small copy used for clustering, thresholds and clean-up.
    work_side: int = integer(512, 32, 4096)
    #: Border pixels sampled for the clustering.
    samples: int = integer(4000, 10, 10**6)
    #: Seed of the sampling and of k-means++.
    seed: int = integer(0, 0, 2**32 - 1)
    #: border_uniformity: Delta E within which a border pixel counts as backdrop.
    uniform_delta_e: float = number(8.0, 0.1, 100.0)
    #: should_colour_key: least share of the border within ``uniform_delta_e`` of the backdrop.
    min_uniform_share: float = number(0.5, 0.0, 1.0)
    #: should_colour_key: largest RMS Delta E of the border pixels that count as backdrop.
    max_spread: float = number(4.5, 0.0, 100.0)
    #: should_colour_key: largest share of the border between ``uniform_delta_e`` and 2.5 times it
    #: from the backdrop (a studio shot has backdrop and subject; a scene has everything between).
    max_ambiguous: float = number(0.08, 0.0, 1.0)



# --- helpers -------------------------------------------------------------------------------


def _small(image: np.ndarray, side: int) -> tuple[np.ndarray, int]:
    """Every ``k``-th pixel, ``k`` the integer factor that brings the longer side to at most ``side``.

    Subsampled, not averaged: the backdrop's noise is then measured as the full-resolution
    pixels see it, which is where the ramp's start is applied.
    """
    k = max(1, -(-max(image.shape[:2]) // side))
    if k == 1:
        return image, 1
    return np.ascontiguousarray(image[k // 2::k, k // 2::k]), k


def _border_mask(shape, border: float) -> np.ndarray:
    w = max(2, round(border * min(shape)))
    mask = np.zeros(shape, bool)
    mask[:w] = mask[-w:] = True
    mask[:, :w] = mask[:, -w:] = True
    return mask


def _kmeans(x: np.ndarray, k: int, seed: int, iters: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ then Lloyd on (P, 3) float32 points; returns (centres, labels), empty ones dropped."""
    rng = np.random.default_rng(seed)
    k = min(k, len(x))
    centres = [x[rng.integers(len(x))]]
    d2 = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        if d2.sum() <= 0:
            break
        centres.append(x[rng.choice(len(x), p=d2 / d2.sum())])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(axis=1))
    c = np.array(centres, np.float32)
    for _ in range(iters):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(axis=2).argmin(axis=1)
        new = np.array([x[labels == j].mean(axis=0) if np.any(labels == j) else c[j] for j in range(len(c))],
                       np.float32)
        if np.allclose(new, c, atol=1e-3):
            break
        c = new
    labels = ((x[:, None, :] - c[None]) ** 2).sum(axis=2).argmin(axis=1)
    used = np.unique(labels)
    remap = np.full(len(c), -1)
    remap[used] = np.arange(len(used))
    return c[used], remap[labels]


def _backdrop(small: np.ndarray, o: ColourKeyOptions) -> dict:
    """Cluster the border of the small copy; decide which clusters are backdrop."""
    pts_rgb = small[_border_mask(small.shape[:2], o.border)]
    if len(pts_rgb) > o.samples:
        pick = np.sort(np.random.default_rng(o.seed).choice(len(pts_rgb), o.samples, replace=False))
        pts_rgb = pts_rgb[pick]
    pts_lab = srgb_to_lab(pts_rgb)
    centres, labels = _kmeans(pts_lab, o.max_clusters, o.seed)
    share = np.bincount(labels, minlength=len(centres)) / len(labels)
    order = np.argsort(-share, kind="stable")
    kept = [int(order[0])]
    for j in order[1:]:
        near = min(float(np.linalg.norm(centres[j] - centres[i])) for i in kept)
        if share[j] >= o.min_cluster_share and near <= o.chain_delta_e:
            kept.append(int(j))
    kept_c = centres[kept]
    d = np.sqrt(((pts_lab[:, None, :] - kept_c[None]) ** 2).sum(axis=2)).min(axis=1)
    rgb = np.array([pts_rgb[labels == j].mean(axis=0) for j in kept], np.float32)
    return {"centres": centres, "share": share, "kept": kept, "kept_lab": kept_c,
            "kept_rgb": rgb, "border_de": d}


def _uniformity(bd: dict, o: ColourKeyOptions) -> tuple[float, float, float]:
    d = bd["border_de"]
    near = d <= o.uniform_delta_e
    share = float(near.mean())
    spread = float(np.sqrt((d[near] ** 2).mean())) if near.any() else float("inf")
    ambiguous = float(np.mean(~near & (d <= 2.5 * o.uniform_delta_e)))
    return share, spread, ambiguous


def _nearest(lab: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Delta E to the nearest centre and its index, for (..., 3) float32 Lab."""
    planes = [np.ascontiguousarray(lab[..., c]) for c in range(3)]
    best = None
    idx = np.zeros(lab.shape[:-1], np.uint8)
    for j, centre in enumerate(centres):
        d2 = np.square(planes[0] - centre[0])
        d2 += np.square(planes[1] - centre[1])
        d2 += np.square(planes[2] - centre[2])
        if best is None:
            best = d2
        else:
            closer = d2 < best
            np.copyto(best, d2, where=closer)
            idx[closer] = j
    return np.sqrt(best), idx


def _otsu(values: np.ndarray, hi: float, bins: int = 256) -> float:
    hist, edges = np.histogram(np.clip(values, 0, hi), bins=bins, range=(0, hi))
    hist = hist.astype(np.float64)
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * mids)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def _quantised_index(image: np.ndarray) -> np.ndarray:
    """(M, N) uint32 index of each pixel's 6-bit-per-channel colour bin."""
    shift = 8 - _BITS
    idx = (image[..., 0] >> shift).astype(np.uint32)
    idx <<= _BITS
    idx |= image[..., 1] >> shift
    idx <<= _BITS
    idx |= image[..., 2] >> shift
    return idx


def _bin_centres() -> np.ndarray:
    levels = (np.arange(2 ** _BITS, dtype=np.uint16) << (8 - _BITS)) + (1 << (7 - _BITS))
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    return np.stack([r, g, b], axis=-1).reshape(-1, 3).astype(np.uint8)


_BIN_LAB = None


def _bin_lab() -> np.ndarray:
    global _BIN_LAB
    if _BIN_LAB is None:
        _BIN_LAB = srgb_to_lab(_bin_centres())
    return _BIN_LAB


# --- public --------------------------------------------------------------------------------


def border_uniformity(image, *, options: ColourKeyOptions = ColourKeyOptions()) -> tuple[float, dict]:
    """How plain the photo's border is: the share of it within ``uniform_delta_e`` of the backdrop.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    options : ColourKeyOptions, optional

    Returns
    -------
    score : float
        In [0, 1]: the share of border pixels within ``options.uniform_delta_e`` (Delta E) of a
        backdrop cluster. A studio backdrop scores about 1 (less where the subject touches the
        frame), a busy scene well under 0.5.
    report : dict
        JSON-able: ``share`` (= score), ``spread`` (RMS Delta E of those pixels to their
        cluster), ``ambiguous`` (share of the border between ``uniform_delta_e`` and 2.5 times
        it), ``clusters`` (Lab centre, sRGB colour, share of the border, backdrop or not),
        ``chosen`` (bool) and ``reason`` (a sentence), as :func:`should_colour_key` decides.

    Examples
    --------
    >>> image = np.zeros((64, 64, 3), np.uint8); image[...] = (0, 180, 0)
    >>> image[20:44, 20:44] = 200
    >>> score, report = border_uniformity(image)
    >>> score, report['chosen']
    (1.0, True)
    """
    image = as_rgb8(image, min_side=8)
    _check_options(options)
    small, _ = _small(image, options.work_side)
    bd = _backdrop(small, options)
    return _uniformity_report(bd, options)


def _check_options(options):
    if not isinstance(options, ColourKeyOptions):
        raise TypeError(f"options must be a ColourKeyOptions, got {type(options).__name__}")


def _uniformity_report(bd: dict, o: ColourKeyOptions) -> tuple[float, dict]:
    share, spread, ambiguous = _uniformity(bd, o)
    if share < o.min_uniform_share:
        chosen = False
        reason = (f"The background is not plain: only {share:.0%} of the border is close to one backdrop "
                  f"colour (needs {o.min_uniform_share:.0%}).")
    elif spread > o.max_spread:
        chosen = False
        reason = (f"The backdrop colour varies too much along the border (spread {spread:.1f} Delta E, "
                  f"needs <= {o.max_spread:.1f}).")
    elif ambiguous > o.max_ambiguous:
        chosen = False
        reason = (f"The background is not plain: {ambiguous:.0%} of the border is neither backdrop nor clearly "
                  f"different from it (needs <= {o.max_ambiguous:.0%}).")
    else:
        chosen = True
        reason = f"Plain backdrop: {share:.0%} of the border is one colour (spread {spread:.1f} Delta E)."
    clusters = []
    for j, c in enumerate(bd["centres"]):
        clusters.append({"lab": [round(float(v), 2) for v in c], "share": round(float(bd["share"][j]), 4),
                         "backdrop": j in bd["kept"]})
    for j, rgb in zip(bd["kept"], bd["kept_rgb"]):
        clusters[j]["rgb"] = [round(float(v), 1) for v in rgb]
    return share, {"share": round(share, 4), "spread": round(spread, 3) if np.isfinite(spread) else None,
                   "ambiguous": round(ambiguous, 4),
                   "clusters": clusters, "chosen": chosen, "reason": reason}


def should_colour_key(image, *, options: ColourKeyOptions = ColourKeyOptions()) -> tuple[bool, str, float]:
    """Whether the photo sits on a plain backdrop that :func:`colour_key` can remove.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    options : ColourKeyOptions, optional
        The rule: at least ``min_uniform_share`` of the border within ``uniform_delta_e`` of a
        backdrop cluster, those pixels' RMS Delta E at most ``max_spread``, and at most
        ``max_ambiguous`` of the border in between backdrop and subject. The defaults separate
        the tune half (odd numbers) of the alphamatting.com photos (all no) from studio
        composites of the same subjects (all yes); see bench/colorkey.py.

    Returns
    -------
    chosen : bool
    reason : str
        A sentence for the user.
    score : float
        The border uniformity, in [0, 1].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> should_colour_key(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))[0]
    False
    >>> should_colour_key(np.full((64, 64, 3), 240, np.uint8))[0]
    True
    """
    score, report = border_uniformity(image, options=options)
    return report["chosen"], report["reason"], score


def colour_key(image, *, options: ColourKeyOptions = ColourKeyOptions()) -> tuple[np.ndarray, np.ndarray, dict]:
    """Cut a subject out of a plain backdrop by its colour distance to the border colours.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
        sRGB photo, at least 8 x 8.
    options : ColourKeyOptions, optional

    Returns
    -------
    alpha : (M, N) ndarray of float32 in [0, 1]
    rgb : (M, N, 3) ndarray of uint8
        The photo with the backdrop colour taken out of semi-transparent pixels (a copy; equal
        to ``image`` where alpha is 0 or 1, or everywhere if ``decontaminate`` is off).
    report : dict
        JSON-able: the backdrop clusters, ``uniformity`` and ``chosen``/``reason`` as in
        :func:`border_uniformity`, the ramp (``lo``, ``hi``, ``otsu`` in Delta E) and the
        clean-up counts (``pieces_dropped``, ``holes_filled``).

    Examples
    --------
    >>> r, c = np.mgrid[:96, :96]
    >>> disc = (r - 48) ** 2 + (c - 48) ** 2 < 30 ** 2
    >>> image = np.where(disc[..., None], (250, 240, 230), (20, 160, 40)).astype(np.uint8)
    >>> alpha, rgb, report = colour_key(image)
    >>> alpha.dtype, bool(alpha[48, 48] == 1 and alpha[2, 2] == 0), report['chosen']
    (dtype('float32'), True, True)
    """
    image = as_rgb8(image, min_side=8)
    _check_options(options)
    return _colour_key(image, options)


def key_if_plain(image, *, force: bool = False,
                 options: ColourKeyOptions = ColourKeyOptions()) -> tuple[np.ndarray | None, bool, str]:
    """:func:`should_colour_key`, then :func:`colour_key` if it says yes (or ``force``), clustering
    the border's colours once for both.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
        sRGB photo, at least 8 x 8.
    force : bool, optional
        Key the photo even where its border is not plain.
    options : ColourKeyOptions, optional

    Returns
    -------
    alpha : (M, N) ndarray of float32 in [0, 1], or None
        :func:`colour_key`'s matte; None when the border is not plain and ``force`` is off.
    chosen, reason
        As :func:`should_colour_key`.

    Examples
    --------
    >>> alpha, chosen, _ = key_if_plain(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    >>> alpha is None, chosen
    (True, False)
    >>> alpha, chosen, _ = key_if_plain(np.full((64, 64, 3), 240, np.uint8))
    >>> alpha.shape, chosen
    ((64, 64), True)
    """
    image = as_rgb8(image, min_side=8)
    _check_options(options)
    small, k = _small(image, options.work_side)
    bd = _backdrop(small, options)
    _, report = _uniformity_report(bd, options)
    if not (report["chosen"] or force):
        return None, False, report["reason"]
    alpha, _, _ = _colour_key(image, options, (small, k, bd))
    return alpha, report["chosen"], report["reason"]


def _colour_key(image: np.ndarray, o: ColourKeyOptions, border=None):
    """The colour key; ``border`` is ``(small, k, backdrop)`` if they were computed already."""
    small, k, bd = border if border is not None else (*_small(image, o.work_side), None)
    bd = _backdrop(small, o) if bd is None else bd
    share, uni = _uniformity_report(bd, o)
    # Lookup tables: colour bin -> Delta E to the backdrop and nearest backdrop cluster.
    d_bins, _ = _nearest(_bin_lab(), bd["kept_lab"])
    small_index = _quantised_index(small)
    d_small = d_bins[small_index]
    backdrop_de = bd["border_de"][bd["border_de"] <= o.uniform_delta_e]
    lo = max(float(np.percentile(backdrop_de, o.noise_percentile)) if backdrop_de.size else 1.0, 1.0)
    top = max(float(np.percentile(d_small, 99.5)), lo + 2 * o.min_ramp)
    otsu = _otsu(d_small, top)
    hi = lo + max(o.min_ramp, o.ramp_share * max(otsu - lo, 0.0))

    lut = np.clip((d_bins - lo) * (255.0 / (hi - lo)), 0, 255)
    lut = np.rint(lut).astype(np.uint8)

    # Clean-up on the small copy.
    a_small = lut[small_index]
    mask = a_small >= 128
    labels, n = ndi.label(mask, structure=_EIGHT)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    keep_label = sizes >= max(_MIN_PIECE_PX, o.min_piece * sizes.max()) if n else np.zeros(1, bool)
    keep_label[0] = False
    kept = keep_label[labels]
    dropped = int(np.count_nonzero(sizes > 0) - np.count_nonzero(keep_label))

    holes, n_holes = ndi.label(~kept)
    hole_sizes = np.bincount(holes.ravel(), minlength=n_holes + 1)
    edge = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
    subject = max(int(kept.sum()), 1)
    hole_ok = hole_sizes <= o.max_hole * subject
    hole_ok[edge] = False
    hole_ok[0] = False
    if hole_ok.any():
        # Fill only holes with no backdrop-coloured pixel (all above the ramp start): a gap
        # between strands of hair shows the backdrop somewhere and is left to the ramp.
        ids = np.flatnonzero(hole_ok)
        least = np.array(ndi.minimum(d_small, holes, ids))
        hole_ok[ids[least <= lo]] = False
    filled = hole_ok[holes]
    solid = kept | filled
    edge = max(1, -(-_EDGE_PX // k))  # band half-width in small pixels: about _EDGE_PX full pixels
    reach = ndi.binary_dilation(solid, _EIGHT, iterations=edge)
    # The band runs from outside the outline to inside the surely opaque part (a == 1 by the
    # ramp), so it widens by itself where the subject is fuzzy.
    sure = (kept & (a_small == 255)) | filled
    inner = ndi.binary_erosion(sure, _EIGHT, iterations=edge, border_value=1)
    band = reach & ~inner
    opaque = ndi.binary_dilation(filled, _EIGHT) if filled.any() else filled
    if o.solid_interior:
        opaque = opaque | inner
    opaque &= ~band
    # Local subject and backdrop colours at the band's pixels (normalised box filter).
    band_rc = np.nonzero(band)
    backdrop_px = ~reach if not reach.all() else ~solid
    fg_rgb = _local_colour(small, inner if inner.any() else solid, band_rc)
    bg_rgb = _local_colour(small, backdrop_px, band_rc, fallback=bd["kept_rgb"][0])
    # The backdrop's pixel noise (sRGB distance to its local mean) on up to 5000 of its pixels,
    # as the full-resolution pixels see it (the small copy is subsampled, not averaged).
    out_r, out_c = np.nonzero(backdrop_px)
    if out_r.size:
        step = max(1, out_r.size // 5000)
        pts = (out_r[::step], out_c[::step])
        dev = small[pts].astype(np.float32) - _local_colour(small, backdrop_px, pts)
        noise = float(np.percentile(np.sqrt((dev * dev).sum(axis=1)), 90))
    else:
        noise = 0.0

    # Full resolution: the clean-up masks upsampled, then the band pixels one by one.
    shape = image.shape[:2]
    if o.solid_interior:
        alpha = _upsample(opaque.astype(np.float32), k, *shape)
    else:
        alpha = np.empty(shape, np.float32)
        step = k * max(1, _STRIP_ROWS // k)
        for r0 in range(0, shape[0], step):
            r1 = min(r0 + step, shape[0])
            np.divide(lut[_quantised_index(image[r0:r1])], np.float32(255), out=alpha[r0:r1])
        alpha *= _upsample(reach.astype(np.float32), k, *shape)
        alpha[_upsample(opaque, k, *shape).view(bool)] = 1.0
    rgb = image.copy()
    _refine_band(rgb, alpha, band_rc, k, fg_rgb, bg_rgb, lut, noise, o.decontaminate)
    report = {
        "uniformity": round(share, 4), "chosen": uni["chosen"], "reason": uni["reason"],
        "clusters": uni["clusters"], "spread": uni["spread"],
        "lo": round(lo, 3), "hi": round(hi, 3), "otsu": round(otsu, 3),
        "pieces_dropped": dropped, "holes_filled": int(np.count_nonzero(hole_ok)),
        "work_shape": list(small.shape[:2]),
    }
    return alpha, rgb, report


def _local_colour(small: np.ndarray, where: np.ndarray, points: tuple[np.ndarray, np.ndarray],
                  fallback=None) -> np.ndarray:
    """(P, 3) float32: mean sRGB of the pixels ``where`` in a square window around each of the
    given (rows, cols) points of the small copy (normalised box filter, from integral images).
    Points with none of those pixels in their window get the mean over all of them."""
    h = _COLOUR_WINDOW // 2
    m, n = where.shape
    r, c = points
    r0, r1 = np.maximum(r - h, 0), np.minimum(r + h + 1, m)
    c0, c1 = np.maximum(c - h, 0), np.minimum(c + h + 1, n)

    totals = []

    def box(x):
        s = np.zeros((m + 1, n + 1), np.int64)
        np.cumsum(np.cumsum(x, axis=0, dtype=np.int64), axis=1, out=s[1:, 1:])
        totals.append(s[-1, -1])
        return (s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0]).astype(np.float64)

    w = where.view(np.uint8)
    weight = box(w)
    out = np.stack([box(small[..., i] * w) for i in range(3)], axis=1)
    if totals[0] > 0:
        glob = np.array(totals[1:], np.float64) / totals[0]
    else:
        glob = np.asarray(fallback if fallback is not None else small.reshape(-1, 3).mean(axis=0), np.float64)
    weak = weight < 0.5
    out /= np.maximum(weight, 0.5)[:, None]
    out[weak] = glob
    return out.astype(np.float32)


def _block_pixels(small_rc: tuple[np.ndarray, np.ndarray], k: int, shape) -> tuple[np.ndarray, np.ndarray]:
    """Flat full-resolution indices of the k x k blocks of the given small pixels, and for each the
    position of its small pixel in ``small_rc``."""
    sr, sc = small_rc
    off = np.arange(k)
    rows = (sr[:, None, None] * k + off[None, :, None]) + np.zeros((1, 1, k), np.intp)
    cols = (sc[:, None, None] * k + off[None, None, :]) + np.zeros((1, k, 1), np.intp)
    ok = (rows < shape[0]) & (cols < shape[1])
    src = np.broadcast_to(np.arange(len(sr))[:, None, None], ok.shape)[ok]
    return rows[ok] * shape[1] + cols[ok], src


def _refine_band(rgb: np.ndarray, alpha: np.ndarray, band_rc, k: int, fg: np.ndarray,
                 bg: np.ndarray, lut: np.ndarray, noise: float, decontaminate: bool) -> None:
    """In place: alpha in the outline band from each colour's position between the local
    backdrop and subject colours, ``a = (I - B).(F - B) / |F - B|^2`` in sRGB; then the spill,
    ``F = (I - (1 - a) B) / a`` for 0 < a < 1."""
    bi, src = _block_pixels(band_rc, k, alpha.shape)
    if bi.size == 0:
        return
    flat = rgb.reshape(-1, 3)
    pix8 = np.take(flat, bi, axis=0)
    pix = pix8.astype(np.float32)
    f = np.take(fg, src, axis=0)
    b = np.take(bg, src, axis=0)
    d = f - b
    dd = np.einsum("ij,ij->i", d, d)
    a = np.einsum("ij,ij->i", pix - b, d) / np.maximum(dd, 1e-6)
    # Shrink both ends by the noise: a pixel within the noise of B (or F) is 0 (or 1).
    margin = np.minimum(noise / np.sqrt(np.maximum(dd, 1e-6)), 0.25)
    a = (a - margin) / (1 - 2 * margin)
    ramp = lut[_quantised_index(pix8)]
    weak = dd < _MIN_CONTRAST ** 2
    a[weak] = ramp[weak] / np.float32(255)
    a[ramp == 0] = 0.0  # backdrop-coloured: within the backdrop's own noise
    np.clip(a, 0.0, 1.0, out=a)
    alpha.reshape(-1)[bi] = a
    if decontaminate:
        mid = (a > 0) & (a < 1)
        am = a[mid, None]
        fm = (pix[mid] - (1 - am) * b[mid]) / am
        flat[bi[mid]] = np.clip(np.rint(fm), 0, 255).astype(np.uint8)


def _upsample(mask: np.ndarray, k: int, rows: int, cols: int) -> np.ndarray:
    """Nearest upsampling of a small mask by ``k`` to a contiguous (rows, cols) array (callers write
    through flat views); bool comes back as uint8 0/1. The small copy may be a pixel short."""
    m = mask.view(np.uint8) if mask.dtype == bool else mask
    r = np.minimum(np.arange(rows) // k, m.shape[0] - 1)
    c = np.minimum(np.arange(cols) // k, m.shape[1] - 1)
    return np.take(np.take(m, r, axis=0), c, axis=1)
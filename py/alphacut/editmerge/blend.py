"""Place the boundary of a recolour where the edit was blended in at half weight.

An editing model, or a person with a soft brush, blends its change into the photo with a weight
that fades over the region's edge: ``edited = original + w * (full - original)``, where ``full``
is the edit at full strength. The region the edit was meant to land in is where ``w >= 1/2``.

The difference alone cannot place that edge when the change varies with the colour under it:
a recolour turns a red petal far more than the green leaves between the petals, so that the
leaves there, half covered by the edit's soft edge, change as much as a petal's rim, and a
level set on the difference either bridges the gaps between the petals or cuts into the rims.

When the edit is a colour map of the original (a recolour, a relight, a tint; not a swap of
content or a texture), it can be learnt from the region's core and applied to any pixel: that
pixel's ``full`` is known, and its weight is the share of that full change it received,
measured in sRGB, where the blend happens. This module fits the map (affine in Lab, refitted on
the pixels it fully explains), checks that it explains the core, and sets the boundary at
``w = 1/2`` within reach of the region.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .._shared.colour import lab_to_srgb
from . import regions
from .regions import _EIGHT, _bbox, _fill_small_holes, _nearest_label, _touching

__all__ = ["HalfWeight", "apply_half_weight", "blend_boundary", "fit_colour_map", "half_weight"]

#: The core must hold this many pixels for a fit.
MIN_CORE = 50
#: The map is refitted on the core's pixels that received at least ``FULL_SHARE`` of the change
#: it predicts for them (``REFITS`` times): the core of a coarse outline also holds soft-edged
#: and untouched pixels (the gaps it bridged). On the last fit's such pixels, which must be at
#: least ``MIN_FULL`` of the core, the map must explain ``MIN_CHANGE_FIT`` of the change (its sum
#: of squares about none) and ``MIN_COLOUR_FIT`` of the edited colours' variance (about their
#: mean): a content swap's difference is explained by "minus the original, plus a constant", but
#: its colours are not a map of the original's; a texture's change is not a map of anything.
#: On the tune half (three seeds, at 1024 and 160 px), the swaps that passed both fits had at
#: most 0.54 of their core's pixels fully explained, the recolours a median of 0.95; ``MIN_FULL``
#: 0.6 and 0.7 gave the same cross-validated shares (BENCHMARKS.md, session 35), and 0.7 keeps
#: a wider margin from the swaps.
FULL_SHARE = 0.8
REFITS = 2
MIN_FULL = 0.7
MIN_CHANGE_FIT = 0.85
MIN_COLOUR_FIT = 0.8
#: A pixel's weight is read only where the full change would move it by at least this much
#: (sRGB, 0-1): elsewhere (black stays black under a recolour) it says nothing.
MIN_FULL_CHANGE = 0.05
#: The map is fitted on a regular subsample of about this many of the core's pixels.
FIT_SAMPLES = 4096
#: Gaussian blur of the sRGB difference before it is read, pixels: the compression's noise.
SIGMA = 0.7


def fit_colour_map(lab: np.ndarray, change: np.ndarray, *, refits: int = REFITS,
                   full_share: float = FULL_SHARE) -> tuple[np.ndarray, float, float, float] | None:
    """Fit ``change ~ [lab, 1] @ W``: the edit's Lab change as an affine map of the original's Lab.

    Parameters
    ----------
    lab, change : (K, 3) ndarrays
        The original's Lab and the edit's Lab difference at K pixels.
    refits : int
        Times the fit is repeated on the pixels that received at least ``full_share`` of the
        change the previous fit predicts for them (chosen each time among all K).
    full_share : float
        The share of the predicted change a pixel must have received to count as fully edited.

    Returns
    -------
    (W, full, change_fit, colour_fit) or None
        ``W`` (4, 3) float64; ``full``, the share of the K pixels that received at least
        ``full_share`` of the change ``W`` predicts; on those pixels, the shares of the change's
        sum of squares and of the edited colours' variance that the map explains. None with
        fewer than ``MIN_CORE`` pixels to fit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lab = rng.uniform(-40, 60, (500, 3))
    >>> turn = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)  # a* and b* rotated
    >>> change = lab @ turn - lab + (0, 5, -10)
    >>> change[:100] *= 0.3  # a fifth of the pixels got 0.3 of the edit: a soft edge
    >>> W, full, change_fit, colour_fit = fit_colour_map(lab, change)
    >>> bool(np.allclose(W[:3], turn - np.eye(3)) and change_fit > 0.99 and colour_fit > 0.99), full
    (True, 0.8)
    """
    if len(lab) < MIN_CORE:
        return None
    x = np.concatenate([lab, np.ones((len(lab), 1))], axis=1).astype(np.float64)
    y = np.asarray(change, np.float64)
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    for _ in range(refits):
        full = _full(x, y, w, full_share)
        if full.sum() < MIN_CORE:
            break
        w = np.linalg.lstsq(x[full], y[full], rcond=None)[0]
    full = _full(x, y, w, full_share)
    if not full.any():  # no change to speak of
        return w, 0.0, 0.0, 0.0
    x, y = x[full], y[full]
    residual = float(np.square(y - x @ w).sum())
    edited = x[:, :3] + y
    change_fit = 1.0 - residual / max(float(np.square(y).sum()), 1e-9)
    colour_fit = 1.0 - residual / max(float(np.square(edited - edited.mean(axis=0)).sum()), 1e-9)
    return w, float(full.mean()), change_fit, colour_fit


def _full(x, y, w, full_share):
    """The pixels whose change ``y`` is at least ``full_share`` of the map's ``x @ w`` (along it)."""
    predicted = x @ w
    share = (y * predicted).sum(axis=1) / np.maximum(np.square(predicted).sum(axis=1), 1e-9)
    return share >= full_share


@dataclass(frozen=True)
class HalfWeight:
    """Where :func:`half_weight` read the edit's weight: in ``box`` of the photo, the pixels
    ``decided`` (flat indices into the box) and whether each is at least one half (``above``),
    and the coarse regions' ``core`` there."""

    box: tuple
    core: np.ndarray
    decided: np.ndarray
    above: np.ndarray


def blend_boundary(binary: np.ndarray, mask: np.ndarray, *, lab: np.ndarray, change: np.ndarray,
                   original: np.ndarray, edit: np.ndarray, coherence: np.ndarray, width: float,
                   outer: float, incoherent: float, threshold: float, coarse: np.ndarray | None = None) -> np.ndarray:
    """Re-place the boundary of ``binary`` at half weight, in regions whose edit is a colour map.

    Parameters
    ----------
    binary : (M, N) ndarray of bool
        The regions so far (:func:`alphacut.editmerge.regions.refine_boundary`'s output).
    mask : (M, N) ndarray of bool
        The coarse regions they were refined from: their core (farther than ``width`` inside)
        is where each region's map is fitted, and a pixel belongs to the nearest of them.
    lab : (M, N, 3) ndarray of float32
        The original's Lab.
    change : (3, M, N) ndarray of float32
        The edit's Lab difference (drift undone).
    original, edit : (M, N, 3) ndarrays
        The original (uint8) and the edit (float in [0, 1], drift undone), sRGB.
    coherence : (M, N) ndarray of float32
        How much of the change survives a blur: a region whose core averages below
        ``incoherent`` is grain or a texture, not a colour map, and is left as it is.
    width, outer : float
        Pixels: the core is farther than ``width`` inside the coarse regions, and the weight
        decides everywhere in them and up to ``outer`` outside them.
    threshold : float
        The detection threshold; holes are refilled as in ``refine_boundary``.
    coarse : (M, N) ndarray of float32, optional
        The map the regions were detected on, for the holes' test.

    Returns
    -------
    (M, N) ndarray of bool
        ``binary``, with each such region's pixels set where its weight is at least one half
        (where the full change is large enough to read it), kept where they touch the part of
        the core still set, and small holes refilled.

    Examples
    --------
    A disc of many colours, its hue turned by a quarter and blended in with a soft edge over a
    grey-green background: the outline found at a low level (its soft edge included) moves in to half weight.

    >>> from alphacut._shared.colour import srgb_to_lab
    >>> r, c = np.mgrid[:80, :80]
    >>> w = np.clip((20.5 - np.hypot(r - 40, c - 40)) / 3 + 0.5, 0, 1)[..., None]
    >>> disc = np.stack([40 + 3 * c, 60 + r, 50 + c], axis=-1)  # shades of colour
    >>> original = np.where(np.hypot(r - 40, c - 40)[..., None] < 26, disc, (90, 120, 90)).astype(np.uint8)
    >>> turned = srgb_to_lab(original) @ np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], np.float32)
    >>> full = lab_to_srgb(turned) * 255  # the hue turned by a quarter
    >>> edit = ((original + w * (full - original)) / 255).astype(np.float32)
    >>> lab = srgb_to_lab(original)
    >>> change = np.moveaxis(srgb_to_lab(edit) - lab, 2, 0)
    >>> coarse = np.hypot(r - 40, c - 40) < 24
    >>> out = blend_boundary(coarse, coarse, lab=lab, change=change, original=original, edit=edit,
    ...                      coherence=np.ones((80, 80), np.float32), width=4, outer=4, incoherent=0.8,
    ...                      threshold=5.0)
    >>> half = w[..., 0] >= 0.5
    >>> int(coarse.sum()), int(half.sum()), int(out.sum()), int((out != half).sum())
    (1789, 1313, 1314, 1)
    """
    found = half_weight(mask, lab=lab, change=change, original=original, edit=edit, coherence=coherence,
                        width=width, outer=outer, incoherent=incoherent)
    return apply_half_weight(binary, found, threshold=threshold, coarse=coarse)


def half_weight(mask: np.ndarray, *, lab: np.ndarray, change: np.ndarray, original: np.ndarray, edit: np.ndarray,
                coherence: np.ndarray, width: float, outer: float, incoherent: float) -> HalfWeight | None:
    """The first half of :func:`blend_boundary` (same parameters), which does not need the
    boundary found so far: the merge runs it beside that boundary's refinement. None where no
    region's edit is a colour map."""
    if not mask.any() or width < 1:
        return None
    box = _bbox(mask, max(width, outer) + 2)
    sub = mask[box]
    core = ndi.distance_transform_edt(sub) > width
    comps, n = ndi.label(sub, structure=_EIGHT)
    in_core = np.bincount(comps[core], minlength=n + 1)
    coherent = np.bincount(comps[core], weights=coherence[box][core], minlength=n + 1) >= incoherent * np.maximum(
        in_core, 1)
    coherent &= in_core >= MIN_CORE
    coherent[0] = False
    # The box's pixels as rows, in the order of its flat indices (one copy each).
    lab = np.ascontiguousarray(lab[box]).reshape(-1, 3)
    change = np.ascontiguousarray(np.moveaxis(change[(slice(None),) + box], 0, 2)).reshape(-1, 3)
    maps = {}
    for k in np.flatnonzero(coherent):
        here = np.flatnonzero((core & (comps == k)).ravel())
        here = here[::max(1, len(here) // FIT_SAMPLES)]
        fit = fit_colour_map(lab[here], change[here])
        if fit is not None and fit[1] >= MIN_FULL and fit[2] >= MIN_CHANGE_FIT and fit[3] >= MIN_COLOUR_FIT:
            maps[k] = fit[0]
    if not maps:
        return None
    # Each pixel within ``outer`` of the coarse regions belongs to the nearest one.
    owner = _nearest_label(comps, reach=outer)
    before = original[box].astype(np.float32) * np.float32(1 / 255)
    diff = np.stack([ndi.gaussian_filter(edit[box][..., i] - before[..., i], SIGMA, mode="nearest", truncate=3.0)
                     for i in range(3)], axis=-1)
    decided, above = [], []
    for k, w in maps.items():
        zone = np.flatnonzero((owner == k).ravel())
        lab_z = lab[zone].astype(np.float64)
        # lab_z + [lab_z, 1] @ w, by columns: a product with BLAS would start its own threads,
        # which then spin against the merge's pool.
        mapped = lab_z + w[3]
        for c in range(3):
            mapped += lab_z[:, c:c + 1] * w[c]
        full = lab_to_srgb(mapped)
        full -= before.reshape(-1, 3)[zone]
        size = np.square(full).sum(axis=1)
        readable = size >= MIN_FULL_CHANGE ** 2
        weight = (diff.reshape(-1, 3)[zone] * full).sum(axis=1) / np.maximum(size, np.float32(1e-12))
        decided.append(zone[readable])
        above.append(weight[readable] >= 0.5)
    return HalfWeight(box, core, np.concatenate(decided), np.concatenate(above))


def apply_half_weight(binary: np.ndarray, found: HalfWeight | None, *, threshold: float,
                      coarse: np.ndarray | None = None) -> np.ndarray:
    """The second half of :func:`blend_boundary`: ``binary`` with ``found``'s pixels set as
    decided, kept where they touch the part of the core still set, small holes refilled."""
    if found is None:
        return binary
    box = found.box
    out = binary[box].copy()
    out.ravel()[found.decided] = found.above
    out = _touching(out, found.core & out)
    # The holes as ``refine_boundary`` fills them (its constants, read when called).
    out = _fill_small_holes(out, regions.MAX_HOLE * binary.size, None if coarse is None else coarse[box],
                            regions.HOLE_UNCHANGED * float(threshold))
    result = binary.copy()
    result[box] = out
    return result

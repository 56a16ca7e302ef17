"""Turn a colour-difference map into the region(s) an edit was meant to change.

Everything here works at one analysis resolution, and every length is a
fraction of the image diagonal and every level a statistic of the map itself,
so that the same image analysed at another resolution gives the same regions
up to resampling.

1. Threshold: a robust noise floor, ``k`` times the lower quartile of the
   difference (unlike the median, it stays a noise statistic for edits that
   cover up to three quarters of the image), never below two
   just-noticeable differences, divided by the user's sensitivity. Hysteresis grows the regions
   into connected pixels that change by at least ``LOW_RATIO`` as much.
2. Speckles smaller than a minimum area are dropped; the rest are closed
   (dilation then erosion by a disc, via distance transforms) so that the
   parts of one edited object join, and their small holes are filled. A region
   whose change is strong throughout is then held to its own level
   (``REGION_LEVEL``), and this step runs again on what is left.
3. Each connected region is scored by its mass, the sum of its differences.
   Regions that are thin everywhere (the outlines left by misregistered
   edges) or light compared with the strongest region (the drift an editing
   model adds elsewhere) are dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .texture import _blocks, _upsample

#: The noise level is this quantile of the difference map: the edit may cover up to about
#: ``1 - NOISE_QUANTILE`` of the image.
NOISE_QUANTILE = 0.25
#: Threshold: this many times the noise level.
NOISE_K = 5.0
#: Smallest threshold, in Delta E (about two just-noticeable differences).
MIN_DELTA_E = 5.0
#: Hysteresis: pixels connected to a detection that change by this fraction of the threshold join it.
LOW_RATIO = 0.7
#: After the closing, a region keeps only the pixels that change by at least ``REGION_LEVEL`` times
#: the ``REGION_QUANTILE`` of its strong pixels' change (and ``LOW_RATIO`` of the threshold): the
#: soft fringe of a strong recolour stays, the compression noise of a busy area beside it, joined
#: by the hysteresis or the closing, does not. A low quantile, so that a content swap or grain, whose change varies, keeps the common
#: level. ``REGION_LEVEL = 0`` turns this off. Chosen by two-fold cross-validation (BENCHMARKS.md).
REGION_LEVEL = 0.3
REGION_QUANTILE = 0.1
#: ... of its strong pixels in connected clusters of at least this fraction of the image (0: all
#: of them): the specks of a busy area's noise above the threshold do not lower the level.
LEVEL_CLUSTER = 2e-4
#: The regions' quantiles are taken on a regular subsample of about this many pixels.
_LEVEL_SAMPLES = 65_536
#: Components smaller than this fraction of the image area are speckles.
MIN_AREA = 2e-4
#: A region must be at least this thick somewhere (inner radius / diagonal).
MIN_THICKNESS = 0.004
#: With ``primary_only``, regions lighter than this fraction of the strongest are dropped...
PRIMARY_RATIO = 0.2
#: ... unless they are alike: a mean change at least ``ALIKE_RATIO`` of the strongest region's, over
#: at least ``ALIKE_AREA`` of the image (ten times a speckle). The same edit on a second, smaller
#: object (a far dog, a second umbrella) is as strong per pixel as on the first; the unrelated
#: touches an editing model adds elsewhere are specks, and its drift is weaker. 0 turns this off.
ALIKE_RATIO = 0.7
ALIKE_AREA = 2e-3
#: Holes smaller than this fraction of the image area are filled.
MAX_HOLE = 0.01
#: ... unless the change in them is clearly none: a median below this fraction of the threshold
#: (the gap inside a ring, between an arm and a body, when an edit covers an object). Two-fold
#: cross-validation (BENCHMARKS.md, session 29): 0.3 of 0.2, 0.3, 0.4 is best on both folds; of
#: the holes the tune pairs fill, those below it are 99 % outside the edit, those from 0.3 to
#: 0.5 of it 95 % inside (the gaps of a noisy texture's detection).
HOLE_UNCHANGED = 0.3

_EIGHT = np.ones((3, 3), bool)


@dataclass(frozen=True)
class Regions:
    """What :func:`find_regions` found.

    Attributes
    ----------
    mask : (M, N) ndarray of bool
        The kept regions, closed and hole-filled.
    threshold : float
        The Delta E threshold used.
    noise : float
        The noise level, a low quantile of the difference map.
    kept : list of dict
        Per kept region: ``id``, ``area`` (fraction of the image), ``bbox`` ([top, left, bottom,
        right] as fractions), ``mean_delta_e``.
    dropped : int
        Candidate regions dropped as drift or artefacts.
    labels : (M, N) ndarray of int32
        Every candidate region (kept or not) by its ``id``, 0 elsewhere. Ids are 1, 2, ... in
        order of decreasing mass, so they depend only on the difference map and the brushes.
    candidates : list of dict
        Per candidate region, in id order: as in ``kept``, plus ``kept`` (bool) and ``why``
        (``"kept"``, ``"included"``, ``"excluded"``, ``"small"``, ``"thin"``, ``"weak"`` or
        ``"max_regions"``).
    """

    mask: np.ndarray
    threshold: float
    noise: float
    kept: list
    dropped: int
    labels: np.ndarray = None
    candidates: list = ()


def noise_threshold(diff: np.ndarray, sensitivity: float) -> tuple[float, float]:
    """The noise level of a difference map and the threshold it gives (see the module's step 1).

    Parameters
    ----------
    diff : (M, N) ndarray of float32
        Colour difference (Delta E).
    sensitivity : float
        > 0; the threshold is divided by it.

    Returns
    -------
    noise, threshold : float

    Examples
    --------
    >>> noise_threshold(np.full((8, 8), 2.0, np.float32), 1.0)
    (2.0, 10.0)
    """
    rows, cols = diff.shape
    sample = diff[:: max(1, rows // 512), :: max(1, cols // 512)]
    noise = float(np.quantile(sample, NOISE_QUANTILE))
    return noise, max(NOISE_K * noise, MIN_DELTA_E) / float(sensitivity)


def find_regions(diff: np.ndarray, *, sensitivity: float, close_gaps: float, primary_only: bool,
                 max_regions: int, exclude: np.ndarray | None = None,
                 include: np.ndarray | None = None, level: tuple[float, float] | None = None,
                 include_ids=(), exclude_ids=()) -> Regions:
    """Find the edited region(s) in a difference map.

    Parameters
    ----------
    diff : (M, N) ndarray of float32
        Colour difference (Delta E) between original and edit, noise suppressed.
    sensitivity : float
        > 0; the threshold is divided by it.
    close_gaps : float
        Radius of the closing, as a fraction of the diagonal.
    primary_only : bool
        Drop regions much lighter than the strongest.
    max_regions : int
        Keep at most this many regions, heaviest first.
    exclude, include : (M, N) ndarray of bool, optional
        Pixels never part of a region / always part of one.
    level : (float, float), optional
        ``(noise, threshold)`` to use instead of :func:`noise_threshold` of ``diff`` (when
        ``diff`` combines maps whose noise was measured separately).
    include_ids, exclude_ids : sequence of int, optional
        Candidate ids (see :attr:`Regions.labels`) to keep whatever their score / to drop. Ids
        that no candidate has are ignored; ``exclude_ids`` wins.

    Returns
    -------
    Regions

    Examples
    --------
    >>> diff = np.zeros((64, 64), np.float32)
    >>> diff[10:40, 20:50] = 30.0
    >>> diff[60, 2] = 30.0
    >>> r = find_regions(diff, sensitivity=1.0, close_gaps=0.01, primary_only=True, max_regions=4)
    >>> int(r.mask.sum()), len(r.kept)
    (900, 1)
    """
    diff = np.asarray(diff, dtype=np.float32)
    if diff.ndim != 2:
        raise ValueError(f"diff must be (M, N), got shape {diff.shape}")
    rows, cols = diff.shape
    diag = float(np.hypot(rows, cols))
    area = rows * cols
    if exclude is not None:
        diff = np.where(exclude, np.float32(0), diff)

    # 1. Threshold from the statistics of the map.
    noise, threshold = noise_threshold(diff, sensitivity) if level is None else level
    strong = diff > threshold
    weak = diff > LOW_RATIO * threshold
    labels, n = ndi.label(weak, structure=_EIGHT)
    if n:
        has_strong = np.zeros(n + 1, bool)
        has_strong[labels[strong]] = True
        has_strong[0] = False
        detected = has_strong[labels]
    else:
        detected = strong
    if include is not None:
        detected |= include

    # 2. Drop speckles, close gaps, fill small holes.
    radius = close_gaps * diag

    def cleaned(detected):
        detected = _drop_small(detected, MIN_AREA * area)
        closed = _close(detected, radius) if radius >= 1 else detected
        return detected, _fill_small_holes(closed, MAX_HOLE * area, diff, HOLE_UNCHANGED * threshold)

    detected, closed = cleaned(detected)
    if REGION_LEVEL > 0 and detected.any():
        held = _hold_to_own_level(diff, detected, closed, strong, LOW_RATIO * threshold)
        if held is not None:
            if include is not None:
                held |= include
            if not np.array_equal(held, detected):  # else cleaned the same
                detected, closed = cleaned(held)

    # 3. Score the regions and keep the primary ones.
    labels, n = ndi.label(closed, structure=_EIGHT)
    if n == 0:
        return Regions(np.zeros_like(closed), threshold, noise, [], 0, labels, [])
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n + 1)[1:].astype(np.float64)
    # Over the detected pixels alone (the others would add 0): the same sums, a third of the time.
    mass = np.bincount(labels[detected], weights=diff[detected], minlength=n + 1)[1:]
    # Ids by decreasing mass: relabel so that label i + 1 is the i-th heaviest.
    order = np.argsort(-mass, kind="stable")
    rank = np.empty(n + 1, np.int32)
    rank[0] = 0
    rank[order + 1] = np.arange(1, n + 1, dtype=np.int32)
    labels = rank[labels]
    sizes, mass = sizes[order], mass[order]
    thick = _inner_distance(detected) >= np.float32(MIN_THICKNESS * diag)
    thick = np.bincount(labels[thick], minlength=n + 1)[1:] > 0
    forced = (np.bincount(labels[include], minlength=n + 1)[1:] > 0) if include is not None else np.zeros(n, bool)
    ids = np.arange(1, n + 1)
    forced |= np.isin(ids, np.asarray(include_ids, dtype=np.int64))
    excluded = np.isin(ids, np.asarray(exclude_ids, dtype=np.int64))
    why = np.where(sizes < MIN_AREA * area, "small", np.where(~thick, "thin", "kept")).astype(object)
    ok = why == "kept"
    if primary_only and ok.any():
        top = np.argmax(ok)  # the strongest region kept: ids go by decreasing mass
        weak = mass < PRIMARY_RATIO * mass[top]
        if ALIKE_RATIO > 0:
            mean = mass / np.maximum(sizes, 1)
            weak &= ~((mean >= ALIKE_RATIO * mean[top]) & (sizes >= ALIKE_AREA * area))
        why[ok & weak] = "weak"
        ok &= ~weak
    why[ok & (np.cumsum(ok) > max_regions)] = "max_regions"
    ok &= np.cumsum(ok) <= max_regions
    why[forced & ~ok] = "included"
    ok |= forced
    why[excluded] = "excluded"
    ok &= ~excluded
    keep = np.concatenate([[False], ok])
    mask = keep[labels]
    slices = ndi.find_objects(labels)
    candidates = []
    for i in range(n):
        sl = slices[i]
        candidates.append({
            "id": i + 1,
            "kept": bool(ok[i]),
            "why": str(why[i]),
            "area": round(float(sizes[i]) / area, 5),
            "bbox": [round(sl[0].start / rows, 4), round(sl[1].start / cols, 4),
                     round(sl[0].stop / rows, 4), round(sl[1].stop / cols, 4)],
            "mean_delta_e": round(float(mass[i] / max(sizes[i], 1)), 2),
        })
    kept = [{k: c[k] for k in ("id", "area", "bbox", "mean_delta_e")} for c in candidates if c["kept"]]
    return Regions(mask, float(threshold), noise, kept, int(n - len(kept)), labels, candidates)


def refine_boundary(mask: np.ndarray, fine: np.ndarray, *, threshold: float, width: float,
                    outer: float | None = None, floor: float | None = None, local: float = 0.0,
                    steady: float = 0.0, large: float = 0.0, coherence: np.ndarray | None = None,
                    incoherent: float = 1.0, coarse: np.ndarray | None = None, smooth: float = 0.0) -> np.ndarray:
    """Move the boundary of coarse regions to where a sharper difference map crosses half height.

    Detection runs on a blurred map, so its regions overshoot the edit by about the blur. In a
    band of ``width`` pixels either side of the boundary, a pixel is kept when the sharper map
    ``fine`` exceeds half the typical difference inside the regions (and at least ``floor``
    inside them, ``threshold`` outside).

    Parameters
    ----------
    mask : (M, N) ndarray of bool
        Coarse regions.
    fine : (M, N) ndarray of float32
        Lightly blurred Delta E.
    threshold : float
        Lowest level that can count as changed.
    width : float
        Width of the band inside the regions, pixels.
    outer : float, optional
        Width of the band outside them (default ``width``): how far the boundary may move out.
    floor : float, optional
        Lowest level a pixel of the band inside the coarse regions is kept at (default
        ``threshold``): the level they were grown to, so that a weak edit's soft edge is not cut
        back to the threshold. Outside them a pixel must still clear ``threshold``: the boundary
        moves out only on a change that counts by itself.
    local : float, optional
        When > 0, the typical difference is that of the core nearby (a Gaussian-weighted mean,
        sigma ``local * width``) instead of the whole regions' median, so that the boundary of a
        region whose change varies along it (a recolour over grey and colourful parts) is placed
        at half of its own side's change.
    steady : float, optional
        A region (connected part of ``mask``) of at least ``large`` of the image whose core is
        above the level on less than this share of its pixels keeps its coarse outline (the
        boundary may still grow out): a spiky ``fine`` map there cannot place it. 0 turns this off.
    large : float, optional
        See ``steady``: the smallest such region, as a fraction of the image's pixels.
    coherence : (M, N) ndarray of float32, optional
        How much of the change survives a blur (1 for a change of the mean colour, low for grain);
        if given, only regions whose core averages below ``incoherent`` keep their outline by the
        ``steady`` rule (a recolour of a patterned area is spiky too, but coherent).
    incoherent : float, optional
        See ``coherence``.
    coarse : (M, N) ndarray of float32, optional
        The smooth map the regions were detected on. If given, a region that keeps its outline by
        the ``steady`` rule also grows out, within the band, to where ``coarse`` is above half way
        between its core's median and the median around the band: the edge of grain or a noisy
        texture fades over the edit's soft edge, and the outline found at the hysteresis level
        stops short of its middle.
    smooth : float, optional
        Gaussian scale, pixels. If > 0 and ``coherence`` is given, the boundary of each region
        whose core's coherence averages below ``incoherent`` is smoothed at this scale (the mask
        blurred and cut at one half, within the band): the change there is grain or a texture,
        whose local statistics place the boundary only to within their window, so its wiggles
        at a smaller scale are noise.

    Returns
    -------
    (M, N) ndarray of bool

    Examples
    --------
    >>> fine = np.zeros((20, 20), np.float32)
    >>> fine[5:15, 5:15] = 40
    >>> coarse = np.zeros((20, 20), bool)
    >>> coarse[3:17, 3:17] = True
    >>> int(refine_boundary(coarse, fine, threshold=5.0, width=3).sum())
    100
    """
    if not mask.any() or width < 1:
        return mask
    # Everything below happens within ``width`` of the regions: work on their bounding box, grown
    # so that its outer ring is background (the distances and components are then the same).
    box = _bbox(mask, width + 2)
    sub, fine = mask[box], fine[box]
    inner = ndi.distance_transform_edt(sub)
    core = inner > width
    half = 0.5 * float(np.median(fine[core] if core.any() else fine[sub]))
    level = max(float(threshold), half)
    floor = float(threshold) if floor is None else float(floor)
    near = ndi.distance_transform_edt(~sub) <= (width if outer is None else outer)
    band = near & ~core
    if local > 0 and core.any():
        half_here = np.float32(0.5) * _local_mean(fine, core, local * width, 2 * half)
    else:
        half_here = np.float32(half)
    # Inside the coarse regions a pixel stays down to the floor; outside, it must clear the threshold.
    band_level = np.maximum(half_here, np.where(sub, np.float32(floor), np.float32(threshold)))
    out = core | (band & (fine > band_level))
    comps, n_comps = ndi.label(sub, structure=_EIGHT)
    in_core = np.bincount(comps[core], minlength=n_comps + 1)
    if coherence is not None:
        c = coherence[box]
        incoherent_comps = np.bincount(comps[core], weights=c[core], minlength=n_comps + 1) < (
            incoherent * np.maximum(in_core, 1))
        incoherent_comps &= in_core > 0
        incoherent_comps[0] = False
    else:
        incoherent_comps = np.ones(n_comps + 1, bool)
    if steady > 0:
        # A region whose core is mostly below the level (grain, a noisy texture: the sharper map
        # is spiky there) cannot place its boundary by it: its coarse outline stays.
        area = np.bincount(comps.ravel(), minlength=n_comps + 1)
        held = np.bincount(comps[core & (fine > level)], minlength=n_comps + 1)
        unsteady = (area >= large * mask.size) & (in_core > 0) & (held < steady * np.maximum(in_core, 1))
        unsteady &= incoherent_comps
        unsteady[0] = False
        out |= unsteady[comps]
    owner = None  # each pixel's nearest region, when needed
    if steady > 0 and coarse is not None and unsteady.any():
        owner = _nearest_label(comps)
        out |= _grow_spiky(coarse[box], comps, owner, unsteady, core, band & ~sub, ~near)
    if smooth > 0 and coherence is not None and incoherent_comps.any():
        # Grain or a texture: the boundary's wiggles below the statistics' window are noise.
        owner = _nearest_label(comps) if owner is None else owner
        owned = band & incoherent_comps[owner]
        smoothed = ndi.gaussian_filter(out.astype(np.float32), smooth, mode="nearest", truncate=3.0) > 0.5
        out = np.where(owned, smoothed, out)
    # Keep only what touches the coarse regions' core, and refill the small holes.
    out = _touching(out, core)
    full = np.zeros_like(mask)
    full[box] = out
    return _fill_small_holes(full, MAX_HOLE * mask.size, coarse, HOLE_UNCHANGED * float(threshold))


def grain_boundary(mask: np.ndarray, original: np.ndarray, edit: np.ndarray, coherence: np.ndarray, *,
                   width: float, incoherent: float, sigma: float, level: float, fine: float,
                   compressed: np.ndarray | None = None) -> np.ndarray:
    """Place the boundary of fine-grain regions where the grain's local energy fades to ``level``.

    Grain added over an area (a noise filter, film grain) cancels under the blur the regions
    were detected and refined with, so their outline is only placed to within that blur: it
    overshoots a soft edge by a pixel or two and bridges the gaps between an object's limbs.
    The grain's own energy places it better. An edit blended in with a weight ``w`` leaves
    ``w**2`` of its energy, so the half-weight edge (where the mask should end) is where the
    local energy is a quarter of the way from its surroundings' to its core's. The energy is
    that of the difference in the photo's own RGB values, where such grain is usually added:
    in Lab, the same grain is stronger over dark pixels than over bright ones, which would
    move the edge towards the dark side.

    Only regions (connected parts of ``mask``) that are grain are re-placed: their core
    (farther than ``width`` from the boundary; at least ``MIN_AREA`` of the image, so that its
    medians mean something) has a mean ``coherence`` below ``incoherent``,
    and at least ``fine`` of its difference's energy is above the scale of a 1 px Gaussian
    (a coarse noisy texture's blotches are not, nor is a pattern of stripes; their outline stays).
    Within ``width`` of the boundary, a pixel of such a region is kept where the energy (the
    squared difference blurred at ``sigma`` pixels) is above its surroundings' median (between
    ``width`` and ``3 * width`` outside) plus ``level`` of the way to its core's median.

    Where the compression model cleaned ``edit`` (``compressed`` is the edit as it came), the
    energy is the lower of the cleaned edit's and ``|compressed - original|**2 -
    |compressed - edit|**2``: the difference as it came, less the model's compression error,
    pixel by pixel. The cleaned edit's own difference cancels the untouched part's compression
    noise only in the blocks the grain did not reach, so its energy has that noise back in every
    block the soft edge touches, and the edge moves out; the other has an excess of its own where
    the grain raises the file's compression error (a busy texture), and each is the lower where
    the other has its excess.

    Parameters
    ----------
    mask : (M, N) ndarray of bool
    original, edit : (M, N, 3) ndarrays of uint8, or of float in [0, 1]
        The two photos at the analysis size, the edit aligned and colour-matched.
    coherence : (M, N) ndarray of float32
        How much of the change survives a blur (:func:`alphacut.editmerge.merge._blurred_change`).
    width : float
        Width of the band either side of the boundary, pixels.
    incoherent, fine : float
        See above.
    sigma : float
        Blur of the energy, pixels.
    level : float
        In (0, 1); 0.25 for the half-weight edge.
    compressed : (M, N, 3) ndarray of float in [0, 1], optional
        The edit before the compression model cleaned it, aligned and colour-matched like ``edit``.

    Returns
    -------
    (M, N) ndarray of bool

    Examples
    --------
    Grain whose weight rises from 0 at column 20 to 1 at column 36, and a mask that overshoots to
    column 22: the boundary moves to the half-weight edge, column 28.

    >>> rng = np.random.default_rng(0)
    >>> original = np.full((60, 80, 3), 0.5, np.float32)
    >>> weight = np.clip((np.arange(80) - 20) / 16, 0, 1)
    >>> edit = original + 0.05 * rng.standard_normal((60, 80, 1)) * weight[:, None]
    >>> mask = np.zeros((60, 80), bool)
    >>> mask[:, 22:] = True
    >>> coherence = np.full((60, 80), 0.2, np.float32)
    >>> out = grain_boundary(mask, original, edit, coherence, width=10, incoherent=0.8, sigma=1.5,
    ...                      level=0.25, fine=0.5)
    >>> int(np.median(np.argmax(out, axis=1)))
    28
    """
    box = _bbox(mask, 3 * width + 3 * sigma + 2)
    if box is None:
        return mask
    sub = mask[box]
    comps, n = ndi.label(sub, structure=_EIGHT)
    inner = ndi.distance_transform_edt(sub)
    core = inner > width
    c = coherence[box]
    in_core = np.bincount(comps[core], minlength=n + 1)
    grain = (in_core >= MIN_AREA * mask.size) & (
        np.bincount(comps[core], weights=c[core], minlength=n + 1) < incoherent * np.maximum(in_core, 1))
    grain[0] = False
    if not grain.any():
        return mask
    # The share of each core's energy above a 1 px blur's scale.
    energy, high = _energy_and_above(original, edit, box, 1)
    ids = np.where(core, comps, 0)
    grain &= _sums(high, ids, n) >= fine * np.maximum(_sums(energy, ids, n), 1e-12)
    if not grain.any():
        return mask
    if compressed is not None:
        raw = _unit(compressed[box])
        np.minimum(energy, np.square(raw - _unit(original[box])).sum(axis=-1)
                   - np.square(raw - _unit(edit[box])).sum(axis=-1), out=energy)
    energy = ndi.gaussian_filter(energy, sigma, mode="nearest")
    outer, owner, outside = _surroundings(energy, sub, comps, n, width, np.flatnonzero(grain))
    cut = np.full(n + 1, np.inf, np.float32)
    for i in np.flatnonzero(grain):
        inside = float(np.median(energy[core & (comps == i)]))
        if inside > outside[i]:
            cut[i] = outside[i] + level * (inside - outside[i])
    band = np.where(sub, inner <= width, outer <= width) & np.isfinite(cut)[owner]
    out = np.where(band, energy > cut[owner], sub)
    smoothed = ndi.gaussian_filter(out.astype(np.float32), 1.0) > 0.5
    out = np.where(band, smoothed, out)
    # Keep only what touches a core, and refill the small holes the cut opened inside the mask
    # (those mostly outside it before, such as a ring's unchanged hole, stay).
    out = _touching(out, core)
    full = mask.copy()
    full[box] = out
    return _fill_small_holes(full, MAX_HOLE * mask.size, mask.astype(np.float32), 0.5)


def grow_grain(mask: np.ndarray, original: np.ndarray, edit: np.ndarray, coherence: np.ndarray, *,
               width: float, sigma: float, ratio: float, level: float, reach: float, coherent: float,
               coarse: float, thin: float) -> np.ndarray:
    """Grow the regions of a coarse noisy texture over the rest of the area its grain changed.

    A coarse grain (blotches a few pixels across) is found only in pieces: where its random field
    is weak, the change it makes fades under the blur the regions are detected with, and a body,
    a leg or half of a small dog is left out. Its energy (the squared difference in the photo's
    RGB values, blurred at ``sigma`` pixels) is high over all of the area it changed, and low
    around it, where only the drift and the compression noise are.

    A region is such a texture when its mean ``coherence`` is below ``coherent`` and at least
    ``coarse`` of its difference's energy is above the scale of a 3 px Gaussian: a recolour's or
    a relight's change follows the photo, and is mostly smooth, so its energy would only widen its
    soft edge. It must also have a core (farther than ``width`` from its boundary) of at least
    ``MIN_AREA`` of the image: a speck (a JPEG block that flipped in a copy with no edit) has the
    energy of grain too, and grew twentyfold without this. It then grows over the pixels connected to it, within ``reach`` of the mask, whose
    energy is above its surroundings' median (between ``width`` and ``3 * width`` outside the mask)
    plus ``level`` of the way to its own median, when its own is at least ``ratio`` times its
    surroundings'. Growth thinner than a disc of radius ``thin`` (a soft edge's rim) is not added.
    The mask is never made smaller.

    Parameters
    ----------
    mask, original, edit, coherence : ndarray
        As for :func:`grain_boundary`.
    width, reach, thin : float
        Pixels.
    sigma : float
        Blur of the energy, pixels.
    ratio, level, coherent, coarse : float
        See above.

    Returns
    -------
    (M, N) ndarray of bool

    Examples
    --------
    Blotches over a square, found only in its left half: the mask grows over the rest.

    >>> rng = np.random.default_rng(1)
    >>> original = np.full((80, 80, 3), 0.5, np.float32)
    >>> field = ndi.gaussian_filter(rng.standard_normal((80, 80)), 2.0)
    >>> edit = original.copy()
    >>> edit[20:60, 20:60] += 1.5 * field[20:60, 20:60, None]
    >>> mask = np.zeros((80, 80), bool)
    >>> mask[20:60, 20:40] = True
    >>> coherence = np.full((80, 80), 0.7, np.float32)
    >>> out = grow_grain(mask, original, edit, coherence, width=4, sigma=2, ratio=8, level=0.3, reach=30,
    ...                  coherent=0.95, coarse=0.06, thin=2)
    >>> int(mask[20:60, 20:60].sum()), int(out[20:60, 20:60].sum()), int(out.sum() - out[20:60, 20:60].sum())
    (800, 1390, 40)

    A recolour of the same square (a smooth change) is left as it was:

    >>> edit = original.copy()
    >>> edit[20:60, 20:60, 0] += 0.3
    >>> bool((grow_grain(mask, original, edit, coherence, width=4, sigma=2, ratio=8, level=0.3, reach=30,
    ...                  coherent=0.95, coarse=0.06, thin=2) == mask).all())
    True
    """
    box = _bbox(mask, reach + 3 * width + 3 * sigma + 2)
    if box is None:
        return mask
    sub = mask[box]
    comps, n = ndi.label(sub, structure=_EIGHT)
    # The cheap tests first: most edits are coherent and stop here.
    area = np.bincount(comps.ravel(), minlength=n + 1)
    texture = _sums(coherence[box], comps, n) < coherent * area
    texture[0] = False
    if texture.any():
        core = np.bincount(comps[ndi.distance_transform_edt(sub) > width], minlength=n + 1)
        texture &= core >= MIN_AREA * mask.size
    if not texture.any():
        return mask
    raw, high = _energy_and_above(original, edit, box, 3)
    texture &= _sums(high, comps, n) >= coarse * np.maximum(_sums(raw, comps, n), 1e-12)
    if not texture.any():
        return mask
    energy = ndi.gaussian_filter(raw, sigma, mode="nearest")
    outer, owner, outside = _surroundings(energy, sub, comps, n, width, np.flatnonzero(texture))
    near = outer <= reach
    add = np.zeros_like(sub)
    for i in np.flatnonzero(texture):
        own = comps == i
        inside = float(np.median(energy[own]))
        if inside <= ratio * max(outside[i], 1e-12):
            continue
        allowed = own | ((energy > outside[i] + level * (inside - outside[i])) & near & (owner == i))
        add |= ndi.binary_propagation(own, mask=allowed) & ~sub
    if thin > 0 and add.any():
        r = int(np.ceil(thin))
        rows, cols = np.ogrid[-r:r + 1, -r:r + 1]
        add = ndi.binary_propagation(ndi.binary_erosion(add, structure=rows * rows + cols * cols <= thin * thin),
                                     mask=add)
    if not add.any():
        return mask
    out = mask.copy()
    out[box] |= add
    return out


def _energy_and_above(original, edit, box, scale):
    """Per pixel of ``box``: the squared difference of the two photos' RGB values (summed over
    the channels), and the part of it above the scale of a ``scale`` px Gaussian."""
    diff = _unit(edit[box]) - _unit(original[box])
    high = diff - ndi.gaussian_filter(diff, (scale, scale, 0), mode="nearest")
    return np.square(diff).sum(axis=-1), np.square(high).sum(axis=-1)


def _sums(values, labels, n):
    """Sum of ``values`` per label 0..n."""
    return np.bincount(labels.ravel(), weights=values.ravel(), minlength=n + 1)


def _surroundings(energy, sub, comps, n, width, ids):
    """Each pixel's distance outside ``sub`` and the label of its nearest region (``comps``, ``n``
    of them), and for each region in ``ids`` the median ``energy`` of its surroundings: the pixels
    between ``width`` and ``3 * width`` outside ``sub`` that are nearest to it (0 where none are)."""
    outer = ndi.distance_transform_edt(~sub)
    owner = _nearest_label(comps) if n > 1 else np.ones_like(comps)  # one region: everyone's nearest
    ring = (outer > width) & (outer <= 3 * width)
    outside = [0.0] * (n + 1)  # Python floats: a threshold compared with float32 energy stays float32
    for i in ids:
        around = ring & (owner == i)
        outside[i] = float(np.median(energy[around])) if around.any() else 0.0
    return outer, owner, outside


def _touching(mask: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The connected parts (8-connected) of ``mask`` that touch ``core``; ``mask`` as it is when
    it is in one part or ``core`` is empty."""
    labels, n = ndi.label(mask, structure=_EIGHT)
    if n <= 1 or not core.any():
        return mask
    touching = np.zeros(n + 1, bool)
    touching[labels[core]] = True
    touching[0] = False
    return touching[labels]


def _unit(image: np.ndarray) -> np.ndarray:
    """``image`` as float32 in [0, 1]: uint8 divided by 255, a float image as it is."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) * np.float32(1 / 255)
    return image.astype(np.float32, copy=False)


def _local_mean(values, where, sigma, default):
    """Gaussian-weighted mean of ``values`` over the pixels ``where``, near each pixel (``default``
    far from all of them). Smooth at this scale, so it is computed on k x k block sums (k about
    sigma / 4) and brought back up: a few ms instead of about 90 for two full blurs at 1024 px."""
    k = max(1, int(sigma // 4))
    num = _blocks(np.where(where, values, 0).astype(np.float32), k)
    den = _blocks(where.astype(np.float32), k)
    num = ndi.gaussian_filter(num, sigma / k, mode="nearest")
    den = ndi.gaussian_filter(den, sigma / k, mode="nearest")
    mean = np.where(den > 1e-3, num / np.maximum(den, np.float32(1e-6)), np.float32(default))
    return _upsample(mean.astype(np.float32), k, values.shape)


def _nearest_label(labels, reach: float | None = None):
    """Per pixel, the label of the nearest labelled pixel (its own where it has one); with
    ``reach``, 0 where that pixel is farther than ``reach``."""
    distance, (rows, cols) = ndi.distance_transform_edt(labels == 0, return_indices=True)
    nearest = labels[rows, cols]
    return nearest if reach is None else np.where(distance <= reach, nearest, 0)


def _grow_spiky(coarse, comps, owner, spiky, core, outside_band, around):
    """The pixels of ``outside_band`` (the band outside the regions) where ``coarse`` is above half
    way between the core median of the ``spiky`` component nearest to them (``owner``: the
    nearest component's label) and the median of ``around`` (the pixels beyond the band)."""
    outside = float(np.median(coarse[around])) if around.any() else 0.0
    inside = np.zeros(len(spiky), np.float32)
    ids = np.flatnonzero(spiky)
    inside[ids] = ndi.median(coarse, np.where(core, comps, 0), ids)
    return outside_band & spiky[owner] & (coarse > np.float32(0.5) * (inside[owner] + np.float32(outside)))


def _hold_to_own_level(diff, detected, closed, strong, low):
    """Each closed region at its own level, or None where no region's level is above ``low``.

    For each connected part of ``closed``: its level is ``REGION_LEVEL`` times the
    ``REGION_QUANTILE`` of the change of its ``strong`` pixels in clusters of at least
    ``LEVEL_CLUSTER`` of the image (taken on a regular subsample of about ``_LEVEL_SAMPLES``
    pixels). Where that is above ``low``, its detected pixels at or below the level leave, and
    what is left must reach one of the pixels the level came from. The closing runs before, so
    that the specks of a busy area's noise that it joins to a strong region are held too.
    """
    # Everything happens inside the regions: work on their bounding box.
    shape, size = diff.shape, diff.size
    box = _bbox(closed, 1)
    diff, detected, closed, strong = diff[box], detected[box], closed[box], strong[box]
    labels, n = ndi.label(closed, structure=_EIGHT)
    core = strong & detected
    if LEVEL_CLUSTER > 0:
        clusters, m = ndi.label(core, structure=_EIGHT)
        big = np.bincount(clusters.ravel(), minlength=m + 1) >= LEVEL_CLUSTER * size
        big[0] = False
        core = big[clusters]
    step = max(1, int(np.sqrt(size / _LEVEL_SAMPLES)))
    sample = core[::step, ::step]
    ids = labels[::step, ::step][sample]
    vals = diff[::step, ::step][sample]
    if vals.size == 0:
        return None
    order = np.lexsort((vals, ids))
    counts = np.bincount(ids, minlength=n + 1)
    starts = np.cumsum(counts) - counts
    pick = np.minimum(starts + np.floor(REGION_QUANTILE * np.maximum(counts - 1, 0)).astype(np.int64), vals.size - 1)
    level = np.where(counts > 0, np.float32(REGION_LEVEL) * vals[order][pick], np.float32(0)).astype(np.float32)
    raised = level > low
    raised[0] = False
    if not raised.any():
        return None
    in_raised = raised[labels]
    kept = detected & ~(in_raised & (diff <= level[labels]))
    seeds = np.where(in_raised, core, strong)
    seeds &= kept
    sub, k = ndi.label(kept, structure=_EIGHT)
    seeded = np.zeros(k + 1, bool)
    seeded[sub[seeds]] = True
    seeded[0] = False
    out = np.zeros(shape, bool)
    out[box] = seeded[sub]
    return out


def _bbox(mask: np.ndarray, margin: float):
    """Slices of the bounding box of ``mask`` grown by ``margin`` pixels and clipped, or None if empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    m = int(np.ceil(margin))
    return slice(max(0, rows[0] - m), rows[-1] + m + 1), slice(max(0, cols[0] - m), cols[-1] + m + 1)


def _inner_distance(mask: np.ndarray) -> np.ndarray:
    """``distance_transform_edt(mask)`` as float32, computed on the bounding box of ``mask``."""
    out = np.zeros(mask.shape, np.float32)
    box = _bbox(mask, 1)
    if box is not None:
        out[box] = ndi.distance_transform_edt(mask[box])
    return out


def _drop_small(mask: np.ndarray, min_size: float) -> np.ndarray:
    """``mask`` without its 8-connected components of fewer than ``min_size`` pixels (computed on
    its bounding box)."""
    box = _bbox(mask, 1)
    if box is None:
        return mask
    labels, n = ndi.label(mask[box], structure=_EIGHT)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    big = sizes >= min_size
    big[0] = False
    out = np.zeros_like(mask)
    out[box] = big[labels]
    return out


def _close(mask: np.ndarray, radius: float) -> np.ndarray:
    """Binary closing by a disc of ``radius`` pixels, using exact distance transforms.

    Computed on the bounding box of ``mask`` grown by more than ``radius``, where the answer is
    the same as on the whole image.
    """
    box = _bbox(mask, radius + 2)
    if box is None:
        return mask
    # Pad so that the erosion does not eat regions that touch the border.
    pad = int(np.ceil(radius)) + 1
    padded = np.pad(mask[box], pad, mode="edge")
    grown = ndi.distance_transform_edt(~padded) <= radius
    closed = ndi.distance_transform_edt(grown) > radius
    out = mask.copy()
    out[box] |= closed[pad:-pad, pad:-pad]
    return out


def _closure(mask: np.ndarray, radius: float) -> np.ndarray:
    """``mask`` closed by a disc of ``radius`` pixels (:func:`_close`) with its holes filled; the
    fill runs on the closed mask's bounding box, where it is the whole image's."""
    closed = _close(mask, radius)
    box = _bbox(closed, 1)
    if box is None:
        return closed
    closed = closed.copy() if closed is mask else closed
    closed[box] = ndi.binary_fill_holes(closed[box])
    return closed


def _fill_small_holes(mask: np.ndarray, max_size: float, values: np.ndarray | None = None,
                      below: float = 0.0) -> np.ndarray:
    """Fill the holes (background not 4-connected to the border) of at most ``max_size`` pixels,
    except those where the median of ``values`` (if given) is below ``below``."""
    box = _bbox(mask, 1)
    if box is None:
        return mask
    labels, n = ndi.label(~mask[box])
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    small = sizes <= max_size
    small[0] = False
    small[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False  # open to the border
    if values is not None and below > 0 and small.any():
        ids = np.flatnonzero(small)
        inside = small[labels]  # the median sorts what it is given: only the holes' pixels
        small[ids[np.asarray(ndi.median(values[box][inside], labels[inside], ids)) < below]] = False
    if not small.any():
        return mask
    out = mask.copy()
    out[box] |= small[labels]
    return out

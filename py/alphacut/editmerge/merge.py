"""Edit merge: keep an AI edit only where it was meant to land.

An image-editing model asked to change one thing also changes a little of
everything else: a global shift, a colour drift, small props, compression
blocks. :func:`merge_edit` finds the region(s) the edit was about and pastes
only those onto the original, with a soft edge that follows the original's
own edges.

Steps, all on numpy arrays, float32 throughout:

1. Bring the edit to the original's size (the report warns when it had to).
   If it was not resized, predict its JPEG compression and take it out of the
   copy of the edit that is analysed (:mod:`alphacut.editmerge.compression`),
   then downscale both to an analysis size. (If step 2 finds the edit shifted,
   the model, which predicts a JPEG on the original's grid, is dropped.)
2. Undo a small global shift (phase correlation, :mod:`alphacut.editmerge.align`)
   and a global colour drift (a per-channel gain and offset fitted on the
   pixels that did not change).
3. Difference in CIELAB (Delta E, :mod:`alphacut._shared.colour`) after a light
   blur that hides compression noise; and a texture change, the local spread of
   the lightness difference in units of the compression noise of equally detailed parts
   of the photo (:mod:`alphacut.editmerge.texture`), for edits that change grain
   or fine detail but not the mean colour; and a change of the local structure (SSIM's
   contrast-structure term), which compression keeps and grain, new texture,
   smoothing or other content do not. They count only away from strong changes of
   the mean colour, whose own edges and structure would read as texture. A photo
   larger than the analysis size also gives the texture change what the downscale
   averaged away: the variance of the full-size difference within each analysis
   pixel (grain one pixel fine on a 12 MP photo is otherwise invisible).
4. Threshold and isolate the region(s) (:mod:`alphacut.editmerge.regions`). Every
   candidate region gets an id (by decreasing mass) and the report says why it was
   kept or dropped; ``include_regions`` / ``exclude_regions`` override the rule.
   Their boundary is then placed on a sharper map, at half the change of the
   region's core nearby; where a region's edit is a colour map of the original
   (a recolour), at half the weight it was blended in with
   (:mod:`alphacut.editmerge.blend`).
5. Feather with a guided filter on the original, which also brings the mask to
   the output resolution along the original's edges
   (:mod:`alphacut.editmerge.feather`).
6. Apply the user's protect and force brushes exactly, then composite
   ``original * (1 - m) + edited * m``.

Every length is a fraction of the image diagonal and every level a statistic
of the image, and the regions are decided at the analysis size whatever the
output size; so a preview (``preview_max_side``) shows the same mask as the
full-resolution merge, up to resampling. A preview touches the full-size
inputs only to downscale them and to measure what that downscale averages away.

Full-size work is confined to where the edit lands: the feather computes only
the tiles that the mask's soft edge reaches, and the composite (with the
edit's shift and colour correction) only the tiles where the mask is not 0.

In CPython, steps that do not depend on each other run side by side on a
second thread (:func:`alphacut._shared.threads.executor`): the two photos'
downscales, the original's Lab beside alignment and the colour fit, the
texture and structure changes beside the colour difference, the feather's rows
of tiles. In Pyodide, which has no threads, they run one after the other; the
results are the same.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .._shared.checks import as_rgb8
from .._shared.colour import srgb_to_lab
from .._shared.runs import true_runs
from .._shared.resample import downsample
from .._shared.threads import executor
from .._shared.timing import Clock
from ..options import OptionsBase, flag, ids, integer, number
from .align import phase_correlate, shift_subpixel
from .blend import apply_half_weight, half_weight
from .compression import _drifted, undo_compression
from .feather import TILE, feather_tiles, fill_inlets, snap_boundary
from .regions import (LOW_RATIO, _bbox, _closure, _nearest_label, find_regions, grain_boundary, grow_grain,
                      noise_threshold, refine_boundary)
from .texture import (_block_factor, _blocks, _repeat_up, _upsample, detail_blocks, detail_within, noise_by_detail,
                      noise_levels, structure_change, texture_change, wide_texture_change)

__all__ = ["MergeOptions", "MergeResult", "merge_edit", "merge_edit_bytes", "merge_edit_labels_bytes"]

#: Blur of the Lab difference for detection, sigma as a fraction of the diagonal: it hides JPEG
#: blocks, resampling and the edges that a slight blur or misregistration makes differ.
_BLUR = 0.003
#: Lighter blur of the Lab difference for placing the boundary.
_FINE_BLUR = 0.0008
#: The boundary is placed (at half height of the sharper map) up to at least this fraction of
#: the diagonal inside the detected regions' edge (a strong change's soft fringe is detected well
#: outside the half-height line), and up to twice the detection blur outside it.
_BAND = 0.01
#: Guided-filter regularisation, in squared [0, 1] guide units: edges with a local contrast above
#: about sqrt(eps) stop the feather.
_FEATHER_EPS = 1e-3
#: Texture change (:mod:`alphacut.editmerge.texture`): its local statistics run at this scale
#: (sigma, fraction of the diagonal), and it counts as much as a colour change at the threshold
#: where its spread is both ``_TEXTURE_RATIO`` times the noise at that level of detail and at
#: least ``_TEXTURE_MIN`` Delta E.
_TEXTURE_BLUR = 0.004
_TEXTURE_RATIO = 4.0
_TEXTURE_MIN = 3.0
#: ... of the lightness alone (1; 3: all three Lab planes, the method before session 19): chroma
#: subsampling leaves chroma errors along strong colour edges that the original's lightness detail,
#: by which the noise is modelled, does not predict, and they read as a texture change.
_TEXTURE_PLANES = 1
#: ... and, for the lightness alone, averaged over a wider window (Gaussian, ``_WIDE_REGION`` of
#: the diagonal; 0 turns it off), where it is steadily ``_WIDE_RATIO`` times the noise and at least
#: ``_WIDE_MIN`` Delta E (:func:`alphacut.editmerge.texture.wide_texture_change`; each pixel's
#: ratio capped at ``_WIDE_CAP``): grain over a busy area is never far above the compression noise
#: there, but it is above it everywhere in the region, and the untouched pixels' ratio averages
#: about 1.
_WIDE_REGION = 0.005
_WIDE_RATIO = 2.0
_WIDE_MIN = 4.0
_WIDE_CAP = 3.0
#: Structure change (:func:`alphacut.editmerge.texture.structure_change`, one minus SSIM's
#: contrast-structure term of the lightness, in windows of ``_STRUCT_BLUR`` of the diagonal; detail
#: weaker than ``_STRUCT_CONTRAST`` L* does not count) counts as much as a colour change at the
#: threshold where it is both ``_STRUCT_LEVEL`` and ``_STRUCT_RATIO`` times its ``_STRUCT_QUANTILE``
#: among pixels with as much detail in the original (at least ``_STRUCT_FLOOR``): busy photos lose
#: some structure to compression everywhere.
_STRUCT_BLUR = 0.004
_STRUCT_CONTRAST = 6.0
_STRUCT_LEVEL = 0.2
_STRUCT_RATIO = 3.0
_STRUCT_QUANTILE = 0.5
_STRUCT_FLOOR = 0.02
#: ... and only farther than this (fraction of the diagonal) from a change of the mean colour of
#: at least ``_CLEAR_LEVEL`` times the threshold (a recolour or a swap, whose edge and inner
#: structure the spread would read as texture). A weaker change of the mean, such as a noisy
#: texture's clipped or tinted parts, keeps its texture evidence (with 1, those parts cleared
#: the texture around them); the wide texture is still set aside near any change above the
#: threshold. Chosen by two-fold cross-validation (BENCHMARKS.md, session 20).
_TEXTURE_CLEAR = 0.01
_CLEAR_LEVEL = 3.0
#: A detected region of at least ``_BOUNDARY_LARGE`` of the analysis image whose core is above
#: the boundary's level on less than ``_BOUNDARY_STEADY`` of its pixels, and whose change mostly
#: cancels under the detection blur (coherence below ``_BOUNDARY_INCOHERENT``: grain, a noisy
#: texture, not a recolour) keeps its coarse outline
#: (:func:`alphacut.editmerge.regions.refine_boundary`), grown out (``_BOUNDARY_GROW``) to half
#: way between its core's change and its surroundings' on the detection map. Elsewhere the
#: boundary is placed at half the change of the core within about ``_BOUNDARY_LOCAL`` band widths
#: (0: of the whole region), and, inside the detected regions, never below ``_BOUNDARY_FLOOR`` of
#: the threshold (the hysteresis level they were grown to; outside them, the threshold). The three were chosen by two-fold
#: cross-validation (BENCHMARKS.md, session 20).
_BOUNDARY_LOCAL = 2.0
_BOUNDARY_FLOOR = LOW_RATIO
_BOUNDARY_GROW = True
_BOUNDARY_STEADY = 0.75
_BOUNDARY_LARGE = 0.01
_BOUNDARY_INCOHERENT = 0.8
#: The boundary of such an incoherent region (whichever rule placed it) is smoothed at a Gaussian
#: scale of ``_BOUNDARY_SMOOTH`` of the diagonal: the texture statistics place it only to within
#: their window (``_TEXTURE_BLUR``), so its wiggles below about twice that are noise. Chosen by
#: two-fold cross-validation (BENCHMARKS.md, session 26).
_BOUNDARY_SMOOTH = 0.008
#: Where a coherent region's edit is a colour map of the original (a recolour), its boundary is
#: then set where the edit was blended in at half weight (:func:`alphacut.editmerge.blend.blend_boundary`):
#: the change of a soft edge over colours the map moves more than the region's own (the leaves
#: between a flower's petals) no longer reads as the edit. Three-seed two-fold cross-validation
#: (BENCHMARKS.md, session 35).
_BOUNDARY_BLEND = True
#: Second noise pass: the texture's noise is measured again on the pixels outside the edit found
#: first (closed over gaps of ``_RENOISE_CLOSE`` of the diagonal, holes filled, grown by a quarter of
#: that), if they are at least ``_RENOISE_MIN_UNTOUCHED`` of the photo and that lowers some level of
#: detail's noise by a factor of ``_RENOISE_DROP`` or more (measured on a subsample of
#: ``_RENOISE_SAMPLES`` pixels). Two-fold cross-validation on tune pairs of two more seeds
#: (BENCHMARKS.md, session 27): 1.2 scores as high as a second pass always, with a sixth as many;
#: then a closing of 0.05 (of 0.015, 0.03, 0.05, 0.08) on those and the tune half's usual pairs.
#: The second pass is kept only if its regions are at least ``_RENOISE_GROWTH`` times the first's
#: area: on the first benchmark's pairs (bench/editmerge.py) a second pass that grew the edit a
#: little only took its fringe (6 pairs worse, none better); 1.15 of 1.15, 1.3, 1.6 by the same CV.
_RENOISE_CLOSE = 0.05
_RENOISE_MIN_UNTOUCHED = 0.2
_RENOISE_DROP = 1.2
_RENOISE_SAMPLES = 16_384
_RENOISE_GROWTH = 1.15
#: The boundary of a fine grain's region is then placed by the grain's own energy
#: (:func:`alphacut.editmerge.regions.grain_boundary`): where the RGB difference's energy, blurred at
#: ``_GRAIN_BLUR`` pixels, is ``_GRAIN_LEVEL`` of the way from its surroundings' to its core's (the
#: half-weight edge), for regions whose core is incoherent and has at least ``_GRAIN_FINE`` of its
#: energy above a 1 px blur's scale. Two-fold cross-validation on 576 tune pairs (BENCHMARKS.md,
#: session 31). Level and fine share over (0.3, 0.4) x (0.3, 0.5): fold 0 picks (0.4, 0.5), fold 1
#: (0.3, 0.5), each better on the other fold than without; (0.3, 0.5) makes no pair worse (a quarter
#: would be the half-weight edge of the energy itself; its blur moves that crossing out; a share of
#: 0.3 let a pattern of stripes through). Blur 1.5 of 1, 1.5 and 2 px, picked by both folds. 21 pairs
#: better by more than 0.02 of IoU, none worse.
_GRAIN_BLUR = 1.5
_GRAIN_LEVEL = 0.3
_GRAIN_FINE = 0.5
#: Where the compression model cleaned the edit (:func:`alphacut.editmerge.compression.undo_compression`),
#: that energy is at most the edit's as it came minus what the model predicts of its compression
#: error (session 39): the cleaned edit cancels the untouched part's compression noise only in the
#: JPEG blocks the grain did not touch, so in the blocks its soft edge reaches, that noise came
#: back and pushed the edge out by a pixel or two on an object's outline. Tune half (576 pairs,
#: both folds, the level kept at 0.3; 0.25 tied on fold 0 and lost on fold 1): 4 pairs better by
#: more than 0.02 of IoU, none worse; at 160 px, 5 better and 1 worse. The lower of the two rather
#: than the second alone: the same on the tune half, and a busy random texture (a synthetic check)
#: lost up to 0.024 with the second alone, 0.012 with the lower.
_GRAIN_RAW = True
#: A coarse noisy texture found only in pieces grows over the rest of the area its grain changed
#: (:func:`alphacut.editmerge.regions.grow_grain`): its energy blurred at ``_GROW_BLUR`` px, at
#: least ``_GROW_RATIO`` times its surroundings', grown to ``_GROW_LEVEL`` of the way from theirs
#: to its own, within ``_GROW_REACH`` of the diagonal. Only regions whose mean coherence is below
#: ``_GROW_COHERENT``, with at least ``_GROW_COARSE`` of their change's energy above a 3 px blur
#: (a recolour's smooth change grew by its soft edge without it: 5 tune pairs worse, by up to
#: 0.06 of IoU) and with a core as grain's; growth thinner than a disc of ``_GROW_THIN`` px is
#: dropped. Set on eleven tune pairs of both folds (six it was for, five it harmed at first);
#: session 38, three seeds of the tune half (576 pairs) at 1024 px: 12 pairs better by more than
#: 0.02 of IoU, none worse; the kinds' share at IoU >= 0.90 95.4 / 97.3 % -> 96.8 / 97.3 %. Not
#: where an analysis pixel spans ``_WITHIN_MIN`` pixels of the photo or more: the downscale
#: averaged a coarse grain into a fine one there, and at 160 px (each tune photo 2.5-4 analysis
#: pixels across) the growth made 5 pairs worse by more than 0.02 and 6 better (92.7 / 91.4 % ->
#: 93.2 / 91.9 %).
_GROW_BLUR = 2.0
_GROW_RATIO = 8.0
_GROW_LEVEL = 0.3
_GROW_REACH = 0.05
_GROW_COHERENT = 0.95
_GROW_COARSE = 0.06
_GROW_THIN = 2.0
#: Where an analysis pixel stands for at least ``_WITHIN_MIN`` x ``_WITHIN_MIN`` pixels of the photo
#: (to the nearest whole size: photos 1.5 times the analysis size or more), the downscale averages
#: fine grain away (a 12 MP photo's one-pixel grain, to a quarter of its spread, under the
#: compression noise). So the variance of the full-size difference within each analysis pixel is
#: measured (:func:`_within_variance`, on ``_WITHIN_ROWS`` rows of each block) and added to the
#: texture change's energy (both its per-pixel and wide windows), and the original's own to its
#: level of detail, by which the compression noise is binned. Not to the coherence of the change: a
#: content swap's own fine detail then read as incoherent, and its outline grew (6 tune pairs worse
#: by up to 0.12 of IoU at half the photos' size). Scored on the tune pairs analysed at 320, 213 and
#: 160 px (the photos 2, 3 and 4 times the analysis size; BENCHMARKS.md, session 32); one sampled
#: row a block instead of two lost 0.01-0.02 of the kinds' share on fold 1.
_WITHIN_MIN = 2
_WITHIN_ROWS = 2
#: Mask values this close to 0 or 1 are snapped, so the float and uint8 masks agree on "none" and "all".
_SNAP = 1.0 / 510.0
#: The refined boundary is then moved onto the edit's own edges within ``_EDGE_SNAP`` of the
#: diagonal (:func:`alphacut.editmerge.feather.snap_boundary`, the colour-matched edit as guide,
#: ``_FEATHER_EPS``): a recolour or a new texture over an object ends at the object's edge, which
#: the difference maps, blurred for their statistics, place only to within a pixel or two. The
#: edit rather than the original, since an edit inside a plain area makes an edge only there.
#: Two-fold cross-validation (BENCHMARKS.md, session 29): 0.007, 0.01, 0.015 with the edit as
#: guide, 0.01 with the original or both; 0.01 with the edit is best on both folds.
_EDGE_SNAP = 0.01
#: Then the bays and holes that the edit's own edges close are filled
#: (:func:`alphacut.editmerge.feather.fill_inlets`): a snap with a window of ``_INLET_SNAP`` of the
#: diagonal, adding pixels only inside the mask closed over gaps of ``_INLET_REACH`` of it. A
#: coarse noisy texture is weak in patches, and its mask had bays and holes there. Two-fold
#: cross-validation (BENCHMARKS.md, session 30) over (window, reach): (0.017, 0.02), (0.025, 0.02),
#: (0.025, 0.03), (0.04, 0.02), (0.04, 0.04), (0.06, 0.04). Fold 0 picks (0.04, 0.02), fold 1
#: (0.025, 0.03), each better on the other fold than without; (0.025, 0.03) made 8 pairs better by
#: more than 0.02 of IoU and none worse.
_INLET_SNAP = 0.025
_INLET_REACH = 0.03
#: A dark photo is compared brighter: both photos times the gain that brings the original's 99th
#: percentile of its brightest channel up to ``_EXPOSURE_TOP`` of full scale, at most
#: ``_EXPOSURE_CAP``. The thresholds have a floor in Delta E, and in a dark photo an edit, a
#: content swap most of all, changes it by little more than that floor; brighter, the
#: compression noise grows with the edit and the threshold follows the noise measured
#: (BENCHMARKS.md, session 36). The composite takes the photos as they are.
_EXPOSURE_TOP = 0.5
_EXPOSURE_CAP = 2.0
#: Colour-drift fit: gains or offsets (code values) outside these are not drift; the fit is abandoned.
_GAIN_RANGE = (0.85, 1.15)
_MAX_OFFSET = 20.0
#: Colour-drift fit: fraction of the best-fitting pixels each refit uses.
_DRIFT_KEEP = 0.4
#: Colour-drift fit: a regular subsample of at least this many pixels (up to 4 times as many), or
#: all of them.
_DRIFT_SAMPLES = 40000
#: The edit's JPEG compression is modelled (:mod:`alphacut.editmerge.compression`) up to this many
#: pixels: a round trip of the photo at full size, since the JPEG grid is there.
_COMPRESSION_MAX_PIXELS = 2048 * 2048


@dataclass(frozen=True)
class MergeOptions(OptionsBase):
    """Options of :func:`merge_edit`; each field has one default.

    Attributes
    ----------
    sensitivity : float
        How readily a change counts as the edit: 2 finds fainter changes, 0.5 only strong ones.
    feather : float
        Width of the soft edge as a fraction of the image diagonal; 0 gives a hard edge.
    primary_only : bool
        Keep only the main edited region(s), dropping changes much weaker than the strongest one
        (mass, change times area, below a fifth of its): an edit in two places, or two separate
        edits of similar weight, keep both regions; the small unrelated changes an editing model
        makes elsewhere are dropped.
    max_regions : int
        Keep at most this many separate edited regions, strongest first.
    close_gaps : float
        Join parts of one edited region that are closer than this fraction of the diagonal.
    align_shift : float
        Largest global shift to detect and undo, as a fraction of the longer side; 0 turns it off.
    match_colour : bool
        Undo the edit's global colour and exposure drift before comparing and compositing.
    undo_compression : bool
        If the edit is a JPEG of the (drifted) original outside the edited area, predict that
        compression by encoding the original the same way, and take it out of the edit before
        comparing (:mod:`alphacut.editmerge.compression`; photos up to 4.2 megapixels, with
        ``match_colour``, and not when the edit is found shifted). The composite always takes
        the edit as it is.
    analysis_max_side : int
        Longer side, in pixels, at which the regions are decided; the mask is then refined to the
        output size along the original's edges.
    preview_max_side : int
        If above 0, the outputs are scaled down to at most this longer side (a quick preview of the
        same mask); 0 means full resolution.
    compress_level : int
        PNG zlib level, 0-9, for :func:`merge_edit_bytes`.
    include_regions : tuple of int
        Ids of candidate regions (the report's ``region_candidates``, from a run with the same
        inputs, sensitivity and brushes) to take even though the rule dropped them.
    exclude_regions : tuple of int
        Ids of candidate regions to leave out even though the rule kept them; wins over
        ``include_regions``.
    """

    sensitivity: float = number(1.0, 0.05, 20.0)
    feather: float = number(0.003, 0.0, 0.05)
    primary_only: bool = flag(True)
    max_regions: int = integer(8, 1, 1000)
    close_gaps: float = number(0.01, 0.0, 0.1)
    align_shift: float = number(0.02, 0.0, 0.1)
    match_colour: bool = flag(True)
    undo_compression: bool = flag(True)
    analysis_max_side: int = integer(1024, 64, 8192)
    preview_max_side: int = integer(0, 0, 65536)
    compress_level: int = integer(1, 0, 9)
    include_regions: tuple = ids()
    exclude_regions: tuple = ids()


@dataclass(frozen=True)
class MergeResult:
    """The merged image, its mask, and a JSON-able report.

    Attributes
    ----------
    composite : (P, Q, 3) ndarray of uint8
        ``original * (1 - mask) + edited * mask``; ``(P, Q)`` is the original's size, or the
        preview size.
    mask : (P, Q) ndarray of float32 in [0, 1]
        Where the edit was taken (1) or the original kept (0).
    mask8 : (P, Q) ndarray of uint8
        ``mask`` scaled to 0-255 and rounded.
    report : dict
        Sizes, the detected shift and colour drift, the ``exposure`` the photos were compared at
        (above 1 for a dark photo), the threshold, the kept ``regions``, every
        ``region_candidates`` (with ``id``, ``kept``, ``why`` and ``bbox`` as fractions [top,
        left, bottom, right]), ``warnings`` (list of str) and ``timings_ms`` per stage.
    labels : (A, B) ndarray of uint8
        The candidate regions by id (0: none) at the analysis size (the report's
        ``analysis_height`` and ``analysis_width``), for a page that lets a person click a region
        in or out; ids above 255 are left out.
    """

    composite: np.ndarray
    mask: np.ndarray
    mask8: np.ndarray
    report: dict
    labels: np.ndarray = None


def merge_edit(original: np.ndarray, edited: np.ndarray, *, options: MergeOptions = MergeOptions(),
               protect: np.ndarray | None = None, force: np.ndarray | None = None,
               edited_jpeg: tuple | None = None) -> MergeResult:
    """Paste an AI edit onto the original only where it was meant to land.

    Parameters
    ----------
    original : (M, N, 3) ndarray of uint8
        The photo before editing. (M, N, 4) is accepted and its alpha ignored.
    edited : (P, Q, 3) ndarray of uint8
        The editing model's output. If its size differs it is resized to (M, N) and the report's
        ``warnings`` says so.
    options : MergeOptions, optional
    protect : (M, N) ndarray of bool, optional
        Pixels always kept from the original. Wins over ``force`` where both are set.
    force : (M, N) ndarray of bool, optional
        Pixels always taken from the edit.
    edited_jpeg : tuple, optional
        If the edit was read from a JPEG file: its quantisation tables and chroma subsampling,
        ``(img.quantization, JpegImagePlugin.get_sampling(img))`` in Pillow's terms
        (:attr:`alphacut.io.decode.Decoded.jpeg`). Without them the compression, if any, is
        searched among the usual (IJG) tables; see ``options.undo_compression``.

    Returns
    -------
    MergeResult
        At (M, N), or scaled down to ``options.preview_max_side``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> original = rng.integers(100, 140, (120, 160, 3), dtype=np.uint8)
    >>> edited = original.copy()
    >>> edited[30:90, 40:100] = (200, 30, 30)
    >>> res = merge_edit(original, edited)
    >>> res.composite.shape, res.mask.dtype, res.mask8.dtype
    ((120, 160, 3), dtype('float32'), dtype('uint8'))
    >>> bool(res.mask[60, 70] == 1.0 and res.mask[5, 5] == 0.0)
    True
    >>> bool((res.composite[5, 5] == original[5, 5]).all())
    True
    """
    if not isinstance(options, MergeOptions):
        raise TypeError(f"options must be MergeOptions, got {type(options).__name__}")
    clock = Clock()
    original = np.ascontiguousarray(as_rgb8(original, "original", min_side=2, drop_alpha=True))
    edited = np.ascontiguousarray(as_rgb8(edited, "edited", min_side=2, drop_alpha=True))
    shape = original.shape[:2]
    protect = _as_brush(protect, shape, "protect")
    force = _as_brush(force, shape, "force")
    warnings = []
    edited, edited_jpeg = _to_size(edited, shape, warnings, edited_jpeg)
    clock.lap("validate")
    return _merge(original, edited, options, protect, force, warnings, clock, edited_jpeg)


def _merge(original, edited, options, protect, force, warnings, clock, jpeg=None) -> MergeResult:
    """Kernel of :func:`merge_edit` on validated inputs of equal size; ``jpeg``: the edit's JPEG
    tables, None if unknown, False if it was resized (no compression model then)."""
    with executor() as pool:
        return _analyse_and_merge(original, edited, options, protect, force, warnings, clock, pool, jpeg)


def _analyse_and_merge(original, edited, options, protect, force, warnings, clock, pool, jpeg) -> MergeResult:
    """:func:`_merge` with an executor (``pool``) for the steps that can run beside others."""
    shape = original.shape[:2]
    a_shape = _fit(shape, options.analysis_max_side)
    out_shape = _fit(shape, options.preview_max_side) if options.preview_max_side else shape
    # A dark photo is compared brighter: both photos at the analysis size through the same gain
    # (without the compression model: the brighter edit is not a JPEG). The composite and the
    # variance within the analysis pixels take the photos as they are.
    exposure = _exposure(original)
    if exposure != 1.0:
        jpeg = False
    compression = None
    cleaned = edited
    if (options.undo_compression and options.match_colour and jpeg is not False
            and shape[0] * shape[1] <= _COMPRESSION_MAX_PIXELS):
        tables, subsampling = jpeg if jpeg else (None, None)
        cleaned, compression = undo_compression(original, edited, tables=tables, subsampling=subsampling)
        clock.lap("compression")
    edit_sizes = pool.submit(_edit_sizes, edited, cleaned, out_shape, a_shape)
    orig_o, orig_a = _two_sizes(original, out_shape, a_shape)
    edit_o, edit_a, clean_a = edit_sizes.result()
    guide_o = orig_o  # the original the feathering follows, at the output size
    if exposure != 1.0:
        guide_o = _brighter(orig_o, exposure)
        orig_a = guide_o if out_shape == a_shape else _brighter(orig_a, exposure)
        edit_a = clean_a = _brighter(edit_a, exposure)
    diag_a = float(np.hypot(*a_shape))
    sigma_t = _TEXTURE_BLUR * diag_a
    lab_original = pool.submit(_lab_and_detail, orig_a, sigma_t)  # while the edit is aligned and colour-matched
    scale_a = (a_shape[0] / shape[0], a_shape[1] / shape[1])
    clock.lap("downscale")

    # Global shift: estimated at the analysis size, undone at full size by whole pixels. On the edit
    # as it is: the cleaned one is drawn towards the unshifted original where the compression model
    # explains the difference by smoothing alone (smooth, noisy parts).
    shift_full = (0, 0)
    strength = 0.0
    if options.align_shift > 0:
        (dr, dc), strength = phase_correlate(orig_a, edit_a, max_shift=options.align_shift)
        shift_full = (int(round(dr / scale_a[0])), int(round(dc / scale_a[1])))
    raw_a = None
    if cleaned is not edited:  # the compression model was used
        if shift_full == (0, 0):
            raw_a, edit_a = edit_a, clean_a
        else:  # the model predicts a JPEG on the original's grid: a shifted edit is not one
            cleaned, compression = edited, replace(compression, used=False)
    del clean_a
    edit_a = edit_a.astype(np.float32)
    if shift_full != (0, 0):
        edit_a = shift_subpixel(edit_a, shift_full[0] * scale_a[0], shift_full[1] * scale_a[1])
    clock.lap("align")

    # Global colour drift, fitted on the pixels that did not change.
    gain, offset = np.ones(3, np.float32), np.zeros(3, np.float32)
    if options.match_colour:
        gain, offset = _fit_drift(orig_a, edit_a)
        _undo_drift(edit_a, offset, 1 / gain)
    if raw_a is not None and _GRAIN_RAW:
        raw_a = _undo_drift(raw_a.astype(np.float32), offset, 1 / (255 * gain))
    else:
        raw_a = None
    # What the downscale averaged away (grain finer than an analysis pixel): the difference's
    # variance within each analysis pixel, and the original's own (its compression noise follows it).
    within, own = _within_variance(original, cleaned, a_shape, shift_full, float(gain[1]),
                                   max(1, _block_factor(sigma_t, a_shape) // 2), exposure)
    clock.lap("colour")

    # Difference map in Lab, compression noise blurred away.
    lab_o, lightness, activity = lab_original.result()
    if own is not None:
        activity = detail_within(activity, own, sigma=sigma_t)
    edit_a *= np.float32(1 / 255)
    planes = _lab_difference(edit_a, lab_o, pool)  # (3, M, N): filters run along rows
    # The colour's change needs only the planes: it runs beside the texture's and then the
    # structure's (about as long as those two together; with all three at once on two cores, the
    # colour's came last), and the structure's score beside the wide texture.
    blurred = pool.submit(_blurred_change, planes, _BLUR * diag_a)
    textures = texture_change(planes[:_TEXTURE_PLANES], lightness, sigma=sigma_t, activity=activity, within=within)
    spread, detail = textures[0].copy(), textures[2]
    structure = structure_change(lightness, planes[0], sigma=_STRUCT_BLUR * diag_a, contrast=_STRUCT_CONTRAST)
    score = pool.submit(_structure_score, structure.copy(), detail)
    diff, coherence = blurred.result()
    level = noise_threshold(diff, options.sensitivity)
    changed, cleared = _near_changes(diff, level[1], diag_a)
    threshold = level[1] * options.sensitivity
    texture = _texture_as_delta_e(textures, score, planes[0], sigma_t, threshold, diag_a, changed, cleared,
                                  within=within)
    clock.lap("difference")

    protect_a = _resize_brush(protect, a_shape)
    force_a = _resize_brush(force, a_shape)

    def regions_of(texture, ids):
        return find_regions(np.maximum(diff, texture), sensitivity=options.sensitivity,
                            close_gaps=options.close_gaps, primary_only=options.primary_only,
                            max_regions=options.max_regions, exclude=protect_a, include=force_a, level=level,
                            include_ids=options.include_regions if ids else (),
                            exclude_ids=options.exclude_regions if ids else ())

    ids = bool(options.include_regions or options.exclude_regions)
    regions = regions_of(texture, False)
    # An edit over most of the photo's pixels of some level of detail (grain over a detailed
    # subject) lifts that level's noise estimate, and hides itself: the noise is measured again
    # without the edit found so far, when that lowers it a lot, and the second pass is kept if it
    # finds much more. The user's region ids apply only once the pass is chosen, so that they pick
    # from the candidates the page showed.
    untouched = _untouched(regions.mask, diag_a)
    second = untouched is not None and _noise_drop(spread, detail, untouched) >= _RENOISE_DROP
    if second:
        textures = texture_change(planes[:_TEXTURE_PLANES], lightness, sigma=sigma_t, untouched=untouched,
                                  activity=activity, within=within)
        score = pool.submit(_structure_score, structure, textures[2], untouched)
        texture2 = _texture_as_delta_e(textures, score, planes[0], sigma_t, threshold, diag_a, changed, cleared,
                                       untouched=untouched, within=within)
        again = regions_of(texture2, False)
        # Kept only where it finds much more: below that, its lower noise mostly grows the
        # edit found into its own fringe.
        second = again.mask.sum() >= _RENOISE_GROWTH * regions.mask.sum()
        if second:
            texture, regions = texture2, again
    if ids:
        regions = regions_of(texture, True)
    diff = np.maximum(diff, texture, out=diff)
    del lightness, activity, within, changed, cleared, textures, structure, spread, detail, untouched
    clock.lap("regions")
    width = max(2 * _BLUR * diag_a + 1, _BAND * diag_a)
    outer = 2 * _BLUR * diag_a + 1
    # The edit's weight where it is a colour map: beside the boundary's refinement (the arrays it
    # reads are only read from here on).
    half = pool.submit(half_weight, regions.mask, lab=lab_o, change=planes, original=orig_a, edit=edit_a,
                       coherence=coherence, width=width, outer=outer,
                       incoherent=_BOUNDARY_INCOHERENT) if _BOUNDARY_BLEND else None
    fine = _fine_near(regions.mask, planes, texture, _FINE_BLUR * diag_a, width + 2)
    del texture
    binary = refine_boundary(regions.mask, fine, threshold=regions.threshold, width=width,
                             outer=outer, steady=_BOUNDARY_STEADY, large=_BOUNDARY_LARGE,
                             floor=_BOUNDARY_FLOOR * regions.threshold, local=_BOUNDARY_LOCAL,
                             coherence=coherence, incoherent=_BOUNDARY_INCOHERENT,
                             coarse=diff if _BOUNDARY_GROW else None, smooth=_BOUNDARY_SMOOTH * diag_a)
    if half is not None:
        binary = apply_half_weight(binary, half.result(), threshold=regions.threshold,
                                   coarse=diff if _BOUNDARY_GROW else None)
    del planes, lab_o, half
    binary = grain_boundary(binary, orig_a, edit_a, coherence, width=width, incoherent=_BOUNDARY_INCOHERENT,
                            sigma=_GRAIN_BLUR, level=_GRAIN_LEVEL, fine=_GRAIN_FINE, compressed=raw_a)
    del raw_a  # held only for the grain's edge, not through the feathering and the composite
    if _analysis_pixel(shape, a_shape) < _WITHIN_MIN:  # not where the downscale averaged the grain
        binary = grow_grain(binary, orig_a, edit_a, coherence, width=width, sigma=_GROW_BLUR, ratio=_GROW_RATIO,
                            level=_GROW_LEVEL, reach=_GROW_REACH * diag_a, coherent=_GROW_COHERENT,
                            coarse=_GROW_COARSE, thin=_GROW_THIN)
    binary = snap_boundary(binary, edit_a, radius=int(round(_EDGE_SNAP * diag_a)), eps=_FEATHER_EPS)
    binary = fill_inlets(binary, edit_a, radius=int(round(_INLET_SNAP * diag_a)), eps=_FEATHER_EPS,
                         reach=_INLET_REACH * diag_a)
    if force_a is not None:
        binary = binary | force_a
    if protect_a is not None:
        binary = binary & ~protect_a
    labels, kept, candidates = _final_regions(regions, binary)
    clock.lap("boundary")

    # At the output size: the original as it is; the edit aligned (whole pixels at full size,
    # inside the composite) and colour-matched (a table per channel, inside the composite).
    lut = _drift_lut(gain, offset / np.float32(exposure)) if options.match_colour else None
    shift_o = shift_full
    if out_shape != shape:
        s = (out_shape[0] / shape[0], out_shape[1] / shape[1])
        if shift_full != (0, 0):
            moved = shift_subpixel(edit_o.astype(np.float32), shift_full[0] * s[0], shift_full[1] * s[1])
            edit_o = np.clip(np.rint(moved), 0, 255).astype(np.uint8)
        shift_o = (0, 0)
    clock.lap("prepare_output")

    mask, tiles = _soft_mask(binary, orig_a, guide_o, options.feather * diag_a, pool)
    clock.lap("feather")
    for brush, value in ((force, 1.0), (protect, 0.0)):  # protect last: it wins
        if brush is not None:
            brush = brush if out_shape == shape else _resize_brush(brush, out_shape)
            np.copyto(mask, np.float32(value), where=brush)
            tiles[_tiles_touched(brush)] = 2
    composite, mask8 = _composite(orig_o, edit_o, mask, tiles, shift_o, lut)
    clock.lap("composite")

    report = {
        "height": shape[0], "width": shape[1],
        "output_height": out_shape[0], "output_width": out_shape[1],
        "analysis_height": a_shape[0], "analysis_width": a_shape[1],
        "shift": list(shift_full),
        "shift_strength": round(float(strength), 1),
        "colour_gain": [round(float(g), 4) for g in gain],
        "colour_offset": [round(float(o / exposure), 2) for o in offset],
        "exposure": round(exposure, 3),
        "compression": compression.report() if compression is not None else None,
        "threshold_delta_e": round(regions.threshold, 2),
        "noise_delta_e": round(regions.noise, 2),
        "texture_noise_second_pass": bool(second),
        "regions": kept,
        "dropped_regions": regions.dropped,
        "region_candidates": candidates,
        "mask_fraction": round(float(mask.mean(dtype=np.float64)), 5),
        "warnings": warnings,
        "timings_ms": clock.ms,
    }
    labels = np.where(labels <= 255, labels, 0).astype(np.uint8)
    return MergeResult(composite=composite, mask=mask, mask8=mask8, report=report, labels=labels)


def merge_edit_bytes(original: bytes, edited: bytes, options: dict | None = None,
                     protect: bytes | None = None, force: bytes | None = None) -> tuple[bytes, bytes, dict]:
    """Bytes in, bytes out: the browser worker's entry to :func:`merge_edit`.

    Parameters
    ----------
    original, edited : bytes
        Encoded images (PNG, JPEG, WebP...).
    options : dict, optional
        :class:`MergeOptions` fields; unknown keys raise ``ValueError``.
    protect, force : bytes, optional
        Encoded brush images: painted where alpha > 127 if the image has alpha, else where its grey
        level > 127. Resized (nearest) to the original's size if needed, with a warning.

    Returns
    -------
    composite_png : bytes
        RGB PNG, no metadata.
    mask_png : bytes
        Greyscale PNG of the mask (255: taken from the edit).
    report : dict
        As :attr:`MergeResult.report`; its ``timings_ms`` also has ``decode`` and ``encode``.

    See Also
    --------
    merge_edit_labels_bytes : the same, plus the candidate regions' label map.

    Examples
    --------
    >>> from alphacut.io.encode import encode_png
    >>> img = np.full((40, 60, 3), 120, np.uint8)
    >>> png, mask_png, report = merge_edit_bytes(encode_png(img), encode_png(img), {"feather": 0})
    >>> png[:8] == b'\\x89PNG\\r\\n\\x1a\\n', report["width"], report["mask_fraction"]
    (True, 60, 0.0)
    """
    composite_png, mask_png, _, report = merge_edit_labels_bytes(original, edited, options, protect, force)
    return composite_png, mask_png, report


def merge_edit_labels_bytes(original: bytes, edited: bytes, options: dict | None = None,
                            protect: bytes | None = None,
                            force: bytes | None = None) -> tuple[bytes, bytes, bytes, dict]:
    """:func:`merge_edit_bytes` plus the label map of the candidate regions.

    Returns
    -------
    composite_png, mask_png : bytes
        As :func:`merge_edit_bytes`.
    labels_png : bytes
        Greyscale PNG at the analysis size: each candidate region's ``id`` (see the report's
        ``region_candidates``), 0 elsewhere.
    report : dict

    Examples
    --------
    >>> from alphacut.io.encode import encode_png
    >>> img = np.full((40, 60, 3), 120, np.uint8)
    >>> edit = img.copy(); edit[10:30, 10:30] = (200, 40, 40)
    >>> _, _, labels_png, report = merge_edit_labels_bytes(encode_png(img), encode_png(edit))
    >>> labels_png[:8] == b'\\x89PNG\\r\\n\\x1a\\n', [c["id"] for c in report["region_candidates"]]
    (True, [1])
    """
    from ..io.decode import decode
    from ..io.encode import encode_png

    opts = MergeOptions.from_dict(options)
    clock = Clock()
    source = decode(original)
    orig = source.rgb
    edited_img = decode(edited)
    edit = edited_img.rgb
    warnings = []
    if edited_img.icc != source.icc:
        warnings.append("the edited image has another colour profile than the original: the result keeps the "
                        "original's, and the edit's colours are read as if they were in it")
    brushes = []
    for name, data in (("protect", protect), ("force", force)):
        brush = None
        if data is not None and len(data):
            img = decode(data)
            brush = (img.alpha > 127) if img.alpha is not None else (img.rgb.mean(axis=2) > 127)
            if brush.shape != orig.shape[:2]:
                warnings.append(f"the {name} brush was {brush.shape[1]}x{brush.shape[0]}; "
                                f"resized to the original's {orig.shape[1]}x{orig.shape[0]}")
                brush = _resize_nearest(brush, orig.shape[:2])
        brushes.append(brush)
    edit, jpeg = _to_size(edit, orig.shape[:2], warnings, edited_img.jpeg)
    clock.lap("decode")
    res = _merge(orig, edit, opts, brushes[0], brushes[1], warnings, clock, jpeg)
    # The composite is in the original's colour space: its profile, if any, goes with it.
    composite_png = encode_png(res.composite, compress_level=opts.compress_level, icc=source.icc)
    mask_png = encode_png(res.mask8, compress_level=opts.compress_level)
    labels_png = encode_png(res.labels, compress_level=opts.compress_level)
    clock.lap("encode")
    return composite_png, mask_png, labels_png, res.report


# --- helpers -------------------------------------------------------------------------------


def _as_brush(brush, shape, name: str):
    if brush is None:
        return None
    brush = np.asarray(brush)
    if brush.dtype != bool:
        raise TypeError(f"{name} must be a boolean mask, got {brush.dtype}")
    if brush.shape != tuple(shape):
        raise ValueError(f"{name} must have the original's shape {tuple(shape)}, got {brush.shape}")
    return brush if brush.any() else None


def _to_size(edited: np.ndarray, shape, warnings: list, jpeg):
    """The edit at the original's ``shape`` (resized, with a warning, if it was not) and its JPEG
    tables; False for those once it was resized, since it is then off the grid it was compressed on."""
    if edited.shape[:2] == tuple(shape):
        return edited, jpeg
    warnings.append(_size_warning(edited.shape[:2], shape))
    return _resize_rgb(edited, shape), False


def _size_warning(got, want) -> str:
    msg = (f"the edited image is {got[1]}x{got[0]} but the original is {want[1]}x{want[0]}; "
           f"the edit was resized to match")
    if abs(got[1] / got[0] - want[1] / want[0]) > 0.01 * want[1] / want[0]:
        msg += " (its aspect ratio differs, so it was stretched)"
    return msg


def _fit(shape, max_side: int) -> tuple[int, int]:
    """``shape`` scaled down (never up) so that its longer side is at most ``max_side``."""
    rows, cols = shape
    s = min(1.0, max_side / max(rows, cols))
    return max(2, int(round(rows * s))), max(2, int(round(cols * s)))


def _resize_rgb(image: np.ndarray, shape) -> np.ndarray:
    """Resize uint8 RGB to ``(rows, cols)``: area average down, bicubic up.

    Down, rows first through a view Pillow reads in place (:func:`alphacut._shared.resample.downsample`):
    at 12 MP, 42 ms against 54 for one Pillow resize of the RGB image, which must first copy it
    into 4 bytes a pixel (session 36); that was 73 against 91 for each channel as a greyscale
    image (session 27).
    """
    if image.shape[:2] == tuple(shape):
        return image
    if shape[0] <= image.shape[0] and shape[1] <= image.shape[1]:
        return downsample(image, shape, Image.Resampling.BOX)
    return np.asarray(Image.fromarray(image).resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def _two_sizes(image: np.ndarray, out_shape, a_shape):
    """``image`` at the output and at the analysis size, each downscaled from the nearer larger one."""
    if out_shape == image.shape[:2]:
        return image, _resize_rgb(image, a_shape)
    if out_shape[0] * out_shape[1] >= a_shape[0] * a_shape[1]:
        out = _resize_rgb(image, out_shape)
        return out, _resize_rgb(out, a_shape)
    small = _resize_rgb(image, a_shape)
    return _resize_rgb(small, out_shape), small


def _edit_sizes(edited: np.ndarray, cleaned: np.ndarray, out_shape, a_shape):
    """The edit at the output and at the analysis size, and ``cleaned`` (the edit without its
    modelled compression) at the analysis size: the same array as the edit's when ``cleaned`` is
    the edit itself."""
    out, small = _two_sizes(edited, out_shape, a_shape)
    return out, small, small if cleaned is edited else _resize_rgb(cleaned, a_shape)


def _resize_brush(brush, shape):
    """A boolean brush at another size: a pixel is painted if most of its area is."""
    if brush is None:
        return None
    if brush.shape == tuple(shape):
        return brush
    img = Image.fromarray(brush.astype(np.uint8) * np.uint8(255))
    down = shape[0] <= brush.shape[0] and shape[1] <= brush.shape[1]
    method = Image.Resampling.BOX if down else Image.Resampling.BILINEAR
    return np.asarray(img.resize((shape[1], shape[0]), method)) >= 128


def _resize_nearest(brush, shape):
    img = Image.fromarray(brush.astype(np.uint8) * np.uint8(255))
    return np.asarray(img.resize((shape[1], shape[0]), Image.Resampling.NEAREST)) >= 128


def _lab_and_detail(rgb: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The original's Lab, its L* (contiguous), and its level of detail for the texture change at
    ``sigma`` (:func:`alphacut.editmerge.texture.detail_blocks`): all depend on it alone."""
    lab = srgb_to_lab(rgb)
    lightness = np.ascontiguousarray(lab[:, :, 0])
    return lab, lightness, detail_blocks(lightness, sigma=sigma)


def _lab_difference(edit: np.ndarray, lab_o: np.ndarray, pool) -> np.ndarray:
    """The (3, M, N) Lab difference of ``edit`` (float RGB in [0, 1], clipped in place) and the
    original's ``lab_o``; each half of the rows in its own thread (14 ms instead of 28 at 1024 px)."""
    planes = np.empty((3,) + edit.shape[:2], np.float32)

    def rows(part):
        lab = srgb_to_lab(np.clip(edit[part], 0, 1, out=edit[part]))
        lab -= lab_o[part]
        planes[:, part] = np.moveaxis(lab, 2, 0)

    half = edit.shape[0] // 2
    first = pool.submit(rows, slice(0, half))
    rows(slice(half, None))
    first.result()
    return planes


def _blurred_change(planes: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The (3, M, N) Lab difference's length after a Gaussian blur of each plane (``diff``), and
    how much of the change survives the blur (``coherence``: ``diff`` over the blurred energy's
    square root; near 1 for a change of the mean colour, low for grain and noisy textures, whose
    difference changes sign from pixel to pixel).

    The blurs are smooth at this scale: computed on blocks (2 x 2 when ``sigma`` >= 2,
    :func:`alphacut.editmerge.texture._block_factor`) and brought back up (about 25 ms instead of
    70 at 1024 px).
    """
    k = _block_factor(sigma, planes.shape[1:])
    blocks = _blocks(planes, k)
    energy = ndi.gaussian_filter(_blocks(np.square(planes).sum(axis=0), k), sigma / k, mode="nearest", truncate=3.0)
    np.sqrt(energy, out=energy)
    diff = _blurred_norm(blocks, sigma / k)
    coherence = diff / np.maximum(energy, np.float32(1e-6))
    return _upsample(diff, k, planes.shape[1:]), _upsample(coherence, k, planes.shape[1:])


def _fine_near(mask: np.ndarray, planes: np.ndarray, texture: np.ndarray, sigma: float, margin: float) -> np.ndarray:
    """The sharper difference map the boundary is placed by (the (3, M, N) Lab difference's length
    after a light blur of ``sigma``, at least ``texture``), where the boundary step reads it: within
    ``margin`` pixels of ``mask`` (:func:`alphacut.editmerge.regions.refine_boundary`); 0 elsewhere.
    Computed on that box grown by the blur's reach, so the values in it are the whole map's."""
    fine = np.zeros(mask.shape, np.float32)
    inner = _bbox(mask, margin)
    if inner is None:
        return fine
    outer = _bbox(mask, margin + np.ceil(3 * sigma) + 1)
    part = _blurred_norm(planes[(slice(None),) + outer], sigma)
    np.maximum(part, texture[outer], out=part)
    rows = slice(inner[0].start - outer[0].start, inner[0].stop - outer[0].start)
    cols = slice(inner[1].start - outer[1].start, inner[1].stop - outer[1].start)
    fine[inner] = part[rows, cols]
    return fine


def _blurred_norm(planes: np.ndarray, sigma: float) -> np.ndarray:
    """Per pixel, the length of the (3, M, N) Lab difference after a Gaussian blur of each plane."""
    if sigma >= 0.3:
        planes = ndi.gaussian_filter(planes, (0, sigma, sigma), mode="nearest", truncate=3.0)
    norm = np.square(planes[0])
    norm += np.square(planes[1])
    norm += np.square(planes[2])
    return np.sqrt(norm, out=norm)


def _near_changes(diff: np.ndarray, threshold: float, diag: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixels within ``_TEXTURE_CLEAR`` of the diagonal of a change of the mean colour above
    ``threshold`` (``changed``), and of one above ``_CLEAR_LEVEL`` times it (``cleared``).

    Near a strong change of the mean colour the spread is that change's edge and inner structure,
    not a texture change: the colour difference alone decides there. The wide texture, an average
    over a larger window, is set aside near any change of the mean above the threshold
    (compression's ringing along strong edges would lift it there). One filter for both
    (``_CLEAR_LEVEL`` >= 1): 1 above the threshold, 2 above ``_CLEAR_LEVEL`` times it (on uint8:
    13 ms against 21 for the float map at 1024 px).
    """
    nearby = np.greater(diff, threshold).view(np.uint8) + (diff > _CLEAR_LEVEL * threshold)
    nearby = ndi.maximum_filter(nearby, size=2 * int(_TEXTURE_CLEAR * diag) + 1)
    return nearby >= 1, nearby >= 2


def _structure_score(change: np.ndarray, detail: np.ndarray, untouched: np.ndarray | None = None) -> np.ndarray:
    """The structure change (:func:`alphacut.editmerge.texture.structure_change`'s ``change``,
    consumed) in units of the colour threshold: where it is both ``_STRUCT_LEVEL`` and
    ``_STRUCT_RATIO`` times its noise among pixels with as much ``detail`` (measured on the
    ``untouched`` pixels, all if None), 1."""
    rel = change / noise_by_detail(change, detail, floor=_STRUCT_FLOOR, quantile=_STRUCT_QUANTILE,
                                   untouched=untouched)
    rel *= np.float32(1 / _STRUCT_RATIO)
    change *= np.float32(1 / _STRUCT_LEVEL)
    return np.minimum(change, rel, out=change)


def _texture_as_delta_e(textures, score, lightness_change, sigma: float, threshold: float, diag: float,
                        changed: np.ndarray, cleared: np.ndarray, untouched: np.ndarray | None = None,
                        within: np.ndarray | None = None) -> np.ndarray:
    """The texture change and the structure change on the colour difference's scale: ``threshold``
    where the strongest of them just counts.

    ``textures``: :func:`alphacut.editmerge.texture.texture_change`'s ``(spread, ratio, detail)``,
    consumed; ``score``: a future of :func:`_structure_score`'s result; ``lightness_change``:
    the L* difference; ``sigma``: the texture's scale and ``diag`` the diagonal, pixels;
    ``changed``: pixels near a change of the mean colour, left out of the wide average, where the
    wide texture does not count; ``cleared``: pixels near a strong one, where nothing counts
    (:func:`_near_changes`); ``untouched``: the pixels the noise is measured on (all if None).
    """
    spread, ratio, detail = textures
    ratio *= np.float32(1 / _TEXTURE_RATIO)
    spread *= np.float32(1 / _TEXTURE_MIN)
    np.minimum(ratio, spread, out=ratio)
    if _WIDE_REGION > 0:
        # The count starts at a ratio of 1, the untouched pixels' average, so that the regions'
        # hysteresis (a fraction of the threshold) stays above the untouched level too.
        wide, wspread = wide_texture_change(lightness_change, detail, sigma=sigma, wide=_WIDE_REGION * diag,
                                            exclude=changed, cap=_WIDE_CAP, untouched=untouched, within=within)
        wide -= np.float32(1)
        wide *= np.float32(1 / (_WIDE_RATIO - 1))
        wspread *= np.float32(1 / _WIDE_MIN)
        np.minimum(wide, wspread, out=wide)
        wide[changed] = 0
        np.maximum(ratio, wide, out=ratio)
    np.maximum(ratio, score.result(), out=ratio)
    ratio *= np.float32(threshold)
    ratio[cleared] = 0
    return ratio


def _within_variance(original: np.ndarray, edited: np.ndarray, a_shape, shift, gain: float = 1.0,
                     skip: int = 1, exposure: float = 1.0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """What a downscale to ``a_shape`` averages away: per analysis pixel, the variance within it
    of the full-size difference, and of the original alone.

    Parameters
    ----------
    original, edited : (M, N, 3) ndarrays of uint8
        The photos at full size; their green channels are read.
    a_shape : (int, int)
        The analysis size.
    shift : (int, int)
        The edit's shift, as in :func:`_composite` (``edited[r + shift[0], c + shift[1]]`` is
        compared with ``original[r, c]``).
    gain : float
        The green channel's colour-drift gain: the difference is ``edited / gain - original``
        (the drift's offset does not change a variance).
    skip : int
        Measure every ``skip``-th block across and down only (the maps are brought up to
        ``a_shape`` anyway, and read in windows several pixels wide).
    exposure : float
        The gain both photos are compared at (:func:`_exposure`): the variances are those of
        both photos times it.

    Returns
    -------
    within, own : (a_shape) ndarrays of float32, or None
        In L* squared, at the original's level there (the slope of L* for a grey of its green).
        Both None where an analysis pixel averages fewer than ``_WITHIN_MIN`` x ``_WITHIN_MIN``
        pixels (to the nearest whole size), or the shift leaves too little overlap.

    Notes
    -----
    Measured on blocks of f pixels across (f the nearest whole size of an analysis pixel) and,
    down, of ``f // step`` rows ``step = f // _WITHIN_ROWS`` apart (every row where f < 4, so
    detail two rows tall is seen only there). About 30 ms for both maps at 12 MP with a skip of
    2 (100 ms without).
    """
    rows, cols = original.shape[:2]
    n = rows * cols / (a_shape[0] * a_shape[1])  # pixels an analysis pixel averages
    f = _analysis_pixel((rows, cols), a_shape)
    step = max(1, f // _WITHIN_ROWS)
    fy = max(1, f // step)
    dr, dc = shift
    o = original[max(0, -dr):max(0, min(rows, rows - dr)):step, max(0, -dc):max(0, min(cols, cols - dc)), 1]
    e = edited[max(0, dr):max(0, min(rows, rows + dr)):step, max(0, dc):max(0, min(cols, cols + dc)), 1]
    r, c = min(o.shape[0], e.shape[0]) // fy * fy, min(o.shape[1], e.shape[1]) // f * f
    if f < _WITHIN_MIN or r == 0 or c == 0:
        return None, None
    # Every skip-th block of every skip-th row of blocks, as (rows of blocks, fy, blocks, f).
    o, e = (a[:r, :c].reshape(r // fy, fy, c // f, f)[::skip, :, ::skip] for a in (o, e))
    d = o.astype(np.float32)
    level = _block_means(d)
    own = _block_means(np.square(d)) - np.square(level)
    d *= np.float32(gain)  # edited / gain - original = (edited - gain * original) / gain
    np.subtract(e, d, out=d)
    within = _block_means(np.square(d)) - np.square(_block_means(d))
    within *= np.float32(1 / (gain * gain))
    # A mean of m samples leaves (1 - 1/m) of their variance: the downscale averaged n pixels,
    # the blocks have m = f * fy. And L* changes by a grey's slope at the original's level.
    level *= np.float32(exposure)
    scale = np.square(_slope_at(level)).astype(np.float32)
    scale *= np.float32(exposure * exposure * (1 - 1 / n) / (1 - 1 / (f * fy)))
    size = (a_shape[1], a_shape[0])
    return tuple(np.array(Image.fromarray(np.maximum(v, 0) * scale).resize(size, Image.Resampling.BILINEAR))
                 for v in (within, own))


def _analysis_pixel(shape, a_shape) -> int:
    """How many pixels of a photo of ``shape`` an analysis pixel spans across, to the nearest whole number."""
    return int(round(np.sqrt(shape[0] * shape[1] / (a_shape[0] * a_shape[1]))))


def _exposure(original: np.ndarray) -> float:
    """The gain a dark photo is compared at: the one that brings the 99th percentile of its
    brightest channel up to ``_EXPOSURE_TOP`` of full scale, at most ``_EXPOSURE_CAP``; 1 for a
    photo already that bright (and where ``_EXPOSURE_TOP`` is 0). Read on about 2**18 pixels.

    >>> [_exposure(np.full((8, 8, 3), v, np.uint8)) for v in (40, 85, 200)]
    [2.0, 1.5, 1.0]
    """
    if _EXPOSURE_TOP <= 0:
        return 1.0
    step = max(1, int(np.sqrt(original.shape[0] * original.shape[1] / 2**18)))
    sub = original[::step, ::step]
    # Channel by channel: numpy's max over a last axis of 3 is slow (10 ms at 12 MP, against 0.5).
    top = float(np.percentile(np.maximum(np.maximum(sub[..., 0], sub[..., 1]), sub[..., 2]), 99))
    return float(min(_EXPOSURE_CAP, max(1.0, _EXPOSURE_TOP * 255 / max(top, 1.0))))


def _brighter(image: np.ndarray, exposure: float) -> np.ndarray:
    """uint8 ``image`` times ``exposure``, rounded and clipped: the compression model's drift
    (:func:`alphacut.editmerge.compression._drifted`) with that gain and no offset."""
    return _drifted(image, (exposure,) * 3, (0.0,) * 3)


def _block_means(blocks: np.ndarray) -> np.ndarray:
    """Means over axes 1 and 3 of (R, fy, C, fx) float32 ``blocks``, as a sum of strided views
    (numpy's ``mean`` over those axes took about three times as long)."""
    out = np.zeros((blocks.shape[0], blocks.shape[2]), np.float32)
    for i in range(blocks.shape[1]):
        for j in range(blocks.shape[3]):
            out += blocks[:, i, :, j]
    out *= np.float32(1 / (blocks.shape[1] * blocks.shape[3]))
    return out


def _lightness_slope() -> np.ndarray:
    """dL*/dv of a grey of sRGB code value v, for v = 0..255."""
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)[None]
    return np.gradient(srgb_to_lab(grey)[0, :, 0].astype(np.float64))


_L_SLOPE = _lightness_slope()


def _slope_at(level: np.ndarray) -> np.ndarray:
    """``np.interp(level, np.arange(256), _L_SLOPE)`` for ``level`` in [0, 255], the same float64
    values, in a ninth of the time (1 ms against 9.6 for a 12 MP photo's blocks): on a grid of
    whole numbers the knot is the integer part.

    >>> level = np.array([0, 0.5, 17.25, 254.9, 255], np.float32)
    >>> bool(np.array_equal(_slope_at(level), np.interp(level, np.arange(256), _L_SLOPE)))
    True
    """
    x = np.clip(level, 0, 255).astype(np.float64)  # a saturated block's mean can be 255 + 1 ulp
    knot = np.minimum(x.astype(np.intp), 254)
    low = _L_SLOPE[knot]
    return (_L_SLOPE[knot + 1] - low) * (x - knot) + low


def _final_regions(regions, binary: np.ndarray):
    """The kept regions as the final mask ``binary`` has them, for the page's region list and clicks.

    The regions are found before the boundary steps (refine, grain, snap, fill) and the brushes
    move the mask's outline, so their own outlines and areas are a few pixels off the mask's. Here
    each pixel of ``binary`` takes the id of the nearest kept region, and the kept regions' pixels
    outside it take none; the candidates that were not kept stay as found (where ``binary`` does
    not cover them).

    Returns
    -------
    labels : (M, N) ndarray of int
        :attr:`Regions.labels` with the kept regions so redrawn.
    kept, candidates : list of dict
        :attr:`Regions.kept` and :attr:`Regions.candidates`, each kept region's ``area`` counted
        on ``labels``.
    """
    ids = [r["id"] for r in regions.kept]
    if regions.labels is None or not ids:
        return regions.labels, regions.kept, regions.candidates
    found = regions.mask  # the kept regions' pixels, as found
    if len(ids) == 1:
        labels = np.where(binary, np.int32(ids[0]), np.where(found, 0, regions.labels))
    else:
        labels = regions.labels.copy()
        box = _bbox(binary | found, 0)
        nearest = _nearest_label(np.where(found[box], labels[box], 0))
        labels[box] = np.where(binary[box], nearest, np.where(found[box], 0, labels[box]))
    counts = np.bincount(labels.ravel(), minlength=max(ids) + 1)
    area = {i: round(float(counts[i]) / labels.size, 5) for i in ids}
    kept = [{**r, "area": area[r["id"]]} for r in regions.kept]
    candidates = [{**r, "area": area[r["id"]]} if r["kept"] else r for r in regions.candidates]
    return labels, kept, candidates


def _untouched(mask: np.ndarray, diag: float) -> np.ndarray | None:
    """The pixels well away from the edit found so far: outside ``mask`` closed over gaps of
    ``_RENOISE_CLOSE`` of the diagonal, its holes filled, and grown by a quarter of that. None if
    ``mask`` is empty or that leaves less than ``_RENOISE_MIN_UNTOUCHED`` of the photo.

    Computed on 4 x 4 blocks (a block belongs to the edit if any of its pixels does), with
    Euclidean distances: a few ms at 1024 px.
    """
    if not mask.any():
        return None
    k = 4 if min(mask.shape) >= 64 else 1
    small = _blocks(mask.astype(np.float32), k) > 0
    r = _RENOISE_CLOSE * diag / k
    edit = ndi.distance_transform_edt(~_closure(small, r)) <= r / 4
    if 1 - edit.mean() < _RENOISE_MIN_UNTOUCHED:
        return None
    return ~_repeat_up(edit, k, mask.shape)


def _noise_drop(spread: np.ndarray, detail: np.ndarray, untouched: np.ndarray) -> float:
    """By how much the texture's noise levels (:func:`alphacut.editmerge.texture.noise_levels`)
    fall, at most over the bins, when measured on the ``untouched`` pixels only. On a sparser
    subsample than the noise itself (``_RENOISE_SAMPLES``): 3 ms instead of 10 at 1024 px."""
    centres, levels = noise_levels(spread, detail, samples=_RENOISE_SAMPLES)
    centres2, levels2 = noise_levels(spread, detail, untouched=untouched, samples=_RENOISE_SAMPLES)
    return float(np.max(levels / np.interp(centres, centres2, levels2)))


def _fit_drift(orig: np.ndarray, edit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``edit ~ gain * orig + offset`` on the pixels that did not change.

    Trimmed least squares on a subsample, starting from "no drift": keep the pixels that fit
    best (``_DRIFT_KEEP`` of them), refit, three times. Returns ``(1, 0)`` when the fit is not a
    plausible drift.
    """
    step = max(1, int(np.sqrt(orig.shape[0] * orig.shape[1] / _DRIFT_SAMPLES)))
    # Channel-first samples, (3, n) in C order: every step below runs along contiguous rows.
    x = orig[::step, ::step].reshape(-1, 3).T.astype(np.float32, order="C")
    y = edit[::step, ::step].reshape(-1, 3).T.astype(np.float32, order="C")
    gain, offset = np.ones(3, np.float32), np.zeros(3, np.float32)
    for _ in range(3):
        d = x * gain[:, None]
        d += offset[:, None]
        d -= y
        np.abs(d, out=d)
        resid = d[0] + d[1]
        resid += d[2]
        keep = resid <= np.quantile(resid, _DRIFT_KEEP)
        xk, yk = x[:, keep], y[:, keep]
        mx, my = xk.mean(axis=1), yk.mean(axis=1)
        xk -= mx[:, None]
        yk -= my[:, None]
        var = np.einsum("ij,ij->i", xk, xk) / np.float32(xk.shape[1])
        flat = var < 1.0  # no spread to fit a gain on: the offset alone
        cov = np.einsum("ij,ij->i", xk, yk) / np.float32(xk.shape[1])
        gain = np.where(flat, np.float32(1), cov / np.where(flat, np.float32(1), var)).astype(np.float32)
        offset = (my - gain * mx).astype(np.float32)
    if not (np.all((gain >= _GAIN_RANGE[0]) & (gain <= _GAIN_RANGE[1])) and np.all(np.abs(offset) <= _MAX_OFFSET)):
        return np.ones(3, np.float32), np.zeros(3, np.float32)
    return gain, offset


def _undo_drift(image: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(image - offset) * scale``, channel by channel, in place on a C-contiguous (M, N, 3)
    float32 ``image``, which it returns.

    Along whole rows, the channels' values repeated: numpy broadcasts a vector of 3 over the last
    axis in steps of 3, 6 ms at 1024 px for each of the two steps, against 0.5 (session 40).
    """
    rows = image.view()
    rows.shape = (image.shape[0], -1)  # a view of image's own memory (raises if it cannot be)
    rows -= np.tile(offset, image.shape[1])
    rows *= np.tile(scale, image.shape[1])
    return image


def _drift_lut(gain, offset) -> np.ndarray:
    """(3, 256) uint8: per channel, the code value with the drift ``edit = gain * orig + offset`` undone."""
    codes = np.arange(256, dtype=np.float32)
    return np.clip(np.rint((codes - offset[:, None]) / gain[:, None]), 0, 255).astype(np.uint8)


def _soft_mask(binary: np.ndarray, guide_a: np.ndarray, guide_o: np.ndarray, radius: float, pool):
    """Feather ``binary`` along the edges of the original and bring it to the output size.

    Returns the (P, Q) float32 mask and its tile classes (see :func:`_composite`).
    """
    if radius >= 0.5 and binary.any():
        return feather_tiles(binary, guide_a, guide_o, max(1, int(round(radius))), _FEATHER_EPS, _SNAP, pool)
    if binary.shape == guide_o.shape[:2]:
        mask = binary.astype(np.float32)
    else:
        img = Image.fromarray(binary.astype(np.float32)).resize((guide_o.shape[1], guide_o.shape[0]),
                                                               Image.Resampling.BILINEAR)
        mask = (np.asarray(img) >= 0.5).astype(np.float32)
    tiles = np.where(_tiles_touched(mask > 0), np.uint8(2), np.uint8(0))
    return mask, tiles


def _tiles_touched(flags: np.ndarray) -> np.ndarray:
    """Per :data:`TILE` x :data:`TILE` tile of a boolean (M, N) array, whether any pixel is set."""
    starts = [np.arange(0, n, TILE) for n in flags.shape]
    return np.logical_or.reduceat(np.logical_or.reduceat(flags, starts[0], axis=0), starts[1], axis=1)


def _composite(orig: np.ndarray, edit: np.ndarray, mask: np.ndarray, tiles: np.ndarray, shift, lut):
    """``orig + mask * (edit' - orig)``, rounded, and ``mask`` as uint8; exact where mask is 0 or 1.

    ``edit'`` is ``edit`` moved by whole pixels (``edit'[r, c] = edit[r + shift[0], c + shift[1]]``,
    edges repeated) and mapped through the per-channel table ``lut`` (or not, if None). The work is
    done only on runs of tiles (``TILE`` square; ``tiles`` says 0: mask all 0, 1: all 1, 2:
    mixed) where the edit is taken, so that a small edit on a large photo costs little.
    """
    out = orig.copy()
    mask8 = np.zeros(mask.shape, np.uint8)
    rows, cols = mask.shape
    for ti in np.flatnonzero(tiles.any(axis=1)):
        rs = slice(ti * TILE, min(rows, (ti + 1) * TILE))
        for tj0, tj1 in true_runs(tiles[ti] > 0):
            cs = slice(tj0 * TILE, min(cols, tj1 * TILE))
            e = _moved(edit, rs, cs, shift)
            if lut is not None:
                e = np.stack([lut[c][e[:, :, c]] for c in range(3)], axis=2)
            if (tiles[ti, tj0:tj1] == 1).all():
                out[rs, cs] = e
                mask8[rs, cs] = 255
                continue
            m = mask[rs, cs]
            o = out[rs, cs].astype(np.float32)
            blend = e.astype(np.float32)
            blend -= o
            blend *= m[:, :, np.newaxis]
            blend += o
            out[rs, cs] = np.rint(blend)
            mask8[rs, cs] = np.rint(m * np.float32(255))
    return out, mask8


def _moved(image: np.ndarray, rs: slice, cs: slice, shift) -> np.ndarray:
    """``image[rs + shift[0], cs + shift[1]]`` with indices clamped to the image."""
    rows, cols = image.shape[:2]
    r0, r1, c0, c1 = rs.start + shift[0], rs.stop + shift[0], cs.start + shift[1], cs.stop + shift[1]
    if 0 <= r0 and r1 <= rows and 0 <= c0 and c1 <= cols:
        return image[r0:r1, c0:c1]
    return image[np.clip(np.arange(r0, r1), 0, rows - 1)][:, np.clip(np.arange(c0, c1), 0, cols - 1)]

"""Edit merge: contracts, oracles, and synthetic pairs with a known answer."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi
from support import iou, jpeg_round_trip

from alphacut.editmerge import MergeOptions, MergeResult, merge_edit, merge_edit_bytes
from alphacut.editmerge.align import estimate_shift
from alphacut._shared.colour import delta_e, srgb_to_lab
from alphacut.editmerge.regions import find_regions, refine_boundary
from alphacut.io.encode import encode_png


def _ellipse(shape, centre, radii):
    r, c = np.ogrid[:shape[0], :shape[1]]
    return ((r - centre[0]) / radii[0]) ** 2 + ((c - centre[1]) / radii[1]) ** 2 <= 1


def _psnr(a, b):
    mse = np.mean(np.square(a.astype(np.float64) - b.astype(np.float64)))
    return 10 * np.log10(255.0 ** 2 / mse) if mse else np.inf


@pytest.mark.parametrize("kind", ["ellipse", "corner", "two", "all", "none"])
def test_snap_boundary_equals_the_whole_image_filter(guides, kind):
    """Filtering only the band's bounding box gives the whole image's answer."""
    from alphacut.editmerge.feather import snap_boundary
    from alphacut.matte.guided_filter import guided_filter

    small, _ = guides
    shape = small.shape[:2]
    binary = {
        "ellipse": lambda: _ellipse(shape, (60, 110), (30, 45)),
        "corner": lambda: ~_ellipse(shape, (0, 0), (50, 70)),
        "two": lambda: _ellipse(shape, (30, 30), (12, 15)) | _ellipse(shape, (100, 160), (20, 25)),
        "all": lambda: np.ones(shape, bool),
        "none": lambda: np.zeros(shape, bool),
    }[kind]()
    out = snap_boundary(binary, small, radius=4, eps=1e-3)
    assert out.dtype == bool and out.shape == shape
    np.testing.assert_array_equal(out, guided_filter(small, binary, radius=4, eps=1e-3) >= 0.5)
    if kind == "ellipse":  # it moved, onto the cat's edges, but only near the boundary
        assert 0 < (out != binary).sum() < 0.2 * binary.sum()
    np.testing.assert_array_equal(snap_boundary(binary, small, radius=0, eps=1e-3), binary)


@pytest.mark.parametrize("radius", [1, 2, 4, 9, 13, 32])
def test_band_holds_every_pixel_the_filter_can_change(radius):
    """The band is measured on blocks: it holds the exact band (the mask not constant within
    2 * radius + 1), a few pixels more, and nothing far from the boundary."""
    from alphacut.editmerge.feather import _band

    rng = np.random.default_rng(radius)
    shape = (203, 301)
    binary = _ellipse(shape, (90, 120), (60, 90)) | _ellipse(shape, (200, 300), (20, 25))
    binary ^= rng.random(shape) < 0.0005  # specks, one pixel across
    size = 4 * radius + 3
    exact = ndi.maximum_filter(binary, size=size, mode="nearest") & ~ndi.minimum_filter(binary, size=size,
                                                                                        mode="nearest")
    band = _band(binary, radius)
    assert not (exact & ~band).any()
    block = 4 if radius >= 8 else 2 if radius >= 4 else 1
    beyond = ndi.distance_transform_cdt(~exact, metric="chessboard")[band]
    assert beyond.max() <= 2 * block + 1 and band.sum() < 1.5 * exact.sum()


def _object_photo(seed, radius, wobble, lobes):
    """A 320 x 240 photo: a lobed object of its own colour on a graded background, light noise.
    Returns (rng, obj, original), the rng to draw the edit from."""
    rng = np.random.default_rng(seed)
    r, c = np.ogrid[:240, :320]
    obj = np.hypot(r - 120, c - 160) < radius + wobble * np.sin(lobes * np.arctan2(r - 120, c - 160) + seed)
    base = np.empty((240, 320, 3), np.float32)
    base[:] = (90 + 0.2 * c)[..., None] * np.array([1.0, 0.9, 0.8], np.float32)
    base[obj] = (200, 120, 60)
    return rng, obj, np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


def _noise_over_an_object(seed):
    """A star-shaped object of its own colour; grain added over it with a soft (2.5 px) edge."""
    rng, obj, original = _object_photo(seed, 60, 15, 5)
    return original, _grain_over(rng, original, obj, 2.5), obj


def _grain_over(rng, original, obj, soft):
    """``original`` with grain (12 code values) blended in over ``obj``, its edge blurred by
    ``soft`` px, then JPEG at quality 85."""
    weight = ndi.gaussian_filter(obj.astype(np.float32), soft)[..., None]
    grainy = original + rng.normal(0, 12, obj.shape)[..., None]
    return jpeg_round_trip(np.clip(original * (1 - weight) + grainy * weight, 0, 255).astype(np.uint8), 85)


@pytest.mark.parametrize("seed", [0, 1])
def test_grain_over_an_object_ends_at_the_object_s_edge(monkeypatch, seed):
    """The grain's statistics place its boundary a pixel or two out; the snap onto the edit's own
    edges brings it back (ablation: without the snap the IoU drops below 0.975)."""
    import alphacut.editmerge.merge as merge_module

    original, edited, obj = _noise_over_an_object(seed)
    assert iou(merge_edit(original, edited).mask >= 0.5, obj) > 0.98
    monkeypatch.setattr(merge_module, "_EDGE_SNAP", 0.0)
    assert iou(merge_edit(original, edited).mask >= 0.5, obj) < 0.975



def _grain_over_limbs(seed):
    """A disc with four limbs 12 px wide, of its own colour; grain added over it with a soft (2 px)
    edge, then JPEG."""
    rng, _, original = _object_photo(seed, 1, 0, 1)
    r, c = np.ogrid[:240, :320]
    obj = np.hypot(r - 120, c - 160) < 38
    for angle in np.arange(4) * np.pi / 2 + 0.3 + seed:
        along = (r - 120) * np.sin(angle) + (c - 160) * np.cos(angle)
        across = -(r - 120) * np.cos(angle) + (c - 160) * np.sin(angle)
        obj |= (along > 0) & (along < 100) & (np.abs(across) < 6)
    base = original.astype(np.float32)
    base[obj] = (200, 120, 60) + rng.normal(0, 3, (int(obj.sum()), 3))
    original = np.clip(base, 0, 255).astype(np.uint8)
    return original, _grain_over(rng, original, obj, 2.0), obj


@pytest.mark.parametrize("seed", [0, 1])
def test_grain_over_thin_limbs_ends_at_the_half_weight_edge(monkeypatch, seed):
    """The grain's statistics widen thin limbs by their window; its own energy places their edges
    (ablation: without grain_boundary the IoU is 0.965 and 0.977 instead of 0.994 and 0.996)."""
    import alphacut.editmerge.merge as merge_module

    original, edited, obj = _grain_over_limbs(seed)
    placed = iou(merge_edit(original, edited).mask >= 0.5, obj)
    monkeypatch.setattr(merge_module, "grain_boundary", lambda mask, *args, **kwargs: mask)
    without = iou(merge_edit(original, edited).mask >= 0.5, obj)
    assert placed > without + 0.01
    assert placed > 0.9


def _graded(shape, seed=0):
    """A smooth grey-green gradient (code values about 100-150), uint8 RGB."""
    r, c = np.mgrid[:shape[0], :shape[1]]
    level = 100 + 50 * (r + c) / (shape[0] + shape[1])
    return np.clip(np.stack([level, level, level * 0.9], axis=-1), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("skip", [1, 2])
def test_within_variance_measures_what_the_downscale_averages_away(skip):
    """Grain of 10 code values on the left half, one pixel fine: a 4x downscale keeps 1/16 of its
    variance; the rest (about 100 x 15/16 code values squared, times L*'s slope of about 0.39 at
    that grey, squared) is measured within each analysis pixel. Right half and the smooth
    original: about 0. Every row of blocks (skip 1) or every other one (2) reads alike."""
    from alphacut.editmerge.merge import _within_variance

    original = _graded((256, 256))
    grain = np.zeros((256, 256, 1), np.float32)
    grain[:, :128] = np.random.default_rng(0).normal(0, 10, (256, 128, 1))
    edited = np.clip(original + grain, 0, 255).astype(np.uint8)
    from alphacut.editmerge.merge import _L_SLOPE

    within, own = _within_variance(original, edited, (64, 64), (0, 0), skip=skip)
    assert within.shape == own.shape == (64, 64) and within.dtype == np.float32
    level = original[:, :128, 1].astype(np.float64).mean()
    expected = 100 * (1 - 1 / 16) * np.interp(level, np.arange(256), _L_SLOPE) ** 2  # about 14.3
    assert float(within[4:60, 4:28].mean()) == pytest.approx(expected, rel=0.06)
    assert float(np.median(within[:, 36:60])) < 0.2 and own.max() < 0.2


def test_within_variance_undoes_the_drift_s_gain():
    """A textured photo brightened by a gain of 1.25 and nothing else: the difference, divided by
    the gain it is given, has nothing within the pixels; without the gain the texture shows."""
    from alphacut.editmerge.merge import _within_variance

    texture = np.random.default_rng(2).integers(40, 200, (256, 256, 3)).astype(np.float32)
    brighter = np.rint(texture * 1.25).astype(np.uint8)
    texture = texture.astype(np.uint8)
    assert float(np.median(_within_variance(texture, brighter, (64, 64), (0, 0), 1.25)[0])) < 0.05
    assert float(np.median(_within_variance(texture, brighter, (64, 64), (0, 0))[0])) > 10


def test_within_variance_follows_the_shift_and_skips_small_downscales():
    """A textured photo moved by (3, -2): with the shift undone nothing is left within the
    pixels; without, the moved texture reads as a difference. An analysis size of more than 1/1.5
    of the photo's side averages too little to measure: (None, None)."""
    from alphacut.editmerge.merge import _within_variance

    texture = np.random.default_rng(1).integers(60, 200, (200, 240, 3), dtype=np.uint8)
    moved = np.roll(texture, (-3, 2), axis=(0, 1))  # moved[r, c] = texture[r + 3, c - 2]
    within, own = _within_variance(texture, moved, (50, 60), (-3, 2))
    assert float(np.median(within[2:-2, 2:-2])) < 1e-3 and float(np.median(own)) > 100
    assert float(np.median(_within_variance(texture, moved, (50, 60), (0, 0))[0])) > 100
    assert _within_variance(texture, moved, (150, 180), (0, 0)) == (None, None)


def test_fine_grain_on_a_large_photo_is_found_below_the_analysis_size(monkeypatch):
    """One-pixel grain (12 code values, JPEG 85) over an ellipse of a 3200 x 2400 photo: the
    downscale to 1024 px averages it to a third of its spread, under the compression noise. The
    variance within each analysis pixel finds it: IoU 0.987 (ablation: without it, no edit is found)."""
    import alphacut.editmerge.merge as merge_module
    from skimage import data

    rng = np.random.default_rng(5)
    rows, cols = 2400, 3200
    photo = Image.fromarray(data.astronaut()).resize((cols, rows), Image.Resampling.BICUBIC)
    original = jpeg_round_trip(np.asarray(photo), 92)
    obj = _ellipse((rows, cols), (1300, 1500), (600, 800))
    grain = rng.normal(0, 12, (rows, cols, 1)).astype(np.float32) * obj[..., None]
    edited = jpeg_round_trip(np.clip(original + grain, 0, 255).astype(np.uint8), 85)
    assert iou(merge_edit(original, edited).mask >= 0.5, obj) > 0.95
    monkeypatch.setattr(merge_module, "_WITHIN_MIN", 1000)
    assert iou(merge_edit(original, edited).mask >= 0.5, obj) < 0.3


def test_an_edit_returned_at_half_size_finds_nothing_within_the_pixels():
    """An editing model that returns the photo at half its size (resized back up by the merge)
    has lost its fine detail everywhere: that is the original's own variance within each analysis
    pixel, binned as noise, not an edit. No mask, as without the step."""
    from skimage import data

    rows, cols = 1800, 2400
    photo = Image.fromarray(data.astronaut()).resize((cols, rows), Image.Resampling.BICUBIC)
    original = jpeg_round_trip(np.asarray(photo), 92)
    half = Image.fromarray(original).resize((cols // 2, rows // 2), Image.Resampling.LANCZOS)
    half = jpeg_round_trip(np.asarray(half), 85)
    result = merge_edit(original, half)
    assert "resized" in result.report["warnings"][0]  # the path under test
    assert float(result.mask.max()) < 0.5


def test_a_grainy_photo_recompressed_is_not_an_edit(monkeypatch):
    """A 3200 x 2400 photo whose left half has one-pixel grain of its own (15 code values, JPEG
    95), and an "edit" that only saves it again at JPEG 75: the recompression changes the grain a
    lot within each analysis pixel, as much as the photo's own detail there predicts. No mask;
    without the original's own variance in the level of detail, half the photo (the grain) was
    taken for an edit."""
    import alphacut.editmerge.merge as merge_module
    from skimage import data

    rows, cols = 2400, 3200
    photo = np.asarray(Image.fromarray(data.astronaut()).resize((cols, rows), Image.Resampling.BICUBIC), np.float32)
    photo[:, :cols // 2] += np.random.default_rng(6).normal(0, 15, (rows, cols // 2, 1))
    original = jpeg_round_trip(np.clip(photo, 0, 255).astype(np.uint8), 95)
    resaved = jpeg_round_trip(original, 75)
    assert float((merge_edit(original, resaved).mask >= 0.5).mean()) < 0.01
    monkeypatch.setattr(merge_module, "detail_within", lambda detail, within, sigma: detail)
    assert float((merge_edit(original, resaved).mask >= 0.5).mean()) > 0.2


def _grain_mask_case(kind):
    """(mask, original, edit, coherence) for grain_boundary: a disc of weight-1 change whose mask
    overshoots it by 5 px; ``kind`` is fine grain, a coarse texture (blotches) or a recolour."""
    rng = np.random.default_rng(3)
    r, c = np.ogrid[:120, :160]
    disc = np.hypot(r - 60, c - 80) < 35
    original = np.full((120, 160, 3), 0.5, np.float32)
    if kind == "grain":
        change = 0.05 * rng.standard_normal((120, 160))
    elif kind == "blotches":
        change = ndi.gaussian_filter(rng.standard_normal((120, 160)), 4.0)
        change *= 0.05 / change.std()
    else:
        change = np.full((120, 160), 0.1)
    edit = original + (change * disc)[..., None]
    coherence = np.full((120, 160), 1.0 if kind == "recolour" else 0.2, np.float32)
    return np.hypot(r - 60, c - 80) < 40, original, edit.astype(np.float32), coherence


@pytest.mark.parametrize("kind", ["grain", "blotches", "recolour"])
def test_grain_boundary_moves_only_fine_grain_and_only_near_the_boundary(kind):
    from alphacut.editmerge.regions import grain_boundary

    mask, original, edit, coherence = _grain_mask_case(kind)
    out = grain_boundary(mask, original, edit, coherence, width=8, incoherent=0.8, sigma=2.0, level=0.3,
                         fine=0.5)
    if kind != "grain":  # a coarse texture and a coherent change keep their outline
        np.testing.assert_array_equal(out, mask)
        return
    disc = np.hypot(*np.ogrid[-60:60, -80:80]) < 35
    assert iou(out, disc) > 0.9 > 0.8 > iou(mask, disc)  # 0.94 against 0.77
    moved = out != mask
    near = ndi.distance_transform_edt(mask) <= 8
    near |= ndi.distance_transform_edt(~mask) <= 8
    assert moved.any() and not (moved & ~near).any()
    # A hole the mask had (unchanged) stays open, its rim placed like the outer edge; an empty mask
    # is returned as it is.
    hole = np.hypot(*np.ogrid[-60:60, -80:80]) < 6
    unchanged = np.where(hole[..., None], original, edit)
    assert not grain_boundary(mask & ~hole, original, unchanged, coherence, width=8, incoherent=0.8, sigma=2.0,
                              level=0.3, fine=0.5)[np.hypot(*np.ogrid[-60:60, -80:80]) < 4].any()
    empty = np.zeros_like(mask)
    assert not grain_boundary(empty, original, edit, coherence, width=8, incoherent=0.8, sigma=2.0, level=0.3,
                              fine=0.5).any()

def test_grain_boundary_takes_the_compression_error_out_pixel_by_pixel():
    """The compression model subtracts the error it predicts for the untouched photo (``e0``); in
    the JPEG blocks the grain reached, the file's error is another (``e1``), so the cleaned edit
    keeps ``e1 - e0`` over the whole of each such block, and the grain's edge moves out. With the
    edit as it came, the energy ``|compressed - original|**2 - |compressed - cleaned|**2`` has no
    such excess, and the edge lands at the half weight."""
    from alphacut.editmerge.regions import grain_boundary

    rng = np.random.default_rng(5)
    r, c = np.ogrid[:128, :160]
    weight = ndi.gaussian_filter((np.hypot(r - 64, c - 80) < 36).astype(np.float32), 2.0)
    original = np.full((128, 160, 3), 0.5, np.float32)
    grain = 0.05 * rng.standard_normal((128, 160, 1)) * weight[..., None]
    e0, e1 = 0.02 * rng.standard_normal((2, 128, 160, 3))
    touched = np.kron((weight > 0.01).reshape(16, 8, 20, 8).any(axis=(1, 3)), np.ones((8, 8))) > 0
    compressed = (original + grain + np.where(touched[..., None], e1, e0)).astype(np.float32)
    cleaned = (compressed - e0).astype(np.float32)
    mask = np.hypot(r - 64, c - 80) < 42  # overshoots by 6 px
    coherence = np.full((128, 160), 0.2, np.float32)
    half = weight > 0.5
    kw = dict(width=8, incoherent=0.8, sigma=1.5, level=0.3, fine=0.5)
    before = grain_boundary(mask, original, cleaned, coherence, **kw)
    after = grain_boundary(mask, original, cleaned, coherence, compressed=compressed, **kw)
    assert iou(after, half) > 0.95 > 0.9 > iou(before, half)  # 0.97 against 0.88
    assert (after & ~half).sum() < 0.3 * (before & ~half).sum()  # 76 px outside against 540


def test_merge_gives_grain_boundary_the_edit_as_it_came_only_where_it_cleaned_it(monkeypatch):
    """A JPEG edit that the compression model cleans: ``grain_boundary`` gets the edit as it came,
    at the analysis size; with the model off it gets none."""
    import alphacut.editmerge.merge as merge_module

    seen = []
    real = merge_module.grain_boundary
    monkeypatch.setattr(merge_module, "grain_boundary",
                        lambda *args, compressed=None, **kwargs: seen.append(compressed) or real(*args, **kwargs))
    original, edited, _ = _grain_over_limbs(0)
    merge_edit(original, edited)
    merge_edit(original, edited, options=MergeOptions(undo_compression=False))
    assert seen[0] is not None and seen[0].shape == original.shape and seen[1] is None


def _blotches_over_a_square(seed, strength=1.5):
    """A flat photo; coarse blotches (a noise field blurred at 2 px) over the square [20:60, 20:60]."""
    rng = np.random.default_rng(seed)
    original = np.full((80, 80, 3), 0.5, np.float32)
    field = ndi.gaussian_filter(rng.standard_normal((80, 80)), 2.0)
    edit = original.copy()
    edit[20:60, 20:60] += strength * field[20:60, 20:60, None]
    truth = np.zeros((80, 80), bool)
    truth[20:60, 20:60] = True
    return original, edit, truth


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grow_grain_adds_what_a_coarse_texture_s_detection_left_out(seed):
    """The detection found the left half of the blotches: the mask grows over most of the rest,
    and by about a pixel outside; it never shrinks."""
    from alphacut.editmerge.regions import grow_grain

    original, edit, truth = _blotches_over_a_square(seed)
    mask = np.zeros_like(truth)
    mask[20:60, 20:40] = True
    coherence = np.full(truth.shape, 0.7, np.float32)
    out = grow_grain(mask, original, edit, coherence, width=4, sigma=2, ratio=8, level=0.3, reach=30,
                     coherent=0.95, coarse=0.06, thin=2)
    assert (out & mask).sum() == mask.sum()
    assert (out & truth).sum() > 0.8 * truth.sum()  # from 0.5
    assert (out & ~truth).sum() < 0.1 * truth.sum()  # about a pixel's rim, from the energy's blur
    assert iou(out, truth) > 0.8 > 0.5 >= iou(mask, truth)


@pytest.mark.parametrize("case", ["smooth", "coherent", "noisy_around", "empty"])
def test_grow_grain_leaves_smooth_changes_coherent_regions_and_noisy_surroundings(case):
    """A recolour (its change is smooth), a region whose change survives the blur, a region whose
    surroundings change as much (a dark photo's brightened noise), and an empty mask: unchanged."""
    from alphacut.editmerge.regions import grow_grain

    original, edit, truth = _blotches_over_a_square(4)
    coherence = np.full(truth.shape, 0.7, np.float32)
    mask = np.zeros_like(truth)
    mask[20:60, 20:40] = True
    if case == "smooth":
        edit = original.copy()
        edit[20:60, 20:60, 0] += 0.3
    elif case == "coherent":
        coherence[:] = 0.97
    elif case == "noisy_around":
        edit = edit + 0.8 * ndi.gaussian_filter(np.random.default_rng(5).standard_normal((80, 80)), 2.0)[..., None]
    else:
        mask[:] = False
    out = grow_grain(mask, original, edit, coherence, width=4, sigma=2, ratio=8, level=0.3, reach=30,
                     coherent=0.95, coarse=0.06, thin=2)
    assert (out == mask).all()


def _coarse_texture_with_a_weak_patch(seed):
    """A blob-shaped object of its own colour; a coarse noisy texture (blotches of about 10 px)
    over it, a tenth as strong in a patch at its right edge, then JPEG."""
    rng, obj, original = _object_photo(seed, 70, 12, 3)
    r, c = np.ogrid[:240, :320]
    field = ndi.gaussian_filter(rng.standard_normal((240, 320)), 4.5)
    field -= ndi.gaussian_filter(field, 13.5)
    field *= 25 / field.std()
    field[np.hypot(r - 120, c - 215) < 22] *= 0.1
    weight = ndi.gaussian_filter(obj.astype(np.float32), 2.0)
    textured = original + (field * weight)[..., None] * np.array([1.0, 0.8, 0.7])
    return original, jpeg_round_trip(np.clip(textured, 0, 255).astype(np.uint8), 85), obj


@pytest.mark.parametrize("seed", [0, 1])
def test_a_coarse_texture_s_weak_patch_is_filled_up_to_the_object_s_edge(monkeypatch, seed):
    """Where the texture is weak its mask has a bay; the wide snap inside the mask's closure fills
    it up to the edit's own edges (ablation: ``_INLET_SNAP`` 0 leaves the IoU 0.02-0.03 lower)."""
    import alphacut.editmerge.merge as merge_module

    original, edited, obj = _coarse_texture_with_a_weak_patch(seed)
    filled = merge_edit(original, edited).mask >= 0.5
    monkeypatch.setattr(merge_module, "_INLET_SNAP", 0.0)
    without = merge_edit(original, edited).mask >= 0.5
    assert iou(filled, obj) > iou(without, obj) + 0.01
    assert iou(filled, obj) > 0.8


def _disc_bay_hole():
    r, c = np.ogrid[:600, :800]
    disc = np.hypot(r - 300, c - 400) < 200
    return {"disc": disc, "bay": disc & ~((np.abs(r - 300) < 15) & (c > 450)),
            "hole": disc & ~(np.hypot(r - 300, c - 330) < 20), "two": disc | (np.hypot(r - 300, c - 40) < 30)}


@pytest.mark.parametrize("kind", ["disc", "bay", "hole", "two"])
def test_enclosed_gaps_on_blocks_are_the_pixels_answer(kind):
    """From a reach of 32 px the gaps are found on 4 x 4 blocks: nearly the pixels' answer, and
    no ring of pixels along a convex edge."""
    from alphacut.editmerge.feather import _enclosed
    from alphacut.editmerge.regions import _close

    mask = _disc_bay_hole()[kind]
    exact = ndi.binary_fill_holes(_close(mask, 40.0)) & ~mask
    blocks = _enclosed(mask, 40.0)
    assert not (mask & blocks).any()
    assert (blocks & ~exact).sum() <= 4
    if kind in ("disc", "two"):  # nothing enclosed (the far disc is beyond the reach)
        assert not exact.any() and not blocks.any()
    else:
        assert exact.sum() > 1000 and (blocks & exact).sum() >= 0.95 * exact.sum()
    np.testing.assert_array_equal(_enclosed(mask, 31.0), ndi.binary_fill_holes(_close(mask, 31.0)) & ~mask)


def test_fill_inlets_only_adds_and_only_inside_the_closure(guides):
    from alphacut.editmerge.feather import fill_inlets, snap_boundary
    from alphacut.editmerge.regions import _close

    small, _ = guides
    shape = small.shape[:2]
    binary = _ellipse(shape, (60, 110), (30, 45)) & ~_ellipse(shape, (60, 150), (8, 20))  # a bay
    out = fill_inlets(binary, small, radius=8, eps=1e-3, reach=10)
    closure = ndi.binary_fill_holes(_close(binary, 10))
    assert (out >= binary).all() and not (out & ~closure).any() and out.sum() > binary.sum()
    wide = snap_boundary(binary, small, radius=8, eps=1e-3)
    np.testing.assert_array_equal(out, binary | (wide & closure))
    for empty in (np.zeros(shape, bool), np.ones(shape, bool)):
        np.testing.assert_array_equal(fill_inlets(empty, small, radius=8, eps=1e-3, reach=10), empty)
    np.testing.assert_array_equal(fill_inlets(binary, small, radius=0, eps=1e-3, reach=10), binary)


@pytest.mark.parametrize("kind", ["noise", "recolour"])
def test_an_edited_ring_keeps_its_unchanged_hole(monkeypatch, kind):
    """A hole under ``MAX_HOLE`` whose change is clearly none stays open (ablation: with
    ``HOLE_UNCHANGED`` 0 it is filled, and the IoU drops to 0.84)."""
    import alphacut.editmerge.regions as regions_module

    rng = np.random.default_rng(0)
    r, c = np.ogrid[:480, :640]
    rad = np.hypot(r - 240, c - 320)
    ring = (rad < 70) & (rad > 28)  # the hole: 0.8 % of the image
    base = np.empty((480, 640, 3), np.float32)
    base[:] = (90 + 0.2 * c)[..., None] * np.array([1.0, 0.9, 0.8], np.float32)
    base[ring] = (200, 120, 60)
    original = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
    weight = ndi.gaussian_filter(ring.astype(np.float32), 1.5)[..., None]
    full = (original + rng.normal(0, 12, ring.shape)[..., None] if kind == "noise"
            else original[..., [2, 0, 1]].astype(np.float32))
    edited = jpeg_round_trip(np.clip(original * (1 - weight) + full * weight, 0, 255).astype(np.uint8), 85)
    mask = merge_edit(original, edited).mask >= 0.5
    assert not mask[rad < 20].any() and iou(mask, ring) > 0.99
    monkeypatch.setattr(regions_module, "HOLE_UNCHANGED", 0.0)
    mask = merge_edit(original, edited).mask >= 0.5
    assert mask[rad < 20].all() and iou(mask, ring) < 0.9


@pytest.fixture(scope="module")
def pair(cat_rgb):
    """The cat with its head recoloured, plus what an editing model adds elsewhere.

    Returns (original, edited, known mask, clean edit).
    """
    original = cat_rgb
    shape = original.shape[:2]
    mask = _ellipse(shape, (120, 190), (60, 80))
    clean = original.copy()
    clean[mask] = original[mask][:, [2, 0, 1]] // 2 + 60
    rng = np.random.default_rng(0)
    drift = clean.astype(np.float32) * np.float32(1.02) + rng.normal(0, 1.5, clean.shape).astype(np.float32)
    drift[_ellipse(shape, (250, 400), (6, 6))] += 20  # a small unrelated change
    edited = jpeg_round_trip(np.clip(np.rint(drift), 0, 255).astype(np.uint8), 80)
    return original, edited, mask, clean


# --- Lab and Delta E -----------------------------------------------------------------------


@pytest.mark.parametrize(("rgb", "lab"), [
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
])
def test_lab_reference_values(rgb, lab):
    out = srgb_to_lab(np.array(rgb, np.uint8))
    np.testing.assert_allclose(out, lab, atol=0.01)


@pytest.mark.parametrize("shape", [(3,), (5, 3), (4, 7, 3)])
def test_lab_uint8_and_float_agree_with_skimage(shape):
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    from_u8 = srgb_to_lab(rgb)
    from_float = srgb_to_lab(rgb / 255.0)
    assert from_u8.dtype == np.float32 and from_u8.shape == shape
    np.testing.assert_allclose(from_u8, from_float, atol=1e-3)
    np.testing.assert_allclose(from_u8, rgb2lab(rgb.reshape(-1, 1, 3)).reshape(shape), atol=0.02)


def test_delta_e_is_euclidean():
    a = np.array([[50, 10, -10]], np.float32)
    b = np.array([[53, 14, -10]], np.float32)
    assert delta_e(a, b).tolist() == [5.0]
    with pytest.raises(ValueError):
        delta_e(a, b[:, :2])


# --- alignment -----------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [(0, 0), (2, -3), (-1, 1), (3, 0)])
def test_estimate_shift_recovers_known_shift(cat_rgb, shift):
    rows, cols = cat_rgb.shape[:2]
    ri = np.clip(np.arange(rows) - shift[0], 0, rows - 1)
    ci = np.clip(np.arange(cols) - shift[1], 0, cols - 1)
    moved = jpeg_round_trip(cat_rgb[ri][:, ci], 85)
    est = estimate_shift(cat_rgb, moved, max_shift=0.02)
    np.testing.assert_allclose(est, shift, atol=0.3)


def test_estimate_shift_validates():
    with pytest.raises(ValueError):
        estimate_shift(np.zeros((8, 8)), np.zeros((8, 9)), max_shift=0.1)
    with pytest.raises(ValueError):
        estimate_shift(np.zeros((8, 8)), np.zeros((8, 8)), max_shift=0.5)


def test_merge_undoes_global_shift(pair):
    original, _, mask, clean = pair
    rows, cols = original.shape[:2]
    ri = np.clip(np.arange(rows) - 2, 0, rows - 1)
    ci = np.clip(np.arange(cols) + 3, 0, cols - 1)
    moved = jpeg_round_trip(clean[ri][:, ci], 90)
    res = merge_edit(original, moved)
    assert res.report["shift"] == [2, -3]
    assert iou(res.mask >= 0.5, mask) > 0.9


# --- the known answer ----------------------------------------------------------------------


def test_recovers_known_edit(pair):
    original, edited, mask, clean = pair
    res = merge_edit(original, edited)
    assert iou(res.mask >= 0.5, mask) > 0.9
    # Outside a band around the edit, the original comes back exactly.
    far = ndi.distance_transform_edt(~mask) > 8
    assert np.array_equal(res.composite[far], original[far])
    # Inside, the edit (its drift undone), close to the clean edit.
    inner = ndi.distance_transform_edt(mask) > 8
    err = delta_e(srgb_to_lab(res.composite[inner]), srgb_to_lab(clean[inner]))
    assert float(err.mean()) < 3.0


@pytest.mark.parametrize("preview", [0, 160])
def test_threads_change_nothing(pair, monkeypatch, preview):
    # CPython runs some steps on a second thread; Pyodide runs them one after the other.
    from alphacut._shared import threads

    original, edited, _, _ = pair
    opts = MergeOptions(preview_max_side=preview)
    with_threads = merge_edit(original, edited, options=opts)
    monkeypatch.setattr(threads.sys, "platform", "emscripten")
    alone = merge_edit(original, edited, options=opts)
    assert np.array_equal(with_threads.mask, alone.mask) and with_threads.mask.any()
    assert np.array_equal(with_threads.composite, alone.composite)
    assert np.array_equal(with_threads.labels, alone.labels)


def test_no_edit_gives_empty_mask(cat_rgb):
    res = merge_edit(cat_rgb, jpeg_round_trip(cat_rgb, 75))
    assert res.report["regions"] == [] and not res.mask.any()
    assert np.array_equal(res.composite, cat_rgb)


def test_primary_only_drops_small_side_change():
    diff = np.zeros((200, 200), np.float32)
    diff[40:140, 40:140] = 40.0
    diff[170:180, 170:180] = 12.0
    primary = find_regions(diff, sensitivity=1.0, close_gaps=0.01, primary_only=True, max_regions=8)
    both = find_regions(diff, sensitivity=1.0, close_gaps=0.01, primary_only=False, max_regions=8)
    assert len(primary.kept) == 1 and not primary.mask[175, 175] and primary.mask[90, 90]
    assert len(both.kept) == 2 and both.mask[175, 175]


def test_primary_only_keeps_a_smaller_region_changed_alike(monkeypatch):
    """The same edit on a second, smaller object is as strong per pixel as on the first: kept,
    though far lighter. A speck as strong (an unrelated touch) and a weaker side change are not."""
    from alphacut.editmerge import regions

    diff = np.zeros((200, 200), np.float32)
    diff[40:140, 40:140] = 40.0   # the edit: 10000 px
    diff[150:180, 20:50] = 36.0   # the same edit on a smaller object: 900 px, 0.09 of the mass
    diff[20:26, 170:176] = 40.0   # a speck as strong: 36 px, under ALIKE_AREA of the image
    diff[160:190, 160:190] = 12.0  # a weaker change: 900 px at 0.3 of the mean
    kw = dict(sensitivity=1.0, close_gaps=0.01, primary_only=True, max_regions=8)
    r = find_regions(diff, **kw)
    assert r.mask[90, 90] and r.mask[165, 35]
    assert not r.mask[23, 173] and not r.mask[175, 175]
    assert sorted(c["why"] for c in r.candidates) == ["kept", "kept", "weak", "weak"]
    monkeypatch.setattr(regions, "ALIKE_RATIO", 0.0)  # the rule off: mass alone decides
    off = find_regions(diff, **kw)
    assert off.mask[90, 90] and not off.mask[165, 35]


def test_sensitivity_moves_threshold():
    diff = np.random.default_rng(0).random((64, 64), dtype=np.float32) * 2
    lo = find_regions(diff, sensitivity=0.5, close_gaps=0.01, primary_only=True, max_regions=4)
    hi = find_regions(diff, sensitivity=2.0, close_gaps=0.01, primary_only=True, max_regions=4)
    assert lo.threshold == pytest.approx(4 * hi.threshold)


# --- contracts -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 2), (17, 5), (64, 96), (130, 40)])
@pytest.mark.parametrize("channels", [3, 4])
def test_output_contract(shape, channels):
    rng = np.random.default_rng(sum(shape))
    original = rng.integers(0, 256, shape + (channels,), dtype=np.uint8)
    edited = rng.integers(0, 256, shape + (channels,), dtype=np.uint8)
    res = merge_edit(original, edited)
    assert isinstance(res, MergeResult)
    assert res.composite.shape == shape + (3,) and res.composite.dtype == np.uint8
    assert res.mask.shape == shape and res.mask.dtype == np.float32
    assert res.mask8.shape == shape and res.mask8.dtype == np.uint8
    assert 0.0 <= res.mask.min() and res.mask.max() <= 1.0
    np.testing.assert_array_equal(res.mask8, np.rint(res.mask * 255).astype(np.uint8))
    zero = res.mask == 0
    np.testing.assert_array_equal(res.composite[zero], original[..., :3][zero])
    one = res.mask == 1
    np.testing.assert_array_equal(res.mask8[zero], 0)
    np.testing.assert_array_equal(res.mask8[one], 255)


def test_composite_equals_original_where_mask_is_zero(pair):
    original, edited, _, _ = pair
    res = merge_edit(original, edited)
    zero = res.mask == 0
    assert zero.mean() > 0.5
    np.testing.assert_array_equal(res.composite[zero], original[zero])


def test_protect_and_force_are_exact(pair):
    original, edited, mask, _ = pair
    protect = np.zeros(mask.shape, bool)
    protect[100:140, 150:230] = True  # inside the edit
    force = np.zeros(mask.shape, bool)
    force[10:30, 10:60] = True  # far from it
    force[130:135, 150:160] = True  # overlaps protect: protect wins
    res = merge_edit(original, edited, protect=protect, force=force)
    assert (res.mask[protect] == 0).all()
    np.testing.assert_array_equal(res.composite[protect], original[protect])
    only_force = force & ~protect
    assert (res.mask[only_force] == 1).all() and (res.mask8[only_force] == 255).all()
    assert res.composite[only_force].tolist() != original[only_force].tolist()


def test_size_mismatch_is_resized_and_reported(pair):
    original, edited, mask, _ = pair
    small = np.asarray(Image.fromarray(edited).resize((300, 200), Image.Resampling.BICUBIC))
    res = merge_edit(original, small)
    assert res.composite.shape == original.shape
    assert len(res.report["warnings"]) == 1
    assert "300x200" in res.report["warnings"][0] and "451x300" in res.report["warnings"][0]
    assert "stretched" not in res.report["warnings"][0]
    assert iou(res.mask >= 0.5, mask) > 0.85
    wide = np.asarray(Image.fromarray(edited).resize((400, 200), Image.Resampling.BICUBIC))
    assert "stretched" in merge_edit(original, wide).report["warnings"][0]
    assert merge_edit(original, edited).report["warnings"] == []


def test_input_validation(pair):
    original, edited, _, _ = pair
    with pytest.raises(ValueError, match="original must be"):
        merge_edit(original.astype(np.float32), edited)
    with pytest.raises(ValueError):
        merge_edit(original[..., 0], edited)
    with pytest.raises(ValueError):
        merge_edit(original, edited, protect=np.zeros((3, 3), bool))
    with pytest.raises(TypeError):
        merge_edit(original, edited, force=np.zeros(original.shape[:2], np.uint8))
    with pytest.raises(TypeError):
        merge_edit(original, edited, options={"feather": 0.0})


@pytest.mark.parametrize("bad", [
    {"sensitivity": 0}, {"sensitivity": -1.0}, {"feather": 0.5}, {"primary_only": 1},
    {"max_regions": 0}, {"max_regions": 2.5}, {"align_shift": 0.5}, {"analysis_max_side": 10},
    {"preview_max_side": -1}, {"compress_level": 10}, {"match_colour": "yes"}, {"sensitivity": True},
])
def test_options_reject_bad_values(bad):
    with pytest.raises(ValueError):
        MergeOptions.from_dict(bad)


def test_options_from_dict():
    assert MergeOptions.from_dict(None) == MergeOptions()
    opts = MergeOptions.from_dict({"sensitivity": 2, "max_regions": 3.0, "primary_only": False})
    assert opts.sensitivity == 2.0 and isinstance(opts.sensitivity, float)
    assert opts.max_regions == 3 and isinstance(opts.max_regions, int) and opts.primary_only is False
    with pytest.raises(ValueError, match="unknown option"):
        MergeOptions.from_dict({"sensitivity": 1.0, "radius": 3})
    with pytest.raises(AttributeError):
        opts.sensitivity = 3.0  # frozen


def test_report_is_json_and_timed(pair):
    import json

    original, edited, _, _ = pair
    report = merge_edit(original, edited).report
    assert json.loads(json.dumps(report)) == report
    assert {"align", "difference", "regions", "feather", "composite"} <= set(report["timings_ms"])
    assert len(report["regions"]) == 1


def test_hard_edge_when_feather_is_zero(pair):
    original, edited, _, _ = pair
    res = merge_edit(original, edited, options=MergeOptions(feather=0.0))
    assert set(np.unique(res.mask).tolist()) == {0.0, 1.0}


# --- preview vs full -----------------------------------------------------------------------


def test_preview_matches_full(pair):
    original, edited, _, _ = pair
    full = merge_edit(original, edited)
    prev = merge_edit(original, edited, options=MergeOptions(preview_max_side=150))
    assert prev.composite.shape == (100, 150, 3) and prev.mask.shape == (100, 150)
    up = np.asarray(Image.fromarray(prev.mask).resize((451, 300), Image.Resampling.BILINEAR))
    assert iou(up >= 0.5, full.mask >= 0.5) > 0.95
    assert float(np.abs(up - full.mask).mean()) < 0.02


def test_regions_do_not_depend_on_analysis_resolution(pair):
    """Lengths are fractions of the diagonal and levels are statistics: a coarser analysis agrees."""
    original, edited, _, _ = pair
    fine = merge_edit(original, edited)
    coarse = merge_edit(original, edited, options=MergeOptions(analysis_max_side=160))
    assert coarse.report["analysis_width"] == 160 and fine.report["analysis_width"] == 451
    assert iou(coarse.mask >= 0.5, fine.mask >= 0.5) > 0.9


# --- bytes ---------------------------------------------------------------------------------


def test_bytes_round_trip(pair):
    original, edited, mask, _ = pair
    protect = np.zeros(mask.shape, np.uint8)
    protect[100:140, 150:230] = 255
    png, mask_png, report = merge_edit_bytes(encode_png(original), encode_png(edited),
                                             {"compress_level": 6}, encode_png(protect), None)
    comp = np.asarray(Image.open(io.BytesIO(png)))
    m8 = np.asarray(Image.open(io.BytesIO(mask_png)))
    assert comp.shape == original.shape and m8.shape == mask.shape and m8.dtype == np.uint8
    assert (m8[100:140, 150:230] == 0).all()
    np.testing.assert_array_equal(comp[m8 == 0], original[m8 == 0])
    assert {"decode", "encode"} <= set(report["timings_ms"])
    with pytest.raises(ValueError, match="unknown option"):
        merge_edit_bytes(encode_png(original), encode_png(edited), {"bogus": 1})


# --- feather -------------------------------------------------------------------------------


def _snapped_guided_filter(binary, guide, output_guide, radius, eps, snap):
    """The oracle: the fast guided filter on the whole image, clipped and snapped."""
    from alphacut.matte.guided_filter import guided_filter

    same = output_guide is guide
    ref = guided_filter(guide, binary.astype(np.float32), radius=radius, eps=eps,
                        output_guide=None if same else output_guide)
    np.clip(ref, 0, 1, out=ref)
    ref[ref < snap] = 0
    ref[ref > 1 - snap] = 1
    return ref


@pytest.fixture(scope="module")
def guides(cat_rgb):
    """The cat at an analysis size and at a larger, odd output size."""
    small = np.asarray(Image.fromarray(cat_rgb).resize((200, 133), Image.Resampling.BOX))
    return small, np.asarray(Image.fromarray(cat_rgb).resize((451 + 250, 300 + 167), Image.Resampling.BICUBIC))


@pytest.mark.parametrize("kind", ["ellipse", "corner", "two", "all", "none", "stripe"])
@pytest.mark.parametrize("same", [True, False])
def test_feather_equals_fast_guided_filter_everywhere(guides, kind, same):
    """Band-only work must give the whole-image filter's answer, including far from the band."""
    from alphacut.editmerge.feather import feather_mask

    small, big = guides
    shape = small.shape[:2]
    binary = {
        "ellipse": lambda: _ellipse(shape, (60, 110), (30, 45)),
        "corner": lambda: ~_ellipse(shape, (0, 0), (50, 70)),  # mostly ones, touching three borders
        "two": lambda: _ellipse(shape, (30, 30), (12, 15)) | _ellipse(shape, (100, 160), (20, 25)),
        "all": lambda: np.ones(shape, bool),
        "none": lambda: np.zeros(shape, bool),
        "stripe": lambda: np.pad(np.ones((shape[0], 3), bool), ((0, 0), (90, shape[1] - 93))),
    }[kind]()
    out = small if same else big
    mask = feather_mask(binary, small, out, radius=3, eps=1e-3)
    ref = _snapped_guided_filter(binary, small, out, 3, 1e-3, 0.0)
    assert mask.shape == out.shape[:2] and mask.dtype == np.float32 and mask.flags.c_contiguous
    np.testing.assert_allclose(mask, ref, atol=2e-5)
    assert ((mask == 0) | (mask == 1)).mean() > 0.5
    # Snapping moves only the values within ``snap`` of 0 or 1 (up to float rounding at the limit).
    snap = 1 / 510
    snapped = feather_mask(binary, small, out, radius=3, eps=1e-3, snap=snap)
    moved = snapped != mask
    assert (((mask[moved] < snap + 1e-5) & (snapped[moved] == 0))
            | ((mask[moved] > 1 - snap - 1e-5) & (snapped[moved] == 1))).all()
    assert not ((snapped > 0) & (snapped < snap)).any() and not ((snapped < 1) & (snapped > 1 - snap)).any()


def test_feather_tiles_describe_the_mask(guides):
    from alphacut.editmerge.feather import TILE, feather_tiles

    small, big = guides
    binary = _ellipse(small.shape[:2], (60, 110), (30, 45))
    mask, tiles = feather_tiles(binary, small, big, 3, 1e-3, 1 / 510)
    assert tiles.shape == (-(-big.shape[0] // TILE), -(-big.shape[1] // TILE))
    assert {0, 1, 2} == set(np.unique(tiles).tolist())
    for (ti, tj), kind in np.ndenumerate(tiles):
        block = mask[ti * TILE:(ti + 1) * TILE, tj * TILE:(tj + 1) * TILE]
        if kind < 2:
            assert (block == kind).all()


def test_feather_validates(guides):
    from alphacut.editmerge.feather import feather_mask

    small, big = guides
    binary = np.zeros(small.shape[:2], bool)
    with pytest.raises(ValueError):
        feather_mask(binary.astype(np.uint8), small, radius=2, eps=1e-3)
    with pytest.raises(ValueError):
        feather_mask(binary[1:], small, radius=2, eps=1e-3)
    with pytest.raises(ValueError):
        feather_mask(binary, small.astype(np.float32), radius=2, eps=1e-3)
    with pytest.raises(ValueError):
        feather_mask(binary, small, radius=0, eps=1e-3)
    with pytest.raises(ValueError):
        feather_mask(binary, small, radius=2, eps=0)


# --- full-size work only where the edit lands -----------------------------------------------


@pytest.fixture(scope="module")
def big_pair(cat_rgb):
    """A 2.4x cat (many tiles), its edit moved by (2, -3) px with a colour drift, and the known mask."""
    original = np.asarray(Image.fromarray(cat_rgb).resize((1082, 720), Image.Resampling.BICUBIC))
    shape = original.shape[:2]
    mask = _ellipse(shape, (290, 450), (140, 190))
    clean = original.copy()
    clean[mask] = original[mask][:, [2, 0, 1]] // 2 + 60
    drift = np.clip(np.rint(clean * np.float32(1.03) - 4), 0, 255).astype(np.uint8)
    rows, cols = shape
    moved = drift[np.clip(np.arange(rows) - 2, 0, rows - 1)][:, np.clip(np.arange(cols) + 3, 0, cols - 1)]
    return original, jpeg_round_trip(moved, 90), mask


def test_merge_of_a_moved_drifted_edit_equals_the_whole_image_formula(big_pair):
    from alphacut.editmerge.merge import _drift_lut

    original, edited, mask = big_pair
    res = merge_edit(original, edited)
    rep = res.report
    assert rep["shift"] == [2, -3] and iou(res.mask >= 0.5, mask) > 0.9
    assert ((res.mask > 0) & (res.mask < 1)).any()
    rows, cols = original.shape[:2]
    edit = edited[np.clip(np.arange(rows) + 2, 0, rows - 1)][:, np.clip(np.arange(cols) - 3, 0, cols - 1)]
    # The report rounds the fitted drift, so its table may be off by one code value here and there.
    lut = _drift_lut(np.array(rep["colour_gain"]), np.array(rep["colour_offset"]))
    edit = np.stack([lut[c][edit[..., c]] for c in range(3)], axis=2)
    want = np.rint(original + res.mask[..., None] * (edit.astype(np.float32) - original)).astype(np.uint8)
    diff = np.abs(res.composite.astype(int) - want)
    assert (diff[res.mask == 0] == 0).all()
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01


@pytest.mark.parametrize("shift", [(0, 0), (3, -5), (-70, 90)])
def test_composite_tile_runs_equal_the_whole_image_formula(shift):
    from alphacut.editmerge.merge import _composite
    from alphacut.editmerge.feather import TILE

    rng = np.random.default_rng(abs(shift[0]))
    rows, cols = 3 * TILE + 17, 5 * TILE + 9
    orig = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
    edit = rng.integers(0, 256, (rows, cols, 3), dtype=np.uint8)
    mask = np.zeros((rows, cols), np.float32)
    mask[TILE:2 * TILE, :3 * TILE] = 1  # whole tiles of ones
    mask[10:40, 200:260] = rng.random((30, 60), dtype=np.float32)  # soft values
    mask[2 * TILE + 5, 4 * TILE + 3] = 1  # one pixel in the last, partial tile
    starts = [np.arange(0, n, TILE) for n in (rows, cols)]
    tile_max = np.maximum.reduceat(np.maximum.reduceat(mask, starts[0], axis=0), starts[1], axis=1)
    tile_min = np.minimum.reduceat(np.minimum.reduceat(mask, starts[0], axis=0), starts[1], axis=1)
    tiles = np.where(tile_max == 0, 0, np.where(tile_min == 1, 1, 2)).astype(np.uint8)
    assert set(np.unique(tiles).tolist()) == {0, 1, 2}
    lut = rng.permutation(np.tile(np.arange(256, dtype=np.uint8), (3, 1)).T).T.copy()
    moved = edit[np.clip(np.arange(rows) + shift[0], 0, rows - 1)][:, np.clip(np.arange(cols) + shift[1], 0, cols - 1)]
    moved = np.stack([lut[c][moved[..., c]] for c in range(3)], axis=2)
    want = np.rint(orig + mask[..., None] * (moved.astype(np.float32) - orig)).astype(np.uint8)
    for t in (tiles, np.full_like(tiles, 2)):  # "mixed" everywhere must give the same answer
        out, mask8 = _composite(orig, edit, mask, t, shift, lut)
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(mask8, np.rint(mask * 255).astype(np.uint8))


def test_resize_rgb_averages_areas_down_and_is_smooth_up(cat_rgb):
    from alphacut.editmerge.merge import _resize_rgb

    image = cat_rgb[:200, :300]
    half = _resize_rgb(image, (100, 150))
    means = image.reshape(100, 2, 150, 2, 3).mean(axis=(1, 3))
    assert np.abs(half.astype(np.float32) - means).max() <= 1  # Pillow rounds in fixed point
    up = _resize_rgb(half, (200, 300))
    assert up.shape == (200, 300, 3) and up.dtype == np.uint8
    assert np.abs(up.astype(np.float32) - image).mean() < 8
    assert _resize_rgb(image, (200, 300)) is image


@pytest.mark.parametrize(("gain", "offset", "found"), [
    ((1.03, 0.98, 1.0), (-4.0, 2.0, 0.0), True),
    ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), True),
    ((1.3, 1.0, 1.0), (0.0, 0.0, 0.0), False),  # not a drift: too strong
])
def test_fit_drift_recovers_a_global_drift_despite_a_local_edit(cat_rgb, gain, offset, found):
    from alphacut.editmerge.merge import _fit_drift

    orig = cat_rgb.astype(np.float32)
    edit = orig * np.float32(gain) + np.float32(offset)
    edit[_ellipse(cat_rgb.shape[:2], (150, 220), (70, 100))] = (20, 200, 40)  # a local edit, 18 %
    g, o = _fit_drift(cat_rgb, edit)
    assert g.dtype == np.float32 and o.dtype == np.float32
    if found:
        np.testing.assert_allclose(g, gain, atol=0.005)
        np.testing.assert_allclose(o, offset, atol=0.8)
    else:
        assert g.tolist() == [1, 1, 1] and o.tolist() == [0, 0, 0]


# --- region helpers against their whole-image definitions -----------------------------------


def _random_masks(count):
    rng = np.random.default_rng(7)
    for _ in range(count):
        shape = tuple(rng.integers(8, 90, 2))
        field = ndi.gaussian_filter(rng.random(shape), rng.uniform(0.5, 3))
        yield field > np.quantile(field, rng.uniform(0.2, 0.95))


def test_fill_small_holes_matches_scipy():
    from alphacut.editmerge.regions import _fill_small_holes

    for mask in _random_masks(60):
        for max_size in (0, 4, 50):
            holes = ndi.binary_fill_holes(mask) & ~mask
            labels, n = ndi.label(holes)
            sizes = np.bincount(labels.ravel(), minlength=n + 1)
            small = sizes <= max_size
            small[0] = False
            np.testing.assert_array_equal(_fill_small_holes(mask, max_size), mask | small[labels])


def test_fill_small_holes_keeps_the_holes_whose_median_is_below_the_level():
    from alphacut.editmerge.regions import _fill_small_holes

    rng = np.random.default_rng(3)
    for i, mask in enumerate(_random_masks(60)):
        values = rng.random(mask.shape).astype(np.float32) * (1 + i % 3)
        holes = ndi.binary_fill_holes(mask) & ~mask
        labels, n = ndi.label(holes)
        small = np.bincount(labels.ravel(), minlength=n + 1) <= 50
        small[0] = False
        for k in range(1, n + 1):  # each hole's median, on its own pixels
            small[k] &= not np.median(values[labels == k]) < 0.6
        np.testing.assert_array_equal(_fill_small_holes(mask, 50, values, 0.6), mask | small[labels])


def test_close_matches_the_whole_image_closing():
    from alphacut.editmerge.regions import _close

    for mask in _random_masks(60):
        for radius in (1.0, 2.5, 6.0):
            pad = int(np.ceil(radius)) + 1
            padded = np.pad(mask, pad, mode="edge")
            grown = ndi.distance_transform_edt(~padded) <= radius
            want = (ndi.distance_transform_edt(grown) > radius)[pad:-pad, pad:-pad] | mask
            np.testing.assert_array_equal(_close(mask, radius), want)


# --- texture changes, region ids (issue 19) ------------------------------------------------


def _grain_pair(cat_rgb):
    """The cat with fine grain added on a smooth ellipse (mean colour unchanged), drift and JPEG."""
    shape = cat_rgb.shape[:2]
    mask = _ellipse(shape, (90, 330), (45, 60))
    rng = np.random.default_rng(3)
    edited = cat_rgb.astype(np.float32)
    edited[mask] += rng.normal(0, 14, (int(mask.sum()), 1)).astype(np.float32)
    edited = edited * np.float32(1.02) + 1
    return mask, jpeg_round_trip(np.clip(np.rint(edited), 0, 255).astype(np.uint8), 85)


def test_texture_change_finds_grain_the_mean_difference_misses(cat_rgb, monkeypatch):
    import alphacut.editmerge.merge as em

    mask, edited = _grain_pair(cat_rgb)
    res = merge_edit(cat_rgb, edited)
    assert iou(res.mask >= 0.5, mask) > 0.6
    monkeypatch.setattr(em, "_TEXTURE_RATIO", 1e9)  # the colour difference alone
    monkeypatch.setattr(em, "_STRUCT_LEVEL", 1e9)
    monkeypatch.setattr(em, "_WIDE_REGION", 0.0)
    assert iou(merge_edit(cat_rgb, edited).mask >= 0.5, mask) < 0.3


def _weak_grain_pair(cat_rgb):
    """Weaker grain (sd 8) on the cat's fur, drifted and compressed (JPEG q80)."""
    mask = _ellipse(cat_rgb.shape[:2], (170, 200), (60, 80))
    rng = np.random.default_rng(3)
    edited = cat_rgb.astype(np.float32)
    edited[mask] += rng.normal(0, 8, (int(mask.sum()), 1)).astype(np.float32)
    return mask, jpeg_round_trip(np.clip(np.rint(edited * np.float32(1.02) + 1), 0, 255).astype(np.uint8), 80)


def test_wide_texture_finds_grain_over_busy_fur(cat_rgb, monkeypatch):
    """With the compression left in, it is nearly as strong as the grain on the fur: no pixel's
    texture change stands out, but the lightness's averaged over a wider window does."""
    import alphacut.editmerge.merge as em

    mask, edited = _weak_grain_pair(cat_rgb)
    opts = MergeOptions(undo_compression=False)
    assert iou(merge_edit(cat_rgb, edited, options=opts).mask >= 0.5, mask) > 0.85
    monkeypatch.setattr(em, "_WIDE_REGION", 0.0)  # the other signals alone: parts of it (0.61)
    assert iou(merge_edit(cat_rgb, edited, options=opts).mask >= 0.5, mask) < 0.7


def test_compression_taken_out_leaves_the_grain_standing_out(cat_rgb, monkeypatch):
    """The same pair with the compression modelled and taken out: the grain stands out pixel by
    pixel, so the signals other than the wide texture find it too."""
    import alphacut.editmerge.merge as em

    mask, edited = _weak_grain_pair(cat_rgb)
    monkeypatch.setattr(em, "_WIDE_REGION", 0.0)
    res = merge_edit(cat_rgb, edited)
    assert res.report["compression"] == {"tables": "searched", "quality": 80, "subsampling": "4:2:0",
                                         "explained": pytest.approx(res.report["compression"]["explained"]),
                                         "used": True}
    assert res.report["compression"]["explained"] > 0.7
    assert iou(res.mask >= 0.5, mask) > 0.85


def test_texture_change_is_quiet_where_only_compression_differs(cat_rgb):
    from alphacut.editmerge.texture import texture_change

    lab_o = srgb_to_lab(cat_rgb)
    planes = np.ascontiguousarray(np.moveaxis(srgb_to_lab(jpeg_round_trip(cat_rgb, 75)) - lab_o, 2, 0))
    spread, ratio, _ = texture_change(planes, np.ascontiguousarray(lab_o[:, :, 0]), sigma=2.0)
    assert spread.shape == ratio.shape == cat_rgb.shape[:2]
    assert float(np.quantile(ratio, 0.99)) < 4.0  # below the default _TEXTURE_RATIO


def test_texture_change_ignores_a_smooth_change_of_the_mean():
    from alphacut.editmerge.texture import texture_change

    ramp = np.tile(np.linspace(0, 40, 80, dtype=np.float32), (60, 1))
    planes = np.stack([ramp, ramp * 0.5, np.zeros_like(ramp)])
    spread, _, _ = texture_change(planes, np.full((60, 80), 50, np.float32), sigma=3.0)
    assert float(spread[10:-10, 10:-10].max()) < 0.05


def test_texture_change_validates():
    from alphacut.editmerge.texture import texture_change

    with pytest.raises(ValueError, match="planes"):
        texture_change(np.zeros((3, 8, 9), np.float32), np.zeros((8, 8), np.float32), sigma=1)
    with pytest.raises(ValueError, match="sigma"):
        texture_change(np.zeros((3, 8, 8), np.float32), np.zeros((8, 8), np.float32), sigma=0)


@pytest.mark.parametrize("sigma", [1.5, 3.0, 5.0])
def test_texture_change_with_its_detail_computed_ahead_is_the_same(cat_rgb, sigma):
    """The merge computes the original's level of detail while the edit is aligned, and passes
    it in (blocks of 1, 2 and 4 at these sigmas): bit for bit what texture_change computes itself."""
    from alphacut.editmerge.texture import detail_blocks, texture_change

    lab_o = srgb_to_lab(cat_rgb)
    lightness = np.ascontiguousarray(lab_o[:, :, 0])
    planes = np.ascontiguousarray(np.moveaxis(srgb_to_lab(jpeg_round_trip(cat_rgb, 75)) - lab_o, 2, 0))[:1]
    alone = texture_change(planes, lightness, sigma=sigma)
    ahead = texture_change(planes, lightness, sigma=sigma, activity=detail_blocks(lightness, sigma=sigma))
    for a, b in zip(alone, ahead):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="activity must be detail_blocks"):
        other = 4.5 if sigma < 2 else 0.5  # other blocks: another shape
        texture_change(planes, lightness, sigma=sigma, activity=detail_blocks(lightness, sigma=other))


def test_lab_difference_in_two_halves_is_the_whole_image_s(cat_rgb):
    from alphacut._shared.threads import executor
    from alphacut.editmerge.merge import _lab_difference

    edit = jpeg_round_trip(cat_rgb, 75).astype(np.float32) * np.float32(1.1 / 255)  # some values above 1: clipped
    lab_o = srgb_to_lab(cat_rgb)
    whole = np.moveaxis(srgb_to_lab(np.clip(edit, 0, 1)) - lab_o, 2, 0)
    with executor() as pool:
        halves = _lab_difference(edit.copy(), lab_o, pool)
    np.testing.assert_array_equal(halves, whole)


def _smoothed_pair(cat_rgb):
    """The cat's fur smoothed on an ellipse and fine stripes laid over it (its mean colour kept),
    then a drift and JPEG: an edit of fine detail."""
    mask = _ellipse(cat_rgb.shape[:2], (170, 200), (60, 80))
    smooth = ndi.gaussian_filter(cat_rgb.astype(np.float32), (2.5, 2.5, 0))
    rows, cols = np.ogrid[:cat_rgb.shape[0], :cat_rgb.shape[1]]
    smooth += 16 * np.sin((rows * 0.6 + cols * 0.8) * 2 * np.pi / 5)[..., None]
    edited = cat_rgb.astype(np.float32)
    edited[mask] = smooth[mask]
    edited = edited * np.float32(1.02) + 1
    return mask, jpeg_round_trip(np.clip(np.rint(edited), 0, 255).astype(np.uint8), 80)


def test_structure_change_finds_an_edit_of_fine_detail(cat_rgb, monkeypatch):
    import alphacut.editmerge.merge as em

    mask, edited = _smoothed_pair(cat_rgb)
    assert iou(merge_edit(cat_rgb, edited).mask >= 0.5, mask) > 0.85
    # The texture change of the lightness finds this edit too (since session 19), so the structure
    # change is checked alone: with it, the region is found; with neither, it is not.
    monkeypatch.setattr(em, "_TEXTURE_RATIO", 1e9)
    monkeypatch.setattr(em, "_WIDE_REGION", 0.0)
    assert iou(merge_edit(cat_rgb, edited).mask >= 0.5, mask) > 0.85
    monkeypatch.setattr(em, "_STRUCT_LEVEL", 1e9)
    assert iou(merge_edit(cat_rgb, edited).mask >= 0.5, mask) < 0.3


def test_structure_change_is_quiet_where_only_compression_differs(cat_rgb):
    from alphacut.editmerge.texture import structure_change

    lightness = np.ascontiguousarray(srgb_to_lab(cat_rgb)[:, :, 0])
    change = np.ascontiguousarray(srgb_to_lab(jpeg_round_trip(cat_rgb, 75))[:, :, 0]) - lightness
    d = structure_change(lightness, change, sigma=2.0, contrast=6.0)
    assert d.shape == lightness.shape and d.dtype == np.float32
    assert float(np.quantile(d, 0.99)) < 0.2  # below the default _STRUCT_LEVEL


def test_structure_change_validates():
    from alphacut.editmerge.texture import structure_change

    flat = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match="shape"):
        structure_change(flat, np.zeros((8, 9), np.float32), sigma=1, contrast=4)
    with pytest.raises(ValueError, match="sigma"):
        structure_change(flat, flat, sigma=1, contrast=0)


def test_refine_boundary_keeps_the_outline_of_a_region_whose_change_is_spiky():
    rng = np.random.default_rng(0)
    coarse = np.zeros((120, 120), bool)
    coarse[20:100, 20:100] = True
    # Grain: the sharper map is high on a third of the pixels only, inside and at the edge.
    fine = np.where(rng.random((120, 120)) < 0.33, 30.0, 2.0).astype(np.float32)
    fine[~coarse] = 0.5
    kept = refine_boundary(coarse, fine, threshold=5.0, width=6, steady=0.75, large=0.01)
    np.testing.assert_array_equal(kept, coarse)
    # Without the rule the band is cut to the spikes, and the outline is ragged.
    assert refine_boundary(coarse, fine, threshold=5.0, width=6).sum() < 0.9 * coarse.sum()
    # A small region (below ``large``) is still refined.
    assert refine_boundary(coarse, fine, threshold=5.0, width=6, steady=0.75, large=0.5).sum() < 0.9 * coarse.sum()


def _ragged_disc(rng, coherence):
    """A disc's coarse region grown by 6 px, a sharper map that is the disc with its edge moved
    in and out by up to 3 px at random along it, and the coherence map."""
    rows, cols = np.mgrid[:160, :160]
    radius = np.hypot(rows - 80, cols - 80)
    disc = radius <= 50
    angle = np.arctan2(rows - 80, cols - 80)
    wiggle = np.interp(angle, np.linspace(-np.pi, np.pi, 90), rng.uniform(-3, 3, 90))
    fine = np.where(radius <= 50 + wiggle, 30.0, 0.5).astype(np.float32)
    return disc, radius <= 56, fine, np.full(disc.shape, coherence, np.float32)


@pytest.mark.parametrize("coherence", [0.3, 1.0])
def test_refine_boundary_smooths_the_outline_of_an_incoherent_region_only(coherence):
    disc, coarse, fine, coh = _ragged_disc(np.random.default_rng(1), coherence)
    kw = dict(threshold=5.0, width=8, coherence=coh, incoherent=0.8)
    ragged = refine_boundary(coarse, fine, **kw)
    smoothed = refine_boundary(coarse, fine, smooth=4.0, **kw)

    def disc_iou(m):
        return (m & disc).sum() / (m | disc).sum()

    def edge(m):  # pixels on the outline
        return int((m & ~ndi.binary_erosion(m)).sum())

    if coherence < 0.8:
        # Grain or a texture: wiggles below the scale are noise, and smoothing brings the outline
        # nearer the disc, and shorter.
        assert disc_iou(smoothed) > disc_iou(ragged) + 0.01
        assert edge(smoothed) < 0.9 * edge(ragged)
        assert smoothed[80, 80] and not smoothed[5, 5]
    else:
        # A coherent change (a recolour) places its boundary by the map, as before.
        np.testing.assert_array_equal(smoothed, ragged)


def _two_blobs():
    diff = np.zeros((200, 200), np.float32)
    diff[40:140, 40:140] = 40.0
    diff[170:180, 170:180] = 12.0
    return diff


def test_region_ids_follow_mass_and_label_every_candidate():
    r = find_regions(_two_blobs(), sensitivity=1.0, close_gaps=0.01, primary_only=True, max_regions=8)
    assert [c["id"] for c in r.candidates] == [1, 2]
    assert [(c["kept"], c["why"]) for c in r.candidates] == [(True, "kept"), (False, "weak")]
    assert r.labels[90, 90] == 1 and r.labels[175, 175] == 2 and r.labels[5, 5] == 0
    assert [k["id"] for k in r.kept] == [1]


def test_include_and_exclude_region_ids():
    kw = dict(sensitivity=1.0, close_gaps=0.01, primary_only=True, max_regions=8)
    both = find_regions(_two_blobs(), include_ids=[2], **kw)
    assert both.mask[175, 175] and both.mask[90, 90] and both.candidates[1]["why"] == "included"
    none = find_regions(_two_blobs(), include_ids=[2], exclude_ids=[1, 2, 99], **kw)
    assert not none.mask.any() and {c["why"] for c in none.candidates} == {"excluded"}


def test_noise_threshold_and_level_override():
    from alphacut.editmerge.regions import noise_threshold

    diff = _two_blobs()
    assert noise_threshold(diff, 2.0) == (0.0, 2.5)
    high = find_regions(diff, sensitivity=1.0, close_gaps=0.01, primary_only=False, max_regions=8, level=(0.0, 20.0))
    assert high.threshold == 20.0 and high.mask[90, 90] and not high.mask[175, 175]


def test_merge_reports_candidates_and_labels_and_takes_ids(pair):
    original, edited, mask, _ = pair
    res = merge_edit(original, edited, options=MergeOptions(primary_only=False))
    cands = res.report["region_candidates"]
    assert res.labels.dtype == np.uint8
    assert res.labels.shape == (res.report["analysis_height"], res.report["analysis_width"])
    assert set(np.unique(res.labels)) - {0} == {c["id"] for c in cands}
    main = cands[0]
    assert main["id"] == 1 and main["kept"] and res.labels[120, 190] == 1
    out = merge_edit(original, edited, options=MergeOptions(exclude_regions=[1], primary_only=False))
    assert not out.mask[120, 190] and out.report["region_candidates"][0]["why"] == "excluded"



def test_final_regions_follow_the_final_mask():
    """Two kept regions and a dropped one; the final mask moved the kept ones' outlines: its pixels
    take the nearest kept region's id, the kept regions' pixels outside it none, the dropped
    candidate stays, and the kept areas add up to the mask's."""
    from alphacut.editmerge.merge import _final_regions
    from alphacut.editmerge.regions import Regions

    shape = (100, 160)
    labels = np.zeros(shape, np.int64)
    labels[_ellipse(shape, (50, 40), (20, 20))] = 1
    labels[_ellipse(shape, (50, 110), (15, 15))] = 2
    labels[5:10, 140:150] = 3  # dropped
    found = (labels == 1) | (labels == 2)
    cands = [{"id": i, "kept": i < 3, "why": "kept" if i < 3 else "small", "area": float((labels == i).mean())}
             for i in (1, 2, 3)]
    regions = Regions(found, 5.0, 1.0, [{"id": c["id"], "area": c["area"]} for c in cands[:2]], 1, labels, cands)
    binary = _ellipse(shape, (50, 42), (23, 22)) | _ellipse(shape, (50, 110), (12, 12))
    out, kept, candidates = _final_regions(regions, binary)
    assert (out[binary] > 0).all() and set(np.unique(out[binary])) == {1, 2}
    assert out[50, 64] == 1 and out[50, 110] == 2 and out[50, 124] == 0  # grown; shrunk
    assert (out[5:10, 140:150] == 3).all()
    assert sum(r["area"] for r in kept) == pytest.approx(binary.mean(), abs=1e-4)
    assert [r["area"] for r in kept] == [c["area"] for c in candidates[:2]]
    assert candidates[2] == cands[2] and kept[0]["id"] == 1
    # One kept region: every pixel of the mask is its own.
    one = Regions(labels == 1, 5.0, 1.0, [{"id": 1, "area": 0.1}], 2, np.where(labels == 2, 0, labels),
                  [dict(cands[0]), dict(cands[2])])
    out, kept, _ = _final_regions(one, binary)
    assert (out[binary] == 1).all() and kept[0]["area"] == pytest.approx(binary.mean(), abs=1e-5)
    # None kept: the map and the lists as found.
    none = Regions(np.zeros(shape, bool), 5.0, 1.0, [], 3, labels, cands)
    out, kept, candidates = _final_regions(none, binary)
    assert out is labels and kept == [] and candidates is cands


def test_region_areas_add_up_to_the_mask(pair):
    """The page's region list and its status line agree: the kept regions' areas (counted on the
    final mask at the analysis size) add up to the mask's fraction within 0.2 %."""
    original, edited, _, _ = pair
    res = merge_edit(original, edited, options=MergeOptions(primary_only=False, include_regions=[2]))
    kept = res.report["regions"]
    assert len(kept) >= 2
    assert sum(r["area"] for r in kept) == pytest.approx(res.report["mask_fraction"], abs=0.002)

@pytest.mark.parametrize("bad", [{"include_regions": [0]}, {"exclude_regions": "1"}, {"include_regions": [1.5]},
                                 {"exclude_regions": [True]}])
def test_region_id_options_are_validated(bad):
    with pytest.raises(ValueError, match="must be a list of ids"):
        MergeOptions.from_dict(bad)


def test_worker_merge_returns_labels(pair):
    import json

    from alphacut.runtime.worker_api import merge_edit as worker_merge

    original, edited, _, _ = pair
    composite, mask, labels, report = worker_merge(encode_png(original), encode_png(edited),
                                                   json.dumps({"exclude_regions": [1]}))
    report = json.loads(report)
    lab = np.asarray(Image.open(io.BytesIO(labels)))
    assert lab.shape == (report["analysis_height"], report["analysis_width"]) and lab[120, 190] == 1
    assert report["regions"] == [] and not np.asarray(Image.open(io.BytesIO(mask))).any()


def test_e2e_merge_pair_still_gives_one_region(tmp_path):
    """The browser tests' pair (tests/browser.py): one region, IoU > 0.8, exact outside; and a
    second candidate, the small unrelated change, left out (the browser test adds it from the
    page's region list)."""
    from browser import merge_pair

    orig_path, edit_path, known = merge_pair(tmp_path)
    original = np.asarray(Image.open(orig_path).convert("RGB"))
    edited = np.asarray(Image.open(edit_path).convert("RGB"))
    res = merge_edit(original, edited, options=MergeOptions(preview_max_side=1024))
    assert len(res.report["regions"]) == 1
    assert [(c["id"], c["kept"]) for c in res.report["region_candidates"]] == [(1, True), (2, False)]
    assert iou(res.mask8 > 127, known) > 0.8
    outside = res.mask8 == 0
    assert np.array_equal(res.composite[outside], original[outside])


def test_refine_boundary_trims_a_strong_change_s_fringe_inside_a_wide_band():
    """A strong change with a soft fringe is detected well outside its half-height line; a band
    that reaches that far inside (``width``) trims it, one of twice the blur does not."""
    from alphacut.editmerge.regions import refine_boundary

    true = np.zeros((120, 120), bool)
    true[30:90, 30:90] = True
    fine = ndi.gaussian_filter(true * np.float32(100), 3.0)
    coarse = fine > 3.5  # the detection's reach: about 6 px beyond the true edge
    assert iou(coarse, true) < 0.8
    wide = refine_boundary(coarse, fine, threshold=5.0, width=10, outer=2)
    narrow = refine_boundary(coarse, fine, threshold=5.0, width=2)
    assert iou(wide, true) > 0.97 > iou(narrow, true)


def test_upsample_is_bilinear_with_block_centres_aligned():
    from alphacut.editmerge.texture import _blocks, _upsample

    rng = np.random.default_rng(1)
    for k in (2, 3, 4):
        for shape in [(64, 80), (65, 81), (7, 9)]:
            blocks = _blocks(rng.random(shape).astype(np.float32), k)
            whole = (k * blocks.shape[0], k * blocks.shape[1])
            # Output pixel o samples the blocks at (o + 0.5) / k - 0.5, edges repeated.
            expected = ndi.affine_transform(blocks, np.diag([1 / k, 1 / k]), offset=0.5 / k - 0.5, output_shape=whole,
                                            order=1, mode="nearest", output=np.float32)[:shape[0], :shape[1]]
            np.testing.assert_allclose(_upsample(blocks, k, shape), expected, atol=1e-5)


def test_texture_change_of_the_lightness_ignores_chroma_errors_at_colour_edges(monkeypatch):
    """The astronaut with no edit, only a drift and JPEG q75 (4:2:0 chroma): the texture change
    of all three Lab planes read chroma subsampling's errors along the flag's and the suit's
    colour edges as a texture change; of the lightness alone, the mask is empty. (With the
    compression left in: the next test takes it out.)"""
    from skimage import data

    import alphacut.editmerge.merge as em

    original = np.ascontiguousarray(data.astronaut()[:, :, :3])
    drifted = np.clip(np.rint(original * np.float32([1.02, 0.98, 1.0]) + 2), 0, 255).astype(np.uint8)
    edited = jpeg_round_trip(drifted, 75)
    opts = MergeOptions(undo_compression=False)
    assert not (merge_edit(original, edited, options=opts).mask >= 0.5).any()
    monkeypatch.setattr(em, "_TEXTURE_PLANES", 3)
    assert (merge_edit(original, edited, options=opts).mask >= 0.5).mean() > 0.01


@pytest.mark.parametrize("quality", [75, 90])
def test_compression_model_leaves_a_copy_with_no_edit_nearly_untouched(quality):
    """The same copy (drift, JPEG, no edit) with the compression modelled: the round trip explains
    most of the difference. Where the drift's rounding differs by a code value, a quantised
    coefficient can flip in a block, so a speck may remain: at most 0.1 % of the photo (the
    quality-75 copy: one of 13 x 11 px), and the composite stays the original within 40 dB."""
    from skimage import data

    original = np.ascontiguousarray(data.astronaut()[:, :, :3])
    drifted = np.clip(np.rint(original * np.float32([1.02, 0.98, 1.0]) + 2), 0, 255).astype(np.uint8)
    res = merge_edit(original, jpeg_round_trip(drifted, quality))
    found = res.report["compression"]
    assert (found["quality"], found["used"]) == (quality, True) and found["explained"] > 0.9
    assert (res.mask >= 0.5).mean() < 0.001
    assert _psnr(res.composite, original) > 40


def _strong_region_beside_noise(top=5.05):
    """A strong change (40) in a square, beside a busy area whose compression noise (3.6 to
    ``top``: above the hysteresis level of 3.5, and in specks above the threshold of 5) touches
    it; and a content swap (5-60, varying) elsewhere."""
    rng = np.random.default_rng(1)
    diff = np.zeros((200, 300), np.float32)
    diff[40:100, 40:100] = 40
    diff[40:160, 100:160] = rng.uniform(3.6, top, (120, 60))
    diff[120:180, 200:280] = rng.uniform(5.0, 60.0, (60, 80))
    return diff


@pytest.mark.parametrize(("top", "off"), [(5.05, {"REGION_LEVEL": 0.0}), (5.3, {"LEVEL_CLUSTER": 0.0})])
def test_a_region_is_held_to_its_own_level(monkeypatch, top, off):
    """The busy area stays out of the strong region. Without a level per region it joins; and when
    its specks above the threshold are many (5.3: 18 % of its pixels), it joins unless the level
    comes from the region's large clusters of strong pixels only."""
    import alphacut.editmerge.regions as er

    kw = dict(sensitivity=1.0, close_gaps=0.01, primary_only=False, max_regions=8, level=(1.0, 5.0))
    diff = _strong_region_beside_noise(top)
    mask = find_regions(diff, **kw).mask
    assert mask[40:100, 40:100].all() and mask[120:180, 200:280].all()
    assert mask[40:160, 104:160].mean() < 0.01
    for name, value in off.items():
        monkeypatch.setattr(er, name, value)
    assert find_regions(diff, **kw).mask[40:160, 104:160].mean() > 0.9


def _soft_square(size=120, lo=30, hi=90, blur=3.0):
    true = np.zeros((size, size), bool)
    true[lo:hi, lo:hi] = True
    return true, ndi.gaussian_filter(true.astype(np.float32), blur)


def test_refine_boundary_keeps_a_weak_edit_s_edge_down_to_the_floor():
    """A change of 7 Delta E against a threshold of 5: the band cut at the threshold loses the
    soft edge inside the half-height line; at the hysteresis level (the floor) it keeps it."""
    true, weight = _soft_square()
    fine = 7.0 * weight
    coarse = ndi.binary_dilation(true, iterations=3)
    at_threshold = refine_boundary(coarse, fine, threshold=5.0, width=8)
    at_floor = refine_boundary(coarse, fine, threshold=5.0, width=8, floor=3.5)
    assert iou(at_floor, true) > 0.95 > 0.90 > iou(at_threshold, true)


def test_refine_boundary_places_each_side_at_half_of_its_own_change():
    """One region, its left half changed by 12, its right half by 80 (a recolour over a grey and a
    colourful part): half the whole region's median cuts the weak side inside its edge; half of
    the core nearby places the weak side's edge at its half-height line too."""
    true, weight = _soft_square(size=280, lo=40, hi=240)
    strength = np.where(np.arange(280) < 140, np.float32(12), np.float32(80))[None, :]
    fine = weight * strength
    coarse = ndi.binary_dilation(true, iterations=3)
    whole = refine_boundary(coarse, fine, threshold=5.0, width=8)
    local = refine_boundary(coarse, fine, threshold=5.0, width=8, local=2.0)
    assert iou(local, true) > 0.97
    assert iou(whole, true) < iou(local, true) - 0.03
    # The weak side's edges, far from the strong side: at the half-height lines (40 and 239).
    for line in (local[140], local[:, 60]):
        first, last = np.flatnonzero(line)[[0, -1]]
        assert abs(first - 40) <= 1 and (line is local[140] or abs(last - 239) <= 1)


def test_refine_boundary_grows_a_spiky_region_to_half_way_on_the_detection_map():
    """Grain whose strength fades over a soft edge: the outline found at the hysteresis level stops
    short of the edge; given the detection map, it grows out to half way between the core's level
    and the surroundings'."""
    rng = np.random.default_rng(3)
    true, weight = _soft_square(blur=4.0)
    detection = 1.0 + 9.0 * weight  # the surroundings at 1, the core at 10
    coarse = detection > 7.0  # the hysteresis reached only part of the edge
    fine = np.where(rng.random(true.shape) < 0.3, 30.0, 2.0).astype(np.float32) * (weight > 0.5)
    kw = dict(threshold=5.0, width=8, outer=6, steady=0.75, large=0.01)
    kept = refine_boundary(coarse, fine, **kw)  # the outline, and a few spikes beyond it
    grown = refine_boundary(coarse, fine, coarse=detection, **kw)
    assert iou(grown, true) > 0.97 > iou(kept, true) + 0.05
    assert not (grown & ~ndi.binary_dilation(true, iterations=2)).any()


def test_a_noisy_texture_keeps_its_evidence_beside_its_own_clipped_parts(monkeypatch):
    """A noisy texture (band-pass grain, 26 code values) on the astronaut: where it clips, its mean
    colour changes by more than the threshold. Set aside near every such change, the texture
    evidence is lost around those parts and the mask falls short; set aside only near a strong
    change of the mean (a recolour's, a swap's), the mask holds."""
    from skimage import data

    import alphacut.editmerge.merge as em

    original = np.ascontiguousarray(data.astronaut()[:, :, :3])
    rows, cols = original.shape[:2]
    r, c = np.ogrid[:rows, :cols]
    weight = ndi.gaussian_filter((np.hypot(r - 0.5 * rows, c - 0.4 * cols) < 0.18 * rows).astype(np.float32), 2.0)
    field = ndi.gaussian_filter(np.random.default_rng(0).standard_normal((rows, cols)), 4.0)
    field -= ndi.gaussian_filter(field, 12.0)
    field *= 26 / field.std()
    edited = np.clip(original + (weight * field)[..., None] * np.float32([1.0, 0.8, 0.7]), 0, 255)
    edited = jpeg_round_trip(np.rint(edited).astype(np.uint8), 85)
    truth = weight > 0.5
    assert iou(merge_edit(original, edited).mask >= 0.5, truth) > 0.9
    monkeypatch.setattr(em, "_CLEAR_LEVEL", 1.0)
    # (grow_grain, session 38, makes up part of the loss: 0.87 with it; left out, to see this step's.)
    monkeypatch.setattr(em, "grow_grain", lambda mask, *args, **kwargs: mask)
    assert iou(merge_edit(original, edited).mask >= 0.5, truth) < 0.85


def _grain_over_most_busy_pixels(seed=1, grain=10.0):
    """A flat photo with a busy checkerboard region and a busy corner; grain over the whole region,
    which then covers most of the photo's busy pixels, so that they lift the noise of that level of
    detail. Returns original, JPEG'd edit, and the region."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:300, :400]
    region = (r >= 60) & (r < 240) & (c >= 60) & (c < 300)
    busy = region & ((r // 30 + c // 30) % 2 == 0) | (c >= 340) & (r < 100)
    texture = ndi.gaussian_filter(rng.normal(0, 40, (300, 400)), 0.7)
    original = np.clip(120 + busy * texture, 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)
    edit = original + region[..., None] * rng.normal(0, grain, (300, 400, 1))
    return original, jpeg_round_trip(np.clip(np.rint(edit), 0, 255).astype(np.uint8), 85), region


def test_second_noise_pass_finds_grain_over_most_busy_pixels(monkeypatch):
    import alphacut.editmerge.merge as M

    original, edited, region = _grain_over_most_busy_pixels()
    res = merge_edit(original, edited)
    assert res.report["texture_noise_second_pass"] is True
    assert iou(res.mask >= 0.5, region) > 0.9
    # One pass measures the noise with the grain in it, and finds only the flat squares (grown a
    # little into the busy part by the grain's own edge, grain_boundary: 0.44). grow_grain
    # (session 38) grows those squares' grain over part of the rest (0.63): left out here, as in
    # the comparison below, to see this step's own effect.
    monkeypatch.setattr(M, "grow_grain", lambda mask, *args, **kwargs: mask)
    monkeypatch.setattr(M, "_RENOISE_DROP", np.inf)
    one = merge_edit(original, edited)
    assert one.report["texture_noise_second_pass"] is False
    assert iou(one.mask >= 0.5, region) < 0.5
    # A second pass that does not find this much more than the first is not kept.
    monkeypatch.setattr(M, "_RENOISE_DROP", 1.2)
    monkeypatch.setattr(M, "_RENOISE_GROWTH", 100.0)
    kept = merge_edit(original, edited)
    assert kept.report["texture_noise_second_pass"] is False
    np.testing.assert_array_equal(kept.mask, one.mask)


def test_noise_held_to_the_detail_s_growth_finds_grain_over_the_most_detailed_pixels(monkeypatch):
    """A photo whose detail grows from left to right, so that its compression noise does; grain
    over the right side, which holds most of the most detailed pixels. Without the growth cap on
    the noise levels, the grain is their noise and is missed, second noise pass or not, where
    the compression is not modelled (photos over 4.2 MP, edits that are not a JPEG of the
    original); where it is, the compression's noise is gone and the grain shows anyway."""
    import alphacut.editmerge.texture as T

    rng = np.random.default_rng(1)
    r, c = np.mgrid[:300, :400]
    texture = ndi.gaussian_filter(rng.normal(0, 1, (300, 400)), 0.7) * (10 + 90 * c / 399)
    original = np.clip(120 + texture, 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)
    region = (c >= 230) & (r >= 10) & (r < 290)
    edit = original + region[..., None] * rng.normal(0, 18, (300, 400, 1))
    edited = jpeg_round_trip(np.clip(np.rint(edit), 0, 255).astype(np.uint8), 85)
    unmodelled = MergeOptions(undo_compression=False)
    assert iou(merge_edit(original, edited).mask >= 0.5, region) > 0.95
    assert iou(merge_edit(original, edited, options=unmodelled).mask >= 0.5, region) > 0.95
    monkeypatch.setattr(T, "_NOISE_GROWTH", np.inf)
    # (grow_grain, session 38, grows what is found of the grain to 0.52; left out, to see this cap's effect.)
    import alphacut.editmerge.merge as M
    monkeypatch.setattr(M, "grow_grain", lambda mask, *args, **kwargs: mask)
    assert iou(merge_edit(original, edited, options=unmodelled).mask >= 0.5, region) < 0.4
    assert iou(merge_edit(original, edited).mask >= 0.5, region) > 0.8


def test_region_ids_apply_to_the_second_noise_pass():
    original, edited, region = _grain_over_most_busy_pixels()
    res = merge_edit(original, edited)
    kept = [c["id"] for c in res.report["region_candidates"] if c["kept"]]
    out = merge_edit(original, edited, options=MergeOptions(exclude_regions=tuple(kept)))
    assert out.report["texture_noise_second_pass"] is True
    assert not (out.mask >= 0.5).any()


def test_untouched_leaves_out_the_closed_edit_or_gives_up():
    from alphacut.editmerge.merge import _untouched

    mask = np.zeros((200, 300), bool)
    mask[50:150:20, 60:200] = True  # stripes 19 px apart: one region once closed
    untouched = _untouched(mask, float(np.hypot(200, 300)))
    assert not untouched[50:131, 80:180].any() and untouched[:30].all() and untouched[:, 240:].all()
    assert _untouched(np.zeros((200, 300), bool), 360.0) is None
    assert _untouched(np.ones((200, 300), bool), 360.0) is None


@pytest.mark.parametrize("top", [0.0, None])
def test_a_dark_photo_is_compared_brighter_and_composited_as_it_is(cat_rgb, monkeypatch, top):
    """A content swap in a photo at an eighth of its exposure changes it by little more than the
    threshold's floor (Delta E 5): compared at twice the exposure it is found whole; the composite
    is made of the photos as they are."""
    from skimage import data

    from alphacut.editmerge import merge as m

    if top is not None:  # the comparison at the photo's own exposure, for contrast
        monkeypatch.setattr(m, "_EXPOSURE_TOP", top)
    dark = np.rint(cat_rgb * np.float32(0.12)).astype(np.uint8)
    swap = np.rint(data.coffee()[:300, :451] * np.float32(0.12)).astype(np.uint8)
    r, c = np.mgrid[:300, :451]
    region = ((r - 150) / 70.0) ** 2 + ((c - 200) / 90.0) ** 2 <= 1
    w = ndi.gaussian_filter(region.astype(np.float32), 2)[..., None]
    edited = jpeg_round_trip(np.rint(dark * (1 - w) + swap * w).astype(np.uint8), 85)
    res = m.merge_edit(dark, edited)
    found = iou(res.mask >= 0.5, region)
    far = ndi.distance_transform_edt(~region) > 8
    np.testing.assert_array_equal(res.composite[far], dark[far])
    if top is not None:
        assert res.report["exposure"] == 1.0
        assert found < 0.8
        return
    assert res.report["exposure"] == 2.0
    assert found > 0.95
    inside = ndi.distance_transform_edt(region) > 8
    assert np.abs(res.composite[inside].astype(int) - edited[inside]).max() <= 2  # the drift table's rounding

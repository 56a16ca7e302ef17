"""Contract tests for alphacut.matte.holes.open_holes on small constructed photos with a known answer."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from alphacut.matte import holes
from alphacut.matte.holes import open_holes

WHITE = (243, 243, 241)
GREEN = (40, 165, 70)
GREY = (110, 110, 120)


def disc_distance(shape, centre=None):
    r, c = np.mgrid[:shape[0], :shape[1]].astype(np.float32)
    cy, cx = centre if centre is not None else ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
    return np.hypot(r - cy, c - cx)


def soft(inside_distance):
    """Antialiased coverage from a signed distance (positive inside), in pixels."""
    return np.clip(inside_distance + 0.5, 0, 1).astype(np.float32)


def composite(alpha, fg, bg, noise=2.0, seed=0):
    a = alpha[..., None]
    img = a * np.asarray(fg, np.float32) + (1 - a) * np.broadcast_to(np.asarray(bg, np.float32), alpha.shape + (3,))
    img = img + np.random.default_rng(seed).normal(0, noise, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def ring_case(shape=(120, 160), outer=45, inner=20, fg=GREY, bg=WHITE):
    """(photo, matte with the hole filled, true alpha, hole mask) of a ring."""
    d = disc_distance(shape)
    truth = np.minimum(soft(outer - d), soft(d - inner))
    filled = soft(outer - d)
    return composite(truth, fg, bg), filled, truth, d < inner - 1


def gradient(shape, top, bottom):
    t = np.linspace(0, 1, shape[0], dtype=np.float32)[:, None, None]
    return (1 - t) * np.asarray(top, np.float32) + t * np.asarray(bottom, np.float32)


@pytest.mark.parametrize("bg", [WHITE, GREEN, "sky"])
def test_filled_ring_is_opened(bg):
    shape = (120, 160)
    if bg == "sky":
        bg = np.broadcast_to(gradient(shape, (80, 130, 205), (200, 220, 240)), shape + (3,))
    image, filled, truth, hole = ring_case(shape, bg=bg)
    out = open_holes(image, filled)
    assert out[hole].max() < 0.1
    assert np.abs(out - truth).sum() < 0.1 * np.abs(filled - truth).sum()
    assert out[truth > 0.99].min() > 0.9  # the ring stays


def test_opaque_pixels_outside_holes_are_untouched_and_alpha_never_rises():
    image, filled, truth, hole = ring_case()
    out = open_holes(image, filled)
    near = ndi.binary_dilation(hole, iterations=6)
    np.testing.assert_array_equal(out[~near], filled[~near])
    assert (out <= filled).all()


def test_large_photo_is_found_on_a_reduced_copy_and_applied_at_full_resolution():
    image, filled, truth, hole = ring_case((1200, 1600), outer=450, inner=200)
    out = open_holes(image, filled, work_side=400)  # reduced by 4
    assert out[hole].max() < 0.1
    edge = (truth > 0.05) & (truth < 0.95)
    inner_edge = edge & (disc_distance(truth.shape) < 300)
    assert np.abs(out - truth)[inner_edge].mean() < 0.2  # soft edge recomputed, not blocky


def test_gap_open_at_one_end_is_opened_unless_max_open_is_zero():
    shape = (120, 160)
    truth = np.zeros(shape, np.float32)
    truth[20:100, 40:70] = 1  # two teeth and a bridge: a U upside down, gap 20 px wide, open below
    truth[20:100, 90:120] = 1
    truth[20:45, 40:120] = 1
    filled = truth.copy()
    filled[45:90, 70:90] = 1  # the model filled most of the gap
    image = composite(truth, GREY, WHITE)
    gap = np.zeros(shape, bool)
    gap[48:88, 73:87] = True
    assert open_holes(image, filled)[gap].max() < 0.1
    np.testing.assert_array_equal(open_holes(image, filled, max_open=0.0), filled)


def test_backdrop_coloured_region_that_is_not_enclosed_is_left_alone():
    shape = (120, 160)
    alpha = np.zeros(shape, np.float32)
    alpha[20:100, 30:130] = 1
    subject = np.zeros(shape + (3,), np.float32) + GREY
    subject[40:80, 110:130] = WHITE  # a backdrop-coloured notch whose long side is on the outline
    image = composite(np.ones(shape, np.float32), alpha[..., None] * subject + (1 - alpha[..., None]) * WHITE, WHITE)
    np.testing.assert_array_equal(open_holes(image, alpha), alpha)
    assert (open_holes(image, alpha, max_open=1.0) < alpha).any()  # it is the enclosure test that spares it


def test_white_shirt_on_white_is_left_alone():
    d = disc_distance((120, 160))
    alpha = soft(50 - d)
    image = composite(alpha, (246, 246, 244), WHITE)  # subject and backdrop alike, nothing around to contrast
    np.testing.assert_array_equal(open_holes(image, alpha), alpha)


def test_enclosed_patch_a_few_delta_e_off_the_backdrop_is_left_alone(monkeypatch):
    """A label on a bottle: enclosed and pale, but not the backdrop's colour."""
    shape = (120, 160)
    alpha = np.zeros(shape, np.float32)
    alpha[10:110, 40:120] = 1
    image = composite(alpha, (25, 70, 35), WHITE)
    image[40:80, 55:105] = (232, 228, 216)  # about 7.5 Delta E from the backdrop
    np.testing.assert_array_equal(open_holes(image, alpha), alpha)
    monkeypatch.setattr(holes, "MIN_TOL", 10.0)  # a looser match would take it for a hole
    assert open_holes(image, alpha)[60, 80] < 0.1


def test_low_contrast_ring_is_left_alone():
    image, filled, _, hole = ring_case(fg=(200, 200, 198))  # ring about 15 Delta E from the backdrop
    np.testing.assert_array_equal(open_holes(image, filled), filled)
    assert open_holes(image, filled, min_contrast=0.0)[hole].max() < 0.1


@pytest.mark.parametrize("alpha_value", [0.0, 1.0])
def test_matte_with_no_background_or_no_subject_is_returned_unchanged(alpha_value):
    image, _, _, _ = ring_case()
    alpha = np.full(image.shape[:2], alpha_value, np.float32)
    np.testing.assert_array_equal(open_holes(image, alpha), alpha)


@pytest.mark.parametrize("shape", [(4, 5), (37, 23), (300, 451), (1100, 700)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_dtype_range_and_input_not_modified(shape, dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    alpha = rng.random(shape).astype(dtype)
    before = alpha.copy()
    out = open_holes(image, alpha)
    assert out.shape == shape and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    assert out is not alpha
    np.testing.assert_array_equal(alpha, before)


def test_idempotent_on_its_own_output():
    image, filled, _, _ = ring_case()
    once = open_holes(image, filled)
    np.testing.assert_allclose(open_holes(image, once), once, atol=1e-6)


GOOD_IMAGE = np.zeros((8, 8, 3), np.uint8)
GOOD_ALPHA = np.zeros((8, 8), np.float32)


@pytest.mark.parametrize("image, alpha, kwargs, message", [
    (GOOD_IMAGE.astype(np.float32), GOOD_ALPHA, {}, "image must be"),
    (GOOD_IMAGE[..., 0], GOOD_ALPHA, {}, "image must be"),
    (GOOD_IMAGE[..., :2], GOOD_ALPHA, {}, "image must be"),
    (GOOD_IMAGE, GOOD_ALPHA[:7], {}, "alpha must have shape"),
    (GOOD_IMAGE, GOOD_ALPHA[..., None], {}, "alpha must be"),
    (GOOD_IMAGE, GOOD_ALPHA.astype(np.int16), {}, "alpha must be float"),
    (GOOD_IMAGE, np.full((8, 8), np.nan, np.float32), {}, "alpha must be finite"),
    (GOOD_IMAGE[:0], GOOD_ALPHA[:0], {}, "at least 1 x 1"),
    (GOOD_IMAGE, GOOD_ALPHA, {"match_delta_e": -1}, "match_delta_e"),
    (GOOD_IMAGE, GOOD_ALPHA, {"min_contrast": "20"}, "min_contrast"),
    (GOOD_IMAGE, GOOD_ALPHA, {"max_open": 1.5}, "max_open"),
    (GOOD_IMAGE, GOOD_ALPHA, {"max_share": True}, "max_share"),
    (GOOD_IMAGE, GOOD_ALPHA, {"work_side": 8}, "work_side"),
    (GOOD_IMAGE, GOOD_ALPHA, {"work_side": 512.0}, "work_side"),
])
def test_bad_input_raises_a_clear_value_error(image, alpha, kwargs, message):
    with pytest.raises(ValueError, match=message):
        open_holes(image, alpha, **kwargs)


@pytest.mark.parametrize("shape, work_side", [((203, 317), 50), ((800, 639), 300), ((161, 160), 16)])
def test_sizes_that_do_not_divide_into_the_reduced_copy(shape, work_side):
    image, filled, truth, hole = ring_case(shape, outer=min(shape) * 0.4, inner=min(shape) * 0.18)
    out = open_holes(image, filled, work_side=work_side)
    assert out.shape == shape and (out <= filled).all()
    assert out[hole].mean() < 0.2


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("shape", [(16, 10000), (12, 5000), (10, 20000), (3, 4000), (1, 5000), (4000, 3), (1, 1)])
def test_slivers_of_any_size_pass_through_without_error_or_warning(shape):
    rgb = np.full((*shape, 3), 240, np.uint8)
    alpha = np.zeros(shape, np.float32)
    alpha[:, shape[1] // 3 : 2 * shape[1] // 3] = 1
    out = open_holes(rgb, alpha)
    assert out.shape == shape and np.isfinite(out).all()


@pytest.mark.filterwarnings("error")
def test_a_far_edge_block_too_narrow_for_its_samples_gets_a_value():
    """1001 columns reduced by 4: the last block is one column wide, short of the samples at
    offset 1 and 3; it takes its first pixel's alpha instead of a division by zero."""
    rgb = np.full((101, 1001, 3), 240, np.uint8)
    alpha = np.zeros((101, 1001), np.float32)
    alpha[20:80, 300:700] = 1
    rgb[20:80, 300:700] = (200, 40, 40)
    out = open_holes(rgb, alpha, work_side=256)
    assert np.isfinite(out).all() and out[50, 500] == 1 and out[50, 100] == 0

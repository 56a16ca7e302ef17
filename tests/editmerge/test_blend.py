"""The boundary of a recolour placed at half weight (alphacut.editmerge.blend)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from support import iou, jpeg_round_trip

from alphacut._shared.colour import lab_to_srgb, srgb_to_lab
from alphacut.editmerge import merge_edit
from alphacut.editmerge import merge as merge_module
from alphacut.editmerge.blend import MIN_FULL, blend_boundary, fit_colour_map


def _turn(t):
    """Lab -> Lab: a* and b* turned by ``t`` radians, L* kept."""
    return np.array([[1, 0, 0], [0, np.cos(t), np.sin(t)], [0, -np.sin(t), np.cos(t)]], np.float32)


def _cut_disc(seed, size=320, gap=6.0, sigma=2.0):
    """A disc of many colours with four narrow cuts from its rim in, over a patterned background;
    its hue turned and blended in with a Gaussian-soft edge, then JPEG. Returns the original,
    the edit, and where the edit's weight is at least one half."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:size, :size].astype(np.float32)
    rad = np.hypot(r - size / 2, c - size / 2)
    region = rad < 0.38 * size
    for a in rng.uniform(0, 2 * np.pi) + np.arange(4) * np.pi / 2:
        along = (c - size / 2) * np.cos(a) + (r - size / 2) * np.sin(a)
        across = -(c - size / 2) * np.sin(a) + (r - size / 2) * np.cos(a)
        region &= ~((np.abs(across) < gap / 2) & (along > 0.15 * size))
    background = np.stack([70 + 30 * np.sin(r / 7), 130 + 25 * np.cos(c / 9), 60 + 25 * np.sin((r + c) / 11)], -1)
    disc = np.stack([120 + 90 * (c / size), 70 + 80 * (r / size), 90 + 40 * np.cos(c / 25)], -1)
    original = np.where(region[..., None], disc, background) + rng.normal(0, 2, (size, size, 3))
    original = np.clip(original, 0, 255).astype(np.uint8)
    full = lab_to_srgb(srgb_to_lab(original) @ _turn(rng.uniform(np.pi / 2, np.pi))) * 255
    w = ndi.gaussian_filter(region.astype(np.float32), sigma)[..., None]
    edited = np.clip(np.rint(original + w * (full - original)), 0, 255).astype(np.uint8)
    return original, jpeg_round_trip(edited, 85), w[..., 0] >= 0.5


def test_lab_to_srgb_inverts_srgb_to_lab_and_agrees_with_skimage():
    color = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (2000, 3)).astype(np.uint8)
    np.testing.assert_allclose(lab_to_srgb(srgb_to_lab(rgb)) * 255, rgb, atol=0.01)
    lab = np.stack([rng.uniform(5, 95, 2000), rng.uniform(-30, 30, 2000), rng.uniform(-30, 30, 2000)], 1)
    inside = np.all((color.lab2rgb(lab) > 0.001) & (color.lab2rgb(lab) < 0.999), axis=1)  # in gamut
    assert inside.sum() > 1000
    np.testing.assert_allclose(lab_to_srgb(lab)[inside], color.lab2rgb(lab)[inside], atol=1e-4)
    out = lab_to_srgb(np.array([[50, 120, -120], [-5, 0, 0], [105, 0, 0]], np.float32))  # out of gamut
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError):
        lab_to_srgb(np.zeros((4, 2)))


def test_fit_colour_map_learns_a_recolour_despite_untouched_pixels_and_rejects_other_edits():
    rng = np.random.default_rng(1)
    lab = np.stack([rng.uniform(20, 80, 3000), rng.uniform(-30, 30, 3000), rng.uniform(-30, 30, 3000)], 1)
    turn = _turn(2.0)
    change = lab @ turn - lab + (0, 8, -6) + rng.normal(0, 0.5, lab.shape)
    # A fifth of the pixels received only a quarter of the edit (a soft edge the core took in).
    soft = rng.random(3000) < 0.2
    change[soft] *= 0.25
    w, full, change_fit, colour_fit = fit_colour_map(lab, change)
    np.testing.assert_allclose(w[:3], turn - np.eye(3), atol=0.02)
    assert abs(full - 0.8) < 0.02 and change_fit > 0.95 and colour_fit > 0.9
    # Without the refits, the soft pixels pull the map towards no change.
    w0 = fit_colour_map(lab, change, refits=0)[0]
    assert np.abs(w0[:3] - (turn - np.eye(3))).max() > 0.1

    swap = rng.uniform(0, 100, lab.shape) - lab  # content from elsewhere: its colours are no map
    _, full, _, colour_fit = fit_colour_map(lab, swap)
    assert full < MIN_FULL and colour_fit < 0.2
    texture = rng.normal(0, 10, lab.shape)  # a change that is not a function of the colour
    _, full, change_fit, _ = fit_colour_map(lab, texture)
    assert full < 0.3 and change_fit < 0.6
    assert fit_colour_map(lab[:10], change[:10]) is None
    _, full, change_fit, colour_fit = fit_colour_map(lab, np.zeros_like(lab))  # no change at all
    assert (full, change_fit, colour_fit) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cuts_a_coarse_outline_bridged_are_carved_back_to_half_weight(seed):
    original, edited, half = _cut_disc(seed)
    lab = srgb_to_lab(original)
    edit = edited.astype(np.float32) / 255
    change = np.moveaxis(srgb_to_lab(edit) - lab, 2, 0)
    coarse = ndi.binary_closing(half, iterations=5) | ndi.binary_dilation(half, iterations=2)
    assert (coarse & ~half).sum() > 1500  # the cuts bridged, and a rim outside
    out = blend_boundary(coarse, coarse, lab=lab, change=change, original=original, edit=edit,
                         coherence=np.ones(half.shape, np.float32), width=4, outer=4, incoherent=0.8, threshold=5.0)
    assert iou(out, half) > 0.985 > iou(coarse, half) + 0.03
    # A region that is grain (low coherence) keeps its outline; so does a content swap.
    grain = blend_boundary(coarse, coarse, lab=lab, change=change, original=original, edit=edit,
                           coherence=np.full(half.shape, 0.5, np.float32), width=4, outer=4, incoherent=0.8,
                           threshold=5.0)
    np.testing.assert_array_equal(grain, coarse)
    other = np.random.default_rng(seed).integers(0, 256, original.shape).astype(np.uint8)
    other = ndi.uniform_filter(other, (9, 9, 1))
    swapped = np.where(half[..., None], other, original).astype(np.float32) / 255
    swap_change = np.moveaxis(srgb_to_lab(swapped) - lab, 2, 0)
    kept = blend_boundary(coarse, coarse, lab=lab, change=swap_change, original=original, edit=swapped,
                          coherence=np.ones(half.shape, np.float32), width=4, outer=4, incoherent=0.8, threshold=5.0)
    np.testing.assert_array_equal(kept, coarse)


@pytest.mark.parametrize("seed", [0, 1])
def test_merge_carves_the_cuts_of_a_soft_edged_recolour(monkeypatch, seed):
    original, edited, half = _cut_disc(seed)
    with_step = merge_edit(original, edited).mask >= 0.5
    monkeypatch.setattr(merge_module, "_BOUNDARY_BLEND", False)
    without = merge_edit(original, edited).mask >= 0.5
    assert iou(with_step, half) > 0.985
    assert iou(with_step, half) > iou(without, half) + 0.02


def test_a_swap_beside_a_recolour_keeps_its_outline_while_the_recolour_is_carved():
    original, edited, half = _cut_disc(0, size=320)
    shape = half.shape
    r, c = np.mgrid[:shape[0], :shape[1]]
    square = (np.abs(r - 30) < 18) & (np.abs(c - 30) < 18)  # in the corner, clear of the disc
    other = ndi.uniform_filter(np.random.default_rng(5).integers(0, 256, original.shape).astype(np.uint8), (9, 9, 1))
    edit = np.where(square[..., None], other, edited).astype(np.float32) / 255
    lab = srgb_to_lab(original)
    change = np.moveaxis(srgb_to_lab(edit) - lab, 2, 0)
    coarse = ndi.binary_closing(half, iterations=5) | ndi.binary_dilation(half, iterations=2)
    coarse |= ndi.binary_dilation(square, iterations=3)
    out = blend_boundary(coarse, coarse, lab=lab, change=change, original=original, edit=edit,
                         coherence=np.ones(shape, np.float32), width=4, outer=4, incoherent=0.8, threshold=5.0)
    corner = (slice(0, 60), slice(0, 60))
    np.testing.assert_array_equal(out[corner], coarse[corner])  # the swap: as it was
    assert iou(out & ~ndi.binary_dilation(square, iterations=3), half) > 0.985  # the recolour: carved

"""Contract tests for alphacut.matte.colorkey on synthetic photos with a known answer."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

from alphacut.matte.colorkey import ColourKeyOptions, border_uniformity, colour_key, should_colour_key
from alphacut._shared.colour import srgb_to_lab

GREEN = (30, 170, 50)


def soft_disc(shape, radius):
    r, c = np.mgrid[:shape[0], :shape[1]]
    d = np.hypot(r - (shape[0] - 1) / 2, c - (shape[1] - 1) / 2)
    return np.clip(radius + 0.5 - d, 0, 1).astype(np.float32)


def composite(alpha, fg, bg, noise=0.0, seed=0):
    a = alpha[..., None]
    img = a * np.asarray(fg, np.float32) + (1 - a) * np.asarray(bg, np.float32)
    if noise:
        img = img + np.random.default_rng(seed).normal(0, noise, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("shape", [(96, 96), (120, 200), (1100, 700)])
@pytest.mark.parametrize("fg", [(250, 240, 230), (200, 40, 40), (40, 40, 200)])
def test_disc_on_green_is_recovered(shape, fg):
    truth = soft_disc(shape, min(shape) / 3)
    alpha, rgb, report = colour_key(composite(truth, fg, GREEN, noise=2), )
    assert alpha.shape == shape and alpha.dtype == np.float32 and rgb.dtype == np.uint8
    assert 0 <= alpha.min() and alpha.max() <= 1
    assert iou(alpha > 0.5, truth > 0.5) > 0.95
    assert report["chosen"]
    json.dumps(report)


def test_edge_is_soft():
    truth = ndi.gaussian_filter((soft_disc((160, 160), 50) > 0.5).astype(np.float32), 2.0)
    alpha, _, _ = colour_key(composite(truth, (240, 240, 240), GREEN))
    ring = (truth > 0.1) & (truth < 0.9)
    soft = (alpha > 0.05) & (alpha < 0.95)
    assert soft[ring].mean() > 0.5
    assert np.abs(alpha - truth)[ring].mean() < 0.25


def test_spill_is_removed():
    truth = ndi.gaussian_filter((soft_disc((160, 160), 50) > 0.5).astype(np.float32), 1.5)
    image = composite(truth, (255, 255, 255), GREEN)
    alpha, rgb, _ = colour_key(image)
    edge = (alpha > 0.1) & (alpha < 0.9)
    assert edge.sum() > 50

    def greenness(x):
        x = x.astype(np.float32)
        return x[..., 1] - (x[..., 0] + x[..., 2]) / 2

    assert greenness(rgb[edge]).mean() < greenness(image[edge]).mean() - 30
    opaque = alpha == 1
    assert np.array_equal(rgb[opaque], image[opaque])
    np.testing.assert_array_equal(rgb[alpha == 0], image[alpha == 0])


def test_decontaminate_off_keeps_colours():
    truth = soft_disc((96, 96), 30)
    image = composite(truth, (255, 255, 255), GREEN)
    _, rgb, _ = colour_key(image, options=ColourKeyOptions(decontaminate=False))
    np.testing.assert_array_equal(rgb, image)


def test_specks_dropped_and_holes_filled():
    truth = (soft_disc((128, 128), 40) > 0.5)
    image = composite(truth.astype(np.float32), (200, 60, 60), GREEN)
    image[5:7, 5:7] = (200, 60, 60)                  # a speck of subject colour in the backdrop
    image[60:63, 60:63] = (90, 140, 90)              # a small hole, not backdrop-coloured
    alpha, _, report = colour_key(image)
    assert alpha[5:7, 5:7].max() == 0
    assert alpha[60:63, 60:63].min() == 1
    assert report["pieces_dropped"] >= 1


def test_subject_touching_the_frame():
    truth = np.zeros((120, 160), np.float32)
    truth[40:, 50:110] = 1                           # a torso cut by the bottom edge
    alpha, _, report = colour_key(composite(truth, (180, 120, 90), (235, 235, 235), noise=1.5))
    assert iou(alpha > 0.5, truth > 0.5) > 0.95


def test_graded_backdrop():
    rows = np.linspace(0, 1, 150, dtype=np.float32)[:, None, None]
    bg = (1 - rows) * np.array([225, 225, 230], np.float32) + rows * np.array([175, 175, 185], np.float32)
    truth = soft_disc((150, 150), 45)
    image = np.clip(truth[..., None] * np.array([120, 50, 30], np.float32) + (1 - truth[..., None]) * bg, 0, 255)
    alpha, _, report = colour_key(np.rint(image).astype(np.uint8))
    assert iou(alpha > 0.5, truth > 0.5) > 0.95
    assert should_colour_key(np.rint(image).astype(np.uint8))[0]


def test_should_colour_key_flat_and_noise():
    flat = composite(soft_disc((100, 100), 30), (200, 50, 50), (245, 245, 245), noise=2)
    chosen, reason, score = should_colour_key(flat)
    assert chosen and score > 0.9 and isinstance(reason, str)
    noise = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    chosen, reason, score = should_colour_key(noise)
    assert not chosen and score < 0.5 and "not plain" in reason


def test_border_uniformity_report():
    score, report = border_uniformity(np.full((32, 48, 3), (10, 20, 200), np.uint8))
    assert score == 1.0 and report["chosen"]
    backdrop = [c for c in report["clusters"] if c["backdrop"]]
    lab = srgb_to_lab(np.array([10, 20, 200], np.uint8))
    assert np.allclose(backdrop[0]["lab"], lab, atol=0.1)
    json.dumps(report)


def test_deterministic():
    image = composite(soft_disc((80, 100), 25), (200, 60, 60), GREEN, noise=4)
    a1, r1, rep1 = colour_key(image)
    a2, r2, rep2 = colour_key(image)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(r1, r2)
    assert rep1 == rep2


@pytest.mark.parametrize("kwargs", [
    {"border": 0.0}, {"border": 0.5}, {"max_clusters": 0}, {"max_clusters": 2.5},
    {"min_cluster_share": 1.5}, {"ramp_share": -0.1}, {"work_side": 8}, {"seed": -1},
    {"decontaminate": 1}, {"solid_interior": "yes"}, {"border": True}, {"min_ramp": float("nan")},
])
def test_option_validation(kwargs):
    with pytest.raises(ValueError):
        ColourKeyOptions(**kwargs)


def test_input_validation():
    with pytest.raises(ValueError):
        colour_key(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        colour_key(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError):
        colour_key(np.zeros((4, 10, 3), np.uint8))
    with pytest.raises(TypeError):
        colour_key(np.zeros((10, 10, 3), np.uint8), options={"border": 0.05})


@pytest.mark.parametrize("force", [False, True])
def test_key_if_plain_is_should_colour_key_then_colour_key(force):
    from alphacut.matte.colorkey import key_if_plain

    plain = composite(soft_disc((90, 120), 30), (200, 40, 40), (40, 170, 60), noise=3.0)
    busy = np.random.default_rng(1).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    for image in (plain, busy):
        chosen, reason, _ = should_colour_key(image)
        alpha, got_chosen, got_reason = key_if_plain(image, force=force)
        assert (got_chosen, got_reason) == (chosen, reason)
        if chosen or force:
            np.testing.assert_array_equal(alpha, colour_key(image)[0])
        else:
            assert alpha is None

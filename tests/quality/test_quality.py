"""Contract tests for alphacut.quality: ranges, directions, verdicts and oracles."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

from alphacut import quality
from alphacut.quality import DEFAULT_THRESHOLDS, QualityReport, QualityThresholds, assess


def disc(shape=(96, 128), radius=30.0, dtype=np.float32):
    r, c = np.mgrid[:shape[0], :shape[1]]
    d = np.hypot(r - shape[0] / 2, c - shape[1] / 2)
    a = np.clip(radius + 0.5 - d, 0, 1)  # one-pixel anti-aliased edge
    if dtype == np.uint8:
        return np.rint(a * 255).astype(np.uint8)
    if dtype == bool:
        return a > 0.5
    return a.astype(dtype)


def jagged_disc(shape=(96, 128), radius=30.0, amp=4.0, seed=0):
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:shape[0], :shape[1]]
    theta = np.arctan2(r - shape[0] / 2, c - shape[1] / 2)
    wobble = amp * np.interp(theta, np.linspace(-np.pi, np.pi, 90), rng.uniform(-1, 1, 90))
    return (np.hypot(r - shape[0] / 2, c - shape[1] / 2) < radius + wobble).astype(np.float32)


def photo_for(alpha):
    a = np.asarray(alpha, np.float32)
    if a.max() > 1:
        a = a / 255
    fg, bg = np.array([220, 200, 180], np.float32), np.array([30, 60, 90], np.float32)
    return np.rint(a[..., None] * fg + (1 - a[..., None]) * bg).astype(np.uint8)


@pytest.mark.parametrize("shape", [(64, 64), (96, 128), (200, 150)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, bool])
def test_disc_is_good(shape, dtype):
    a = disc(shape, radius=min(shape) / 3, dtype=dtype)
    report = assess(photo_for(a), a)
    assert report.verdict == "good", report.to_dict()
    assert report.reasons == ()
    assert 0 <= report.score("jaggedness") < 0.05
    assert 0.8 <= report.score("confidence") <= 1
    assert report.score("fragments") == 0 and report.score("holes") == 0


def test_jagged_disc_scores_worse():
    smooth, rough = quality.edge_jaggedness(disc()), quality.edge_jaggedness(jagged_disc())
    assert rough > smooth + 0.1


def test_noise_scores_worse():
    rng = np.random.default_rng(1)
    a = disc()
    noisy = np.clip(a + rng.normal(0, 0.35, a.shape), 0, 1).astype(np.float32)
    clean, bad = assess(photo_for(a), a), assess(photo_for(a), noisy)
    assert bad.score("jaggedness") > clean.score("jaggedness")
    assert bad.score("halo") > clean.score("halo")
    assert bad.score("fragments") > clean.score("fragments")
    assert bad.verdict != "good" and bad.risk > clean.risk


def test_hedging_matte_has_low_confidence():
    a = disc()
    assert quality.boundary_confidence(a) > 0.8
    assert quality.boundary_confidence(np.clip(a, 0.3, 0.7)) < 0.45


def test_empty_matte_is_nothing_found():
    report = assess(photo_for(disc()), np.zeros((96, 128), np.float32))
    assert report.verdict == "bad"
    assert any("nothing found" in r.lower() for r in report.reasons)


def test_full_matte_is_nothing_removed():
    report = assess(photo_for(disc()), np.ones((96, 128), np.float32))
    assert report.verdict == "bad"
    assert any("nothing removed" in r.lower() for r in report.reasons)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fragments_match_scipy_label(seed):
    rng = np.random.default_rng(seed)
    a = (ndi.gaussian_filter(rng.random((80, 90)), 2) > 0.52).astype(np.float32)
    _, n = ndi.label(a > 0.5, structure=np.ones((3, 3)))
    assert n > 1
    assert quality.count_fragments(a) == n
    labels, n = ndi.label(a > 0.5, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())[1:]
    assert quality.count_fragments(a, min_size=5) == int(np.count_nonzero(sizes >= 5))


def test_holes_match_scipy_fill():
    a = disc()
    a[40:44, 60:64] = 0
    a[55:57, 50:52] = 0
    filled = ndi.binary_fill_holes(a > 0.5)
    _, n = ndi.label(filled & ~(a > 0.5))
    assert quality.count_holes(a) == n == 2


def test_spill_finds_kept_background():
    a = disc()
    image = photo_for(a)
    fat = (ndi.binary_dilation(a > 0.5, iterations=3)).astype(np.float32)
    assert quality.colour_spill(image, a) < 0.05
    assert quality.colour_spill(image, fat) > 0.3


def test_sharpness_drops_with_blur():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    blurred = ndi.gaussian_filter(image, (2, 2, 0))
    assert quality.sharpness(blurred) < quality.sharpness(image) / 10


def test_large_input_is_scored_on_working_copy():
    small = disc((100, 150), radius=35)
    big = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)
    assert quality.halo_fraction(big, max_side=150) == pytest.approx(quality.halo_fraction(small), abs=0.02)
    assert quality.edge_jaggedness(big, max_side=150) == pytest.approx(quality.edge_jaggedness(small), abs=0.03)


def test_report_is_json_able():
    report = assess(photo_for(disc()), disc())
    d = json.loads(json.dumps(report.to_dict()))
    assert d["verdict"] == "good" and set(d["checks"]) >= {"jaggedness", "confidence", "halo", "spill"}
    assert d["checks"]["sharpness"]["bad"] is None  # -inf becomes null


def test_without_image_skips_colour_checks():
    report = assess(None, disc())
    names = {c.name for c in report.checks}
    assert "spill" not in names and "sharpness" not in names and isinstance(report, QualityReport)


def test_flagged_regions():
    a = jagged_disc()
    a[2:4, 2:4] = 1
    masks = quality.flagged_regions(a, image=photo_for(a))
    assert set(masks) == {"jagged", "halo", "fragments", "holes", "spill"}
    for m in masks.values():
        assert m.shape == a.shape and m.dtype == bool
    assert masks["fragments"][2, 2] and masks["fragments"].sum() == 4
    assert masks["jagged"].any()
    assert not quality.flagged_regions(disc())["jagged"].any()
    big = quality.flagged_regions(np.zeros((3000, 2000), np.float32), max_side=512)
    assert max(big["halo"].shape) <= 512


@pytest.mark.parametrize("kwargs", [
    {"jaggedness": (0.5, 0.2)},           # bad below suspicious, for a higher-is-worse score
    {"confidence": (0.5, 0.8)},           # bad above suspicious, for a lower-is-worse score
    {"halo": (0.1,)},
    {"spill": (float("nan"), 1.0)},
])
def test_threshold_validation(kwargs):
    with pytest.raises(ValueError):
        QualityThresholds(**kwargs)


def test_input_validation():
    with pytest.raises(ValueError):
        assess(None, np.zeros((4, 4, 3)))
    with pytest.raises(ValueError):
        assess(np.zeros((5, 5, 3), np.uint8), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="alpha must be float in"):
        assess(None, np.zeros((4, 4), np.int32))
    with pytest.raises(TypeError):
        assess(None, disc(), thresholds={"halo": (0.1, 0.2)})
    with pytest.raises(ValueError):
        quality.count_fragments(disc(), min_size=0)


def test_thresholds_change_the_verdict():
    a = jagged_disc(amp=3)
    strict = QualityThresholds(jaggedness=(0.01, 0.02))
    assert assess(None, a, thresholds=strict).verdict == "bad"
    assert DEFAULT_THRESHOLDS.jaggedness[0] > 0.02


def test_assess_takes_the_working_copy_made_for_it():
    """The pipeline makes the working copy once: given, it scores exactly as one made inside."""
    from alphacut._shared.working import WorkingCopy

    a = disc((1500, 2100), radius=500.0)
    rgb = np.where(a[..., None] > 0.5, 200, 30).astype(np.uint8).repeat(3, axis=2)
    work = WorkingCopy.of(a, rgb)
    assert work.factor == 3
    assert assess(rgb, a, work=work).to_dict() == assess(rgb, a).to_dict()
    with pytest.raises(ValueError, match="working copy"):
        assess(rgb[:900], a[:900], work=work)
    with pytest.raises(ValueError, match="no photo"):
        assess(rgb, a, work=WorkingCopy.of(a))

import numpy as np
import pytest

from alphacut.matte.decontaminate import estimate_foreground


def scene(shape=(80, 120), fg=(220, 60, 40), bg=(0, 255, 0)):
    """A red subject over green with a soft edge; returns (composite, alpha)."""
    rows, cols = shape
    alpha = np.clip((np.arange(cols, dtype=np.float32) - cols / 2) / 10 + 0.5, 0, 1)[None, :].repeat(rows, 0)
    img = alpha[..., None] * np.array(fg, np.float32) + (1 - alpha[..., None]) * np.array(bg, np.float32)
    return np.rint(img).astype(np.uint8), alpha


@pytest.mark.parametrize("shape", [(80, 120), (1200, 1600)])
def test_edge_colour_recovered_and_settled_pixels_untouched(shape):
    img, alpha = scene(shape)
    out = estimate_foreground(img, alpha)
    assert out.dtype == np.uint8 and out.shape == img.shape
    a8 = np.rint(alpha * 255)
    settled = (a8 == 0) | (a8 == 255)
    np.testing.assert_array_equal(out[settled], img[settled])
    band = (alpha > 0.2) & (alpha < 0.8)
    before = np.abs(img[band].astype(int) - (220, 60, 40)).mean()
    after = np.abs(out[band].astype(int) - (220, 60, 40)).mean()
    assert after < 0.4 * before, (before, after)


def test_amount_blends_between_off_and_full():
    img, alpha = scene()
    off = estimate_foreground(img, alpha, amount=0.0)
    full = estimate_foreground(img, alpha, amount=1.0)
    half = estimate_foreground(img, alpha, amount=0.5)
    np.testing.assert_array_equal(off, img)
    mid = (img.astype(int) + full.astype(int)) / 2
    assert np.abs(half - mid).max() <= 1


@pytest.mark.parametrize("kw", [{"amount": 1.5}, {"amount": -0.1}])
def test_rejects_bad_amount(kw):
    img, alpha = scene()
    with pytest.raises(ValueError):
        estimate_foreground(img, alpha, **kw)


def test_band_pass_matches_a_whole_image_reference():
    """Strips and runs at full resolution give what one whole-image pass would."""
    from PIL import Image

    from alphacut._shared.working import WorkingCopy
    from alphacut.matte.decontaminate import _smooth_estimates

    img, alpha = scene((1100, 1400))
    alpha = alpha.copy()
    alpha[::97, 5::211] = 0.3  # isolated soft pixels, each in its own run
    out = estimate_foreground(img, alpha, amount=0.7)
    est = np.concatenate(_smooth_estimates(WorkingCopy.of(alpha, img)), axis=2)  # foreground, background
    full = np.stack(
        [np.asarray(Image.fromarray(np.ascontiguousarray(est[..., k]), mode="F").resize((1400, 1100), Image.BILINEAR))
         for k in range(6)],
        axis=2,
    )
    a8 = np.rint(alpha * 255)
    band = (a8 > 0) & (a8 < 255)
    a = alpha[band][:, None]
    i = img[band] / 255
    f_solved = np.clip((i - (1 - a) * full[band, 3:]) / np.maximum(a, 0.05), 0, 1)
    w = np.clip((a - 0.2) / 0.6, 0, 1)
    f = w * f_solved + (1 - w) * full[band, :3]
    expected = np.clip(np.rint(img[band] + 0.7 * (f - i) * 255), 0, 255)
    assert np.abs(out[band].astype(int) - expected).max() <= 1
    np.testing.assert_array_equal(out[~band], img[~band])


def test_out_receives_the_estimate():
    """Written into the colour channels of an RGBA array: the same values as a fresh array."""
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (300, 40, 3), dtype=np.uint8)
    alpha = np.clip(rng.random((300, 40), dtype=np.float32) * 1.6 - 0.3, 0, 1)
    rgba = np.zeros((300, 40, 4), np.uint8)
    assert estimate_foreground(img, alpha, out=rgba[..., :3]).base is rgba
    np.testing.assert_array_equal(rgba[..., :3], estimate_foreground(img, alpha))
    assert not rgba[..., 3].any()
    with pytest.raises(ValueError, match="out must be"):
        estimate_foreground(img, alpha, out=np.zeros((300, 40, 4), np.uint8))


def test_a_given_working_copy_is_used_as_made_here():
    """The pipeline hands over the quality check's working copy: the same result as without it,
    and one of another photo size is refused."""
    from alphacut._shared.working import WorkingCopy

    img, alpha = scene((1300, 2100))  # reduced 3x
    work = WorkingCopy.of(alpha, img)
    assert work.factor == 3
    np.testing.assert_array_equal(estimate_foreground(img, alpha, work=work), estimate_foreground(img, alpha))
    with pytest.raises(ValueError, match="working copy"):
        estimate_foreground(img[:1000], alpha[:1000], work=work)
    with pytest.raises(ValueError, match="no photo"):
        estimate_foreground(img, alpha, work=WorkingCopy.of(alpha))


@pytest.mark.parametrize("cols, k", [(900, 1), (1024, 1), (2100, 3), (4000, 4)])
def test_the_passes_cover_as_much_of_the_photo_at_any_reduction(monkeypatch, cols, k):
    """The box radii are 90 and 6 pixels of a 1024-px copy: in a reduced copy, scaled to its size,
    so that they span the same share of the photo (a photo of at most 1024 px keeps 90 and 6)."""
    from alphacut.matte import decontaminate as dc

    radii = []
    real = dc.box_mean
    monkeypatch.setattr(dc, "box_mean", lambda stack, r, **kw: radii.append(r) or real(stack, r, **kw))
    img, alpha = scene((cols * 3 // 4, cols))
    estimate_foreground(img, alpha)
    span = (cols / k) / 1024 if k > 1 else 1.0
    assert radii == [round(90 * span), round(6 * span)]

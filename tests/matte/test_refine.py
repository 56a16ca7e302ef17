import numpy as np
import pytest

from alphacut.matte.refine import refine_alpha
from alphacut.matte.resize import resize_alpha


@pytest.mark.parametrize("shape", [(5, 7), (300, 451), (1500, 900)])
def test_shape_dtype_range(shape):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    out = refine_alpha(img, rng.random((64, 64), dtype=np.float32))
    assert out.shape == shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_snaps_a_slightly_blurred_edge_to_the_photo_edge():
    from scipy import ndimage

    img = np.zeros((200, 300, 3), np.uint8)
    img[:, 150:] = 255
    truth = np.zeros((200, 300), np.float32)
    truth[:, 150:] = 1
    blurry = ndimage.uniform_filter1d(truth, 5, axis=1)  # a matte whose edge is off by a few pixels
    sharp = refine_alpha(img, blurry)
    # The step across the photo's edge (columns 149 -> 150) gets much steeper.
    step_before = (blurry[:, 150] - blurry[:, 149]).mean()
    step_after = (sharp[:, 150] - sharp[:, 149]).mean()
    assert step_after > 2 * step_before, (step_before, step_after)
    assert sharp[:, :149].max() < 0.5 < sharp[:, 150:].min()


def test_large_photo_uses_the_fast_path_and_matches_small():
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (100, 150, 3), dtype=np.uint8)
    big = np.repeat(np.repeat(small, 16, axis=0), 16, axis=1)  # 1600 x 2400 > work_side
    coarse = rng.random((32, 32), dtype=np.float32)
    a_small = refine_alpha(small, coarse)
    a_big = refine_alpha(big, coarse)
    assert a_big.shape == (1600, 2400)
    down = resize_alpha(a_big, (100, 150))
    assert np.abs(down - a_small).mean() < 0.1


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        refine_alpha(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError):
        refine_alpha(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 1), np.float32))


@pytest.mark.parametrize("shape", [(3000, 4000), (4000, 3000), (497, 800), (800, 800), (1, 5000)])
def test_letterbox_box_is_centred_and_keeps_the_aspect(shape):
    from alphacut.matte.refine import letterbox_box

    top, left, rows, cols = letterbox_box(shape)
    assert max(rows, cols) == 1024 and 1 <= min(rows, cols)
    assert top == (1024 - rows) // 2 and left == (1024 - cols) // 2
    assert abs(rows / cols - shape[0] / shape[1]) <= 1.5 / min(rows, cols) + 1e-9


def test_letterbox_pads_with_grey_and_letterboxed_refine_crops_it_away():
    from alphacut.matte.refine import letterbox, letterbox_box

    img = np.zeros((300, 400, 3), np.uint8)
    img[:, 200:] = 255
    boxed = letterbox(img)
    top, left, rows, cols = letterbox_box(img.shape)
    assert boxed.shape == (1024, 1024, 3) and boxed.dtype == np.uint8
    assert (boxed[:top] == 128).all() and (boxed[top + rows :] == 128).all()
    # A fake model that answers "subject where bright": the grey bars must not leak in.
    coarse = (boxed[..., 0] > 200).astype(np.float32)
    coarse[:top] = 0.5
    coarse[top + rows :] = 0.5
    alpha = refine_alpha(img, coarse, geometry="letterbox")
    assert alpha.shape == (300, 400)
    assert alpha[:, :195].max() < 0.02 and alpha[:, 205:].min() > 0.98


@pytest.mark.parametrize("geometry", ["squash", "letterbox"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_geometries_and_dtypes_give_float32_in_unit_range(geometry, dtype):
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (120, 90, 3), dtype=np.uint8)
    out = refine_alpha(img, rng.random((64, 64)).astype(dtype) * 1.2 - 0.1, geometry=geometry)
    assert out.shape == (120, 90) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    "kw", [{"geometry": "stretch"}, {"eps": 0.0}, {"radius_fraction": 0.0}, {"work_side": 8}]
)
def test_rejects_bad_options(kw):
    with pytest.raises(ValueError):
        refine_alpha(np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16), np.float32), **kw)


def test_letterbox_geometry_needs_a_square_matte():
    with pytest.raises(ValueError):
        refine_alpha(np.zeros((16, 24, 3), np.uint8), np.zeros((16, 24), np.float32), geometry="letterbox")


def test_hedging_ignores_the_letterbox_bars_and_orders_mattes():
    from alphacut.matte.refine import hedging, letterbox_box

    shape = (300, 400)
    top, left, rows, cols = letterbox_box(shape, size=64)
    boxed = np.zeros((64, 64), np.float32)
    boxed[top : top + rows, left : left + cols] = 0.5
    assert hedging(boxed, shape, geometry="letterbox") == pytest.approx(0.5)
    assert hedging(boxed, shape, geometry="squash") < 0.5
    sharp = np.zeros((64, 64), np.float32)
    sharp[:, 32:] = 1
    assert hedging(sharp, shape) == 0.0 < hedging(np.full((64, 64), 0.3, np.float32), shape)


def test_large_photo_skips_only_what_settles_anyway():
    """The banded full-resolution pass equals the dense fast guided filter, settled."""
    from PIL import Image

    from alphacut._shared.resample import downsample
    from alphacut.matte.guided_filter import guided_filter
    from alphacut.matte.refine import EPS, SETTLE

    rng = np.random.default_rng(3)
    img = np.repeat(np.repeat(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), 250, axis=0), 250, axis=1)
    img = np.clip(img.astype(int) + rng.integers(-4, 5, img.shape), 0, 255).astype(np.uint8)  # 1500 x 2000
    coarse = np.asarray(Image.fromarray((img[..., 0] > 128).astype(np.float32), mode="F").resize((64, 64)))
    coarse = np.clip(coarse + rng.normal(0, 0.01, coarse.shape).astype(np.float32), 0, 1)
    out = refine_alpha(img, coarse)
    small_shape = (768, 1024)
    dense = guided_filter(downsample(img, small_shape), resize_alpha(coarse, small_shape), radius=10, eps=EPS,
                          output_guide=img)
    expected = np.clip((dense - SETTLE) / (1 - 2 * SETTLE), 0, 1)
    assert 0.01 < ((out > 0) & (out < 1)).mean() < 0.5  # both settled and soft pixels
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)

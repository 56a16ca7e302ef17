import numpy as np
import pytest

from alphacut.refine import refine_alpha
from alphacut.resize import resize_alpha


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

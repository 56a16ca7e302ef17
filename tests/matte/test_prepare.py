import numpy as np
import pytest
from PIL import Image

from alphacut.models import get_model
from alphacut.matte.prepare import to_model_input

SPEC = get_model("isnet")


@pytest.mark.parametrize("shape", [(1, 1), (300, 451), (1100, 700)])
def test_shape_dtype_and_range(shape):
    rgb = np.random.default_rng(0).integers(0, 256, shape + (3,), dtype=np.uint8)
    x = to_model_input(rgb, SPEC)
    assert x.shape == (1, 3, 1024, 1024) and x.dtype == np.float32 and x.flags.c_contiguous
    assert -0.5 <= x.min() and x.max() <= 0.5


def test_matches_squash_and_normalise_oracle():
    rgb = np.random.default_rng(1).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    oracle = np.asarray(Image.fromarray(rgb).resize((1024, 1024), Image.BILINEAR), np.float32) / 255.0 - 0.5
    np.testing.assert_allclose(to_model_input(rgb, SPEC)[0].transpose(1, 2, 0), oracle, atol=1e-6)


def test_channel_order_is_rgb():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 255
    x = to_model_input(rgb, SPEC)
    assert np.allclose(x[0, 0], 0.5) and np.allclose(x[0, 1:], -0.5)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3))])
def test_rejects_non_rgb_uint8(bad):
    with pytest.raises(ValueError):
        to_model_input(bad, SPEC)

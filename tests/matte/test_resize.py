import numpy as np
import pytest
from PIL import Image

from alphacut.matte.resize import resize_alpha


@pytest.mark.parametrize("shape", [(1, 1), (3, 1000), (1500, 7)])
def test_shape_dtype_range(shape):
    a = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    out = resize_alpha(a, shape)
    assert out.shape == shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_constant_stays_constant():
    np.testing.assert_allclose(resize_alpha(np.full((16, 16), 0.25, np.float32), (33, 47)), 0.25, atol=1e-6)


def test_matches_pillow_bilinear_on_uint8_scale():
    a = np.random.default_rng(2).random((32, 32), dtype=np.float32)
    ref = np.asarray(Image.fromarray((a * 255).round().astype(np.uint8)).resize((80, 50), Image.BILINEAR)) / 255
    np.testing.assert_allclose(resize_alpha(a, (50, 80)), ref, atol=3 / 255)


def test_rejects_3d():
    with pytest.raises(ValueError):
        resize_alpha(np.zeros((2, 2, 1), np.float32), (4, 4))


@pytest.mark.parametrize("shape", [(300, 700), (64, 64), (40, 900)])
def test_enlarging_matches_pillow(shape):
    """Enlargement runs block by block, not through Pillow: the same matte within float rounding."""
    a = np.random.default_rng(2).random((64, 64), dtype=np.float32)
    pil = np.clip(np.asarray(Image.fromarray(a, mode="F").resize(shape[::-1], Image.BILINEAR)), 0, 1)
    np.testing.assert_allclose(resize_alpha(a, shape), pil, atol=1e-6)


@pytest.mark.parametrize("shape", [(300, 700), (64, 64), (40, 900), (65, 1000), (1500, 7), (30, 40)])
@pytest.mark.parametrize("density", [0.02, 0.3, 0.9])
def test_reach_is_where_the_resized_mask_is_positive(shape, density):
    """`reach` works on booleans when enlarging (the float resize when shrinking or mixed): the same
    pixels as the float resize of the mask above 0, including single isolated pixels."""
    from alphacut.matte.resize import reach

    mask = np.random.default_rng(3).random((64, 64)) < density
    out = reach(mask, shape)
    assert out.shape == shape and out.dtype == bool
    np.testing.assert_array_equal(out, resize_alpha(mask.astype(np.float32), shape) > 0)


@pytest.mark.parametrize("shape", [(600, 700), (30, 40), (600, 40)])
def test_resize_bands_cover_the_resize(shape):
    """Bands in order, every row once, the same values as resize_alpha (one band when shrinking)."""
    from alphacut.matte.resize import resize_bands

    a = np.random.default_rng(6).random((64, 64), dtype=np.float32)
    bands = list(resize_bands(a, shape))
    assert [r.start for r, _ in bands] == sorted(r.start for r, _ in bands) and bands[-1][0].stop >= shape[0]
    np.testing.assert_array_equal(np.concatenate([b for _, b in bands]), resize_alpha(a, shape))

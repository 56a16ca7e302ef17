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
def test_enlarging_matches_pillow_and_above_matches_the_resize(shape):
    """Enlargement runs block by block, not through Pillow: the same matte within float rounding,
    and `above` the same mask as thresholding it (mixed sizes take Pillow's path in both)."""
    from alphacut.matte.resize import above

    a = np.random.default_rng(2).random((64, 64), dtype=np.float32)
    pil = np.clip(np.asarray(Image.fromarray(a, mode="F").resize(shape[::-1], Image.BILINEAR)), 0, 1)
    out = resize_alpha(a, shape)
    np.testing.assert_allclose(out, pil, atol=1e-6)
    np.testing.assert_array_equal(above(a, shape, 0.5), out > 0.5)


@pytest.mark.parametrize("shape", [(600, 700), (30, 40), (600, 40)])
def test_resize_bands_cover_the_resize(shape):
    """Bands in order, every row once, the same values as resize_alpha (one band when shrinking)."""
    from alphacut.matte.resize import resize_bands

    a = np.random.default_rng(6).random((64, 64), dtype=np.float32)
    bands = list(resize_bands(a, shape))
    assert [r.start for r, _ in bands] == sorted(r.start for r, _ in bands) and bands[-1][0].stop >= shape[0]
    np.testing.assert_array_equal(np.concatenate([b for _, b in bands]), resize_alpha(a, shape))

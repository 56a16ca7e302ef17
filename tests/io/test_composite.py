import numpy as np
import pytest

from alphacut.io.composite import to_rgba


@pytest.mark.parametrize("shape", [(1, 1), (17, 5)])
def test_rgb_untouched_where_seen_and_alpha_rounded(shape):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    alpha = rng.random(shape, dtype=np.float32)
    alpha.flat[::3] = 0.0015  # rounds to 0 (one in three pixels)
    out = to_rgba(rgb, alpha)
    np.testing.assert_array_equal(out[..., 3], np.rint(alpha * 255).astype(np.uint8))
    seen = out[..., 3] > 0
    np.testing.assert_array_equal(out[..., :3][seen], rgb[seen])
    assert not out[~seen].any()  # a fully transparent pixel keeps nothing of the photo


def test_source_alpha_multiplies():
    rgb = np.zeros((1, 3, 3), np.uint8)
    alpha = np.ones((1, 3), np.float32)
    src = np.array([[0, 128, 255]], np.uint8)
    assert to_rgba(rgb, alpha, source_alpha=src)[..., 3].tolist() == [[0, 128, 255]]


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in size"):
        to_rgba(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3), np.float32))


def test_bands_cover_every_row_once():
    """Taller than one band, and a band height that does not divide it: the bands stacked are to_rgba's image."""
    from alphacut.io.composite import rgba_bands

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (600, 7, 3), dtype=np.uint8)
    alpha = rng.random((600, 7), dtype=np.float32)
    src = rng.integers(0, 256, (600, 7), dtype=np.uint8)
    bands = list(rgba_bands(rgb, alpha, source_alpha=src, rows=256))
    assert [b.shape[0] for b in bands] == [256, 256, 88]
    whole = np.concatenate(bands)
    seen = whole[..., 3] > 0
    assert (~seen).any()
    np.testing.assert_array_equal(whole[..., :3][seen], rgb[seen])
    assert not whole[~seen].any()
    exact = alpha.astype(np.float64) * src  # float32 rounding may move a value that ends in .5 by one
    assert np.abs(whole[..., 3] - exact).max() <= 0.5 + 1e-3
    np.testing.assert_array_equal(whole, to_rgba(rgb, alpha, source_alpha=src))

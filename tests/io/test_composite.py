import numpy as np
import pytest

from alphacut.io.composite import to_rgba


@pytest.mark.parametrize("shape", [(1, 1), (17, 5)])
def test_rgb_untouched_and_alpha_rounded(shape):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    alpha = rng.random(shape, dtype=np.float32)
    out = to_rgba(rgb, alpha)
    np.testing.assert_array_equal(out[..., :3], rgb)
    np.testing.assert_array_equal(out[..., 3], np.rint(alpha * 255).astype(np.uint8))


def test_source_alpha_multiplies():
    rgb = np.zeros((1, 3, 3), np.uint8)
    alpha = np.ones((1, 3), np.float32)
    src = np.array([[0, 128, 255]], np.uint8)
    assert to_rgba(rgb, alpha, source_alpha=src)[..., 3].tolist() == [[0, 128, 255]]


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in size"):
        to_rgba(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3), np.float32))


def test_set_alpha_writes_in_place_in_bands():
    """Taller than one band: every row written, the colour channels left alone."""
    from alphacut.io.composite import set_alpha

    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (600, 7, 4), dtype=np.uint8)
    colours = rgba[..., :3].copy()
    alpha = rng.random((600, 7), dtype=np.float32)
    assert set_alpha(rgba, alpha) is rgba
    np.testing.assert_array_equal(rgba[..., 3], np.rint(alpha * 255).astype(np.uint8))
    np.testing.assert_array_equal(rgba[..., :3], colours)
    with pytest.raises(ValueError, match="rgba must be"):
        set_alpha(rgba[:, :, :3], alpha)

"""The input checkers: what each internal format accepts, converts and refuses."""
import numpy as np
import pytest

from alphacut._shared.checks import as_alpha, as_rgb8, check_radius


def test_as_rgb8_keeps_the_array_and_drops_alpha_only_when_asked():
    img = np.zeros((4, 5, 3), np.uint8)
    assert as_rgb8(img) is img
    rgba = np.arange(4 * 5 * 4, dtype=np.uint8).reshape(4, 5, 4)
    out = as_rgb8(rgba, drop_alpha=True)
    assert out.shape == (4, 5, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, rgba[..., :3])
    with pytest.raises(ValueError, match=r"image must be \(M, N, 3\) uint8"):
        as_rgb8(rgba)


@pytest.mark.parametrize("image, kw, message", [
    (np.zeros((4, 5, 3), np.float32), {}, r"photo must be \(M, N, 3\) uint8, got \(4, 5, 3\) float32"),
    (np.zeros((4, 5), np.uint8), {}, r"photo must be \(M, N, 3\) uint8"),
    (np.zeros((4, 5, 3), np.uint8), {"min_side": 8}, "photo must be at least 8 x 8"),
    (np.zeros((4, 5, 3), np.uint8), {"shape": (5, 4)}, r"photo must have shape \(5, 4\), got \(4, 5\)"),
])
def test_as_rgb8_refuses_with_the_callers_name(image, kw, message):
    with pytest.raises(ValueError, match=message):
        as_rgb8(image, "photo", **kw)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_as_alpha_clips_floats_into_a_new_float32_array(dtype):
    a = np.array([[-1.0, 0.25], [0.75, 3.0]], dtype)
    out = as_alpha(a)
    assert out.dtype == np.float32 and not np.shares_memory(out, a)
    np.testing.assert_array_equal(out, [[0, 0.25], [0.75, 1]])


def test_as_alpha_scales_uint8_and_bool():
    np.testing.assert_allclose(as_alpha(np.array([[0, 51, 255]], np.uint8)), [[0, 0.2, 1]], rtol=1e-6)
    np.testing.assert_array_equal(as_alpha(np.array([[True, False]])), [[1, 0]])


@pytest.mark.parametrize("alpha, kw, message", [
    (np.zeros((2, 2), np.int64), {}, "matte must be float in"),
    (np.full((2, 2), np.inf, np.float32), {}, "matte must be finite"),
    (np.full((2, 2), np.nan), {}, "matte must be finite"),
    (np.zeros((0, 3), np.float32), {}, r"matte must be a non-empty \(M, N\) array"),
    (np.zeros((2, 2, 1), np.float32), {}, r"matte must be a non-empty \(M, N\) array"),
    (np.zeros((2, 2), np.float32), {"shape": (2, 3)}, r"matte must have shape \(2, 3\), got \(2, 2\)"),
])
def test_as_alpha_refuses(alpha, kw, message):
    with pytest.raises(ValueError, match=message):
        as_alpha(alpha, "matte", **kw)


@pytest.mark.parametrize("radius", [0, -1, 1.5, True])
def test_check_radius_refuses(radius):
    with pytest.raises(ValueError, match="radius must be an integer >= 1"):
        check_radius(radius)


def test_as_alpha_without_copy_returns_a_valid_float32_matte_itself():
    a = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert as_alpha(a, copy=False) is a
    for other in (a.astype(np.float64), np.array([[0.0, 1.5]], np.float32)):  # converted or clipped: a copy
        out = as_alpha(other, copy=False)
        assert out is not other and out.dtype == np.float32 and out.max() <= 1
    with pytest.raises(ValueError, match="finite"):
        as_alpha(np.array([[np.nan, 0.5]], np.float32), copy=False)

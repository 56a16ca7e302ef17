import numpy as np
import pytest

from alphacut.matte.guided_filter import guided_filter


def brute_force(guide, src, radius, eps):
    """He et al.'s definition, window by window, in float64 (windows clipped to the image)."""
    g = guide.astype(np.float64)
    if g.ndim == 2:
        g = g[:, :, None]
    rows, cols, ch = g.shape
    a = np.zeros((rows, cols, ch))
    b = np.zeros((rows, cols))

    def win(i, j):
        return slice(max(i - radius, 0), i + radius + 1), slice(max(j - radius, 0), j + radius + 1)

    for i in range(rows):
        for j in range(cols):
            w = win(i, j)
            gi, pi = g[w].reshape(-1, ch), src[w].ravel().astype(np.float64)
            mu = gi.mean(0)
            sigma = (gi - mu).T @ (gi - mu) / len(gi)
            cov = ((gi - mu) * (pi - pi.mean())[:, None]).mean(0)
            a[i, j] = np.linalg.solve(sigma + eps * np.eye(ch), cov)
            b[i, j] = pi.mean() - a[i, j] @ mu
    out = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            w = win(i, j)
            out[i, j] = a[w].reshape(-1, ch).mean(0) @ g[i, j] + b[w].mean()
    return out


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("shape", [(9, 13), (5, 4), (1, 7), (12, 3)])
@pytest.mark.parametrize("radius", [1, 3])
def test_matches_brute_force(channels, shape, radius):
    rng = np.random.default_rng(sum(shape) + channels)
    guide = rng.random(shape + (channels,), dtype=np.float32)
    if channels == 1:
        guide = guide[..., 0]
    src = rng.random(shape, dtype=np.float32)
    out = guided_filter(guide, src, radius=radius, eps=1e-2)
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_allclose(out, brute_force(guide, src, radius, 1e-2), atol=2e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_uint8_guide_is_scaled_to_unit_range(dtype):
    rng = np.random.default_rng(3)
    g8 = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    guide = g8 if dtype == np.uint8 else (g8 / 255).astype(dtype)
    src = rng.random((20, 30)).astype(np.float32)
    out = guided_filter(guide, src, radius=2, eps=1e-3)
    np.testing.assert_allclose(out, brute_force(g8 / 255, src, 2, 1e-3), atol=1e-4)


def test_constant_src_is_a_fixed_point():
    rng = np.random.default_rng(4)
    guide = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    out = guided_filter(guide, np.full((40, 50), 0.3, np.float32), radius=4, eps=1e-4)
    np.testing.assert_allclose(out, 0.3, atol=1e-4)


def test_large_eps_tends_to_a_box_blur():
    from scipy import ndimage

    rng = np.random.default_rng(5)
    guide = rng.random((30, 30, 3), dtype=np.float32)
    src = rng.random((30, 30), dtype=np.float32)
    out = guided_filter(guide, src, radius=2, eps=1e6)
    box = ndimage.uniform_filter(ndimage.uniform_filter(src.astype(np.float64), 5, mode="constant"), 5, mode="constant")
    inner = (slice(4, -4), slice(4, -4))  # away from the clipped border windows
    np.testing.assert_allclose(out[inner], box[inner], atol=1e-4)


@pytest.mark.parametrize("out_shape", [(40, 60), (97, 131)])
def test_output_guide_of_the_same_size_is_the_plain_filter(out_shape):
    rng = np.random.default_rng(6)
    guide = rng.integers(0, 256, out_shape + (3,), dtype=np.uint8)
    src = rng.random(out_shape, dtype=np.float32)
    plain = guided_filter(guide, src, radius=3, eps=1e-3)
    fast = guided_filter(guide, src, radius=3, eps=1e-3, output_guide=guide)
    assert fast.shape == out_shape and fast.dtype == np.float32
    np.testing.assert_allclose(fast, plain, atol=1e-5)


def test_output_guide_upsamples_a_step_to_the_full_resolution_edge():
    big = np.zeros((400, 600, 3), np.uint8)
    big[:, 301:] = 255  # an edge between two columns that the small grid cannot place
    small = big[::4, ::4]
    src = (small[..., 0] > 0).astype(np.float32)
    out = guided_filter(small, src, radius=2, eps=1e-4, output_guide=big)
    assert out.shape == (400, 600)
    # Bilinear resizing ramps over 4 columns (steps of 0.25); the fast guided filter jumps at the
    # photo's edge, between columns 300 and 301, and is settled a few columns either side.
    assert (out[:, 301] - out[:, 300]).min() > 0.7
    assert np.abs(out[:, :300]).max() < 0.05 and np.abs(out[:, 306:] - 1).max() < 0.05


@pytest.mark.parametrize(
    "kw",
    [
        {"radius": 0, "eps": 1e-3},
        {"radius": 1.5, "eps": 1e-3},
        {"radius": 2, "eps": 0.0},
        {"radius": 2, "eps": -1.0},
    ],
)
def test_rejects_bad_parameters(kw):
    with pytest.raises(ValueError):
        guided_filter(np.zeros((8, 8)), np.zeros((8, 8)), **kw)


def test_rejects_mismatched_shapes_and_dtypes():
    with pytest.raises(ValueError):
        guided_filter(np.zeros((8, 8)), np.zeros((8, 9)), radius=1, eps=1e-3)
    with pytest.raises(TypeError):
        guided_filter(np.zeros((8, 8), np.int32), np.zeros((8, 8)), radius=1, eps=1e-3)
    with pytest.raises(ValueError):
        guided_filter(np.zeros((8, 8, 3)), np.zeros((8, 8)), radius=1, eps=1e-3, output_guide=np.zeros((16, 16)))


def _fitted(rng, small_shape, channels, guide_dtype):
    from PIL import Image

    from alphacut.matte.guided_filter import coefficients

    big = rng.integers(0, 256, (4, 5, channels), dtype=np.uint8)
    big = np.repeat(np.repeat(big, 40, axis=0), 40, axis=1)[:150, :190]  # flat patches with sharp edges
    big = np.clip(big.astype(int) + rng.integers(-3, 4, big.shape), 0, 255).astype(np.uint8)
    small = np.stack(
        [np.asarray(Image.fromarray(big[..., c]).resize(small_shape[::-1], Image.BILINEAR)) for c in range(channels)],
        axis=2,
    )
    src = np.zeros(small_shape, np.float32)
    src[:, small_shape[1] // 2 :] = 1
    src[small_shape[0] // 3 : small_shape[0] // 2] = 0.5
    if guide_dtype != np.uint8:
        big, small = (big / 255).astype(guide_dtype), (small / 255).astype(guide_dtype)
    return coefficients(small, src, radius=2, eps=1e-3), big


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("guide_dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("small_shape", [(30, 38), (15, 19), (200, 260)])
def test_clipped_apply_equals_clipping_the_dense_output(channels, guide_dtype, small_shape):
    from alphacut.matte.guided_filter import apply_coefficients

    ab, big = _fitted(np.random.default_rng(7), small_shape, channels, guide_dtype)
    dense = apply_coefficients(ab, big)
    for lo, hi in [(0.0, 1.0), (0.1, 0.9), (-3.0, 0.5)]:
        clipped = apply_coefficients(ab, big, clip=(lo, hi))
        assert clipped.dtype == np.float32 and clipped.shape == big.shape[:2]
        np.testing.assert_allclose(clipped, np.clip(dense, lo, hi), rtol=0, atol=2e-6)


def test_coefficients_then_apply_is_the_guided_filter():
    from alphacut.matte.guided_filter import apply_coefficients, coefficients

    rng = np.random.default_rng(8)
    guide = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    big = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    src = rng.random((30, 40), dtype=np.float32)
    ab = coefficients(guide, src, radius=3, eps=1e-3)
    assert ab.shape == (30, 40, 4) and ab.dtype == np.float32
    np.testing.assert_array_equal(apply_coefficients(ab, guide), guided_filter(guide, src, radius=3, eps=1e-3))
    np.testing.assert_array_equal(
        apply_coefficients(ab, big), guided_filter(guide, src, radius=3, eps=1e-3, output_guide=big)
    )

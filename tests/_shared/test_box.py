"""The box filter against scipy (pymatting's boxfilter test)."""
import numpy as np
import pytest


@pytest.mark.parametrize("edges", ["clip", "nearest"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 2, 5), (40, 3, 31)])
@pytest.mark.parametrize("radius", [1, 4, 50])
def test_box_mean_matches_scipy(edges, shape, radius):
    from scipy import ndimage

    from alphacut._shared.box import box_mean

    rng = np.random.default_rng(radius + shape[0])
    x = rng.random(shape, dtype=np.float32) - 0.5
    size = 2 * radius + 1
    planes = x.transpose(1, 0, 2).astype(np.float64)
    if edges == "nearest":
        expected = np.stack([ndimage.uniform_filter(p, size, mode="nearest") for p in planes], axis=1)
    else:  # the mean over the part of the window inside the plane
        total = [ndimage.uniform_filter(p, size, mode="constant") for p in planes]
        count = ndimage.uniform_filter(np.ones(shape[::2]), size, mode="constant")
        expected = np.stack([t / count for t in total], axis=1)
    np.testing.assert_allclose(box_mean(x, radius, edges=edges), expected, atol=1e-6)

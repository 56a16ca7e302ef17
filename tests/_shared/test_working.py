import numpy as np
import pytest

from alphacut._shared.resample import reduce
from alphacut._shared.working import WorkingCopy, factor, shrink


@pytest.mark.parametrize("shape, k", [((1024, 1024), 1), ((1025, 10), 2), ((3000, 4000), 4), ((4243, 5657), 6)])
def test_factor_brings_the_longer_side_to_at_most_1024(shape, k):
    assert factor(shape) == k
    assert -(-max(shape) // k) <= 1024
    assert k == 1 or -(-max(shape) // (k - 1)) > 1024  # the smallest such factor


def test_shrink_is_the_box_reduction_and_leaves_small_arrays_as_they_are():
    x = np.random.default_rng(0).random((2100, 300), dtype=np.float32)
    np.testing.assert_array_equal(shrink(x), reduce(x, 3))
    small = x[:1000]
    assert shrink(small) is small


def test_of_reduces_photo_and_matte_by_one_factor():
    rng = np.random.default_rng(1)
    alpha = rng.random((1500, 2100), dtype=np.float32)
    rgb = rng.integers(0, 256, (1500, 2100, 3), dtype=np.uint8)
    w = WorkingCopy.of(alpha, rgb)
    assert (w.shape, w.factor, w.alpha.shape, w.rgb.shape) == ((1500, 2100), 3, (500, 700), (500, 700, 3))
    np.testing.assert_array_equal(w.rgb, reduce(rgb, 3))
    assert w.check((1500, 2100), rgb=True) is w


def test_check_refuses_a_copy_of_another_photo():
    w = WorkingCopy.of(np.zeros((1500, 2100), np.float32))
    with pytest.raises(ValueError, match="working copy"):
        w.check((1500, 2000))
    with pytest.raises(ValueError, match="working copy"):
        w.check((1500, 2100), max_side=512)
    with pytest.raises(ValueError, match="no photo"):
        w.check((1500, 2100), rgb=True)
    with pytest.raises(ValueError, match="differ in size"):
        WorkingCopy.of(np.zeros((10, 10), np.float32), np.zeros((10, 11, 3), np.uint8))

"""Resampling against Pillow."""
import numpy as np
import pytest


@pytest.mark.parametrize(
    "block", [(slice(0, 57), slice(0, 83)), (slice(10, 11), slice(40, 83)), (slice(56, 57), slice(0, 1))]
)
def test_bilinear_block_matches_pillow(block):
    from PIL import Image

    from alphacut._shared.resample import bilinear_block

    rng = np.random.default_rng(9)
    grid = rng.random((13, 20, 2), dtype=np.float32)
    shape = (57, 83)
    whole = np.stack(
        [np.asarray(Image.fromarray(grid[..., k], mode="F").resize(shape[::-1], Image.BILINEAR)) for k in range(2)],
        axis=2,
    )
    np.testing.assert_allclose(bilinear_block(grid, shape, *block), whole[block], atol=1e-6)


def test_downsample_matches_pillow():
    from PIL import Image

    from alphacut._shared.resample import downsample

    rng = np.random.default_rng(11)
    img = rng.integers(0, 256, (301, 405, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(img).resize((100, 77), Image.BILINEAR))
    assert np.abs(downsample(img, (77, 100)).astype(int) - expected).max() <= 1

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


@pytest.mark.parametrize("sizes", [((301, 405), (77, 100)), ((173, 205), (18, 24)), ((3000, 40), (768, 10)),
                                   ((97, 13), (97, 13)), ((64, 64), (1, 1)), ((50, 7), (49, 2))])
def test_box_downsample_is_pillow_s_to_the_bit(sizes):
    """The rows are summed in numpy (_box_rows), the same values as Pillow's box filter, also
    where its rounding leaves a row out of every window (173 -> 18: row 86)."""
    from PIL import Image

    from alphacut._shared.resample import _box_period, _box_taps, downsample

    (h, w), (oh, ow) = sizes
    img = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    flat = img.reshape(h, w * 3)
    tall = np.asarray(Image.fromarray(flat).resize((w * 3, oh), Image.Resampling.BOX)).reshape(oh, w, 3)
    expected = np.asarray(Image.fromarray(tall).resize((ow, oh), Image.Resampling.BOX))
    np.testing.assert_array_equal(downsample(img, (oh, ow), Image.Resampling.BOX), expected)
    if sizes[0] in ((301, 405), (3000, 40)):  # summed in numpy
        assert _box_period(h, oh) == {301: (43, 11), 3000: (125, 32)}[h]
    if sizes[0] == (173, 205):  # resized by Pillow: no short period
        first, count, _ = _box_taps(173, 18)
        assert 86 not in {r for f, c in zip(first, count) for r in range(f, f + c)}
        assert _box_period(173, 18) is None


@pytest.mark.parametrize("shape", [(600, 700), (1024, 1025), (257, 300)])
def test_upsample_bands_match_pillow(shape):
    """Band by band, the same as Pillow's whole-image bilinear enlargement, and every row once."""
    from PIL import Image

    from alphacut._shared.resample import upsample_bands

    plane = np.random.default_rng(3).random((200, 256), dtype=np.float32)
    whole = np.asarray(Image.fromarray(plane, mode="F").resize(shape[::-1], Image.BILINEAR))
    bands = list(upsample_bands(plane, shape, band=128))
    assert [r.start for r, _ in bands] == list(range(0, shape[0], 128))
    np.testing.assert_allclose(np.concatenate([b for _, b in bands]), whole, atol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
@pytest.mark.parametrize("dtype,channels", [(np.float32, ()), (np.uint8, ()), (np.uint8, (3,))])
def test_reduce_in_bands_equals_one_pillow_reduce(k, dtype, channels):
    """Bands of whole blocks give exactly Pillow's reduction of the whole image, edges included."""
    from PIL import Image

    from alphacut._shared.resample import reduce

    rng = np.random.default_rng(k)
    img = (rng.random((301, 203) + channels, dtype=np.float32) * (1 if dtype == np.float32 else 255)).astype(dtype)
    whole = np.asarray(Image.fromarray(img, mode="F" if dtype == np.float32 else None).reduce(k))
    out = reduce(img, k, band=16)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, whole)

import io

import numpy as np
import pytest
from PIL import Image

from alphacut.io.encode import encode_png


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3), (5, 4, 4)])
@pytest.mark.parametrize("level", [0, 1, 9])
def test_png_round_trips_exactly(shape, level):
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    img = Image.open(io.BytesIO(encode_png(arr, compress_level=level)))
    np.testing.assert_array_equal(np.asarray(img), arr)


def test_png_has_no_metadata_chunks():
    data = encode_png(np.zeros((3, 3, 4), np.uint8))
    img = Image.open(io.BytesIO(data))
    assert not img.info.get("exif") and "dpi" not in img.info
    for chunk in (b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"):
        assert chunk not in data


@pytest.mark.parametrize("arr, err", [
    (np.zeros((3, 3, 4), np.float32), TypeError),
    (np.zeros((3, 3, 2), np.uint8), ValueError),
])
def test_bad_arrays_are_refused(arr, err):
    with pytest.raises(err):
        encode_png(arr)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_written_band_by_band_round_trips(channels):
    """Bands of uneven heights, taller than encode_png's: every row decodes exactly, and every
    chunk's CRC checks out (Pillow's verify)."""
    from alphacut.io.encode import write_png

    shape = (600, 37, channels)
    arr = np.random.default_rng(channels).integers(0, 256, shape, dtype=np.uint8)
    arr[100:300] = arr[99]  # rows equal to the one above: "Up" filters them to zeros
    cuts = [0, 1, 2, 257, 300, 599, 600]
    png = write_png(shape, (arr[a:b] for a, b in zip(cuts, cuts[1:])))
    Image.open(io.BytesIO(png)).verify()
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))).reshape(shape), arr)


@pytest.mark.parametrize("cuts, message", [([0, 5], "the bands hold 5 rows, the image 6"),
                                           ([0, 6, 7], "the bands hold 7 rows, the image 6")])
def test_bands_must_hold_the_image_rows(cuts, message):
    from alphacut.io.encode import write_png

    arr = np.zeros((7, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=message):
        write_png((6, 4, 4), (arr[a:b] for a, b in zip(cuts, cuts[1:])))


def test_a_band_of_the_wrong_width_is_refused():
    from alphacut.io.encode import write_png

    with pytest.raises(ValueError, match=r"a band must be \(R, 4, 4\) uint8"):
        write_png((2, 4, 4), [np.zeros((2, 5, 4), np.uint8)])

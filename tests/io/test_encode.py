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

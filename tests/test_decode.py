import io

import numpy as np
import pytest
from PIL import Image

from alphacut.decode import DecodeError, decode
from support import png_bytes


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (40, 65)])
def test_rgb_png_round_trips(shape):
    rgb = np.random.default_rng(0).integers(0, 256, shape + (3,), dtype=np.uint8)
    d = decode(png_bytes(rgb))
    np.testing.assert_array_equal(d.rgb, rgb)
    assert d.alpha is None and d.format == "PNG" and d.mode == "RGB"


def test_rgba_keeps_source_alpha():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 3] = np.arange(5, dtype=np.uint8) * 60
    d = decode(png_bytes(rgba))
    np.testing.assert_array_equal(d.alpha, rgba[..., 3])


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1", "LA", "I;16", "I", "F"])
def test_modes_convert_to_rgb_uint8(mode):
    grey = np.tile(np.linspace(0, 255, 16).astype(np.uint8), (3, 1))
    img = Image.fromarray(grey).convert(mode) if mode not in ("I;16", "I", "F") else None
    if mode == "I;16":
        img = Image.fromarray((grey.astype(np.uint16) * 257))
    elif mode == "I":
        img = Image.fromarray(grey.astype(np.int32) * 257)
    elif mode == "F":
        img = Image.fromarray(grey.astype(np.float32) / 255)
    fmt = "TIFF" if mode in ("CMYK", "I", "F") else "PNG"
    d = decode(_encode(img, fmt))
    assert d.rgb.dtype == np.uint8 and d.rgb.shape == (3, 16, 3)
    if mode not in ("1", "CMYK"):
        np.testing.assert_allclose(d.rgb[..., 0], grey, atol=1)


def test_palette_with_transparency_keeps_it():
    img = Image.new("P", (4, 2), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.putpixel((1, 0), 1)
    d = decode(_encode(img, "PNG", transparency=0))
    assert d.alpha is not None
    assert d.alpha[0, 1] == 255 and d.alpha[0, 0] == 0


@pytest.mark.parametrize("orientation, expected_shape", [(1, (2, 3)), (3, (2, 3)), (6, (3, 2)), (8, (3, 2))])
def test_exif_orientation_is_applied(orientation, expected_shape):
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = 255  # top-left marker
    img = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = orientation
    d = decode(_encode(img, "PNG", exif=exif.tobytes()))
    assert d.rgb.shape[:2] == expected_shape
    assert d.rgb.max() == 255


def test_animated_gif_uses_first_frame_and_counts_frames():
    frames = [Image.new("RGB", (4, 4), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    d = decode(buf.getvalue())
    assert d.frames == 2
    assert d.rgb[0, 0, 0] > 200 and d.rgb[0, 0, 2] < 50


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, this is text", "not an image format"),
    (bytes(range(256)) * 4, "not an image format"),
])
def test_bad_bytes_raise_decode_error(data, message):
    with pytest.raises(DecodeError, match=message):
        decode(data)


def test_truncated_png_is_rejected():
    data = png_bytes(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(DecodeError, match="damaged or truncated"):
        decode(data[: len(data) // 2])


def test_pixel_limit_refuses_before_decoding():
    data = png_bytes(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(DecodeError, match=r"100x100 = 0\.0 MP, above the limit"):
        decode(data, max_pixels=9999)

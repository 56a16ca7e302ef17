import io

import numpy as np
import pytest
from PIL import Image

from alphacut.io.decode import DecodeError, decode
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


# --- hardening (issue 8); the bad-input corpus is in test_corpus.py, the fuzzing in test_decode_fuzz.py


@pytest.mark.parametrize("wrap", [bytearray, memoryview])
def test_accepts_any_bytes_like(wrap):
    data = png_bytes(np.zeros((2, 3, 3), np.uint8))
    assert decode(wrap(data)).rgb.shape == (2, 3, 3)


def test_pixel_limit_is_inclusive():
    data = png_bytes(np.zeros((100, 100, 3), np.uint8))
    assert decode(data, max_pixels=10_000).rgb.shape == (100, 100, 3)


def test_max_pixels_is_the_one_limit_pillows_guard_included():
    from corpus.generate import png_bomb

    with pytest.raises(DecodeError, match=r"^the image is 40000x40000 = 1600\.0 MP, above the limit of 1000 MP$"):
        decode(png_bomb(40000, 40000), max_pixels=10**9)
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(DecodeError):
        decode(png_bomb(8000, 8000), max_pixels=10**6)
    assert Image.MAX_IMAGE_PIXELS == before  # restored


@pytest.mark.parametrize("data, message", [
    ("Grüße aus Köln\n".encode("utf-16"), "this is a text file"),
    (("x" + "é" * 600).encode(), "this is a text file"),  # a character cut at the sample's end
    (b"\x01\x02\x03 binary" * 10, "not an image format"),
    (b"\xef\xbb\xbf  <svg viewBox='0 0 1 1'/>", "SVG is a vector format"),
    (b"\0\0\0\x1cftypavif\0\0\0\0mif1miafavif", "AVIF images are not supported"),
    (b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", "this is a video"),
    (b"\0\0\0\x14ftypcrx \0\0\0\0crx ", "not an image format"),  # an ISO file of no known kind
])
def test_signatures_name_the_problem(data, message):
    with pytest.raises(DecodeError, match=message):
        decode(data)


def test_png_metadata_chunks_are_dropped_and_nothing_else():
    from alphacut.io.decode import _PNG_UNUSED, _without_png_chunks
    from corpus.generate import png_chunk, png_raw

    rgb = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    text = (png_chunk(b"tEXt", b"k\0v"), png_chunk(b"iCCP", b"p\0\0xx"))
    plain = png_raw(rgb, 8, 2, before=(png_chunk(b"gAMA", b"\0\0\xb1\x8f"),))
    with_text = png_raw(rgb, 8, 2, before=(text[0], png_chunk(b"gAMA", b"\0\0\xb1\x8f"), text[1]),
                        after=(png_chunk(b"zTXt", b"k\0\0x"),))
    assert _without_png_chunks(with_text, _PNG_UNUSED) == plain
    assert _without_png_chunks(plain, _PNG_UNUSED) is plain
    cut = with_text[:40]  # the tEXt chunk does not fit: left as it is, for Pillow to report
    assert _without_png_chunks(cut, _PNG_UNUSED) is cut


def test_float_images_clip_and_zero_nan():
    values = np.array([[np.nan, 2.0, -1.0, 0.5, np.inf]], np.float32)
    d = decode(_encode(Image.fromarray(values), "TIFF"))
    np.testing.assert_array_equal(d.rgb[0, :, 0], [0, 255, 0, 128, 255])


@pytest.mark.parametrize("exc, message", [
    (MemoryError(), r"^there is not enough memory to decode this image$"),
    (KeyError("tile"), r"^the PNG file is damaged \('tile'\)$"),
    (OSError("image file is truncated (3 bytes not processed)"),
     r"^the PNG file is damaged or truncated: it ends before the image data does$"),
    (ImportError("no _imagingcms"), r"^the PNG file is damaged \(no _imagingcms\)$"),
    (OverflowError("Python int too large to convert to C ssize_t"),  # wasm32 only, in real life
     r"^the PNG file is damaged or truncated: its header cannot be read$"),
])
def test_unexpected_pillow_errors_become_decode_errors(monkeypatch, exc, message):
    from PIL import ImageFile

    def fail(self):
        raise exc

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    with pytest.raises(DecodeError, match=message):
        decode(png_bytes(np.zeros((2, 2, 3), np.uint8)))


def test_16_bit_grey_keeps_its_depth_and_transparency():
    from corpus.generate import png_chunk, png_raw

    grey = np.array([[0, 256, 257, 65535]], np.uint16)
    d = decode(png_raw(grey, 16, 0, before=(png_chunk(b"tRNS", b"\x01\x00"),)))
    assert d.mode == "I;16"
    np.testing.assert_array_equal(d.rgb[0, :, 0], [0, 1, 1, 255])  # dark stays dark
    np.testing.assert_array_equal(d.alpha, [[255, 0, 255, 255]])


def test_orientation_of_png_exif_chunk():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = 255  # top-left mark; orientation 6 means "turn right to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    d = decode(_encode(Image.fromarray(rgb), "PNG", exif=exif.tobytes()))
    assert d.rgb.shape == (3, 2, 3)
    assert d.rgb[0, 1].tolist() == [255, 255, 255]  # the stored top-left is now top-right


def test_no_warnings_escape_for_damaged_metadata(recwarn):
    from corpus.generate import jpeg_insert_segment

    jpeg = _encode(Image.new("RGB", (8, 8), (9, 9, 9)), "JPEG")
    decode(jpeg_insert_segment(jpeg, 0xE1, b"Exif\0\0II*\0\x08\0\0\0\xff\xff" + bytes(40)))
    assert not recwarn.list


def test_real_avif_is_refused_even_where_pillow_reads_it():
    """Pyodide's Pillow 10.2 cannot read AVIF, so no runtime does: the two must agree."""
    from PIL import features

    if "avif" not in features.modules or not features.check_module("avif"):
        pytest.skip("this Pillow has no AVIF codec")
    data = _encode(Image.new("RGB", (8, 8), (200, 10, 10)), "AVIF")
    assert Image.open(io.BytesIO(data)).size == (8, 8)  # Pillow itself would read it
    with pytest.raises(DecodeError, match="^AVIF images are not supported yet"):
        decode(data)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK", "LA"])
def test_band_by_band_conversion_equals_whole_image(mode):
    """Taller than one band of `_pixels`: the same pixels as converting the whole image at once."""
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (700, 9, 4), dtype=np.uint8)
    img = Image.fromarray(rgba).convert(mode) if mode != "P" else Image.fromarray(rgba[..., :3]).quantize(37)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    d = decode(_encode(img, fmt))
    whole = np.asarray(Image.open(io.BytesIO(_encode(img, fmt))).convert("RGBA"))
    np.testing.assert_array_equal(d.rgb, whole[..., :3])
    if d.alpha is not None:
        np.testing.assert_array_equal(d.alpha, whole[..., 3])

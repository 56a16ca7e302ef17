"""An input's ICC profile for RGB colour is carried, unapplied, into every output made from it."""
import asyncio
import io
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from alphacut.editmerge.merge import merge_edit_bytes
from alphacut.io.decode import MAX_ICC, decode
from alphacut.io.encode import encode_png
from alphacut.pipeline import Options, cutout
from alphacut.runtime.worker_api import export
from corpus.generate import png_chunk, text_chunk_png


@pytest.fixture(scope="module")
def profile() -> bytes:
    """A real RGB profile (LittleCMS's sRGB), standing in for a phone's Display P3."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _photo(fmt: str, icc: bytes | None, mode: str = "RGB") -> bytes:
    rgb = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    img = Image.fromarray(rgb).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"icc_profile": icc} if icc else {}))
    return buf.getvalue()


def _icc_of(data: bytes):
    return Image.open(io.BytesIO(data)).info.get("icc_profile")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_decode_keeps_an_rgb_profile(profile, fmt):
    assert decode(_photo(fmt, profile)).icc == profile
    assert decode(_photo(fmt, None)).icc is None


def test_a_profile_for_other_pixels_is_dropped(profile):
    assert decode(_photo("JPEG", profile, mode="CMYK")).icc is None  # an RGB profile on CMYK pixels
    assert decode(_photo("PNG", profile, mode="L")).icc is None


@pytest.mark.parametrize("damage", [
    lambda p: p[:100],                              # too short for a header
    lambda p: p + b"\0",                            # declares another size than it has
    lambda p: p[:36] + b"xxxx" + p[40:],            # no 'acsp' signature
    lambda p: p[:16] + b"GRAY" + p[20:],            # not for RGB colour
])
def test_a_damaged_or_foreign_profile_is_dropped_and_the_pixels_still_decode(profile, damage):
    good = decode(_photo("PNG", profile))
    bad = decode(_photo("PNG", damage(profile)))
    assert bad.icc is None
    np.testing.assert_array_equal(bad.rgb, good.rgb)


def _with_iccp(body: bytes, crc: int | None = None) -> bytes:
    """A small PNG (the corpus's 8 x 8 gradient) with an iCCP chunk of ``body`` before its data."""
    return text_chunk_png(png_chunk(b"iCCP", body, crc=crc))


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_a_png_profile_that_inflates_too_far_is_dropped_within_bounded_memory():
    z = zlib.compressobj(9)
    huge = b"".join(z.compress(bytes(1 << 20)) for _ in range(200)) + z.flush()  # 200 MB of zeros in ~200 KB
    bomb = _with_iccp(b"icc\0\0" + huge)
    d = decode(bomb)
    assert d.icc is None and d.rgb.shape == (8, 8, 3)
    assert _peak_mb(lambda: decode(bomb)) < 3 * MAX_ICC / 1e6  # inflated to MAX_ICC + 1 bytes, not 200 MB


def test_a_png_profile_chunk_too_long_to_be_one_is_not_read():
    stored = zlib.compress(np.random.default_rng(0).bytes(40_000_000), 0)  # 40 MB, deflate's "stored" blocks
    big = _with_iccp(b"icc\0\0" + stored)
    assert decode(big).icc is None
    assert _peak_mb(lambda: decode(big)) < 3 * MAX_ICC / 1e6  # the 40 MB chunk is never copied


def test_a_png_profile_whose_crc_is_wrong_is_dropped(profile):
    body = b"icc\0\0" + zlib.compress(profile)
    assert decode(_with_iccp(body)).icc == profile
    assert decode(_with_iccp(body, crc=zlib.crc32(b"iCCP" + body) ^ 1)).icc is None


def test_profiles_an_image_may_not_carry_are_dropped(profile):
    for at, value in ((12, b"link"), (12, b"abst"), (12, b"nmcl"), (20, b"RGB "), (8, b"\x05")):
        odd = profile[:at] + value + profile[at + len(value):]
        assert decode(_photo("PNG", odd)).icc is None, (at, value)


def test_png_embeds_a_profile_only_in_colour_images(profile):
    rgba = np.zeros((4, 5, 4), np.uint8)
    out = encode_png(rgba, icc=profile)
    assert _icc_of(out) == profile
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(out))), rgba)
    with pytest.raises(ValueError, match="grey"):
        encode_png(np.zeros((4, 5), np.uint8), icc=profile)


def test_cutout_and_its_exports_carry_the_profile(profile):
    async def half(x):
        out = np.zeros(x.shape[-2:], np.float32)
        out[:, : out.shape[1] // 2] = 1
        return out

    tagged = asyncio.run(cutout(_photo("JPEG", profile), half, options=Options(escalate="off")))
    plain = asyncio.run(cutout(_photo("JPEG", None), half, options=Options(escalate="off")))
    assert _icc_of(tagged.png) == profile and _icc_of(plain.png) is None
    # The profile is carried, not applied: the pixels are the same as without it.
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(tagged.png))),
                                  np.asarray(Image.open(io.BytesIO(plain.png))))
    assert _icc_of(export(tagged.png, "jpeg")) == profile  # over white
    assert _icc_of(export(tagged.png, "webp", "[0, 0, 0]")) == profile
    assert _icc_of(export(tagged.png, "mask")) is None  # grey: an RGB profile does not fit it
    assert _icc_of(export(plain.png, "jpeg")) is None
    # A picked colour is sRGB, and would read as another colour in the photo's space: untagged.
    assert _icc_of(export(tagged.png, "jpeg", "[255, 0, 0]")) is None
    # A background image: tagged only when it is in the photo's colour space.
    assert _icc_of(export(tagged.png, "jpeg", "null", _photo("PNG", profile))) == profile
    assert _icc_of(export(tagged.png, "jpeg", "null", _photo("PNG", None))) is None


def test_edit_merge_composite_keeps_the_originals_profile(profile):
    original = _photo("PNG", profile)
    edited = _photo("PNG", None)
    composite, mask, report = merge_edit_bytes(original, edited, {"feather": 0})
    assert _icc_of(composite) == profile and _icc_of(mask) is None
    assert any("colour profile" in w for w in report["warnings"]), report["warnings"]
    _, _, same = merge_edit_bytes(original, _photo("PNG", profile), {"feather": 0})
    assert not any("colour profile" in w for w in same["warnings"])

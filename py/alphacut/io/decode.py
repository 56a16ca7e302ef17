"""Decode image bytes into the pipeline's one internal format: RGB uint8 plus optional alpha.

The bytes come from a user, so nothing about them is trusted:

- Formats this app cannot read (HEIC, AVIF, SVG, PDF, ...) are recognised by their signatures
  and refused with a message that says what to do, before any parser sees them.
- Only the containers in `FORMATS` reach Pillow; its other, rarer parsers never run.
- The size is checked against ``max_pixels`` from the header, before any pixel is decoded; it is
  Pillow's decompression-bomb threshold too, as an error, so an image held inside another (an
  ICO's PNG) is refused before it is decoded. A TIFF's tiles must fit its size
  (:data:`TILE_SLACK`), its pages are counted from the bytes up to :data:`MAX_PAGES`, and a JPEG
  may have at most :data:`MAX_SCANS` scans: each is bounded in memory and time before decoding.
- PNG text chunks are dropped unread (Pillow refuses a whole file when one inflates past 1 MB),
  and so is the ICC chunk, after it is read here within :data:`MAX_ICC` bytes.
- An ICC profile for RGB colour is kept as bytes (:attr:`Decoded.icc`) and written into the
  outputs, so that a photo in another colour space (an iPhone's Display P3) keeps its colours;
  it is not applied (Pyodide's Pillow has no colour management). Any other profile, or one whose
  header is not an ICC profile's, is dropped.
- Every failure is a `DecodeError` with a one-line message for a user; a truncated file is
  refused, never half decoded (with one known exception, see TESTING.md).

The same code runs on Pillow 10.2 (Pyodide) and on current Pillow, and gives the same result for
every file of the test corpus; on damaged files their bundled codecs may still disagree about
what can be recovered.
"""
from __future__ import annotations

import contextlib
import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from .._shared.resample import BAND_ROWS

#: Default pixel limit (rows x cols): 50 MP. A 50 MP RGBA image already takes 200 MB as uint8,
#: plus float32 work arrays; beyond that a browser tab runs out of memory.
MAX_PIXELS = 50_000_000

#: The containers Pillow may open, by Pillow's name, with the name users know them by. Camera
#: multi-picture JPEGs open through the JPEG parser and come out as "MPO".
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "GIF": "GIF", "WEBP": "WebP", "BMP": "BMP", "TIFF": "TIFF",
           "ICO": "ICO"}
_NAMES = {**FORMATS, "MPO": "JPEG"}

EMPTY = "the file is empty (0 bytes)"
UNKNOWN = "not an image format this app can read (PNG, JPEG, WebP, GIF, BMP, TIFF, ICO)"
TEXT = "this is a text file, " + UNKNOWN
HEADER = "the {} file is damaged or truncated: its header cannot be read"
TRUNCATED = "the {} file is damaged or truncated: it ends before the image data does"
DAMAGED = "the {} file is damaged"
TOO_BIG = "the image is {} MP, above the limit of {:.0f} MP"
NO_PIXELS = "the image has no pixels ({}x{})"
BAD_MODE = "the image's colour mode ({}) cannot be converted to RGB"
NO_MEMORY = "there is not enough memory to decode this image"

#: Largest file accepted, in bytes: a 50 MP image stored uncompressed at 16 bits in 4 channels.
#: Checked before a file is read (:func:`precheck`), so a video dropped by mistake is refused at once.
MAX_BYTES = 400_000_000
#: How many leading bytes :func:`precheck` looks at.
PRECHECK_BYTES = 65536
#: Most pages (directories) a TIFF may have; counting them is quadratic in Pillow, so they are
#: counted here, from the bytes, up to this many.
MAX_PAGES = 1000
#: Most scans a JPEG may have. Each scan of a progressive JPEG is a pass over the whole image; a
#: camera or an encoder writes about 10, and thousands (a crafted file) take minutes to decode.
MAX_SCANS = 100
#: A TIFF tile may hold at most this many times the image's pixels (or 1 MP): the decoder
#: allocates a whole tile before reading it, whatever the image's size.
TILE_SLACK = 4

TOO_LARGE = "the file is {:.0f} MB, above the limit of {:.0f} MB for one photo"
MANY_PAGES = "the TIFF file has more than {} pages: save the page you want as a file of its own"
MANY_SCANS = "the JPEG file has more than {} scans (a normal one has about 10): it is damaged or crafted"
HUGE_TILE = "the TIFF file is damaged: its tiles ({}x{}) are far larger than the image ({}x{})"

#: Largest ICC profile carried from an input to its outputs, in bytes (a display profile is
#: 0.5-4 KB, a camera's or a printer's up to a few hundred KB). A larger one is dropped.
MAX_ICC = 1 << 20

#: How many leading bytes the signature checks look at.
_HEAD = 4096

#: ISO media brands (the ``ftyp`` box of HEIF, AVIF, MP4 and QuickTime files).
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
                          b"mif1", b"msf1"})
_VIDEO_BRANDS = frozenset({b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                           b"qt  ", b"M4V ", b"3gp4", b"3gp5", b"3g2a", b"dash", b"mmp4"})


def _brands(head: bytes) -> frozenset[bytes]:
    """The major and compatible brands of an ISO media file, or nothing."""
    if head[4:8] != b"ftyp":
        return frozenset()
    end = min(int.from_bytes(head[:4], "big"), len(head))
    return frozenset([head[8:12]] + [head[i:i + 4] for i in range(16, end - 3, 4)])


def _markup(head: bytes) -> bytes:
    """The start of a markup document, lower-cased, or ``b""`` when the bytes are not markup."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text if text.startswith(b"<") else b""


#: Formats this app does not read, recognised by signature: (test on the first bytes, message).
#: Order matters: AVIF files also carry the generic HEIF brand, and HTML pages may hold an <svg>.
REFUSED = (
    (lambda h: bool(_brands(h) & _AVIF_BRANDS),
     "AVIF images are not supported yet: convert to JPEG or PNG first"),
    (lambda h: bool(_brands(h) & _HEIF_BRANDS),
     "HEIC/HEIF photos are not supported yet: convert to JPEG or PNG first"),
    (lambda h: bool(_brands(h) & _VIDEO_BRANDS),
     "this is a video (MP4/MOV), not an image: export a frame as PNG or JPEG first"),
    (lambda h: h.startswith(b"%PDF-"),
     "PDF documents are not images: export the page as PNG or JPEG first"),
    (lambda h: h.startswith(b"8BPS"),
     "Photoshop (PSD) files are not supported: export as PNG first"),
    (lambda h: h.startswith((b"\xff\x0a", b"\0\0\0\x0cJXL \r\n\x87\n")),
     "JPEG XL images are not supported yet: convert to JPEG or PNG first"),
    (lambda h: _markup(h).startswith((b"<!doctype html", b"<html")),
     "this is a web page (HTML), not an image: save the image itself, not the page"),
    (lambda h: re.search(rb"<svg[\s>]", _markup(h)) is not None,
     "SVG is a vector format, not a photo: export it as PNG first"),
    (lambda h: h.startswith(b"PK\x03\x04"),
     "this is a ZIP archive, not an image: unzip it first"),
)

_BMP_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)

#: Signatures of the readable containers, to name one that Pillow could not open.
_SIGNATURES = (
    ("PNG", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    ("JPEG", lambda h: h.startswith(b"\xff\xd8\xff")),
    ("GIF", lambda h: h.startswith((b"GIF87a", b"GIF89a"))),
    ("WebP", lambda h: h.startswith(b"RIFF") and h[8:12] == b"WEBP"),
    ("TIFF", lambda h: h.startswith((b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"))),
    ("BMP", lambda h: h.startswith(b"BM") and int.from_bytes(h[14:18], "little") in _BMP_HEADER_SIZES),
    ("ICO", lambda h: h.startswith(b"\0\0\1\0") and h[4:6] != b"\0\0"),
)

#: PNG chunks dropped before decoding: text is metadata this app never uses, the ICC profile is
#: read here (:func:`_png_icc`), and Pillow refuses the whole file when one of them inflates past
#: 1 MB (its MAX_TEXT_CHUNK).
_PNG_UNUSED = frozenset({b"tEXt", b"zTXt", b"iTXt", b"iCCP"})

#: Pixel modes converted to RGB, the same way on every Pillow. Not LAB: Pyodide's Pillow has no
#: colour management to convert it with.
_MODES = frozenset({"1", "L", "P", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LA", "La", "PA",
                    "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

#: EXIF orientation (tag 0x0112) -> the transpose that turns the stored pixels upright.
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


class DecodeError(ValueError):
    """The input bytes are not an image we can cut out; the message says why, for a user."""


@dataclass(frozen=True)
class Decoded:
    """A decoded image.

    Attributes
    ----------
    rgb : (M, N, 3) ndarray of uint8
        Colour, EXIF orientation applied.
    alpha : (M, N) ndarray of uint8, or None
        The input's own transparency, if it had any.
    format : str
        Container format as Pillow names it (``"PNG"``, ``"JPEG"``...).
    mode : str
        The source pixel mode before conversion (``"CMYK"``, ``"I;16"``...).
    frames : int
        Frame count; only the first frame of an animation is used.
    icc : bytes or None
        The input's ICC profile when it describes RGB colour and the pixels were RGB (or a
        palette of RGB colours): the colour space ``rgb`` is in. None means sRGB, as for a file
        with no profile.
    jpeg : tuple or None
        For a colour JPEG whose pixels are as stored (no EXIF rotation): its quantisation
        tables and chroma subsampling as Pillow reads them (``img.quantization`` and
        ``JpegImagePlugin.get_sampling(img)``), so that the same compression can be applied
        to another image (:mod:`alphacut.editmerge.compression`). None otherwise.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    format: str
    mode: str
    frames: int
    icc: bytes | None = None
    jpeg: tuple | None = None


def precheck(head: bytes, size: int, *, max_pixels: int = MAX_PIXELS, browser_avif: bool = False) -> str:
    """Refuse a file from its size and first bytes, before it is read whole.

    Parameters
    ----------
    head : bytes
        The file's first bytes (:data:`PRECHECK_BYTES` of them, or all of a shorter file).
    size : int
        The file's size in bytes.
    max_pixels : int, optional
    browser_avif : bool, optional
        The caller decodes AVIF itself (the page, with the browser's decoder): an AVIF is not
        refused for its format, but for the pixels its header declares (its ``ispe`` box).

    Returns
    -------
    str
        ``"AVIF"`` for an AVIF the caller may decode, else ``""``.

    Raises
    ------
    DecodeError
        Empty, larger than :data:`MAX_BYTES`, a format this app does not read (named), or an
        AVIF over ``max_pixels``.

    Examples
    --------
    >>> precheck(b"\\x89PNG\\r\\n\\x1a\\n", 1000)
    ''
    >>> precheck(b"\\0\\0\\0\\x18ftypisom", 2_000_000_000)
    Traceback (most recent call last):
    alphacut.io.decode.DecodeError: the file is 2000 MB, above the limit of 400 MB for one photo
    """
    if size <= 0:
        raise DecodeError(EMPTY)
    if size > MAX_BYTES:
        raise DecodeError(TOO_LARGE.format(size / 1e6, MAX_BYTES / 1e6))
    head = bytes(head[:_HEAD])
    if browser_avif and _brands(head) & _AVIF_BRANDS:
        found = _avif_size(head)
        if found:
            _check_size(found, max_pixels)
        return "AVIF"
    for refuses, message in REFUSED:
        if refuses(head):
            raise DecodeError(message)
    return ""


def identify(head: bytes, size: int) -> str:
    """Name the container of a file from its size and first bytes, or refuse it as not an image.

    What :func:`decode` would refuse without parsing: :func:`precheck`'s refusals, and a file
    with no signature of a readable container (text, or an unknown format). A batch uses it
    to skip such files before reading them whole.

    Parameters
    ----------
    head : bytes
        The file's first bytes (:data:`PRECHECK_BYTES`, or all of a shorter file).
    size : int
        The file's size in bytes.

    Returns
    -------
    str
        The container's usual name, e.g. ``"PNG"`` (the file may still be damaged).

    Raises
    ------
    DecodeError
        With the message :func:`decode` gives for such a file.

    Examples
    --------
    >>> identify(b"\\x89PNG\\r\\n\\x1a\\n", 1000)
    'PNG'
    >>> identify(b"shopping list", 13)
    Traceback (most recent call last):
    alphacut.io.decode.DecodeError: this is a text file, not an image format this app can read (PNG, JPEG, WebP, GIF, \
BMP, TIFF, ICO)
    """
    precheck(head, size)
    kind = next((name for name, matches in _SIGNATURES if matches(head[:_HEAD])), None)
    if kind is None:
        raise DecodeError(TEXT if _is_text(head[:1024]) else UNKNOWN)
    return kind


def _avif_size(head: bytes) -> tuple[int, int] | None:
    """``(cols, rows)`` from the first ``ispe`` (image spatial extents) box, if it is in ``head``."""
    at = head.find(b"ispe")
    if at < 0 or at + 16 > len(head):
        return None
    return struct.unpack(">II", head[at + 8 : at + 16])  # after version and flags


def decode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Decoded:
    """Decode ``data`` to RGB uint8 with EXIF orientation applied.

    Parameters
    ----------
    data : bytes
        The encoded file: PNG, JPEG, WebP, GIF, BMP, TIFF or ICO.
    max_pixels : int, optional
        Refuse images with more pixels than this, from the header, before decoding them.
        Default `MAX_PIXELS`, 50 MP. It is also Pillow's bomb threshold while decoding, so an
        image inside another (an ICO's PNG) is held to it before it is decoded.

    Returns
    -------
    Decoded

    Raises
    ------
    DecodeError
        Empty, unknown, unsupported, truncated, damaged or oversized input, with a one-line
        message for a user. No other exception escapes for any input bytes.

    Examples
    --------
    >>> from alphacut.io.encode import encode_png
    >>> d = decode(encode_png(np.zeros((2, 3, 4), np.uint8)))
    >>> d.rgb.shape, d.alpha.shape, d.format
    ((2, 3, 3), (2, 3), 'PNG')
    >>> decode(b"%PDF-1.7 ...")
    Traceback (most recent call last):
    alphacut.io.decode.DecodeError: PDF documents are not images: export the page as PNG or JPEG first
    """
    data = data if isinstance(data, bytes) else bytes(data)
    precheck(data[:_HEAD], len(data), max_pixels=max_pixels)
    head = data[:_HEAD]
    kind = next((name for name, matches in _SIGNATURES if matches(head)), None)
    icc = None
    if kind == "PNG":
        icc = _png_icc(data)
        data = _without_png_chunks(data, _PNG_UNUSED)
    pages = _tiff_preflight(data) if kind == "TIFF" else None
    if kind == "JPEG" and data.count(b"\xff\xda") > MAX_SCANS:  # SOS markers (0xFF is stuffed in scan data)
        raise DecodeError(MANY_SCANS.format(MAX_SCANS))
    with warnings.catch_warnings(), _pixel_limit(max_pixels):
        # Pillow warns about damaged metadata (EXIF, MPO) and still decodes the pixels, which is
        # what we want. Its bomb warning, at max_pixels, is an error: it fires before a parser
        # decodes an image it holds inside (an ICO's PNG), where our own size check cannot.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=tuple(FORMATS))
        except Exception as e:  # any parser failure becomes a message for the user
            raise _explain(e, data, kind, max_pixels) from e
        kind = _NAMES.get(img.format or "", kind)
        _check_size(img.size, max_pixels)
        fmt, mode = img.format or "", _source_mode(img)
        if kind != "PNG":
            icc = img.info.get("icc_profile")
        icc = _rgb_profile(icc) if mode in _RGB_MODES else None
        try:
            frames = pages if pages is not None else max(1, getattr(img, "n_frames", 1))
            img.load()
            stored = img
            img = _upright(img)
        except Exception as e:  # likewise
            raise _explain(e, data, kind, max_pixels) from e
        jpeg = _jpeg_tables(img) if img is stored else None
    if img.mode not in _MODES:
        raise DecodeError(BAD_MODE.format(img.mode))
    try:
        rgb, alpha = _to_rgb_alpha(img)
    except MemoryError as e:
        raise DecodeError(NO_MEMORY) from e
    except Exception as e:  # e.g. Pyodide's Pillow lacks a converter
        raise DecodeError(BAD_MODE.format(img.mode)) from e
    return Decoded(rgb=rgb, alpha=alpha, format=fmt, mode=mode, frames=frames, icc=icc, jpeg=jpeg)


def _jpeg_tables(img: Image.Image) -> tuple | None:
    """A colour JPEG's ``(quantization, subsampling)`` (see :attr:`Decoded.jpeg`), else None."""
    if img.format != "JPEG" or img.mode != "RGB":
        return None
    from PIL import JpegImagePlugin

    tables = getattr(img, "quantization", None)
    sampling = JpegImagePlugin.get_sampling(img)
    if not tables or len(tables) < 2 or sampling < 0:
        return None
    return {k: list(v) for k, v in tables.items()}, sampling


def _explain(e: Exception, data: bytes, kind: str | None, max_pixels: int) -> DecodeError:
    """Turn whatever Pillow raised into a `DecodeError` that names the problem."""
    # OverflowError: an offset or size in the header too large for the platform (on wasm32,
    # anything past 2 GiB), where 64-bit CPython finds the header unreadable instead.
    if isinstance(e, (UnidentifiedImageError, OverflowError)):
        if kind is not None:
            return DecodeError(HEADER.format(kind))
        return DecodeError(TEXT if _is_text(data[:1024]) else UNKNOWN)
    if isinstance(e, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        found = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(found[1]) / 1e6:.1f}" if found else "more than {:.0f}".format(max_pixels / 1e6)
        if kind == "PNG" and len(data) >= 24:  # name the size, as _check_size does
            cols, rows = struct.unpack(">II", data[16:24])
            size = f"{cols}x{rows} = {rows * cols / 1e6:.1f}"
        return DecodeError(TOO_BIG.format(size, max_pixels / 1e6))
    if isinstance(e, MemoryError):
        return DecodeError(NO_MEMORY)
    name = kind or "image"
    declared = int.from_bytes(data[4:8], "little") + 8 if kind == "WebP" else 0  # RIFF size
    if "truncated" in str(e).lower() or declared > len(data):
        return DecodeError(TRUNCATED.format(name))
    detail = " ".join(str(e).split())[:120]
    return DecodeError(DAMAGED.format(name) + (f" ({detail})" if detail else ""))


@contextlib.contextmanager
def _pixel_limit(max_pixels: int):
    """Pillow's bomb threshold set to ``max_pixels`` for the duration (it is a module global)."""
    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def _tiff_preflight(data: bytes) -> int:
    """The number of pages of a TIFF, counted from its bytes (at most :data:`MAX_PAGES`; a
    directory chain that loops ends the count), after checking the first page's tiles against
    its size. A damaged structure is left for Pillow to report."""
    e = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\0", b"\0+")  # BigTIFF: 8-byte counts and offsets, 20-byte entries
    count, entry, offset = ("Q", 20, "Q") if big else ("H", 12, "I")
    n_size, o_size = struct.calcsize(count), struct.calcsize(offset)
    at = _unpack(e + offset, data, 8 if big else 4)
    seen, pages = set(), 0
    while at and at not in seen:
        n = _unpack(e + count, data, at)
        if n is None or at + n_size + n * entry + o_size > len(data):
            break
        end = at + n_size + n * entry
        if pages == 0:
            _check_tiles(data, e, at + n_size, n, entry, big)
        pages += 1
        if pages > MAX_PAGES:
            raise DecodeError(MANY_PAGES.format(MAX_PAGES))
        seen.add(at)
        at = _unpack(e + offset, data, end)
    return max(pages, 1)


def _check_tiles(data: bytes, e: str, start: int, n: int, entry: int, big: bool) -> None:
    """Refuse a first directory whose tiles are far larger than its image (:data:`TILE_SLACK`)."""
    tags = {}
    for i in range(min(n, 4096)):
        p = start + i * entry
        tag, kind = _unpack(e + "HH", data, p) or (0, 0)
        if tag in (256, 257, 322, 323):
            value_at = p + (12 if big else 8)
            fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if fmt is not None:
                tags[tag] = _unpack(e + fmt, data, value_at)
    cols, rows, tw, th = (tags.get(t) or 0 for t in (256, 257, 322, 323))
    if tw and th and tw * th > TILE_SLACK * max(cols * rows, 1 << 18):
        raise DecodeError(HUGE_TILE.format(tw, th, cols, rows))


def _unpack(fmt: str, data: bytes, at: int):
    """``struct.unpack_from(fmt, data, at)`` (a single value alone), or None past the end."""
    if at < 0 or at + struct.calcsize(fmt) > len(data):
        return None
    values = struct.unpack_from(fmt, data, at)
    return values[0] if len(values) == 1 else values


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    cols, rows = size
    if rows * cols > max_pixels:
        raise DecodeError(TOO_BIG.format(f"{cols}x{rows} = {rows * cols / 1e6:.1f}", max_pixels / 1e6))
    if rows == 0 or cols == 0:
        raise DecodeError(NO_PIXELS.format(cols, rows))


def _is_text(sample: bytes) -> bool:
    """Whether ``sample``, the start of a file, reads as UTF-8 or UTF-16 text."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(sample) - 3:  # not just a character cut at the end of the sample
            return False
        text = sample[:e.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    return bool(text) and all(ch.isprintable() or ch in "\t\n\r\f" for ch in text)


#: Source modes whose pixels an RGB profile describes (a palette's colours are RGB).
_RGB_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA"})


def _png_chunks(data: bytes):
    """(kind, start, end) of each whole chunk of a PNG before IEND; damaged chunk structure
    ends the walk (Pillow reports it)."""
    pos = 8
    while pos + 12 <= len(data):
        end = pos + 12 + int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if end > len(data) or kind == b"IEND":
            return
        yield kind, pos, end
        pos = end


def _png_icc(data: bytes) -> bytes | None:
    """The profile of a PNG's iCCP chunk, inflated to at most :data:`MAX_ICC` bytes, or None.

    The chunk is read through a view, never copied: a file may be hundreds of MB. A chunk longer
    than a deflated :data:`MAX_ICC` can be, or whose CRC does not match, is not read.

    Examples
    --------
    >>> from alphacut.io.encode import encode_png
    >>> profile = b"x" * 200
    >>> _png_icc(encode_png(np.zeros((1, 1, 3), np.uint8), icc=profile)) == profile
    True
    """
    for kind, start, end in _png_chunks(data):
        if kind == b"IDAT":
            return None
        if kind != b"iCCP":
            continue
        if end - start - 12 > MAX_ICC + 80 + MAX_ICC // 1000 + 64:  # name, deflate's overhead
            return None
        view = memoryview(data)
        if zlib.crc32(view[start + 4:end - 4]) != int.from_bytes(view[end - 4:end], "big"):
            return None
        body = view[start + 8:end - 4]
        name_end = bytes(body[:81]).find(b"\0")
        if name_end < 1 or body[name_end + 1:name_end + 2] != b"\0":  # a name, then method 0 (zlib)
            return None
        inflate = zlib.decompressobj()
        try:
            profile = inflate.decompress(body[name_end + 2:], MAX_ICC + 1)
        except zlib.error:
            return None
        return profile if inflate.eof and len(profile) <= MAX_ICC else None
    return None


#: ICC profile classes that describe a device's or a colour space's colours, the ones an image
#: may carry (not device links, abstract or named-colour profiles, which libpng refuses too).
_IMAGE_PROFILE_CLASSES = frozenset({b"scnr", b"mntr", b"prtr", b"spac"})


def _rgb_profile(icc) -> bytes | None:
    """``icc`` when its header is that of an ICC profile an RGB image may carry, else None.

    Checked: the size it declares is its length, the ``acsp`` signature, major version 2 or 4,
    a device or colour-space class, the data colour space ``RGB`` and an XYZ or Lab connection
    space. The rest is the viewer's to read; a profile is never applied here.

    Examples
    --------
    >>> header = ((200).to_bytes(4, "big") + bytes(4) + b"\\x04\\0\\0\\0" + b"mntr" + b"RGB " + b"XYZ "
    ...           + bytes(12) + b"acsp")
    >>> _rgb_profile(header + bytes(160)) is not None, _rgb_profile(header + bytes(161))
    (True, None)
    """
    if not isinstance(icc, (bytes, bytearray)) or not 132 <= len(icc) <= MAX_ICC:
        return None
    icc = bytes(icc)
    if (int.from_bytes(icc[:4], "big") != len(icc) or icc[36:40] != b"acsp" or icc[8] not in (2, 4)
            or icc[12:16] not in _IMAGE_PROFILE_CLASSES or icc[16:20] != b"RGB "
            or icc[20:24] not in (b"XYZ ", b"Lab ")):
        return None
    return icc


def _without_png_chunks(data: bytes, kinds: frozenset[bytes]) -> bytes:
    """``data`` without the PNG chunks of the given kinds; damaged chunk structure is left for
    Pillow to report."""
    drop = [(start, end) for kind, start, end in _png_chunks(data) if kind in kinds]
    if not drop:
        return data
    view, keep, start = memoryview(data), [], 0
    for begin, end in drop:
        keep.append(view[start:begin])
        start = end
    keep.append(view[start:])
    return b"".join(keep)


def _source_mode(img: Image.Image) -> str:
    """Pillow's mode, named the same on every Pillow: 10.2 opens 16-bit grey PNG as "I"."""
    return "I;16" if img.format == "PNG" and img.mode == "I" else img.mode


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; damaged EXIF leaves the pixels as stored."""
    try:
        orientation = img.getexif().get(0x0112)
    except Exception:  # metadata is optional; the pixels are what matter
        return img
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return img if method is None else img.transpose(method)


def _to_rgb_alpha(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert an image in one of `_MODES` to (RGB uint8, alpha uint8 or None)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(img)
        if mode == "F":  # floats in [0, 1]
            grey = np.rint(np.nan_to_num(np.clip(values, 0, 1)) * 255).astype(np.uint8)
        else:  # integers are 16-bit
            grey = ((np.clip(values, 0, 65535).astype(np.uint32) + 128) // 257).astype(np.uint8)
        key = img.info.get("transparency")
        alpha = None
        if isinstance(key, int) and mode != "F":
            alpha = np.where(values == key, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2), alpha
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = _pixels(img, *(("LA",) if mode == "La" else ()), "RGBA")
        alpha = np.ascontiguousarray(rgba[:, :, 3])
        return np.ascontiguousarray(rgba[:, :, :3]), alpha
    return _pixels(img, *(() if mode == "RGB" else ("RGB",))), None


def _pixels(img: Image.Image, *modes: str) -> np.ndarray:
    """The pixels of ``img`` converted to each of ``modes`` in turn, as an array.

    Band by band: ``np.asarray`` of a whole image goes through ``tobytes``, which holds the
    pixels twice more (the encoder's chunks and their join) beside Pillow's own copy, and a
    whole-image ``convert`` a third. Pixel-wise conversions give the same values either way.

    Examples
    --------
    >>> img = Image.new("P", (3, 600), 1); img.putpalette([0, 0, 0, 10, 20, 30])
    >>> px = _pixels(img, "RGB")
    >>> px.shape, px[599, 2].tolist()
    ((600, 3, 3), [10, 20, 30])
    """
    cols, rows = img.size
    out = None
    for top in range(0, rows, BAND_ROWS):
        band = img.crop((0, top, cols, min(rows, top + BAND_ROWS)))
        for mode in modes:
            band = band.convert(mode)
        block = np.asarray(band)
        if out is None:
            out = np.empty((rows,) + block.shape[1:], block.dtype)
        out[top : top + block.shape[0]] = block
    return out

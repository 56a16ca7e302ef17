"""The bad-input corpus: every file ``alphacut.io.decode`` is tested against, and what must come out.

The files are built by code, deterministically, so the repository holds no binaries. ``CASES`` is
the one table: each entry names a file, builds its bytes, and states the expected outcome, either
a decode whose properties are checked or a `DecodeError` with a specific message.
``tests/io/test_corpus.py`` runs it and TESTING.md shows it.

Usage::

    python tests/corpus/generate.py --markdown   # the table in TESTING.md
    python tests/corpus/generate.py --out DIR    # write the files, to drop them on the app by hand

Only the standard library, numpy and Pillow's long-standing writers are used, so the same builders
work with Pillow 10.2 (Pyodide's) and newer.
"""
from __future__ import annotations

import argparse
import functools
import io
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

#: The decoder's default pixel limit, restated so this table reads on its own; the corpus test
#: checks that it matches ``alphacut.io.decode.MAX_PIXELS``.
LIMIT_MP = 50


# --- expectations ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Decodes:
    """The file decodes, and the result has these properties.

    ``pixels`` builds the expected colour, (M, N, 3), or colour and alpha, (M, N, 4), as uint8;
    every value must be within ``atol``. ``probes`` are ``((row, col), (r, g, b))`` spots,
    each checked as the mean of a 3 x 3 window to within ``probe_tol``.
    """

    shape: tuple[int, int]
    format: str
    mode: str
    alpha: bool = False
    frames: int = 1
    pixels: Callable[[], np.ndarray] | None = None
    atol: int = 0
    probes: tuple[tuple[tuple[int, int], tuple[int, int, int]], ...] = ()
    probe_tol: int = 0

    def describe(self) -> str:
        rows, cols = self.shape
        words = [f"decodes: {rows}x{cols} (rows x cols) from {self.format} {self.mode}"]
        words.append("alpha kept" if self.alpha else "no alpha")
        if self.frames > 1:
            words.append(f"{self.frames} frames, first used")
        if self.pixels is not None:
            words.append("pixels exact" if self.atol == 0 else f"pixels within {self.atol}")
        if self.probes:
            words.append(f"{len(self.probes)} spot{'s' * (len(self.probes) > 1)} within {self.probe_tol}")
        return ", ".join(words)

    def problems(self, decoded) -> list[str]:
        """What is wrong with ``decoded`` (an ``alphacut.io.decode.Decoded``); empty when all is well."""
        rgb, alpha = decoded.rgb, decoded.alpha
        found = [f"{name} is {got!r}, expected {want!r}" for name, got, want in (
            ("rgb dtype", rgb.dtype, np.dtype(np.uint8)), ("rgb shape", rgb.shape, (*self.shape, 3)),
            ("format", decoded.format, self.format), ("mode", decoded.mode, self.mode),
            ("frames", decoded.frames, self.frames), ("has alpha", alpha is not None, self.alpha)) if got != want]
        if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != self.shape):
            found.append(f"alpha is {alpha.dtype} {alpha.shape}, expected uint8 {self.shape}")
        if found:
            return found
        if self.pixels is not None:
            want = self.pixels()
            got = rgb if want.shape[-1] == 3 else np.dstack([rgb, alpha])
            err = int(np.abs(got.astype(np.int16) - want.astype(np.int16)).max())
            if err > self.atol:
                found.append(f"pixels differ by up to {err}, budget {self.atol}")
        for (row, col), colour in self.probes:
            window = rgb[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].reshape(-1, 3).mean(axis=0)
            if np.abs(window - colour).max() > self.probe_tol:
                found.append(f"spot ({row}, {col}) is {np.rint(window).astype(int).tolist()}, expected "
                             f"{list(colour)} within {self.probe_tol}")
        return found


@dataclass(frozen=True)
class Fails:
    """`decode` raises `DecodeError`; its message is ``message``, optionally followed by
    `` (detail)`` from the underlying library."""

    message: str

    def describe(self) -> str:
        return f"DecodeError: {self.message}"

    def problems(self, message: str) -> list[str]:
        """What is wrong with the error ``message``; empty when all is well."""
        if message != self.message and not message.startswith(self.message + " ("):
            return [f"message is {message!r}, expected {self.message!r}"]
        if "\n" in message:
            return [f"message {message!r} is not one line"]
        return []


@dataclass(frozen=True)
class Case:
    """One corpus file: its name, how to build it, what it is, what must come out."""

    name: str
    build: Callable[[], bytes]
    about: str
    expect: Decodes | Fails


# --- byte-level builders ---------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, body: bytes, *, crc: int | None = None) -> bytes:
    """One PNG chunk; ``crc`` overrides the correct checksum."""
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_ihdr(cols: int, rows: int, bit_depth: int, colour_type: int) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, bit_depth, colour_type, 0, 0, 0))


def png_raw(samples: np.ndarray, bit_depth: int, colour_type: int, *,
            before: tuple[bytes, ...] = (), after: tuple[bytes, ...] = ()) -> bytes:
    """A PNG written by hand from ``samples``: (M, N) or (M, N, C) unsigned ints, big-endian
    16-bit when ``bit_depth`` is 16, packed bits when it is below 8. Scanlines use filter 0."""
    rows, cols = samples.shape[:2]
    if bit_depth == 16:
        lines = samples.astype(">u2").reshape(rows, -1).view(np.uint8)
    elif bit_depth < 8:
        lines = np.packbits(np.unpackbits(samples.astype(np.uint8)[..., None], axis=-1)[..., -bit_depth:]
                            .reshape(rows, -1), axis=1)
    else:
        lines = samples.astype(np.uint8).reshape(rows, -1)
    raw = np.hstack([np.zeros((rows, 1), np.uint8), lines]).tobytes()
    return (PNG_SIGNATURE + png_ihdr(cols, rows, bit_depth, colour_type) + b"".join(before)
            + png_chunk(b"IDAT", zlib.compress(raw, 9)) + b"".join(after) + png_chunk(b"IEND", b""))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into ``(kind, body)`` pairs, stopping at the first chunk that does not fit."""
    out, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        if pos + 12 + length > len(data):
            break
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def png_fix_crcs(data: bytes) -> bytes:
    """Recompute every chunk checksum, so a mutated chunk reaches the parser (for fuzzing)."""
    if not data.startswith(PNG_SIGNATURE):
        return data
    chunks = png_chunks(data)
    body = b"".join(png_chunk(kind, payload) for kind, payload in chunks)
    return PNG_SIGNATURE + body + data[len(PNG_SIGNATURE) + len(body):]


def png_bomb(cols: int, rows: int) -> bytes:
    """A tiny greyscale PNG whose header declares ``cols`` x ``rows``: a decompression bomb."""
    return (PNG_SIGNATURE + png_ihdr(cols, rows, 8, 0)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + png_chunk(b"IEND", b""))


def iso_box(kind: bytes, body: bytes) -> bytes:
    """One ISO base media file box (HEIF, AVIF, MP4)."""
    return struct.pack(">I", 8 + len(body)) + kind + body


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return iso_box(b"ftyp", major + b"\0\0\0\0" + b"".join(compatible))


def jpeg_set_size(data: bytes, cols: int, rows: int) -> bytes:
    """Rewrite the frame header (SOF0/SOF2) of a JPEG to declare another size."""
    for sof in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(sof)
        if at >= 0:
            return data[:at + 5] + struct.pack(">HH", rows, cols) + data[at + 9:]
    raise ValueError("no SOF0/SOF2 marker")


def jpeg_insert_segment(data: bytes, marker: int, body: bytes) -> bytes:
    """Insert an APPn segment right after SOI."""
    return data[:2] + struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body + data[2:]


def saved(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


# --- source images ---------------------------------------------------------------------------

@functools.cache
def gradient(rows: int, cols: int) -> np.ndarray:
    """A smooth (rows, cols, 3) uint8 test picture: red down, green across, blue diagonal."""
    r = np.arange(rows, dtype=np.int64)[:, None] * 255 // max(rows - 1, 1)
    c = np.arange(cols, dtype=np.int64)[None, :] * 255 // max(cols - 1, 1)
    out = np.empty((rows, cols, 3), np.uint8)
    out[..., 0] = r
    out[..., 1] = c
    out[..., 2] = (r + c) // 2
    return out


@functools.cache
def ramp16(rows: int, cols: int, channels: int) -> np.ndarray:
    """(rows, cols, channels) uint16 whose low bytes differ from the high bytes."""
    i = np.arange(rows * cols * channels, dtype=np.int64).reshape(rows, cols, channels)
    return ((i * 7919 + 12345) % 65536).astype(np.uint16)


def to8(a16: np.ndarray) -> np.ndarray:
    return np.rint(a16 / 257.0).astype(np.uint8)


def with_alpha(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([rgb, alpha]).astype(np.uint8)


WHITE, RED, GREEN, BLUE, GREY = (255, 255, 255), (255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)
UPRIGHT_SHAPE = (32, 48)


@functools.cache
def upright() -> np.ndarray:
    """The upright picture for the orientation cases: white, with 8 x 8 marks at three corners
    (red top left, green top right, blue bottom left), so every flip and turn looks different."""
    rows, cols = UPRIGHT_SHAPE
    out = np.full((rows, cols, 3), 255, np.uint8)
    out[:8, :8], out[:8, -8:], out[-8:, :8] = RED, GREEN, BLUE
    return out


#: How each EXIF orientation stores the upright picture, from the tag's definition (which stored
#: side is the visual top and left), written in numpy so the test does not trust Pillow's table.
STORED = {
    1: lambda u: u,
    2: np.fliplr,
    3: lambda u: np.rot90(u, 2),
    4: np.flipud,
    5: lambda u: np.transpose(u, (1, 0, 2)),
    6: lambda u: np.rot90(u, 1),
    7: lambda u: np.fliplr(np.rot90(u, 1)),
    8: lambda u: np.rot90(u, -1),
}

STORED_AS = {1: "as is", 2: "mirrored", 3: "turned 180", 4: "flipped", 5: "transposed", 6: "turned left",
             7: "transversed", 8: "turned right"}

UPRIGHT_PROBES = (((3, 3), RED), ((3, UPRIGHT_SHAPE[1] - 4), GREEN), ((UPRIGHT_SHAPE[0] - 4, 3), BLUE),
                  ((UPRIGHT_SHAPE[0] - 4, UPRIGHT_SHAPE[1] - 4), WHITE))


def oriented_jpeg(orientation: int) -> bytes:
    stored = np.ascontiguousarray(STORED[orientation](upright()))
    return saved(Image.fromarray(stored), "JPEG", quality=95, subsampling=0, exif=exif_orientation(orientation))


def cmyk_patches() -> Image.Image:
    """Five 16 x 16 patches in a row: white, cyan, magenta, yellow, black."""
    inks = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255)]
    arr = np.concatenate([np.full((16, 16, 4), ink, np.uint8) for ink in inks], axis=1)
    return Image.frombytes("CMYK", (80, 16), arr.tobytes())


def frames_of(*colours: tuple[int, int, int], size=(16, 12)) -> list[Image.Image]:
    return [Image.new("RGB", size, c) for c in colours]


def palette_with_trns() -> bytes:
    """4-bit palette PNG: index 0 fully transparent, 1 half, 2 and 3 opaque."""
    idx = (np.arange(8 * 12).reshape(8, 12) % 4).astype(np.uint8)
    plte = png_chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]))
    trns = png_chunk(b"tRNS", bytes([0, 128]))
    return png_raw(idx, 4, 3, before=(plte, trns))


def palette_expected() -> np.ndarray:
    idx = np.arange(8 * 12).reshape(8, 12) % 4
    lut = np.array([[0, 0, 0, 0], [255, 0, 0, 128], [0, 255, 0, 255], [0, 0, 255, 255]], np.uint8)
    return lut[idx]


def grey16_trns() -> tuple[np.ndarray, int]:
    grey = ramp16(6, 10, 1)[..., 0].copy()
    key = int(grey[2, 3])
    return grey, key


def text_chunk_png(chunk: bytes) -> bytes:
    return png_raw(gradient(8, 8), 8, 2, before=(chunk,))


def itxt(keyword: bytes, text: bytes) -> bytes:
    return png_chunk(b"iTXt", keyword + b"\0\x01\0en\0\0" + zlib.compress(text))


def tiff_self_loop() -> bytes:
    """A little-endian TIFF whose first directory points back at itself as the next one."""
    rgb = gradient(4, 4)
    entries = [(256, 3, 1, 4), (257, 3, 1, 4), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 0), (277, 3, 1, 1), (278, 3, 1, 4), (279, 4, 1, 16)]
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = data_at if tag == 273 else value
        ifd += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3
                                                         else struct.pack("<I", value))
    ifd += struct.pack("<I", ifd_at)
    return b"II*\0" + struct.pack("<I", ifd_at) + ifd + rgb[..., 0].tobytes()


def tiff_ifd(entries, next_ifd: int, *, at: int) -> bytes:
    """One classic little-endian TIFF directory of (tag, type, count, value) entries, at ``at``."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3
                                                         else struct.pack("<I", value))
    return ifd + struct.pack("<I", next_ifd)


def tiff_huge_tile() -> bytes:
    """A 1 x 1 deflate TIFF whose one tile claims 32768 x 65520 pixels (2 GB to decode into)."""
    data = zlib.compress(bytes(65536), 9)
    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
               (277, 3, 1, 1), (322, 4, 1, 32768), (323, 4, 1, 65520), (324, 4, 1, 0), (325, 4, 1, len(data))]
    data_at = 8 + 2 + 12 * len(entries) + 4
    entries = [(t, k, c, data_at if t == 324 else v) for t, k, c, v in entries]
    return b"II*\0" + struct.pack("<I", 8) + tiff_ifd(entries, 0, at=8) + data


def tiff_many_pages(pages: int) -> bytes:
    """A TIFF of ``pages`` 1 x 1 grey pages, each directory pointing at the next."""
    size = 2 + 12 * 8 + 4 + 2  # a directory, then its pixel (padded to a word)
    out = [b"II*\0", struct.pack("<I", 8)]
    for i in range(pages):
        at = 8 + i * size
        entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                   (273, 4, 1, at + size - 2), (278, 3, 1, 1), (279, 4, 1, 1)]
        out.append(tiff_ifd(entries, at + size if i + 1 < pages else 0, at=at) + b"\x80\0")
    return b"".join(out)


def jpeg_many_scans(scans: int) -> bytes:
    """A small progressive JPEG whose last scan is repeated until it has ``scans`` of them."""
    data = small_jpeg(progressive=True)
    last = data.rindex(b"\xff\xda")
    return data[:-2] + data[last:-2] * (scans - data.count(b"\xff\xda")) + b"\xff\xd9"


def ico_hiding_png(cols: int, rows: int) -> bytes:
    """An ICO whose directory says 256 x 256 but whose one entry is a ``cols`` x ``rows`` PNG."""
    z, row = zlib.compressobj(9), bytes(cols + 1)  # black grey rows, filter byte 0
    raw = b"".join(z.compress(row) for _ in range(rows)) + z.flush()
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0)) \
        + png_chunk(b"IDAT", raw) + png_chunk(b"IEND", b"")
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 8, len(png), 22) + png


def psd(rows: int, cols: int) -> bytes:
    """A minimal, valid, uncompressed 8-bit RGB Photoshop file."""
    planes = np.transpose(gradient(rows, cols), (2, 0, 1)).tobytes()
    return (b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, rows, cols, 8, 3) + struct.pack(">III", 0, 0, 0)
            + struct.pack(">H", 0) + planes)


def zip_file() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("photo.jpg", date_time=(2020, 1, 1, 0, 0, 0)),
                   saved(Image.fromarray(gradient(8, 8)), "JPEG"))
    return buf.getvalue()


def random_bytes(seed: int, n: int = 4096) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


PHOTO_40MP = (5480, 7300)
SMALL = (24, 40)


@functools.cache
def small_png() -> bytes:
    return saved(Image.fromarray(gradient(*SMALL)), "PNG")


@functools.cache
def small_jpeg(**params) -> bytes:
    return saved(Image.fromarray(gradient(*SMALL)), "JPEG", quality=92, **params)


@functools.cache
def medium_jpeg() -> bytes:
    rgb = gradient(96, 128).copy()
    rgb[20:60, 30:90] = np.random.default_rng(3).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    return saved(Image.fromarray(rgb), "JPEG", quality=90)


def truncated(data: bytes, fraction: float = 0.5) -> bytes:
    return data[:int(len(data) * fraction)]


def small() -> Callable[[], np.ndarray]:
    """The expected pixels of the small gradient files."""
    return lambda: gradient(*SMALL)


def exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def bad_crc_idat() -> bytes:
    data = png_raw(gradient(*SMALL), 8, 2)
    at = data.rfind(b"IEND") - 8  # the IDAT checksum sits just before IEND's length and type
    return data[:at] + b"\0\0\0\0" + data[at + 4:]


def corrupt_idat() -> bytes:
    data = png_raw(gradient(*SMALL), 8, 2)
    at = data.find(b"IDAT") + 20
    return png_fix_crcs(data[:at] + b"\xde\xad\xbe\xef" * 4 + data[at + 16:])


#: Adam7 passes as (first row, first column, row step, column step).
ADAM7 = ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1))


def adam7_png(rgb: np.ndarray) -> bytes:
    """An interlaced 8-bit RGB PNG, written by hand (Pillow cannot write one)."""
    raw = b""
    for r0, c0, dr, dc in ADAM7:
        sub = rgb[r0::dr, c0::dc]
        if sub.size:
            raw += np.hstack([np.zeros((sub.shape[0], 1), np.uint8), sub.reshape(sub.shape[0], -1)]).tobytes()
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", rgb.shape[1], rgb.shape[0], 8, 2, 0, 0, 1))
    return PNG_SIGNATURE + ihdr + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def p_image() -> Image.Image:
    """8 x 12 palette image cycling through indices 0-3 (black, red, green, blue)."""
    img = Image.fromarray((np.arange(8 * 12).reshape(8, 12) % 4).astype(np.uint8), "L").convert("P")
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    return img


def p_expected() -> np.ndarray:
    idx = np.arange(8 * 12).reshape(8, 12) % 4
    lut = np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]], np.uint8)
    return lut[idx]


# --- the table -------------------------------------------------------------------------------

UNKNOWN = "not an image format this app can read (PNG, JPEG, WebP, GIF, BMP, TIFF, ICO)"
TRUNCATED = "the {} file is damaged or truncated: it ends before the image data does"
DAMAGED = "the {} file is damaged"
HEADER = "the {} file is damaged or truncated: its header cannot be read"
TOO_BIG = "the image is {} MP, above the limit of %d MP" % LIMIT_MP
#: The decoder's page and scan caps, restated like LIMIT_MP (the corpus test checks them).
MAX_PAGES, MAX_SCANS = 1000, 100
MANY_PAGES = "the TIFF file has more than {} pages: save the page you want as a file of its own"
MANY_SCANS = "the JPEG file has more than {} scans (a normal one has about 10): it is damaged or crafted"
HUGE_TILE = "the TIFF file is damaged: its tiles ({}x{}) are far larger than the image ({}x{})"

SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- a red dot -->\n'
       b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
       b'<circle cx="32" cy="32" r="20" fill="red"/></svg>\n')
PDF = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
HTML = (b"<!DOCTYPE html>\n<html><head><title>Cat</title></head>\n"
        b'<body><img src="cat.jpg" alt="a cat"></body></html>\n')

CASES: list[Case] = [
    # Not images at all, or not raster images this app reads.
    Case("empty.png", lambda: b"", "zero bytes", Fails("the file is empty (0 bytes)")),
    Case("random.png", lambda: random_bytes(1), "4 KiB of random bytes named .png", Fails(UNKNOWN)),
    Case("random.jpg", lambda: random_bytes(2), "4 KiB of random bytes named .jpg", Fails(UNKNOWN)),
    Case("notes.txt", lambda: b"Shopping list\n- milk\n- eggs\n", "a plain text file",
         Fails("this is a text file, " + UNKNOWN)),
    Case("notes-named.png", lambda: "Caf\u00e9 menu: cr\u00eapes \u2014 4 \u20ac\n".encode() * 40,
         "UTF-8 text named .png", Fails("this is a text file, " + UNKNOWN)),
    Case("page.html", lambda: HTML, "a saved web page instead of the image on it",
         Fails("this is a web page (HTML), not an image: save the image itself, not the page")),
    Case("drawing.svg", lambda: SVG, "an SVG drawing with an XML declaration and a comment",
         Fails("SVG is a vector format, not a photo: export it as PNG first")),
    Case("photo.heic", lambda: ftyp(b"heic", b"mif1", b"heic") + iso_box(b"meta", bytes(64)),
         "an iPhone-style HEIC header (ftyp heic)",
         Fails("HEIC/HEIF photos are not supported yet: convert to JPEG or PNG first")),
    Case("photo.heif", lambda: ftyp(b"mif1", b"mif1", b"heic") + iso_box(b"meta", bytes(64)),
         "a generic HEIF header (ftyp mif1, compatible heic)",
         Fails("HEIC/HEIF photos are not supported yet: convert to JPEG or PNG first")),
    Case("photo.avif", lambda: ftyp(b"avif", b"mif1", b"miaf", b"avif") + iso_box(b"meta", bytes(64)),
         "an AVIF header (ftyp avif): refused even where Pillow could decode it, as Pyodide's cannot",
         Fails("AVIF images are not supported yet: convert to JPEG or PNG first")),
    Case("document.pdf", lambda: PDF, "a one-object PDF",
         Fails("PDF documents are not images: export the page as PNG or JPEG first")),
    Case("clip.mp4", lambda: ftyp(b"isom", b"isom", b"mp41") + iso_box(b"mdat", bytes(64)),
         "an MP4 header (ftyp isom)",
         Fails("this is a video (MP4/MOV), not an image: export a frame as PNG or JPEG first")),
    Case("layers.psd", lambda: psd(8, 12), "a valid uncompressed Photoshop file",
         Fails("Photoshop (PSD) files are not supported: export as PNG first")),
    Case("photo.jxl", lambda: b"\xff\x0a" + bytes(64), "a JPEG XL codestream signature",
         Fails("JPEG XL images are not supported yet: convert to JPEG or PNG first")),
    Case("photos.zip", zip_file, "a ZIP archive holding a JPEG",
         Fails("this is a ZIP archive, not an image: unzip it first")),

    # Too big: refused from the header, before any pixel is decoded.
    Case("bomb-40000x40000.png", lambda: png_bomb(40000, 40000),
         "an 83-byte PNG declaring 1.6 gigapixels (past Pillow's own bomb error)",
         Fails(TOO_BIG.format("40000x40000 = 1600.0"))),
    Case("big-10000x10000.png", lambda: png_bomb(10000, 10000),
         "a tiny PNG declaring 100 MP (in Pillow's bomb-warning range)",
         Fails(TOO_BIG.format("10000x10000 = 100.0"))),
    Case("big-8000x8000.png", lambda: png_bomb(8000, 8000), "a tiny PNG declaring 64 MP (under Pillow's guard)",
         Fails(TOO_BIG.format("8000x8000 = 64.0"))),
    Case("bomb-65000x65000.jpg", lambda: jpeg_set_size(small_jpeg(), 65000, 65000),
         "a small JPEG whose frame header declares 65000 x 65000", Fails(TOO_BIG.format("4225.0"))),
    Case("ico-hiding-13300x13300.ico", lambda: ico_hiding_png(13300, 13300),
         "an ICO whose directory says 256 x 256 and whose one entry is a 177 MP PNG (refused before "
         "the PNG is decoded)", Fails(TOO_BIG.format("176.9"))),
    Case("tiff-huge-tile.tif", tiff_huge_tile, "a 1 x 1 deflate TIFF whose tile claims 32768 x 65520 "
         "pixels (2 GB to decode into)", Fails(HUGE_TILE.format(32768, 65520, 1, 1))),
    Case("tiff-60000-pages.tif", lambda: tiff_many_pages(60000), "a TIFF with 60,000 chained 1 x 1 pages "
         "(counting them in Pillow takes 15-25 s)", Fails(MANY_PAGES.format(MAX_PAGES))),
    Case("jpeg-10000-scans.jpg", lambda: jpeg_many_scans(10000), "a progressive JPEG whose last scan is "
         "repeated 10,000 times", Fails(MANY_SCANS.format(MAX_SCANS))),
    Case("zero-width.png", lambda: png_raw(np.zeros((4, 0), np.uint8), 8, 0), "a PNG declaring 0 x 4 pixels",
         Fails(HEADER.format("PNG"))),

    # Cut short, or damaged.
    Case("truncated.png", lambda: truncated(saved(Image.fromarray(gradient(64, 64)), "PNG", compress_level=0)),
         "the first half of a PNG", Fails(TRUNCATED.format("PNG"))),
    Case("truncated.jpg", lambda: truncated(medium_jpeg()), "the first half of a baseline JPEG",
         Fails(TRUNCATED.format("JPEG"))),
    Case("truncated-progressive.jpg", lambda: truncated(small_jpeg(progressive=True), 0.8),
         "the first 80 % of a progressive JPEG", Fails(TRUNCATED.format("JPEG"))),
    Case("truncated.gif", lambda: truncated(saved(Image.fromarray(gradient(64, 64)), "GIF")),
         "the first half of a GIF", Fails(TRUNCATED.format("GIF"))),
    Case("truncated.webp", lambda: truncated(saved(Image.fromarray(gradient(64, 64)), "WEBP", quality=80)),
         "the first half of a WebP", Fails(TRUNCATED.format("WebP"))),
    Case("truncated-header.png", lambda: small_png()[:20], "a PNG cut inside its IHDR chunk",
         Fails(TRUNCATED.format("PNG"))),
    Case("ihdr-only.png", lambda: PNG_SIGNATURE + png_ihdr(8, 8, 8, 2) + png_chunk(b"IEND", b""),
         "a PNG with a header and no image data", Fails(DAMAGED.format("PNG"))),
    Case("bad-crc-ihdr.png", lambda: small_png()[:29] + b"\0\0\0\0" + small_png()[33:],
         "a PNG whose IHDR checksum is wrong", Fails(HEADER.format("PNG"))),
    Case("bad-crc-idat.png", bad_crc_idat, "a PNG whose IDAT checksum is wrong: Pillow does not check it, "
         "and zlib's own checksum still guards the pixels", Decodes(SMALL, "PNG", "RGB", pixels=small())),
    Case("corrupt-idat.png", corrupt_idat, "a PNG with 16 bytes of its compressed data overwritten, "
         "checksums fixed", Fails(DAMAGED.format("PNG"))),
    Case("gif-header-only.gif", lambda: b"GIF89a" + struct.pack("<HHBBB", 16, 16, 0, 0, 0) + b";",
         "a GIF header and trailer with no frame", Fails(HEADER.format("GIF"))),
    Case("tiff-ifd-loop.tif", tiff_self_loop, "a TIFF whose first directory names itself as the next "
         "(must not hang counting pages)", Decodes((4, 4), "TIFF", "L", pixels=lambda: np.repeat(
             gradient(4, 4)[..., :1], 3, axis=2))),
    Case("truncated-eoi-appended.jpg", lambda: truncated(medium_jpeg(), 0.6) + b"\xff\xd9",
         "KNOWN LIMITATION: a JPEG cut short and then closed with an EOI marker decodes with the lost "
         "part filled grey (libjpeg only warns and Pillow hides the warning)",
         Decodes((96, 128), "JPEG", "RGB", probes=(((90, 120), GREY),), probe_tol=2)),

    # Damaged or huge metadata around good pixels: the pixels still come out.
    Case("garbage-after-eoi.jpg", lambda: small_jpeg() + b"trailing garbage " * 64,
         "a JPEG followed by 1 KiB of junk", Decodes(SMALL, "JPEG", "RGB", pixels=small(), atol=12)),
    Case("garbage-after-iend.png", lambda: small_png() + random_bytes(3, 1024), "a PNG followed by 1 KiB of junk",
         Decodes(SMALL, "PNG", "RGB", pixels=small())),
    Case("broken-icc.jpg", lambda: jpeg_insert_segment(small_jpeg(), 0xE2, b"ICC_PROFILE\0\x01\x01" + bytes(
         range(256)) * 4), "a JPEG whose ICC profile is 1 KiB of nonsense",
         Decodes(SMALL, "JPEG", "RGB", pixels=small(), atol=12)),
    Case("broken-icc-sequence.jpg", lambda: jpeg_insert_segment(small_jpeg(), 0xE2, b"ICC_PROFILE\0\x07\x02"
         + bytes(300)), "a JPEG whose ICC profile claims to be part 7 of 2",
         Decodes(SMALL, "JPEG", "RGB", pixels=small(), atol=12)),
    Case("broken-exif.jpg", lambda: jpeg_insert_segment(small_jpeg(), 0xE1, b"Exif\0\0MM\0*\0\0\0\x08\xff\xff"
         + random_bytes(4, 200)), "a JPEG whose EXIF block is garbage after its TIFF header",
         Decodes(SMALL, "JPEG", "RGB", pixels=small(), atol=12)),
    Case("exif-orientation-9.jpg", lambda: saved(Image.fromarray(gradient(*SMALL)), "JPEG", quality=92,
         exif=exif_orientation(9)), "a JPEG with an out-of-range orientation (9): left as stored",
         Decodes(SMALL, "JPEG", "RGB", pixels=small(), atol=12)),
    Case("huge-ztxt.png", lambda: text_chunk_png(png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(
         b"A" * 10_000_000, 9))), "a PNG with a zTXt chunk that inflates to 10 MB (Pillow refuses over 1 MB)",
         Decodes((8, 8), "PNG", "RGB", pixels=lambda: gradient(8, 8))),
    Case("huge-text.png", lambda: text_chunk_png(png_chunk(b"tEXt", b"Comment\0" + b"A" * 10_000_000)),
         "a 10 MB PNG, almost all one tEXt chunk", Decodes((8, 8), "PNG", "RGB", pixels=lambda: gradient(8, 8))),
    Case("huge-itxt.png", lambda: text_chunk_png(itxt(b"XML:com.adobe.xmp", b"<x/>" * 2_500_000)),
         "a PNG with a compressed iTXt (XMP) chunk that inflates to 10 MB",
         Decodes((8, 8), "PNG", "RGB", pixels=lambda: gradient(8, 8))),
    Case("iccp-bomb.png", lambda: text_chunk_png(png_chunk(b"iCCP", b"icc\0\0" + zlib.compress(
         bytes(10_000_000), 9))), "a PNG whose iCCP profile inflates to 10 MB",
         Decodes((8, 8), "PNG", "RGB", pixels=lambda: gradient(8, 8))),
    Case("gama-iccp.png", lambda: png_raw(gradient(*SMALL), 8, 2, before=(
         png_chunk(b"gAMA", struct.pack(">I", 45455)),
         png_chunk(b"iCCP", b"fake\0\0" + zlib.compress(b"not a profile" * 20)))),
         "a PNG with gAMA and a bogus iCCP profile (not colour-managed: pixels as stored)",
         Decodes(SMALL, "PNG", "RGB", pixels=small())),

    # Good files in every mode and container the app reads.
    Case("png-named.jpg", small_png, "a PNG with a .jpg name: the bytes decide",
         Decodes(SMALL, "PNG", "RGB", pixels=small())),
    Case("1x1.png", lambda: png_raw(np.array([[[10, 20, 30]]], np.uint8), 8, 2), "a single pixel",
         Decodes((1, 1), "PNG", "RGB", pixels=lambda: np.array([[[10, 20, 30]]], np.uint8))),
    Case("wide-10000x8.png", lambda: png_raw(gradient(8, 10000), 8, 2), "8 rows, 10000 columns",
         Decodes((8, 10000), "PNG", "RGB", pixels=lambda: gradient(8, 10000))),
    Case("tall-8x10000.png", lambda: png_raw(gradient(10000, 8), 8, 2), "10000 rows, 8 columns",
         Decodes((10000, 8), "PNG", "RGB", pixels=lambda: gradient(10000, 8))),
    Case("photo-40mp.jpg", lambda: saved(Image.fromarray(gradient(*PHOTO_40MP)), "JPEG", quality=80),
         "a 7300 x 5480 (40 MP) smooth-gradient photo: under the default limit, so it must decode",
         Decodes(PHOTO_40MP, "JPEG", "RGB", probes=(((1, 1), (0, 0, 0)), ((1, 7298), (0, 255, 128)),
                                                   ((5478, 1), (255, 0, 128)), ((5478, 7298), WHITE)),
                 probe_tol=4)),
    Case("cmyk.jpg", lambda: saved(cmyk_patches(), "JPEG", quality=95), "an Adobe CMYK JPEG: white, "
         "cyan, magenta, yellow, black patches", Decodes((16, 80), "JPEG", "CMYK", probes=tuple(
             ((8, 8 + 16 * i), c) for i, c in enumerate([WHITE, (0, 255, 255), (255, 0, 255), (255, 255, 0),
                                                         (0, 0, 0)])), probe_tol=6)),
    Case("grey.jpg", lambda: saved(Image.fromarray(gradient(*SMALL)[..., 1]), "JPEG", quality=92),
         "a greyscale JPEG", Decodes(SMALL, "JPEG", "L", pixels=lambda: np.repeat(
             gradient(*SMALL)[..., 1:2], 3, axis=2), atol=6)),
    Case("progressive.jpg", lambda: small_jpeg(progressive=True), "a progressive JPEG",
         Decodes(SMALL, "JPEG", "RGB", pixels=small(), atol=12)),
    Case("rgb16.png", lambda: png_raw(ramp16(6, 10, 3), 16, 2), "16-bit RGB PNG (written by hand)",
         Decodes((6, 10), "PNG", "RGB", pixels=lambda: to8(ramp16(6, 10, 3)), atol=1)),
    Case("rgba16.png", lambda: png_raw(ramp16(6, 10, 4), 16, 6), "16-bit RGBA PNG",
         Decodes((6, 10), "PNG", "RGBA", alpha=True, pixels=lambda: to8(ramp16(6, 10, 4)), atol=1)),
    Case("grey16.png", lambda: png_raw(ramp16(6, 10, 1)[..., 0], 16, 0), "16-bit greyscale PNG",
         Decodes((6, 10), "PNG", "I;16", pixels=lambda: np.repeat(to8(ramp16(6, 10, 1)), 3, axis=2),
                 atol=1)),
    Case("grey16-trns.png", lambda: png_raw(grey16_trns()[0], 16, 0, before=(
         png_chunk(b"tRNS", struct.pack(">H", grey16_trns()[1])),)),
         "16-bit greyscale PNG with one grey level marked transparent", Decodes(
             (6, 10), "PNG", "I;16", alpha=True, pixels=lambda: with_alpha(
                 np.repeat(to8(grey16_trns()[0])[..., None], 3, axis=2),
                 np.where(grey16_trns()[0] == grey16_trns()[1], 0, 255)), atol=1)),
    Case("la16.png", lambda: png_raw(ramp16(6, 10, 2), 16, 4), "16-bit grey + alpha PNG (Pillow opens it as RGBA)",
         Decodes((6, 10), "PNG", "RGBA", alpha=True, pixels=lambda: to8(ramp16(6, 10, 2))[..., [0, 0, 0, 1]],
                 atol=1)),
    Case("la.png", lambda: png_raw(np.dstack([gradient(*SMALL)[..., 1], gradient(*SMALL)[..., 0]]), 8, 4),
         "8-bit grey + alpha PNG", Decodes(SMALL, "PNG", "LA", alpha=True,
                                           pixels=lambda: gradient(*SMALL)[..., [1, 1, 1, 0]])),
    Case("palette-trns.png", palette_with_trns, "4-bit palette PNG with a tRNS chunk (0, 50 % and opaque)",
         Decodes((8, 12), "PNG", "P", alpha=True, pixels=palette_expected)),
    Case("rgb-trns.png", lambda: png_raw(gradient(*SMALL), 8, 2, before=(png_chunk(b"tRNS", struct.pack(
         ">HHH", *gradient(*SMALL)[0, 0])),)), "RGB PNG with a tRNS colour key",
         Decodes(SMALL, "PNG", "RGB", alpha=True, pixels=lambda: with_alpha(
             gradient(*SMALL), np.where((gradient(*SMALL) == gradient(*SMALL)[0, 0]).all(-1), 0, 255)))),
    Case("1bit.png", lambda: png_raw((np.indices(SMALL).sum(0) % 2).astype(np.uint8), 1, 0),
         "1-bit black and white checkerboard PNG", Decodes(SMALL, "PNG", "1", pixels=lambda: np.repeat(
             (np.indices(SMALL).sum(0) % 2 * 255).astype(np.uint8)[..., None], 3, axis=2))),
    Case("interlaced.png", lambda: adam7_png(gradient(*SMALL)), "an Adam7-interlaced PNG",
         Decodes(SMALL, "PNG", "RGB", pixels=small())),
    Case("animated.gif", lambda: saved(frames_of(RED, GREEN, BLUE)[0], "GIF", save_all=True,
                                       append_images=frames_of(RED, GREEN, BLUE)[1:], duration=100),
         "a three-frame GIF: red, green, blue", Decodes((12, 16), "GIF", "P", frames=3,
                                                         probes=(((6, 8), RED),))),
    Case("transparent.gif", lambda: saved(p_image(), "GIF", transparency=0),
         "a GIF whose palette index 0 is transparent", Decodes((8, 12), "GIF", "P", alpha=True,
                                                                pixels=p_expected)),
    Case("animated.png", lambda: saved(frames_of(RED, BLUE)[0], "PNG", save_all=True,
                                       append_images=frames_of(RED, BLUE)[1:], duration=100),
         "a two-frame APNG: red, blue", Decodes((12, 16), "PNG", "RGB", frames=2, probes=(((6, 8), RED),))),
    Case("lossy.webp", lambda: saved(Image.fromarray(gradient(*SMALL)), "WEBP", quality=90), "a lossy WebP",
         Decodes(SMALL, "WEBP", "RGB", pixels=small(), atol=16)),
    Case("lossless-alpha.webp", lambda: saved(Image.fromarray(with_alpha(gradient(*SMALL), gradient(
         *SMALL)[..., 1])), "WEBP", lossless=True, exact=True), "a lossless WebP with alpha",
         Decodes(SMALL, "WEBP", "RGBA", alpha=True, pixels=lambda: with_alpha(gradient(*SMALL),
                                                                            gradient(*SMALL)[..., 1]))),
    Case("animated.webp", lambda: saved(frames_of(RED, BLUE)[0], "WEBP", save_all=True, lossless=True,
                                        append_images=frames_of(RED, BLUE)[1:], duration=100),
         "a two-frame animated WebP: red, blue", Decodes((12, 16), "WEBP", "RGB",
                                                         frames=2, probes=(((6, 8), RED),))),
    Case("rgb.bmp", lambda: saved(Image.fromarray(gradient(*SMALL)), "BMP"), "a 24-bit BMP",
         Decodes(SMALL, "BMP", "RGB", pixels=small())),
    Case("deflate.tif", lambda: saved(Image.fromarray(with_alpha(gradient(*SMALL), gradient(*SMALL)[..., 0])),
                                      "TIFF", compression="tiff_adobe_deflate"),
         "a deflate-compressed RGBA TIFF", Decodes(SMALL, "TIFF", "RGBA", alpha=True, pixels=lambda: with_alpha(
             gradient(*SMALL), gradient(*SMALL)[..., 0]))),
    Case("multipage.tif", lambda: saved(frames_of(RED, BLUE)[0], "TIFF", save_all=True,
                                        append_images=frames_of(RED, BLUE)[1:]),
         "a two-page TIFF: red, blue", Decodes((12, 16), "TIFF", "RGB", frames=2, probes=(((6, 8), RED),))),
    Case("grey16.tif", lambda: saved(Image.fromarray(ramp16(6, 10, 1)[..., 0]), "TIFF"), "a 16-bit greyscale TIFF",
         Decodes((6, 10), "TIFF", "I;16", pixels=lambda: np.repeat(to8(ramp16(6, 10, 1)), 3, axis=2), atol=1)),
    Case("cmyk.tif", lambda: saved(cmyk_patches(), "TIFF"), "a CMYK TIFF: white, cyan, magenta, yellow, black",
         Decodes((16, 80), "TIFF", "CMYK", probes=tuple(
             ((8, 8 + 16 * i), c) for i, c in enumerate([WHITE, (0, 255, 255), (255, 0, 255), (255, 255, 0),
                                                         (0, 0, 0)])))),
    Case("lab.tif", lambda: saved(Image.new("LAB", (12, 8), (50, 10, 20)), "TIFF"),
         "a CIELAB TIFF: refused everywhere, as Pyodide's Pillow has no colour management to convert it",
         Fails("the image's colour mode (LAB) cannot be converted to RGB")),
    Case("icon.ico", lambda: saved(Image.fromarray(with_alpha(gradient(64, 64), gradient(64, 64)[..., 1])),
                                   "ICO", sizes=[(16, 16), (32, 32), (64, 64)]),
         "an ICO with 16, 32 and 64 pixel icons: the largest is used",
         Decodes((64, 64), "ICO", "RGBA", alpha=True, pixels=lambda: with_alpha(gradient(64, 64),
                                                                                gradient(64, 64)[..., 1]))),
    Case("stereo.mpo", lambda: saved(Image.fromarray(gradient(*SMALL)), "MPO", quality=92, save_all=True,
                                     append_images=[Image.new("RGB", SMALL[::-1], BLUE)]),
         "a two-image MPO (camera multi-picture JPEG)", Decodes(SMALL, "MPO", "RGB", frames=2, pixels=small(),
                                                                atol=12)),
    *(Case(f"exif-orientation-{o}.jpg", functools.partial(oriented_jpeg, o),
           f"a JPEG stored {STORED_AS[o]}, EXIF orientation {o}: must come out upright, red mark top left",
           Decodes(UPRIGHT_SHAPE, "JPEG", "RGB", probes=UPRIGHT_PROBES, probe_tol=24)) for o in range(1, 9)),
]


# --- output ----------------------------------------------------------------------------------

def write(out: Path) -> list[Path]:
    """Build every case into ``out``; returns the paths in table order."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in CASES:
        path = out / case.name
        path.write_bytes(case.build())
        paths.append(path)
    return paths


def markdown() -> str:
    """The corpus table for TESTING.md, one row per file."""
    rows = ["| File | What it is | Expected outcome |", "| --- | --- | --- |"]
    for case in CASES:
        cells = (f"`{case.name}`", case.about, case.expect.describe())
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the table for TESTING.md")
    group.add_argument("--out", type=Path, help="write the corpus files into this folder")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown())
    else:
        for path in write(args.out):
            print(f"{path.stat().st_size:>10}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

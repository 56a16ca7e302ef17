"""Fuzz `decode`: for any bytes it returns a valid `Decoded` or raises `DecodeError`, promptly.

The inputs are random bytes, random bytes behind a real signature, and small valid files of
every readable container with bit flips, overwrites, truncations, insertions and deletions
(PNG checksums optionally repaired, so mutated chunks reach the parser).

CI runs a fixed, derandomised set of examples per test. For a longer, random campaign::

    ALPHACUT_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest -q tests/io/test_decode_fuzz.py
"""
from __future__ import annotations

import contextlib
import io
import os
import signal
import threading
import zlib
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from alphacut.io.decode import FORMATS, MAX_PIXELS, DecodeError, Decoded, decode
from corpus.generate import exif_orientation, gradient, png_chunk, png_fix_crcs, png_raw

EXAMPLES = int(os.environ.get("ALPHACUT_FUZZ_EXAMPLES", "300"))
#: Longer than any decode of these small inputs takes, short enough to flag a hang.
HANG_SECONDS = 10

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    derandomize="ALPHACUT_FUZZ_EXAMPLES" not in os.environ,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow],
)


def _saved(arr: np.ndarray, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **params)
    return buf.getvalue()


def _seeds() -> dict[str, bytes]:
    """Small valid files (under 2 KiB each) that reach the interesting parser paths."""
    rgb = gradient(12, 16)
    rgba = np.dstack([rgb, gradient(12, 16)[..., 1]])
    frames = [Image.new("P", (8, 6), i) for i in range(2)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], transparency=0)
    tiff = io.BytesIO()
    Image.fromarray(rgb).save(tiff, format="TIFF", save_all=True, compression="tiff_adobe_deflate",
                              append_images=[Image.fromarray(rgb[::-1].copy())])
    return {
        "png": _saved(rgba, "PNG"),
        "png-palette-text": png_raw((np.arange(48).reshape(6, 8) % 4).astype(np.uint8), 2, 3, before=(
            png_chunk(b"PLTE", bytes(range(12))), png_chunk(b"tRNS", b"\0\x80"),
            png_chunk(b"zTXt", b"k\0\0" + zlib.compress(b"text" * 50)))),
        "png16": png_raw(np.arange(96, dtype=np.uint16).reshape(6, 8, 2) * 600, 16, 4),
        "jpeg-exif": _saved(rgb, "JPEG", quality=80, exif=exif_orientation(6)),
        "jpeg-progressive": _saved(rgb, "JPEG", quality=80, progressive=True),
        "gif": gif.getvalue(),
        "webp": _saved(rgba, "WEBP", lossless=True),
        "tiff": tiff.getvalue(),
        "bmp": _saved(rgb, "BMP"),
        "ico": _saved(np.ascontiguousarray(rgba[:, :12]), "ICO", sizes=[(12, 12)]),
    }


SEEDS = _seeds()
SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\0\1\0\0WEBPVP8L", b"II*\0",
              b"MM\0*", b"BM", b"\0\0\1\0\1\0", b"\0\0\0\x18ftypheic", b"<svg ", b"%PDF-"]


@st.composite
def mutated(draw) -> bytes:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        # Headers hold most of the parsing, so half the positions fall in the first 64 bytes.
        pos = draw(st.integers(0, min(size, 64)) | st.integers(0, size))
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        if op == "flip" and pos < size:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and pos < size:
            data[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]) | st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
    if name.startswith("png") and draw(st.booleans()):
        return png_fix_crcs(bytes(data))
    return bytes(data)


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so that decode's own handlers cannot swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Fail instead of hanging, where the platform has interval timers (not Windows)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise _Hang(f"decode ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_contract(data: bytes) -> None:
    """decode(data) returns a consistent Decoded or raises DecodeError with a one-line message."""
    with _time_limit(HANG_SECONDS):
        try:
            d = decode(data)
        except DecodeError as e:
            message = str(e)
            assert message and "\n" not in message and len(message) < 300, repr(message)
            return
    assert isinstance(d, Decoded)
    assert d.rgb.dtype == np.uint8 and d.rgb.ndim == 3 and d.rgb.shape[2] == 3
    rows, cols = d.rgb.shape[:2]
    assert 1 <= rows * cols <= MAX_PIXELS
    if d.alpha is not None:
        assert d.alpha.dtype == np.uint8 and d.alpha.shape == (rows, cols)
    assert d.format in FORMATS or d.format == "MPO"
    assert isinstance(d.mode, str) and d.frames >= 1


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    assert_contract(data)


@FUZZ
@given(st.sampled_from(SIGNATURES), st.binary(max_size=512))
def test_random_bytes_behind_a_signature(signature, rest):
    assert_contract(signature + rest)


@FUZZ
@given(mutated())
def test_mutated_valid_files(data):
    assert_contract(data)


def test_seeds_decode():
    """The mutations start from files that do decode."""
    for name, data in SEEDS.items():
        assert decode(data).rgb.shape[2] == 3, name


def test_time_limit_interrupts_a_hang():
    """The guard can fire: a hang becomes a failure, not a stuck CI job."""
    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers on this platform")
    try:
        with _time_limit(0.05):
            while True:
                pass
    except _Hang:
        return
    raise AssertionError("the time limit did not fire")

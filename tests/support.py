"""Plain helpers shared by the tests (fixtures live in conftest.py)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

#: Regions of scikit-image's ``chelsea`` (300 x 451) where the cat clearly is / is not.
CAT_SUBJECT = (slice(60, 290), slice(60, 300))
CAT_BACKGROUND = (slice(0, 300), slice(420, 451))


def png_bytes(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", **kw)
    return buf.getvalue()


def jpeg_round_trip(rgb: np.ndarray, quality: int = 80) -> np.ndarray:
    """``rgb`` (uint8) as a JPEG of ``quality`` decodes."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks."""
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


def studio(tmp_path, name, colour, size=(48, 64)):
    """A small studio-style photo (a square on a flat backdrop), written as PNG."""
    rgb = np.full((*size, 3), 235, np.uint8)
    rgb[12:36, 20:44] = colour
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(rgb))
    return path


def write(path, data):
    path.write_bytes(data)
    return path


class DiscInfer:
    """Fake inference: an opaque disc in the middle of the model frame, records its inputs."""

    def __init__(self, size=(1024, 1024)):
        self.size = size
        self.calls = []

    async def __call__(self, x):
        self.calls.append(x)
        rows, cols = self.size
        r, c = np.mgrid[:rows, :cols]
        return ((r - rows / 2) ** 2 + (c - cols / 2) ** 2 < (rows / 4) ** 2).astype(np.float32)

"""The cut-out pipeline: bytes in, transparent PNG bytes plus a small report out.

Inference is injected: ``infer`` is an async callable that takes the model input
``(1, 3, R, C) float32`` and returns the model's alpha (any shape with ``R * C``
elements, values in [0, 1]). In the browser it wraps ONNX Runtime Web; in CPython,
:class:`alphacut.ort_backend.OrtInfer`.
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields

import numpy as np

from .composite import to_rgba
from .decode import MAX_PIXELS, decode
from .encode import encode_png
from .models import ModelSpec, get_model
from .prepare import to_model_input
from .resize import resize_alpha

Infer = Callable[[np.ndarray], Awaitable[np.ndarray]]


@dataclass(frozen=True)
class Options:
    """Pipeline options; each field has one default.

    Attributes
    ----------
    model : str
        Name of the model manifest to use.
    max_pixels : int
        Refuse inputs larger than this many pixels, before decoding them.
    compress_level : int
        PNG zlib level, 0-9 (1 is fast, 6 is Pillow's default).
    """

    model: str = "isnet"
    max_pixels: int = MAX_PIXELS
    compress_level: int = 1

    def __post_init__(self):
        get_model(self.model)  # raises ValueError on an unknown model
        if not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive int, got {self.max_pixels!r}")
        if not isinstance(self.compress_level, int) or not 0 <= self.compress_level <= 9:
            raise ValueError(f"compress_level must be an int in 0..9, got {self.compress_level!r}")

    @classmethod
    def from_dict(cls, d: dict | None) -> "Options":
        """Build options from a plain dict (from JSON or JS), rejecting unknown keys.

        >>> Options.from_dict({"compress_level": 6}).compress_level
        6
        >>> Options.from_dict({"colour": 1})
        Traceback (most recent call last):
        ...
        ValueError: unknown option(s): colour
        """
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown option(s): {', '.join(unknown)}")
        return cls(**d)


@dataclass(frozen=True)
class Result:
    """A finished cut-out: ``png`` bytes and a JSON-able ``report`` dict."""

    png: bytes
    report: dict


class _Clock:
    """Records wall time per named stage, in milliseconds."""

    def __init__(self):
        self.ms: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] = round((now - self._t) * 1000.0, 1)
        self._t = now


async def estimate_alpha(rgb: np.ndarray, infer: Infer, spec: ModelSpec, clock: _Clock | None = None) -> np.ndarray:
    """Run the model on ``rgb`` and return its matte at full resolution.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
    infer : async callable
        Model inference, see the module docstring.
    spec : ModelSpec

    Returns
    -------
    alpha : (M, N) ndarray of float32 in [0, 1]
    """
    clock = clock or _Clock()
    x = to_model_input(rgb, spec)
    clock.lap("prepare")
    raw = np.asarray(await infer(x), dtype=np.float32)
    clock.lap("infer")
    rows, cols = spec.size
    if raw.size != rows * cols:
        raise ValueError(f"infer returned {raw.size} values, expected {rows}x{cols}")
    alpha = resize_alpha(raw.reshape(rows, cols), rgb.shape[:2])
    clock.lap("upsample")
    return alpha


async def cutout(data: bytes, infer: Infer, *, options: Options = Options()) -> Result:
    """Cut the background out of an encoded image.

    Parameters
    ----------
    data : bytes
        Encoded image (PNG, JPEG, WebP...).
    infer : async callable
        Model inference, see the module docstring.
    options : Options, optional

    Returns
    -------
    Result
        RGBA PNG at the input's full resolution, original RGB untouched, no metadata;
        and a report with the size and the time per stage.

    Examples
    --------
    >>> import asyncio
    >>> from alphacut.encode import encode_png
    >>> async def everything(x):
    ...     return np.ones((1024, 1024), np.float32)
    >>> res = asyncio.run(cutout(encode_png(np.zeros((3, 5, 3), np.uint8)), everything))
    >>> res.report["width"], res.report["height"]
    (5, 3)
    """
    spec = get_model(options.model)
    clock = _Clock()
    img = decode(data, max_pixels=options.max_pixels)
    clock.lap("decode")
    alpha = await estimate_alpha(img.rgb, infer, spec, clock)
    rgba = to_rgba(img.rgb, alpha, source_alpha=img.alpha)
    clock.lap("composite")
    png = encode_png(rgba, compress_level=options.compress_level)
    clock.lap("encode")
    rows, cols = img.rgb.shape[:2]
    report = {
        "width": cols,
        "height": rows,
        "input_format": img.format,
        "input_mode": img.mode,
        "frames": img.frames,
        "had_alpha": img.alpha is not None,
        "model": spec.name,
        "output_bytes": len(png),
        "timings_ms": clock.ms,
    }
    return Result(png=png, report=report)

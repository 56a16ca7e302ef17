"""The cut-out pipeline: bytes in, transparent PNG bytes plus a small report out.

Inference is injected: ``infer`` is an async callable that takes the model input
``(1, 3, R, C) float32`` and returns the model's alpha (any shape with ``R * C``
elements, values in [0, 1]). In the browser it wraps ONNX Runtime Web; in CPython,
:class:`alphacut.ort_backend.OrtInfer`.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields

import numpy as np

from .adjust import apply_strokes, feather, shift_edge
from .colorkey import colour_key, should_colour_key
from .composite import to_rgba
from .decontaminate import estimate_foreground
from .decode import MAX_PIXELS, decode
from .encode import encode_png
from .models import ModelSpec, get_model
from .prepare import to_model_input
from .quality import assess
from .refine import refine_alpha
from .resize import resize_alpha
from .timing import Clock

Infer = Callable[[np.ndarray], Awaitable[np.ndarray]]
METHODS = ("auto", "model", "colorkey")


@dataclass(frozen=True)
class Options:
    """Pipeline options; each field has one default.

    Attributes
    ----------
    model : str
        Name of the model manifest to use.
    method : {'auto', 'model', 'colorkey'}
        ``auto`` keys out a uniform studio background by colour (no model needed) when the
        photo's border is uniform enough (:func:`alphacut.colorkey.should_colour_key`), and
        runs the model otherwise.
    max_pixels : int
        Refuse inputs larger than this many pixels, before decoding them.
    compress_level : int
        PNG zlib level, 0-9 (1 is fast, 6 is Pillow's default).
    refine : bool
        Snap the matte to the photo's edges at full resolution (:mod:`alphacut.refine`);
        False upsamples it bilinearly.
    shift_edge : float
        Move the matte's edge outwards (> 0) or inwards (< 0), in full-resolution pixels.
    feather : float
        Soften the matte's edge over this many full-resolution pixels (0: off).
    decontaminate : float
        How much of the background's colour to remove from the semi-transparent edge, 0 (off) to 1.
    """

    model: str = "isnet"
    method: str = "auto"
    max_pixels: int = MAX_PIXELS
    compress_level: int = 1
    refine: bool = True
    shift_edge: float = 0.0
    feather: float = 0.0
    decontaminate: float = 1.0

    def __post_init__(self):
        get_model(self.model)  # raises ValueError on an unknown model
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive int, got {self.max_pixels!r}")
        if not isinstance(self.compress_level, int) or not 0 <= self.compress_level <= 9:
            raise ValueError(f"compress_level must be an int in 0..9, got {self.compress_level!r}")
        if not isinstance(self.refine, bool):
            raise ValueError(f"refine must be true or false, got {self.refine!r}")
        if not isinstance(self.shift_edge, (int, float)) or abs(self.shift_edge) > 200:
            raise ValueError(f"shift_edge must be a number of pixels in -200..200, got {self.shift_edge!r}")
        if not isinstance(self.feather, (int, float)) or not 0 <= self.feather <= 200:
            raise ValueError(f"feather must be a number of pixels in 0..200, got {self.feather!r}")
        if not isinstance(self.decontaminate, (int, float)) or not 0 <= self.decontaminate <= 1:
            raise ValueError(f"decontaminate must be in 0..1, got {self.decontaminate!r}")

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
    """A finished cut-out.

    Attributes
    ----------
    png : bytes
        The RGBA PNG.
    report : dict
        JSON-able: size, input format, time per stage.
    coarse : (R, C) ndarray of float32
        The model's raw matte; pass it back to :func:`cutout` to re-run only the
        post-processing (new strokes or options) without the model.
    """

    png: bytes
    report: dict
    coarse: np.ndarray


async def infer_coarse(rgb: np.ndarray, infer: Infer, spec: ModelSpec, clock: Clock | None = None) -> np.ndarray:
    """Run the model on ``rgb``; return its raw matte.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
    infer : async callable
        Model inference, see the module docstring.
    spec : ModelSpec

    Returns
    -------
    coarse : (R, C) ndarray of float32 in [0, 1]
        ``R, C = spec.size``.
    """
    clock = clock or Clock()
    x = to_model_input(rgb, spec)
    clock.lap("prepare")
    raw = np.asarray(await infer(x), dtype=np.float32)
    clock.lap("infer")
    rows, cols = spec.size
    if raw.size != rows * cols:
        raise ValueError(f"infer returned {raw.size} values, expected {rows}x{cols}")
    return np.clip(raw.reshape(rows, cols), 0.0, 1.0)


def matte(rgb: np.ndarray, coarse: np.ndarray, *, options: Options = Options(), strokes: np.ndarray | None = None,
          clock: Clock | None = None) -> np.ndarray:
    """Turn the model's raw matte into the final full-resolution matte.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
    coarse : (R, C) ndarray of float32 in [0, 1]
    options : Options, optional
    strokes : (m, n) ndarray of uint8, optional
        Keep (1) and remove (2) brush strokes, see :mod:`alphacut.adjust`.

    Returns
    -------
    alpha : (M, N) ndarray of float32 in [0, 1]

    Examples
    --------
    >>> a = matte(np.zeros((4, 6, 3), np.uint8), np.ones((8, 8), np.float32),
    ...           strokes=np.array([[2, 0]], np.uint8))
    >>> float(a[:, :3].max()), float(a[:, 3:].min())
    (0.0, 1.0)
    """
    clock = clock or Clock()
    alpha = refine_alpha(rgb, coarse) if options.refine else resize_alpha(coarse, rgb.shape[:2])
    clock.lap("refine" if options.refine else "upsample")
    if strokes is not None:
        alpha = apply_strokes(alpha, strokes)
    if options.shift_edge:
        alpha = shift_edge(alpha, pixels=options.shift_edge)
    if options.feather:
        alpha = feather(alpha, radius=options.feather)
    if strokes is not None:
        alpha = apply_strokes(alpha, strokes)  # strokes win over shift and feather
    clock.lap("adjust")
    return alpha


async def cutout(data: bytes, infer: Infer | None, *, options: Options = Options(), coarse: np.ndarray | None = None,
                 strokes: np.ndarray | None = None) -> Result:
    """Cut the background out of an encoded image.

    Parameters
    ----------
    data : bytes
        Encoded image (PNG, JPEG, WebP...).
    infer : async callable, or None
        Model inference, see the module docstring; not called when ``coarse`` is given.
    options : Options, optional
    coarse : (R, C) ndarray of float32, optional
        The raw matte of an earlier run on the same ``data`` (:attr:`Result.coarse`): the
        model is skipped and only the post-processing runs again.
    strokes : (m, n) ndarray of uint8, optional
        Keep (1) and remove (2) brush strokes, see :mod:`alphacut.adjust`.

    Returns
    -------
    Result
        RGBA PNG at the input's full resolution, no metadata: opaque pixels keep their
        original RGB exactly, semi-transparent ones are decontaminated (``options``);
        and a report with the size and the time per stage.

    Examples
    --------
    >>> import asyncio
    >>> from alphacut.encode import encode_png
    >>> async def everything(x):
    ...     return np.ones((1024, 1024), np.float32)
    >>> res = asyncio.run(cutout(encode_png(np.zeros((3, 5, 3), np.uint8)), everything))
    >>> res.report["width"], res.report["height"], res.report["method"]
    (5, 3, 'model')
    """
    spec = get_model(options.model)
    clock = Clock()
    img = decode(data, max_pixels=options.max_pixels)
    clock.lap("decode")
    method, reason = "model", "the model was asked for"
    if coarse is None and options.method != "model" and min(img.rgb.shape[:2]) >= 16:
        key, reason, _ = should_colour_key(img.rgb)
        if options.method == "colorkey" or key:
            method = "colour key"
            reason = "asked for" if options.method == "colorkey" else reason
            keyed, _, _ = colour_key(img.rgb)
            coarse = resize_alpha(keyed, spec.size)
            clock.lap("colour key")
    if coarse is None:
        if infer is None:
            raise ValueError("cutout needs either infer or coarse")
        coarse = await infer_coarse(img.rgb, infer, spec, clock)
    alpha = matte(img.rgb, coarse, options=options, strokes=strokes, clock=clock)
    rgb = estimate_foreground(img.rgb, alpha, amount=options.decontaminate) if options.decontaminate else img.rgb
    clock.lap("decontaminate")
    rgba = to_rgba(rgb, alpha, source_alpha=img.alpha)
    clock.lap("composite")
    png = encode_png(rgba, compress_level=options.compress_level)
    clock.lap("encode")
    quality = assess(img.rgb, alpha).to_dict()
    clock.lap("quality")
    rows, cols = img.rgb.shape[:2]
    report = {
        "width": cols,
        "height": rows,
        "input_format": img.format,
        "input_mode": img.mode,
        "frames": img.frames,
        "had_alpha": img.alpha is not None,
        "model": spec.name,
        "method": method,
        "method_reason": reason,
        "quality": quality,
        "output_bytes": len(png),
        "timings_ms": clock.ms,
    }
    return Result(png=png, report=report, coarse=coarse)

"""The browser worker's entry points (Pyodide; CPython code calls :mod:`alphacut.pipeline`).

The worker ``pyimport``s this module. Arguments are typed arrays (``Uint8Array``,
``Float32Array``) or ``None``, a JSON string of options, and ORT-web's inference as an async
JS function. Results are Python ``bytes`` (read in JS with ``getBuffer``) and JSON strings.
Nothing else crosses the boundary, and every function here also runs in CPython (the tests
call them with ``bytes`` and numpy arrays).
"""
from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from ..io.composite import over
from ..io.decode import decode
from ..io.decode import precheck as _precheck
from ..io.encode import encode_jpeg, encode_png, encode_webp
from ..matte.resize import resize_alpha
from ..pipeline import Options, cutout
from ..quality.checks import flagged_regions

EXPORT_FORMATS = ("png", "mask", "jpeg", "webp")
#: Overlay colours (RGBA) of the quality check's flagged regions, drawn in this order.
PROBLEM_COLOURS = {
    "halo": (255, 210, 0, 150),
    "spill": (255, 140, 0, 190),
    "holes": (0, 220, 255, 190),
    "fragments": (255, 0, 255, 200),
    "jagged": (255, 40, 40, 230),
}


def _bytes_of(buffer) -> bytes:
    """A JS typed array (JsProxy), or a Python bytes-like object, as bytes."""
    to_bytes = getattr(buffer, "to_bytes", None)
    return to_bytes() if to_bytes is not None else bytes(buffer)


def make_infer(js_infer):
    """Wrap an async JS ``infer(x) -> Float32Array`` as the pipeline's callable.

    The JS side reads the numpy input through ``getBuffer('f32')`` synchronously, before
    its first ``await``, and returns a ``Float32Array``.
    """

    async def infer(x: np.ndarray) -> np.ndarray:
        out = await js_infer(np.ascontiguousarray(x, dtype=np.float32))
        return np.frombuffer(_bytes_of(out), dtype=np.float32)

    return infer


async def process(data, options_json: str, js_infer=None, coarse=None, strokes=None,
                  js_hq_infer=None) -> tuple[bytes, bytes, str]:
    """Cut out one image.

    Parameters
    ----------
    data : Uint8Array or bytes
        The encoded file.
    options_json : str
        :class:`alphacut.pipeline.Options` fields, plus ``strokes_shape`` ([rows, cols]) when
        strokes are given.
    js_infer : async callable, optional
        Not called when ``coarse`` is given.
    coarse : Uint8Array or bytes, optional
        The coarse matte returned by an earlier call on the same ``data``.
    strokes : Uint8Array or bytes, optional
        Brush strokes: 0 none, 1 keep, 2 remove.
    js_hq_infer : async callable, optional
        Inference for the higher-quality second pass (default: ``js_infer``).

    Returns
    -------
    png : bytes
    coarse : bytes
        The coarse matte as a 16-bit greyscale PNG, to pass back for a re-run without the model.
        A page keeps one per photo: compressed, it takes a few hundred kB instead of 4 MB of
        float32, and 16 bits keep it to within 1e-5.
    report_json : str
    """
    opts = json.loads(options_json or "{}")
    strokes_shape = opts.pop("strokes_shape", None)
    options = Options.from_dict(opts)
    coarse_arr = None if coarse is None else coarse_from_png(_bytes_of(coarse))
    strokes_arr = None if strokes is None else _array(strokes, np.uint8, strokes_shape, "strokes")
    infer = make_infer(js_infer) if js_infer is not None else None
    hq_infer = make_infer(js_hq_infer) if js_hq_infer is not None else None
    result = await cutout(_bytes_of(data), infer, options=options, coarse=coarse_arr, strokes=strokes_arr,
                          hq_infer=hq_infer)
    return result.png, coarse_to_png(result.coarse), json.dumps(result.report)


#: The made-up photo :func:`warm_up` cuts out, (rows, cols): about a photo's working size.
WARM_UP_SIZE = (600, 800)


async def warm_up() -> str:
    """Cut out a made-up photo once, with the model's output replaced by its known matte.

    The first real photo otherwise pays for first calls: modules imported on first use (Pillow's
    image plugins) and the browser's first, slower compilation of the WebAssembly that runs. In
    Pyodide under Node the first 2 MP cut-out's stages other than inference took 1.2-1.6 s
    without it and 0.75-1.0 s after it (BENCHMARKS.md, "Start-up: a warm-up while the page is
    idle"). The page asks for it once Python and the model are ready and no photo waits.

    Returns
    -------
    str
        The made-up cut-out's report, as JSON.
    """
    rows, cols = WARM_UP_SIZE
    r, c = np.mgrid[:rows, :cols].astype(np.float32)
    alpha = np.clip(0.3 * rows + 0.5 - np.hypot(r - rows / 2, c - cols / 2), 0, 1)  # a disc, 1-px edge
    rng = np.random.default_rng(0)
    subject = np.array([200, 120, 60], np.float32) + rng.normal(0, 12, (rows, cols, 3)).astype(np.float32)
    backdrop = np.stack([40 + 100 * c / cols, 90 + 60 * r / rows, np.full_like(r, 150)], axis=2)
    rgb = np.clip(np.rint(alpha[..., None] * subject + (1 - alpha[..., None]) * backdrop), 0, 255).astype(np.uint8)
    coarse = resize_alpha(alpha.astype(np.float32), (1024, 1024))  # the squashed matte the model would give

    async def infer(x: np.ndarray) -> np.ndarray:
        return coarse

    res = await cutout(encode_jpeg(rgb), infer)
    return json.dumps(res.report)


def coarse_to_png(coarse: np.ndarray) -> bytes:
    """A coarse matte, (R, C) float in [0, 1], as a 16-bit greyscale PNG.

    >>> a = np.array([[0.0, 0.25], [1.0, 0.123456]], np.float32)
    >>> float(np.abs(coarse_from_png(coarse_to_png(a)) - a).max()) < 1e-5
    True
    """
    q = np.round(np.clip(coarse, 0, 1) * 65535).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(q).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def coarse_from_png(data: bytes) -> np.ndarray:
    """The inverse of :func:`coarse_to_png`: (R, C) float32 in [0, 1]."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as e:
        raise ValueError(f"coarse: not a matte from an earlier result ({e})") from None
    if img.mode not in ("I;16", "I"):
        raise ValueError(f"coarse: expected a 16-bit greyscale PNG, got mode {img.mode}")
    return np.asarray(img, np.float32) / 65535


def _array(buffer, dtype, shape, name: str) -> np.ndarray:
    arr = np.frombuffer(_bytes_of(buffer), dtype=dtype)
    if not shape or len(shape) != 2 or arr.size != shape[0] * shape[1]:
        raise ValueError(f"{name}: {arr.size} values do not fit the shape {shape}")
    return arr.reshape(shape)


def export(png, fmt: str, background_json: str = "null", background_image=None) -> bytes:
    """Turn a cut-out PNG into another output.

    Parameters
    ----------
    png : Uint8Array or bytes
        An RGBA PNG from :func:`process`.
    fmt : {'png', 'mask', 'jpeg', 'webp'}
        ``png``: the cut-out itself; ``mask``: the alpha as an 8-bit greyscale PNG;
        ``jpeg``/``webp``: flattened over the background.
    background_json : str
        ``[r, g, b]`` for a colour (default white), used when ``background_image`` is None.
    background_image : Uint8Array or bytes, optional
        An encoded image, scaled to cover the cut-out.

    Examples
    --------
    >>> px = encode_png(np.array([[[10, 20, 30, 0], [10, 20, 30, 255]]], np.uint8))
    >>> from PIL import Image
    >>> Image.open(io.BytesIO(export(px, "mask"))).mode
    'L'
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    img = decode(_bytes_of(png))
    if fmt == "png":
        return _bytes_of(png)
    if fmt == "mask":
        if img.alpha is None:
            raise ValueError("the image has no alpha channel to export as a mask")
        return encode_png(img.alpha, compress_level=6)
    alpha = img.alpha if img.alpha is not None else np.full(img.rgb.shape[:2], 255, np.uint8)
    rgba = np.dstack([img.rgb, alpha])
    if background_image is not None:
        bg = decode(_bytes_of(background_image))
        background, same_space = bg.rgb, bg.icc == img.icc
    else:
        background = tuple(json.loads(background_json) or (255, 255, 255))
        same_space = len(set(background)) == 1 and background[0] in (0, 255)
    # The photo's profile goes with the result only where the background means the same colour
    # in it: white, black, or an image in the same colour space. A colour the page picked (sRGB)
    # would read as another colour there, and nothing here can convert it: the result is then
    # untagged, as the background was meant.
    icc = img.icc if same_space else None
    flat = over(rgba, background)
    return encode_jpeg(flat, icc=icc) if fmt == "jpeg" else encode_webp(flat, icc=icc)


def precheck(head, size: int) -> str:
    """Refuse a file from its size and first bytes before the page reads it whole
    (:func:`alphacut.io.decode.precheck`; the page decodes AVIF itself, so an AVIF is checked for
    its declared pixels, not refused).

    Returns ``"AVIF"`` or ``""``; raises `DecodeError` with the reason.

    Examples
    --------
    >>> precheck(b"%PDF-1.4", 5000)
    Traceback (most recent call last):
    alphacut.io.decode.DecodeError: PDF documents are not images: export the page as PNG or JPEG first
    """
    return _precheck(_bytes_of(head), int(size), browser_avif=True)


def problems(data, png) -> bytes:
    """Where the quality check found problems, as an RGBA overlay PNG.

    Parameters
    ----------
    data : Uint8Array or bytes
        The original file (for the colour spill check).
    png : Uint8Array or bytes
        The cut-out from :func:`process`.

    Returns
    -------
    bytes
        An RGBA PNG at the check's working resolution (long side at most 1024; the page scales
        it over the photo): each flagged region in its :data:`PROBLEM_COLOURS` colour, the rest
        transparent.

    Examples
    --------
    >>> rgba = np.zeros((40, 40, 4), np.uint8); rgba[5:35, 5:35] = 255; rgba[1, 1, 3] = 255
    >>> out = np.asarray(Image.open(io.BytesIO(problems(encode_png(rgba[..., :3]), encode_png(rgba)))))
    >>> out.shape, out[1, 1].tolist(), int(out[20, 20, 3])
    ((40, 40, 4), [255, 0, 255, 200], 0)
    """
    rgb = decode(_bytes_of(data)).rgb
    cut = Image.open(io.BytesIO(_bytes_of(png)))
    if cut.mode != "RGBA" or cut.size != (rgb.shape[1], rgb.shape[0]):
        raise ValueError("problems: the cut-out must be an RGBA PNG of the same size as the original")
    alpha = np.asarray(cut.getchannel("A"), np.float32) / 255
    masks = flagged_regions(alpha, image=rgb)
    shape = masks["halo"].shape
    out = np.zeros(shape + (4,), np.uint8)
    for name, colour in PROBLEM_COLOURS.items():
        out[masks[name]] = colour
    return encode_png(out)


def merge_edit(original, edited, options_json: str = "{}", protect=None, force=None) -> tuple[bytes, bytes, bytes, str]:
    """Edit merge (see :mod:`alphacut.editmerge`): keep an AI edit only where it landed.

    Parameters
    ----------
    original, edited : Uint8Array or bytes
        Encoded images.
    options_json : str
        :class:`alphacut.editmerge.MergeOptions` fields (``include_regions`` and
        ``exclude_regions`` take ids from the report's ``region_candidates``).
    protect, force : Uint8Array or bytes, optional
        Brushes as encoded PNGs, painted where their alpha is above half.

    Returns
    -------
    composite_png, mask_png : bytes
    labels_png : bytes
        The candidate regions by id at the analysis size (0: none), for clicking a region in or out.
    report_json : str
    """
    from ..editmerge.merge import merge_edit_labels_bytes

    composite, mask, labels, report = merge_edit_labels_bytes(
        _bytes_of(original), _bytes_of(edited), json.loads(options_json or "{}"),
        None if protect is None else _bytes_of(protect), None if force is None else _bytes_of(force))
    return composite, mask, labels, json.dumps(report)

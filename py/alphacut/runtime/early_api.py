"""The browser worker's entry points that need no SciPy: usable while SciPy is still loading.

At a cold start the worker loads numpy, Pillow and this package first, then SciPy and the rest of
the pipeline (:mod:`.worker_api`). In between, the first photo's file can be checked
(:func:`precheck`) and its model input made (:func:`model_input`), so that the model runs while
SciPy loads. The same types cross the boundary as in :mod:`.worker_api`; every function here
also runs in CPython.

This module imports only numpy, Pillow and the standard library (``tests/runtime`` checks it), as
does everything it imports: ``tools/deps.py`` (``BEFORE_INFERENCE``) lists the packages the worker
loads first, and the two must agree.
"""
from __future__ import annotations

import numpy as np

from ..io.decode import decode
from ..io.decode import precheck as _precheck
from ..matte.prepare import to_model_input
from ..models import get_model

__all__ = ["bytes_of", "model_input", "precheck"]


def bytes_of(buffer) -> bytes:
    """A JS typed array (JsProxy), or a Python bytes-like object, as bytes."""
    to_bytes = getattr(buffer, "to_bytes", None)
    return to_bytes() if to_bytes is not None else bytes(buffer)


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
    return _precheck(bytes_of(head), int(size), browser_avif=True)


def model_input(data) -> np.ndarray | None:
    """The model's input for an encoded photo, as the pipeline's first pass makes it with the
    default options (the squashed photo, :func:`alphacut.matte.prepare.to_model_input`).

    The worker runs the model on it while the rest of the pipeline loads, and hands the result
    to the pipeline only if the pipeline then asks for exactly this input (it compares them), so
    a photo cut out with other options is still right, only not sooner.

    Returns
    -------
    (1, 3, R, C) ndarray of float32, or None
        None if the photo cannot be decoded: the pipeline then says why.

    Examples
    --------
    >>> from alphacut.io.encode import encode_png
    >>> model_input(encode_png(np.zeros((4, 6, 3), np.uint8))).shape
    (1, 3, 1024, 1024)
    >>> model_input(b"not an image") is None
    True
    """
    try:
        rgb = decode(bytes_of(data)).rgb
    except Exception:  # noqa: BLE001 - any failure: the pipeline decodes again and reports it
        return None
    return to_model_input(rgb, get_model())

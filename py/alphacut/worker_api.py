"""The browser worker's entry point (Pyodide only; CPython code calls :mod:`alphacut.pipeline`).

The worker ``pyimport``s this module and calls :func:`process` with the file's bytes (a
``Uint8Array``), the options as a JSON string, and ORT-web's inference as an async JS
function. It gets back ``(png, report_json)``: the PNG as Python ``bytes`` (read in JS with
``getBuffer``) and the report as a JSON string. Nothing else crosses the boundary.
"""
from __future__ import annotations

import json

import numpy as np

from .pipeline import Options, cutout


def _bytes_of(buffer) -> bytes:
    """A JS typed array (JsProxy) or Python bytes-like, as bytes."""
    to_bytes = getattr(buffer, "to_bytes", None)
    return to_bytes() if to_bytes is not None else bytes(buffer)


def make_infer(js_infer):
    """Wrap an async JS ``infer(Float32Array-like) -> Float32Array`` as the pipeline's callable.

    The JS side reads the numpy input through ``getBuffer('f32')`` synchronously, before
    its first ``await``, and returns a ``Float32Array``.
    """

    async def infer(x: np.ndarray) -> np.ndarray:
        out = await js_infer(np.ascontiguousarray(x, dtype=np.float32))
        return np.frombuffer(_bytes_of(out), dtype=np.float32)

    return infer


async def process(data, options_json: str, js_infer) -> tuple[bytes, str]:
    """Cut out one image. See the module docstring for the types.

    Errors raise ``ValueError`` subclasses with a user-facing message.
    """
    options = Options.from_dict(json.loads(options_json or "{}"))
    result = await cutout(_bytes_of(data), make_infer(js_infer), options=options)
    return result.png, json.dumps(result.report)

"""Turn an RGB image into the model's input tensor."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..models import ModelSpec


def to_model_input(rgb: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Squash ``rgb`` to the model's input size and normalise it as the manifest says.

    Parameters
    ----------
    rgb : (M, N, 3) ndarray of uint8
    spec : ModelSpec

    Returns
    -------
    x : (1, 3, R, C) ndarray of float32
        ``R, C = spec.size``; channels RGB, ``(x / scale - mean) / std``.

    Examples
    --------
    >>> from alphacut.models import get_model
    >>> x = to_model_input(np.full((5, 7, 3), 255, np.uint8), get_model("isnet"))
    >>> x.shape, x.dtype, float(x.max())
    ((1, 3, 1024, 1024), dtype('float32'), 0.5)
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (M, N, 3) uint8, got {rgb.shape} {rgb.dtype}")
    rows, cols = spec.size
    small = np.asarray(Image.fromarray(rgb).resize((cols, rows), Image.BILINEAR))
    mean = np.asarray(spec.mean, np.float32) * spec.scale
    inv = 1.0 / (np.asarray(spec.std, np.float32) * spec.scale)
    # One plane at a time, straight from the uint8 pixels into the planar tensor: the same
    # float32 arithmetic as on the whole (H, W, 3) array, without its float copy and transpose
    # (under half the time in wasm).
    x = np.empty((1, 3, rows, cols), np.float32)
    for c in range(3):
        np.subtract(small[..., c], mean[c], out=x[0, c], dtype=np.float32)
        x[0, c] *= inv[c]
    return x

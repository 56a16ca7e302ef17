"""ONNX Runtime inference for CPython (the ``onnxruntime`` extra)."""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from .models import get_model


def cache_dir() -> Path:
    """Where verified downloads and prepared models live: ``$ALPHACUT_CACHE`` or ``~/.cache/alphacut``."""
    return Path(os.environ.get("ALPHACUT_CACHE") or Path.home() / ".cache" / "alphacut")


def default_model_path(name: str = "isnet", variant: str = "fp32") -> Path:
    """Path of the prepared graph that ``make build`` wrote to the cache for ``name``/``variant``."""
    variants = get_model(name).variants
    if variant not in variants:
        raise ValueError(f"model {name!r} has no variant {variant!r}; known: {', '.join(variants)}")
    return cache_dir() / "models" / variants[variant]["file"]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class OrtInfer:
    """An async ``infer`` callable backed by an onnxruntime session.

    Parameters
    ----------
    path : path-like
        The prepared .onnx file.
    name : str, optional
        Model manifest name, for the tensor names.
    threads : int, optional
        Intra-op threads; 0 lets onnxruntime choose.
    """

    def __init__(self, path, *, name: str = "isnet", threads: int = 0):
        import onnxruntime as ort

        self.spec = get_model(name)
        self.path = Path(path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])

    async def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.run(x)

    @functools.cached_property
    def graph_sha256(self) -> str:
        """sha256 of the graph file (computed on first use): what a cache of outputs is keyed by."""
        return sha256_file(self.path)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Synchronous inference: ``(1, 3, R, C) float32 -> (R, C) float32``."""
        (out,) = self._session.run([self.spec.output_name], {self.spec.input_name: x})
        return out.reshape(out.shape[-2:])

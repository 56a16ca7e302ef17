"""ONNX Runtime inference for CPython (the ``onnxruntime`` extra)."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..fetch import cache_dir, sha256_file
from ..models import get_model

__all__ = ["DEVICES", "OrtInfer", "cache_dir", "default_model_path", "providers_for", "sha256_file"]

#: ``--device`` choices and the onnxruntime execution provider each one asks for.
DEVICES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "coreml": "CoreMLExecutionProvider",
           "directml": "DmlExecutionProvider"}


def providers_for(device: str, available: list[str]) -> list[str]:
    """The execution providers to ask onnxruntime for, CPU last as the fallback.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "coreml", "directml"}
        ``auto`` takes the first GPU provider that ``available`` offers, else the CPU.
    available : list of str
        ``onnxruntime.get_available_providers()``.

    Raises
    ------
    ValueError
        ``device`` is unknown, or its provider is not in ``available`` (the message lists them).

    Examples
    --------
    >>> providers_for("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])
    ['CUDAExecutionProvider', 'CPUExecutionProvider']
    >>> providers_for("auto", ["CPUExecutionProvider"])
    ['CPUExecutionProvider']
    >>> providers_for("cuda", ["AzureExecutionProvider", "CPUExecutionProvider"])
    Traceback (most recent call last):
    ...
    ValueError: --device cuda needs onnxruntime's CUDAExecutionProvider, which this onnxruntime does not offer (it offers: AzureExecutionProvider, CPUExecutionProvider); install onnxruntime-gpu for CUDA, or use --device cpu
    """
    if device == "auto":
        gpus = [DEVICES[d] for d in ("cuda", "coreml", "directml") if DEVICES[d] in available]
        return gpus[:1] + ["CPUExecutionProvider"]
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; known: auto, {', '.join(DEVICES)}")
    if DEVICES[device] not in available:
        hint = {"cuda": "install onnxruntime-gpu for CUDA", "directml": "install onnxruntime-directml",
                "coreml": "CoreML needs onnxruntime on macOS"}.get(device, "reinstall onnxruntime")
        raise ValueError(f"--device {device} needs onnxruntime's {DEVICES[device]}, which this onnxruntime does not "
                         f"offer (it offers: {', '.join(available)}); {hint}, or use --device cpu")
    return list(dict.fromkeys([DEVICES[device], "CPUExecutionProvider"]))


def default_model_path(name: str = "isnet", variant: str = "fp32") -> Path:
    """Path of the prepared graph that ``make build`` wrote to the cache for ``name``/``variant``."""
    variants = get_model(name).variants
    if variant not in variants:
        raise ValueError(f"model {name!r} has no variant {variant!r}; known: {', '.join(variants)}")
    return cache_dir() / "models" / variants[variant]["file"]


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
    providers : list of str, optional
        Execution providers in order of preference (:func:`providers_for`); default the CPU.
    """

    def __init__(self, path, *, name: str = "isnet", threads: int = 0, providers: list[str] | None = None):
        import onnxruntime as ort

        self.spec = get_model(name)
        self.path = Path(path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), sess_options=so, providers=providers or ["CPUExecutionProvider"])

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

"""What the benchmarks share: the matting metrics, the cached model outputs and BENCHMARKS.md sections.

- Metrics (DIM conventions, alpha in [0, 1]): SAD = Σ|p−g|/1000, MSE×1000, Grad = Σ(|∇Gσ p|−|∇Gσ g|)²/1000
  with σ = 1.4 (scipy's Gaussian gradient magnitude).
- Model outputs are cached in ``$ALPHACUT_CACHE/bench/``, keyed by the photo's pixels, the graph
  file's sha256 and the input geometry.
- Each benchmark owns one section of BENCHMARKS.md, between its two HTML comment markers.
- rembg, where it is compared, runs our graph from a copy in its model folder (``rembg_model``).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
from scipy import ndimage

from alphacut.matte.prepare import to_model_input
from alphacut.matte.refine import letterbox
from alphacut.models import get_model
from alphacut.runtime.ort_backend import OrtInfer, cache_dir


def sad(p: np.ndarray, g: np.ndarray) -> float:
    """Sum of absolute differences of the matte ``p`` from the ground truth ``g``, over 1000."""
    return float(np.abs(p.astype(np.float64) - g.astype(np.float64)).sum() / 1000)


def grad(p: np.ndarray, g: np.ndarray) -> float:
    """Gradient error: Σ(|∇Gσ p| − |∇Gσ g|)² / 1000, σ = 1.4."""
    gp = ndimage.gaussian_gradient_magnitude(p.astype(np.float64), 1.4)
    gg = ndimage.gaussian_gradient_magnitude(g.astype(np.float64), 1.4)
    return float(((gp - gg) ** 2).sum() / 1000)


def metrics(p: np.ndarray, g: np.ndarray) -> tuple[float, float, float]:
    """``(SAD, MSE×1000, Grad)`` of the matte ``p`` against the ground truth ``g``."""
    mse = float(((p.astype(np.float64) - g.astype(np.float64)) ** 2).mean() * 1000)
    return sad(p, g), mse, grad(p, g)


def model_output(rgb: np.ndarray, infer: OrtInfer, geometry: str = "squash") -> np.ndarray:
    """The model's raw matte for ``rgb`` (squashed or letterboxed input), cached on disk."""
    key = hashlib.sha256(rgb.tobytes()).hexdigest()[:24] + "-" + infer.graph_sha256[:12]
    path = cache_dir() / "bench" / (f"{key}.npy" if geometry == "squash" else f"{key}-{geometry}.npy")
    if path.exists():
        return np.load(path)
    x = to_model_input(rgb if geometry == "squash" else letterbox(rgb), get_model())
    out = infer.run(x)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def rembg_model(graph: Path, home: Path) -> Path:
    """``graph`` copied into rembg's model folder ``home`` (its U2NET_HOME), once; returns the copy.
    rembg 2.0.86 loads a custom model (``-m dis_custom``) only from inside that folder."""
    model = home / graph.name
    if not model.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(graph, model)
    return model


def write_section(path: Path, text: str, begin: str, end: str, heading: str) -> None:
    """Put ``text`` between the markers ``begin`` and ``end`` in ``path``; append it under ``heading``
    (a markdown heading line) if the markers are not there yet."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{text}\n{end}"
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + f"\n\n{heading}\n\n" + block + "\n"
    path.write_text(new)

"""Model facts, read from the manifests in ``models/`` (shipped inside the package)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class ModelSpec:
    """What the pipeline needs to know about a matting model.

    Attributes
    ----------
    name : str
        Manifest name, e.g. ``"isnet"``.
    input_name, output_name : str
        Graph tensor names.
    size : tuple of int
        ``(rows, cols)`` of the model input.
    scale : float
        Pixels are divided by this before normalisation.
    mean, std : tuple of float
        Per-channel (R, G, B) normalisation: ``(x / scale - mean) / std``.
    variants : dict
        Prepared graph files: ``{variant: {"file", "sha256", "size", ...}}``.
    """

    name: str
    input_name: str
    output_name: str
    size: tuple[int, int]
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    variants: dict


def available_models() -> list[str]:
    """Names of the models with a manifest.

    >>> "isnet" in available_models()
    True
    """
    folder = resources.files("alphacut") / "manifests"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_manifest(name: str) -> dict:
    """Return the raw manifest of model ``name``; raise ``ValueError`` if there is none.

    >>> load_manifest("isnet")["input"]["name"]
    'input'
    """
    if name not in available_models():
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    text = (resources.files("alphacut") / "manifests" / f"{name}.json").read_text()
    return json.loads(text)


def get_model(name: str = "isnet") -> ModelSpec:
    """Return the :class:`ModelSpec` of model ``name``.

    >>> spec = get_model("isnet")
    >>> spec.size
    (1024, 1024)
    >>> get_model("nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'nope'; available: isnet
    """
    m = load_manifest(name)
    inp, out = m["input"], m["output"]
    n, c, rows, cols = inp["shape"]
    if (n, c) != (1, 3) or inp["layout"] != "NCHW" or inp["channels"] != "RGB":
        raise ValueError(f"model {name!r}: unsupported input layout {inp['shape']} {inp['layout']}")
    return ModelSpec(
        name=m["name"],
        input_name=inp["name"],
        output_name=out["name"],
        size=(rows, cols),
        scale=float(inp["scale"]),
        mean=tuple(float(v) for v in inp["mean"]),
        std=tuple(float(v) for v in inp["std"]),
        variants=m.get("variants", {}),
    )

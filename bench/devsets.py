"""Dev sets with ground-truth alpha, the metrics, the peer-equivalent baseline and cached model outputs.

One place for what every quality benchmark shares:

- A dev set is a folder with ``image/`` (PNG or JPEG photos) and ``alpha/`` (8-bit grey PNG, same
  size, same stem); an optional ``manifest.json`` lists each photo's category and source
  (``{"images": [{"id", "category", "source_repo", ...}]}``). The sets live outside the repository
  (``../shared/data/<name>``), are read in place and never copied in.
- Folds: each photo's id is hashed (sha256) into one of three parts: ``tune-a`` and ``tune-b``
  (the two cross-validation folds) and ``final`` (untouched while tuning, reported at the end).
- The metrics and the cached model outputs are :mod:`common`'s, imported from here too.
- The peer-equivalent baseline (facts.md): squash to 1024², uint8-truncated output, bilinear upsample.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
from .common import metrics, model_output  # noqa: F401  (the dev-set benchmarks import them from here)

DATA_ROOT = ROOT.parent / "shared" / "data"
#: The dev sets ``make bench-quality`` reads by default, by folder name under ``DATA_ROOT``.
DEFAULT_SETS = ("alphamatting27", "realmask", "ecssd60")
FOLDS = ("tune-a", "tune-b", "final")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class Photo:
    """One dev photo: its id, category, fold, pixels and ground truth (loaded on demand)."""

    set: str
    id: str
    category: str
    image_path: Path
    alpha_path: Path
    source: str = ""

    group: str = ""
    fold: str = field(init=False)

    def __post_init__(self):
        # Photos of one subject (Carvana: views of one car) share a fold, so no fold sees another's car.
        self.fold = fold_of(f"{self.set}/{self.group or self.id}")

    def load(self, max_pixels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(rgb uint8, gt float32 in [0, 1])``; shrunk (box filter) when over ``max_pixels``."""
        img = ImageOps.exif_transpose(Image.open(self.image_path)).convert("RGB")
        gt = Image.open(self.alpha_path).convert("L")
        if gt.size != img.size:
            raise ValueError(f"{self.set}/{self.id}: alpha {gt.size} != image {img.size}")
        if max_pixels and img.width * img.height > max_pixels:
            k = (max_pixels / (img.width * img.height)) ** 0.5
            size = (max(1, round(img.width * k)), max(1, round(img.height * k)))
            img, gt = img.resize(size, Image.BOX), gt.resize(size, Image.BOX)
        return np.asarray(img), np.asarray(gt, np.float32) / 255


def fold_of(key: str) -> str:
    """The fold a photo belongs to, from a hash of its ``set/id`` (stable across machines).

    >>> fold_of("alphamatting27/GT01") in FOLDS
    True
    """
    return FOLDS[int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3]


def load_set(path: Path) -> list[Photo]:
    """The photos of the dev set at ``path`` (sorted by id); raises FileNotFoundError when absent."""
    path = Path(path)
    if not (path / "image").is_dir() or not (path / "alpha").is_dir():
        raise FileNotFoundError(f"no dev set at {path} (expects image/ and alpha/ folders)")
    meta = {}
    if (path / "manifest.json").is_file():
        doc = json.loads((path / "manifest.json").read_text())
        entries = (doc.get("images") or doc.get("items") or []) if isinstance(doc, dict) else doc
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, dict) and ("id" in e or "name" in e):
                meta[str(e.get("id") or Path(e["name"]).stem)] = e
    photos = []
    for img in sorted(p for p in (path / "image").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        alpha = path / "alpha" / f"{img.stem}.png"
        if not alpha.is_file():
            continue
        e = meta.get(img.stem, {})
        cat = e.get("category") or "matting" if path.name == "alphamatting27" else e.get("category", "other")
        group = e.get("group") or (img.stem.rsplit("_", 1)[0] if img.stem.startswith("Carvana_") else "")
        photos.append(Photo(path.name, img.stem, str(cat), img, alpha, str(e.get("source_repo", "")), str(group)))
    if not photos:
        raise FileNotFoundError(f"no image/alpha pairs in {path}")
    return photos


def peer_baseline(raw: np.ndarray, shape) -> np.ndarray:
    """The peer's output matte: the squashed inference truncated to uint8, upsampled bilinearly."""
    u8 = np.floor(np.clip(raw, 0, 1) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(u8).resize(shape[::-1], Image.BILINEAR), np.float32) / 255


def ratio_summary(scores: np.ndarray, base: np.ndarray) -> dict:
    """Ratios of a method's per-photo ``(SAD, MSE, Grad)`` rows to the baseline's.

    Mean ratios are ratios of means (as the issue's tables are); ``worse10``/``worse25`` count photos
    whose SAD is more than 1.10×/1.25× their own baseline's; ``worst`` is the index of the highest.
    """
    per = scores[:, 0] / np.maximum(base[:, 0], 1e-9)
    return {"sad": scores[:, 0].mean() / base[:, 0].mean(), "mse": scores[:, 1].mean() / base[:, 1].mean(),
            "grad": scores[:, 2].mean() / base[:, 2].mean(), "worse10": int((per > 1.10).sum()),
            "worse25": int((per > 1.25).sum()), "worst": int(np.argmax(per)), "worst_ratio": float(per.max()),
            "n": len(per)}

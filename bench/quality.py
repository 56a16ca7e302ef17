"""Matting quality on a dataset with ground-truth alpha (CPython), and the cost of the stages.

Rows: the peer-equivalent baseline (squash to 1024², uint8-truncated output, bilinear upsample,
as facts.md describes), float bilinear, each stage alone (letterbox input, guided-filter
refinement, choosing the less-hedged of a squashed and a letterboxed inference), their
combinations, and with --pymatting a closed-form matting comparator (pymatting, CPython only) on a
trimap cut from the refined matte. Metrics
(DIM conventions, alpha in [0, 1]): SAD = Σ|p−g|/1000, MSE×1000, Grad = Σ(|∇Gσ p|−|∇Gσ g|)²/1000
with σ = 1.4. Also a decontamination benchmark, and the time of refinement and decontamination
on a 12 MP photo.

Usage: python -m bench.quality [--data DIR] [--model PATH] [--pymatting] [--write BENCHMARKS.md]
Model outputs are cached in $ALPHACUT_CACHE/bench/, keyed by the image's sha256, the graph
file's sha256 and the input geometry. The ms/image column is the post-processing only (the model outputs are cached).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from alphacut.matte.decontaminate import estimate_foreground
from alphacut.models import get_model
from alphacut.pipeline import find_matte
from alphacut.runtime.ort_backend import OrtInfer, cache_dir, default_model_path
from alphacut.matte.prepare import to_model_input
from alphacut.matte.refine import hedging, letterbox, letterbox_box, refine_alpha
from alphacut.matte.resize import resize_alpha

from .devsets import metrics, model_output, peer_baseline  # noqa: F401
from .speed import machine, write_section

ROOT = Path(__file__).resolve().parent.parent

BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"
BACKGROUNDS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0), "white": (255, 255, 255),
               "black": (0, 0, 0)}


def less_hedged(rgb, sq, lb):
    """(geometry, matte) of the inference that hedges less (alphacut.matte.refine.hedging)."""
    if hedging(lb, rgb.shape, geometry="letterbox") < hedging(sq, rgb.shape, geometry="squash"):
        return "letterbox", lb
    return "squash", sq


def bilinear(rgb, matte, geometry):
    """The model's matte, cropped to the photo (letterbox) and resized bilinearly: no refinement."""
    if geometry == "letterbox":
        top, left, rows, cols = letterbox_box(rgb.shape, size=matte.shape[0])
        matte = matte[top : top + rows, left : left + cols]
    return resize_alpha(matte, rgb.shape[:2])


def refined_less_hedged(rgb, sq, lb):
    geometry, matte = less_hedged(rgb, sq, lb)
    return refine_alpha(rgb, matte, geometry=geometry)


def closed_form_comparator(rgb, sq, lb):
    """pymatting closed-form matting on a trimap cut from the refined matte (CPython comparator)."""
    from pymatting import estimate_alpha_cf

    alpha = refined_less_hedged(rgb, sq, lb)
    fg = ndimage.binary_erosion(alpha > 0.95, iterations=3)
    bg = ndimage.binary_erosion(alpha < 0.05, iterations=3)
    if not fg.any() or not bg.any():
        return alpha  # nothing certain to propagate from
    trimap = np.where(fg, 1.0, np.where(bg, 0.0, 0.5))
    return np.clip(estimate_alpha_cf(rgb / 255.0, trimap), 0, 1).astype(np.float32)


DEFAULT_ROW = "**default** (find_matte): the model's matte as anchor; when the check is not good, the letterboxed pass in its band and refinement"


def infer_seconds(infer: OrtInfer, repeat: int = 3) -> float:
    """Median wall time of one native inference at the model's input size."""
    x = np.zeros((1, 3) + tuple(get_model().size), np.float32)
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        infer.run(x)
        out.append(time.perf_counter() - t)
    return float(np.median(out))


def default_pipeline(rgb, sq, lb):
    """What ships (alphacut.pipeline.find_matte with default options): the squashed inference,
    refined; when the quality check is not good, the letterboxed one too, keeping the better."""
    outputs = iter([sq, lb])  # the pipeline asks for the squashed input first, then the letterboxed

    async def infer(x):
        return next(outputs)

    m = asyncio.run(find_matte(rgb, infer))
    default_pipeline.escalated += m.escalation["ran"]
    default_pipeline.kept_second += m.escalation.get("kept") == "second"
    return m.alpha


default_pipeline.escalated = default_pipeline.kept_second = 0


METHODS = {
    "peer-equivalent baseline": lambda rgb, sq, lb: peer_baseline(sq, rgb.shape[:2]),
    "bilinear, float (no truncation)": lambda rgb, sq, lb: bilinear(rgb, sq, "squash"),
    "refine alone (squash input, guided filter)": lambda rgb, sq, lb: refine_alpha(rgb, sq),
    "letterbox alone (bilinear)": lambda rgb, sq, lb: bilinear(rgb, lb, "letterbox"),
    "less-hedged of squash/letterbox alone (2 inferences, bilinear)":
        lambda rgb, sq, lb: bilinear(rgb, *less_hedged(rgb, sq, lb)[::-1]),
    "letterbox + refine (1 inference)": lambda rgb, sq, lb: refine_alpha(rgb, lb, geometry="letterbox"),
    "less-hedged + refine (2 inferences)": refined_less_hedged,
    DEFAULT_ROW: default_pipeline,
}


def decontamination_rows(images):
    """Banded, alpha-weighted foreground colour error (0-255 units) with decontamination off and on."""
    rows = []
    for bg_name in list(BACKGROUNDS) + ["busy photo"]:
        off, on = [], []
        for i, (rgb, gt) in enumerate(images):
            f_ref = estimate_foreground(rgb, gt).astype(np.float32)  # foreground colours from the GT alpha
            if bg_name == "busy photo":
                other = images[(i + 1) % len(images)][0]
                bg = np.asarray(Image.fromarray(other).resize(rgb.shape[1::-1]), np.float32)
            else:
                bg = np.asarray(BACKGROUNDS[bg_name], np.float32)
            a = gt[..., None]
            comp = np.clip(np.rint(a * f_ref + (1 - a) * bg), 0, 255).astype(np.uint8)
            band = (gt > 0.02) & (gt < 0.98)
            w = gt[band][:, None]
            est = estimate_foreground(comp, gt).astype(np.float32)
            off.append(float((w * np.abs(comp[band] - f_ref[band])).sum() / (w.sum() * 3)))
            on.append(float((w * np.abs(est[band] - f_ref[band])).sum() / (w.sum() * 3)))
        rows.append((bg_name, np.mean(off), np.mean(on)))
    return rows


def timing_12mp(images, infer, repeats: int = 5) -> dict:
    """Post-processing of a 12 MP photo (the first image, upscaled): median seconds over ``repeats``
    runs, with the load average, then each step's peak extra memory in bytes per pixel (tracemalloc:
    numpy's allocations, not Pillow's; each step's own output included). The photo's matte is its
    GT alpha squashed to 1024², as before, and also the model's own matte (hazier: more soft pixels)."""
    import os
    import tracemalloc

    rgb = np.asarray(Image.fromarray(images[0][0]).resize((4000, 3000), Image.BICUBIC))
    mattes = {"gt": resize_alpha(images[0][1], (1024, 1024)), "model": model_output(images[0][0], infer)}
    out = {"load": os.getloadavg()[0]}
    for name, raw in mattes.items():
        runs = {"bilinear upsample": [], "refine": [], "decontaminate": []}
        for _ in range(repeats):
            t = time.perf_counter()
            resize_alpha(raw, rgb.shape[:2])
            runs["bilinear upsample"].append(time.perf_counter() - t)
            t = time.perf_counter()
            alpha = refine_alpha(rgb, raw)
            runs["refine"].append(time.perf_counter() - t)
            t = time.perf_counter()
            estimate_foreground(rgb, alpha)
            runs["decontaminate"].append(time.perf_counter() - t)
        out[name] = {k: float(np.median(v)) for k, v in runs.items()}
        out[name]["soft"] = float(((alpha > 0) & (alpha < 1)).mean())
    out["load"] = (out["load"] + os.getloadavg()[0]) / 2
    pixels = rgb.shape[0] * rgb.shape[1]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    alpha = refine_alpha(rgb, mattes["gt"])
    out["refine B/px"] = (tracemalloc.get_traced_memory()[1] - before) / pixels
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    estimate_foreground(rgb, alpha)
    out["decontaminate B/px"] = (tracemalloc.get_traced_memory()[1] - before) / pixels
    tracemalloc.stop()
    return out


def variant_rows(images, names, fp32_scores, infer, t_infer, model_arg) -> list[str]:
    """The default pipeline with each other prepared graph variant, against the fp32 graph's scores."""
    if model_arg is not None:
        return ["(Model variants: not compared, a --model was given.)"]
    ref = np.array(fp32_scores)
    lines = [f"**Model variants** (the default row, each graph; `{infer.path.name}` is the reference above; "
             "target for the shipped default: SAD within 2% of fp32's):", "",
             "| variant | SAD | MSE×1000 | Grad | SAD vs fp32 | worst image SAD vs fp32 | native s/inference |",
             "|---|---|---|---|---|---|---|",
             f"| fp32 | {ref[:, 0].mean():.2f} | {ref[:, 1].mean():.2f} | {ref[:, 2].mean():.3f} | 1.000× | 1.00× | "
             f"{t_infer:.2f} |"]
    for name in get_model().variants:
        path = default_model_path(variant=name)
        if path == infer.path:
            continue
        if not path.is_file():
            lines.append(f"| {name} | missing: run `make deps` | | | | | |")
            continue
        other = OrtInfer(path)
        s = np.array([metrics(default_pipeline(rgb, model_output(rgb, other), model_output(rgb, other, "letterbox")), gt)
                      for rgb, gt in images])
        worst = int(np.argmax(s[:, 0] / ref[:, 0]))
        lines.append(f"| {name} | {s[:, 0].mean():.2f} | {s[:, 1].mean():.2f} | {s[:, 2].mean():.3f} | "
                     f"{s[:, 0].mean() / ref[:, 0].mean():.3f}× | {s[worst, 0] / ref[worst, 0]:.2f}× ({names[worst]}) | "
                     f"{infer_seconds(other):.2f} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "alphamatting27")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--write", type=Path)
    ap.add_argument("--pymatting", action="store_true", help="add the closed-form comparator (slow; needs pymatting)")
    args = ap.parse_args(argv)
    if not (args.data / "image").is_dir() or not (args.data / "alpha").is_dir():
        print(f"bench/quality: no dataset at {args.data} (expects image/ and alpha/ folders of PNGs); "
              "pass --data DIR", file=sys.stderr)
        return 2
    methods = dict(METHODS)
    if args.pymatting and importlib.util.find_spec("pymatting") is None:
        print("bench/quality: pymatting is not importable here; skipping the closed-form comparator", file=sys.stderr)
    elif args.pymatting:
        methods["closed-form (pymatting) on a trimap from the refined matte"] = closed_form_comparator
    infer = OrtInfer(args.model or default_model_path())
    names = sorted(p.stem for p in (args.data / "image").glob("*.png"))
    scores = {m: [] for m in methods}
    times = {m: [] for m in methods}
    images = []
    for name in names:
        rgb = np.asarray(Image.open(args.data / "image" / f"{name}.png").convert("RGB"))
        gt = np.asarray(Image.open(args.data / "alpha" / f"{name}.png").convert("L"), np.float32) / 255
        sq, lb = model_output(rgb, infer), model_output(rgb, infer, "letterbox")
        images.append((rgb, gt))
        for m, f in methods.items():
            t = time.perf_counter()
            p = f(rgb, sq, lb)
            times[m].append(time.perf_counter() - t)
            scores[m].append(metrics(p, gt))
    base = np.array(scores["peer-equivalent baseline"])
    lines = [f"Measured {datetime.date.today().isoformat()} on {machine()}, CPython, dataset `{args.data.name}` "
             f"({len(names)} images). Command: `make bench-quality DATA={args.data}`.", "",
             "| method | SAD | MSE×1000 | Grad | SAD vs baseline | worst image SAD vs its baseline | ms/image |",
             "|---|---|---|---|---|---|---|"]
    for m in methods:
        s = np.array(scores[m])
        lines.append(f"| {m} | {s[:, 0].mean():.2f} | {s[:, 1].mean():.2f} | {s[:, 2].mean():.3f} | "
                     f"{s[:, 0].mean() / base[:, 0].mean():.2f}× | {np.max(s[:, 0] / base[:, 0]):.2f}× | "
                     f"{1000 * np.mean(times[m]):.0f} |")
    t_infer = infer_seconds(infer)
    n = len(names)
    no_esc = np.mean(times["refine alone (squash input, guided filter)"]) + t_infer
    with_esc = np.mean(times[DEFAULT_ROW]) + t_infer * (n + default_pipeline.escalated) / n
    lines += ["", f"**Escalation** (the default row against refine alone): the default escalated "
              f"{default_pipeline.escalated} of {n} images and kept the letterboxed result for "
              f"{default_pipeline.kept_second}. Mean SAD {np.mean([x[0] for x in scores[DEFAULT_ROW]]):.2f} with "
              f"escalation against {np.mean([x[0] for x in scores['refine alone (squash input, guided filter)']]):.2f} "
              f"without. Mean time per image including the model (native onnxruntime, {t_infer:.2f} s per inference "
              f"measured here): {with_esc:.2f} s with escalation (its post-processing includes the quality checks) "
              f"against {no_esc:.2f} s without (refinement only, no check)."]
    lines += ["", "Targets (issue 3): SAD ≤ 26, Grad ≤ 0.185, MSE×1000 ≤ 45, no image > 1.10× its baseline.", "",
              "<details><summary>Per image (SAD / Grad)</summary>", "",
              "| image | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for i, name in enumerate(names):
        lines.append(f"| {name} | " + " | ".join(f"{scores[m][i][0]:.1f} / {scores[m][i][2]:.3f}" for m in methods)
                     + " |")
    lines += ["", "</details>", ""] + variant_rows(images, names, scores[DEFAULT_ROW], infer, t_infer, args.model)
    lines += ["", "**Decontamination** (dev foregrounds, colours estimated from the GT alpha, "
              "composited over each background; alpha-weighted mean |F − F_ref| in the 0 < α < 1 band, 0-255 units):",
              "", "| background | off | on | reduction |", "|---|---|---|---|"]
    for bg, off, on in decontamination_rows(images):
        lines.append(f"| {bg} | {off:.2f} | {on:.2f} | {100 * (1 - on / off):.0f}% |")
    t = timing_12mp(images, infer)
    gt_t, model_t = t["gt"], t["model"]
    lines += ["", f"**Cost at 12 MP** (4000×3000, CPython, median of 5 runs, load average {t['load']:.1f} on 2 cores): "
              + ", ".join(f"{k} {gt_t[k]:.2f} s" for k in ("bilinear upsample", "refine", "decontaminate"))
              + "; refinement + decontamination add "
              f"{gt_t['refine'] + gt_t['decontaminate'] - gt_t['bilinear upsample']:.2f} s over the bilinear upsample "
              f"({100 * gt_t['soft']:.0f}% of the refined matte soft). With the model's own matte of that photo "
              f"({100 * model_t['soft']:.0f}% soft): refine {model_t['refine']:.2f} s, decontaminate "
              f"{model_t['decontaminate']:.2f} s, adding "
              f"{model_t['refine'] + model_t['decontaminate'] - model_t['bilinear upsample']:.2f} s.",
              "", f"Peak extra memory at 12 MP (tracemalloc): refine {t['refine B/px']:.1f} bytes per pixel (its float32 "
              f"alpha is 4 of them), decontaminate {t['decontaminate B/px']:.1f} (its RGB output is 3; the alpha it "
              "reads is another 4)."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, text, BEGIN, END, "## Matting quality (CPython)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

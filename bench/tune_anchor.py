"""Cross-validated choice of the anchor's settings (alphacut.matte.anchor) on every dev set.

For each photo of each set (devsets.py: folds tune-a, tune-b and final by a hash of the id), the
pieces are computed once: the model's squashed and letterboxed mattes (cached), the refined matte,
the colour key's matte where the border is uniform, then each candidate setting is scored against
the ground truth and against the peer-equivalent baseline, photo by photo.

Selection rule (no tuned threshold in it): among the candidates, the one with the fewest photos
more than 1.10× worse than their baseline on the tuning fold, ties broken by the mean of the
per-set SAD ratios. It is chosen on tune-a and checked on tune-b, and the other way round; the
``final`` fold is scored only with ``--final``, once the choice is made.

Usage: python -m bench.tune_anchor [--sets a b ...] [--max-mp 4] [--final] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

from alphacut.matte import anchor as A
from alphacut.matte.colorkey import colour_key, should_colour_key
from alphacut.matte.holes import open_holes
from alphacut.runtime.ort_backend import OrtInfer, default_model_path
from alphacut.matte.refine import hedging, letterbox_box, refine_alpha
from scipy import ndimage
from alphacut.matte.resize import resize_alpha

from .devsets import DATA_ROOT, DEFAULT_SETS, load_set, metrics, model_output, peer_baseline

KEYS = ("pass", "soft", "delta", "ck", "holes", "sharpen")
#: Stage 1: which inference(s) and how much refinement (delta 0.5, no colour key, no holes);
#: stage 2: how far steps may move the anchor, the colour key and holes. ``soft``: None is no
#: refinement (the anchor only), "full" the refined matte everywhere, (lo, hi) the softness gate.
STAGE1 = [(p, s, 0.5, False, False, k) for p in ("sq", "lbband")
          for s in (None, (0.3, 0.5)) for k in (0, 1, 2)]
STAGE2_DELTA = (0.25, 0.5, 1.0)


def squash_geometry(lb, shape):
    """A letterboxed matte cropped to the photo and stretched to the squashed geometry."""
    top, left, r, c = letterbox_box(shape, size=lb.shape[0])
    return resize_alpha(lb[top : top + r, left : left + c], lb.shape)


def pieces(photo, infer, max_mp):
    rgb, gt = photo.load(int(max_mp * 1e6))
    sq = model_output(rgb, infer)
    lb_raw = model_output(rgb, infer, "letterbox")
    lb = squash_geometry(lb_raw, rgb.shape)
    coarse = {"sq": sq, "lbband": A.second_pass(sq, lb)}
    keyed = None
    if min(rgb.shape[:2]) >= 16 and should_colour_key(rgb)[0]:
        keyed = colour_key(rgb)[0]
    return {"rgb": rgb, "gt": gt, "coarse": coarse, "refined": {k: refine_alpha(rgb, v) for k, v in coarse.items()},
            "keyed": keyed, "lb_raw": lb_raw, "gt_grad": ndimage.gaussian_gradient_magnitude(gt, 1.4)}


def fast_metrics(p, pred):
    """devsets.metrics in float32 with the ground truth's gradient computed once."""
    g = p["gt"]
    grad = (ndimage.gaussian_gradient_magnitude(pred.astype(np.float32), 1.4) - p["gt_grad"]) ** 2
    d = pred - g
    return float(np.abs(d).sum(dtype=np.float64) / 1000), float((d * d).mean(dtype=np.float64) * 1000), \
        float(grad.sum(dtype=np.float64) / 1000)


def compose(p, pas, soft, delta, ck, holes, sharpen=0):
    sq, rgb = p["coarse"][pas], p["rgb"]
    anchor, inside = A.bounds(sq, rgb.shape[:2])
    gate = soft if isinstance(soft, tuple) else (A.SOFT_LO, A.SOFT_HI)
    w = resize_alpha(A.softness(sq, lo=gate[0], hi=gate[1]), rgb.shape[:2])
    if soft is None:
        alpha = anchor.copy()
    elif soft == "full":
        alpha = p["refined"][pas].copy()
    else:
        alpha = anchor + w * (p["refined"][pas] - anchor)
    if sharpen:  # crisp parts (1 - w) take the sharpened anchor
        sharp = A.sharpen(anchor.copy(), sq.shape, factor=sharpen)
        alpha = w * alpha + (1 - w) * sharp
    alpha = A.clamp(alpha.copy(), anchor, inside, delta=delta)
    if ck and p["keyed"] is not None:
        alpha = A.clamp(p["keyed"].copy(), anchor, inside, delta=delta)
    if holes:
        alpha = A.clamp(open_holes(rgb, alpha), anchor, inside, delta=delta)
    return alpha


OLD = ("before: the previous default pipeline",)


def old_default(p):
    """The pipeline as it was before the anchor (find_matte at its defaults then)."""
    from alphacut.pipeline import find_matte
    outputs = iter([p["coarse"]["sq"], p["lb_raw"]])

    async def infer(x):
        return next(outputs)

    return asyncio.run(find_matte(p["rgb"], infer)).alpha


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    ap.add_argument("--max-mp", type=float, default=2.5)
    ap.add_argument("--stage1", help="JSON of the stage-1 choice [pass, soft]: run stage 2 around it")
    ap.add_argument("--final", action="store_true")
    ap.add_argument("--no-before", action="store_true", help="skip the previous pipeline's row")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    infer = OrtInfer(default_model_path())
    rows = []  # (set, id, fold, category, base scores, {config: scores})
    if args.stage1:
        pas, soft, sharpen = json.loads(args.stage1)
        soft = tuple(soft) if isinstance(soft, list) else soft
        configs = [(pas, soft, d, ck, h, sharpen) for d in STAGE2_DELTA for ck in (False, True) for h in (False, True)]
    else:
        configs = STAGE1
    for name in args.sets:
        try:
            photos = load_set(DATA_ROOT / name if not Path(name).is_dir() else Path(name))
        except FileNotFoundError as e:
            print(f"tune_anchor: {e}", file=sys.stderr)
            continue
        for ph in photos:
            if ph.fold == "final" and not args.final:
                continue
            t = time.perf_counter()
            p = pieces(ph, infer, args.max_mp)
            base = fast_metrics(p, peer_baseline(p["coarse"]["sq"], p["gt"].shape))
            scores = {cfg: fast_metrics(p, compose(p, *cfg)) for cfg in configs}
            if not args.no_before:
                scores[OLD] = fast_metrics(p, old_default(p))
            rows.append((ph.set, ph.id, ph.fold, ph.category, base, scores, p["keyed"] is not None))
            print(f"{ph.set}/{ph.id} {ph.fold} {time.perf_counter() - t:.1f}s", file=sys.stderr)
    report = evaluate(rows, configs)
    for k, v in report.items():
        print(f"== {k}")
        for item in (v if isinstance(v, list) else [v]):
            print("   ", json.dumps(item, separators=(",", ":")))
    if args.out:
        args.out.write_text(json.dumps({"report": report, "rows": [
            {"set": r[0], "id": r[1], "fold": r[2], "category": r[3], "base": r[4], "keyed": r[6],
             "scores": {json.dumps(k): v for k, v in r[5].items()}} for r in rows]}, indent=0))
    return 0


def summary(rows, cfg) -> dict:
    """Per-set mean SAD and Grad ratios, and counts of photos worse than 1.10x / 1.25x."""
    out = {}
    for s in sorted({r[0] for r in rows}):
        sub = [r for r in rows if r[0] == s]
        b = np.array([r[4] for r in sub])
        c = np.array([r[5][cfg] for r in sub])
        per = c[:, 0] / np.maximum(b[:, 0], 1e-9)
        out[s] = {"n": len(sub), "sad": round(c[:, 0].mean() / b[:, 0].mean(), 3),
                  "grad": round(c[:, 2].mean() / b[:, 2].mean(), 3), "worse10": int((per > 1.1).sum()),
                  "worse25": int((per > 1.25).sum()), "worst": round(float(per.max()), 2)}
    return out


def score(summ) -> tuple:
    return (sum(v["worse10"] for v in summ.values()), float(np.mean([v["sad"] for v in summ.values()])))


def evaluate(rows, configs) -> dict:
    report = {}
    for tune, check in (("tune-a", "tune-b"), ("tune-b", "tune-a")):
        t_rows = [r for r in rows if r[2] == tune]
        c_rows = [r for r in rows if r[2] == check]
        if not t_rows or not c_rows:
            continue
        best = min(configs, key=lambda cfg: score(summary(t_rows, cfg)))
        report[f"chosen on {tune}"] = {"config": dict(zip(KEYS, best)), "on " + tune: summary(t_rows, best),
                                        "on " + check: summary(c_rows, best)}
    if OLD in rows[0][5]:
        report["before"] = summary(rows, OLD)
    ranked = sorted(configs, key=lambda cfg: score(summary(rows, cfg)))
    report["all folds, top 8"] = [{"config": dict(zip(KEYS, cfg)), "summary": summary(rows, cfg)}
                                  for cfg in ranked[:8]]
    return report


if __name__ == "__main__":
    sys.exit(main())

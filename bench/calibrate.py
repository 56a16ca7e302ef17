"""Calibrate the quality checks (alphacut.quality) against the true error of a cut-out.

Cut-outs, for every photo of the alphamatting.com training set (research use only, read in
place from --data, never copied):

- the ground truth itself, and the model's matte (IS-Net fp32 at 1024 x 1024, bilinear back to
  the photo's size: the baseline the app ships);
- synthetic failures, each made from the ground truth AND from the model's matte, at two
  strengths: over-eroded, dilated (grey erosion/dilation, square of side 2r+1, r = 3 or 8 px),
  noisy (iid Gaussian, sigma 0.1 or 0.3), hole-punched (5 or 20 discs of radius 2 % of the
  diagonal inside the subject), blurred (Gaussian sigma 3 or 8 px), fragment-sprinkled (10 or
  50 opaque blobs of radius 2-6 px in the background), half-missing (a half or a quarter of the
  subject's bounding box zeroed), blocky (the binarised matte nearest-resampled through a grid
  8 or 24 px wide: a jagged outline).

A cut-out is **bad** when its relative error, ``sum |p - g| / sum g`` (SAD over the subject's
area: the share of the subject that is mis-cut), is above 10 %. (Relative to the model's own
SAD, as first tried, is a poor label here: where the model fails, a ground truth drowned in
noise still counts as good.) The model's mattes are labelled by the same rule, so its real
failures count.

Thresholds (alphacut.quality.DEFAULT_THRESHOLDS) are chosen on the *tune* half (odd image
numbers) and every number in the table is measured on the *report* half (even numbers):

- for each check, ``suspicious`` = a quantile of the score over the good tune cut-outs (the
  lower quantile where lower is worse), one per check, chosen from QUANTILES by coordinate
  ascent on catch rate minus false-alarm rate of the combined verdict on the tune half, with at
  most MAX_FALSE_ALARM false alarms (a single quantile for all checks, tried first, caught
  less: the checks' tails differ); ``bad`` = the most extreme score of any good
  tune cut-out (so on the tune half no good cut-out is called bad).
- ``area_low``/``area_high`` ("nothing found"/"nothing removed") and ``sharpness`` keep fixed
  thresholds: they mean something on their own, and synthetic failures do not change the photo.

AUROC is rank based (Mann-Whitney U, ties count one half), with every score oriented so that
higher means worse.

Usage: python -m bench.calibrate --data DIR [--write FILE] [--cache DIR] [--no-12mp]
"""
from __future__ import annotations

import argparse
import hashlib
import pickle
import platform
import re
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from alphacut import quality
from alphacut.quality import QualityThresholds, assess, judge
from alphacut.matte.resize import resize_alpha

from .common import sad, write_section

ROOT = Path(__file__).resolve().parent.parent

BEGIN, END = "<!-- calibration:begin -->", "<!-- calibration:end -->"
TITLE = "## Quality checks: calibration"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "alphamatting27"
DEFAULT_CACHE = Path("/tmp/q6cache")
#: Bad = relative error sum|p - g| / sum g above this.
BAD_RELATIVE = 0.10
#: Combined false alarms allowed on the good tune cut-outs when choosing the quantiles.
MAX_FALSE_ALARM = 0.10
QUANTILES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99)
#: Checks whose thresholds are calibrated here (the others keep their fixed meaning).
CALIBRATED = ("jaggedness", "confidence", "halo", "spill", "edge_support", "fragments", "holes")
LOWER_IS_WORSE = {"confidence", "edge_support", "area_low", "sharpness"}
#: Bump when the synthetic cut-outs change (the scores are cached by it and by quality.py).
CASES_VERSION = "1"
KINDS = ("erode", "dilate", "noise", "holes", "blur", "fragments", "half", "blocky")
STRENGTHS = {"erode": (3, 8), "dilate": (3, 8), "noise": (0.1, 0.3), "holes": (5, 20), "blur": (3, 8),
             "fragments": (10, 50), "half": (0.5, 0.25), "blocky": (8, 24)}


# --- data and the model --------------------------------------------------------------------


def load(data_dir: Path) -> list[dict]:
    items = []
    for path in sorted((data_dir / "image").glob("*.png")):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        gt = np.asarray(Image.open(data_dir / "alpha" / path.name).convert("L")).astype(np.float32) / 255
        items.append({"name": path.stem, "num": int(re.sub(r"\D", "", path.stem) or 0), "rgb": rgb, "gt": gt})
    if not items:
        raise SystemExit(f"no images under {data_dir}/image (pass --data DIR)")
    return items


class Model:
    """The app's model in CPython, its raw 1024 x 1024 outputs cached by content hash."""

    def __init__(self, cache: Path, path: Path | None = None):
        self.cache = cache
        self.path = path
        self._infer = None

    def raw(self, rgb: np.ndarray) -> np.ndarray:
        key = hashlib.sha1(np.ascontiguousarray(rgb).tobytes() + repr(rgb.shape).encode()).hexdigest()[:16]
        file = self.cache / f"isnet-{key}.npy"
        if file.is_file():
            return np.load(file)
        from alphacut.models import get_model
        from alphacut.runtime.ort_backend import OrtInfer, default_model_path
        from alphacut.matte.prepare import to_model_input

        if self._infer is None:
            self._infer = OrtInfer(self.path or default_model_path())
        out = self._infer.run(to_model_input(rgb, get_model("isnet"))).astype(np.float32)
        self.cache.mkdir(parents=True, exist_ok=True)
        np.save(file, out)
        return out

    def alpha(self, rgb: np.ndarray) -> np.ndarray:
        """The baseline matte: model output, bilinear to the photo's size."""
        return resize_alpha(self.raw(rgb), rgb.shape[:2])


# --- metrics -------------------------------------------------------------------------------


def auroc(scores, labels) -> float:
    """Rank-based AUROC (Mann-Whitney U): P(score of a bad case > score of a good case), ties 1/2."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    s = scores[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


# --- synthetic failures --------------------------------------------------------------------


def corrupt(alpha: np.ndarray, kind: str, strength, rng: np.random.Generator) -> np.ndarray:
    a = alpha
    mask = a > 0.5
    if kind == "erode":
        return ndi.grey_erosion(a, size=2 * strength + 1)
    if kind == "dilate":
        return ndi.grey_dilation(a, size=2 * strength + 1)
    if kind == "noise":
        return np.clip(a + rng.normal(0, strength, a.shape), 0, 1).astype(np.float32)
    if kind == "blur":
        return ndi.gaussian_filter(a, strength)
    if kind == "holes":
        out = a.copy()
        rows, cols = np.nonzero(mask)
        if rows.size == 0:
            return out
        rad = 0.02 * np.hypot(*a.shape)
        r, c = np.mgrid[:a.shape[0], :a.shape[1]]
        for i in rng.choice(rows.size, strength):
            out[(r - rows[i]) ** 2 + (c - cols[i]) ** 2 < rad ** 2] = 0
        return out
    if kind == "fragments":
        out = a.copy()
        rows, cols = np.nonzero(~ndi.binary_dilation(mask, iterations=8))
        if rows.size == 0:
            return out
        for i in rng.choice(rows.size, strength):
            rad = rng.uniform(2, 6)
            r0, c0 = rows[i], cols[i]
            sl = (slice(max(r0 - 7, 0), r0 + 8), slice(max(c0 - 7, 0), c0 + 8))
            rr, cc = np.mgrid[sl[0].start:min(r0 + 8, a.shape[0]), sl[1].start:min(c0 + 8, a.shape[1])]
            out[sl] = np.maximum(out[sl], ((rr - r0) ** 2 + (cc - c0) ** 2 < rad ** 2).astype(np.float32))
        return out
    if kind == "half":
        out = a.copy()
        rows, cols = np.nonzero(mask)
        if rows.size == 0:
            return out
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        side = rng.integers(4)
        if side == 0:
            out[:, c0 + int((c1 - c0) * (1 - strength)):] = 0
        elif side == 1:
            out[:, :c0 + int((c1 - c0) * strength)] = 0
        elif side == 2:
            out[r0 + int((r1 - r0) * (1 - strength)):] = 0
        else:
            out[:r0 + int((r1 - r0) * strength)] = 0
        return out
    if kind == "blocky":
        small = mask[::strength, ::strength]
        big = np.repeat(np.repeat(small, strength, 0), strength, 1)[:a.shape[0], :a.shape[1]]
        return big.astype(np.float32)
    raise ValueError(kind)


def cases(item: dict, model: Model) -> list[dict]:
    gt, rgb = item["gt"], item["rgb"]
    base = model.alpha(rgb)
    out = [{"kind": "gt", "source": "gt", "alpha": gt}, {"kind": "model", "source": "model", "alpha": base}]
    rng = np.random.default_rng(item["num"])
    for source, a in (("gt", gt), ("model", base)):
        for kind in KINDS:
            for strength in STRENGTHS[kind]:
                out.append({"kind": f"{kind}", "strength": strength, "source": source,
                            "alpha": corrupt(a, kind, strength, rng)})
    return out


# --- calibration ---------------------------------------------------------------------------


def oriented(name: str, x):
    return -np.asarray(x, np.float64) if name in LOWER_IS_WORSE else np.asarray(x, np.float64)


def thresholds_at(good: list[dict], qs: dict) -> QualityThresholds:
    """Thresholds with ``suspicious`` at the per-check quantile ``qs[name]`` of the good scores."""
    pairs = {}
    for name in CALIBRATED:
        v = oriented(name, [r["scores"][name] for r in good])
        s = float(np.quantile(v, qs[name]))
        b = float(v.max())
        if b <= s:
            b = s + max(abs(s) * 0.05, 1e-3)
        if name in LOWER_IS_WORSE:
            s, b = -s, -b
        if name in ("fragments", "holes"):  # integer counts: flag strictly more than seen
            s, b = float(np.floor(s)) + 0.5, float(np.floor(b)) + 0.5
        pairs[name] = (round(s, 4), round(b, 4))
    return replace(quality.DEFAULT_THRESHOLDS, **pairs)


def choose_thresholds(rows: list[dict]) -> tuple[QualityThresholds, dict]:
    """Per-check quantiles by coordinate ascent on catch - false alarms (tune half), false alarms
    at most MAX_FALSE_ALARM; starts from the strictest quantile for every check."""
    good = [r for r in rows if not r["bad"]]
    labels = np.array([r["bad"] for r in rows])

    def gain(qs):
        th = thresholds_at(good, qs)
        flagged = np.array([judge(r["scores"], thresholds=th).verdict != "good" for r in rows])
        catch, fa = flagged[labels].mean(), flagged[~labels].mean()
        return (catch - fa if fa <= MAX_FALSE_ALARM else -1.0), catch, fa

    qs = {name: QUANTILES[-1] for name in CALIBRATED}
    best = gain(qs)
    for _ in range(3):
        changed = False
        for name in CALIBRATED:
            for q in QUANTILES:
                trial = dict(qs, **{name: q})
                g = gain(trial)
                if g[0] > best[0] + 1e-9:
                    qs, best, changed = trial, g, True
        if not changed:
            break
    print(f"chosen quantiles {qs}: tune catch {best[1]:.2f} false alarms {best[2]:.2f}", file=sys.stderr)
    return thresholds_at(good, qs), qs


def evaluate(rows: list[dict], th: QualityThresholds) -> dict:
    labels = np.array([r["bad"] for r in rows])
    reports = [judge(r["scores"], thresholds=th) for r in rows]
    verdict = np.array([{"good": 0, "suspicious": 1, "bad": 2}[x.verdict] for x in reports])
    risk = np.array([x.risk for x in reports])
    per_score = {}
    for f in fields(th):
        if f.name in rows[0]["scores"]:
            per_score[f.name] = auroc(oriented(f.name, [r["scores"][f.name] for r in rows]), labels)
    flagged = verdict > 0
    return {
        "n": len(rows), "n_bad": int(labels.sum()),
        "auroc": per_score, "auroc_risk": auroc(risk, labels), "auroc_verdict": auroc(verdict, labels),
        "catch": float(flagged[labels].mean()), "false_alarm": float(flagged[~labels].mean()),
        "catch_bad": float((verdict == 2)[labels].mean()), "false_bad": float((verdict == 2)[~labels].mean()),
        "verdict": verdict, "labels": labels,
    }


def time_12mp(item: dict, model: Model, repeat: int = 5) -> tuple[float, float]:
    rgb = np.asarray(Image.fromarray(item["rgb"]).resize((4240, 2832), Image.Resampling.BILINEAR))
    alpha = resize_alpha(model.alpha(item["rgb"]), rgb.shape[:2])
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        assess(rgb, alpha)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


# --- report --------------------------------------------------------------------------------


def table(result_tune, result_report, th, q, rows_report, model_rows, t12, args) -> str:
    names = list(result_report["auroc"])
    lines = [
        "",
        f"Measured by `python -m bench.calibrate --data DIR --write FILE` on {platform.processor() or platform.machine()},"
        f" Python {platform.python_version()}, numpy {np.__version__}.",
        "",
        f"Cut-outs: for each of the {args['n_images']} photos of the alphamatting.com training set, the ground "
        "truth, the model's matte (IS-Net fp32, bilinear upsampling) and 8 kinds of synthetic failure at 2 "
        "strengths made from each of them (eroded, dilated, noisy, hole-punched, blurred, fragment-sprinkled, "
        "half-missing, blocky): 34 per photo. "
        f"**Bad** = relative error sum|p - g| / sum g > {BAD_RELATIVE:.0%} (the share of the subject mis-cut), "
        "for the model's mattes too. Thresholds chosen on the tune half (odd image numbers, "
        f"{result_tune['n']} cut-outs, "
        f"{result_tune['n_bad']} bad), every number below measured on the report half (even numbers, "
        f"{result_report['n']} cut-outs, {result_report['n_bad']} bad).",
        "",
        "Chosen: `suspicious` = a quantile of each score over the good tune cut-outs, one per check, found by "
        f"coordinate ascent on catch - false alarms on the tune half with false alarms <= {MAX_FALSE_ALARM:.0%} ("
        + ", ".join(f"{n} {v:g}" for n, v in q.items()) + "); `bad` = the most extreme good tune score. Area and sharpness keep their fixed thresholds.",
        "",
        "| check | suspicious | bad | AUROC (report half) |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        s, b = getattr(th, name)
        lines.append(f"| {name} | {s:g} | {b:g} | {result_report['auroc'][name]:.3f} |")
    r = result_report
    lines += [
        f"| **combined risk** (worst severity) | | | **{r['auroc_risk']:.3f}** |",
        f"| combined verdict (good < suspicious < bad) | | | {r['auroc_verdict']:.3f} |",
        "",
        f"On the report half: **catch rate {r['catch']:.0%}** of the bad cut-outs are flagged suspicious or bad "
        f"({r['catch_bad']:.0%} flagged bad), at a **false-alarm rate of {r['false_alarm']:.0%}** of the good "
        f"ones ({r['false_bad']:.0%} called bad). The tune half: catch {result_tune['catch']:.0%}, false alarms "
        f"{result_tune['false_alarm']:.0%}. (The seed claims 60-90 % for such checks.)",
        "",
        "Catch rate by failure kind (report half, bad cut-outs only; n = bad / all of that kind):",
        "",
        "| failure | caught | n |",
        "|---|---:|---:|",
    ]
    verdict, labels = r["verdict"], r["labels"]
    kinds = [row["kind"] for row in rows_report]
    for kind in ("model", *KINDS):
        sel = np.array([k == kind for k in kinds])
        nb = int((sel & labels).sum())
        caught = f"{(verdict[sel & labels] > 0).mean():.0%}" if nb else "-"
        lines.append(f"| {kind} | {caught} | {nb} / {int(sel.sum())} |")
    # Real outputs only: do the scores rank the model's own errors?
    m_sad = np.array([m["sad"] for m in model_rows])
    worst = np.array([m["bad"] for m in model_rows])
    m_risk = np.array([judge(m["scores"], thresholds=th).risk for m in model_rows])
    m_flag = np.array([judge(m["scores"], thresholds=th).verdict != "good" for m in model_rows])
    lines += [
        "",
        f"Real model outputs alone (all {len(model_rows)} photos, both halves): mean SAD {m_sad.mean():.1f}; "
        f"{worst.sum()} are bad by the rule above, the checks flag {m_flag[worst].mean() if worst.any() else 0:.0%} "
        f"of those and {m_flag[~worst].mean():.0%} of the others; AUROC of the combined risk "
        f"{auroc(m_risk, worst):.2f} (n = {len(m_sad)}, so +-0.2). Per score: " + ", ".join(
            f"{n} {auroc(oriented(n, [m['scores'][n] for m in model_rows]), worst):.2f}" for n in names) + ".",
        "",
        f"Cost: `assess` on a 12 MP photo (4240 x 2832, float32 alpha): {t12[0] * 1000:.0f} ms wall, "
        f"{t12[1] * 1000:.0f} ms CPU (best of 5; the matte is scored at 1024 px).",
        "",
    ]
    return "\n".join(lines)


def _scoring_source() -> bytes:
    """The quality scores' code (quality/scores.py; the thresholds live in checks.py): the scores are
    cached by this, so that writing new default thresholds does not throw them away."""
    return (ROOT / "py" / "alphacut" / "quality" / "scores.py").read_bytes()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--write", type=Path)
    p.add_argument("--model", type=Path, help="prepared .onnx (default: the cache's)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="model outputs, by content hash")
    p.add_argument("--no-12mp", action="store_true")
    args = p.parse_args(argv)
    model = Model(args.cache, args.model)
    items = load(args.data)
    key = hashlib.sha1(_scoring_source() + CASES_VERSION.encode()
                       + repr([i["name"] for i in items]).encode()).hexdigest()[:12]
    rows_file = args.cache / f"calibrate-rows-{key}.pkl"
    rows, model_rows = [], []
    if rows_file.is_file():
        rows = pickle.loads(rows_file.read_bytes())
        items_todo = []
    else:
        items_todo = items
    t0 = time.perf_counter()
    for item in items_todo:
        base_sad = sad(model.alpha(item["rgb"]), item["gt"])
        area = float(item["gt"].sum(dtype=np.float64)) / 1000
        for case in cases(item, model):
            report = assess(item["rgb"], case["alpha"])
            scores = {c.name: c.score for c in report.checks}
            e = sad(case["alpha"], item["gt"])
            row = {"image": item["name"], "half": "tune" if item["num"] % 2 else "report", "kind": case["kind"],
                   "source": case["source"], "sad": e, "rel": e / area, "bad": e / area > BAD_RELATIVE,
                   "scores": scores}
            rows.append(row)
        print(f"{item['name']}: model SAD {base_sad:.1f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if items_todo:
        args.cache.mkdir(parents=True, exist_ok=True)
        rows_file.write_bytes(pickle.dumps(rows))
    for r in rows:
        r["bad"] = r["rel"] > BAD_RELATIVE
    model_rows = [r for r in rows if r["kind"] == "model"]
    tune = [r for r in rows if r["half"] == "tune"]
    report = [r for r in rows if r["half"] == "report"]
    th, q = choose_thresholds(tune)
    res_tune, res_report = evaluate(tune, th), evaluate(report, th)
    t12 = (float("nan"), float("nan")) if args.no_12mp else time_12mp(items[0], model)
    text = table(res_tune, res_report, th, q, report, model_rows, t12, {"n_images": len(items)})
    print(text)
    print("\nQualityThresholds(" + ", ".join(f"{n}={getattr(th, n)}" for n in CALIBRATED) + ")")
    if args.write:
        write_section(args.write, text, BEGIN, END, TITLE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

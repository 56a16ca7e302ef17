"""Edit merge benchmark, by kind of edit: pairs built so that they cannot flatter the method.

Each pair starts from a real photo (ECSSD and the alphamatting.com training set, research use
only, read in place and never copied; and scikit-image's sample photos), resized to at most
640 px. One of twelve kinds of edit is applied inside a soft-edged region (a random blob, or for
``object`` the photo's object, whose edge is blurred by 1-4 px; the known mask is where its
weight is above one half):

- ``recolour``: the hue turned and pushed in Lab;
- ``texture``: a noisy texture (band-pass random field, 2-5 px grain) over the region's content;
- ``noise``: fine grain (independent noise) added;
- ``detail``: the fine detail changed (the region smoothed and a fine stripe pattern added), the
  mean colour kept;
- ``swap``: another photo's content;
- ``dark``: a dark photo (exposure cut to 12-30 %), a content swap or recolour;
- ``lowcontrast``: a flat photo (contrast cut to 25-40 %), a mild recolour;
- ``border``: a region that touches the image border, recolour or swap;
- ``two_regions``: two separate regions, each with its own edit (both are the edit);
- ``two_places``: the same recolour in two places of similar size;
- ``large``: a region of 35-60 % of the photo, recoloured, textured or given grain (added in
  session 26: every other kind's region covers 4-30 %);
- ``object``: the photo's own object (its ground-truth alpha above one half: a person, a car, a
  toy, with its detailed outline), recoloured, textured or given grain (session 26; photos
  without an alpha, or whose object covers less than 3 % or more than 60 %, are not used).

Then what editing models add everywhere: a global drift of up to 3 % per channel (gain) and an
offset of up to 4 code values, two small unrelated local changes away from the edit (not part of
it: a colour shift or a local blur, 0.8-2 % of the diagonal across), and JPEG at quality 75-90.

Scored per pair: IoU of the recovered mask (>= 0.5) with the known mask, and PSNR of the
composite against the original where the edit's weight is below 0.01 (the untouched area; ∞
where identical). Pairs are split by photo into a ``tune`` and a ``report`` half (a hash of the
photo's name, so adding photos does not move the others); the tune half is further split into
two cross-validation folds the same way.

A third set, ``holdout``, is built the same way from other photos: the ``realmask`` dev set (ECSSD
photos that ``ecssd60`` did not take, Carvana cars and DIS5K objects; docs/devsets.md). It was
added after the report half had been scored, when the method was changed again (the structure
change), and is scored after a change's constants are fixed on the tune half (BENCHMARKS.md says
how often, and when a look at it shaped a change).

Usage: python -m bench.editmerge_kinds [--data-root DIR] [--split tune|report|both|holdout|all] [--per-kind N]
                                       [--seed S [S ...]] [--json FILE] [--compare FILE] [--code DIR] [--cv | --cv-clear]
                                       [--analysis-max-side N]
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA_ROOT = ROOT.parent / "shared" / "data"
KINDS = ("recolour", "texture", "noise", "detail", "swap", "dark", "lowcontrast", "border", "two_regions",
         "two_places", "large", "object")
#: ``object`` uses photos whose object (alpha > 127) covers this share of the photo.
OBJECT_AREA = (0.03, 0.6)
MAX_SIDE = 640
#: The issue's targets, per kind: IoU >= 0.90 on at least 80 % of the pairs, and PSNR of the
#: untouched area >= 40 dB on at least 95 % of them.
IOU_TARGET, PSNR_TARGET = 0.90, 40.0
SEED = 19
#: The report half and the holdout are scored on the edits of these seeds (32 pairs per kind and
#: set with 8 per seed): with one seed, one pair is 12.5 % of a kind, and seed 19's edits of the
#: report photos flattered two kinds (texture 100 % and detail 88 %, against 75 % and 79 % on the
#: edits of seeds 101-103; BENCHMARKS.md, session 36). The tune half keeps ``SEED``; its
#: cross-validation rounds add 7 and 8.
REPORT_SEEDS = (SEED, 101, 102, 103)


def table_seeds(split: str) -> tuple[int, ...]:
    """The seeds whose edits the benchmark's by-kind table scores on ``split``."""
    return (SEED,) if split == "tune" else REPORT_SEEDS


# --- sources -------------------------------------------------------------------------------


def load_sources(data_root: Path) -> list[dict]:
    """Photos as dicts {name, rgb}, longer side at most ``MAX_SIDE``."""
    from skimage import data

    sources = []
    for folder in ("ecssd60", "alphamatting27", "realmask"):
        images = data_root / folder / "image"
        if not images.is_dir():
            print(f"note: {images} is absent (research use only); skipped.", file=sys.stderr)
            continue
        for path in sorted(images.iterdir()):
            rgb = _fit(np.asarray(Image.open(path).convert("RGB")))
            alpha = next(iter(sorted((data_root / folder / "alpha").glob(path.stem + ".*"))), None)
            if alpha is not None:
                alpha = np.asarray(Image.open(alpha).convert("L").resize(rgb.shape[1::-1], Image.Resampling.BILINEAR))
                alpha = alpha > 127
            sources.append({"name": f"{folder}/{path.stem}", "rgb": rgb, "object": alpha})
    for name in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry"):
        sources.append({"name": f"skimage/{name}", "rgb": _fit(np.ascontiguousarray(getattr(data, name)()[:, :, :3])),
                        "object": None})
    return sources


def _fit(rgb):
    s = min(1.0, MAX_SIDE / max(rgb.shape[:2]))
    if s == 1.0:
        return rgb
    size = (round(rgb.shape[1] * s), round(rgb.shape[0] * s))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def _hash(name: str) -> int:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)


def half_of(name: str) -> str:
    """``holdout`` for the realmask photos; else ``tune`` or ``report``, from a hash of the photo's name."""
    if name.startswith("realmask/"):
        return "holdout"
    return "tune" if _hash(name) % 2 == 0 else "report"


def fold_of(name: str) -> int:
    """Cross-validation fold (0 or 1) of a tune-half photo, from another bit of the same hash."""
    return (_hash(name) >> 1) % 2


# --- regions and edits ---------------------------------------------------------------------


def blob(rng, shape, *, area=(0.04, 0.2), centre=None, avoid=None):
    """A random smooth blob (bool) covering about ``area`` of the image, centred near ``centre``."""
    rows, cols = shape
    diag = np.hypot(rows, cols)
    target = rng.uniform(*area)
    for _ in range(40):
        cr, cc = centre if centre is not None else (rng.uniform(0.2, 0.8) * rows, rng.uniform(0.2, 0.8) * cols)
        radius = np.sqrt(target * rows * cols / np.pi)
        r, c = np.ogrid[:rows, :cols]
        d = np.hypot((r - cr) / rng.uniform(0.7, 1.3), (c - cc) / rng.uniform(0.7, 1.3)) / radius
        field = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 0.04 * diag)
        field *= 0.35 / (field.std() + 1e-6)
        m = (d + field) < 1
        labels, n = ndi.label(m)
        if n == 0:
            continue
        m = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
        m = ndi.binary_fill_holes(m)
        if avoid is not None and (m & (ndi.distance_transform_edt(~avoid) < 0.06 * diag)).any():
            centre = None
            continue
        if 0.5 * area[0] <= m.mean() <= 1.5 * area[1]:
            return m
        centre = None
    raise RuntimeError("could not place a blob")


def _two_blobs(rng, shape, attempts=10):
    """Two separate blobs; a new first one when the second finds no room beside it."""
    for _ in range(attempts):
        first = blob(rng, shape, area=(0.03, 0.1))
        try:
            return [first, blob(rng, shape, area=(0.03, 0.1), avoid=first)]
        except RuntimeError:
            continue
    raise RuntimeError("could not place two separate blobs")


def soften(rng, mask):
    """Soft weight of a boolean region: its edge blurred by 1-4 px."""
    return ndi.gaussian_filter(mask.astype(np.float32), rng.uniform(1.0, 4.0))


def recolour(rng, rgb, strength=1.0, turn=None):
    from skimage import color

    lab = color.rgb2lab(rgb)
    t = rng.uniform(np.pi / 2, np.pi) if turn is None else turn[0]
    ang = rng.uniform(0, 2 * np.pi) if turn is None else turn[1]
    push = strength * (rng.uniform(15, 30) if turn is None else turn[2])
    a, b = lab[..., 1].copy(), lab[..., 2].copy()
    lab[..., 1] = a * np.cos(t) - b * np.sin(t) + push * np.cos(ang)
    lab[..., 2] = a * np.sin(t) + b * np.cos(t) + push * np.sin(ang)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # out-of-gamut colours are clipped, as intended
        return np.clip(color.lab2rgb(lab) * 255, 0, 255)


def noisy_texture(rng, rgb):
    grain = rng.uniform(2.0, 5.0)
    field = ndi.gaussian_filter(rng.standard_normal(rgb.shape[:2]), grain)
    field -= ndi.gaussian_filter(field, 3 * grain)
    field *= rng.uniform(18, 30) / (field.std() + 1e-9)
    tint = rng.uniform(0.6, 1.0, 3)
    return np.clip(rgb + field[..., None] * tint, 0, 255)


def fine_noise(rng, rgb):
    return np.clip(rgb + rng.normal(0, rng.uniform(8, 14), rgb.shape[:2])[..., None]
                   + rng.normal(0, 3, rgb.shape), 0, 255)


def fine_detail(rng, rgb):
    smooth = ndi.gaussian_filter(rgb.astype(np.float32), (2.5, 2.5, 0))
    r, c = np.ogrid[:rgb.shape[0], :rgb.shape[1]]
    t = rng.uniform(0, np.pi)
    period = rng.uniform(4, 7)
    stripes = np.sin((r * np.sin(t) + c * np.cos(t)) * 2 * np.pi / period)
    return np.clip(smooth + rng.uniform(14, 22) * stripes[..., None], 0, 255)


def swap(rng, rgb, other):
    img = Image.fromarray(other).resize((rgb.shape[1], rgb.shape[0]), Image.Resampling.BICUBIC)
    out = np.asarray(img).astype(np.float32)
    return out[:, ::-1] if rng.random() < 0.5 else out


def jpeg(rgb, quality):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _blend(base, edit, weight):
    w = weight[..., None]
    return base * (1 - w) + edit * w


def make_pair(rng, kind, src, other) -> dict:
    """One pair of ``kind``: dict with original, edited, weight (soft edit region), mask, kind, name."""
    rgb = src["rgb"].astype(np.float32)
    shape = rgb.shape[:2]
    diag = np.hypot(*shape)
    if kind == "dark":
        rgb = rgb * rng.uniform(0.12, 0.3)
    elif kind == "lowcontrast":
        rgb = rgb.mean() + (rgb - rgb.mean()) * rgb.dtype.type(rng.uniform(0.25, 0.4))
    original = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)

    if kind == "border":
        side = rng.integers(4)
        cr = [0.0, shape[0] - 1.0, rng.uniform(0.3, 0.7) * shape[0], rng.uniform(0.3, 0.7) * shape[0]][side]
        cc = [rng.uniform(0.3, 0.7) * shape[1], rng.uniform(0.3, 0.7) * shape[1], 0.0, shape[1] - 1.0][side]
        masks = [blob(rng, shape, area=(0.04, 0.12), centre=(cr, cc))]
    elif kind in ("two_regions", "two_places"):
        masks = _two_blobs(rng, shape)
    elif kind == "large":
        masks = [blob(rng, shape, area=(0.35, 0.6))]
    elif kind == "object":
        masks = [src["object"]]
    else:
        masks = [blob(rng, shape)]

    out = original.astype(np.float32)
    turn = (rng.uniform(np.pi / 2, np.pi), rng.uniform(0, 2 * np.pi), rng.uniform(15, 30))
    weight = np.zeros(shape, np.float32)
    for i, m in enumerate(masks):
        w = soften(rng, m)
        if kind in ("recolour", "two_places"):
            full = recolour(rng, original, turn=turn)
        elif kind == "texture":
            full = noisy_texture(rng, out)
        elif kind == "noise":
            full = fine_noise(rng, out)
        elif kind == "detail":
            full = fine_detail(rng, out)
        elif kind == "swap":
            full = swap(rng, out, other)
        elif kind == "lowcontrast":
            full = recolour(rng, original, strength=0.6)
        elif kind == "dark":
            full = swap(rng, out, other) * rng.uniform(0.12, 0.3) if rng.random() < 0.5 else recolour(rng, original)
        elif kind == "border":
            full = recolour(rng, original) if rng.random() < 0.5 else swap(rng, out, other)
        elif kind in ("large", "object"):
            full = [lambda: recolour(rng, original), lambda: noisy_texture(rng, out),
                    lambda: fine_noise(rng, out)][int(rng.integers(3))]()
        else:  # two_regions: each its own edit
            full = recolour(rng, original) if i == 0 else swap(rng, out, other)
        out = _blend(out, full, w)
        weight = np.maximum(weight, w)

    # What editing models add everywhere: drift, two small unrelated changes, JPEG.
    out = out * rng.uniform(0.97, 1.03, 3) + rng.uniform(-4, 4, 3)
    far = ndi.distance_transform_edt(weight < 0.01) > 0.05 * diag
    for _ in range(2):
        cand = np.argwhere(far[::4, ::4]) * 4
        if not len(cand):  # a large region leaves no room far from it
            break
        cr, cc = cand[rng.integers(len(cand))]
        r, c = np.ogrid[:shape[0], :shape[1]]
        spot = ndi.gaussian_filter(((np.hypot(r - cr, c - cc)) <= rng.uniform(0.004, 0.01) * diag).astype(np.float32),
                                   1.5)
        if rng.random() < 0.5:
            changed = out + rng.uniform(15, 35) * rng.choice([-1, 1], 3)
        else:
            changed = ndi.gaussian_filter(out, (3, 3, 0))
        out = _blend(out, changed, spot)
    edited = jpeg(np.clip(np.rint(out), 0, 255).astype(np.uint8), rng.integers(75, 91))
    return {"original": original, "edited": edited, "weight": weight, "mask": weight > 0.5, "kind": kind,
            "name": src["name"]}


def make_pairs(sources, split, per_kind, seed=SEED):
    """``per_kind`` pairs of each kind for ``split`` (``tune``, ``report`` or ``holdout``),
    deterministic for a ``seed`` (the tables use ``SEED`` on the tune half and ``REPORT_SEEDS``
    on the others; the cross-validation rounds of BENCHMARKS.md add 7 and 8 on the tune half)."""
    pool = [s for s in sources if half_of(s["name"]) == split]
    objects = [s for s in pool if s.get("object") is not None
               and OBJECT_AREA[0] <= s["object"].mean() <= OBJECT_AREA[1]]
    pairs = []
    for k, kind in enumerate(KINDS):
        photos = objects if kind == "object" else pool
        if not photos:
            print(f"note: no {split} photo has an object mask; the '{kind}' kind is skipped.", file=sys.stderr)
            continue
        rng = np.random.default_rng([seed, k, {"tune": 0, "report": 1, "holdout": 2}[split]])
        for i in range(per_kind):
            src = photos[(k * 7 + i * 3) % len(photos)]
            other = pool[(k * 7 + i * 3 + 11) % len(pool)]
            pair = make_pair(rng, kind, src, other["rgb"])
            pair["fold"] = fold_of(src["name"])
            pair["split"] = split
            pairs.append(pair)
    return pairs


# --- scoring -------------------------------------------------------------------------------


def psnr(a, b):
    mse = float(np.mean(np.square(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    return 10.0 * np.log10(255.0 ** 2 / mse) if mse > 0 else float("inf")


def score(pair, mask, composite) -> dict:
    pred = mask >= 0.5
    gt = pair["mask"]
    union = np.logical_or(pred, gt).sum()
    untouched = pair["weight"] < 0.01
    return {"iou": float(np.logical_and(pred, gt).sum() / union) if union else 1.0,
            "psnr_out": psnr(composite[untouched], pair["original"][untouched])}


def evaluate(pairs, merge, options=None) -> list[dict]:
    rows = []
    for p in pairs:
        kw = {} if options is None else {"options": options}
        res = merge(p["original"], p["edited"], **kw)
        rows.append({"kind": p["kind"], "name": p["name"], "split": p["split"], "fold": p["fold"],
                     **score(p, res.mask, res.composite)})
    return rows


def per_kind(rows) -> dict:
    """kind -> {n, iou_mean, iou_ok, psnr_ok}; plus ``all``."""
    out = {}
    for kind in KINDS + ("all",):
        sub = [r for r in rows if kind in ("all", r["kind"])]
        if sub:
            out[kind] = {"n": len(sub), "iou_mean": statistics.mean(r["iou"] for r in sub),
                         "iou_ok": sum(r["iou"] >= IOU_TARGET for r in sub) / len(sub),
                         "psnr_ok": sum(r["psnr_out"] >= PSNR_TARGET for r in sub) / len(sub)}
    return out


def kind_table(columns: dict) -> str:
    """Markdown: one row per kind; per named set of rows, IoU mean / share >= 0.90 / PSNR share (pairs)."""
    stats = {name: per_kind(rows) for name, rows in columns.items()}
    head = "| kind | " + " | ".join(f"{name}: IoU mean, IoU ≥ {IOU_TARGET:.2f}, PSNR ≥ {PSNR_TARGET:.0f} dB (pairs)"
                                    for name in columns) + " |"
    lines = [head, "|---|" + "---|" * len(columns)]
    for kind in KINDS + ("all",):
        cells = []
        for name in columns:
            s = stats[name].get(kind)
            cells.append("–" if s is None else f"{s['iou_mean']:.3f}, {s['iou_ok']:.0%}, {s['psnr_ok']:.0%} ({s['n']})")
        label = f"**{kind}**" if kind == "all" else kind
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pairwise(new_rows, old_rows, margin=0.02) -> str:
    """Pair-by-pair comparison: how many pairs got better, worse (by more than ``margin`` IoU), or held."""
    old = {(r["split"], r["kind"], r["name"], i): r for i, r in enumerate(old_rows)}
    better = worse = same = 0
    worst = []
    for i, r in enumerate(new_rows):
        o = old[(r["split"], r["kind"], r["name"], i)]
        d = r["iou"] - o["iou"]
        if d > margin:
            better += 1
        elif d < -margin:
            worse += 1
            worst.append((d, r["kind"], r["name"], o["iou"], r["iou"]))
        else:
            same += 1
    text = (f"Pair by pair against the previous method: {better} better, {same} within ±{margin} IoU, "
            f"{worse} worse")
    if worst:
        text += " (" + "; ".join(f"{k} {n}: {a:.2f} → {b:.2f}" for _, k, n, a, b in sorted(worst)[:5]) + ")"
    return text + "."


#: Candidate settings of :mod:`alphacut.editmerge`'s constants for ``--cv`` (each name is looked up
#: in ``merge``, then ``regions``): session 20's boundary rules. The band's floor inside the
#: coarse regions (``_BOUNDARY_FLOOR``, a fraction of the threshold: 1 was the threshold itself,
#: 0.7 the hysteresis level the regions were grown to); the half height taken from the core nearby
#: (``_BOUNDARY_LOCAL`` band widths; 0: the whole region's median); and a spiky region's outline
#: grown out on the detection map (``_BOUNDARY_GROW``). Earlier rounds chose the texture-change,
#: structure-change, outline, wide-texture and region-level constants the same way; their
#: variants and fold tables are in BENCHMARKS.md.
VARIANTS = {
    "floor 1, whole region, no growth (the method before)": {"_BOUNDARY_FLOOR": 1.0, "_BOUNDARY_LOCAL": 0.0,
                                                             "_BOUNDARY_GROW": False},
    "floor 1, whole region, growth": {"_BOUNDARY_FLOOR": 1.0, "_BOUNDARY_LOCAL": 0.0},
    "floor 0.7, whole region, growth": {"_BOUNDARY_LOCAL": 0.0},
    "floor 0.5, whole region, growth": {"_BOUNDARY_FLOOR": 0.5, "_BOUNDARY_LOCAL": 0.0},
    "floor 0.7, core within 1 band width, growth": {"_BOUNDARY_LOCAL": 1.0},
    "floor 0.7, core within 2 band widths, growth (chosen)": {},
    "floor 0.7, core within 4 band widths, growth": {"_BOUNDARY_LOCAL": 4.0},
    "floor 0.7, core within 2 band widths, no growth": {"_BOUNDARY_GROW": False},
}
# The table of VARIANTS was run before the texture-clearing level changed: they keep it at 1.
for _consts in VARIANTS.values():
    _consts.setdefault("_CLEAR_LEVEL", 1.0)
#: Then, with those boundary rules, how strong a change of the mean colour sets the texture aside
#: around it (``_CLEAR_LEVEL``, times the threshold; 1 was the threshold itself).
CLEAR_VARIANTS = {
    "texture set aside near a change of 1 x the threshold (the method before)": {"_CLEAR_LEVEL": 1.0},
    "... of 1.5 x": {"_CLEAR_LEVEL": 1.5},
    "... of 2 x": {"_CLEAR_LEVEL": 2.0},
    "... of 3 x (chosen)": {},
    "... of 4 x": {"_CLEAR_LEVEL": 4.0},
}


def criterion(rows) -> tuple[float, float]:
    """What a setting is chosen by: the share of pairs with IoU >= 0.90 averaged over the kinds
    (every kind counts the same), then the mean IoU."""
    stats = per_kind(rows)
    kinds = [k for k in KINDS if k in stats]
    return (statistics.mean(stats[k]["iou_ok"] for k in kinds), stats["all"]["iou_mean"])


def cross_validate(pairs, merge, module, variants=None, options=None) -> str:
    """Two folds of the tune half: each variant scored on each fold; the best on one fold is
    reported on the other (``options``: the merge's, as in :func:`evaluate`). Returns a Markdown
    table and the two choices."""
    from alphacut.editmerge import regions

    def owner(name):
        return next(m for m in (module, regions) if hasattr(m, name))

    scores = {}
    for name, consts in (VARIANTS if variants is None else variants).items():
        saved = {k: getattr(owner(k), k) for k in consts}
        try:
            for k, v in consts.items():
                setattr(owner(k), k, v)
            rows = evaluate(pairs, merge, options)
        finally:
            for k, v in saved.items():
                setattr(owner(k), k, v)
        scores[name] = {f: criterion([r for r in rows if r["fold"] == f]) for f in (0, 1)}
        print(f"{name}: fold 0 {scores[name][0]}, fold 1 {scores[name][1]}", file=sys.stderr, flush=True)
    lines = ["| variant | fold 0: kinds' mean share IoU ≥ 0.90, IoU mean | fold 1: same |", "|---|---|---|"]
    for name, sc in scores.items():
        lines.append(f"| {name} | {sc[0][0]:.0%}, {sc[0][1]:.3f} | {sc[1][0]:.0%}, {sc[1][1]:.3f} |")
    for f in (0, 1):
        best = max(scores, key=lambda n: scores[n][f])
        lines.append(f"\nChosen on fold {f}: {best}; on fold {1 - f}: {scores[best][1 - f][0]:.0%}, "
                     f"{scores[best][1 - f][1]:.3f}.")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--split", choices=("tune", "report", "both", "holdout", "all"), default="tune")
    ap.add_argument("--per-kind", type=int, default=8)
    ap.add_argument("--seed", type=int, nargs="+", default=[SEED],
                    help="seeds of the edits, pairs of each in turn (the tables use the default on the tune half, "
                         "REPORT_SEEDS on the others; --cv takes the first)")
    ap.add_argument("--json", type=Path, help="write the per-pair rows here")
    ap.add_argument("--compare", type=Path, help="per-pair rows of another method (from --json) to compare with")
    ap.add_argument("--code", type=Path, default=ROOT / "py",
                    help="the directory that holds the alphacut package (a checkout's py/)")
    ap.add_argument("--cv", action="store_true", help="two-fold cross-validation of VARIANTS on the tune half")
    ap.add_argument("--cv-clear", action="store_true", help="the same for CLEAR_VARIANTS")
    ap.add_argument("--analysis-max-side", type=int,
                    help="merge with this analysis size (MergeOptions.analysis_max_side): below the photos' "
                         "size, it scores them as a photo that many times larger is scored at the default")
    args = ap.parse_args(argv)
    # Deliberate, and the only sys.path change in bench/: --code names the directory of an alphacut package,
    # this checkout's py/ by default or another checkout's (bench/editmerge.py --previous), so that the
    # same pairs score an older method for the before/after table. It goes first so that it wins over
    # the venv's alphacut-dev.pth; alphacut is imported only below, after it.
    code = args.code.resolve()
    if not (code / "alphacut" / "__init__.py").is_file():
        ap.error(f"--code {args.code}: no alphacut package in it (give the directory that holds alphacut/, "
                 "a checkout's py/)")
    sys.path.insert(0, str(code))
    import alphacut
    from alphacut.editmerge import merge as editmerge
    from alphacut.editmerge import MergeOptions, merge_edit

    if Path(alphacut.__file__).resolve().parent.parent != code:  # imported before, from elsewhere
        ap.error(f"--code {args.code}: alphacut was imported from {alphacut.__file__}")

    options = None if args.analysis_max_side is None else MergeOptions(analysis_max_side=args.analysis_max_side)

    sources = load_sources(args.data_root)
    if args.cv or args.cv_clear:
        print(cross_validate(make_pairs(sources, "tune", args.per_kind, args.seed[0]), merge_edit, editmerge,
                             CLEAR_VARIANTS if args.cv_clear else VARIANTS, options))
        return
    splits = {"both": ("tune", "report"), "all": ("tune", "report", "holdout")}.get(args.split, (args.split,))
    rows = [dict(r, seed=seed) for s in splits for seed in args.seed
            for r in evaluate(make_pairs(sources, s, args.per_kind, seed), merge_edit, options)]
    columns = {s: [r for r in rows if r["split"] == s] for s in splits}
    print(kind_table(columns))
    if args.compare:
        print(pairwise(rows, json.loads(args.compare.read_text())))
    if args.json:
        args.json.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()

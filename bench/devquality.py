"""The default pipeline against the peer-equivalent baseline on every dev set, photo by photo.

For each dev set (devsets.py) and each photo: the baseline (squash, uint8, bilinear: the peer's
output) and ``alphacut.pipeline.find_matte`` at its defaults, fed the cached model outputs, with
the fp32 graph and with the int8 graph the page runs on WASM. Reported per set and per fold
(tune-a, tune-b: the cross-validation folds the settings were chosen on; final: untouched until
the choice was made): mean SAD, MSE and Grad as ratios to the baseline, photos more than 1.10×
and 1.25× worse than their own baseline, the worst photo, how many escalated, and the quality
check's recall on results more than 1.25× worse than their baseline. Then the time of each
post-processing stage at 12 MP (``alphacut.pipeline.cutout`` in CPython, the model's output from
the cache, so inference is not in it): the usual path (the check is good: upsample only) and the
path that escalates (letterboxed pass and refinement).

Photos above --max-mp megapixels are shrunk first (box filter), for time.

Usage: python -m bench.devquality [--sets NAME ...] [--max-mp 2.5] [--write BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
import time
from pathlib import Path

import numpy as np

from alphacut.runtime.ort_backend import OrtInfer, default_model_path
from alphacut.pipeline import find_matte

from .devsets import DATA_ROOT, DEFAULT_SETS, FOLDS, load_set, metrics, model_output, peer_baseline

BEGIN, END = "<!-- devquality:begin -->", "<!-- devquality:end -->"


def run_default(rgb, infer):
    """find_matte at its defaults, with the squashed then the letterboxed output from the cache."""
    calls = iter(["squash", "letterbox"])

    async def cached(x):
        return model_output(rgb, infer, next(calls))

    return asyncio.run(find_matte(rgb, cached))


STAGES_12MP = (4240, 2832)


def stage_times(photo, infer, repeat: int = 3) -> list[str]:
    """Per-stage post-processing time of ``cutout`` on ``photo`` enlarged to 12 MP (median of
    ``repeat``), on the default path and with escalation forced; inference is served from the cache."""
    from PIL import Image

    from alphacut.io.encode import encode_png
    from alphacut.pipeline import Options, cutout

    rgb, _ = photo.load()
    big = np.asarray(Image.fromarray(rgb).resize(STAGES_12MP, Image.BICUBIC))
    data = encode_png(big, compress_level=1)
    rows = {}
    for path, options in (("default", Options()), ("escalated", Options(escalate="force"))):
        runs = []
        for _ in range(repeat):
            calls = iter(["squash", "letterbox"])

            async def cached(x):
                return model_output(big, infer, next(calls))

            r = asyncio.run(cutout(data, cached, options=options))
            runs.append(r.report["timings_ms"])
        rows[path] = {k: float(np.median([t.get(k, 0.0) for t in runs])) for k in runs[0]}
    stages = [k for k in rows["escalated"] if k not in ("infer", "prepare")]
    stages += [k for k in rows["default"] if k not in stages and k not in ("infer", "prepare")]
    post = [k for k in stages if k not in ("decode", "encode")]
    out = [f"Post-processing at 12 MP ({STAGES_12MP[0]} × {STAGES_12MP[1]}, {photo.set}/{photo.id} enlarged), ms, "
           f"median of {repeat}; inference excluded (cached); 'post-processing' is every stage but decode and "
           "encode:", "", "| stage | " + " | ".join(stages) + " | post-processing |",
           "|---|" + "---|" * (len(stages) + 1)]
    for path, t in rows.items():
        out.append(f"| {path} | " + " | ".join(f"{t.get(k, 0):.0f}" for k in stages) +
                   f" | **{sum(t.get(k, 0) for k in post):.0f}** |")
    return out


def changed_outside_band(alpha: np.ndarray, raw: np.ndarray) -> float:
    """Share of the photo's pixels that the pipeline moved by more than 0.02 from the model's own
    matte where the model is sure (outside its band): the no-harm check, which needs no ground
    truth. Settling the haze (anchor.settle) moves them by less than 0.02."""
    from alphacut.matte import anchor

    base, inside = anchor.bounds(raw, alpha.shape)
    return float(((np.abs(alpha - base) > 0.02) & ~inside).mean())


def table(rows, label) -> list[str]:
    out = []
    for fold in FOLDS + ("all",):
        sub = [r for r in rows if fold in ("all", r["fold"])]
        if not sub:
            continue
        b = np.array([r["base"] for r in sub])
        c = np.array([r[label] for r in sub])
        per = c[:, 0] / np.maximum(b[:, 0], 1e-9)
        w = int(np.argmax(per))
        bad = [r for r, p in zip(sub, per) if p > 1.25]
        caught = sum(r[label + "_verdict"] != "good" for r in bad)
        recall = f"{caught}/{len(bad)}" if bad else "none to catch"
        out.append(f"| {fold} | {len(sub)} | {c[:, 0].mean() / b[:, 0].mean():.3f}× | {c[:, 1].mean() / b[:, 1].mean():.3f}× "
                   f"| {c[:, 2].mean() / b[:, 2].mean():.3f}× | {(per > 1.10).sum()} ({100 * (per > 1.10).mean():.0f}%) "
                   f"| {(per > 1.25).sum()} | {per[w]:.2f}× ({sub[w]['id']}) | "
                   f"{sum(r[label + '_esc'] for r in sub)} | {recall} |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    ap.add_argument("--max-mp", type=float, default=2.5)
    ap.add_argument("--write", type=Path)
    ap.add_argument("--int8-sets", nargs="*", default=None,
                    help="sets to run the int8 graph on too (default: all); each costs two inferences a photo")
    args = ap.parse_args(argv)
    graphs = {"fp32": OrtInfer(default_model_path()), "int8": OrtInfer(default_model_path(variant="int8"))}
    lines = [f"Measured {datetime.date.today().isoformat()}, CPython, native onnxruntime; photos over "
             f"{args.max_mp:g} MP shrunk first. Command: `make bench-quality` (`python -m bench.devquality "
             "--write BENCHMARKS.md`). Ratios are to the peer-equivalent baseline of the same graph's squashed "
             "output (ratio of the means); 'worse' counts photos whose own SAD is more than 1.10× / 1.25× their "
             "baseline's; recall: results more than 1.25× worse that the quality check did not call good.", ""]
    t0 = time.perf_counter()
    for name in args.sets:
        path = Path(name) if Path(name).is_dir() else DATA_ROOT / name
        try:
            photos = load_set(path)
        except FileNotFoundError as e:
            lines += [f"**{name}**: not measured ({e}).", ""]
            continue
        rows = []
        for ph in photos:
            rgb, gt = ph.load(int(args.max_mp * 1e6))
            row = {"id": ph.id, "fold": ph.fold, "category": ph.category}
            for g, infer in graphs.items():
                if g == "int8" and args.int8_sets is not None and name not in args.int8_sets:
                    continue
                base = metrics(peer_baseline(model_output(rgb, infer), gt.shape), gt)
                m = run_default(rgb, infer)
                row[g + "_base"], row[g] = base, metrics(m.alpha, gt)
                if g == "fp32":
                    row["outside"] = changed_outside_band(m.alpha, model_output(rgb, infer))
                row[g + "_verdict"], row[g + "_esc"] = m.quality.verdict, bool(m.escalation["ran"])
            row["base"] = row["fp32_base"]
            rows.append(row)
            print(f"{name}/{ph.id} {row['fp32'][0] / row['base'][0]:.2f}", file=sys.stderr)
        head = ["| fold | photos | SAD | MSE | Grad | worse > 1.10× | worse > 1.25× | worst | escalated | "
                "check recall on > 1.25× |", "|---|---|---|---|---|---|---|---|---|---|"]
        cats = sorted({r["category"] for r in rows})
        lines += [f"**{name}** ({len(rows)} photos; {', '.join(cats)}), fp32 graph:", ""] + head + table(rows, "fp32")
        if "int8" in rows[0]:
            int8_rows = [dict(r, base=r["int8_base"]) for r in rows]
            lines += ["", f"**{name}**, int8 graph (what WASM runs), against its own baseline:", ""] + head + \
                table(int8_rows, "int8")
            f = np.array([r["fp32"][0] for r in rows])
            i = np.array([r["int8"][0] for r in rows])
            lines += ["", f"int8 against fp32, default pipeline: mean SAD {i.mean() / f.mean():.3f}×, Grad "
                      f"{np.mean([r['int8'][2] for r in rows]) / np.mean([r['fp32'][2] for r in rows]):.3f}×."]
        else:
            lines += ["", f"**{name}**, int8 graph: not measured in this run (`--int8-sets`)."]
        out = np.array([r["outside"] for r in rows])
        lines += ["", f"No-harm check (no ground truth needed): pixels moved by more than 0.02 from the model's "
                  f"matte outside its band: at most {100 * out.max():.3f}% of a photo, on {(out > 0).sum()} of "
                  f"{len(rows)} photos."]
        lines += ["", "<details><summary>Per photo (fp32: baseline SAD, default SAD, ratio, verdict)</summary>", "",
                  "| photo | category | fold | baseline SAD | default SAD | ratio | Grad ratio | verdict | escalated |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['id']} | {r['category']} | {r['fold']} | {r['base'][0]:.2f} | {r['fp32'][0]:.2f} | "
                         f"{r['fp32'][0] / max(r['base'][0], 1e-9):.2f} | {r['fp32'][2] / max(r['base'][2], 1e-9):.2f} | "
                         f"{r['fp32_verdict']} | {'yes' if r['fp32_esc'] else ''} |")
        lines += ["", "</details>", ""]
    try:
        photo = max(load_set(DATA_ROOT / "realmask"), key=lambda p: p.image_path.stat().st_size)
        lines += stage_times(photo, graphs["fp32"]) + [""]
    except FileNotFoundError as e:
        lines += [f"Post-processing at 12 MP: not measured ({e}).", ""]
    lines.append(f"({time.perf_counter() - t0:.0f} s in all.)")
    text = "\n".join(lines)
    print(text)
    if args.write:
        from .common import write_section

        write_section(args.write, text, BEGIN, END, "## Quality on every dev set, photo by photo (CPython)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quality on the dev sets beside rembg, on the same weights, with and without its alpha matting.

For each dev set (devsets.py) and each photo, four mattes against the ground truth:

- the peer-equivalent baseline (squash, uint8, bilinear), for scale;
- ``rembg p -m dis_custom`` on the same fp32 IS-Net graph (rembg 2.0.86 from its own venv:
  ``REMBG``, as in batch_cli.py): the model's mask, min-max normalised, resized with Lanczos;
- the same with ``-a`` (alpha matting at rembg's defaults: trimap from the mask thresholded at
  240/10 and eroded by 10 px, then pymatting's closed-form matting);
- alphacut's default pipeline (``find_matte`` at its defaults, the cached model outputs).

rembg reads the very photos alphacut gets (PNG, shrunk above ``--max-mp`` megapixels), written to a
temporary folder (research data: never into the repo). Reported per set and per fold (tune-a,
tune-b, final): mean SAD, MSE and Grad of each, alphacut's ratio of means to rembg with alpha
matting, and photo by photo how many of alphacut's results are more than 1.10× worse (SAD) than
rembg's with alpha matting, and how many are more than 1.10× better. Nothing was tuned on rembg's
numbers: this compares, it does not choose.

Usage: python -m bench.rembg_quality [--sets NAME ...] [--max-mp 2.5] [--keep DIR] [--write BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from alphacut.runtime.ort_backend import OrtInfer, default_model_path

from .common import rembg_model
from .devquality import run_default
from .devsets import DATA_ROOT, DEFAULT_SETS, FOLDS, load_set, metrics, model_output, peer_baseline

BEGIN, END = "<!-- rembg-quality:begin -->", "<!-- rembg-quality:end -->"
REMBG = Path(os.environ.get("REMBG", "/tmp/rembg-venv/bin/rembg"))
METHODS = ("baseline", "rembg", "rembg -a", "alphacut")


def run_rembg(inputs: Path, out: Path, graph: Path, home: Path, matting: bool) -> float:
    """``rembg p`` over the folder ``inputs`` into ``out`` with the graph ``graph``; returns seconds."""
    model = rembg_model(graph, home)
    cmd = [str(REMBG), "p", *(["-a"] if matting else []), "-m", "dis_custom",
           "-x", json.dumps({"model_path": str(model)}), str(inputs), str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "U2NET_HOME": str(home)})
    if proc.returncode != 0:
        raise RuntimeError(f"rembg failed: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - t0


def rembg_alpha(path: Path, shape) -> np.ndarray:
    """The alpha channel of rembg's RGBA output at ``path`` as float in [0, 1]."""
    img = Image.open(path)
    if img.size != shape[::-1]:
        raise ValueError(f"{path.name}: rembg wrote {img.size}, expected {shape[::-1]}")
    return np.asarray(img.getchannel("A"), np.float32) / 255


def fold_table(rows: list[dict]) -> list[str]:
    """Per fold and overall: each method's mean SAD / MSE / Grad, and alphacut against ``rembg -a``."""
    lines = ["| fold | photos | " + " | ".join(f"{m} SAD / MSE / Grad" for m in METHODS)
             + " | alphacut / rembg -a (SAD, Grad) | alphacut > 1.10× worse | > 1.10× better |",
             "|---|---|" + "---|" * len(METHODS) + "---|---|---|"]
    for fold in (*FOLDS, "all"):
        part = [r for r in rows if fold in ("all", r["fold"])]
        if not part:
            continue
        means = {m: np.mean([r[m] for r in part], axis=0) for m in METHODS}
        per = np.array([r["alphacut"][0] / max(r["rembg -a"][0], 1e-9) for r in part])
        cells = " | ".join(f"{s:.2f} / {e:.2f} / {g:.2f}" for s, e, g in (means[m] for m in METHODS))
        lines.append(f"| {fold} | {len(part)} | {cells} | {means['alphacut'][0] / means['rembg -a'][0]:.3f}, "
                     f"{means['alphacut'][2] / means['rembg -a'][2]:.3f} | {(per > 1.10).sum()} | "
                     f"{(per < 1 / 1.10).sum()} |")
    return lines


def measure(sets, max_mp: float, work: Path) -> tuple[dict[str, list[dict]], dict[str, float], list[str]]:
    """Every photo's four metric rows, per set; rembg's seconds per mode; the sets not measured."""
    infer = OrtInfer(default_model_path())
    graph = default_model_path()
    loaded, missing = {}, []
    inputs = work / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    for name in sets:
        path = Path(name) if Path(name).is_dir() else DATA_ROOT / name
        try:
            loaded[name] = load_set(path)
        except FileNotFoundError as e:
            missing.append(f"**{name}**: not measured ({e}).")
            continue
        for ph in loaded[name]:
            target = inputs / f"{name}__{ph.id}.png"
            if not target.exists():
                rgb, _ = ph.load(int(max_mp * 1e6))
                Image.fromarray(rgb).save(target)
    seconds = {}
    for mode, matting in (("rembg", False), ("rembg -a", True)):
        out = work / mode.replace(" ", "")
        todo = [p for p in inputs.iterdir() if not (out / p.name).exists()]
        if todo:  # rembg p does a whole folder: hand it only what is not done yet
            pending = work / "pending"
            shutil.rmtree(pending, ignore_errors=True)
            pending.mkdir()
            for p in todo:
                (pending / p.name).symlink_to(p)
            seconds[mode] = run_rembg(pending, out, graph, work / "home", matting)
    rows = {}
    for name, photos in loaded.items():
        rows[name] = []
        for ph in photos:
            rgb, gt = ph.load(int(max_mp * 1e6))
            key = f"{name}__{ph.id}.png"
            mattes = {"baseline": peer_baseline(model_output(rgb, infer), gt.shape),
                      "rembg": rembg_alpha(work / "rembg" / key, gt.shape),
                      "rembg -a": rembg_alpha(work / "rembg-a" / key, gt.shape),
                      "alphacut": run_default(rgb, infer).alpha}
            rows[name].append({"id": ph.id, "fold": ph.fold, "category": ph.category,
                               **{m: metrics(a, gt) for m, a in mattes.items()}})
            print(f"{name}/{ph.id} " + " ".join(f"{rows[name][-1][m][0]:.2f}" for m in METHODS), file=sys.stderr)
    return rows, seconds, missing


def report(rows: dict[str, list[dict]], seconds: dict[str, float], missing: list[str], max_mp: float) -> str:
    lines = [f"Measured {datetime.date.today().isoformat()}, CPython; rembg 2.0.86 (`rembg p -m dis_custom`, "
             f"with and without `-a`) and alphacut on the same fp32 IS-Net graph and the same photos (over "
             f"{max_mp:g} MP shrunk first). Command: `make bench-batch-cli` (`python -m bench.rembg_quality "
             "--write BENCHMARKS.md`). Cells: mean SAD / MSE×1000 / Grad against the ground truth (lower is "
             "better); 'worse'/'better' count photos whose own SAD is more than 1.10× above / below rembg -a's. "
             "realmask and ecssd60 have binary ground truth, which rewards crisp edges; alphamatting27 has "
             "soft alpha.", ""]
    every = []
    for name, part in rows.items():
        cats = sorted({r["category"] for r in part})
        lines += [f"**{name}** ({len(part)} photos; {', '.join(cats)}):", ""] + fold_table(part) + [""]
        every += part
    if len(rows) > 1:
        lines += ["**All sets together**:", ""] + fold_table(every) + [""]
    lines += missing
    if seconds:
        lines += ["rembg's time for the photos it ran this time: " + ", ".join(
            f"{m} {s:.0f} s" for m, s in seconds.items()) + " (alpha matting is pymatting's closed-form solve "
            "over the whole photo).", ""]
    lines += ["<details><summary>Per photo (SAD: baseline, rembg, rembg -a, alphacut)</summary>", "",
              "| set | photo | category | fold | baseline | rembg | rembg -a | alphacut | alphacut / rembg -a |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, part in rows.items():
        for r in part:
            lines.append(f"| {name} | {r['id']} | {r['category']} | {r['fold']} | " + " | ".join(
                f"{r[m][0]:.2f}" for m in METHODS) + f" | {r['alphacut'][0] / max(r['rembg -a'][0], 1e-9):.2f} |")
    lines += ["", "</details>"]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    ap.add_argument("--max-mp", type=float, default=2.5)
    ap.add_argument("--keep", type=Path, help="keep the photos and rembg's outputs here (a rerun reuses them)")
    ap.add_argument("--write", type=Path)
    args = ap.parse_args(argv)
    if not REMBG.is_file():
        print(f"rembg quality: not measured: {REMBG} missing "
              "(pip install 'rembg[cpu,cli]==2.0.86' into a venv there, or set REMBG)", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rows, seconds, missing = measure(args.sets, args.max_mp, args.keep or Path(tmp))
    text = report(rows, seconds, missing, args.max_mp)
    print(text)
    if args.write:
        from .common import write_section

        write_section(args.write, text, BEGIN, END, "## Quality beside rembg, with and without its alpha matting")
    return 0


if __name__ == "__main__":
    sys.exit(main())

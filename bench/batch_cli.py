"""The CLI as a batch tool: images per second on a folder of 2 MP and 12 MP photos.

Modes, each on the same folder, all with the fp32 IS-Net graph (rembg with the assembled
original, its ``dis_custom`` session, the same weights): the plain loop (``--jobs 1``), the
parallel CLI (``--jobs`` = cores), Ray Data on this machine (``--ray``), and ``rembg p``
(from a separate venv; skipped with the reason when it is missing). The photos are made by
resizing alphamatting27 photos (research data: read from ``--data``, written to a temp folder,
never into the repo). Every run starts from an empty output folder and includes its start-up
(process pool, Ray instance, session creation), as a user's run would.

Usage: python -m bench.batch_cli --data ../shared/data/alphamatting27 [--count 100] [--write BENCHMARKS.md]
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

from PIL import Image

from alphacut.fetch import cache_dir
from alphacut.models import load_manifest

from .common import rembg_model
from .speed import machine, write_section

ROOT = Path(__file__).resolve().parent.parent

BEGIN, END = "<!-- batch-cli:begin -->", "<!-- batch-cli:end -->"
REMBG = Path(os.environ.get("REMBG", "/tmp/rembg-venv/bin/rembg"))


def make_photos(data: Path, out: Path, count: int, megapixels: float) -> Path:
    """``count`` JPEGs of about ``megapixels``, resized from the photos in ``data/image``."""
    sources = sorted((data / "image").glob("*.png")) or sorted((data / "image").iterdir())
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = Image.open(sources[i % len(sources)]).convert("RGB")
        scale = (megapixels * 1e6 / (img.width * img.height)) ** 0.5
        img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR).save(
            out / f"{i:03d}.jpg", quality=92)
    return out


def timed(cmd: list[str], env: dict | None = None) -> float | str:
    """Seconds ``cmd`` took, or its error's last line."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]
    return time.perf_counter() - t0


def modes(folder: Path, out: Path, cores: int, home: Path) -> dict[str, list[str] | str]:
    """Each mode's command (or why it is skipped). ``home``: rembg's model folder (U2NET_HOME)."""
    cli = [sys.executable, "-m", "alphacut", str(folder), "--overwrite"]
    fp32 = cache_dir() / "models" / load_manifest("isnet")["variants"]["fp32"]["file"]
    found = {
        "plain loop (--jobs 1)": cli + ["-o", str(out / "plain"), "--jobs", "1"],
        f"parallel CLI (--jobs {cores})": cli + ["-o", str(out / "par"), "--jobs", str(cores)],
        f"Ray Data, local (--ray --jobs {cores})": cli + ["-o", str(out / "ray"), "--ray", "--jobs", str(cores)],
    }
    if REMBG.is_file():
        model = rembg_model(fp32, home)
        found["rembg 2.0.86 p, dis_custom, the same fp32 graph"] = [
            str(REMBG), "p", "-m", "dis_custom", "-x", f'{{"model_path": "{model}"}}', str(folder),
            str(out / "rembg")]
    else:
        found["rembg"] = f"skipped: {REMBG} missing (pip install 'rembg[cpu,cli]==2.0.86' into a venv there)"
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--sizes", default="2,12", help="megapixels, comma-separated")
    ap.add_argument("--write", type=Path)
    ap.add_argument("--json", type=Path, help="also write the raw measurements here")
    ap.add_argument("--from-json", type=Path, help="only render the report from measurements saved by --json")
    args = ap.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        args.count, args.sizes = saved["count"], saved["sizes"]
        return _publish(report([tuple(r) for r in saved["rows"]], args, cores, saved["date"]), args)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "py"), "U2NET_HOME": str(Path(tmp) / "rembg-home")}
        for mp in (float(s) for s in args.sizes.split(",")):
            folder = make_photos(args.data, Path(tmp) / f"in-{mp:g}", args.count, mp)
            for name, cmd in modes(folder, Path(tmp) / f"out-{mp:g}", cores, Path(tmp) / "rembg-home").items():
                took = cmd if isinstance(cmd, str) else timed(cmd, env)
                rows.append((mp, name, took, os.getloadavg()[0]))
                print(rows[-1], flush=True)
            shutil.rmtree(folder)
    if args.json:
        args.json.write_text(json.dumps({"count": args.count, "sizes": args.sizes, "rows": rows,
                                         "date": str(datetime.date.today())}))
    return _publish(report(rows, args, cores, str(datetime.date.today())), args)


def _publish(text: str, args) -> int:
    print(text)
    if args.write:
        write_section(args.write, text, BEGIN, END, heading="## The CLI on a folder: images per second")
    return 0


def targets(rows) -> str:
    """The issue's targets, met or not, on the largest size measured."""
    ok = {mp: t for mp, name, t, _ in rows if isinstance(t, float)}
    by = {(mp, name.split(" ")[0]): t for mp, name, t, _ in rows if isinstance(t, float)}
    mp = max(ok)
    parts = []
    if (mp, "plain") in by and (mp, "parallel") in by:
        r = by[mp, "plain"] / by[mp, "parallel"]
        parts.append(f"parallel CLI / plain loop at {mp:g} MP ≥ 1.6: {r:.2f} ({'met' if r >= 1.6 else 'not met'})")
    for size in sorted({m for m, _ in by}):
        if (size, "rembg") in by and (size, "parallel") in by:
            r = by[size, "rembg"] / by[size, "parallel"]
            parts.append(f"parallel CLI ≥ rembg at {size:g} MP: {r:.2f}x rembg's images/s "
                         f"({'met' if r >= 1 else 'not met'})")
    return "Targets: " + "; ".join(parts) + "."


def report(rows, args, cores: int, date: str) -> str:
    lines = [f"Measured {date} on {machine()}, CPython. Command: `python -m bench.batch_cli "
             f"--count {args.count} --sizes {args.sizes}`. Each run includes its start-up (pool, Ray, sessions).",
             f"The last column is the machine's 1-minute load average at the end of the run ({cores} cores: above "
             f"{cores} means other work shared them).",
             "", "| photos | mode | seconds | images/s | vs plain loop | load |", "|---|---|---|---|---|---|"]
    plain = {mp: t for mp, name, t, _ in rows if name.startswith("plain") and isinstance(t, float)}
    for mp, name, took, load in rows:
        if isinstance(took, float):
            ratio = f"{plain[mp] / took:.2f}x" if mp in plain else "-"
            lines.append(f"| {args.count} x {mp:g} MP | {name} | {took:.1f} | {args.count / took:.2f} | {ratio} "
                         f"| {load:.1f} |")
        else:
            lines.append(f"| {args.count} x {mp:g} MP | {name} | - | - | {took} | |")
    lines += ["", targets(rows), "",
              "rembg runs the model and scales its mask to the photo; alphacut also refines the edges, "
              "decontaminates their colours, checks the matte's quality and, where the check fails, runs a second, "
              "letterboxed pass (`--escalate auto`): a likely reason rembg is ahead at 2 MP (not measured stage by "
              "stage here). At 12 MP rembg's own single-process resizing and encoding weigh more, and the parallel "
              "CLI's overlap of one photo's post-processing with another's inference pays."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""Memory of each pipeline stage at 12 and 24 MP, in CPython and in Pyodide (issue 15).

The same cut-out runs in both: scikit-image's astronaut scaled to the size (as in
:mod:`bench.speed`), with the model's inference replaced by its output computed once here with
onnxruntime (inference memory is ONNX Runtime's own, outside Python: :mod:`bench.speed` measures
the whole tab). Two paths: the default options, and ``escalate='force'`` (the letterboxed second
pass and the edge refinement: the heaviest path a photo can take). Per stage (the report's
``timings_ms`` stages, cut at each ``Clock.lap``):

- **CPython RSS**: the peak resident memory during the stage (``VmHWM``, reset at each stage
  through ``/proc/self/clear_refs``) above the resident memory before the cut-out, in bytes per
  pixel. Counts everything: numpy, Pillow's own image memory, the allocator's slack.
- **traced**: tracemalloc's peak during the stage above the start, in bytes per pixel (numpy
  reports its arrays to tracemalloc, Pillow does not), the same in both runtimes.
- **Pyodide heap**: the size of Pyodide's wasm memory after the stage, above its size before the
  cut-out (MB). Wasm memory never shrinks, so this is the high-water mark so far: the stage where
  it grows is the one that sets the tab's memory. Pyodide 0.27.7 under Node, the built wheel
  (``make build``) and the site's SciPy subset.

Usage: python -m bench.memory [--sizes 12,24] [--write BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import platform
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PATHS = {"default": {}, "escalate=force": {"escalate": "force"}}


class _Rss:
    """Peak resident memory (Linux ``/proc``), resettable."""

    def _status(self, key: str) -> int:
        with open("/proc/self/status") as f:
            line = next(ln for ln in f if ln.startswith(key + ":"))
        return int(line.split()[1]) * 1024

    def now(self) -> int:
        return self._status("VmRSS")

    def reset(self) -> None:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    def peak(self) -> int:
        return self._status("VmHWM")


class _WasmHeap:
    """Pyodide's wasm memory: it only grows, so its size is its own peak."""

    def now(self) -> int:
        from pyodide_js import _module  # type: ignore[import-not-found]

        return _module.HEAP8.length

    def reset(self) -> None:
        pass

    def peak(self) -> int:
        return self.now()


async def stages(data: bytes, coarse: np.ndarray, options: dict, probe) -> dict:
    """Run one cut-out with inference replaced by ``coarse``; per stage, {peak above start, traced peak}."""
    from alphacut._shared import timing
    from alphacut.pipeline import Options, cutout

    async def infer(x):
        return coarse

    out: dict[str, list[int]] = {}
    lap = timing.Clock.lap

    def measured_lap(self, stage):
        lap(self, stage)
        traced = tracemalloc.get_traced_memory()[1] - traced0
        old = out.get(stage, [0, 0])
        out[stage] = [max(old[0], probe.peak() - base), max(old[1], traced)]
        probe.reset()
        tracemalloc.reset_peak()

    import gc

    gc.collect()
    probe.reset()
    base = probe.now()
    tracemalloc.start()
    traced0 = tracemalloc.get_traced_memory()[0]
    timing.Clock.lap = measured_lap
    try:
        res = await cutout(data, infer, options=Options(**options))
    finally:
        timing.Clock.lap = lap
        tracemalloc.stop()
    return {"stages": out, "pixels": res.report["width"] * res.report["height"]}


def run_all(photos: dict, coarse: dict, probe) -> dict:
    """{size: {path: stages(...)}} for every photo (bytes) and path."""
    return {size: {name: asyncio.run(stages(data, coarse[size][name], opts, probe)) for name, opts in PATHS.items()}
            for size, data in photos.items()}


def _coarse(photos: dict) -> dict:
    """The model's raw matte for each photo and path (squashed input; the letterboxed pass of the
    forced escalation gets the same matte, which takes the same code path and memory)."""
    from alphacut.io.decode import decode
    from bench.common import model_output
    from bench.speed import native_infer

    infer, _, _ = native_infer()
    out = {}
    for size, data in photos.items():
        c = model_output(decode(data).rgb, infer).reshape(1024, 1024).astype(np.float32)
        out[size] = {name: c for name in PATHS}
    return out


def _pyodide(photos: dict, coarse: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for size, data in photos.items():
            Path(tmp, f"{size}.jpg").write_bytes(data)
            np.save(Path(tmp, f"{size}.npy"), coarse[size]["default"])
        proc = subprocess.run(["node", str(ROOT / "bench" / "memory_pyodide.mjs"), tmp, ",".join(photos)],
                              cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise SystemExit(f"Pyodide run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(cpython: dict, pyodide: dict, sizes: list[str]) -> str:
    when = datetime.date.today().isoformat()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"Measured {when} on {platform.processor() or platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()} and Pyodide 0.27.7 (Node {node}).",
        "Photo: scikit-image's astronaut scaled to the size, JPEG q90; inference replaced by the model's "
        "output (onnxruntime, computed once). Command: `python -m bench.memory --write BENCHMARKS.md`.",
        "",
        "Per stage, in bytes per pixel of the photo above the memory before the cut-out: CPython's peak RSS "
        "during the stage, and tracemalloc's peak (numpy's arrays; Pillow's own memory is not traced). "
        "Pyodide: its wasm heap after the stage, above its size before the cut-out, in MB: it never "
        "shrinks, so the stage where it grows is the one that sets the tab's memory. A stage that runs "
        "twice (the forced path's second pass) shows the larger of its two figures.",
    ]
    for path in PATHS:
        lines += ["", f"**{path}**", ""]
        cols = (f"CPython RSS {s} MP | traced {s} MP | Pyodide heap {s} MP (MB)" for s in sizes)
        lines += ["| stage | " + " | ".join(cols) + " |", "|---|" + "---|" * (3 * len(sizes))]
        order = list(pyodide[sizes[0]][path]["stages"])
        for stage in order:
            cells = []
            for s in sizes:
                c, p = cpython[s][path], pyodide[s][path]
                rss, traced = c["stages"].get(stage, [0, 0])
                heap = p["stages"].get(stage, [0, 0])[0]
                cells += [f"{rss / c['pixels']:.1f}", f"{traced / c['pixels']:.1f}", f"{heap / 1e6:.0f}"]
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
        cells = []
        for s in sizes:
            c, p = cpython[s][path], pyodide[s][path]
            cells += [f"{max(v[0] for v in c['stages'].values()) / c['pixels']:.1f}",
                      f"{max(v[1] for v in c['stages'].values()) / c['pixels']:.1f}",
                      f"{max(v[0] for v in p['stages'].values()) / 1e6:.0f}"]
        lines.append("| **peak** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,24", help="photo sizes in megapixels, comma-separated")
    ap.add_argument("--write", type=Path, help="update this markdown file's memory section")
    args = ap.parse_args(argv)
    from bench.common import write_section
    from bench.speed import photo

    sizes = args.sizes.split(",")
    photos = {s: photo(float(s))[0] for s in sizes}
    coarse = _coarse(photos)
    cpython = run_all(photos, coarse, _Rss())
    pyodide = _pyodide(photos, coarse)
    text = report(cpython, pyodide, sizes)
    print(text)
    if args.write:
        write_section(args.write, text, "<!-- memory:begin -->", "<!-- memory:end -->",
                      "## Memory per stage: CPython and Pyodide")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""In-browser inference alone: ONNX Runtime Web (WASM) against native onnxruntime, per setting.

For each prepared graph variant, each thread count and each graph optimisation level, a fresh
tab on the built site's origin (cross-origin isolated, so threads work) creates one ORT-web
session from the site's own ``vendor/ort`` files and times ``--runs`` inferences of one fixed
1024² input, after one warm-up run. Native onnxruntime then runs the same graph with the same
thread count and level. Reported: session creation, median run time, browser / native, and
the largest alpha difference between the browser and native outputs, and the tab's memory: the
peak resident memory of its renderer processes from the page's start to the last run, and
``performance.measureUserAgentSpecificMemory()`` after it (each setting runs in a browser of its
own, so that no other page's wasm memory is counted). This is how the worker's settings
(threads, optimisation level, variant per device) were chosen.

Usage: python -m bench.infer [--variants fp32,int8] [--threads 1,2] [--levels all,basic]
                              [--runs 3] [--write BENCHMARKS.md] [--json RAW.json]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from . import peer_bench, speed

ROOT = Path(__file__).resolve().parent.parent

BEGIN, END = "<!-- infer:begin -->", "<!-- infer:end -->"
ISOLATED = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}
PAGE = '<!doctype html><meta charset="utf-8"><script type="module" src="/__bench__/infer.mjs"></script>'
SCRIPT = """
const ort = await import('/vendor/ort/ort.wasm.min.mjs');
ort.env.wasm.wasmPaths = '/vendor/ort/';
window.bench = async ({ model, threads, level, runs }) => {
  ort.env.wasm.numThreads = threads;
  const bytes = new Uint8Array(await (await fetch(model)).arrayBuffer());
  let t = performance.now();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: level });
  const createMs = performance.now() - t;
  const x = new Float32Array(3 * 1024 * 1024);
  let seed = 1;
  for (let i = 0; i < x.length; i++) { seed = (seed * 1103515245 + 12345) % 2147483648; x[i] = seed / 2147483648 - 0.5; }
  const input = new ort.Tensor('float32', x, [1, 3, 1024, 1024]);
  const ms = [];
  let out;
  for (let i = 0; i <= runs; i++) {
    t = performance.now();
    out = (await session.run({ input })).output.data;
    if (i) ms.push(performance.now() - t);
  }
  return { createMs, ms, crossOriginIsolated: self.crossOriginIsolated, sample: Array.from(out.filter((_, i) => i % 997 === 0)) };
};
window.ready = true;
"""


def bench_input() -> np.ndarray:
    """The page's pseudo-random input, reproduced here for the native run."""
    x = np.empty(3 * 1024 * 1024, np.float32)
    seed = 1
    for i in range(x.size):
        seed = (seed * 1103515245 + 12345) % 2147483648
        x[i] = seed / 2147483648 - 0.5
    return x.reshape(1, 3, 1024, 1024)


def native(path: Path, threads: int, level: str, runs: int, x: np.ndarray) -> dict:
    import onnxruntime as ort

    levels = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.graph_optimization_level = levels[level]
    so.log_severity_level = 3
    t = time.perf_counter()
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    create = (time.perf_counter() - t) * 1000
    ms = []
    for i in range(runs + 1):
        t = time.perf_counter()
        out = sess.run(["output"], {"input": x})[0]
        if i:
            ms.append((time.perf_counter() - t) * 1000)
    return {"createMs": create, "ms": ms, "sample": out.reshape(-1)[::997].tolist()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=None, help="manifest variants (default: all that the site ships)")
    ap.add_argument("--model", action="append", default=[], help="extra NAME=PATH graphs to time (experiments)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--levels", default="all,basic")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    manifest = json.loads((ROOT / "models" / "isnet.json").read_text())
    names = args.variants.split(",") if args.variants else list(manifest["variants"])
    graphs = {n: ROOT / "build" / "site" / "models" / manifest["variants"][n]["file"] for n in names}
    graphs.update({k: Path(v) for k, v in (m.split("=", 1) for m in args.model)})
    x = bench_input()
    load0 = round(os.getloadavg()[0], 2)
    proc, url = speed.start_site()
    rows, extra = [], []
    try:
        with sync_playwright() as p:
            for name, path in graphs.items():
                site_path = ROOT / "build" / "site" / "models" / path.name
                if not site_path.exists():  # an experiment's graph: served from the site while timed
                    shutil.copyfile(path, site_path)
                    extra.append(site_path)
                for threads in map(int, args.threads.split(",")):
                    for level in args.levels.split(","):
                        tag = f"--alphacut-bench-tab=infer-{name}-{threads}-{level}"
                        browser = p.chromium.launch(executable_path=peer_bench.CHROMIUM, headless=True,
                                                    args=speed.BROWSER_ARGS + [tag])
                        chromium = f"Chromium {browser.version}"
                        context = browser.new_context()
                        context.route(url + "/__bench__/infer.html",
                                      lambda r: r.fulfill(body=PAGE, content_type="text/html", headers=ISOLATED))
                        context.route(url + "/__bench__/infer.mjs",
                                      lambda r: r.fulfill(body=SCRIPT, content_type="text/javascript",
                                                          headers=ISOLATED))
                        memory = speed.TabMemory(tag).start()
                        page = context.new_page()
                        page.on("console", lambda m: print("[page]", m.text, file=sys.stderr))
                        page.on("pageerror", lambda e: print("[pageerror]", e, file=sys.stderr))
                        page.goto(url + "/__bench__/infer.html")
                        page.wait_for_function("window.ready === true", timeout=60_000)
                        b = page.evaluate("(a) => window.bench(a)", {"model": f"/models/{path.name}",
                                                                      "threads": threads, "level": level,
                                                                      "runs": args.runs})
                        peak = memory.peak()
                        heap = page.evaluate(speed._MEMORY_JS)
                        memory.stop()
                        browser.close()
                        n = native(path, threads, level, args.runs, x)
                        diff = float(np.abs(np.asarray(b["sample"]) - np.asarray(n["sample"])).max())
                        row = {"variant": name, "file": path.name, "mb": path.stat().st_size / 1e6,
                               "threads": threads, "level": level, "isolated": b["crossOriginIsolated"],
                               "browser": {"createMs": b["createMs"], "ms": b["ms"]},
                               "native": {"createMs": n["createMs"], "ms": n["ms"]}, "max_diff": diff,
                               "peak_mb": peak / 2**20, "heap_mb": heap / 2**20 if heap else None}
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    finally:
        proc.terminate()
        for f in extra:
            f.unlink()
    result = {"rows": rows, "machine": speed.machine(), "load": [load0, round(os.getloadavg()[0], 2)],
              "chromium": chromium,
              "date": datetime.date.today().isoformat(), "argv": shown_argv(sys.argv[1:])}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    text = report(result)
    print(text)
    if args.write:
        speed.write_section(args.write, text, BEGIN, END)
    return 0


def shown_argv(argv: list[str]) -> list[str]:
    """The command line as the report shows it: without the local ``--json`` output path."""
    out, skip = [], False
    for a in argv:
        if skip or a.startswith("--json="):
            skip = False
        elif a == "--json":
            skip = True
        else:
            out.append(a)
    return out


def _mb(x) -> str:
    return "–" if x is None else f"{x:.0f}"


def report(res: dict) -> str:
    med = statistics.median
    lines = [f"Measured {res['date']} on {res['machine']} (1-min load average at start/end "
             f"{res['load'][0]}, {res['load'][1]}); {res['chromium']}, headless. Command: `python -m bench.infer {' '.join(res['argv'])}`. "
             "Input 1024², fixed pseudo-random; median of the timed runs after one warm-up run; "
             "max |Δα| is browser against native on every 997th output value. Tab peak: the renderer processes' "
             "resident memory (MB), sampled every 0.1 s from the page's start to the end of its last run; "
             "JS + wasm: `performance.measureUserAgentSpecificMemory()` after it (MB).", "",
             "| variant | size (MB) | threads | optimisation level | browser create (ms) | browser run (ms) "
             "| native run (ms) | browser / native | max abs diff of alpha | tab peak (MB) | JS + wasm (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        b, n = med(r["browser"]["ms"]), med(r["native"]["ms"])
        iso = "" if r["isolated"] else " (not isolated!)"
        lines.append(f"| {r['variant']} | {r['mb']:.0f} | {r['threads']}{iso} | {r['level']} | "
                     f"{r['browser']['createMs']:.0f} | {b:.0f} | {n:.0f} | {b / n:.2f} | {r['max_diff']:.1e} | "
                     f"{_mb(r.get('peak_mb'))} | {_mb(r.get('heap_mb'))} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

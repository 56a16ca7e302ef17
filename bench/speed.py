"""Speed, side by side: alphacut's built site and the peer, in one headless Chromium run.

Both are served on loopback. For each repeat, each photo goes through alphacut then the peer,
alternating, so that both see the same machine state. Reported:

- alphacut's cold init per stage (fresh browser context: Pyodide, packages, wheel, model fetch
  and verify, session), and the peer's model preload;
- warm time per photo: alphacut's per-stage split (decode, prepare, infer, upsample, composite,
  encode; Python's own clock, in the worker) and its total as the page sees it, the peer's total
  as its page sees it, and the ratio peer / alphacut (above 1: alphacut is faster).

Usage: python bench/speed.py [--repeat N] [--sizes 0.2,12] [--write BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import base64
import datetime
import io
import json
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import peer_bench  # noqa: E402

BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"

_OURS_JS = """
async ([b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const t = performance.now();
  const r = await window.alphacut.bridge.cutout(bytes.buffer, { compress_level: 1 });
  return { ms: performance.now() - t, report: r.report, png_bytes: r.png.byteLength };
}
"""


def photo(megapixels: float) -> tuple[bytes, tuple[int, int]]:
    """A real photo (scikit-image's astronaut, 512x512) scaled to about ``megapixels``, 4:3, JPEG q90."""
    from skimage import data

    cols = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    rows = int(round(cols * 3 / 4))
    img = Image.fromarray(data.astronaut()).resize((cols, rows), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue(), (cols, rows)


def start_site():
    proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "serve.py"), "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, text=True)
    match = re.search(r"(http://127\.0\.0\.1:\d+)/", proc.stdout.readline())
    if not match:
        proc.terminate()
        raise SystemExit("could not start tools/serve.py; run `make build` first")
    return proc, match.group(1)


def open_ours(browser, url: str) -> tuple[object, dict]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_function("() => ['ready', 'error'].includes(document.querySelector('#status').className)",
                           timeout=600_000)
    about = page.evaluate("() => window.alphacut.bridge.about")
    if not about:
        raise SystemExit("alphacut did not start: " + page.inner_text("#status-text"))
    return page, about


def run_ours(page, data: bytes) -> dict:
    return page.evaluate(_OURS_JS, [base64.b64encode(data).decode()])


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def table(results: dict, about: dict, peer_pre: dict, args, chromium: str) -> str:
    stages = ["decode", "prepare", "infer", "upsample", "composite", "encode"]
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {machine()}; {chromium}, headless, "
        f"alphacut backend {about['backend']} ({about['threads']} threads), peer device cpu (WASM). "
        f"Median of {args.repeat} warm runs each, alternating alphacut and peer per photo (JPEG q90 of "
        f"scikit-image's astronaut, rescaled).",
        "",
        f"Command: `make bench` (= `python bench/speed.py --repeat {args.repeat} --sizes {args.sizes}`).",
        "",
        "**Cold init, alphacut** (fresh browser profile, model fetched over loopback; ms): "
        + ", ".join(f"{k} {v}" for k, v in about["initMs"].items())
        + f"; total {sum(about['initMs'].values())}. Peer model preload: {peer_pre.get('ms', float('nan')):.0f} ms.",
        "",
        "| photo | alphacut " + " | ".join(stages) + " (ms) | alphacut total (s) | peer total (s) | peer / alphacut |",
        "|---|" + "---|" * (len(stages) + 3),
    ]
    for name, r in results.items():
        split = " | ".join(f"{median([t[s] for t in r['ours_stages']]):.0f}" for s in stages)
        ours, peer = median(r["ours_ms"]), median(r["peer_ms"])
        lines.append(f"| {name} | {split} | {ours / 1000:.2f} | {peer / 1000:.2f} | {peer / ours:.2f}× |")
    return "\n".join(lines)


def write_section(path: Path, text: str, begin: str = BEGIN, end: str = END,
                  heading: str = "## Speed: alphacut against the peer, in the browser") -> None:
    """Replace the block between ``begin`` and ``end`` in ``path`` (append it under ``heading``)."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{text}\n{end}"
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + f"\n\n{heading}\n\n" + block + "\n"
    path.write_text(new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="0.2,12", help="photo sizes in megapixels, comma-separated")
    ap.add_argument("--write", type=Path, help="update this markdown file's speed section")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    photos = {}
    for mp in [float(s) for s in args.sizes.split(",")]:
        data, (cols, rows) = photo(mp)
        photos[f"{cols}×{rows} ({cols * rows / 1e6:.1f} MP)"] = data
    site, url = start_site()
    peer_server, _ = peer_bench.serve_peer()
    results = {name: {"ours_ms": [], "ours_stages": [], "peer_ms": []} for name in photos}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=peer_bench.CHROMIUM, args=peer_bench.CHROMIUM_ARGS,
                                        headless=True)
            chromium = f"Chromium {browser.version}"
            ours, about = open_ours(browser, url)
            print("alphacut init:", json.dumps(about), flush=True)
            peer_page = browser.new_context().new_page()
            peer_pre = peer_bench.open_peer(peer_page, peer_bench.peer_url(peer_server), timeout_ms=600_000)
            print("peer preload:", json.dumps(peer_pre), flush=True)
            for name, data in photos.items():  # warm-up, one each
                run_ours(ours, data)
                peer_bench.run_peer(peer_page, data, "image/jpeg", want_png=False)
            for i in range(args.repeat):
                for name, data in photos.items():
                    o = run_ours(ours, data)
                    q = peer_bench.run_peer(peer_page, data, "image/jpeg", want_png=False)
                    results[name]["ours_ms"].append(o["ms"])
                    results[name]["ours_stages"].append(o["report"]["timings_ms"])
                    results[name]["peer_ms"].append(q["ms"])
                    print(f"run {i} {name}: alphacut {o['ms']:.0f} ms {o['report']['timings_ms']}, "
                          f"peer {q['ms']:.0f} ms", flush=True)
            browser.close()
    finally:
        site.terminate()
        peer_server.shutdown()
        peer_server.server_close()
    text = table(results, about, peer_pre, args, chromium)
    print(text)
    if args.write:
        write_section(args.write, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The browser's own PNG encoder (OffscreenCanvas.convertToBlob) as a candidate for the cut-out.

Times the encode of a 4000x3000 RGBA image in headless Chromium, and checks what survives the
round trip on a 512x512 image whose alpha ramps through every level: canvas pixels are stored
premultiplied, so the colour of a semi-transparent pixel comes back rounded. Reported: the
encode time, and the largest RGB error per alpha band. The pipeline's PNG encoder (Pillow in
Pyodide) is timed by `make bench` (the `encode` stage).

Usage: python -m bench.canvas_png
"""
from __future__ import annotations

import argparse
import base64
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from . import peer_bench, speed

ENCODE = """async ([w, h, back]) => {
  const px = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7 + (i >> 10) * 13) & 255;
  for (let i = 3; i < px.length; i += 4) px[i] = (i >> 2) % 256;
  const c = new OffscreenCanvas(w, h);
  const t0 = performance.now();
  c.getContext('2d').putImageData(new ImageData(px, w, h), 0, 0);
  const blob = await c.convertToBlob({ type: 'image/png' });
  const ms = performance.now() - t0;
  if (!back) return { ms, size: blob.size };
  const buf = new Uint8Array(await blob.arrayBuffer());
  let bin = '';
  for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  return { ms, size: blob.size, png: btoa(bin) };
}"""


def source(w: int, h: int) -> np.ndarray:
    i = np.arange(w * h * 4)
    px = ((i * 7 + (i >> 10) * 13) & 255).astype(np.uint8).reshape(h, w, 4)
    px[..., 3] = (np.arange(w * h) % 256).reshape(h, w)
    return px


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)  # no options; --help
    from playwright.sync_api import sync_playwright

    proc, url = speed.start_site()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=peer_bench.CHROMIUM, headless=True,
                                        args=peer_bench.CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url + "/build-info.json")
            times = [page.evaluate(ENCODE, [4000, 3000, False])["ms"] for _ in range(3)]
            print(f"OffscreenCanvas PNG encode, 4000x3000 RGBA: {', '.join(f'{t:.0f}' for t in times)} ms")
            r = page.evaluate(ENCODE, [512, 512, True])
            browser.close()
    finally:
        proc.terminate()
    got = np.asarray(Image.open(io.BytesIO(base64.b64decode(r["png"]))).convert("RGBA"))
    src = source(512, 512)
    err = np.abs(got[..., :3].astype(int) - src[..., :3])
    a = src[..., 3]
    print("alpha exact:", bool((got[..., 3] == a).all()))
    for lo, hi in [(1, 16), (16, 64), (64, 128), (128, 255), (255, 256)]:
        m = (a >= lo) & (a < hi)
        print(f"alpha {lo}-{hi - 1}: RGB error max {err[m].max()}, mean {err[m].mean():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A batch in the browser: every file ends done or errored with a reason, and memory stays flat.

Gives N photos (plus a few broken files) to the built site in one page, waits for all of them,
and reports the tab's memory (performance.measureUserAgentSpecificMemory, page and workers,
available because the page is cross-origin isolated) after the first image and after the batch.
With ``--megapixels`` the photos are that large (chosen through the file input, as a user would),
"Download all" is clicked at the end and its ZIP checked, and the renderer's peak resident memory
(from /proc, bench/speed.py's TabMemory) is reported for the whole run.

Usage: python -m bench.batch [--count 50] [--megapixels 12] [--write BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import base64
import datetime
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from .speed import TabMemory, machine, start_site, write_section

BEGIN, END = "<!-- batch:begin -->", "<!-- batch:end -->"
MEMORY_JS = "async () => (await performance.measureUserAgentSpecificMemory()).bytes"
DROP_JS = """(files) => {
  const dt = new DataTransfer();
  for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
  document.querySelector('#drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
}"""
WAIT_JS = """(n) => { const j = [...document.querySelectorAll('.job')];
  return j.length >= n && j.every((x) => ['done', 'error', 'cancelled'].includes(x.dataset.state)); }"""


def photos(count: int) -> list[dict]:
    from skimage import data

    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    out = []
    for i in range(count):
        img = Image.fromarray(sources[i % len(sources)])
        img = img.resize((400 + 7 * i, 300 + 5 * i))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        out.append({"name": f"photo-{i:02d}.jpg", "type": "image/jpeg", "b64": base64.b64encode(buf.getvalue()).decode()})
    return out


def large_photos(count: int, megapixels: float, folder: Path) -> list[Path]:
    """``count`` JPEG photos (quality 90) of about ``megapixels`` each, 4:3, written to ``folder``."""
    from skimage import data

    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    out = []
    for i in range(count):
        w = width + 8 * i  # every photo a different size
        img = Image.fromarray(sources[i % len(sources)]).resize((w, w * 3 // 4), Image.Resampling.BICUBIC)
        path = folder / f"photo-{i:02d}.jpg"
        img.save(path, quality=90)
        out.append(path)
    return out


def large_batch(args) -> int:
    """The --megapixels run: N large photos and two broken files, then "Download all"."""
    import tempfile
    import time
    import zipfile

    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="alphacut-batch-"))
    paths = large_photos(args.count, args.megapixels, tmp)
    (tmp / "empty.png").write_bytes(b"")
    (tmp / "notes.jpg").write_bytes(b"just text")
    broken = [tmp / "empty.png", tmp / "notes.jpg"]
    tag = "--alphacut-bench-tab=batch"
    site, url = start_site()
    memory = TabMemory(tag).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-background-networking",
                                              "--disable-component-update", "--enable-precise-memory-info",
                                              "--enable-blink-features=ForceEagerMeasureMemory", tag])
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(url + "/")
            page.wait_for_function("() => document.querySelector('#status').className === 'ready'", timeout=600_000)
            t0 = time.monotonic()
            page.set_input_files("#file-input", [str(p) for p in paths[:1]])
            page.wait_for_function(WAIT_JS, arg=1, timeout=600_000)
            first = page.evaluate(MEMORY_JS)
            peak_first = memory.peak()
            page.set_input_files("#file-input", [str(p) for p in paths[1:] + broken])
            total = len(paths) + len(broken)
            page.wait_for_function(WAIT_JS, arg=total, timeout=7_200_000, polling=2000)
            seconds = time.monotonic() - t0
            last = page.evaluate(MEMORY_JS)
            jobs = page.evaluate("() => [...document.querySelectorAll('.job')].map((j) => [j.dataset.state,"
                                 " j.querySelector('.job-name').textContent, j.querySelector('.job-state').textContent])")
            t1 = time.monotonic()
            with page.expect_download(timeout=1_800_000) as dl:
                page.click("#download-all")
            with zipfile.ZipFile(dl.value.path()) as z:
                entries = z.namelist()
                zip_mb = Path(dl.value.path()).stat().st_size / 1e6
            zip_seconds = time.monotonic() - t1
            after_zip = page.evaluate(MEMORY_JS)
            browser.close()
    finally:
        memory.stop()
        site.terminate()
        for path in tmp.iterdir():
            path.unlink()
        tmp.rmdir()
    states = {}
    for state, _, _ in jobs:
        states[state] = states.get(state, 0) + 1
    errors = [f"{name}: {text}" for state, name, text in jobs if state == "error"]
    done = states.get("done", 0)
    text = "\n".join([
        f"Measured {datetime.date.today().isoformat()} on {machine()}. Command: "
        f"`python -m bench.batch --count {args.count} --megapixels {args.megapixels:g}` (Chromium, headless, WASM).",
        "",
        f"- Files: {total} ({len(paths)} JPEG photos of about {args.megapixels:g} MP, {len(broken)} broken), chosen "
        f"through the file input; outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
        + f"; {seconds / 60:.1f} min in all, {seconds / max(done, 1):.1f} s a photo.",
        "- Errors, with their reasons: " + "; ".join(errors) + ".",
        f"- \"Download all\": a ZIP of {len(entries)} PNGs ({zip_mb:.0f} MB) in {zip_seconds:.0f} s"
        + (" (one per done photo)." if len(entries) == done else f" (expected {done})."),
        f"- JS and wasm memory (page + workers, measureUserAgentSpecificMemory): {first / 1e6:.0f} MB after the "
        f"first photo, {last / 1e6:.0f} MB after the batch (ratio {last / first:.2f}), {after_zip / 1e6:.0f} MB "
        "after the ZIP.",
        f"- Renderer resident memory (RSS, /proc): peak {peak_first / 1e6:.0f} MB during the first photo, "
        f"{memory.peak() / 1e6:.0f} MB over the whole run, ZIP included. Budget stated for this bench: "
        "the batch may not raise the peak more than 20% above the first photo's.",
    ])
    print(text)
    if args.write:
        write_section(args.write, text, "<!-- batch-large:begin -->", "<!-- batch-large:end -->",
                      f"## Batch in the browser: {args.count} photos of {args.megapixels:g} MP and Download all")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--megapixels", type=float, default=0,
                    help="photos of this size, then Download all (default: 0.1-0.5 MP photos, no ZIP)")
    ap.add_argument("--write", type=Path)
    args = ap.parse_args(argv)
    if args.megapixels:
        return large_batch(args)
    from playwright.sync_api import sync_playwright

    files = photos(args.count)
    broken = [{"name": "empty.png", "type": "image/png", "b64": ""},
              {"name": "notes.jpg", "type": "image/jpeg", "b64": base64.b64encode(b"just text").decode()}]
    site, url = start_site()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-background-networking",
                                              "--disable-component-update", "--enable-precise-memory-info",
                                              "--enable-blink-features=ForceEagerMeasureMemory"])
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_function("() => document.querySelector('#status').className === 'ready'", timeout=600_000)
            page.evaluate(DROP_JS, files[:1])
            page.wait_for_function(WAIT_JS, arg=1, timeout=600_000)
            first = page.evaluate(MEMORY_JS)
            page.evaluate(DROP_JS, files[1:] + broken)
            total = len(files) + len(broken)
            page.wait_for_function(WAIT_JS, arg=total, timeout=3_600_000)
            last = page.evaluate(MEMORY_JS)
            jobs = page.evaluate("() => [...document.querySelectorAll('.job')].map((j) => [j.dataset.state,"
                                 " j.querySelector('.job-name').textContent, j.querySelector('.job-state').textContent])")
            browser.close()
    finally:
        site.terminate()
    states = {}
    for state, _, _ in jobs:
        states[state] = states.get(state, 0) + 1
    errors = [f"{name}: {text}" for state, name, text in jobs if state == "error"]
    text = "\n".join([
        f"Measured {datetime.date.today().isoformat()} on {machine()}. Command: `python -m bench.batch --count {args.count}`.",
        "",
        f"- Files: {total} ({len(files)} photos of 0.1-0.5 MP, {len(broken)} broken); outcomes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(states.items())) + ".",
        "- Errors, with their reasons: " + "; ".join(errors) + ".",
        f"- Tab memory (page + workers) after the first image: {first / 1e6:.0f} MB; after the batch: "
        f"{last / 1e6:.0f} MB; ratio {last / first:.2f} (target ≤ 1.2).",
    ])
    print(text)
    print(json.dumps({"first": first, "last": last, "states": states}))
    if args.write:
        write_section(args.write, text, BEGIN, END, "## Batch in the browser: outcomes and memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())

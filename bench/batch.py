"""A batch in the browser: every file ends done or errored with a reason, and memory stays flat.

Drops N small photos (plus a few broken files) on the built site in one page, waits for all of
them, and reports the tab's memory (performance.measureUserAgentSpecificMemory, page and workers,
available because the page is cross-origin isolated) after the first image and after the batch.

Usage: python bench/batch.py [--count 50] [--write BENCHMARKS.md]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from speed import machine, start_site, write_section  # noqa: E402

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--write", type=Path)
    args = ap.parse_args(argv)
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
        f"Measured {datetime.date.today().isoformat()} on {machine()}. Command: `python bench/batch.py --count {args.count}`.",
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

"""Take the README's screenshots with Playwright: the empty page, a result over a colour, and
the before/after view, at desktop size, plus the result view at phone size; and a pet and a
product, each cut out on the page and shown over a colour.

Photos: scikit-image's test images (licences in their skimage.data docstrings): astronaut (NASA,
public domain), chelsea (a cat; CC0, Stefan van der Walt) and coffee (a cup on a saucer; CC0,
Rachel Michetti).

Usage: python tools/screenshots.py [--out docs]   (needs `make build` and Chromium)
"""
from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    from skimage import data

    tmp = Path(tempfile.mkdtemp())
    photo = tmp / "astronaut.png"
    Image.fromarray(data.astronaut()).save(photo)
    proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "serve.py"), "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, text=True)
    url = re.search(r"(http://127\.0\.0\.1:\d+)/", proc.stdout.readline()).group(1)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(url + "/")
            page.wait_for_function("() => document.querySelector('#status').className === 'ready'", timeout=600_000)
            page.screenshot(path=str(args.out / "empty.png"))
            page.set_input_files("#file-input", str(photo))
            page.wait_for_function("() => document.querySelector('.job')?.dataset.state === 'done'", timeout=600_000)
            page.select_option("#bg-kind", "colour")
            page.fill("#bg-colour", "#2f80ed")
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / "result-on-colour.png"))
            page.check("input[name=view][value=compare]")
            page.fill("#compare", "45")
            page.dispatch_event("#compare", "input")
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / "before-after.png"))
            page.check("input[name=view][value=result]")
            page.check("#show-problems")
            page.wait_for_function("() => { const i = document.querySelector('#img-problems');"
                                   " return !i.hidden && i.complete && i.naturalWidth > 0; }", timeout=120_000)
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / "flagged.png"))
            page.uncheck("#show-problems")
            page.set_viewport_size({"width": 390, "height": 844})
            page.check("input[name=view][value=result]")
            page.click("#zoom-fit")
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / "phone.png"), full_page=False)
            for name, image, colour in (("pet-on-colour", data.chelsea(), "#f2c94c"),
                                        ("product-on-colour", data.coffee(), "#27ae60")):
                Image.fromarray(image).save(tmp / f"{name}.png")
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(url + "/")
                page.wait_for_function("() => document.querySelector('#status').className === 'ready'",
                                       timeout=600_000)
                page.set_input_files("#file-input", str(tmp / f"{name}.png"))
                page.wait_for_function("() => document.querySelector('.job')?.dataset.state === 'done'",
                                       timeout=600_000)
                page.select_option("#bg-kind", "colour")
                page.fill("#bg-colour", colour)
                page.wait_for_timeout(300)
                page.screenshot(path=str(args.out / f"{name}.png"))
                page.close()
            browser.close()
    finally:
        proc.terminate()
        shutil.rmtree(tmp)
    for name in ("empty", "result-on-colour", "before-after", "flagged", "phone", "pet-on-colour",
                 "product-on-colour"):
        path = args.out / f"{name}.png"
        img = Image.open(path)
        buf = io.BytesIO()
        img.convert("RGB").quantize(256).save(buf, format="PNG", optimize=True)
        path.write_bytes(buf.getvalue())
        print(f"{path}: {img.size[0]}x{img.size[1]}, {len(buf.getvalue()) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

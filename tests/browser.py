"""Driving the built site: one Chromium browser context on the site, with what it saw, and the
checks of a cut-out that every engine's tests share (:func:`check_cutout`).

Every page records the requests it makes (page, workers, service worker), every console message
and every uncaught error; :meth:`Session.assert_clean` fails on any uncaught error or console
error that was not expected, on any request that left the site's origin, and on any request body.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import io
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from support import CAT_BACKGROUND, CAT_SUBJECT

CHROMIUM = os.environ.get("ALPHACUT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]


ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "build" / "site"


@contextlib.contextmanager
def serve_site():
    """``tools/serve.py`` (what ``make serve`` runs) on a free loopback port, in a subprocess:
    yields ``(url, process)``; the process may be killed early to take the site offline."""
    if not (SITE / "index.html").is_file():
        raise AssertionError(f"{SITE} is not built: run `make build` (make test does)")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "serve.py"), "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, f"serve.py did not start: {line!r}"
        yield match.group(1), proc
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


class Session:
    """One browser context on the site, with what it saw."""

    def __init__(self, browser, site_url, **context):
        self.url = site_url
        self.context = browser.new_context(accept_downloads=True, **context)
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        self.bodies: list[tuple[str, int]] = []
        self.context.on("request", self._on_request)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("worker", lambda w: w.on("console", self._on_console) if hasattr(w, "on") else None)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.url) or url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def _on_request(self, request):
        self.requests.append(request.url)
        body = request.post_data_buffer
        if body:
            self.bodies.append((request.url, len(body)))

    def _on_console(self, msg):
        line = f"[{msg.type}] {msg.text}"
        self.console.append(line)
        print("browser console:", line[:500])
        if msg.type == "error":
            self.errors.append(line)

    def open(self, query: str = "", timeout_s: float = 240):
        self.page.goto(f"{self.url}/{query}")
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float = 240):
        self.page.wait_for_function("() => ['ready', 'error'].includes(document.querySelector('#status').className)",
                                    timeout=timeout_s * 1000)
        status = self.page.inner_text("#status-text")
        assert self.page.get_attribute("#status", "class") == "ready", status
        return status

    def wait_jobs(self, count: int, timeout_s: float = 300):
        """Wait until at least ``count`` jobs exist and none is queued or running; return
        ``[(state, text)]`` in queue order."""
        self.page.wait_for_function(
            "(n) => { const j = [...document.querySelectorAll('.job')];"
            " return j.length >= n && j.every((x) => ['done', 'error', 'cancelled'].includes(x.dataset.state)); }",
            arg=count, timeout=timeout_s * 1000)
        return [(j.get_attribute("data-state"), j.inner_text()) for j in self.page.query_selector_all(".job")]

    def image_box(self) -> list[float]:
        """Where the result is drawn: [left, top, width, height] in CSS px."""
        return self.page.evaluate("() => { const r = document.querySelector('#img-after').getBoundingClientRect();"
                                  " return [r.left, r.top, r.width, r.height]; }")

    def choose_brush(self, tool: str, size: int) -> None:
        self.page.check(f"input[name=tool][value={tool}]")
        self.page.fill("#brush-size", str(size))
        self.page.dispatch_event("#brush-size", "input")

    def refined(self) -> None:
        """Wait for the selected job to refine (a stroke or a slider) and finish."""
        self.page.wait_for_function("() => document.querySelector('.job.selected').dataset.state === 'refining'",
                                    timeout=5000)
        self.wait_jobs(1)

    def download(self, click_selector: str) -> tuple[str, bytes]:
        """Click something that downloads a file; return (suggested name, bytes)."""
        with self.page.expect_download() as dl:
            self.page.click(click_selector)
        return dl.value.suggested_filename, Path(dl.value.path()).read_bytes()

    def assert_clean(self, expected_errors=()):
        unexpected = [e for e in self.errors if not any(x in e for x in expected_errors)]
        assert not unexpected, "\n".join(unexpected)
        assert not self.foreign, f"requests left the origin: {self.foreign}"
        offsite = [u for u in self.requests if not (u.startswith(self.url) or u.startswith(("blob:", "data:")))]
        assert not offsite, offsite
        assert not self.bodies, f"requests carried bodies: {self.bodies}"

    def close(self):
        self.context.close()


def alpha_of(png: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(png))
    assert img.mode == "RGBA"
    return np.asarray(img)[..., 3]


def check_cutout(png: bytes, source_rgb: np.ndarray, rgb_atol: int = 0):
    out = np.asarray(Image.open(io.BytesIO(png)))
    assert Image.open(io.BytesIO(png)).mode == "RGBA"
    assert out.shape == source_rgb.shape[:2] + (4,)
    alpha = out[..., 3] / 255.0
    assert alpha[CAT_SUBJECT].mean() > 0.9, alpha[CAT_SUBJECT].mean()
    assert alpha[CAT_BACKGROUND].mean() < 0.05, alpha[CAT_BACKGROUND].mean()
    opaque = out[..., 3] == 255
    assert opaque.sum() > 1000
    diff = np.abs(out[..., :3][opaque].astype(int) - source_rgb[opaque])
    assert diff.max() <= rgb_atol, diff.max()


@functools.lru_cache(maxsize=1)
def rgb_profile() -> bytes:
    """An ICC profile for RGB colour (LittleCMS's sRGB), standing in for a phone's Display P3.
    Made once: LittleCMS stamps each new profile with the time, so two calls may differ."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def studio_photo(path: Path, icc: bytes | None = None) -> Path:
    """A red disc on a plain light backdrop (300 x 400), saved as PNG at ``path`` (with ``icc``)."""
    rgb = np.full((300, 400, 3), 245, np.uint8)
    yy, xx = np.mgrid[:300, :400]
    rgb[(yy - 150) ** 2 + (xx - 200) ** 2 < 90 ** 2] = (200, 60, 30)
    Image.fromarray(rgb).save(path, **({"icc_profile": icc} if icc else {}))
    return path


#: The user-level steps every engine's run takes (tests/engines/steps.js), as a script that
#: defines ``STEPS``.
STEPS_JS = (ROOT / "tests" / "engines" / "steps.js").read_text()


def check_shown(shown: dict, png: bytes) -> None:
    """The page's cut-out as the browser decoded it (the ``shown`` step of steps.js: RGBA from a
    canvas) is the file ``png`` as Pillow decodes it: alpha everywhere, the colour where opaque
    (a canvas premultiplies the rest)."""
    ours = np.asarray(Image.open(io.BytesIO(png)))
    pixels = np.frombuffer(base64.b64decode(shown["b64"]), np.uint8).reshape(shown["height"], shown["width"], 4)
    assert pixels.shape == ours.shape, (pixels.shape, ours.shape)
    np.testing.assert_array_equal(pixels[..., 3], ours[..., 3])
    opaque = ours[..., 3] == 255
    assert opaque.mean() > 0.2, opaque.mean()
    np.testing.assert_array_equal(pixels[opaque], ours[opaque])


def check_engine_cutouts(run: dict, cat_rgb: np.ndarray) -> None:
    """The other engines' smoke runs (tests/engines/steps.js): the cat cut out by the model and
    downloaded, checked as in Chromium; the studio photo (:func:`studio_photo`) cut out, then cut
    out again by the colour key alone. Files are base64."""
    cat, studio, keyed = run["jobs"]
    files = {k: v for k, v in run["files"].items() if k in ("cat", "studio", "keyed")}
    assert all("b64" in f for f in files.values()), files
    assert cat["state"] == "done" and cat["method"] == "model", cat["text"]
    assert files["cat"]["name"] == "cat_no_bg.png"
    check_cutout(base64.b64decode(files["cat"]["b64"]), cat_rgb)
    check_shown(run["shown"], base64.b64decode(files["cat"]["b64"]))
    assert studio["state"] == "done", studio["text"]
    assert keyed["state"] == "done" and keyed["method"] == "colorkey", keyed
    for key in ("studio", "keyed"):
        png = base64.b64decode(files[key]["b64"])
        alpha = alpha_of(png)
        assert alpha.shape == (300, 400) and alpha[150, 200] == 255 and alpha[10, 10] == 0, key
        assert Image.open(io.BytesIO(png)).info.get("icc_profile") == rgb_profile(), key  # the photo's profile, kept


def check_merge(mask_png: bytes, result_png: bytes, folder: Path, known: np.ndarray) -> None:
    """An edit merge of :func:`merge_pair`'s photos in ``folder``: the mask finds the edit, the
    result is the original, to the bit, outside it and the edited photo (drift undone) inside it."""
    mask = np.asarray(Image.open(io.BytesIO(mask_png)))
    assert mask.shape == known.shape
    found = mask > 127
    iou = (found & known).sum() / (found | known).sum()
    assert iou > 0.8, iou
    result = np.asarray(Image.open(io.BytesIO(result_png)).convert("RGB")).astype(int)
    outside = mask == 0
    assert outside.mean() > 0.8
    original = np.asarray(Image.open(folder / "original.png")).astype(int)
    np.testing.assert_array_equal(result[outside], original[outside])  # untouched outside the edit
    # Inside it, the edit with its global drift undone (merge_pair's x 1.02 + 2; the merge fits the
    # drift on the JPEG, and Pyodide's libjpeg differs from Pillow's by a level or two).
    inside = mask == 255
    edited = np.asarray(Image.open(folder / "edited.jpg")).astype(float)
    assert np.abs(result[inside] - (edited[inside] - 2) / 1.02).mean() < 2


def site_gone(url: str) -> bool:
    """Whether nothing answers at ``url`` any more (its server was stopped)."""
    try:
        urllib.request.urlopen(f"{url}/build-info.json", timeout=5).close()
    except OSError:
        return True
    return False


def check_engine_offline(run: dict) -> None:
    """After its server stopped, the site opened again from the service worker and cut a photo out."""
    assert run["serverGone"] is True, "the site's server still answered: the offline step was not offline"
    # Whether the service worker controlled the page before going offline: what to look at first
    # when the offline start fails.
    assert run["offlineStatus"].startswith("Ready: WASM"), (run["offlineStatus"], run["controlledBeforeOffline"])
    assert run["offlineJob"]["state"] == "done", run["offlineJob"]


def check_engine_merge(run: dict, folder: Path, known: np.ndarray) -> None:
    assert re.search(MERGE_FOUND, run["merged"]), run["merged"]
    mask, result = run["files"]["mask"], run["files"]["result"]
    assert (mask.get("name"), result.get("name")) == ("edited_merge_mask.png", "edited_merged.png"), (mask, result)
    check_merge(base64.b64decode(mask["b64"]), base64.b64decode(result["b64"]), folder, known)


def engine_photos(folder: Path, cat_rgb: np.ndarray) -> dict:
    """The files an engine's smoke run is given: the cat, the studio photo and an edit merge pair."""
    Image.fromarray(cat_rgb).save(folder / "cat.png")
    original, edited, known = merge_pair(folder)
    return {"cat": str(folder / "cat.png"), "studio": str(studio_photo(folder / "studio.png", icc=rgb_profile())),
            "original": str(original), "edited": str(edited), "known": known}


def merge_pair(folder: Path) -> tuple[Path, Path, np.ndarray]:
    """An original photo (scikit-image's astronaut, PNG) and an "AI edit" of it (JPEG): a global
    drift everywhere and a small unrelated colour change in a corner, as editing models add, and a
    green recolour on a known block. The merge keeps the block and lists the corner as a region it
    left out (the page's region list can add it). Returns the two paths and the block's mask."""
    from skimage import data

    original = data.astronaut()
    edited = original.astype(np.float32) * 1.02 + 2
    known = np.zeros(original.shape[:2], bool)
    known[300:420, 330:470] = True
    edited[known] = 0.4 * edited[known] + 0.6 * np.array([40, 210, 70])
    edited[40:64, 40:64] += np.array([30, -20, 10])
    edited = np.clip(edited, 0, 255).astype(np.uint8)
    Image.fromarray(original).save(folder / "original.png")
    Image.fromarray(edited).save(folder / "edited.jpg", quality=88)
    return folder / "original.png", folder / "edited.jpg", known


MERGE_FOUND = r"Edit found on [\d.]+% of the photo, 1 region\(s\)\."
"""What the merge status says once the pair of :func:`merge_pair` is merged."""

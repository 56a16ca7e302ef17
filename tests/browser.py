"""Driving the built site: one Chromium browser context on the site, with what it saw, and the
checks of a cut-out that every engine's tests share (:func:`check_cutout`).

Every page records the requests it makes (page, workers, service worker), every console message
and every uncaught error; :meth:`Session.assert_clean` fails on any uncaught error or console
error that was not expected, on any request that left the site's origin, and on any request body.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from support import CAT_BACKGROUND, CAT_SUBJECT

CHROMIUM = os.environ.get("ALPHACUT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]


class Session:
    """One browser context on the site, with what it saw."""

    def __init__(self, browser, site_url):
        self.url = site_url
        self.context = browser.new_context(accept_downloads=True)
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


def studio_photo(path: Path) -> Path:
    """A red disc on a plain light backdrop (300 x 400), saved as PNG at ``path``."""
    rgb = np.full((300, 400, 3), 245, np.uint8)
    yy, xx = np.mgrid[:300, :400]
    rgb[(yy - 150) ** 2 + (xx - 200) ** 2 < 90 ** 2] = (200, 60, 30)
    Image.fromarray(rgb).save(path)
    return path


def check_engine_jobs(jobs: list[dict], cat_rgb: np.ndarray) -> None:
    """The other engines' smoke runs: the cat cut out by the model, checked as in Chromium,
    then the studio photo (:func:`studio_photo`) cut out. ``jobs`` hold base64 PNGs."""
    import base64

    cat, studio = jobs
    assert cat["state"] == "done" and cat["method"] == "model", cat["text"]
    check_cutout(base64.b64decode(cat["png"]), cat_rgb)
    assert studio["state"] == "done", studio["text"]
    alpha = alpha_of(base64.b64decode(studio["png"]))
    assert alpha.shape == (300, 400) and alpha[150, 200] == 255 and alpha[10, 10] == 0

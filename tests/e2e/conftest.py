"""Browser fixtures: the built site on a loopback port, Debian Chromium through Playwright.

Every page records the requests it makes (page, workers, service worker), every console
message and every uncaught error; a test fails on any uncaught error or console error it did
not expect, and on any request that leaves the site's origin.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site"

CHROMIUM = os.environ.get("ALPHACUT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def site_url():
    """``tools/serve.py`` (what ``make serve`` runs) on a free loopback port, in a subprocess."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE} is not built: run `make build` (make test does)")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "serve.py"), "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, f"serve.py did not start: {line!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt install chromium` (or set ALPHACUT_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


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


@pytest.fixture(scope="module")
def session(browser, site_url):
    s = Session(browser, site_url)
    yield s
    s.close()

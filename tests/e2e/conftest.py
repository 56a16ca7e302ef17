"""Browser fixtures: the built site on a loopback port, Debian Chromium through Playwright
(see tests/browser.py for what each page records and checks)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import ARGS, CHROMIUM, Session

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site"


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


@pytest.fixture(scope="module")
def session(browser, site_url):
    s = Session(browser, site_url)
    s.open()
    yield s
    s.close()

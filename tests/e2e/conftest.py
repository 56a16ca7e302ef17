"""Browser fixtures: the built site on a loopback port, Debian Chromium through Playwright
(see tests/browser.py for what each page records and checks)."""
from __future__ import annotations

from pathlib import Path

import pytest
from browser import ARGS, CHROMIUM, Session, serve_site


@pytest.fixture(scope="session")
def site_url():
    """``tools/serve.py`` (what ``make serve`` runs) on a free loopback port, in a subprocess."""
    with serve_site() as (url, _):
        yield url


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

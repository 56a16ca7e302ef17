"""Installability as Chromium itself judges it (the same check that shows the install button)."""
from __future__ import annotations

import pytest
from browser import ARGS, CHROMIUM

pytestmark = pytest.mark.browser


def test_chromium_finds_the_app_installable(site_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # A persistent profile: Chromium never offers installation in incognito contexts.
        ctx = p.chromium.launch_persistent_context(tmp_path / "profile", executable_path=CHROMIUM, args=ARGS,
                                                   headless=True)
        try:
            page = ctx.new_page()
            page.goto(site_url + "/")
            page.wait_for_function("() => !!window.alphacutServiceWorker", timeout=60_000)
            cdp = ctx.new_cdp_session(page)
            manifest = cdp.send("Page.getAppManifest")
            assert manifest["url"] == site_url + "/manifest.webmanifest"
            assert not manifest["errors"], manifest["errors"]
            assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        finally:
            ctx.close()

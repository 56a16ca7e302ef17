"""Firefox (Debian's firefox-esr), driven over WebDriver BiDi by puppeteer-core: a smoke run
through the same user-level steps as the Chromium suite. The page loads and says Ready (it once
stayed at "Loading the model…": Firefox's storage-persistence prompt), is cross-origin isolated
with threads, cuts out a photo with the model and a studio photo, and asks nothing of another
origin. The browser side is tests/engines/firefox_smoke.mjs; the assertions are the Chromium
suite's (check_cutout)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from browser import check_engine_jobs, studio_photo

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FIREFOX = os.environ.get("ALPHACUT_FIREFOX", "/usr/bin/firefox-esr")
SCRIPT = ROOT / "tests" / "engines" / "firefox_smoke.mjs"


@pytest.fixture(scope="module")
def firefox_run(site_url, cat_rgb, tmp_path_factory):
    if not Path(FIREFOX).is_file():
        pytest.fail(f"Firefox not found at {FIREFOX}: `apt install firefox-esr` (or set ALPHACUT_FIREFOX)")
    if not (ROOT / "tests" / "engines" / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("puppeteer-core is not installed: `make deps` (npm ci in tests/engines)")
    tmp = tmp_path_factory.mktemp("firefox")
    Image.fromarray(cat_rgb).save(tmp / "cat.png")
    studio_photo(tmp / "studio.png")
    proc = subprocess.run([shutil.which("node") or "node", str(SCRIPT), site_url, FIREFOX, str(tmp / "cat.png"),
                           str(tmp / "studio.png")], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_firefox_says_ready_isolated_with_threads(firefox_run):
    assert firefox_run["status"].startswith("Ready: WASM"), firefox_run["status"]
    assert firefox_run["isolated"] is True
    assert "threads" in firefox_run["status"], firefox_run["status"]


def test_firefox_cuts_out_a_photo_with_the_model_and_a_studio_photo(firefox_run, cat_rgb):
    check_engine_jobs(firefox_run["jobs"], cat_rgb)


def test_firefox_stays_on_its_origin_without_errors(firefox_run):
    assert firefox_run["foreign"] == [], firefox_run["foreign"]
    assert firefox_run["errors"] == [], firefox_run["errors"]
    assert firefox_run["statusAfter"].startswith("Ready:"), firefox_run["statusAfter"]

"""WebKit (Debian's WebKitGTK MiniBrowser, the engine behind Safari), driven by WebKitWebDriver
under Xvfb: a smoke run through the same user-level steps as the Chromium suite. The page is
cross-origin isolated and says Ready; WebKitGTK 2.50 has no SharedArrayBuffer, so WASM runs on
one thread and the status says why. It cuts out a photo with the model (the Chromium suite's
check_cutout) and a studio photo, and every resource it loaded came from its own origin."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from browser import check_engine_jobs, studio_photo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))
from webdriver import WebDriver  # noqa: E402

pytestmark = pytest.mark.browser

MINIBROWSER = os.environ.get("ALPHACUT_MINIBROWSER") or next(
    iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser"))), "")

JOB = "const n = arguments[0];\n" + (Path(__file__).resolve().parents[1] / "engines" / "job_result.js").read_text()


@pytest.fixture(scope="module")
def webkit_run(site_url, cat_rgb, tmp_path_factory):
    for tool in ("WebKitWebDriver", "xvfb-run"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: `apt install webkit2gtk-driver xvfb`")
    if not MINIBROWSER:
        pytest.fail("WebKitGTK's MiniBrowser not found: `apt install webkit2gtk-driver` (or set ALPHACUT_MINIBROWSER)")
    tmp = tmp_path_factory.mktemp("webkit")
    Image.fromarray(cat_rgb).save(tmp / "cat.png")
    studio_photo(tmp / "studio.png")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    driver = subprocess.Popen(["xvfb-run", "-a", "WebKitWebDriver", f"--port={port}"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wd = None
    try:
        wd = WebDriver(f"http://127.0.0.1:{port}", {"webkitgtk:browserOptions": {
            "binary": MINIBROWSER, "args": ["--automation"]}})
        wd.get(site_url + "/")
        out = {"status": wd.wait("const s = document.querySelector('#status');"
                                 "return ['ready', 'error'].includes(s?.className)"
                                 " && document.querySelector('#status-text').textContent;")}
        out["isolated"] = wd.run("return self.crossOriginIsolated;")
        out["sab"] = wd.run("return typeof SharedArrayBuffer;")
        out["jobs"] = []
        for i, photo in enumerate((tmp / "cat.png", tmp / "studio.png")):
            wd.send_file("#file-input", str(photo))
            out["jobs"].append(wd.wait(JOB, i))
        out["resources"] = wd.run("return performance.getEntriesByType('resource').map((e) => e.name);")
        return out
    finally:
        if wd:
            wd.quit()
        os.killpg(driver.pid, signal.SIGTERM)
        driver.wait(30)


def test_webkit_says_ready_isolated_and_why_it_has_one_thread(webkit_run):
    status = webkit_run["status"]
    assert status.startswith("Ready: WASM"), status
    assert webkit_run["isolated"] is True
    if webkit_run["sab"] == "undefined":
        assert "1 thread (this browser has no SharedArrayBuffer)" in status, status
    else:
        assert "threads" in status, status


def test_webkit_cuts_out_a_photo_with_the_model_and_a_studio_photo(webkit_run, cat_rgb):
    check_engine_jobs(webkit_run["jobs"], cat_rgb)


def test_webkit_loads_only_from_its_origin(webkit_run, site_url):
    foreign = [u for u in webkit_run["resources"] if not u.startswith((site_url, "blob:", "data:"))]
    assert webkit_run["resources"] and not foreign, foreign

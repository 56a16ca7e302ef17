"""WebKit (Debian's WebKitGTK MiniBrowser, the engine behind Safari), driven by WebKitWebDriver
under Xvfb: the smoke run of tests/engines/steps.js, as in Firefox.

Safari (15.2 on) gives a cross-origin isolated page SharedArrayBuffer, so WASM runs with threads.
Debian's WebKitGTK 2.50 leaves it off even there; JavaScriptCore's option
``JSC_useSharedArrayBuffer=1`` turns it on, and the smoke run uses it to run as Safari does. A
second test runs without it: WASM on one thread, and the status line says why.

The run: the page is isolated and says Ready; it cuts out a photo with the model and a studio
photo, by colour key too, and the downloads are checked as in Chromium; it merges an edit; with
its server stopped it reloads from the service worker and still cuts out. WebKitWebDriver reports
no network events: the page's own Resource Timing entries show where it loaded from (the
workers' requests are held to the origin by the CSP)."""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from browser import (STEPS_JS, check_engine_cutouts, check_engine_merge, check_engine_offline, engine_photos, serve_site,
                     site_gone)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))
from webdriver import WebDriver  # noqa: E402

pytestmark = pytest.mark.browser

MINIBROWSER = os.environ.get("ALPHACUT_MINIBROWSER") or next(
    iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser"))), "")

STEP = STEPS_JS + "; return STEPS[arguments[0]](...arguments[1]);"


@pytest.fixture(scope="module")
def photos(cat_rgb, tmp_path_factory):
    folder = tmp_path_factory.mktemp("webkit")
    return folder, engine_photos(folder, cat_rgb)


def smoke(wd: WebDriver, url: str, files: dict, server: subprocess.Popen) -> dict:
    """The steps of tests/engines/firefox_smoke.mjs, in the same order."""
    def step(name, *args):
        return wd.run(STEP, name, list(args))

    def until(name, *args):
        return wd.wait(STEP, name, list(args))

    wd.get(url + "/")
    out = {"status": until("ready"), **step("isolated"), "jobs": [], "files": {}}
    out["warmUp"] = until("warmedUp")  # the idle page's made-up cut-out, before any photo
    for i, key in enumerate(("cat", "studio")):
        wd.send_file("#file-input", files[key])
        out["jobs"].append(until("job", i))
        step("click", f".job:nth-child({i + 1}) .open")
        out["files"][key] = step("download", "#download")
        if key == "cat":
            out["shown"] = step("shown", "#img-after")
    step("colourKey", 1)
    out["jobs"].append(until("job", 1, "colorkey"))
    out["files"]["keyed"] = step("download", "#download")
    step("click", "#tab-merge")
    wd.send_file("#merge-original", files["original"])
    wd.send_file("#merge-edited", files["edited"])
    out["merged"] = until("merged")
    out["files"]["mask"] = step("download", "#merge-download-mask")
    out["files"]["result"] = step("download", "#merge-download")
    step("click", "#tab-cutout")
    out["resources"] = step("resources")
    out["controlledBeforeOffline"] = step("controlled")
    server.kill()  # the site is gone: what follows comes from the service worker
    server.wait(10)
    out["serverGone"] = site_gone(url)
    wd.get(url + "/")
    out["offlineStatus"] = until("ready")
    wd.send_file("#file-input", files["cat"])
    out["offlineJob"] = until("job", 0)
    return out


@contextlib.contextmanager
def webkit(shared_array_buffer: bool):
    """A WebDriver session in WebKitGTK's MiniBrowser under Xvfb, with SharedArrayBuffer on
    (JavaScriptCore's option) or off (Debian's default)."""
    for tool in ("WebKitWebDriver", "xvfb-run"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: `apt install webkit2gtk-driver xvfb`")
    if not MINIBROWSER:
        pytest.fail("WebKitGTK's MiniBrowser not found: `apt install webkit2gtk-driver` (or set ALPHACUT_MINIBROWSER)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, JSC_useSharedArrayBuffer="1" if shared_array_buffer else "0")
    driver = subprocess.Popen(["xvfb-run", "-a", "WebKitWebDriver", f"--port={port}"], start_new_session=True,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wd = None
    try:
        wd = WebDriver(f"http://127.0.0.1:{port}", {"webkitgtk:browserOptions": {
            "binary": MINIBROWSER, "args": ["--automation"]}})
        yield wd
    finally:
        if wd:
            wd.quit()
        os.killpg(driver.pid, signal.SIGTERM)
        driver.wait(30)


@pytest.fixture(scope="module")
def webkit_run(photos):
    """The smoke run as in Safari: SharedArrayBuffer on an isolated page."""
    _, files = photos
    with webkit(shared_array_buffer=True) as wd, serve_site() as (url, server):  # the run stops this server
        return {**smoke(wd, url, files, server), "url": url}


def test_webkit_warms_up_while_idle(webkit_run):
    assert webkit_run["warmUp"]["verdict"] == "good" and webkit_run["warmUp"]["ms"] > 0, webkit_run["warmUp"]


def test_webkit_says_ready_isolated_with_threads(webkit_run):
    assert webkit_run["status"].startswith("Ready: WASM"), webkit_run["status"]
    assert webkit_run["isolated"] is True and webkit_run["sab"] == "function"
    assert re.search(r", [2-9] threads\.", webkit_run["status"]), webkit_run["status"]


def test_webkit_without_shared_array_buffer_runs_on_one_thread_and_says_why(site_url):
    with webkit(shared_array_buffer=False) as wd:
        wd.get(site_url + "/")
        status = wd.wait(STEP, "ready", [])
        assert wd.run(STEP, "isolated", []) == {"isolated": True, "sab": "undefined"}
    assert status.startswith("Ready: WASM, 1 thread (this browser has no SharedArrayBuffer)."), status


def test_webkit_cuts_out_with_the_model_and_the_colour_key_and_downloads(webkit_run, cat_rgb):
    check_engine_cutouts(webkit_run, cat_rgb)


def test_webkit_merges_an_edit(webkit_run, photos):
    folder, files = photos
    check_engine_merge(webkit_run, folder, files["known"])


def test_webkit_reloads_and_cuts_out_offline(webkit_run):
    check_engine_offline(webkit_run)


def test_webkit_loads_only_from_its_origin(webkit_run):
    foreign = [u for u in webkit_run["resources"] if not u.startswith((webkit_run["url"], "blob:", "data:"))]
    assert webkit_run["resources"] and not foreign, foreign

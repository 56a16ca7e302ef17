"""The site on a plain static host that sends no COOP/COEP headers (``python -m http.server``):
the service worker makes the page cross-origin isolated after one automatic reload, and photos
chosen before that reload are not lost."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import Session

SITE = Path(__file__).resolve().parents[2] / "build" / "site"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plain_url():
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                             "--directory", str(SITE)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"port (\d+)", line)
        assert match, f"http.server did not start: {line!r}"
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_a_photo_chosen_before_the_first_visit_reload_is_cut_out_after_it(browser, plain_url, tmp_path):
    s = Session(browser, plain_url)
    try:
        page = s.page
        page.goto(plain_url + "/")
        # The inputs work from the first moment, before the service worker has made the page
        # isolated (which takes a reload on this host).
        page.wait_for_function("() => window.alphacutInputs === true", timeout=30_000)
        assert not page.evaluate("() => self.crossOriginIsolated")
        rgb = np.full((120, 160, 3), 240, np.uint8)
        rgb[30:90, 50:110] = (200, 40, 30)
        Image.fromarray(rgb).save(tmp_path / "early.png")
        page.set_input_files("#file-input", str(tmp_path / "early.png"))
        # One reload later: isolated, with threads, and the photo is cut out.
        page.wait_for_function("() => window.alphacut?.jobs?.length === 1", timeout=120_000)
        [(state, text)] = s.wait_jobs(1, timeout_s=300)
        assert state == "done", text
        # The page was loaded a second time, through the worker; the URL's mark of that is gone.
        assert page.evaluate("() => performance.getEntriesByType('navigation')[0].type") == "navigate"
        assert page.url == plain_url + "/", page.url
        assert page.evaluate("() => self.crossOriginIsolated")
        assert page.inner_text(".job .job-name") == "early.png"
        assert any("took back 1 photo(s) chosen before the reload" in line for line in s.console), s.console
        _, png = s.download("#download")
        alpha = np.asarray(Image.open(io.BytesIO(png)))[..., 3]
        assert alpha.shape == (120, 160) and alpha[60, 80] == 255 and alpha[5, 5] == 0
        # The hand-off is gone once taken back.
        left = page.evaluate("""() => new Promise((resolve) => {
          const r = indexedDB.open('alphacut-handoff');
          r.onsuccess = () => { const g = r.result.transaction('files').objectStore('files').count();
                                g.onsuccess = () => resolve(g.result); };
        })""")
        assert left == 0
        # What the service worker serves carries the headers this host cannot send, the worker's
        # script included.
        headers = page.evaluate("""async () => { const r = await fetch('worker/worker.js');
          return [r.headers.get('content-security-policy'), r.headers.get('cross-origin-embedder-policy')]; }""")
        assert headers[0].startswith("default-src 'self'") and headers[1] == "require-corp", headers
        # A hard reload skips the service worker, so the page arrives without the headers; it loads
        # itself again once, through the worker, and is isolated, with threads.
        cdp = s.context.new_cdp_session(page)
        cdp.send("Page.reload", {"ignoreCache": True})
        page.wait_for_function("() => document.querySelector('#status')?.className === 'ready'", timeout=240_000)
        assert page.evaluate("() => self.crossOriginIsolated")
        status = page.inner_text("#status-text")
        assert "threads" in status, status
        assert "isolating" not in page.url, page.url
        s.assert_clean()
    finally:
        s.close()

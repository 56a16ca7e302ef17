"""Fault injection in Chromium: a corrupt model cache, a storage quota too small for the model,
and a model download that fails. The app says what happened, and keeps working where it can."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from browser import MERGE_FOUND, Session, merge_pair, studio_photo

pytestmark = pytest.mark.browser


@pytest.fixture
def fresh(browser, site_url):
    s = Session(browser, site_url)
    yield s
    s.close()


def cut_out_small(s: Session, tmp_path) -> str:
    src = tmp_path / "small.png"
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[15:45, 25:55] = (230, 60, 40)
    Image.fromarray(rgb).save(src)
    before = len(s.page.query_selector_all(".job"))
    s.page.set_input_files("#file-input", str(src))
    jobs = s.wait_jobs(before + 1)
    return jobs[-1][0]


def test_corrupt_cached_model_is_detected_and_fetched_again(fresh, tmp_path):
    fresh.open()
    assert fresh.page.evaluate("() => window.alphacut.bridge.about.cache") == "stored"
    # Flip bytes in the middle of one stored part of the model.
    fresh.page.evaluate("""async () => {
      const db = await new Promise((res, rej) => { const r = indexedDB.open('alphacut'); r.onsuccess = () => res(r.result); r.onerror = rej; });
      const keys = await new Promise((res) => { const r = db.transaction('models').objectStore('models').getAllKeys(); r.onsuccess = () => res(r.result); });
      const key = keys.find((k) => String(k).endsWith(':1'));  // the second 32 MB part
      const t = db.transaction('models', 'readwrite');
      const store = t.objectStore('models');
      await new Promise((res) => { const g = store.get(key); g.onsuccess = () => { const buf = new Uint8Array(g.result); buf[1000] ^= 0xff; store.put(buf.buffer, key); res(); }; });
      await new Promise((res) => { t.oncomplete = res; });
      db.close();
    }""")
    fresh.page.reload()
    fresh.wait_ready()
    assert fresh.page.evaluate("() => window.alphacut.bridge.about.cache") == "refetched"
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean()


def test_quota_too_small_turns_the_cache_off_and_the_app_still_works(fresh, tmp_path):
    cdp = fresh.context.new_cdp_session(fresh.page)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": fresh.url, "quotaSize": 20 * 1024 * 1024})
    fresh.open()
    cache = fresh.page.evaluate("() => window.alphacut.bridge.about.cache")
    assert cache.startswith("off:"), cache
    assert "Model cache is off" in fresh.page.inner_text("#status-text")
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean()


def test_without_the_model_a_clear_message_and_colour_key_still_works(fresh, tmp_path):
    fresh.context.route("**/models/*.onnx", lambda route: route.abort("internetdisconnected"))
    fresh.page.goto(fresh.url + "/")
    fresh.page.wait_for_function("() => ['ready', 'error'].includes(document.querySelector('#status').className)",
                                 timeout=240_000)
    text = fresh.page.inner_text("#status-text")
    assert fresh.page.get_attribute("#status", "class") == "error"
    assert text.startswith("Could not load the model:") and "colour key" in text, text
    # A product shot on a plain studio background needs no model.
    fresh.page.set_input_files("#file-input", str(studio_photo(tmp_path / "product.png")))
    [(state, text)] = fresh.wait_jobs(1)
    assert state == "done" and "colour key" in text, text
    name, png = fresh.download("#download")
    alpha = np.asarray(Image.open(io.BytesIO(png)))[..., 3]
    assert alpha[150, 200] == 255 and alpha[10, 10] == 0
    fresh.assert_clean(expected_errors=["ERR_INTERNET_DISCONNECTED", "Failed to load resource"])


def test_worker_killed_mid_job_fails_that_job_and_the_next_one_works(fresh, tmp_path):
    """The worker dies silently in the middle of a cut-out (as when the browser kills it for
    memory): no event fires, and the bridge learns of it from the worker's life lock."""
    fresh.open()
    rgb = np.random.default_rng(0).integers(0, 255, (1500, 2000, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "busy.png")
    fresh.page.set_input_files("#file-input", str(tmp_path / "busy.png"))
    fresh.page.wait_for_function("() => document.querySelector('.job')?.dataset.state === 'running'",
                                 timeout=60_000)
    fresh.page.evaluate("() => window.alphacut.bridge.worker.terminate()")
    [(state, text)] = fresh.wait_jobs(1, timeout_s=60)
    assert state == "error" and "worker stopped unexpectedly" in text and "restarted" in text, text
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean()


def test_first_visit_offline_says_a_connection_is_needed(fresh):
    """Nothing is cached yet and the network drops once the page itself has arrived."""
    shell = ("/", "/index.html", "/style.css", "/manifest.webmanifest")

    def offline_except_shell(route):
        path = route.request.url[len(fresh.url):].split("?")[0]
        if path in shell or path.startswith(("/client/", "/shared/", "/lib/")):
            fresh._route(route)
        else:
            route.abort("internetdisconnected")

    fresh.context.route("**/*", offline_except_shell)
    fresh.page.goto(fresh.url + "/", wait_until="domcontentloaded")  # the page's modules have run
    fresh.context.set_offline(True)
    fresh.page.wait_for_function("() => document.querySelector('#status')?.className === 'error'", timeout=60_000)
    text = fresh.page.inner_text("#status-text")
    assert "offline" in text and "first visit needs a connection" in text, text
    assert not fresh.page.query_selector_all(".job")
    fresh.assert_clean(expected_errors=["ERR_INTERNET_DISCONNECTED", "Failed to load resource", "Failed to fetch",
                                        "An unknown error occurred when fetching the script"])


def test_a_plain_backdrop_photo_gets_a_preview_then_the_models_cut_out(fresh, tmp_path):
    """While the model is still downloading, a photo on a plain backdrop gets the colour key's
    cut-out, labelled a preview; once the model has loaded, the photo is cut out again by it."""
    held, released = [], []

    def hold(route):  # the model's files wait until the test lets them through
        (route.fallback() if released else held.append(route))

    fresh.context.route("**/models/*.onnx", hold)
    fresh.page.goto(fresh.url + "/")
    fresh.page.wait_for_function(
        "() => document.querySelector('#status-text').textContent.startsWith('Loading the model')", timeout=240_000)
    fresh.page.set_input_files("#file-input", str(studio_photo(tmp_path / "product.png")))
    [(state, _)] = fresh.wait_jobs(1)
    stage = fresh.page.inner_text(".job .job-state")
    assert state == "done" and stage.startswith("Preview (colour key)"), stage
    assert fresh.page.get_attribute("#status", "class") != "ready"  # the model really was not there yet
    assert held, "the model's download was not held"
    released.append(True)
    for route in held:
        route.fallback()
    fresh.wait_ready()
    fresh.page.wait_for_function("() => document.querySelector('.job .job-state').textContent.startsWith('Done:')",
                                 timeout=240_000)
    stage = fresh.page.inner_text(".job .job-state")
    assert "colour key" not in stage, stage  # the model's cut-out, not the preview
    assert fresh.page.evaluate("() => window.alphacut.jobs[0].result.report.method") == "model"
    name, png = fresh.download("#download")
    alpha = np.asarray(Image.open(io.BytesIO(png)))[..., 3]
    assert alpha[150, 200] == 255 and alpha[10, 10] == 0
    fresh.assert_clean()


def test_a_storage_persistence_prompt_left_unanswered_does_not_hold_the_page(fresh, tmp_path):
    """Firefox asks the user before it grants persistent storage, and navigator.storage.persist()
    waits for the answer: the page must say "Ready" and cut out without it."""
    fresh.context.add_init_script("navigator.storage.persist = () => new Promise(() => {});")
    fresh.open()  # asserts the status reaches "ready"
    assert fresh.page.inner_text("#status-text").startswith("Ready:")
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean()


def test_after_clearing_cached_data_one_online_reload_restores_offline_use(fresh, tmp_path):
    """"Clear cached data" deletes the app's caches and the model; the service worker stays. One
    online reload fills them again (each file checked against this build's sha256), and the
    page then works offline."""
    fresh.open()
    fresh.page.click("#clear-cache")
    fresh.page.wait_for_function("() => /Cleared|Could not/.test(document.querySelector('#clear-status').textContent)",
                                 timeout=30000)
    assert fresh.page.inner_text("#clear-status").startswith("Cleared:")
    assert fresh.page.evaluate("async () => (await caches.keys()).filter((k) => k.startsWith('alphacut-')).length") == 0
    fresh.page.reload()
    fresh.wait_ready()
    fresh.context.set_offline(True)
    try:
        fresh.page.reload()
        fresh.wait_ready()
        assert fresh.page.evaluate("() => window.alphacut.bridge.about.cache") == "hit"
        assert cut_out_small(fresh, tmp_path) == "done"
    finally:
        fresh.context.set_offline(False)
    fresh.assert_clean()


def test_a_worker_that_keeps_stopping_is_restarted_three_times_then_no_more(fresh, tmp_path):
    """Restarts are bounded: a worker that stops a fourth time within the window (a minute by
    default; ten here, for slow machines) is not started again, since a crash that recurs would
    loop; the jobs fail saying so."""
    fresh.open()
    fresh.page.evaluate("() => { window.alphacut.bridge.crashWindowMs = 600_000; }")  # slow machines: 10 min
    rgb = np.random.default_rng(0).integers(0, 255, (1500, 2000, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "busy.png")
    texts = []
    for i in range(4):
        fresh.page.set_input_files("#file-input", str(tmp_path / "busy.png"))
        fresh.page.wait_for_function("(n) => document.querySelectorAll('.job')[n]?.dataset.state === 'running'",
                                     arg=i, timeout=120_000)
        fresh.page.evaluate("() => window.alphacut.bridge.worker.terminate()")
        texts.append(fresh.wait_jobs(i + 1, timeout_s=60)[i])
    assert all(state == "error" for state, _ in texts), texts
    assert all("restarted" in text for _, text in texts[:3]), texts
    assert "stopped 4 times within 600 s, so it was not restarted: reload the page" in texts[3][1], texts
    fresh.page.set_input_files("#file-input", str(tmp_path / "busy.png"))
    state, text = fresh.wait_jobs(5, timeout_s=30)[4]
    assert state == "error" and "reload the page" in text, text
    fresh.assert_clean(expected_errors=["stopped"])


def test_a_model_worker_that_stops_mid_photo_restarts_both_workers_and_the_next_photo_works(fresh, tmp_path):
    """The model runs in a worker of its own, started by the processing worker. If it stops
    while it runs the model (as when a tab is short of memory), the processing worker stops too,
    so that the bridge restarts both: the photo fails saying so, and the next one is cut out."""
    fresh.open()
    rgb = np.random.default_rng(1).integers(0, 255, (600, 800, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "busy.png")
    fresh.page.set_input_files("#file-input", str(tmp_path / "busy.png"))
    fresh.page.wait_for_function("() => window.alphacut.bridge.lastProgress?.key === 'compute:infer'", timeout=120_000)
    [model] = [w for w in fresh.page.workers if "/worker/model-worker.js" in w.url]
    model.evaluate("() => { setTimeout(() => self.close(), 0); }")
    [(state, text)] = fresh.wait_jobs(1, timeout_s=120)
    assert state == "error" and "restarted, try again" in text, text
    assert any("the model's worker stopped" in line for line in fresh.console), fresh.console
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean(expected_errors=["stopped"])


def test_where_a_worker_cannot_start_a_worker_the_model_runs_in_the_processing_worker(browser, site_url, tmp_path):
    """Safari before 15.5 has no Worker inside a worker: the model's host then runs on the
    processing worker's own thread, on one thread (ONNX Runtime's threads are workers too), and
    the page says so. The processing worker's
    script is served here with Worker taken away (no service worker, so that the route applies;
    the test server sends the isolation headers itself)."""
    s = Session(browser, site_url, service_workers="block")
    try:
        def strip_worker(route):
            response = route.fetch()
            route.fulfill(response=response, body=b"delete self.Worker;\n" + response.body())

        s.context.route("**/worker/worker.js*", strip_worker)
        s.open()
        about = s.page.evaluate("() => window.alphacut.bridge.about")
        # ONNX Runtime's threads are workers too: one thread, and the page says why.
        assert about["threads"] == 1 and about["threadLimit"] == "this browser cannot start a worker from a worker", about
        assert "this browser cannot start a worker from a worker" in s.page.inner_text("#status-text")
        assert cut_out_small(s, tmp_path) == "done"
        assert not [w for w in s.page.workers if "/worker/model-worker.js" in w.url]
        assert [w for w in s.page.workers if "/worker/worker.js" in w.url]
        s.assert_clean()
    finally:
        s.close()


def test_without_offscreen_canvas_web_locks_or_an_avif_decoder_the_page_still_works(fresh, tmp_path):
    """Older Safari lacks OffscreenCanvas (before 16.4) and Web Locks (before 15.4); some
    browsers cannot decode AVIF. The page draws on a plain canvas instead, says what it cannot
    watch for, and refuses an AVIF with a reason; the queue goes on."""
    import re

    fresh.context.add_init_script("""
      delete window.OffscreenCanvas;
      Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
      window.createImageBitmap = () => Promise.reject(new DOMException('The source image could not be decoded.'));
    """)
    fresh.open()
    page = fresh.page
    assert page.evaluate("() => typeof OffscreenCanvas === 'undefined' && !navigator.locks")
    about = page.text_content("#about-text")
    assert "this browser has no Web Locks: a worker that stops silently is noticed by the watchdog (5 min)" in about
    avif = tmp_path / "red.avif"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(avif, format="AVIF")
    page.set_input_files("#file-input", str(avif))
    [(state, text)] = fresh.wait_jobs(1)
    assert state == "error" and "this browser cannot decode AVIF: convert the photo to JPEG or PNG first" in text, text
    assert cut_out_small(fresh, tmp_path) == "done"
    # Edit merge with a brush: its strokes are drawn on a plain canvas and sent as PNG.
    original, edited, known = merge_pair(tmp_path)
    page.click("#tab-merge")
    page.set_input_files("#merge-original", str(original))
    page.set_input_files("#merge-edited", str(edited))
    found = "() => /Edit found|Failed/.test(document.querySelector('#merge-status').textContent)"
    page.wait_for_function(found, timeout=120_000)
    assert re.search(MERGE_FOUND, page.inner_text("#merge-status"))
    page.check("input[name=mtool][value=protect]")
    box = page.locator("#merge-brush").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)  # the edit's centre
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.8, steps=6)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('#merge-status').textContent === 'Comparing…'")
    page.wait_for_function(found, timeout=120_000)
    status = page.inner_text("#merge-status")
    fraction = float(re.search(r"on ([\d.]+)%", status).group(1))
    assert fraction < 100 * known.mean() * 0.9, status  # the protect stroke took part of the edit out
    fresh.assert_clean()


def test_after_a_model_load_only_the_graph_in_use_stays_stored(fresh):
    """An older build's graph (here a made-up one) is removed once this build's model loads."""
    fresh.open()
    page = fresh.page
    keys = """async () => {
      const db = await new Promise((res, rej) => { const r = indexedDB.open('alphacut'); r.onsuccess = () => res(r.result); r.onerror = rej; });
      const keys = await new Promise((res) => { const r = db.transaction('models').objectStore('models').getAllKeys(); r.onsuccess = () => res(r.result); });
      db.close();
      return keys.map(String); }"""
    current = page.evaluate(keys)
    assert current and len({k.split(":")[0] for k in current}) == 1, current
    page.evaluate("""async () => {
      const db = await new Promise((res, rej) => { const r = indexedDB.open('alphacut'); r.onsuccess = () => res(r.result); r.onerror = rej; });
      const t = db.transaction('models', 'readwrite');
      t.objectStore('models').put(new ArrayBuffer(1024), 'old0build:0');
      t.objectStore('models').put({ size: 1024, parts: 1, storedAt: 0 }, 'old0build');
      await new Promise((res) => { t.oncomplete = res; });
      db.close(); }""")
    assert len(page.evaluate(keys)) == len(current) + 2
    page.reload()
    fresh.wait_ready()
    assert fresh.page.evaluate("() => window.alphacut.bridge.about.storedModelsRemoved") == 1
    assert sorted(page.evaluate(keys)) == sorted(current)
    fresh.assert_clean()


def test_a_damaged_cached_runtime_file_is_detected_and_fetched_again(fresh, tmp_path):
    """A cached file whose bytes changed on disk is checked against the build's sha256 by the
    service worker (once each time it starts), dropped, and fetched again."""
    fresh.open()
    page = fresh.page
    damage = """async () => {
      const name = (await caches.keys()).find((n) => n.startsWith('alphacut-runtime-'));
      const cache = await caches.open(name);
      const key = (await cache.keys()).find((r) => r.url.endsWith('vendor/pyodide/pyodide-lock.json'));
      const good = await (await cache.match(key)).text();
      await cache.put(key, new Response(good.replace('"packages"', '"packages_"'), { headers: { 'Content-Type': 'application/json' } }));
      return good.length; }"""
    size = page.evaluate(damage)
    cdp = fresh.context.new_cdp_session(page)
    cdp.send("ServiceWorker.enable")
    cdp.send("ServiceWorker.stopAllWorkers")  # as after a browser restart: the next start checks again
    page.reload()
    fresh.wait_ready()
    restored = page.evaluate("""async () => {
      const name = (await caches.keys()).find((n) => n.startsWith('alphacut-runtime-'));
      const cache = await caches.open(name);
      const key = (await cache.keys()).find((r) => r.url.endsWith('vendor/pyodide/pyodide-lock.json'));
      return (await (await cache.match(key)).text()).length; }""")
    assert restored == size
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean()


def test_a_worker_that_stops_during_start_up_is_restarted_and_the_page_says_ready(fresh, tmp_path):
    """The status follows the restarted worker: not "Could not start" once a restart succeeded."""
    fresh.page.goto(fresh.url + "/")
    fresh.page.wait_for_function("() => window.alphacut?.bridge.worker.alive === true", timeout=60_000)
    assert fresh.page.get_attribute("#status", "class") != "ready"
    fresh.page.evaluate("() => window.alphacut.bridge.worker.terminate()")
    status = fresh.wait_ready()
    assert status.startswith("Ready:"), status
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean(expected_errors=["stopped unexpectedly"])


def test_a_session_that_stalls_is_restarted_once_on_one_thread(fresh, tmp_path):
    """Creating the model's session that is not done after ``sessionLimitMs`` (in Firefox, a
    threaded ONNX Runtime session that never returned) restarts the worker on one thread, and
    says so. Here ONNX Runtime's wasm, which session creation fetches, is held unanswered the
    first time; the restarted worker's request goes through."""
    held = []

    def hold_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)  # never answered

    fresh.context.route("**/vendor/ort/ort-wasm-simd-threaded.wasm", hold_first)
    fresh.page.goto(fresh.url + "/")
    fresh.page.wait_for_function("() => window.alphacut?.bridge", timeout=60_000)
    fresh.page.evaluate("() => { window.alphacut.bridge.sessionLimitMs = 15_000; }")
    status = fresh.wait_ready()
    assert len(held) == 1
    assert "1 thread (a start on several threads stalled)" in status, status
    assert any("session stalled" in line and "restarting it on one thread" in line for line in fresh.console)
    assert cut_out_small(fresh, tmp_path) == "done"
    fresh.assert_clean()


def _start_with_limit(s: Session, limit: str) -> tuple[str, str]:
    """Open the page, set the bridge's watchdog ``limit`` (``sessionLimitMs``, ``startSilenceMs``)
    to 15 s as soon as the bridge exists, and wait for Ready or an error: (class, text)."""
    s.page.goto(s.url + "/")
    s.page.wait_for_function("() => window.alphacut?.bridge", timeout=60_000)
    s.page.evaluate(f"() => {{ window.alphacut.bridge.{limit} = 15_000; }}")
    s.page.wait_for_function("() => ['ready', 'error'].includes(document.querySelector('#status').className)",
                             timeout=240_000)
    return s.page.get_attribute("#status", "class"), s.page.inner_text("#status-text")


def _fails_with_reload(s: Session, tmp_path) -> None:
    """A photo dropped on a page that gave up fails with the reason, not a hang."""
    s.page.set_input_files("#file-input", str(studio_photo(tmp_path / "product.png")))
    [(state, job)] = s.wait_jobs(1, timeout_s=30)
    assert state == "error" and "reload the page" in job, job


#: Prepended to the processing worker's script: right after its first progress message its
#: thread is stuck for good (a busy loop), as in the Firefox start that sat silent for 300 s.
HANG_AFTER_FIRST_PROGRESS = (b"{ const post = self.postMessage.bind(self); self.postMessage = (m, t) => "
                             b"{ post(m, t); if (m && m.type === 'progress') for (;;) {} }; }\n")


def _serve_worker(s: Session, hang) -> list[int]:
    """Serve the processing worker's script, with HANG_AFTER_FIRST_PROGRESS prepended when
    ``hang(n)`` for the n-th worker started (0 first); returns the list of workers served."""
    served = []

    def route(r):
        response = r.fetch()
        body = response.body()
        r.fulfill(response=response, body=(HANG_AFTER_FIRST_PROGRESS + body) if hang(len(served)) else body)
        served.append(len(served))

    s.context.route("**/worker/worker.js*", route)
    return served


def test_a_worker_that_hangs_while_python_starts_is_restarted(browser, site_url, tmp_path):
    """The first processing worker's thread gets stuck after its first progress message: no
    progress and no pong for ``startSilenceMs`` restarts it, and the page says ready. (No service
    worker, so that the route applies; the test server sends the isolation headers itself.)"""
    s = Session(browser, site_url, service_workers="block")
    try:
        served = _serve_worker(s, lambda n: n == 0)
        state, status = _start_with_limit(s, "startSilenceMs")
        assert state == "ready" and status.startswith("Ready:"), status
        assert len(served) == 2
        assert any("stopped answering while Python started" in line and "restarting it" in line
                   for line in s.console), s.console
        assert cut_out_small(s, tmp_path) == "done"
        s.assert_clean()
    finally:
        s.close()


def test_a_worker_that_hangs_twice_while_python_starts_gives_up_with_a_reason(browser, site_url, tmp_path):
    """Stuck again after the restart: the page says what happened and to reload, and a photo
    dropped then fails with that reason, not a hang."""
    s = Session(browser, site_url, service_workers="block")
    try:
        served = _serve_worker(s, lambda n: True)
        state, text = _start_with_limit(s, "startSilenceMs")
        assert state == "error", text
        assert "stopped answering while Python started (no message for 15 s), twice: reload the page" in text, text
        assert len(served) == 2
        _fails_with_reload(s, tmp_path)
    finally:
        s.close()


def test_a_session_that_stalls_twice_gives_up_with_a_reason(fresh, tmp_path):
    """On one thread too: the page says what stalled and to reload (the worker is gone, so it
    does not offer the colour key), and a photo dropped then fails with that reason, not a hang."""
    fresh.context.route("**/vendor/ort/ort-wasm-simd-threaded.wasm", lambda route: None)  # never answered
    state, text = _start_with_limit(fresh, "sessionLimitMs")
    assert state == "error", text
    assert "session stalled (not done after 15 s), on one thread too: reload the page" in text, text
    assert "colour key" not in text, text
    _fails_with_reload(fresh, tmp_path)

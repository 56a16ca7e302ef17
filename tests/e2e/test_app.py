"""End to end in Chromium: the built site cuts out real photos, refines, exports, works offline,
and talks to no one else. One page is shared by the module's tests, in order."""
from __future__ import annotations

import base64
import io
import struct
import zipfile

import numpy as np
import pytest
from PIL import Image

from browser import MERGE_FOUND, STEPS_JS, Session, alpha_of, check_cutout, check_merge, check_shown, merge_pair, rgb_profile
from support import CAT_BACKGROUND, CAT_SUBJECT, png_bytes

pytestmark = pytest.mark.browser


def selected_report(page) -> dict:
    return page.evaluate("() => window.alphacut.jobs.find((j) => j.item.classList.contains('selected')).result.report")


def drop_files(page, files, event="drop"):
    """Drop (or paste) ``[(name, mime, bytes)]`` through a real DataTransfer."""
    payload = [{"name": n, "type": t, "b64": base64.b64encode(b).decode()} for n, t, b in files]
    page.evaluate(
        """([files, event]) => {
          const dt = new DataTransfer();
          for (const f of files) {
            const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name, { type: f.type }));
          }
          if (event === 'paste') {
            window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
            return;
          }
          const zone = document.querySelector('#drop');
          zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
          zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
        }""",
        [payload, event],
    )


def test_page_boots_isolated_with_its_model(session):
    about = session.page.evaluate("() => window.alphacut.bridge.about")
    assert about["crossOriginIsolated"] is True
    assert about["backend"] == "wasm" and about["threads"] >= 2
    assert about["model"].startswith("isnet int8")  # the manifest's variant for WASM
    assert "WASM" in about["variantWhy"]
    assert about["cache"] == "stored", about["cache"]
    assert set(about["initMs"]) == {"pyodide", "packages", "wheel", "model", "session", "modelWall"}
    # only the variant this backend runs was downloaded
    graphs = sorted({u for u in session.requests if u.endswith(".onnx")})  # the service worker repeats it
    assert len(graphs) == 1 and "/models/isnet-int8-" in graphs[0], graphs
    session.assert_clean()


def test_an_idle_page_warms_the_pipeline_up_once_ready(session):
    """With Python and the model ready and no photo waiting, the page runs the made-up cut-out
    (worker_api.warm_up) in Pyodide, and it passes its check without escalating."""
    session.page.wait_for_function("() => window.alphacut.bridge.warmUp !== null", timeout=60_000)
    warm = session.page.evaluate("() => window.alphacut.bridge.warmUp")
    assert warm["verdict"] == "good" and warm["ms"] > 0, warm
    session.assert_clean()


def test_the_exact_fp32_graph_can_be_asked_for_on_wasm(browser, site_url, cat_rgb):
    s = Session(browser, site_url)
    try:
        s.open("?variant=fp32")
        about = s.page.evaluate("() => window.alphacut.bridge.about")
        assert about["backend"] == "wasm" and about["model"].startswith("isnet fp32"), about
        assert about["variantWhy"] == "asked for (?variant=fp32)"
        s.assert_clean()
    finally:
        s.close()


def test_file_picker_cutout_and_download(session, tmp_path, cat_rgb):
    src = tmp_path / "cat.png"
    Image.fromarray(cat_rgb).save(src)
    session.page.set_input_files("#file-input", str(src))
    [(state, text)] = session.wait_jobs(1)
    assert state == "done", text
    session.page.wait_for_selector("#editor:not([hidden])")
    badge = session.page.inner_text(".job .badge")
    assert badge in ("quality: good", "quality: suspicious", "quality: bad"), badge
    assert session.page.inner_text("#quality-verdict").startswith("Quality: ")
    assert "Cut out by the model." in session.page.inner_text("#quality-verdict")
    # The queue's thumbnail: 96 px high, made from the photo (not the photo itself).
    session.page.wait_for_function("() => document.querySelector('.job .thumb').naturalHeight === 96")
    assert session.page.get_attribute(".job .thumb", "src").startswith("blob:")
    name, png = session.download("#download")
    assert name == "cat_no_bg.png"
    check_cutout(png, cat_rgb)  # lossless input: opaque RGB must be identical
    # The browser's own PNG decoder reads the file as Pillow does (the page's image is that file).
    shown = session.page.evaluate(f"(selector) => {{ {STEPS_JS}; return STEPS.shown(selector); }}", "#img-after")
    check_shown(shown, png)
    session.assert_clean()


def test_outputs_mask_jpeg_webp_and_zip(session, cat_rgb):
    _, png = session.download("#download")
    alpha = alpha_of(png)
    session.page.select_option("#out-format", "mask")
    name, mask = session.download("#download")
    assert name == "cat_mask.png"
    m = Image.open(io.BytesIO(mask))
    assert m.mode == "L" and m.size == (451, 300)
    np.testing.assert_array_equal(np.asarray(m), alpha)
    session.page.select_option("#bg-kind", "colour")
    session.page.fill("#bg-colour", "#0000ff")
    for fmt, ext, pil_format in [("jpeg", "jpg", "JPEG"), ("webp", "webp", "WEBP")]:
        session.page.select_option("#out-format", fmt)
        name, data = session.download("#download")
        assert name == f"cat_on_bg.{ext}"
        img = Image.open(io.BytesIO(data))
        assert img.format == pil_format and img.mode == "RGB" and img.size == (451, 300)
        rgb = np.asarray(img).astype(int)
        assert rgb[CAT_BACKGROUND][..., 2].mean() > 200 and rgb[CAT_BACKGROUND][..., :2].mean() < 40  # blue
        assert np.abs(rgb[CAT_SUBJECT] - cat_rgb[CAT_SUBJECT]).mean() < 12
    name, data = session.download("#download-all")
    assert name == "alphacut.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.namelist() == ["cat_no_bg.png"]
        np.testing.assert_array_equal(alpha_of(z.read("cat_no_bg.png")), alpha)
    names = session.page.evaluate("""async () => (await import('./client/zip.js'))
      .uniqueNames(['a.png', 'a.png', 'a.png', 'x/y.png', 'notes', 'notes', ''])""")
    assert names == ["a.png", "a-2.png", "a-3.png", "x_y.png", "notes", "notes-2", "file"], names
    session.page.select_option("#out-format", "png")
    session.assert_clean()


def test_refine_controls_rerun_without_the_model(session):
    _, before = session.download("#download")
    page = session.page
    page.fill("#feather", "6")
    page.dispatch_event("#feather", "input")
    session.refined()
    report = selected_report(page)
    assert "infer" not in report["timings_ms"] and report["backend"].startswith("none")
    _, after = session.download("#download")
    a0, a1 = alpha_of(before).astype(int), alpha_of(after).astype(int)
    assert np.abs(a1 - a0).max() > 50  # the edge softened
    # A remove stroke across the cat's face clears it, without running the model.
    session.choose_brush("remove", 60)
    page.click("#zoom-fit")
    x0, y0, w, h = session.image_box()
    page.mouse.move(x0 + w * 0.35, y0 + h * 0.5)
    page.mouse.down()
    page.mouse.move(x0 + w * 0.55, y0 + h * 0.5, steps=8)
    page.mouse.up()
    session.refined()
    _, painted = session.download("#download")
    a2 = alpha_of(painted)
    assert a2[140:160, 180:230].max() == 0  # under the stroke (300x451 image, stroke at rows ~150)
    assert a2[CAT_SUBJECT].mean() > 0.6 * 255  # the rest of the cat stays
    page.click("#clear-strokes")
    session.wait_jobs(1)
    # The same from the keyboard: the brush ring starts at the centre, Space held paints.
    page.focus("#viewport")
    page.keyboard.down(" ")
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # 30 px steps with a 60 px brush
    page.keyboard.up(" ")
    session.refined()
    _, keyed = session.download("#download")
    a3 = alpha_of(keyed)
    assert a3[150:240, 215:236].max() == 0, a3[150:240, 215:236].max()
    assert a3[60:130, 60:150].mean() > 0.6 * 255  # away from the path, the cat stays
    page.click("#clear-strokes")
    page.check("input[name=tool][value=pan]")
    page.fill("#feather", "0")
    page.dispatch_event("#feather", "input")
    session.wait_jobs(1)
    session.assert_clean()


def test_forced_second_pass_and_the_flagged_regions_overlay(session):
    page = session.page
    page.select_option("#escalate", "force")
    session.refined()
    esc = selected_report(page)["escalation"]
    assert esc["ran"] and esc["why"] == "asked for" and esc["kept"] in ("first", "second"), esc
    assert esc["first"]["path"] == "model, squashed input" and esc["second"]["path"].startswith("model, letterboxed input")
    assert page.inner_text("#quality-escalation").startswith("Checked twice (asked for)")
    page.check("#show-problems")
    page.wait_for_function("() => { const i = document.querySelector('#img-problems');"
                           " return !i.hidden && i.complete && i.naturalWidth > 0; }", timeout=30000)
    size = page.evaluate("() => { const i = document.querySelector('#img-problems');"
                         " return [i.naturalWidth, i.naturalHeight, i.style.width]; }")
    assert size == [451, 300, "451px"], size  # the check's working size, drawn over the whole photo
    page.uncheck("#show-problems")
    assert page.is_hidden("#img-problems")
    page.select_option("#escalate", "auto")
    session.wait_jobs(1)
    session.assert_clean()


def test_drop_bad_file_then_good_file_and_paste(session, cat_rgb):
    """The good file carries an ICC profile (as a phone's Display P3 photo does): the cut-out and
    its JPEG export carry it too."""
    profile = rgb_profile()
    buf = io.BytesIO()
    Image.fromarray(cat_rgb).save(buf, format="JPEG", quality=95, icc_profile=profile)
    before = len(session.page.query_selector_all(".job"))
    drop_files(session.page, [("notes.png", "image/png", b"this is not a picture"), ("cat.jpg", "image/jpeg", buf.getvalue())])
    jobs = session.wait_jobs(before + 2)
    (bad_state, bad_text), (good_state, good_text) = jobs[before:before + 2]
    assert bad_state == "error" and "not an image format" in bad_text, bad_text
    assert good_state == "done", good_text
    session.page.click(f".job:nth-child({before + 2}) .open")
    name, png = session.download("#download")
    assert name == "cat_no_bg.png" and Image.open(io.BytesIO(png)).info.get("icc_profile") == profile
    session.page.select_option("#out-format", "jpeg")
    session.page.select_option("#bg-kind", "colour")
    session.page.fill("#bg-colour", "#ffffff")  # white means white in any profile: the JPEG keeps it
    _, jpeg = session.download("#download")
    assert Image.open(io.BytesIO(jpeg)).info.get("icc_profile") == profile
    session.page.fill("#bg-colour", "#0000ff")  # a picked sRGB colour would not: untagged
    _, jpeg = session.download("#download")
    assert Image.open(io.BytesIO(jpeg)).info.get("icc_profile") is None
    session.page.select_option("#out-format", "png")
    drop_files(session.page, [("clip.png", "image/png", b"\x89PNG\r\n\x1a\n broken")], event="paste")
    jobs = session.wait_jobs(before + 3)
    state, text = jobs[before + 2]
    assert state == "error" and "clip.png" in text and "damaged or truncated" in text, text
    session.assert_clean()


def test_folder_picker_and_folder_drop_take_the_images_inside(session, tmp_path, cat_rgb):
    """A picked folder, nested, with an AVIF the browser decodes; a dropped folder walked
    through the File System entry API. Files that are not images inside a folder are skipped."""
    page = session.page
    root = tmp_path / "shoot"
    (root / "day two").mkdir(parents=True)
    Image.fromarray(cat_rgb).save(root / "cat.avif", quality=90)
    product = np.full((120, 160, 3), 240, np.uint8)
    product[30:90, 40:120] = (30, 90, 200)
    Image.fromarray(product).save(root / "day two" / "box.webp", lossless=True)
    (root / "notes.txt").write_text("not a photo")
    before = len(page.query_selector_all(".job"))
    page.set_input_files("#folder-input", str(root))
    jobs = session.wait_jobs(before + 2)
    names = [j.inner_text() for j in page.query_selector_all(".job .job-name")][before:]
    assert names == ["cat.avif", "box.webp"], names
    assert [state for state, _ in jobs[before:]] == ["done", "done"], jobs[before:]
    page.click(f".job:nth-child({before + 1}) .open")
    name, png = session.download("#download")
    assert name == "cat_no_bg.png"
    alpha = alpha_of(png) / 255
    assert alpha.shape == cat_rgb.shape[:2]
    assert alpha[CAT_SUBJECT].mean() > 0.9 and alpha[CAT_BACKGROUND].mean() < 0.05

    # Chromium cannot synthesise a real folder drag, so the drop carries a stand-in for the
    # File System entry tree (the same interface: isFile/isDirectory, file(), createReader()).
    page.evaluate("""(b64) => {
      const png = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const file = (name, bytes, type) => ({ isFile: true, isDirectory: false, name,
        file: (ok) => ok(new File([bytes], name, { type })) });
      const dir = (name, children) => ({ isFile: false, isDirectory: true, name,
        createReader: () => { let done = false; return { readEntries: (ok) => { ok(done ? [] : children); done = true; } }; } });
      const tree = dir('album', [file('b.png', png, 'image/png'), file('readme.md', 'text', 'text/markdown'),
                                 dir('sub', [file('a.png', png, 'image/png')])]);
      const ev = new Event('drop', { bubbles: true, cancelable: true });
      Object.defineProperty(ev, 'dataTransfer', { value: { files: [], items: [{ webkitGetAsEntry: () => tree }] } });
      document.querySelector('#drop').dispatchEvent(ev);
    }""", base64.b64encode(png_bytes(product)).decode())
    jobs = session.wait_jobs(before + 4)
    names = [j.inner_text() for j in page.query_selector_all(".job .job-name")][before + 2:]
    assert names == ["a.png", "b.png"], names
    assert [state for state, _ in jobs[before + 2:]] == ["done", "done"], jobs
    session.assert_clean()


def test_a_51_mp_photo_is_refused_up_front_naming_the_limit(session, tmp_path):
    big = tmp_path / "huge.png"
    Image.new("RGB", (8300, 6200), (200, 200, 200)).save(big, compress_level=1)  # 51.5 MP, a small file
    before = len(session.page.query_selector_all(".job"))
    session.page.set_input_files("#file-input", str(big))
    [(state, text)] = session.wait_jobs(before + 1, timeout_s=60)[before:]
    assert state == "error" and "8300x6200 = 51.5 MP, above the limit of 50 MP" in text, text
    session.assert_clean()


def test_a_video_a_pdf_and_an_oversized_avif_are_refused_from_their_first_bytes(session, tmp_path):
    """Checked before the file is read whole: a 2.1 GB video (sparse on disk) is refused by its
    size at once, a PDF by its signature, an AVIF by the pixels its header declares; the next
    photo is cut out as usual."""
    video = tmp_path / "holiday.mp4"
    with open(video, "wb") as f:
        f.write(b"\0\0\0\x18ftypisom\0\0\0\0isommp41")
        f.truncate(2_100_000_000)
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(2000))
    ispe = struct.pack(">I4sIII", 20, b"ispe", 0, 10000, 10000)
    avif = tmp_path / "huge.avif"
    avif.write_bytes(struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"avif", 0, b"mif1", b"avif")
                     + struct.pack(">I4sI", 12 + len(ispe), b"meta", 0) + ispe)
    small = tmp_path / "small.png"
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(small)
    before = len(session.page.query_selector_all(".job"))
    session.page.set_input_files("#file-input", [str(video), str(pdf), str(avif), str(small)])
    jobs = session.wait_jobs(before + 4, timeout_s=120)[before:]
    assert jobs[0][0] == "error" and "the file is 2100 MB, above the limit of 400 MB for one photo" in jobs[0][1], jobs
    assert jobs[1][0] == "error" and "PDF documents are not images" in jobs[1][1], jobs
    assert jobs[2][0] == "error" and "10000x10000 = 100.0 MP, above the limit of 50 MP" in jobs[2][1], jobs
    assert jobs[3][0] == "done", jobs
    session.assert_clean()


def test_the_watchdog_stops_a_cut_out_past_its_limit_and_the_queue_goes_on(session, cat_rgb):
    page = session.page
    before = len(page.query_selector_all(".job"))
    busy = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (1500, 2000, 3), np.uint8)).save(busy, format="PNG")
    small = io.BytesIO()
    Image.fromarray(cat_rgb).save(small, format="PNG")
    limit = page.evaluate("() => window.alphacut.bridge.jobLimitMs")
    page.evaluate("() => { window.alphacut.bridge.jobLimitMs = 300; }")
    try:
        drop_files(page, [("busy.png", "image/png", busy.getvalue())])
        [(state, text)] = session.wait_jobs(before + 1, timeout_s=120)[before:]
    finally:
        page.evaluate("(ms) => { window.alphacut.bridge.jobLimitMs = ms; }", limit)
    assert state == "error" and "ran longer than 0.3 s, the limit for one photo, so it was stopped" in text, text
    drop_files(page, [("after.png", "image/png", small.getvalue())])
    jobs = session.wait_jobs(before + 2, timeout_s=240)
    assert jobs[before + 1][0] == "done", jobs[before + 1]
    session.assert_clean()


def running_cut_out(session, rgb, name: str) -> tuple[int, bytes]:
    """Drop ``rgb`` as ``name`` and wait until its cut-out runs; returns its index and the PNG."""
    before = len(session.page.query_selector_all(".job"))
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, format="PNG")
    drop_files(session.page, [(name, "image/png", png.getvalue())])
    session.page.wait_for_function("(n) => document.querySelectorAll('.job')[n]?.dataset.state === 'running'",
                                   arg=before, timeout=30000)
    return before, png.getvalue()


def test_cancel_a_running_job_keeps_other_requests_and_the_next_one_works(session, cat_rgb):
    page = session.page
    before, png = running_cut_out(session, cat_rgb, "one.png")
    # An export of an earlier result is posted to the busy worker, and the cut-out is cancelled
    # before the worker can read it: the export is sent again to the restarted worker.
    size = page.evaluate("""async (n) => {
      const { bridge, jobs } = window.alphacut;
      const png = await jobs.find((j) => j.result).result.blob.arrayBuffer();
      const waiting = bridge.pending.size;
      const exported = bridge.request('export', { png, format: 'jpeg', colour: [255, 255, 255] });
      for (let i = 0; i < 100 && bridge.pending.size === waiting; i++) await Promise.resolve();
      if (bridge.pending.size === waiting) throw new Error('the export was not posted');
      jobs[n].cancel();  // same task: the worker is terminated before it reads the export
      return (await exported).bytes.byteLength; }""", before)
    assert size > 1000
    drop_files(page, [("two.png", "image/png", png)])
    jobs = session.wait_jobs(before + 2)
    assert jobs[before][0] == "cancelled", jobs[before]
    assert jobs[before + 1][0] == "done", jobs[before + 1]
    session.assert_clean()


def test_requests_are_cancelled_one_by_one_and_the_running_cut_out_is_not_lost(session, cat_rgb):
    page = session.page
    before, _ = running_cut_out(session, cat_rgb, "three.png")
    # Three exports while the cut-out runs: the first goes to the worker, the other two wait their
    # turn in the bridge. Cancelling the third drops it and touches nothing; cancelling the first,
    # which the worker has, replaces the worker: the second still arrives, and the cut-out the old
    # worker was running runs again on the new one instead of failing.
    out = page.evaluate("""async () => {
      const { bridge, jobs } = window.alphacut;
      const png = await jobs.find((j) => j.result).result.blob.arrayBuffer();
      const ask = (signal) => bridge.request('export', { png, format: 'jpeg', colour: [255, 255, 255] }, { signal })
        .then((r) => r.bytes.byteLength, (e) => e.name);
      const [a, c] = [new AbortController(), new AbortController()];
      const worker = bridge.worker;
      const first = ask(a.signal), second = ask(), third = ask(c.signal);
      for (let i = 0; i < 100 && !bridge.asking?.posted; i++) await Promise.resolve();
      const waiting = bridge.requests.length;
      c.abort();
      const sameWorker = bridge.worker === worker;
      a.abort();
      return { waiting, sameWorker, replaced: bridge.worker !== worker, requeued: bridge.current !== null,
               first: await first, second: await second, third: await third }; }""")
    assert out["waiting"] == 2, out
    assert out["sameWorker"] and out["replaced"] and out["requeued"], out
    assert out["first"] == "AbortError" and out["third"] == "AbortError", out
    assert isinstance(out["second"], int) and out["second"] > 1000, out
    jobs = session.wait_jobs(before + 1)
    assert jobs[before][0] == "done", jobs[before]
    # The page's own Cancel: a ZIP cancelled at once says so, and the next one is made.
    status = page.evaluate("""async () => {
      document.querySelector('#download-all').click();
      document.querySelector('#zip-cancel').click();
      for (let i = 0; i < 200 && document.querySelector('#zip-status').textContent === 'Preparing…'; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return [document.querySelector('#zip-status').textContent, document.querySelector('#zip-cancel').hidden]; }""")
    assert status == ["Cancelled", True], status
    with page.expect_download() as dl:
        page.click("#download-all")
    assert dl.value.suggested_filename == "alphacut.zip"
    page.wait_for_function("() => document.querySelector('#zip-status').textContent === 'Saved'")
    session.assert_clean()


def test_edit_merge_keeps_the_edit_only_where_it_landed(session, tmp_path):
    import re

    page = session.page
    original_path, edited_path, known = merge_pair(tmp_path)
    page.click("#tab-merge")
    page.set_input_files("#merge-original", str(original_path))
    page.set_input_files("#merge-edited", str(edited_path))
    page.wait_for_function("() => /Edit found|Failed/.test(document.querySelector('#merge-status').textContent)",
                           timeout=120_000)
    status = page.inner_text("#merge-status")
    assert re.search(MERGE_FOUND, status), status
    # The edit is a JPEG of the drifted original outside the block: its compression is modelled.
    assert "JPEG compression was predicted" in status, status
    name, mask_png = session.download("#merge-download-mask")
    assert name == "edited_merge_mask.png"
    page.wait_for_function("() => /Saved|Failed/.test(document.querySelector('#merge-status').textContent)")
    name, result_png = session.download("#merge-download")
    assert name == "edited_merged.png"
    check_merge(mask_png, result_png, tmp_path, known)

    # Before/after: the original over the result, up to a divider that a labelled slider moves,
    # by keyboard too.
    page.check("input[name=mview][value=compare]")
    slider = page.get_by_label("Before/after divider")
    assert slider.is_visible() and page.is_visible("#merge-before") and slider.input_value() == "50"
    page.wait_for_function("() => document.querySelector('#merge-before').complete")

    def edit_greenness():
        """How much greener than grey the view is at the centre of the known edit."""
        view = np.asarray(Image.open(io.BytesIO(page.locator("#merge-view").screenshot())).convert("RGB"))
        r, c = round(view.shape[0] * 360 / 512), round(view.shape[1] * 400 / 512)
        patch = view[r - 5:r + 5, c - 5:c + 5].reshape(-1, 3).astype(float).mean(axis=0)
        return patch[1] - (patch[0] + patch[2]) / 2

    slider.focus()
    page.keyboard.press("End")  # the original everywhere
    assert slider.input_value() == "100"
    assert page.eval_on_selector("#merge-before", "e => e.style.clipPath") == "inset(0px 0% 0px 0px)"
    before = edit_greenness()
    page.keyboard.press("Home")  # the result everywhere
    assert slider.input_value() == "0"
    after = edit_greenness()
    assert after > before + 40, (before, after)
    page.keyboard.press("ArrowRight")
    assert slider.input_value() == "1" and "original on the left 1%" in slider.get_attribute("aria-valuetext")
    page.check("input[name=mview][value=composite]")
    assert not page.is_visible("#merge-before") and not slider.is_visible()

    # Regions: the list adds one the rule left out; a click on the photo (no brush) removes the edit.
    def regions(n):
        page.wait_for_function(f"() => /{n} region\\(s\\)/.test(document.querySelector('#merge-status').textContent)",
                               timeout=60_000)
    assert page.is_checked("#merge-region-list input[data-region='1']")
    page.check("#merge-region-list input[data-region='2']")
    regions(2)
    page.uncheck("#merge-region-list input[data-region='2']")
    regions(1)
    box = page.locator("#merge-brush").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 400 / 512, box["y"] + box["height"] * 360 / 512)  # the edit's centre
    regions(0)
    assert not page.is_checked("#merge-region-list input[data-region='1']")
    page.check("#merge-region-list input[data-region='1']")
    regions(1)
    page.click("#tab-cutout")
    session.assert_clean()


def test_zoom_pan_background_image_and_clipboard(session, tmp_path):
    page = session.page
    session.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=session.url)
    page.click(".job .open")
    page.click("#zoom-100")
    assert page.inner_text("#zoom-level") == "100%"
    width = page.evaluate("() => document.querySelector('#img-after').getBoundingClientRect().width")
    assert abs(width - 451) < 1  # 100 %: one image pixel per CSS pixel
    page.click("#zoom-in")
    assert page.inner_text("#zoom-level") == "125%"
    before = page.evaluate("() => document.querySelector('#stage').style.transform")
    page.focus("#viewport")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("() => document.querySelector('#stage').style.transform") != before
    page.click("#zoom-fit")
    # A background image of the user's own, used for the view and for the JPEG.
    Image.new("RGB", (64, 48), (250, 0, 250)).save(tmp_path / "bg.png")
    page.select_option("#bg-kind", "image")
    page.set_input_files("#bg-image", str(tmp_path / "bg.png"))
    page.wait_for_function("() => document.querySelector('#stage-bg').style.background.includes('blob:')")
    page.select_option("#out-format", "jpeg")
    _, data = session.download("#download")
    rgb = np.asarray(Image.open(io.BytesIO(data))).astype(int)
    assert rgb[CAT_BACKGROUND][..., [0, 2]].mean() > 200 and rgb[CAT_BACKGROUND][..., 1].mean() < 60  # magenta
    page.select_option("#out-format", "png")
    page.select_option("#bg-kind", "checker")
    # Copy to the clipboard, read it back.
    page.click("#copy")
    page.wait_for_function("() => /Copied|Failed/.test(document.querySelector('#save-status').textContent)")
    assert page.inner_text("#save-status") == "Copied"
    size = page.evaluate("""async () => {
      const [item] = await navigator.clipboard.read();
      return (await item.getType('image/png')).size; }""")
    assert size > 1000
    session.assert_clean()


def test_offline_reload_still_cuts_out(session, tmp_path, cat_jpeg):
    session.context.set_offline(True)
    try:
        session.page.reload()
        session.wait_ready()
        about = session.page.evaluate("() => window.alphacut.bridge.about")
        assert about["cache"] == "hit"
        src = tmp_path / "cat.jpg"
        src.write_bytes(cat_jpeg)
        session.page.set_input_files("#file-input", str(src))
        [(state, text)] = session.wait_jobs(1)
        assert state == "done", text
    finally:
        session.context.set_offline(False)
    session.assert_clean()


def test_clear_cached_data_reports_what_it_freed(session):
    page = session.page
    page.click("#clear-cache")
    page.wait_for_function("() => /Cleared|Could not/.test(document.querySelector('#clear-status').textContent)",
                           timeout=30000)
    text = page.inner_text("#clear-status")
    assert text.startswith("Cleared:") and "MB freed" in text, text
    freed_mb = float(text.split("Cleared: ")[1].split(" MB")[0])
    assert freed_mb > 40, text  # at least the 45 MB int8 graph
    session.assert_clean()

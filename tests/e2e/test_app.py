"""End to end in Chromium: the built site cuts out a real photo, offline too, and talks to no one else."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support import CAT_BACKGROUND, CAT_SUBJECT

pytestmark = pytest.mark.browser


def check_cutout(png: bytes, source_rgb: np.ndarray, rgb_atol: int = 0):
    out = np.asarray(Image.open(io.BytesIO(png)))
    assert Image.open(io.BytesIO(png)).mode == "RGBA"
    assert out.shape == source_rgb.shape[:2] + (4,)
    alpha = out[..., 3] / 255.0
    assert alpha[CAT_SUBJECT].mean() > 0.9, alpha[CAT_SUBJECT].mean()
    assert alpha[CAT_BACKGROUND].mean() < 0.05, alpha[CAT_BACKGROUND].mean()
    opaque = out[..., 3] == 255
    assert opaque.sum() > 1000  # the model hedges: most of the cat is at 0.95-0.99
    diff = np.abs(out[..., :3][opaque].astype(int) - source_rgb[opaque])
    assert diff.max() <= rgb_atol, diff.max()


def test_page_boots_isolated_with_its_model(session):
    session.open()
    about = session.page.evaluate("() => window.alphacut.bridge.about")
    assert about["crossOriginIsolated"] is True
    assert about["backend"] == "wasm" and about["threads"] >= 2
    assert about["model"].startswith("isnet fp32")
    assert about["cache"] == "stored", about["cache"]
    assert set(about["initMs"]) == {"pyodide", "packages", "wheel", "model", "session"}
    session.assert_clean()


def test_file_picker_cutout_and_download(session, tmp_path, cat_rgb):
    src = tmp_path / "cat.png"
    Image.fromarray(cat_rgb).save(src)
    session.page.set_input_files("#file-input", str(src))
    [(state, text)] = session.wait_jobs(1)
    assert state == "done", text
    name, png = download_first(session.page)
    assert name == "cat_no_bg.png"
    check_cutout(png, cat_rgb)  # lossless input: opaque RGB must be identical
    session.assert_clean()


def download_first(page) -> tuple[str, bytes]:
    """Click the newest job's download button; return (suggested file name, bytes)."""
    with page.expect_download() as dl:
        page.click(".job a.button.primary")
    return dl.value.suggested_filename, Path(dl.value.path()).read_bytes()


def drop_files(page, files):
    """Drop ``[(name, mime, bytes)]`` on the drop zone through a real DataTransfer."""
    payload = [{"name": n, "type": t, "b64": base64.b64encode(b).decode()} for n, t, b in files]
    page.evaluate(
        """(files) => {
          const dt = new DataTransfer();
          for (const f of files) {
            const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name, { type: f.type }));
          }
          const zone = document.querySelector('#drop');
          zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
          zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
        }""",
        payload,
    )


def test_drop_bad_file_then_good_file(session, cat_jpeg):
    before = len(session.page.query_selector_all(".job"))
    drop_files(session.page, [("notes.png", "image/png", b"this is not a picture"), ("cat.jpg", "image/jpeg", cat_jpeg)])
    jobs = session.wait_jobs(before + 2)
    newest_first = jobs[:2]
    (good_state, good_text), (bad_state, bad_text) = newest_first
    assert bad_state == "error" and "not an image format" in bad_text, bad_text
    assert good_state == "done", good_text
    _, png = download_first(session.page)
    # Pyodide's Pillow 10.2 and this Pillow decode JPEG with slightly different IDCTs.
    check_cutout(bytes(png), np.asarray(Image.open(io.BytesIO(cat_jpeg)).convert("RGB")), rgb_atol=12)
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



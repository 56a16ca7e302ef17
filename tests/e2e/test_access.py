"""Every user, in Chromium: an axe-core audit of each screen (0 serious or critical violations),
the whole path from the keyboard alone with a visible focus on every stop, screen-reader
announcements of each job's state, and a phone (390 x 844, touch, device scale 3) where nothing
scrolls sideways, the controls fit, the brush paints with a finger and the download works.

axe-core is the npm package pinned in tests/engines/package.json; it is injected into a context
that bypasses the page's CSP (the page allows no inline script), which changes nothing else."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import MERGE_FOUND, Session, alpha_of, merge_pair
from support import CAT_BACKGROUND, CAT_SUBJECT

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "engines" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}

# Every control a user can reach, as the keyboard audit counts them: visible, enabled, and not a
# radio button other than the checked one of its group (Tab stops once per group).
CONTROLS = """(root) => [...root.querySelectorAll('button, select, input, [tabindex="0"]')].filter((e) =>
  e.getClientRects().length && !e.disabled && e.type !== 'hidden'
  && !(e.type === 'radio' && !e.checked)).map((e) => e.id || e.getAttribute('aria-label') || e.outerHTML.slice(0, 60))"""

FOCUSED = """() => { const e = document.activeElement; const s = getComputedStyle(e);
  return { key: e.id || e.getAttribute('aria-label') || e.outerHTML.slice(0, 60),
           outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 }; }"""


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now: id, impact, help and up to five targets."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    return page.evaluate("""async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }))""")


def assert_no_serious(page, screen: str) -> list[dict]:
    found = axe_violations(page)
    for v in found:
        print(f"axe on {screen}: {v['impact']} {v['id']}: {v['help']} at {v['nodes']}")
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, (screen, serious)
    return found


def tab_to(page, key: str, limit: int = 80) -> list[dict]:
    """Press Tab until the focused element's key (id or aria-label) is ``key``; every stop on the
    way must show a focus outline. Returns the stops."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        assert stop["outline"], f"no visible focus on {stop['key']}"
        stops.append(stop)
        if stop["key"] == key:
            return stops
    raise AssertionError(f"{key} not reached in {limit} Tab presses: {[s['key'] for s in stops]}")


@pytest.fixture(scope="module")
def audited(browser, site_url):
    """A page whose CSP lets axe-core in; otherwise the site as users get it."""
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: `make deps` (npm ci in tests/engines)")
    s = Session(browser, site_url, bypass_csp=True)
    s.open()
    yield s
    s.close()


def test_the_empty_page_passes_axe(audited):
    found = assert_no_serious(audited.page, "the empty page")
    assert not found, found  # not even a minor one
    audited.assert_clean()


def test_the_keyboard_alone_chooses_a_photo_opens_it_changes_the_background_and_downloads(audited, tmp_path,
                                                                                           cat_rgb):
    page = audited.page
    Image.fromarray(cat_rgb).save(tmp_path / "cat.png")
    # Playwright intercepts file choosers only once a listener exists, and turns that on
    # asynchronously: a chooser opened at once could slip past `expect_file_chooser`.
    page.on("filechooser", lambda _: None)
    page.evaluate("() => new Promise((r) => setTimeout(r, 200))")
    page.locator("body").focus()
    tab_to(page, "drop")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(tmp_path / "cat.png"))
    [(state, text)] = audited.wait_jobs(1)
    assert state == "done", text
    # Announced: the live region says the job's new state (not each stage of it).
    assert page.get_attribute("#announce", "aria-live") == "polite"
    assert page.inner_text("#announce").startswith("cat.png: Done"), page.inner_text("#announce")
    tab_to(page, "Open cat.png")
    page.keyboard.press("Enter")
    page.wait_for_selector("#editor", state="visible")
    tab_to(page, "bg-kind")
    page.keyboard.press("ArrowDown")  # Checkerboard -> White
    assert page.input_value("#bg-kind") == "white"
    tab_to(page, "out-format")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # PNG -> Mask -> JPEG on the background
    assert page.input_value("#out-format") == "jpeg"
    tab_to(page, "download")
    with page.expect_download() as dl:
        page.keyboard.press("Enter")
    assert dl.value.suggested_filename.endswith(".jpg"), dl.value.suggested_filename
    rgb = np.asarray(Image.open(dl.value.path()).convert("RGB")).astype(int)
    assert rgb.shape == cat_rgb.shape
    assert rgb[CAT_BACKGROUND].mean() > 240  # white where the background was
    assert np.abs(rgb[CAT_SUBJECT] - cat_rgb[CAT_SUBJECT]).mean() < 25  # the cat, as it was
    page.select_option("#out-format", "png")
    page.select_option("#bg-kind", "checker")
    audited.assert_clean()


def test_every_control_is_reachable_by_tab_with_a_visible_focus(audited):
    page = audited.page
    expected = set(page.evaluate(CONTROLS, page.query_selector("body")))
    page.locator("body").focus()
    seen = set()
    for _ in range(len(expected) + 20):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            continue  # past the last control, focus leaves the page once, then starts again
        stop = page.evaluate(FOCUSED)
        assert stop["outline"], f"no visible focus on {stop['key']}"
        seen.add(stop["key"])
    missing = expected - seen
    assert not missing, missing


def test_a_result_the_brush_and_edit_merge_pass_axe(audited, tmp_path):
    page = audited.page
    assert_no_serious(page, "a result")
    page.check("input[name=tool][value=keep]")
    assert_no_serious(page, "the editor with a brush")
    page.check("input[name=tool][value=pan]")
    original, edited, _ = merge_pair(tmp_path)
    page.click("#tab-merge")
    assert_no_serious(page, "edit merge, empty")
    page.set_input_files("#merge-original", str(original))
    page.set_input_files("#merge-edited", str(edited))
    page.wait_for_function("() => /Edit found|Failed/.test(document.querySelector('#merge-status').textContent)",
                           timeout=120_000)
    assert re.search(MERGE_FOUND, page.inner_text("#merge-status"))
    page.check("input[name=mtool][value=protect]")
    assert_no_serious(page, "edit merge, a result with a brush")
    page.check("input[name=mview][value=compare]")
    assert_no_serious(page, "edit merge, before/after")
    page.click("#tab-cutout")
    audited.assert_clean()


@pytest.fixture(scope="module")
def phone(browser, site_url):
    s = Session(browser, site_url, **PHONE)
    s.open()
    yield s
    s.close()


def overflow(page) -> dict:
    """How far the page scrolls sideways, and which visible elements stick out of the screen."""
    return page.evaluate("""() => ({ scroll: document.documentElement.scrollWidth - innerWidth,
      out: [...document.querySelectorAll('body *')].filter((e) => { const r = e.getBoundingClientRect();
        return e.getClientRects().length && r.width && (r.right > innerWidth + 0.5 || r.left < -0.5)
          && !e.closest('#stage'); }).map((e) => e.id || e.className || e.tagName) })""")


def touch_stroke(page, points):
    """A one-finger stroke through ``points`` (CSS px), as a touch screen sends it."""
    cdp = page.context.new_cdp_session(page)
    (x, y), rest = points[0], points[1:]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for x, y in rest:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_a_phone_fits_paints_with_a_finger_and_downloads(phone, tmp_path, cat_rgb):
    page = phone.page
    assert page.evaluate("() => matchMedia('(pointer: coarse)').matches")
    assert overflow(page) == {"scroll": 0, "out": []}
    Image.fromarray(cat_rgb).save(tmp_path / "cat.png")
    page.set_input_files("#file-input", str(tmp_path / "cat.png"))
    [(state, text)] = phone.wait_jobs(1)
    assert state == "done", text
    page.tap(".job .open")
    page.wait_for_selector("#editor", state="visible")
    # One column: Open scrolls the result (below the queue) into view.
    assert abs(page.evaluate("() => document.querySelector('#editor').getBoundingClientRect().top")) < 2
    assert overflow(page) == {"scroll": 0, "out": []}
    page.tap("input[name=tool][value=remove]")
    phone.choose_brush("remove", 60)
    page.evaluate("() => document.querySelector('#viewport').scrollIntoView({ block: 'center' })")
    x0, y0, w, h = box = phone.image_box()  # the photo is shown whole inside the screen
    assert x0 >= 0 and x0 + w <= 390 and w > 300 and y0 >= 0 and y0 + h <= 844, box
    touch_stroke(page, [(x0 + w * (0.35 + 0.025 * i), y0 + h * 0.5) for i in range(9)])
    phone.refined()
    name, png = phone.download("#download")
    assert name == "cat_no_bg.png"
    alpha = alpha_of(png)
    assert alpha.shape == cat_rgb.shape[:2]
    assert alpha[140:160, 180:230].max() == 0  # under the finger's stroke
    assert alpha[CAT_SUBJECT].mean() > 0.6 * 255  # the rest of the cat stays
    phone.assert_clean()

"""WebGPU correctness on Chromium's SwiftShader adapter.

A full 1024x1024 inference takes about 12 minutes on SwiftShader (facts.md), too long for CI.
So this runs the start of the shipped graph (the input convolution and the first encoder stage
down to its second ceil_mode-rewritten MaxPool) on WebGPU and on WASM in the same page, and
compares the outputs. On this 2-core machine it takes about 3 minutes, nearly all of it in
SwiftShader. The test page is served by the
test itself (Playwright routes on the site's origin); nothing test-only ships in build/site.
"""
from __future__ import annotations

import json

import pytest

from browser import ARGS, CHROMIUM, Session

pytestmark = pytest.mark.browser

TOLERANCE = 1e-3  # max |difference| between WebGPU (f32) and WASM on the stage output
SUBGRAPH_OUTPUT = "/stage1/pool2/MaxPool_output_0"

PAGE = """<!doctype html><meta charset="utf-8"><script type="module" src="/__test__/webgpu.mjs"></script>"""
SCRIPT = """
import * as ort from '/vendor/ort/ort.webgpu.min.mjs';
ort.env.wasm.wasmPaths = '/vendor/ort/';
ort.env.wasm.numThreads = 1;
window.compare = async (outName) => {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return { error: 'no WebGPU adapter' };
  const bytes = new Uint8Array(await (await fetch('/__test__/sub.onnx')).arrayBuffer());
  const x = new Float32Array(3 * 1024 * 1024);
  let seed = 1;
  for (let i = 0; i < x.length; i++) { seed = (seed * 1103515245 + 12345) % 2147483648; x[i] = seed / 2147483648 - 0.5; }
  const out = {};
  for (const ep of ['wasm', 'webgpu']) {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
    const t = performance.now();
    const r = await s.run({ input: new ort.Tensor('float32', x, [1, 3, 1024, 1024]) });
    out[ep] = { data: r[outName].data, dims: r[outName].dims, ms: performance.now() - t };
  }
  let max = 0;
  for (let i = 0; i < out.wasm.data.length; i++) max = Math.max(max, Math.abs(out.wasm.data[i] - out.webgpu.data[i]));
  const info = adapter.info || {};
  return { max, dims: out.wasm.dims, n: out.wasm.data.length, wasmMs: out.wasm.ms, webgpuMs: out.webgpu.ms,
           adapter: `${info.vendor} ${info.architecture} ${info.description || ''}`.trim() };
};
window.ready = true;
"""


def _fulfil(body, mime):
    def handler(route):
        route.fulfill(body=body, content_type=mime)

    return handler


@pytest.fixture(scope="module")
def subgraph(tmp_path_factory, model_path):
    import onnx.utils

    out = tmp_path_factory.mktemp("webgpu") / "sub.onnx"
    onnx.utils.extract_model(str(model_path), str(out), ["input"], [SUBGRAPH_OUTPUT], check_model=False)
    return out.read_bytes()


def test_first_stage_matches_wasm_on_swiftshader(site_url, subgraph):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=ARGS + ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"])
        s = Session(browser, site_url)
        try:
            routes = {"/__test__/webgpu.html": (PAGE, "text/html"), "/__test__/webgpu.mjs": (SCRIPT, "text/javascript"),
                      "/__test__/sub.onnx": (subgraph, "application/octet-stream")}
            for path, (body, mime) in routes.items():
                s.context.route(site_url + path, _fulfil(body, mime))
            s.page.goto(site_url + "/__test__/webgpu.html")
            s.page.wait_for_function("() => window.ready === true")
            r = s.page.evaluate("(name) => window.compare(name)", SUBGRAPH_OUTPUT)
            print("webgpu vs wasm:", json.dumps(r))
            assert "error" not in r, r
            assert r["n"] > 10_000
            assert r["max"] <= TOLERANCE, r
            s.assert_clean()
        finally:
            s.close()
            browser.close()


def test_the_app_falls_back_to_wasm_and_says_why(site_url):
    """With a WebGPU adapter (SwiftShader): 'auto' passes over a software adapter, and a forced
    WebGPU start whose graph fails (here: a corrupt download of the fp32 variant) falls back to
    WASM with the int8 variant, says why in the about panel, and cuts out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=ARGS + ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"])
        try:
            s = Session(browser, site_url)
            s.open()
            about = s.page.evaluate("() => window.alphacut.bridge.about")
            assert about["backend"] == "wasm" and "software fallback" in about["note"], about
            assert about["model"].startswith("isnet int8"), about
            s.close()

            s = Session(browser, site_url)
            s.context.route(site_url + "/models/isnet-fp32-*.onnx",
                            lambda route: route.fulfill(body=b"\0" * 1000, content_type="application/octet-stream"))
            s.open("?backend=webgpu")
            about = s.page.evaluate("() => window.alphacut.bridge.about")
            assert about["backend"] == "wasm", about
            assert about["note"].startswith("WebGPU failed (") and "using WASM" in about["note"], about
            assert about["model"].startswith("isnet int8"), about
            s.page.set_input_files("#file-input", files=[{"name": "grey.png", "mimeType": "image/png",
                                                          "buffer": _photo_png()}])
            [(state, text)] = s.wait_jobs(1)
            assert state == "done", text
            assert "Cut out by the model." in s.page.inner_text("#quality-verdict")
            s.close()
        finally:
            browser.close()


def _photo_png() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rgb = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)  # no colour key here
    rgb[30:90, 50:110] = (180, 40, 40)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()

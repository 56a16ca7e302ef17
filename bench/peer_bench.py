# SPDX-License-Identifier: MIT
"""Time the peer, @imgly/background-removal@1.7.0, in headless Chromium.

The peer is AGPL-3.0. This harness only *runs* it, as installed under
``bench/peer/node_modules`` (see ``bench/peer/package.json``); none of its code
is copied into this repository. The model bytes are served straight from the
``@imgly/background-removal-data`` npm package; only the small ``resources.json``
index that the peer expects is generated, in memory, when the server starts.

Everything is served from loopback (127.0.0.1) with the cross-origin-isolation
headers that ONNX Runtime Web needs for threads. Virtual tree::

    /                 -> bench/peer/            (index.html, peer.mjs)
    /node_modules/... -> bench/peer/node_modules/
    /data/resources.json  generated: /models/isnet_fp16, /models/isnet_quint8,
                          /onnxruntime-web/ort-wasm-simd-threaded{,.jsep}.{wasm,mjs}
    /data/<sha256>    -> model chunk files of @imgly/background-removal-data/dist/

Usage::

    python -m bench.peer_bench IMAGE... [--repeat N] [--model isnet_fp16]
                                        [--threads N] [--out-dir DIR] [--data-dir DIR]

Prints one JSON object per image: {image, width, height, ms: [...], ...}.

Setup: ``cd bench/peer && npm ci --no-audit --no-fund --ignore-scripts``; the
model data package comes from the root ``npm ci`` (or pass ``--data-dir``).
"""

from __future__ import annotations

import argparse
import base64
import json
import mimetypes
import os
import re
import statistics
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
PEER_DIR = HERE / "peer"
PEER_NODE_MODULES = PEER_DIR / "node_modules"
ORT_DIST = PEER_NODE_MODULES / "onnxruntime-web" / "dist"
DEFAULT_DATA_DIR = HERE.parent / "node_modules" / "@imgly" / "background-removal-data" / "dist"

CHROMIUM = os.environ.get("ALPHACUT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    # Belt and braces: any host name that is not loopback fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]

MIME = {
    ".html": "text/html; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".map": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")

# data package key -> key the peer asks for
_MODEL_KEYS = {"/models/medium": "/models/isnet_fp16", "/models/small": "/models/isnet_quint8"}
_ORT_FILES = [
    "ort-wasm-simd-threaded.wasm",
    "ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.jsep.wasm",
    "ort-wasm-simd-threaded.jsep.mjs",
]


def build_resources(data_dir: Path = DEFAULT_DATA_DIR) -> dict:
    """The resources.json the peer reads from ``publicPath`` (= /data/).

    Chunk names are resolved by the peer against /data/, so model chunks are
    bare sha256 names and the ORT runtime files point at ../node_modules/.
    """
    src = json.loads((Path(data_dir) / "resources.json").read_text())
    out: dict = {}
    for src_key, key in _MODEL_KEYS.items():
        entry = src[src_key]
        chunks = []
        for c in entry["chunks"]:
            h = c["hash"]
            if not _HASH_RE.match(h):
                raise ValueError(f"unexpected chunk name {h!r}")
            f = Path(data_dir) / h
            a, b = c["offsets"]
            if f.stat().st_size != b - a:
                raise ValueError(f"{f}: size {f.stat().st_size} != {b - a}")
            chunks.append({"name": h, "offsets": [a, b]})
        if chunks[-1]["offsets"][1] != entry["size"]:
            raise ValueError(f"{src_key}: chunks do not add up to {entry['size']}")
        out[key] = {"chunks": chunks, "size": entry["size"], "mime": "application/octet-stream"}
    for name in _ORT_FILES:
        size = (ORT_DIST / name).stat().st_size
        mime = "application/wasm" if name.endswith(".wasm") else "text/javascript"
        out[f"/onnxruntime-web/{name}"] = {
            "chunks": [{"name": f"../node_modules/onnxruntime-web/dist/{name}", "offsets": [0, size]}],
            "size": size,
            "mime": mime,
        }
    return out


def _make_handler(data_dir: Path, resources: bytes):
    data_dir = Path(data_dir).resolve()
    peer_dir = PEER_DIR.resolve()
    node_modules = PEER_NODE_MODULES.resolve()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "alphacut-peer-bench"

        def log_message(self, fmt, *args):  # quiet
            pass

        def _resolve(self, path: str):
            """URL path -> (file Path | bytes, content type) or None."""
            if path == "/":
                path = "/index.html"
            if path == "/data/resources.json":
                return resources, "application/json"
            if path.startswith("/data/"):
                name = path[len("/data/"):]
                if not _HASH_RE.match(name):
                    return None
                return data_dir / name, "application/octet-stream"
            if path.startswith("/node_modules/"):
                root, rel = node_modules, path[len("/node_modules/"):]
            else:
                root, rel = peer_dir, path.lstrip("/")
                if rel.startswith("node_modules"):
                    return None
            f = (root / rel).resolve()
            if root not in f.parents:  # no traversal out of the served roots
                return None
            ext = f.suffix.lower()
            ctype = MIME.get(ext) or mimetypes.guess_type(f.name)[0] or "application/octet-stream"
            return f, ctype

        def _serve(self, body: bool):
            path = unquote(urlsplit(self.path).path)
            hit = self._resolve(path)
            if hit is not None and isinstance(hit[0], Path) and not hit[0].is_file():
                hit = None
            if hit is None:
                if path != "/favicon.ico":
                    print(f"[peer-http] 404 {path}", file=sys.stderr)
                self.send_response(HTTPStatus.NOT_FOUND)
                for k, v in ISOLATION_HEADERS.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            src, ctype = hit
            size = len(src) if isinstance(src, bytes) else src.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "no-cache")
            for k, v in ISOLATION_HEADERS.items():
                self.send_header(k, v)
            self.end_headers()
            if not body:
                return
            try:
                if isinstance(src, bytes):
                    self.wfile.write(src)
                else:
                    with open(src, "rb") as fh:
                        while chunk := fh.read(1 << 20):
                            self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self):
            self._serve(True)

        def do_HEAD(self):
            self._serve(False)

    return Handler


def serve_peer(port: int = 0, data_dir: Path | str | None = None):
    """Start the loopback server on 127.0.0.1:port (0 = any free port).

    Returns (server, thread); the URL is ``f"http://127.0.0.1:{server.server_address[1]}/"``.
    Stop with ``server.shutdown(); server.server_close()``.
    """
    data_dir = Path(data_dir or os.environ.get("ALPHACUT_PEER_DATA_DIR") or DEFAULT_DATA_DIR)
    if not (PEER_DIR / "index.html").is_file():
        raise FileNotFoundError(PEER_DIR / "index.html")
    if not (PEER_NODE_MODULES / "@imgly" / "background-removal" / "dist" / "index.mjs").is_file():
        raise FileNotFoundError(
            "peer not installed: cd bench/peer && npm ci --no-audit --no-fund --ignore-scripts"
        )
    if not (data_dir / "resources.json").is_file():
        raise FileNotFoundError(f"{data_dir}/resources.json (@imgly/background-removal-data; see --data-dir)")
    resources = json.dumps(build_resources(data_dir)).encode()
    server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(data_dir, resources))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="peer-http", daemon=True)
    thread.start()
    return server, thread


def peer_url(server, model: str = "isnet_fp16", device: str = "cpu") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/?model={model}&device={device}"


def open_peer(page, url: str, timeout_ms: float = 120_000) -> dict:
    """Load the peer page, wait for the module, load the model. Returns preload info
    ({ms, crossOriginIsolated, threads, model, device})."""
    page.goto(url)
    page.wait_for_function("window.peerReady === true", timeout=timeout_ms)
    return page.evaluate("() => window.peerPreload()")


_RUN_JS = """
async ([b64, mime, wantPng]) => {
  const bytes = await window.peerB64ToBytes(b64);
  const r = await window.peerRemove(bytes, mime, {png: wantPng});
  return {ms: r.ms, width: r.width, height: r.height, stages: r.stages,
          png_b64: wantPng ? await window.peerBytesToB64(r.png) : null};
}
"""


def run_peer(page, image_bytes: bytes, mime: str, want_png: bool = True) -> dict:
    """Run the peer once on an encoded image in an opened peer page.

    Returns {ms, width, height, stages: {decode, inference, mask, encode, before_decode}
    (ms each), png: bytes | None}. ``ms`` is measured in the page around
    removeBackground() only (the base64 transport is outside it).
    """
    b64 = base64.b64encode(image_bytes).decode("ascii")
    r = page.evaluate(_RUN_JS, [b64, mime, want_png])
    b64_png = r.pop("png_b64")
    r["png"] = base64.b64decode(b64_png) if b64_png else None
    return r


def launch_browser(playwright, threads: int | None = None):
    """(browser, context, page) in headless Chromium. ``threads`` overrides
    navigator.hardwareConcurrency, which the peer uses as ORT's thread count."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    context = browser.new_context()
    if threads:
        context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', "
            f"{{get: () => {int(threads)}}});"
            "if (self.WorkerNavigator) Object.defineProperty(WorkerNavigator.prototype, "
            f"'hardwareConcurrency', {{get: () => {int(threads)}}});"
        )
    page = context.new_page()
    return browser, context, page


def _is_loopback(url: str) -> bool:
    if url.startswith(("blob:", "data:")):
        return True
    host = urlsplit(url).hostname
    return host in ("127.0.0.1", "localhost", "::1")


def _mime_of(path: Path) -> str:
    return MIME.get(path.suffix.lower(), "application/octet-stream").split(";")[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per image (default 3)")
    ap.add_argument("--model", default="isnet_fp16", choices=["isnet_fp16", "isnet_quint8"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    ap.add_argument("--threads", type=int, default=None,
                    help="override navigator.hardwareConcurrency (the peer's ORT thread count)")
    ap.add_argument("--out-dir", type=Path, default=None, help="save the peer's PNG per image")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="@imgly/background-removal-data/dist (default: repo node_modules)")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    server, _ = serve_peer(args.port, args.data_dir)
    requests: list[str] = []
    try:
        with sync_playwright() as p:
            browser, context, page = launch_browser(p, args.threads)
            context.on("request", lambda req: requests.append(req.url))
            page.on("console", lambda m: m.type in ("error", "warning")
                    and print(f"[console.{m.type}] {m.text}", file=sys.stderr))
            page.on("pageerror", lambda e: print(f"[pageerror] {e}", file=sys.stderr))
            t0 = time.perf_counter()
            info = open_peer(page, peer_url(server, args.model, args.device))
            info["page_load_s"] = time.perf_counter() - t0
            print(json.dumps({"preload": info}), file=sys.stderr, flush=True)

            first = args.images[0]
            w = run_peer(page, first.read_bytes(), _mime_of(first), want_png=False)
            print(json.dumps({"warmup": str(first), "ms": round(w["ms"], 1)}), file=sys.stderr, flush=True)

            for img in args.images:
                data, mime = img.read_bytes(), _mime_of(img)
                runs = []
                load0 = os.getloadavg()[0]
                for i in range(args.repeat):
                    want = args.out_dir is not None and i == 0
                    r = run_peer(page, data, mime, want_png=want)
                    if want:
                        args.out_dir.mkdir(parents=True, exist_ok=True)
                        (args.out_dir / f"{img.stem}.peer.png").write_bytes(r["png"])
                    runs.append(r)
                ms = [round(r["ms"], 1) for r in runs]
                stage_med = {k: round(statistics.median(r["stages"].get(k, 0.0) for r in runs), 1)
                             for k in runs[0]["stages"]}
                print(json.dumps({
                    "image": str(img), "width": runs[0]["width"], "height": runs[0]["height"],
                    "ms": ms, "median_ms": round(statistics.median(ms), 1),
                    "stages_median_ms": stage_med, "model": args.model, "device": args.device,
                    "threads": info.get("threads"), "crossOriginIsolated": info.get("crossOriginIsolated"),
                    # 1-min load average before/after: timings are only comparable on a quiet machine
                    "loadavg": [round(load0, 2), round(os.getloadavg()[0], 2)], "cpus": os.cpu_count(),
                }), flush=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()

    foreign = sorted({u for u in requests if not _is_loopback(u)})
    print(json.dumps({"requests": len(requests), "non_loopback": foreign}), file=sys.stderr)
    return 1 if foreign else 0


if __name__ == "__main__":
    sys.exit(main())

"""Serve build/site on loopback with the headers the app needs.

COOP/COEP make the page cross-origin isolated, so ONNX Runtime Web can use threads; the CSP
allows connections to this origin only. ``make serve`` runs this; the tests import
:func:`start` to serve the same site on a free port.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import threading
from pathlib import Path

SITE = Path(__file__).resolve().parent.parent / "build" / "site"

#: Sent with every response. The service worker (web/sw.js) adds the same set on static
#: hosts that cannot send headers.
HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
        "connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
        ".webmanifest": "application/manifest+json", ".json": "application/json",
        ".whl": "application/octet-stream", ".onnx": "application/octet-stream", ".zip": "application/zip",
    }

    def end_headers(self):
        for k, v in HEADERS.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, fmt, *args):
        if not getattr(self.server, "quiet", False):
            super().log_message(fmt, *args)


def start(site: Path = SITE, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True):
    """Serve ``site`` in a daemon thread; return ``(server, base_url)``."""
    handler = functools.partial(Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.quiet = quiet
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    if not (SITE / "index.html").is_file():
        raise SystemExit(f"{SITE} is not built: run `make build`")
    handler = functools.partial(Handler, directory=str(SITE))
    with http.server.ThreadingHTTPServer((args.host, args.port), handler) as server:
        print(f"alphacut: serving {SITE} on http://{args.host}:{args.port}/  (Ctrl-C to stop)")
        server.serve_forever()


if __name__ == "__main__":
    main()

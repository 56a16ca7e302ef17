"""Serve build/site on loopback with the headers the app needs.

COOP/COEP make the page cross-origin isolated, so ONNX Runtime Web can use threads; the CSP
allows connections to this origin only. ``make serve`` runs this; the browser tests run it
with ``--port 0`` (a free port) and read the URL from its first line of output.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import sys
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


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A browser that stops reading (a cancelled download, a closed tab) is not an error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--site", type=Path, default=SITE)
    p.add_argument("--quiet", action="store_true", help="no request log")
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    if not (args.site / "index.html").is_file():
        raise SystemExit(f"{args.site} is not built: run `make build`")
    handler = functools.partial(Handler, directory=str(args.site))
    with Server((args.host, args.port), handler) as server:
        server.quiet = args.quiet
        print(f"alphacut: serving {args.site} on http://{args.host}:{server.server_address[1]}/  (Ctrl-C to stop)",
              flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""First visit, side by side: what alphacut and the peer download, file by file, and how long the
first cut-out takes on an empty cache, in headless Chromium over loopback.

Each repeat opens a fresh browser context (no HTTP cache, no service worker, no IndexedDB), loads
the page, waits until it is ready and cuts out the 2 MP photo of ``bench/speed.py``. Bytes are
the response bodies that came from the network as the browser reports them
(``request.sizes()["responseBodySize"]``): the page's and its workers' requests, and the service
worker's own fetches; responses the service worker served from its cache are not counted again.
Time: navigation start to the finished cut-out (the page's clock), median of ``--repeat``.

Usage: python -m bench.first_visit [--repeat N] [--write BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import base64
import datetime
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

from . import peer_bench, speed

BEGIN, END = "<!-- first-visit:begin -->", "<!-- first-visit:end -->"


def visit(playwright, name: str, url: str, data: bytes) -> dict:
    """One first visit: {ms (navigation start to the cut-out's end), files: {path: [bytes, count]}}."""
    browser = playwright.chromium.launch(executable_path=peer_bench.CHROMIUM, headless=True,
                                         args=speed.BROWSER_ARGS)
    files: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def finished(request):
        response = request.response()
        if response is None or response.from_service_worker:
            return
        path = urlparse(request.url).path
        entry = files[path]
        entry[0] += request.sizes()["responseBodySize"]
        entry[1] += 1

    try:
        context = browser.new_context()
        context.on("requestfinished", finished)
        page = context.new_page()
        page.goto(url)
        if name == "alphacut":
            page.wait_for_function(speed._OURS_READY, timeout=speed.TIMEOUT_MS)
            status = page.inner_text("#status-text")
            if page.get_attribute("#status", "class") != "ready":
                raise RuntimeError(f"alphacut did not start: {status}")
            r = page.evaluate(speed._OURS_JS, [base64.b64encode(data).decode()])
        else:
            page.wait_for_function("window.peerReady === true", timeout=speed.TIMEOUT_MS)
            r = page.evaluate(speed._PEER_JS, [base64.b64encode(data).decode()])
        page.wait_for_timeout(2000)  # let the service worker's last cache writes finish and be counted
        context.close()
    finally:
        browser.close()
    return {"ms": r["end"], "files": {k: list(v) for k, v in files.items()}}


def _grouped(files: dict) -> dict:
    """``files`` with content-addressed chunks (the peer's model: ``/data/<sha256>``) summed per folder."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, (size, count) in files.items():
        folder, _, name = path.rpartition("/")
        key = f"{folder}/<sha256> (content-addressed chunks)" if re.fullmatch(r"[0-9a-f]{64}", name) else path
        out[key][0] += size
        out[key][1] += count
    return out


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def report(runs: dict, args) -> str:
    totals = {t: [sum(b for b, _ in r["files"].values()) for r in rs] for t, rs in runs.items()}
    times = {t: [r["ms"] for r in rs] for t, rs in runs.items()}
    med = {t: statistics.median(v) for t, v in times.items()}
    lines = [
        f"Measured {datetime.date.today()} on {speed.machine()}; Chromium, headless, a fresh context per "
        f"visit, over loopback (no network latency or bandwidth limit). Peer: @imgly/background-removal "
        f"with isnet_fp16 on WASM, served as in `bench/speed.py`.",
        "",
        f"Command: `python -m bench.first_visit --repeat {args.repeat} --write BENCHMARKS.md`.",
        "",
        "| | alphacut | peer | alphacut / peer |",
        "|---|---|---|---|",
        f"| downloaded (MB, per visit) | {', '.join(_mb(x) for x in totals['alphacut'])} | "
        f"{', '.join(_mb(x) for x in totals['peer'])} | "
        f"{statistics.median(totals['alphacut']) / statistics.median(totals['peer']):.2f} |",
        f"| first visit to the first 2 MP cut-out (s) | {', '.join(f'{x / 1000:.1f}' for x in times['alphacut'])} | "
        f"{', '.join(f'{x / 1000:.1f}' for x in times['peer'])} | {med['alphacut'] / med['peer']:.2f} |",
        "",
        "By file (the first visit of each; files under 100 kB summed in the last row):",
        "",
    ]
    for tool in ("alphacut", "peer"):
        files = _grouped(runs[tool][0]["files"])
        big = sorted(((p, b, n) for p, (b, n) in files.items() if b >= 100_000), key=lambda x: -x[1])
        small = [(b, n) for b, n in files.values() if b < 100_000]
        lines += [f"**{tool}**", "", "| file | MB | requests |", "|---|---|---|"]
        lines += [f"| `{p}` | {_mb(b)} | {n} |" for p, b, n in big]
        lines += [f"| {len(small)} other files | {_mb(sum(b for b, _ in small))} | {sum(n for _, n in small)} |", ""]
    ok = statistics.median(totals["alphacut"]) <= statistics.median(totals["peer"])
    fast = med["alphacut"] <= med["peer"]
    lines.append(f"**Targets** (issue 15): first-visit bytes ≤ the peer's: {'met' if ok else '**not met**'}; "
                 f"first visit ≤ 1.0× the peer's time: {med['alphacut'] / med['peer']:.2f} "
                 f"({'met' if fast else '**not met**'}).")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", type=Path, help="update this markdown file's first-visit section")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    data, _ = speed.photo(2)
    site, url = speed.start_site()
    peer_server, _ = peer_bench.serve_peer()
    runs: dict[str, list[dict]] = {"alphacut": [], "peer": []}
    try:
        with sync_playwright() as p:
            for i in range(args.repeat):
                for name, u in (("alphacut", url + "/"), ("peer", peer_bench.peer_url(peer_server))):
                    r = visit(p, name, u, data)
                    runs[name].append(r)
                    total = sum(b for b, _ in r["files"].values())
                    print(f"{i} {name}: {r['ms'] / 1000:.1f} s, {_mb(total)} MB", flush=True)
    finally:
        site.terminate()
        peer_server.shutdown()
        peer_server.server_close()
    text = report(runs, args)
    print(text)
    if args.write:
        speed.write_section(args.write, text, BEGIN, END, heading="## First visit: bytes and time, against the peer")
    return 0


if __name__ == "__main__":
    sys.exit(main())

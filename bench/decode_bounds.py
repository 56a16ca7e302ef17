"""Memory and time of every refused file of the bad-input corpus, each decoded in a fresh process.

For each corpus case that must fail (tests/corpus/generate.py), the file is written to a
temporary folder and ``alphacut.io.decode.decode`` is run on it in a subprocess, which reports its
wall time for the decode and its peak resident memory (``ru_maxrss``; the interpreter with numpy
and Pillow imported is part of it, and is measured alone as the first row). Targets (issue 16):
under 200 MB and 2 s for each refused file.

Usage: python -m bench.decode_bounds [--write BENCHMARKS.md]
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

# tests/ and tests/corpus/ are namespace packages (no __init__.py): with `python -m bench.decode_bounds`
# from the repository root, the corpus generator imports as tests.corpus.generate.
from tests.corpus.generate import CASES, Fails

ROOT = Path(__file__).resolve().parent.parent

BEGIN, END = "<!-- decode-bounds:begin -->", "<!-- decode-bounds:end -->"
CHILD = """
import json, resource, sys, time
from alphacut.io.decode import DecodeError, decode
data = open(sys.argv[1], 'rb').read() if len(sys.argv) > 1 else None
t = time.perf_counter()
outcome = 'no file'
if data is not None:
    try:
        decode(data)
        outcome = 'decoded'
    except DecodeError as e:
        outcome = str(e)
print(json.dumps({'s': time.perf_counter() - t, 'mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  'outcome': outcome}))
"""


def measure(path: Path | None) -> dict:
    args = [sys.executable, "-c", CHILD] + ([str(path)] if path else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True,
                         env={"PYTHONPATH": str(ROOT / "py")})
    return json.loads(out.stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path)
    args = ap.parse_args(argv)
    base = measure(None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if not isinstance(case.expect, Fails):
                continue
            path = Path(tmp) / case.name
            path.write_bytes(case.build())
            r = measure(path)
            rows.append((case.name, path.stat().st_size, r))
            print(f"{case.name}: {r['mb']:.0f} MB, {r['s']:.2f} s", file=sys.stderr)
    worst_mb = max(r["mb"] for _, _, r in rows)
    worst_s = max(r["s"] for _, _, r in rows)
    lines = ["", f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, Python "
             f"{platform.python_version()}. Command: `python -m bench.decode_bounds --write BENCHMARKS.md`. "
             f"Each refused file of the bad-input corpus decoded in a fresh process: peak resident memory "
             f"(the interpreter with numpy and Pillow alone: {base['mb']:.0f} MB) and the decode's wall time. "
             f"Targets: under 200 MB and 2 s each. Worst: **{worst_mb:.0f} MB**, **{worst_s:.2f} s**.", "",
             "| file | bytes | peak MB | seconds | message |", "|---|---:|---:|---:|---|"]
    for name, size, r in rows:
        lines.append(f"| {name} | {size:,} | {r['mb']:.0f} | {r['s']:.2f} | {r['outcome'][:90]} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.write:
        from .common import write_section

        write_section(args.write, text, BEGIN, END, "## Refused files: memory and time")
    return 0


if __name__ == "__main__":
    sys.exit(main())

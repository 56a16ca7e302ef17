"""Command line: ``alphacut IMAGE... -o OUTDIR`` writes ``<name>_no_bg.png`` for each input."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from .decode import DecodeError
from .models import get_model
from .pipeline import ESCALATIONS, METHODS, Options, cutout


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="alphacut", description="Remove the background of photos, on this machine.")
    p.add_argument("images", nargs="+", type=Path, help="input image files")
    p.add_argument("-o", "--outdir", type=Path, default=Path("."), help="output folder (default: current)")
    p.add_argument("--model", type=Path, default=None,
                   help="prepared .onnx file (default: the one `make build` put in the cache)")
    p.add_argument("--variant", choices=("fp32", "int8"), default="fp32",
                   help="prepared graph: fp32 (default), or int8 (what the page runs on WASM: faster, "
                        "slightly different mattes; BENCHMARKS.md compares them)")
    p.add_argument("--threads", type=int, default=0, help="inference threads (0: onnxruntime decides)")
    p.add_argument("--method", choices=METHODS, default=Options.method,
                   help="auto: colour key for a uniform studio background, the model otherwise (default: auto)")
    p.add_argument("--escalate", choices=ESCALATIONS, default=Options.escalate,
                   help="the higher-quality second pass: when the quality check is not good (auto, the default), "
                        "always (force), or never (off)")
    p.add_argument("--no-decontaminate", action="store_true", help="keep the edge colours as they are")
    p.add_argument("--report", action="store_true", help="print each report as a JSON line")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from .ort_backend import OrtInfer, default_model_path, sha256_file
    except ImportError:  # pragma: no cover - depends on the install
        print("alphacut: onnxruntime is missing; install with `pip install alphacut[onnxruntime]`", file=sys.stderr)
        return 2
    options = Options(method=args.method, escalate=args.escalate, decontaminate=0.0 if args.no_decontaminate else 1.0)
    path = args.model
    if path is None:
        path = default_model_path(options.model, args.variant)
        expected = get_model(options.model).variants[args.variant]["sha256"]
        if not path.is_file():
            print(f"alphacut: model not found at {path}; run `make build` (or pass --model)", file=sys.stderr)
            return 2
        if sha256_file(path) != expected:
            print(f"alphacut: {path} does not match its sha256 in the manifest; delete it and run `make build`",
                  file=sys.stderr)
            return 2
    infer = OrtInfer(path, name=options.model, threads=args.threads)
    args.outdir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for image in args.images:
        try:
            result = asyncio.run(cutout(image.read_bytes(), infer, options=options))
        except (OSError, DecodeError) as e:
            print(f"alphacut: {image}: {e}", file=sys.stderr)
            failed += 1
            continue
        out = args.outdir / f"{image.stem}_no_bg.png"
        out.write_bytes(result.png)
        if args.report:
            print(json.dumps({"input": str(image), "output": str(out), **result.report}))
        else:
            print(f"{image} -> {out}")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

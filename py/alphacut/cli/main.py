"""Command line: ``alphacut IMAGE_OR_FOLDER... -o OUTDIR`` writes ``<stem>_no_bg.png`` for each image.

Exit codes: 0 every image done (or skipped), 1 some failed, 2 a usage or model error (nothing
was cut out), 130 interrupted (Ctrl-C; the outputs written so far are whole).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ..fetch import ModelError
from ..io.decode import DecodeError
from ..models import load_manifest
from ..pipeline import ESCALATIONS, METHODS, Options
from .batch import DEFAULT_NAME, NAME_FIELDS, plan, validate_name

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEVICE_CHOICES = ("auto", "cpu", "cuda", "coreml", "directml")


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="alphacut", description="Remove the background of photos, on this machine.",
        epilog="exit codes: 0 all done (skipped inputs included), 1 some failed, 2 usage or model error, "
               "130 interrupted")
    p.add_argument("images", nargs="+", type=Path,
                   help="image files, folders (their images; -r for subfolders too), or - to read one image from "
                        "stdin and write the PNG to stdout")
    p.add_argument("-o", "--outdir", type=Path, default=Path("."), help="output folder (default: current)")
    p.add_argument("-r", "--recursive", action="store_true", help="take the images in subfolders too, and keep "
                                                                  "the subfolders in the output folder")
    fields = ", ".join("{" + k + "}" for k in NAME_FIELDS)
    p.add_argument("--name", default=DEFAULT_NAME, help=f"output file name pattern, from {fields} "
                                                        f"(default: {DEFAULT_NAME})")
    p.add_argument("--overwrite", action="store_true",
                   help="redo images whose output exists (default: skip them, so a rerun resumes)")
    p.add_argument("-j", "--jobs", type=int, default=0,
                   help="worker processes, each with its own session (default 0: one per core; 1: no pool)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto",
                   help="inference device: auto takes a GPU when the installed onnxruntime offers one")
    p.add_argument("--offline", action="store_true",
                   help="never download the model; say where to put it if it is not in the cache")
    p.add_argument("--ray", action="store_true",
                   help="run the batch on Ray Data (a local instance, or the cluster RAY_ADDRESS names; "
                        "needs `pip install alphacut[ray]`)")
    p.add_argument("--model", type=Path, default=None,
                   help="prepared .onnx file (default: the cached one, fetched and prepared on first use)")
    p.add_argument("--variant", choices=("fp32", "int8"), default="fp32",
                   help="prepared graph: fp32 (default), or int8 (what the page runs on WASM: faster, "
                        "slightly different mattes; BENCHMARKS.md compares them)")
    p.add_argument("--threads", type=int, default=0,
                   help="inference threads per process (0: the cores shared among the jobs)")
    p.add_argument("--method", choices=METHODS, default=Options.method,
                   help="auto: colour key for a uniform studio background, the model otherwise (default: auto)")
    p.add_argument("--escalate", choices=ESCALATIONS, default=Options.escalate,
                   help="the higher-quality second pass: when the quality check is not good (auto, the default), "
                        "always (force), or never (off)")
    p.add_argument("--no-decontaminate", action="store_true", help="keep the edge colours as they are")
    p.add_argument("--report", action="store_true", help="print each report as a JSON line")
    return p


def _say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"alphacut: {message}", file=sys.stderr)


def resolve_model(args: argparse.Namespace, options: Options) -> Path:
    """The prepared graph to run: ``--model``, else the cached one, fetched and prepared if missing."""
    if args.model is not None:
        if not args.model.is_file():
            raise ModelError(f"--model {args.model}: no such file")
        return args.model
    from ..fetch import ensure_model

    bar = _Bar()
    try:
        return ensure_model(load_manifest(options.model), args.variant, offline=args.offline, progress=bar)
    finally:
        bar.close()


class _Bar:
    """A download progress bar, shown once bytes arrive (and only on a terminal)."""

    def __init__(self):
        self._bar = None

    def __call__(self, key: str, current: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            _say(f"first run: downloading the model ({total / 1e6:.0f} MB), then preparing it (about a minute)")
            self._bar = tqdm(total=total or None, unit="B", unit_scale=True, desc=key.split(":", 1)[-1],
                             disable=not sys.stderr.isatty(), file=sys.stderr)
        self._bar.update(current - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _setup(args: argparse.Namespace, options: Options, workers: int):
    """The runner's :class:`~alphacut.cli.runner.Setup`: model, providers, threads per process."""
    import onnxruntime as ort

    if args.ray:
        import ray  # noqa: F401  (here, so that a missing extra is a usage error, not a traceback)
    from ..runtime.ort_backend import providers_for
    from .runner import Setup

    providers = providers_for(args.device, ort.get_available_providers())
    threads = args.threads or max(1, cores() // workers)
    return Setup(model=resolve_model(args, options), options=options, threads=threads, providers=tuple(providers))


def _stdin_to_stdout(setup) -> int:
    from .runner import cut, start

    data = sys.stdin.buffer.read()
    try:
        start(setup)
        result = cut(data)
    except DecodeError as e:
        _say(f"-: {e}")
        return EXIT_FAILED
    sys.stdout.buffer.write(result.png)
    sys.stdout.buffer.flush()
    return EXIT_OK


def _outcomes(args, jobs, setup, workers):
    if args.ray:
        from .ray_batch import run_ray

        return run_ray(jobs, setup, workers)
    from .runner import run_parallel, run_sequential

    return run_sequential(jobs, setup) if workers == 1 else run_parallel(jobs, setup, workers)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    stdin = args.images == [Path("-")]
    try:
        validate_name(args.name)
        if Path("-") in args.images and not stdin:
            raise ValueError("- (stdin) must be the only input")
        if args.jobs < 0 or args.threads < 0:
            raise ValueError("--jobs and --threads must be 0 (automatic) or more")
    except ValueError as e:
        parser.print_usage(sys.stderr)
        print(f"alphacut: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    options = Options(method=args.method, escalate=args.escalate, decontaminate=0.0 if args.no_decontaminate else 1.0)
    t0 = time.perf_counter()
    jobs, skipped = ([], []) if stdin else plan(args.images, args.outdir, pattern=args.name,
                                                recursive=args.recursive, overwrite=args.overwrite)
    for skip in skipped:
        _say(f"skipped {skip.src}: {skip.reason}")
    workers = 1 if stdin else args.jobs or min(cores(), max(1, len(jobs)))
    if not stdin and not jobs:
        return _summary(0, len(skipped), 0, t0)
    try:
        setup = _setup(args, options, workers)
    except ImportError as e:  # pragma: no cover - depends on the install
        _say(f"{e.name} is missing; install with `pip install alphacut[onnxruntime]`"
             + (" (alphacut[ray] for --ray)" if args.ray else ""))
        return EXIT_USAGE
    except (ModelError, ValueError) as e:
        _say(str(e))
        return EXIT_USAGE
    if stdin:
        return _stdin_to_stdout(setup)
    return _run(args, jobs, len(skipped), setup, workers, t0)


def _run(args, jobs, n_skipped: int, setup, workers: int, t0: float) -> int:
    from tqdm import tqdm

    args.outdir.mkdir(parents=True, exist_ok=True)
    done = failed = 0
    outcomes = _outcomes(args, jobs, setup, workers)
    bar = tqdm(total=len(jobs), unit="img", disable=not sys.stderr.isatty(), file=sys.stderr)
    try:
        for outcome in outcomes:
            bar.update()
            if not outcome.ok:
                failed += 1
                _say(f"failed {outcome.job.src}: {outcome.message}")
                continue
            done += 1
            if args.report:
                print(json.dumps({"input": str(outcome.job.src), "output": str(outcome.job.out), **outcome.report}))
            else:
                bar.write(f"{outcome.job.src} -> {outcome.job.out}", file=sys.stdout)
    except KeyboardInterrupt:
        bar.close()
        outcomes.close()  # cancels what has not started; the running images finish and are written whole
        _say(f"interrupted: {done} done, {failed} failed, {len(jobs) - done - failed} not started or unfinished "
             f"(a rerun skips the done ones)")
        return EXIT_INTERRUPTED
    bar.close()
    return _summary(done, n_skipped, failed, t0)


def _summary(done: int, skipped: int, failed: int, t0: float) -> int:
    print(f"alphacut: {done} done, {skipped} skipped, {failed} failed in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Run a batch plan: in this process, or on a bounded pool of worker processes.

Each worker process holds one onnxruntime session, created once by the pool's initializer,
and does the whole cut-out of an image (read, decode, inference, post-processing, encode,
write): with two or more workers, one image's decode and post-processing overlap another's
inference. At most ``2 * workers`` images are in flight, so memory stays bounded however
long the batch. Both paths run the same :func:`run_job`, so their outputs are the same bytes.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from ..fetch import write_atomic
from ..io.decode import DecodeError
from ..pipeline import Options, Result, cutout
from .batch import Job


@dataclass(frozen=True)
class Setup:
    """What a worker needs to build its session and run the pipeline (picklable)."""

    model: Path
    options: Options = Options()
    threads: int = 0
    providers: tuple[str, ...] = ("CPUExecutionProvider",)


@dataclass(frozen=True)
class Outcome:
    """What became of one job: ``ok``, or the one-line ``message`` saying why not."""

    job: Job
    ok: bool
    message: str = ""
    report: dict = field(default_factory=dict)


_STATE: dict = {}


def start(setup: Setup) -> None:
    """Create this process's session (once per process: the pool's initializer calls it)."""
    from ..runtime.ort_backend import OrtInfer

    _STATE["infer"] = OrtInfer(setup.model, name=setup.options.model, threads=setup.threads,
                               providers=list(setup.providers))
    _STATE["options"] = setup.options


def _start_worker(setup: Setup) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it cancels the queue
    start(setup)


def cut(data: bytes) -> Result:
    """Cut out one encoded image with this process's session (after :func:`start`)."""
    return asyncio.run(cutout(data, _STATE["infer"], options=_STATE["options"]))


def run_job(job: Job) -> Outcome:
    """Read, cut out and write one job; an unreadable or damaged input is an Outcome, not an exception."""
    try:
        result = cut(job.src.read_bytes())
    except DecodeError as e:
        return Outcome(job, False, str(e))
    except OSError as e:
        return Outcome(job, False, f"cannot be read: {e.strerror or e}")
    try:
        write_atomic(job.out, result.png)
    except OSError as e:
        return Outcome(job, False, f"cannot write {job.out}: {e.strerror or e}")
    return Outcome(job, True, report=result.report)


def run_sequential(jobs: Iterable[Job], setup: Setup) -> Iterator[Outcome]:
    """The plain loop: one session in this process, one image after another."""
    start(setup)
    for job in jobs:
        yield run_job(job)


def run_parallel(jobs: Iterable[Job], setup: Setup, workers: int) -> Iterator[Outcome]:
    """Yield outcomes in completion order from ``workers`` processes, ``2 * workers`` jobs in flight.

    Closing the iterator (Ctrl-C in the caller) cancels the jobs not started and waits for
    the running ones, whose outputs are written whole or not at all.
    """
    queue = iter(jobs)
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold onnxruntime's threads
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker, initargs=(setup,))
    try:
        pending = {pool.submit(run_job, job) for job in islice(queue, 2 * workers)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.update(pool.submit(run_job, job) for job in islice(queue, 1))
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

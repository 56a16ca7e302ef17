"""Work beside work: a two-thread executor where threads exist, else one that runs each call at once.

Used for steps that release the GIL (Pillow's resizing, numpy's ufuncs and matrix products, SciPy's
filters), so that a second core shortens them. Pyodide has no threads: there every call runs in
the calling thread, in the order it is submitted, with the same results.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["executor"]


class _Inline:
    """An executor that runs each call at once, in the calling thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # raised again by result(), as a thread pool's future does
            future.set_exception(exc)  # (KeyboardInterrupt and SystemExit go up at once)
        return future

    def map(self, fn, *iterables):
        return map(fn, *iterables)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def executor():
    """A context manager giving an executor with ``submit`` and ``map``: a pool of two threads
    where this Python can start threads (not in Pyodide) and has more than one CPU, else one that
    runs each call at once, in the calling thread.

    Examples
    --------
    >>> with executor() as pool:
    ...     later = pool.submit(sum, [1, 2, 3])
    ...     now = sum([4, 5])
    ...     (later.result(), now, list(pool.map(abs, [-1, 2])))
    (6, 9, [1, 2])
    """
    if sys.platform == "emscripten" or (os.cpu_count() or 1) < 2:
        return _Inline()
    return ThreadPoolExecutor(2)

"""The executor: threads where they exist, the same results in the calling thread where not."""
import threading

import pytest

from alphacut._shared import threads


def _where_run(_):
    return threading.current_thread() is threading.main_thread()


@pytest.mark.parametrize("cpus", [1, 2])
def test_executor_gives_the_same_results_with_and_without_threads(monkeypatch, cpus):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: cpus)
    with threads.executor() as pool:
        later = pool.submit(sorted, [3, 1, 2], reverse=True)
        mapped = list(pool.map(lambda x: x * x, range(5)))
        ran_here = pool.submit(_where_run, None).result()
    assert later.result() == [3, 2, 1]
    assert mapped == [0, 1, 4, 9, 16]
    assert ran_here == (cpus == 1)  # one CPU: each call runs at once, in the calling thread


def test_executor_runs_inline_in_pyodide(monkeypatch):
    monkeypatch.setattr(threads.sys, "platform", "emscripten")
    with threads.executor() as pool:
        assert pool.submit(_where_run, None).result()


@pytest.mark.parametrize("cpus", [1, 2])
def test_an_error_in_a_call_is_raised_by_its_result(monkeypatch, cpus):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: cpus)
    with threads.executor() as pool:
        future = pool.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            future.result()

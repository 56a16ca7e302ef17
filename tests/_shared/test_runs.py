"""Runs of True against a plain scan."""
import numpy as np


def test_true_runs_matches_a_scan():
    from alphacut._shared.runs import true_runs

    rng = np.random.default_rng(10)
    for _ in range(50):
        mask = rng.random(rng.integers(0, 30)) < 0.4
        gap = int(rng.integers(0, 4))
        runs, start, last = [], None, None
        for i, v in enumerate(mask):
            if not v:
                continue
            if start is not None and i - last - 1 > gap:
                runs.append((start, last + 1))
                start = None
            start = i if start is None else start
            last = i
        if start is not None:
            runs.append((start, last + 1))
        assert true_runs(mask, gap=gap) == runs

"""Runs of True in a 1-D mask: which columns of a strip need work."""
import numpy as np

__all__ = ["split_runs", "true_runs"]


def true_runs(mask, *, gap=0, longest=None):
    """Start and stop of each run of True in a 1-D mask, runs closer than ``gap`` merged.

    Parameters
    ----------
    mask : (N,) ndarray of bool
    gap : int, optional
        Runs separated by at most this many False entries become one.
    longest : int, optional
        Runs longer than this are cut into pieces of at most this length.

    Returns
    -------
    list of (int, int)

    Examples
    --------
    >>> true_runs(np.array([0, 1, 1, 0, 1, 0, 0, 0, 1], bool), gap=1)
    [(1, 5), (8, 9)]
    >>> true_runs(np.ones(5, bool), longest=2)
    [(0, 2), (2, 4), (4, 5)]
    """
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    starts, stops = edges[0::2], edges[1::2]
    if starts.size == 0:
        return []
    keep = np.concatenate(([True], starts[1:] - stops[:-1] > gap))
    runs = list(zip(starts[keep].tolist(), np.concatenate((stops[:-1][keep[1:]], stops[-1:])).tolist()))
    return runs if longest is None else split_runs(runs, longest)


def split_runs(runs, longest):
    """Cut each ``(start, stop)`` run into pieces of at most ``longest``.

    >>> split_runs([(0, 5)], 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    return [(x, min(x + longest, stop)) for start, stop in runs for x in range(start, stop, longest)]

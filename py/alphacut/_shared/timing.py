"""Per-stage wall-clock timing for the reports that pipelines return."""
from __future__ import annotations

import time


class Clock:
    """Records wall time per named stage, in milliseconds.

    Examples
    --------
    >>> c = Clock()
    >>> c.lap("decode")
    >>> list(c.ms)
    ['decode']
    """

    def __init__(self):
        self.ms: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Add the time since the previous lap (or creation) to ``stage``."""
        now = time.perf_counter()
        self.ms[stage] = round(self.ms.get(stage, 0.0) + (now - self._t) * 1000.0, 1)
        self._t = now

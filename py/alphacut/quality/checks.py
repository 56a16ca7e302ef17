"""The quality check: one table of checks, and the verdict.

Each row of :data:`CHECKS` is one check: its name, its direction (is a lower score worse?), the
perfect score, the default ``(suspicious, bad)`` thresholds, the sentence a user reads when it is
not good, and how it is scored from the working copy (:mod:`alphacut.quality.scores`). Adding a
check is adding a row: :class:`QualityThresholds`, :func:`assess` and :func:`judge` read the table.

The default thresholds were measured by ``python -m bench.calibrate --data DIR`` (2026-11-21) on
the tune half of the alphamatting.com training set (odd image numbers) with synthetic failures:
suspicious = a per-check quantile of the score over the good cut-outs (coordinate ascent on
catch - false alarms, false alarms <= 10 %), bad = the most extreme good score there; a "bad"
cut-out has a relative error sum|p - g| / sum g > 10 %. See the calibration section of
BENCHMARKS.md for how they do on the other half.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage as ndi

from .._shared.checks import as_alpha, as_rgb8
from .._shared.working import WorkingCopy
from ..options import OptionsBase
from ..options import thresholds as pair
from .scores import (_EIGHT, _LO, _MIN_PIECE, MAX_SIDE, _as_float, _band, _check_side, _confidence, _edge_support,
                     _fragments, _halo, _holes_labels, _jaggedness, _nanmean, _pieces, _sharpness, _smooth,
                     _spill_map, _work_alpha, _work_image)

__all__ = ["CHECKS", "DEFAULT_THRESHOLDS", "Check", "CheckSpec", "QualityReport", "QualityThresholds", "assess",
           "flagged_regions", "judge"]


class _Work:
    """The working copy of a cut-out, with what several checks share computed once."""

    def __init__(self, a: np.ndarray, rgb: np.ndarray | None):
        self.a, self.rgb = a, rgb

    @cached_property
    def mask(self) -> np.ndarray:
        return self.a > 0.5

    @cached_property
    def band(self) -> np.ndarray:
        return _band(self.mask)

    @cached_property
    def mean(self) -> float:
        return float(self.a.mean(dtype=np.float64))


@dataclass(frozen=True)
class CheckSpec:
    """One row of the table of checks.

    Attributes
    ----------
    name : str
    lower_is_worse : bool
    best : float
        The perfect score: severity 0.
    thresholds : (float, float)
        The default ``(suspicious, bad)``; ``bad`` may be infinite for a check that only warns.
    reason : callable
        ``reason(score)``: the sentence a user reads when the check is not good.
    score : callable, or None
        ``score(work)`` from the working copy; None for a score the caller gives
        (``disagreement``).
    needs_photo : bool
        Scored only when :func:`assess` has the photo.
    """

    name: str
    lower_is_worse: bool
    best: float
    thresholds: tuple[float, float]
    reason: Callable[[float], str]
    score: Callable[[_Work], float] | None = None
    needs_photo: bool = False


#: The checks, in the order they are reported.
CHECKS = (
    CheckSpec("jaggedness", False, 0.0, (2.9867, 3.2674),
              lambda s: f"The outline looks jagged: it is {s:.0%} longer than a smooth outline would be.",
              lambda w: _jaggedness(w.mask)),
    CheckSpec("confidence", True, 1.0, (0.1395, 0.1276),
              lambda s: ("The edge is uncertain: along the outline the cut-out is neither clearly in nor out "
                         f"(confidence {s:.2f})."),
              lambda w: _confidence(w.a, w.band)),
    CheckSpec("halo", False, 0.0, (0.4745, 0.5356),
              lambda s: f"{s:.0%} of the cut-out is semi-transparent, so it may look hazy or show a halo.",
              lambda w: _halo(w.a)),
    CheckSpec("spill", False, 0.0, (0.5073, 0.5313),
              lambda s: "Background colour stays visible around the edges (a halo).",
              lambda w: _nanmean(_spill_map(w.rgb, w.a, w.band)), needs_photo=True),
    CheckSpec("edge_support", True, 1.0, (0.1417, 0.1261),
              lambda s: (f"Only {s:.0%} of the cut-out's edge follows an edge in the photo: it may cut into the "
                         "subject or leave background attached."),
              lambda w: _edge_support(w.rgb, w.a, w.band), needs_photo=True),
    CheckSpec("fragments", False, 0.0, (60.5, 145.5),
              lambda s: f"The cut-out has {s:.0f} detached pieces besides the subject.",
              lambda w: float(_fragments(w.mask, _MIN_PIECE))),
    CheckSpec("holes", False, 0.0, (428.5, 449.5),
              lambda s: f"The subject has {s:.0f} holes in it.",
              lambda w: float(np.count_nonzero(_holes_labels(w.mask, _MIN_PIECE)[1]))),
    CheckSpec("area_low", True, 1.0, (0.01, 0.002),
              lambda s: "Nothing found: the cut-out is (almost) empty.",
              lambda w: w.mean),
    CheckSpec("area_high", False, 0.0, (0.95, 0.995),
              lambda s: "Nothing removed: the cut-out covers (almost) the whole photo.",
              lambda w: w.mean),
    CheckSpec("disagreement", False, 0.0, (0.05, 0.25),
              lambda s: (f"A second opinion disagrees with the model over {s:.0%} of the subject where the model "
                         "is sure: a separate object, a hole or a missed part.")),
    CheckSpec("sharpness", True, math.inf, (20.0, -math.inf),
              lambda s: "The photo looks blurry, so its edges will be soft.",
              lambda w: _sharpness(w.rgb), needs_photo=True),
)
_BY_NAME = {c.name: c for c in CHECKS}

QualityThresholds = make_dataclass(
    "QualityThresholds",
    [(c.name, tuple[float, float], pair(*c.thresholds, lower_is_worse=c.lower_is_worse)) for c in CHECKS],
    bases=(OptionsBase,), frozen=True,
    namespace={"__module__": __name__, "__doc__": """Where each score turns ``'suspicious'`` and ``'bad'``.

    One ``(suspicious, bad)`` pair a row of :data:`CHECKS`, which holds the defaults: increasing
    where a higher score is worse, decreasing where a lower one is. ``bad`` may be ``inf`` (or
    ``-inf``) for a check that only ever warns.
    """})

#: Thresholds measured by bench/calibrate.py (see :data:`CHECKS`).
DEFAULT_THRESHOLDS = QualityThresholds()


@dataclass(frozen=True)
class Check:
    """One score with its thresholds, verdict and (if not good) a sentence for the user."""

    name: str
    score: float
    suspicious: float
    bad: float
    verdict: str
    reason: str = ""


@dataclass(frozen=True)
class QualityReport:
    """What :func:`assess` found.

    Attributes
    ----------
    verdict : str
        ``'good'``, ``'suspicious'`` or ``'bad'``: the worst verdict of the checks.
    risk : float
        The worst check's severity: 0 at a perfect score, 1 at its suspicious threshold, 2 at
        its bad threshold (linear in between, capped at 3). A continuous form of the verdict.
    checks : tuple of Check
        Every score, its thresholds and verdict.
    reasons : tuple of str
        User-facing sentences for the checks that are not good, worst first.
    """

    verdict: str
    risk: float
    checks: tuple = field(default_factory=tuple)
    reasons: tuple = field(default_factory=tuple)

    def score(self, name: str) -> float:
        """The score of the check called ``name``."""
        for c in self.checks:
            if c.name == name:
                return c.score
        raise KeyError(name)

    def to_dict(self) -> dict:
        """A JSON-able dict (infinite thresholds become ``None``)."""
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v
        return {
            "verdict": self.verdict,
            "risk": round(self.risk, 4),
            "reasons": list(self.reasons),
            "checks": {c.name: {k: clean(v) for k, v in asdict(c).items() if k != "name"} for c in self.checks},
        }


def _severity(name: str, score: float, s: float, b: float) -> float:
    """0 at a perfect score, 1 at the suspicious threshold, 2 at bad, capped at 3."""
    spec = _BY_NAME[name]
    sign = -1.0 if spec.lower_is_worse else 1.0
    x, s, b = sign * score, sign * s, sign * b
    best = sign * spec.best
    if x >= s:
        if not math.isfinite(b):
            return 1.0
        return min(3.0, 1.0 + (x - s) / max(b - s, 1e-12))
    if not math.isfinite(best):
        return 0.0
    return max(0.0, (x - best) / max(s - best, 1e-12))


def _verdict(severity: float) -> str:
    return "bad" if severity >= 2.0 else "suspicious" if severity >= 1.0 else "good"


def _scores(rgb: np.ndarray | None, a: np.ndarray) -> dict:
    work = _Work(a, rgb)
    return {c.name: c.score(work) for c in CHECKS if c.score is not None and (rgb is not None or not c.needs_photo)}


def assess(image, alpha, *, thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
           max_side: int = MAX_SIDE, disagreement: float | None = None,
           work: WorkingCopy | None = None) -> QualityReport:
    """Score a cut-out and give a verdict with reasons a user can read.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8, or None
        The photo. Without it the colour spill and sharpness checks are skipped.
    alpha : (M, N) ndarray of float in [0, 1], uint8 or bool
        The matte.
    thresholds : QualityThresholds, optional
        Where each score turns suspicious and bad.
    max_side : int, optional
        Longer side of the working copy.
    disagreement : float, optional
        How much a second opinion contradicts the model where it is sure, as a share of the
        subject (:func:`alphacut.matte.anchor.disagreement`, ``added + removed``); checked when given.
    work : WorkingCopy, optional
        ``WorkingCopy.of(alpha, image, max_side)``, when the caller has made it already (the
        pipeline makes it once for the checks and decontamination).

    Returns
    -------
    QualityReport
        ``verdict`` is the worst of the checks; ``reasons`` has one sentence per check that is
        not good. ``to_dict()`` gives a JSON-able form.

    Examples
    --------
    >>> r, c = np.mgrid[:96, :128]
    >>> disc = ((r - 48) ** 2 + (c - 64) ** 2 < 30 ** 2).astype(np.float32)
    >>> image = np.where(disc[..., None] > 0, 200, 30).astype(np.uint8).repeat(3, axis=2)
    >>> assess(image, disc).verdict
    'good'
    >>> report = assess(image, np.zeros_like(disc))
    >>> report.verdict, report.reasons[0]
    ('bad', 'Nothing found: the cut-out is (almost) empty.')
    """
    if not isinstance(thresholds, QualityThresholds):
        raise TypeError(f"thresholds must be a QualityThresholds, got {type(thresholds).__name__}")
    a = as_alpha(alpha, copy=False)  # only read
    side = _check_side(max_side)
    if image is not None:
        image = as_rgb8(image, shape=a.shape)
    if work is None:
        work = WorkingCopy.of(a, image, side)
    else:
        work.check(a.shape, side, rgb=image is not None)
    scores = _scores(None if image is None else _as_float(work.rgb), work.alpha)
    if disagreement is not None:
        scores["disagreement"] = float(disagreement)
    return judge(scores, thresholds=thresholds)


def judge(scores: dict, *, thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> QualityReport:
    """Verdict and reasons for scores already computed, e.g. to re-judge with other thresholds.

    Parameters
    ----------
    scores : dict of str to float
        Scores by check name, as in ``assess(...).checks``; checks without a score are skipped.
    thresholds : QualityThresholds, optional

    Returns
    -------
    QualityReport

    Examples
    --------
    >>> judge({"jaggedness": 0.05, "fragments": 0.0}).verdict
    'good'
    >>> judge({"jaggedness": 0.05}, thresholds=QualityThresholds(jaggedness=(0.01, 0.04))).verdict
    'bad'
    """
    if not isinstance(thresholds, QualityThresholds):
        raise TypeError(f"thresholds must be a QualityThresholds, got {type(thresholds).__name__}")
    if not scores:
        raise ValueError("scores is empty")
    checks = []
    for f in fields(thresholds):
        if f.name not in scores:
            continue
        s, b = getattr(thresholds, f.name)
        score = float(scores[f.name])
        sev = _severity(f.name, score, s, b)
        verdict = _verdict(sev)
        reason = "" if verdict == "good" else _BY_NAME[f.name].reason(score)
        checks.append((sev, Check(f.name, score, s, b, verdict, reason)))
    if not checks:
        raise ValueError(f"no known check in scores: {sorted(scores)}")
    risk = max(sev for sev, _ in checks)
    bad_first = sorted((c for c in checks if c[1].verdict != "good"), key=lambda c: -c[0])
    return QualityReport(verdict=_verdict(risk), risk=risk, checks=tuple(c for _, c in checks),
                         reasons=tuple(c.reason for _, c in bad_first))


def flagged_regions(alpha, *, image=None, max_side: int = MAX_SIDE) -> dict:
    """Overlay masks for the page, at the working resolution.

    Parameters
    ----------
    alpha : (M, N) ndarray of float in [0, 1], uint8 or bool
    image : (M, N, 3) ndarray of uint8, optional
        The photo; adds the ``'spill'`` mask.
    max_side : int, optional
        Longer side of the masks: mattes larger than this are area-averaged down first, so the
        masks are ``(P, Q)`` with ``max(P, Q) <= max_side`` (``(M, N)`` for small inputs); the
        page scales them up as an overlay.

    Returns
    -------
    dict of str to (P, Q) ndarray of bool
        ``'jagged'``: where the 0.5 outline departs from its smoothed copy by at least 2 pixels
        (wiggles, pin holes, specks); ``'halo'``: semi-transparent pixels (0.05 < a < 0.95); ``'fragments'``: pieces
        other than the largest; ``'holes'``: enclosed holes; ``'spill'`` (with ``image``):
        outline pixels that keep background colour (``a - a_colour > 0.25``).

    Examples
    --------
    >>> alpha = np.zeros((40, 40), np.float32); alpha[5:35, 5:35] = 1; alpha[1, 1] = 1
    >>> masks = flagged_regions(alpha)
    >>> sorted(masks), masks['fragments'].shape, int(masks['fragments'].sum())
    (['fragments', 'halo', 'holes', 'jagged'], (40, 40), 1)
    """
    a = as_alpha(alpha, copy=False)  # only read
    if image is not None:
        image = as_rgb8(image, shape=a.shape)
    side = _check_side(max_side)
    a = _work_alpha(a, side)
    mask = a > 0.5
    labels, sizes = _pieces(mask, _EIGHT)
    fragments = mask.copy()
    if sizes.max() > 0:
        fragments &= labels != int(np.argmax(sizes))
    hole_labels, hole = _holes_labels(mask, 1)
    out = {
        "jagged": ndi.binary_opening((mask != _smooth(mask)) & _band(mask), np.ones((2, 2), bool)),
        "halo": (a > _LO) & (a < 1 - _LO),
        "fragments": fragments,
        "holes": hole[hole_labels],
    }
    if image is not None:
        spill = _spill_map(_work_image(image, side), a, _band(mask))
        out["spill"] = np.nan_to_num(spill, nan=0.0) > 0.25
    return out

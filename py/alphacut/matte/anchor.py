"""The model's matte is the anchor: how far the other steps may move it, and where.

Every step after the model (edge refinement, the colour key, opening holes) is a second opinion
about parts of the matte. Each can be right where the model is unsure and wrong where it is
sure: on real photos a colour key keeps a cloudy sky or a second object on a plain table, opens
holes in a white cube on white, and a guided filter softens a car's crisp outline. So:

* **The band** is where the model itself is unsure: its matte strictly between
  :data:`BAND_LO` and :data:`BAND_HI`, grown by :data:`BAND_GROW` of its own pixels (so a
  one-pixel edge and the few pixels beside it are in). Outside the band the model is sure; no
  step may change its answer there, and its faint haze is settled to exactly 0 or 1
  (:func:`settle`).
* **Inside the band** a step may move alpha by at most ``delta`` from the model's value.
* **Refinement only where the model hedges over an area** (:func:`softness`): a crisp edge is a
  thin line of unsure pixels, hair and fur a wide area of them. The refined matte is blended in
  with that weight, so crisp edges stay as the model drew them.
* **Disagreement** between the model and a second opinion, outside the band, is measured
  (:func:`disagreement`) and reported: it is evidence for the quality check, never applied.

All maps are computed at the model's resolution (1024 x 1024) and only resized to the photo.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .._shared.checks import as_alpha
from .resize import reach, resize_alpha

__all__ = ["agrees", "band", "bounds", "clamp", "disagreement", "lift", "second_pass", "settle", "sharpen", "softness"]

#: The model is unsure strictly between these (its haze below, its solid subject above).
BAND_LO = 0.02
BAND_HI = 0.98
#: The band is grown by this many pixels of the model's matte (1024 x 1024).
BAND_GROW = 2
#: Most a step may move alpha inside the band.
DELTA = 0.5
#: Window radius, in model pixels, over which :func:`softness` counts unsure pixels.
SOFT_RADIUS = 4
#: Share of unsure pixels in that window below which an edge is crisp (weight 0) and above
#: which it is soft (weight 1); linear in between. A straight one-pixel edge fills about
#: 1/9 of a radius-4 window (:func:`softness`). Chosen among (0.1, 0.3), (0.2, 0.4) and
#: (0.3, 0.5) by the fewest photos made worse on the dev sets' tuning folds (bench/tune_anchor.py).
SOFT_LO = 0.3
SOFT_HI = 0.5
#: Edge sharpening where the model's edge is crisp, in units of the upsampling factor
#: (:func:`sharpen`); 0 turns it off. Off: on the real-photo masks it cut SAD by 1.4 % but
#: raised Grad by 6-7 % (bench/tune_anchor.py), and Grad must not rise.
SHARPEN = 0.0
#: A colour key may refine the model's band only when it agrees with the model where the model
#: is sure: the area it adds and removes there (:func:`disagreement`) at most this share of the
#: subject. On the studio composites (bench/colorkey.py) most keys agree (median 0); on the real
#: dev photos whose border looked plain it was 0.053 at least (a bag on white, then pets at
#: 0.07-0.20, Carvana's turntable at 0.3), and admitting keys up to 0.25 there made SAD up to 2.4x
#: the baseline. 0.02 and 0.05 did equally well on both halves of the composites; 0.02 keeps a
#: margin from the real photos.
KEY_AGREE = 0.02
#: How far an agreeing colour key may move alpha inside the band (1: its value stands there).
KEY_DELTA = 1.0
#: Rows per strip of :func:`clamp` (bounds its temporaries).
_STRIP = 256


def band(coarse, *, lo: float = BAND_LO, hi: float = BAND_HI, grow: int = BAND_GROW) -> np.ndarray:
    """Where the model is unsure: ``lo < coarse < hi``, grown by ``grow`` pixels.

    Parameters
    ----------
    coarse : (R, C) ndarray of float
        The model's matte.

    Returns
    -------
    (R, C) ndarray of bool

    Examples
    --------
    >>> c = np.zeros((1, 9), np.float32); c[0, 4] = 0.5; c[0, 5:] = 1
    >>> band(c, grow=1).astype(int).tolist()
    [[0, 0, 0, 1, 1, 1, 0, 0, 0]]
    """
    coarse = as_alpha(coarse, "coarse")
    unsure = (coarse > lo) & (coarse < hi)
    if grow > 0 and unsure.any():
        unsure = ndi.binary_dilation(unsure, np.ones((3, 3), bool), iterations=int(grow))
    return unsure


def softness(coarse, *, radius: int = SOFT_RADIUS, lo: float = SOFT_LO, hi: float = SOFT_HI) -> np.ndarray:
    """How much of the model's uncertainty is an area (hair, fur, a veil) rather than a line.

    The share of unsure pixels (``BAND_LO < coarse < BAND_HI``) in a ``2 radius + 1`` square
    window, mapped linearly from ``lo`` (0) to ``hi`` (1).

    Parameters
    ----------
    coarse : (R, C) ndarray of float

    Returns
    -------
    (R, C) ndarray of float32 in [0, 1]
        0 on crisp edges and away from edges, 1 where the model hedges over an area.

    Examples
    --------
    A crisp edge (one unsure column) and a soft one (a ramp eight columns wide):

    >>> c = np.zeros((20, 40), np.float32); c[:, 10] = 0.5; c[:, 11:20] = 1
    >>> c[:, 28:36] = np.linspace(0.1, 0.9, 8)
    >>> w = softness(c)
    >>> float(w[10, 10]), float(w[10, 32])
    (0.0, 1.0)
    """
    if not 0 <= lo < hi <= 1:
        raise ValueError(f"need 0 <= lo < hi <= 1, got {lo}, {hi}")
    coarse = as_alpha(coarse, "coarse")
    unsure = ((coarse > BAND_LO) & (coarse < BAND_HI)).astype(np.float32)
    share = ndi.uniform_filter(unsure, size=2 * int(radius) + 1, mode="nearest")
    return np.clip((share - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def bounds(coarse, shape) -> tuple[np.ndarray, np.ndarray]:
    """The model's matte at full resolution, and where it is unsure.

    Parameters
    ----------
    coarse : (R, C) ndarray of float
        The model's matte.
    shape : (M, N)
        The photo's size.

    Returns
    -------
    anchor : (M, N) ndarray of float32
        The model's matte resized bilinearly (the peer's output, without its uint8 truncation).
    inside : (M, N) ndarray of bool
        The band (:func:`band`) at full resolution.

    Examples
    --------
    >>> c = np.zeros((4, 4), np.float32); c[:, 2:] = 1
    >>> anchor, inside = bounds(c, (8, 8))
    >>> anchor.shape, bool(inside.any())
    ((8, 8), False)
    """
    coarse = as_alpha(coarse, "coarse")
    anchor = resize_alpha(coarse, shape)
    return anchor, reach(band(coarse), shape)


def clamp(alpha: np.ndarray, anchor: np.ndarray, inside: np.ndarray, *, delta: float = DELTA) -> np.ndarray:
    """Hold ``alpha`` to what the model allows, in place; returns it.

    Inside the band, within ``delta`` of the anchor. Outside, the anchor itself, except that haze
    (anchor below :data:`BAND_LO`) may settle down to 0 and near-opacity (above :data:`BAND_HI`) up
    to 1.

    Parameters
    ----------
    alpha : (M, N) ndarray of float32
        A step's result; overwritten.
    anchor, inside : (M, N) ndarrays
        From :func:`bounds`.
    delta : float, optional

    Examples
    --------
    >>> anchor = np.array([[0.01, 0.5, 0.5, 0.99, 0.6]], np.float32)
    >>> inside = np.array([[False, True, True, False, False]])
    >>> a = np.array([[0.0, 0.0, 0.8, 1.0, 0.0]], np.float32)
    >>> clamp(a, anchor, inside, delta=0.25).astype(float).round(2).tolist()
    [[0.0, 0.25, 0.75, 1.0, 0.6]]
    """
    if not 0 <= delta <= 1:
        raise ValueError(f"delta must be in [0, 1], got {delta}")
    if not (alpha.shape == anchor.shape == inside.shape):
        raise ValueError(f"alpha, anchor and inside must have one shape, got {alpha.shape}, {anchor.shape}, "
                         f"{inside.shape}")
    d = np.float32(delta)
    for r0 in range(0, alpha.shape[0], _STRIP):
        a, i = anchor[r0 : r0 + _STRIP], inside[r0 : r0 + _STRIP]
        lo = np.where(i, a - d, np.where(a < BAND_LO, np.float32(0), a))
        hi = np.where(i, a + d, np.where(a > BAND_HI, np.float32(1), a))
        np.clip(alpha[r0 : r0 + _STRIP], lo, hi, out=alpha[r0 : r0 + _STRIP])
    return alpha


def settle(alpha: np.ndarray, anchor: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Outside the band, the model's faint haze to exactly 0 and its near-opacity to exactly 1
    (in place; returns ``alpha``).

    The model leaves a haze of a few per cent over sure background and sure subject; summed over
    a photo it is a visible share of the error (settling it cut SAD by 1-3 % on every dev set
    and fold, with Grad unchanged: bench/devquality.py), and it spoils a PNG's transparency.

    Examples
    --------
    >>> anchor = np.array([[0.01, 0.01, 0.5, 0.99]], np.float32)
    >>> inside = np.array([[False, True, True, False]])
    >>> settle(anchor.copy(), anchor, inside).tolist()
    [[0.0, 0.009999999776482582, 0.5, 1.0]]
    """
    inside = np.asarray(inside, bool)  # read as bytes below
    for r0 in range(0, alpha.shape[0], _STRIP):
        a, i, out = anchor[r0 : r0 + _STRIP], inside[r0 : r0 + _STRIP], alpha[r0 : r0 + _STRIP]
        # "outside the band and below": (a < lo) > inside on the booleans' bytes (faster in wasm than ~ and &)
        inside8 = i.view(np.uint8)
        np.copyto(out, np.float32(0), where=np.greater((a < BAND_LO).view(np.uint8), inside8))
        np.copyto(out, np.float32(1), where=np.greater((a > BAND_HI).view(np.uint8), inside8))
    return alpha


def disagreement(coarse, other, *, threshold: float = 0.5) -> dict:
    """How much a second opinion contradicts the model where the model is sure.

    Parameters
    ----------
    coarse : (R, C) ndarray of float
        The model's matte.
    other : (R, C) ndarray of float
        The second opinion (a colour key, another inference), at the same resolution.
    threshold : float, optional
        A pixel disagrees when the two differ by more than this.

    Returns
    -------
    dict
        ``added``: pixels the other calls subject where the model is sure of background, and
        ``removed``: the reverse, each as a share of the model's subject (``coarse >= 0.5``);
        ``pieces``: how many separate regions of disagreement, each at least 0.1 % of the
        matte, there are; ``mask``: (R, C) bool, where they disagree.

    Examples
    --------
    The second opinion keeps a second object the model left out:

    >>> c = np.zeros((40, 40), np.float32); c[5:15, 5:15] = 1
    >>> o = c.copy(); o[25:35, 25:35] = 1
    >>> d = disagreement(c, o)
    >>> d["added"], d["removed"], d["pieces"]
    (1.0, 0.0, 1)
    """
    coarse = as_alpha(coarse, "coarse")
    other = as_alpha(other, "other")
    if other.shape != coarse.shape:
        raise ValueError(f"other must have the shape of coarse {coarse.shape}, got {other.shape}")
    sure = ~band(coarse)
    diff = np.abs(other - coarse) > threshold
    added = sure & diff & (coarse < 0.5)
    removed = sure & diff & (coarse >= 0.5)
    subject = max(1.0, float((coarse >= 0.5).sum()))
    mask = added | removed
    labels, n = ndi.label(mask, np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel())[1:] if n else np.zeros(0, int)
    return {"added": round(float(added.sum()) / subject, 4), "removed": round(float(removed.sum()) / subject, 4),
            "pieces": int((sizes >= 0.001 * coarse.size).sum()), "mask": mask}


def agrees(d: dict, *, limit: float | None = None) -> bool:
    """Whether a second opinion agrees with the model where the model is sure.

    Parameters
    ----------
    d : dict
        From :func:`disagreement`.
    limit : float, optional
        Defaults to :data:`KEY_AGREE`.

    Examples
    --------
    >>> agrees({"added": 0.01, "removed": 0.005}), agrees({"added": 0.3, "removed": 0.0})
    (True, False)
    """
    return d["added"] + d["removed"] <= (KEY_AGREE if limit is None else limit)


def lift(coarse, other) -> float:
    """How much a second inference raises the first's matte, on average over the first's band
    (:func:`band`); negative when it lowers it.

    Evidence for admitting a letterboxed pass (:func:`second_pass`). The squashed input distorts
    a photo that is not square, and the model hedges over parts of the subject; the letterboxed
    input keeps the proportions and finds them (it raises the band), but it gives the photo fewer
    pixels, so thin parts fade (it lowers the band). On the dev sets' 15 escalated photos every
    pass that raised the band on average made SAD lower (0.29-0.92x the first), and every one
    that lowered it made SAD higher (1.03-1.39x).

    Examples
    --------
    >>> first = np.array([[0.0, 0.4, 0.6, 1.0]], np.float32)
    >>> round(lift(first, np.array([[0.0, 0.9, 0.9, 1.0]], np.float32)), 3)
    0.4
    """
    coarse = as_alpha(coarse, "coarse")
    other = as_alpha(other, "other")
    if other.shape != coarse.shape:
        raise ValueError(f"other must have the shape of coarse {coarse.shape}, got {other.shape}")
    inside = band(coarse, grow=0)
    if not inside.any():
        return 0.0
    return float((other[inside] - coarse[inside]).mean())


def second_pass(coarse, other, *, delta: float = DELTA) -> np.ndarray:
    """A second inference of the photo (letterboxed), admitted only where the first is unsure.

    Inside the first matte's band (:func:`band`) the second's value, held within ``delta`` of the
    first's; elsewhere the first's. A second pass that fails outright (it happens: a letterboxed
    input loses a subject the squashed one found) cannot take the result with it.

    Examples
    --------
    >>> first = np.array([[0.0, 0.5, 1.0, 1.0]], np.float32)
    >>> second_pass(first, np.array([[1.0, 0.9, 0.0, 1.0]], np.float32)).astype(float).round(2).tolist()
    [[0.0, 0.9, 1.0, 1.0]]
    """
    coarse = as_alpha(coarse, "coarse")
    other = as_alpha(other, "other")
    if other.shape != coarse.shape:
        raise ValueError(f"other must have the shape of coarse {coarse.shape}, got {other.shape}")
    inside = band(coarse, grow=0)
    return np.where(inside, np.clip(other, coarse - delta, coarse + delta), coarse).astype(np.float32)


def sharpen(anchor: np.ndarray, coarse_shape, *, factor: float = 1.0) -> np.ndarray:
    """Undo the blur that upsampling adds to the model's edges (in place; returns ``anchor``).

    Bilinear upsampling by ``s`` (the photo's size over the model's, per axis, the larger) spreads
    a one-pixel edge of the model over ``s`` pixels. Stretching alpha about 0.5 by ``factor * s``
    restores the model's own edge width; an edge whose width is the model's hedging, not the
    upsampling, stays soft in proportion. Only for upsampling: at ``s <= 1`` nothing changes.

    Examples
    --------
    >>> a = np.array([[0.0, 0.25, 0.5, 0.75, 1.0]], np.float32)
    >>> sharpen(a.copy(), (1, 2)).tolist()
    [[0.0, 0.0, 0.5, 1.0, 1.0]]
    """
    s = max(anchor.shape[0] / coarse_shape[0], anchor.shape[1] / coarse_shape[1]) * float(factor)
    if s <= 1:
        return anchor
    for r0 in range(0, anchor.shape[0], _STRIP):
        strip = anchor[r0 : r0 + _STRIP]
        strip -= np.float32(0.5)
        strip *= np.float32(s)
        strip += np.float32(0.5)
        np.clip(strip, 0, 1, out=strip)
    return anchor

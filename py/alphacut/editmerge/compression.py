"""The edit's JPEG compression, predicted and taken out before the comparison.

An editing model's output usually reaches the merge as a JPEG: outside the edit it is the
original, drifted in colour, then compressed. Compression changes every busy part of the photo by
a few code values, as much as a faint edit (new grain, a weak texture, a change in a dark photo)
changes it; so the merge's thresholds, which must stay above that noise, miss such edits.

But the noise is not random: it is what the JPEG encoder does to the drifted original. Encoding
the original again, drifted the same way and at the same quality, predicts it, and the
difference between that prediction and the original is subtracted from the edit. Outside the
edit the cleaned edit is then the drifted original, to within the prediction's error (a
fraction of a code value where the drift is matched exactly, a code value or two where
its rounding differs); inside, the edit is kept, with the prediction's own noise added, which
is no stronger than the noise removed.

Steps (:func:`undo_compression`):

1. The drift, per channel ``edit = gain * original + offset``, fitted on 16 x 16 block means
   aligned with the JPEG grid (trimmed least squares). A block's mean is what JPEG keeps best
   (its DC coefficient, quantised by a fraction of a code value), so the fit is exact to about
   0.1 code value where a fit on single pixels is biased by the chroma's quantisation by up to 1.
2. The encoding: the file's own quantisation tables when the caller has them; otherwise a
   search over the IJG tables (the ones libjpeg, Pillow, OpenCV and browsers scale by a
   quality of 1-100) at qualities ``_QUALITIES``, with 4:2:0 then 4:4:4 chroma, on a strip of
   crops of the photo aligned to the grid: the one whose round trip is closest to the edit.
3. A gate: the round trip must explain the difference (each pixel capped at ``_CAP`` code
   values) down to at most ``_GATE`` of it, over the ``_GATE_BLOCKS`` share of the busy 16 x 16
   blocks (those where the edit differs from the drifted original by ``_BUSY`` code values or
   more on average) where it explains the largest share. The rest may be the edit, which no
   compression explains: an edit over most of the photo (a large region, the photo's own
   subject) leaves the best-explained blocks untouched. Otherwise the edit is not a JPEG of the
   drifted original (another encoder's tables, a resize, a shift, a regenerated background) and
   nothing is changed.

   A shifted edit can still pass where the photo is smooth and noisy: there any JPEG smooths
   the noise away alike, on the grid or off it. The merge finds the shift on the edit as it is
   and then compares it without the model (``Compression.used`` is then False in its report).

The model needs the photo at the size it was compressed, with the grid at its top-left corner:
the merge calls it on the full-size images, before any shift or resize, and only up to
``merge._COMPRESSION_MAX_PIXELS``.

References: the idea of re-compressing at candidate qualities is the "JPEG ghost" of Farid,
"Exposing digital forgeries from JPEG ghosts", IEEE TIFS 4(1), 2009.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["Compression", "fit_drift_blocks", "jpeg_round_trip", "find_compression", "undo_compression"]

#: JPEG's largest block (a 4:2:0 MCU), pixels: block means, crops and the grid use it.
_GRID = 16
#: IJG qualities searched when the file's tables are not known.
_QUALITIES = tuple(range(50, 99))
#: Pillow's ``subsampling``: 2 is 4:2:0 (the encoders' default), 0 is 4:4:4.
_SUBSAMPLINGS = (2, 0)
#: Crops of the search: side, pixels (a multiple of ``_GRID``), and at most how many.
_CROP = 128
_CROPS = 4
#: A pixel's difference counts up to this many code values (per channel) in the costs.
_CAP = 8
#: The round trip is used only if it leaves at most this share of the capped difference, over
#: the ``_GATE_BLOCKS`` share of the busy blocks where it leaves the smallest share (the rest may
#: be the edit, which no model of the compression explains; session 34: a share of all blocks
#: ranked by what is left, 0.7, let an edit over 35-60 % of the photo into the gate's blocks and
#: kept the model out of most such edits). A busy block differs by at least ``_BUSY`` code values
#: per pixel and channel on average (capped); the gate needs ``_GATE_MIN_BLOCKS`` of them, and
#: looks at that many at least.
_GATE = 0.3
_GATE_BLOCKS = 0.3
_BUSY = 0.5
_GATE_MIN_BLOCKS = 8

#: Drift fit: trimmed least squares keeping this share of the blocks, this many times.
_DRIFT_KEEP = 0.5
_DRIFT_ROUNDS = 4


@dataclass(frozen=True)
class Compression:
    """How the edit was compressed, as far as the model found.

    Attributes
    ----------
    quality : int or None
        IJG quality found by the search; None when the file's own tables were used.
    subsampling : int
        Pillow's chroma subsampling: 0 (4:4:4), 1 (4:2:2) or 2 (4:2:0).
    explained : float
        Share of the capped difference between the drifted original and the edit that the
        round trip explains (1 - cost after / cost before), over the busy blocks where it
        explains the largest share (``_GATE_BLOCKS`` of them); 0 with too few busy blocks.
    used : bool
        Whether the gate let the model clean the edit (in the merge's report: False too when
        the merge found the edit shifted, and compared it without the model).
    """

    quality: int | None
    subsampling: int
    explained: float
    used: bool

    def report(self) -> dict:
        return {"tables": "searched" if self.quality is not None else "the file's", "quality": self.quality,
                "subsampling": ("4:4:4", "4:2:2", "4:2:0")[self.subsampling],
                "explained": round(self.explained, 3), "used": self.used}


def _block_sums(image: np.ndarray, dtype) -> np.ndarray:
    """(R, C, K) sums of the whole ``_GRID`` x ``_GRID`` blocks of an (M, N, K) image (the part-blocks
    along the right and bottom edges left out): rows first, so that each sum runs along memory."""
    rows, cols = image.shape[0] // _GRID * _GRID, image.shape[1] // _GRID * _GRID
    part = image[:rows, :cols].reshape(rows // _GRID, _GRID, cols, image.shape[2]).sum(axis=1, dtype=dtype)
    return part.reshape(rows // _GRID, cols // _GRID, _GRID, image.shape[2]).sum(axis=2)


def _block_means(image: np.ndarray) -> np.ndarray:
    """(B, 3) float64: means of the whole ``_GRID`` x ``_GRID`` blocks of an (M, N, 3) image."""
    return _block_sums(image, np.int32).reshape(-1, 3) / float(_GRID * _GRID)


def fit_drift_blocks(original: np.ndarray, edited: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``edited ~ gain * original + offset`` on block means, trimmed.

    Blocks with a mean near 0 or 255 in either image are left out (clipping bends the line);
    each round keeps the ``_DRIFT_KEEP`` share of the blocks that fit best and refits.

    Returns
    -------
    gain, offset : (3,) ndarray of float64
        ``(1, 0)`` when fewer than 8 blocks are usable.
    """
    bo, be = _block_means(original), _block_means(edited)
    usable = ((bo > 3) & (bo < 252) & (be > 3) & (be < 252)).all(axis=1)
    gain, offset = np.ones(3), np.zeros(3)
    if usable.sum() < 8:
        return gain, offset
    keep = usable
    for _ in range(_DRIFT_ROUNDS):
        for c in range(3):
            x, y = bo[keep, c], be[keep, c]
            mx, my = x.mean(), y.mean()
            var = np.square(x - mx).mean()
            gain[c] = ((x - mx) * (y - my)).mean() / var if var >= 1.0 else 1.0
            offset[c] = my - gain[c] * mx
        resid = np.abs(bo * gain + offset - be).sum(axis=1)
        keep = usable & (resid <= np.quantile(resid[usable], _DRIFT_KEEP))
    return gain, offset


def _drifted(original: np.ndarray, gain, offset) -> np.ndarray:
    """``original`` with the drift applied and rounded, as the editing model's output would be."""
    codes = np.arange(256, dtype=np.float64)
    lut = np.clip(np.rint(codes * np.asarray(gain)[:, None] + np.asarray(offset)[:, None]), 0, 255)
    return np.asarray(Image.fromarray(original).point(lut.astype(np.uint8).ravel().tolist()))


def jpeg_round_trip(rgb: np.ndarray, *, quality: int | None = None, tables=None, subsampling: int = 2) -> np.ndarray:
    """``rgb`` (uint8) encoded as JPEG (IJG ``quality``, or the given ``tables``) and decoded."""
    buf = io.BytesIO()
    kw = {"qtables": tables} if tables is not None else {"quality": int(quality)}
    Image.fromarray(rgb).save(buf, format="JPEG", subsampling=subsampling, **kw)
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        return np.asarray(img.convert("RGB"))


def _capped(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-channel difference of two uint8 images, each capped at ``_CAP`` code values (int16)."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return np.minimum(d, _CAP, out=d)


def _cost(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of :func:`_capped`."""
    return float(_capped(a, b).mean())


def _block_costs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`_capped` summed over each whole ``_GRID`` x ``_GRID`` block, flattened."""
    return _block_sums(_capped(a, b), np.int32).sum(axis=2).ravel()


def _explained(before: np.ndarray, after: np.ndarray) -> float:
    """The gate's measure: ``1 - after / before`` summed over the ``_GATE_BLOCKS`` share of the busy
    blocks (``before`` at least ``_BUSY`` per value) with the smallest ``after / before``, and at
    least ``_GATE_MIN_BLOCKS`` of them; 0 with fewer busy blocks than that (nothing for a model
    to explain).

    Examples
    --------
    >>> before = np.full(40, 768 * 4)
    >>> after = np.r_[np.full(12, 768 * 0.4), np.full(28, 768 * 4)]  # 70 % of the blocks edited
    >>> round(_explained(before, after), 2)
    0.9
    >>> _explained(before[:7], after[:7])  # too few busy blocks
    0.0
    """
    busy = before >= _BUSY * 3 * _GRID * _GRID
    if busy.sum() < _GATE_MIN_BLOCKS:
        return 0.0
    b, a = before[busy].astype(np.float64), after[busy].astype(np.float64)
    best = np.argsort(a / b, kind="stable")[:max(_GATE_MIN_BLOCKS, int(round(_GATE_BLOCKS * b.size)))]
    return float(1.0 - a[best].sum() / b[best].sum())


def _strip(image: np.ndarray, corners) -> np.ndarray:
    """The crops at ``corners`` side by side: blocks stay on the grid, so each crop compresses as in
    the whole photo (but for the chroma's upsampling across crops' edges, left out by the costs)."""
    return np.concatenate([image[r:r + _CROP, c:c + _CROP] for r, c in corners], axis=1)


def _corners(shape) -> list[tuple[int, int]]:
    """Up to ``_CROPS`` crops spread over the photo, on the grid."""
    rows, cols = (shape[0] - _CROP) // _GRID, (shape[1] - _CROP) // _GRID
    if rows < 0 or cols < 0:
        return []
    n_r = max(1, min(rows + 1, 2))
    n_c = max(1, min(cols + 1, _CROPS // n_r))
    return [(int(round(i * rows / max(n_r - 1, 1))) * _GRID, int(round(j * cols / max(n_c - 1, 1))) * _GRID)
            for i in range(n_r) for j in range(n_c)]


def _interior(strip: np.ndarray) -> np.ndarray:
    """The crops of a strip without the ``_GRID // 2`` pixels along their sides."""
    m = _GRID // 2
    keep = np.zeros(strip.shape[1], bool)
    for start in range(0, strip.shape[1], _CROP):
        keep[start + m:start + _CROP - m] = True
    return strip[m:-m, keep]


def find_compression(drifted: np.ndarray, edited: np.ndarray) -> tuple[int, int] | None:
    """The IJG quality and subsampling whose round trip of ``drifted`` is closest to ``edited``,
    on a strip of crops; None if the photo is smaller than one crop."""
    corners = _corners(drifted.shape)
    if not corners:
        return None
    src, ref = _strip(drifted, corners), _interior(_strip(edited, corners))
    best = None
    for sub in _SUBSAMPLINGS:
        for q in _QUALITIES:
            c = _cost(_interior(jpeg_round_trip(src, quality=q, subsampling=sub)), ref)
            if best is None or c < best[0]:
                best = (c, q, sub)
        # 4:4:4 only if the usual 4:2:0 explains less than half of the strip.
        if best[0] <= 0.5 * _cost(_interior(src), ref):
            break
    return best[1], best[2]


def undo_compression(original: np.ndarray, edited: np.ndarray, *, tables=None,
                     subsampling: int | None = None) -> tuple[np.ndarray, Compression | None]:
    """The edit with the compression of its untouched part predicted and subtracted.

    Parameters
    ----------
    original, edited : (M, N, 3) ndarray of uint8
        The photo and the editing model's output, at the same size.
    tables : optional
        The edited file's quantisation tables (Pillow's ``Image.quantization``), if it was a JPEG;
        searched among the IJG tables otherwise.
    subsampling : int, optional
        The file's chroma subsampling (Pillow's 0, 1 or 2), with ``tables``.

    Returns
    -------
    cleaned : (M, N, 3) ndarray of uint8
        ``edited - round_trip(drifted) + drifted``, clipped; ``edited`` itself when the model
        does not explain the difference (see ``Compression.used``).
    compression : Compression or None
        What was found; None when the photo is too small to model (under 32 px a side, or
        without ``tables`` under 128 px).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> r, c = np.mgrid[:160, :192]
    >>> ramps = np.stack([r, c, r + c], axis=-1) * 0.6 + 20
    >>> photo = np.clip(ramps + rng.normal(0, 12, (160, 192, 3)), 0, 255).astype(np.uint8)
    >>> edit = jpeg_round_trip(photo, quality=80)
    >>> round(float(np.abs(edit.astype(int) - photo).mean()), 1)
    9.1
    >>> cleaned, found = undo_compression(photo, edit)
    >>> found.quality, found.used, bool((cleaned == photo).all())
    (80, True, True)
    """
    if min(original.shape[:2]) < 2 * _GRID:
        return edited, None
    gain, offset = fit_drift_blocks(original, edited)
    drifted = _drifted(original, gain, offset)
    quality = None
    if tables is None:
        found = find_compression(drifted, edited)
        if found is None:
            return edited, None
        quality, subsampling = found
        trip = jpeg_round_trip(drifted, quality=quality, subsampling=subsampling)
    else:
        subsampling = 2 if subsampling is None or subsampling < 0 else subsampling
        trip = jpeg_round_trip(drifted, tables=tables, subsampling=subsampling)
    explained = _explained(_block_costs(drifted, edited), _block_costs(trip, edited))
    used = explained >= 1.0 - _GATE
    info = Compression(quality=quality, subsampling=subsampling, explained=explained, used=used)
    if not used:
        return edited, info
    cleaned = edited.astype(np.int16)
    cleaned -= trip
    cleaned += drifted
    return np.clip(cleaned, 0, 255, out=cleaned).astype(np.uint8), info

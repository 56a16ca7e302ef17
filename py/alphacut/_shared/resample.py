"""Resampling: bilinear resizes of coefficient grids, block by block, and an antialiased shrink of photos.

Both align pixel centres and clamp at the edges, as Pillow's bilinear filter does.
"""
from functools import lru_cache

import numpy as np
from PIL import Image

__all__ = ["bilinear_block", "downsample", "reduce", "resize_block", "taps", "upsample_bands"]

#: Rows per block wherever a full-size array is worked through in blocks of whole rows
#: (resizes, decoding, the RGBA's alpha): a 12 MP block is under 5 MB of float32.
BAND_ROWS = 256


def bilinear_block(grid, shape, rows, cols):
    """A block of ``grid`` resized bilinearly to ``shape``, computing only that block.

    The resize aligns pixel centres and clamps at the edges, as Pillow's
    bilinear upsampling does.

    Parameters
    ----------
    grid : (m, n, K) ndarray of float32
        Fastest when C-contiguous.
    shape : tuple of int
        ``(M, N)`` of the resized image.
    rows, cols : slice
        The block, in pixels of the resized image (steps of 1).

    Returns
    -------
    (R, C, K) ndarray of float32
        ``R`` and ``C`` are the lengths of ``rows`` and ``cols``; C-contiguous.

    Examples
    --------
    >>> grid = np.array([[0.0, 1.0]], np.float32)[:, :, None]
    >>> bilinear_block(grid, (1, 4), slice(0, 1), slice(1, 4))[0, :, 0]
    array([0.25, 0.75, 1.  ], dtype=float32)
    """
    grid = np.asarray(grid, np.float32)
    m, n, k = grid.shape
    c0, c1, wc = (t[cols] for t in taps(n, shape[1]))
    channels = np.arange(k)
    out = resize_block(  # the channels stay interleaved: columns of the flat (m, n * K) grid
        grid.reshape(m, n * k), shape[0], rows,
        (c0[:, None] * k + channels).ravel(), (c1[:, None] * k + channels).ravel(), np.repeat(wc, k),
    )
    return out.reshape(out.shape[0], -1, k)


def upsample_bands(plane, shape, band=BAND_ROWS):
    """``plane`` resized bilinearly to ``shape``, as blocks of ``band`` whole rows.

    For filling a full-size array without holding the resized plane twice (Pillow's resize
    holds it in its own format, then as bytes, then as the array); the same resize as
    :func:`bilinear_block`, so it upsamples as Pillow does (within float32 rounding). It does
    not antialias: use it to enlarge, not to shrink.

    Parameters
    ----------
    plane : (m, n) ndarray
    shape : tuple of int
        ``(M, N)`` of the resized plane.
    band : int, optional

    Yields
    ------
    rows : slice
        The block's rows in the resized plane.
    block : (R, N) ndarray of float32

    Examples
    --------
    >>> plane = np.array([[0.0, 1.0]], np.float32)
    >>> [(r.start, b.tolist()) for r, b in upsample_bands(plane, (3, 4), band=2)]
    [(0, [[0.0, 0.25, 0.75, 1.0], [0.0, 0.25, 0.75, 1.0]]), (2, [[0.0, 0.25, 0.75, 1.0]])]
    """
    grid = np.asarray(plane, np.float32)[:, :, None]
    cols = slice(0, shape[1])
    for top in range(0, shape[0], band):
        rows = slice(top, min(top + band, shape[0]))
        yield rows, bilinear_block(grid, shape, rows, cols)[:, :, 0]


def resize_block(grid, out_rows, rows, col0, col1, wc):
    """Rows ``rows`` of ``grid`` resized to ``out_rows`` rows, at the columns mixing ``col0`` and ``col1``.

    ``grid`` is (m, ..., W) with its columns on the last axis; ``col0``,
    ``col1`` and ``wc`` give, for each output column, the two columns to mix
    and the weight of the second. Columns are mixed first, on the few coarse
    rows the block needs; the block's rows are then mixes of two whole rows.
    """
    r0, r1, wr = (t[rows] for t in taps(grid.shape[0], out_rows))
    if r0.size == 0:
        return np.zeros((0,) + grid.shape[1:-1] + (col0.size,), np.float32)
    top = r0[0]
    coarse = grid[top : r1[-1] + 1]
    # Indexing, not np.take: the same gather, about 3x faster in wasm (BENCHMARKS.md, "Speed:
    # the post-processing in wasm").
    mixed = coarse[..., col0]
    right = coarse[..., col1]
    right -= mixed
    right *= wc
    mixed += right
    out = mixed[r0 - top]
    down = mixed[r1 - top]
    down -= out
    down *= wr.reshape((-1,) + (1,) * (grid.ndim - 1))
    out += down
    return out


def downsample(image, shape, method=Image.Resampling.BILINEAR):
    """Shrink a photo to ``shape`` with one of Pillow's antialiased filters, rows first.

    The rows are resized through a 2-D view of the photo that Pillow reads in place, so the
    full-size photo is never copied into Pillow's 4-bytes-per-pixel format: at 12 MP to
    1024 x 768 with the box filter, 42 ms against 54 for one resize of the RGB image (session 36;
    most of the difference is that copy). Pillow resizes the columns first, so the two orders
    round differently: values differ by at most 1. The box filter's rows are summed in numpy
    where its taps repeat (:func:`_box_rows`, the same values as Pillow's): 28 ms of the 42
    become 13.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    shape : tuple of int
        ``(m, n)``, at most ``(M, N)``.
    method : PIL.Image.Resampling, optional
        Pillow's filter; bilinear by default.

    Returns
    -------
    (m, n, 3) ndarray of uint8

    Examples
    --------
    >>> img = np.zeros((40, 60, 3), np.uint8); img[:, 30:] = 200
    >>> downsample(img, (4, 6))[0, :, 0]
    array([  0,   0,  25, 175, 200, 200], dtype=uint8)
    >>> downsample(img, (4, 6), Image.Resampling.BOX)[0, :, 0]
    array([  0,   0,   0, 200, 200, 200], dtype=uint8)
    """
    rows, cols, ch = image.shape
    flat = np.ascontiguousarray(image).reshape(rows, cols * ch)
    if method == Image.Resampling.BOX and _box_period(rows, shape[0]) is not None:
        tall = _box_rows(flat, shape[0])
    else:
        tall = np.asarray(Image.fromarray(flat).resize((cols * ch, shape[0]), method))
    return np.asarray(Image.fromarray(tall.reshape(shape[0], cols, ch)).resize(shape[::-1], method))


#: Pillow's fixed point for 8-bit resampling (``PRECISION_BITS`` in its Resample.c).
_PILLOW_BITS = 22


def _box_rows(flat, n_out, band=64):
    """Pillow's box filter down the rows of a uint8 (M, W) array to ``n_out`` rows, the same to
    the bit, in numpy, where its taps repeat with a short period (:func:`_box_period`).

    Each output row is a sum of whole input rows (3 or 4 at 12 MP to 768). With ``p`` input rows
    to ``q`` output rows a period, output rows ``j, j + q, ...`` add input rows ``i, i + p, ...``:
    one strided sum for each input row of a period (125 at 12 MP), each over many rows, where
    Pillow's loop reads a few values of each input row per output value. At 12 MP, 13 ms against
    28, and two of them on two threads 16 (numpy leaves the GIL during each sum; a loop over the
    768 output rows took as long alone but 30 on two threads, waiting for the GIL; session 40).

    >>> flat = np.arange(60, dtype=np.uint8).reshape(10, 6)
    >>> bool((_box_rows(flat, 5) == np.asarray(Image.fromarray(flat).resize((6, 5), Image.Resampling.BOX))).all())
    True
    """
    first, count, weight = _box_taps(flat.shape[0], n_out)
    p, q = _box_period(flat.shape[0], n_out)
    sums = np.zeros((n_out, flat.shape[1]), np.uint16)  # at most 255 * count
    for j in range(q):
        out = sums[j::q]
        for k in range(count[j]):
            np.add(out, flat[first[j] + k::p][:len(out)], out=out)
    out = np.empty(sums.shape, np.uint8)
    for top in range(0, n_out, band):
        # Pillow's rounding: (sum * weight + half) >> bits, the weight 1 / count in fixed point.
        part = sums[top:top + band].astype(np.uint32)
        part *= weight[top:top + band, None]
        part += np.uint32(1 << (_PILLOW_BITS - 1))
        part >>= np.uint32(_PILLOW_BITS)
        out[top:top + band] = part
    return out


@lru_cache(maxsize=16)
def _box_period(n_in, n_out):
    """``(p, q)`` where Pillow's box taps from ``n_in`` samples to ``n_out`` repeat every ``q``
    outputs, ``p`` inputs further on (``n_in / n_out = p / q``), with ``q`` at most a quarter of
    ``n_out``; None where they do not (a ratio without a short period, or its rounding)."""
    g = np.gcd(n_in, n_out)
    p, q = n_in // g, n_out // g
    if 4 * q > n_out:
        return None
    first, count, _ = _box_taps(n_in, n_out)
    if not (np.array_equal(first[q:], first[:-q] + p) and np.array_equal(count[q:], count[:-q])):
        return None
    return int(p), int(q)


@lru_cache(maxsize=16)
def _box_taps(n_in, n_out):
    """Pillow's box-filter taps from ``n_in`` samples to ``n_out`` (its ``precompute_coeffs``
    with the box filter, in the same double arithmetic): per output, the first input, how many
    it averages (all at one weight) and that weight in fixed point. The runs need not tile the
    input: rounding can leave a sample between two runs out of both, as Pillow does."""
    scale = n_in / n_out
    support = 0.5 * scale
    centre = (np.arange(n_out) + 0.5) * scale
    lo = np.maximum((centre - support + 0.5).astype(np.int64), 0)
    hi = np.minimum((centre + support + 0.5).astype(np.int64), n_in)
    x = lo[:, None] + np.arange(int(np.ceil(support)) * 2 + 1)
    t = (x - centre[:, None] + 0.5) * (1.0 / scale)
    inside = (t > -0.5) & (t <= 0.5) & (x < hi[:, None])
    count = inside.sum(axis=1)
    if not (count > 0).all():  # never when shrinking: every window holds a sample's centre
        raise ValueError(f"no box taps from {n_in} to {n_out} samples")
    first = lo + inside.argmax(axis=1)
    weight = (0.5 + (1.0 / count) * (1 << _PILLOW_BITS)).astype(np.uint32)
    return first, count, weight


def reduce(image, k, band=BAND_ROWS):
    """Pillow's box reduction by ``k`` (``Image.reduce``), band by band.

    Pillow reads a band at a time, so it never holds a full-size copy of the image (4 bytes a
    pixel for RGB and for float); each band is a whole number of ``k``-row blocks, so the result
    is the same as one ``Image.reduce`` of the whole image.

    Parameters
    ----------
    image : (M, N) ndarray of float32 or uint8, or (M, N, 3) ndarray of uint8
    k : int
        At least 1; the last block of a row or column averages what is left.

    Returns
    -------
    (ceil(M / k), ceil(N / k)[, 3]) ndarray of the same dtype

    Examples
    --------
    >>> reduce(np.arange(10, dtype=np.float32).reshape(2, 5), 2).tolist()
    [[3.0, 5.0, 6.5]]
    """
    rows = image.shape[0]
    step = max(1, band // k) * k
    mode = "F" if image.dtype == np.float32 else None
    parts = [np.asarray(Image.fromarray(np.ascontiguousarray(image[top : top + step]), mode=mode).reduce(k))
             for top in range(0, rows, step)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


@lru_cache(maxsize=8)
def taps(n_in, n_out):
    """Nodes and weight of each output position for half-pixel-centred linear interpolation n_in -> n_out."""
    x = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    x = np.clip(x, 0, n_in - 1)
    i0 = np.floor(x).astype(np.intp)
    taps = i0, np.minimum(i0 + 1, n_in - 1), (x - i0).astype(np.float32)
    for t in taps:
        t.flags.writeable = False
    return taps

"""Resampling: bilinear resizes of coefficient grids, block by block, and an antialiased shrink of photos.

Both align pixel centres and clamp at the edges, as Pillow's bilinear filter does.
"""
from functools import lru_cache

import numpy as np
from PIL import Image

__all__ = ["bilinear_block", "downsample", "resize_block", "taps"]


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
    mixed = np.take(coarse, col0, axis=-1)
    right = np.take(coarse, col1, axis=-1)
    right -= mixed
    right *= wc
    mixed += right
    out = mixed[r0 - top]
    down = mixed[r1 - top]
    down -= out
    down *= wr.reshape((-1,) + (1,) * (grid.ndim - 1))
    out += down
    return out


def downsample(image, shape):
    """Shrink a photo to ``shape`` with Pillow's antialiased bilinear filter, rows first.

    The rows are resized through a 2-D view of the photo that Pillow reads in place, so the
    full-size photo is never copied into Pillow's 4-bytes-per-pixel format.

    Parameters
    ----------
    image : (M, N, 3) ndarray of uint8
    shape : tuple of int
        ``(m, n)``, at most ``(M, N)``.

    Returns
    -------
    (m, n, 3) ndarray of uint8

    Examples
    --------
    >>> img = np.zeros((40, 60, 3), np.uint8); img[:, 30:] = 200
    >>> downsample(img, (4, 6))[0, :, 0]
    array([  0,   0,  25, 175, 200, 200], dtype=uint8)
    """
    rows, cols, ch = image.shape
    flat = np.ascontiguousarray(image).reshape(rows, cols * ch)
    tall = np.asarray(Image.fromarray(flat).resize((cols * ch, shape[0]), Image.BILINEAR))
    return np.asarray(Image.fromarray(tall.reshape(shape[0], cols, ch)).resize(shape[::-1], Image.BILINEAR))


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

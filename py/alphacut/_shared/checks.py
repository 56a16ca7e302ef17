"""The input checkers: each internal format is checked, and converted, by one helper.

- An image is ``(M, N, 3) ndarray of uint8`` (:func:`as_rgb8`).
- A matte is ``(M, N) ndarray of float32 in [0, 1]`` (:func:`as_alpha`).

Public functions call these at their entry, so that every one says the same thing about the
same mistake.
"""
import numpy as np

__all__ = ["as_alpha", "as_rgb8", "check_radius"]


def as_rgb8(image, name: str = "image", *, shape=None, min_side: int = 1, drop_alpha: bool = False) -> np.ndarray:
    """Check that ``image`` is an ``(M, N, 3)`` uint8 photo; return it as an ndarray.

    Parameters
    ----------
    image : array_like
    name : str, optional
        What the caller calls it, for the message.
    shape : tuple of int, optional
        ``(M, N)`` it must have.
    min_side : int, optional
        Smallest ``M`` and ``N`` accepted.
    drop_alpha : bool, optional
        Accept ``(M, N, 4)`` too and return its first three channels, C-contiguous.

    Examples
    --------
    >>> as_rgb8(np.zeros((2, 3, 3), np.uint8)).shape
    (2, 3, 3)
    >>> as_rgb8(np.zeros((2, 3), np.uint8), "original")
    Traceback (most recent call last):
    ...
    ValueError: original must be (M, N, 3) uint8, got (2, 3) uint8
    """
    image = np.asarray(image)
    channels = (3, 4) if drop_alpha else (3,)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in channels:
        raise ValueError(f"{name} must be (M, N, 3) uint8, got {image.shape} {image.dtype}")
    if min(image.shape[:2]) < min_side:
        raise ValueError(f"{name} must be at least {min_side} x {min_side}, got {image.shape[:2]}")
    if shape is not None and image.shape[:2] != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {image.shape[:2]}")
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    return image


def as_alpha(alpha, name: str = "alpha", *, shape=None, copy: bool = True) -> np.ndarray:
    """Check a matte and convert it to the internal format, a new float32 array in [0, 1].

    uint8 counts 255 as 1 and bool True as 1; floats are clipped to [0, 1]. Integers of other
    kinds, NaN and infinities are refused.

    Parameters
    ----------
    alpha : (M, N) array_like of float, uint8 or bool
    name : str, optional
        What the caller calls it, for the message.
    shape : tuple of int, optional
        ``(M, N)`` it must have.
    copy : bool, optional
        False returns a float32 ``alpha`` already in [0, 1] itself, for callers that only read
        it (a 12 MP matte is 48 MB).

    Returns
    -------
    (M, N) ndarray of float32 in [0, 1]

    Examples
    --------
    >>> as_alpha(np.array([[0, 255]], np.uint8))
    array([[0., 1.]], dtype=float32)
    >>> as_alpha(np.array([[-0.5, 2.0]]))
    array([[0., 1.]], dtype=float32)
    >>> as_alpha(np.zeros((2, 2), np.int32))
    Traceback (most recent call last):
    ...
    ValueError: alpha must be float in [0, 1], uint8 or bool, got int32
    """
    alpha = np.asarray(alpha)
    if alpha.ndim != 2 or alpha.size == 0:
        raise ValueError(f"{name} must be a non-empty (M, N) array, got shape {alpha.shape}")
    if shape is not None and alpha.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {alpha.shape}")
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float32) * np.float32(1 / 255)
    if alpha.dtype == bool:
        return alpha.astype(np.float32)
    if not np.issubdtype(alpha.dtype, np.floating):
        raise ValueError(f"{name} must be float in [0, 1], uint8 or bool, got {alpha.dtype}")
    if not copy and alpha.dtype == np.float32 and alpha.min() >= 0 and alpha.max() <= 1:  # NaN fails both
        return alpha
    if not np.isfinite(alpha).all():
        raise ValueError(f"{name} must be finite")
    return np.clip(alpha.astype(np.float32, copy=False), 0.0, 1.0)


def check_radius(radius, name: str = "radius") -> int:
    """A window radius in pixels: an integer >= 1.

    >>> check_radius(3.0)
    3
    """
    if isinstance(radius, bool) or int(radius) != radius or radius < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {radius!r}")
    return int(radius)

"""Windows of sequences for 2D+T training, and stitching overlapping windows back.

:func:`extract_patches` cuts (T, H, W) windows with a stride (and can keep only those
whose holes cover enough of the window); :func:`stitch_patches` puts overlapping
windows back together, weighting each by a separable linear ramp that falls towards
its borders, so that there are no seams, and a constant input stitches to the same
constant.
"""

from __future__ import annotations

import numpy as np

__all__ = ["blend_weights", "extract_patches", "patch_positions", "stitch_patches"]


def _starts(size, window, step):
    if window > size:
        raise ValueError(f"Expected a window no larger than the array. Received window {window} "
                         f"for an axis of {size}.")
    starts = list(range(0, size - window + 1, step))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def patch_positions(shape, patch_shape, stride) -> list[tuple]:
    """Corners of the windows covering ``shape`` (the last window of each axis is flush)."""
    shape, patch_shape, stride = tuple(shape), tuple(patch_shape), tuple(stride)
    if not (len(shape) == len(patch_shape) == len(stride)):
        raise ValueError(f"Expected patch_shape and stride of rank {len(shape)}. Received "
                         f"patch_shape={patch_shape!r} and stride={stride!r}.")
    if min(stride) < 1:
        raise ValueError(f"Expected strictly positive strides. Received stride={stride!r}.")
    axes = [_starts(n, p, s) for n, p, s in zip(shape, patch_shape, stride, strict=True)]
    return [tuple(c) for c in np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(shape))]


def extract_patches(array, *, patch_shape, stride, holes=None, min_hole_fraction: float = 0.0):
    """Windows of ``array`` and their corners.

    Parameters
    ----------
    array : ndarray
        E.g. (T, H, W) frames.
    patch_shape, stride : tuple of int
        Window shape and step per axis, e.g. (16, 64, 64) and (10, 64, 64).
    holes : ndarray of bool, optional
        Same shape as ``array``; with ``min_hole_fraction``, keep only the windows
        whose holes cover more than that fraction.
    min_hole_fraction : float
        See ``holes``.

    Returns
    -------
    patches : ndarray
        (N, *patch_shape).
    positions : list of tuple
        The corner of each window.
    """
    array = np.asarray(array)
    positions = patch_positions(array.shape, patch_shape, stride)
    if holes is not None and min_hole_fraction > 0:
        holes = np.asarray(holes, bool)
        positions = [p for p in positions
                     if holes[tuple(slice(c, c + s) for c, s in zip(p, patch_shape, strict=True))].mean()
                     > min_hole_fraction]
    patches = np.stack([array[tuple(slice(c, c + s) for c, s in zip(p, patch_shape, strict=True))]
                        for p in positions]) if positions else np.zeros((0, *patch_shape), array.dtype)
    return patches, positions


def blend_weights(patch_shape, *, margin=None) -> np.ndarray:
    """Separable weights: 1 in the middle, a linear ramp over ``margin`` at each border."""
    weights = np.ones(patch_shape, np.float64)
    for axis, n in enumerate(patch_shape):
        m = max(1, n // 4) if margin is None else margin
        ramp = np.ones(n)
        if n > 2:
            edge = (np.arange(min(m, n // 2)) + 1) / (min(m, n // 2) + 1)
            ramp[: len(edge)] = edge
            ramp[n - len(edge):] = edge[::-1]
        shape = [1] * len(patch_shape)
        shape[axis] = n
        weights = weights * ramp.reshape(shape)
    return weights


def stitch_patches(patches, positions, shape) -> np.ndarray:
    """Blend overlapping windows back into an array of ``shape`` (float64).

    Every element must be covered by at least one window.
    """
    patches = np.asarray(patches, np.float64)
    if len(patches) != len(positions):
        raise ValueError(f"Expected one position per patch. Received {len(patches)} patches and "
                         f"{len(positions)} positions.")
    weights = blend_weights(patches.shape[1:])
    out = np.zeros(shape, np.float64)
    total = np.zeros(shape, np.float64)
    for patch, corner in zip(patches, positions, strict=True):
        sl = tuple(slice(c, c + s) for c, s in zip(corner, patches.shape[1:], strict=True))
        out[sl] += patch * weights
        total[sl] += weights
    if (total == 0).any():
        raise ValueError(f"Expected windows that cover the whole array of shape {tuple(shape)}: "
                         f"{int((total == 0).sum())} elements are in no window (a stride larger "
                         f"than the window leaves gaps). Received {len(positions)} windows of "
                         f"shape {patches.shape[1:]}.")
    return out / total

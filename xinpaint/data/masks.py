"""Random 2D hole masks in the tradition of the PConv Keras ports: lines, circles, ellipses.

Used by the generic 2D experiments; the study's own holes come from projected metal
(:mod:`xinpaint.data.metal`), which :func:`metal_masks_2d` samples frame by frame.
"""

from __future__ import annotations

import numpy as np

__all__ = ["metal_masks_2d", "random_masks_2d"]


def random_masks_2d(shape, *, n: int = 1, seed: int = 0, max_fraction: float = 0.25) -> np.ndarray:
    """Random boolean holes (n, H, W) made of thick lines, circles and ellipses.

    Parameters
    ----------
    shape : tuple of int
        (H, W), each at least 8.
    n : int
        Number of masks.
    seed : int
        Same seed, same masks.
    max_fraction : float
        Shapes are added while the holes cover less than this fraction of the frame.

    Returns
    -------
    ndarray of bool
        True where a pixel is hidden; every mask is non-empty and below ``max_fraction``
        plus one shape.

    Examples
    --------
    >>> holes = random_masks_2d((64, 64), n=2, seed=0)
    >>> holes.shape, holes.dtype, bool(holes[0].any())
    ((2, 64, 64), dtype('bool'), True)
    """
    import cv2

    h, w = (int(s) for s in shape)
    if min(h, w) < 8:
        raise ValueError(f"Expected masks of at least 8×8 pixels. Received shape={tuple(shape)!r}.")
    if not 0 < max_fraction < 1:
        raise ValueError(f"Expected 0 < max_fraction < 1. Received max_fraction={max_fraction!r}.")
    rng = np.random.default_rng(seed)
    size = max(h, w)
    out = np.zeros((n, h, w), bool)
    for i in range(n):
        canvas = np.zeros((h, w), np.uint8)
        while True:
            kind = rng.integers(3)
            if kind == 0:
                p1 = (int(rng.integers(w)), int(rng.integers(h)))
                p2 = (int(rng.integers(w)), int(rng.integers(h)))
                cv2.line(canvas, p1, p2, 1, int(rng.integers(1, max(2, size // 20))))
            elif kind == 1:
                cv2.circle(canvas, (int(rng.integers(w)), int(rng.integers(h))),
                           int(rng.integers(2, max(3, size // 10))), 1, -1)
            else:
                cv2.ellipse(canvas, (int(rng.integers(w)), int(rng.integers(h))),
                            (int(rng.integers(2, max(3, size // 8))), int(rng.integers(1, max(2, size // 16)))),
                            float(rng.uniform(0, 180)), 0, 360, 1, -1)
            if canvas.any() and canvas.mean() >= max_fraction * rng.uniform(0.2, 1.0):
                break
        out[i] = canvas > 0
    return out


def metal_masks_2d(sequences, *, n: int, seed: int = 0) -> np.ndarray:
    """``n`` holes (n, H, W) sampled from the frames of simulated sequences (projected metal)."""
    rng = np.random.default_rng(seed)
    stack = [(i, t) for i, s in enumerate(sequences) for t in range(len(s))]
    picks = rng.integers(len(stack), size=n)
    return np.stack([sequences[stack[k][0]].holes[stack[k][1]] for k in picks])

"""Sequences for the tests of xinpaint.evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROW_KEYS = {
    "method",
    "hole_psnr",
    "hole_ssim",
    "hole_mae",
    "hole_mse",
    "psnr",
    "ssim",
    "mae",
    "mse",
    "seconds_per_frame",
    "n_frames",
}


@dataclass
class Seq:
    frames: np.ndarray
    holes: np.ndarray


@dataclass
class SeqWithRibs:
    frames: np.ndarray
    holes: np.ndarray
    ribs: np.ndarray


@dataclass
class NoisySeq:
    """A sequence as the realistic physics gives it: a noisy ``observed``, a clean ``target``."""

    target: np.ndarray
    observed: np.ndarray
    holes: np.ndarray

    @property
    def frames(self) -> np.ndarray:
        return self.target


def make_sequence(T=4, H=64, W=64, seed=0):
    """Smooth frames with, in every frame, a needle (width 2), a thick one (9 px), a coin (r=10).

    Widths from :func:`xinpaint.evaluation.hole_components`: 2, 9 and 19 pixels.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W] / H
    frames, holes = [], []
    for t in range(T):
        frames.append(0.4 + 0.2 * np.sin(3 * x + 0.1 * t + rng.uniform()) * np.cos(2 * y))
        yy, xx = np.mgrid[0:H, 0:W]
        h = np.abs(xx - 0.3 * yy - 6 - t) <= 1  # oblique, 3 px across a row: width 2
        h |= (np.abs(xx - 40 - t) <= 4) & (yy < 20)  # thick: 9 px wide
        h |= (yy - 45) ** 2 + (xx - 44 + t) ** 2 <= 100  # coin: radius 10, width 19
        holes.append(h)
    return Seq(np.array(frames, dtype=np.float32), np.array(holes))

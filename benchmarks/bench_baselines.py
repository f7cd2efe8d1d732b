"""Milliseconds per frame of each classical baseline at 256², and its PSNR in the holes.

The frames are a synthetic smooth, projection-like sequence (8 frames of 256²) with
two needles (3 and 9 pixels wide) and a coin (radius 16) that move from frame to
frame: about 3 % of each frame hidden, like the project's test data. Every method runs
on the same frames, side by side in one process; the time is the best of 3 runs,
divided by the number of frames. No targets: these are the baselines' costs.
"""

from __future__ import annotations

import time

import numpy as np

SHAPE = (8, 256, 256)
REPEATS = 3


def synthetic_sequence(shape=SHAPE):
    """Smooth frames and needle + coin holes (True where hidden) that move with t."""
    t_n, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    y, x = yy / h, xx / w
    frames, holes = [], []
    for t in range(t_n):
        frames.append(
            0.45
            + 0.15 * np.sin(4 * x + 0.05 * t) * np.cos(3 * y)
            + 0.2 * np.exp(-((x - 0.5) ** 2 + (y - 0.45 - 0.01 * t) ** 2) / 0.05)
            + 0.02 * np.cos(25 * x) * np.sin(20 * y)
        )
        hole = np.abs(xx - 0.5 * yy - 40 - 2 * t) <= 1  # thin needle, 3 px
        hole |= (np.abs(yy - 0.3 * xx - 150 + t) <= 4) & (xx > 60) & (xx < 220)  # thick, 9 px
        hole |= (yy - 90) ** 2 + (xx - 170 - 2 * t) ** 2 <= 16**2  # coin
        holes.append(hole)
    return np.array(frames, dtype=np.float32), np.array(holes)


def run() -> list[dict]:
    from xinpaint.baselines import METHODS, inpaint

    frames, holes = synthetic_sequence()
    inputs = np.where(holes, np.float32(0), frames)
    fraction = float(holes.mean())
    rows = []
    for method in METHODS:
        best = np.inf
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            out = inpaint(inputs, holes, method=method)
            best = min(best, time.perf_counter() - t0)
        mse = float(np.mean((out[holes].astype(np.float64) - frames[holes]) ** 2))
        rows.append(
            {
                "name": f"baselines/{method}",
                "value": round(1000 * best / len(frames), 2),
                "unit": "ms/frame",
                "target": None,
                "detail": (
                    f"{SHAPE[1]}x{SHAPE[2]}, {len(frames)} frames, {100 * fraction:.1f}% hidden "
                    f"(needles 3 and 9 px, coin r=16); best of {REPEATS}; "
                    f"PSNR in holes {10 * np.log10(1 / mse):.1f} dB on this synthetic sequence"
                ),
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']:<28} {row['value']:>8} {row['unit']}  {row['detail']}")

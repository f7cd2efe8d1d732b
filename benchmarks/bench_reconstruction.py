"""Seconds of one FDK reconstruction at 256³, and what one NMAR costs in FDKs.

The scan is a 200° short scan of 200 frames of 256² (the default C-arm: 160 mm field
of view at the isocentre) of an analytic phantom: a water body, three bone-like
ellipsoids and two titanium rods whose projections saturate the detector
(``XraySequence.observed``'s convention). ``fdk_seconds_256`` reconstructs it into
256³ voxels of 0.625 mm with :func:`xinpaint.reconstruction.fdk` (RTK on the CPU
threads ITK uses); ``nmar_cost_ratio`` is the time of one
:func:`xinpaint.baselines.mar.mar` (NMAR, its defaults: prior on a 128³ grid) over the
time of that FDK, measured side by side in this run. The first call of each is a
warm-up (ITK loads its wrappers lazily); the times are the best of ``REPEATS``.
"""

from __future__ import annotations

import os
import time

import numpy as np

REPEATS = 2
FRAMES, SIZE = 200, 256


def _scan():
    from xinpaint.data import CArmGeometry
    from xinpaint.data.sequence import METAL_CONTRAST
    from xinpaint.reconstruction import Ellipsoid, project_ellipsoids

    geometry = CArmGeometry(detector_shape=(SIZE, SIZE), n_frames=FRAMES, arc_degrees=200.0,
                            start_degrees=-100.0)
    body = [Ellipsoid.of_hu((0, 0, 0), (70, 55, 90), 0.0), Ellipsoid((25, -5, 0), (10, 14, 60), 0.02),
            Ellipsoid((-28, 8, 0), (9, 9, 60), 0.016), Ellipsoid((0, 30, 0), (18, 6, 60), 0.012)]
    rods = [Ellipsoid((12, 12, 0), (3, 3, 40), 0.15), Ellipsoid((-14, -10, 0), (3, 3, 40), 0.15)]
    clean = project_ellipsoids(body, geometry)
    metal = project_ellipsoids(rods, geometry)
    holes = metal > 0
    observed = np.clip(clean + metal + METAL_CONTRAST * holes, 0.0, 1.0).astype(np.float32)
    return geometry, observed, holes


def _best(fn):
    """Best wall time of ``REPEATS`` calls, and the process CPU time (all threads) of that call."""
    best, cpu = np.inf, np.inf
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, cpu


def run() -> list[dict]:
    import itk

    from xinpaint.baselines.mar import mar
    from xinpaint.reconstruction import fdk

    geometry, observed, holes = _scan()
    fdk(observed[:, :64, :64] * 0, _small(geometry), voxels=8, spacing_mm=20.0)  # warm-up
    load = os.getloadavg()[0]
    t_fdk, cpu_fdk = _best(lambda: fdk(observed, geometry, voxels=SIZE))
    mar(observed[:, :64, :64], holes[:, :64, :64], geometry=_small(geometry), method="nmar")
    t_nmar, _ = _best(lambda: mar(observed, holes, geometry=geometry, method="nmar"))
    threads = itk.MultiThreaderBase.GetGlobalDefaultNumberOfThreads()
    busy = f"load average {load:.1f} on {os.cpu_count()} cores at the start"
    scan = f"{FRAMES} frames of {SIZE}², 200° short scan, {100 * holes.mean():.1f}% of pixels in the metal trace"
    return [
        {
            "name": "fdk_seconds_256",
            "value": round(t_fdk, 2),
            "unit": "s",
            "target": 60,
            "detail": f"{scan}; into {SIZE}³ voxels of 0.625 mm; Parker weights, Hann ramp; "
                      f"RTK on {threads} ITK threads ({cpu_fdk:.1f} s of CPU); best of {REPEATS}; "
                      f"{busy}",
        },
        {
            "name": "nmar_cost_ratio",
            "value": round(t_nmar / t_fdk, 2),
            "unit": "x FDK",
            "target": 3,
            "detail": f"one NMAR ({t_nmar:.1f} s: LI fill, two FDKs and one Joseph projection on "
                      f"the 128³ prior grid, normalised fill) over one {SIZE}³ FDK ({t_fdk:.1f} s) "
                      f"of the same scan, side by side; best of {REPEATS}; {busy}",
        },
    ]


def _small(geometry):
    from xinpaint.data import CArmGeometry

    return CArmGeometry(detector_shape=(64, 64), n_frames=geometry.n_frames,
                        arc_degrees=geometry.arc_degrees, start_degrees=geometry.start_degrees)


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']:<20} {row['value']:>8} {row['unit']}  (target {row['target']})  {row['detail']}")

"""Speed of the data: simulated frames per second, and whether training waits on data.

``simulate_fps_256`` and ``simulate_fps_512``: frames per second of
:func:`xinpaint.data.simulate_sequence` with the ideal physics (RTK Joseph projection of
the attenuation and of the rib labels, analytic metal traces) for 32 frames of 256² and
16 frames of 512², after one warm-up call (the CT's downsampling and RTK's import are
done once per process). ``simulate_fps_256_realistic``: the same scans (same seeds,
metal and geometry) with the realistic physics (one projection per material, Poisson
noise per energy bin, partial volume, log and water correction); ``physics_cost_ratio``
is realistic over ideal frames per second, measured side by side (target ≥ 0.3: the
physics costs at most about one projection per material).

``pipeline_supply_ratio``: samples per second delivered by the 2D training
pipeline (:func:`xinpaint.data.crops_2d`) divided by samples per second consumed by a
``pconv_unet2d`` training step, both at the ``cpu`` profile's crop, batch and model
size, measured side by side in one process. Target ≥ 2: training never waits on data.
"""

from __future__ import annotations

import time

import numpy as np


def _simulate_fps(ct, shape, n_frames, repeats=2, physics="ideal"):
    from xinpaint.data import simulate_sequence

    options = dict(detector_shape=shape, physics=physics, isocentre="metal", metal="fusion")
    simulate_sequence(ct, n_frames=2, arc_degrees=4.0, seed=0, **options)  # warm-up
    best = np.inf
    for k in range(repeats):
        t0 = time.perf_counter()
        simulate_sequence(ct, n_frames=n_frames, arc_degrees=2.0 * n_frames, seed=1 + k, **options)
        best = min(best, time.perf_counter() - t0)
    return n_frames / best, best


def _supply_ratio():
    from xinpaint.chapter import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from xinpaint.data import crops_2d, load_split
    from xinpaint.models import pconv_unet2d
    from xinpaint.profiles import get_profile

    prof = get_profile("cpu")
    sequences = load_split("train", profile="smoke")  # realistic scans; the crop size is what matters
    crop = min(prof.crop_size, *sequences[0].frames.shape[1:])
    dataset = crops_2d(sequences, crop_size=crop, batch_size=prof.batch_size, seed=0)
    it = iter(dataset)
    batches = [next(it) for _ in range(3)]  # warm-up
    n = 30
    t0 = time.perf_counter()
    for _ in range(n):
        next(it)
    supply = n * prof.batch_size / (time.perf_counter() - t0)

    model = pconv_unet2d((crop, crop, 1), depth=prof.depth, base_filters=prof.base_filters)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mae")
    (image, valid), target = batches[0]
    for _ in range(2):  # warm-up (tracing)
        model.train_on_batch([image, valid], target)
    steps = 5
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch([image, valid], target)
    consume = steps * prof.batch_size / (time.perf_counter() - t0)
    return supply / consume, supply, consume, crop, prof


def run() -> list[dict]:
    from xinpaint.data import fetch_example_ct

    ct = fetch_example_ct()
    rows = []
    fps = {}
    for shape, n_frames, physics in (((256, 256), 32, "ideal"), ((256, 256), 32, "realistic"),
                                     ((512, 512), 16, "ideal")):
        fps[shape[0], physics], seconds = _simulate_fps(ct, shape, n_frames, physics=physics)
        suffix = "" if physics == "ideal" else "_realistic"
        rows.append({
            "name": f"simulate_fps_{shape[0]}{suffix}",
            "value": round(fps[shape[0], physics], 2),
            "unit": "frames/s",
            "target": None,
            "detail": f"simulate_sequence({physics}), a spinal fusion, {n_frames} frames of "
                      f"{shape[0]}x{shape[1]}: {seconds:.2f} s (best of 2, after a warm-up)",
        })
    rows.append({
        "name": "physics_cost_ratio",
        "value": round(fps[256, "realistic"] / fps[256, "ideal"], 3),
        "unit": "ratio",
        "target": 0.3,
        "detail": "realistic over ideal frames per second at 256² (same scans, measured in one run)",
    })
    ratio, supply, consume, crop, prof = _supply_ratio()
    rows.append({
        "name": "pipeline_supply_ratio",
        "value": round(ratio, 2),
        "unit": "ratio",
        "target": 2.0,
        "detail": f"crops_2d {supply:.1f} samples/s vs pconv_unet2d training step {consume:.1f} "
                  f"samples/s ({crop}x{crop} crops, batch {prof.batch_size}, depth {prof.depth}, "
                  f"{prof.base_filters} filters)",
    })
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

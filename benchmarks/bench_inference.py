"""Inpainting your own sequences: frames per second and peak memory of ``xinpaint.inpaint``.

Rows
----
inpaint_fps_256, inpaint_fps_512
    Frames per second of ``xinpaint.inpaint`` on a 64-frame sequence with the shipped
    2D models (``detail`` gives each; the row's value is the fastest shipped model),
    and the same with the shipped 2D+T models in ``inpaint_2dt_fps_256``/``_512``,
    beside ``biharmonic_fps_256``/``_512``: scikit-image's biharmonic inpainting through
    the same function, on the same frames, in the same run. Clinical C-arms acquire at
    7.5–30 frames/s: the ``target`` is 7.5.
inpaint_peak_mib_512, inpaint_2dt_peak_mib_512
    Peak resident memory (``ru_maxrss``, TensorFlow itself included) of a fresh process
    that inpaints a 64×512×512 sequence with the shipped 2D (2D+T) hybrid model, tiled
    at 256²; target under 4096 MiB.

The frames are the synthetic projection-like sequence of ``bench_baselines`` (needles
and a coin that move), scaled to the size. Each time is the best of two runs after one
untimed warm-up (model loading and graph tracing are not counted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_baselines import synthetic_sequence

FRAMES = 64
REAL_TIME_FPS = 7.5


def _fps(frames, holes, model) -> float:
    from xinpaint.inference import inpaint

    inpaint(frames[:2], holes[:2], model=model)  # warm-up: loading, tracing
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        inpaint(frames, holes, model=model)
        best = min(best, time.perf_counter() - start)
    return len(frames) / best


_MEMORY_SCRIPT = """
import resource, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from bench_baselines import synthetic_sequence
from xinpaint.inference import inpaint
frames, holes = synthetic_sequence((int(sys.argv[2]), 512, 512))
inpaint(frames, holes, model=sys.argv[3], tile=256)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run() -> list[dict]:
    from xinpaint.inference import shipped_models

    cards = shipped_models()
    kinds = {"": [n for n, c in cards.items() if "2D+T" not in c.get("kind", "")],
             "_2dt": [n for n, c in cards.items() if "2D+T" in c.get("kind", "")]}
    if not kinds[""]:
        raise RuntimeError("no trained 2D model is shipped: run `make reproduce PROFILE=cpu` "
                           "and `make ship` first")
    rows = []
    for size in (256, 512):
        frames, holes = synthetic_sequence((FRAMES, size, size))
        biharmonic = _fps(frames, holes, "biharmonic")
        for suffix, names in kinds.items():
            if not names:  # no 2D+T model shipped
                continue
            models = {name: _fps(frames, holes, name) for name in names}
            fastest = max(models, key=models.get)
            detail = ", ".join(f"{n} {v:.2f} frames/s ({v / REAL_TIME_FPS:.2f} × the 7.5 frames/s "
                               f"of a slow clinical C-arm)" for n, v in models.items())
            rows.append({"name": f"inpaint{suffix}_fps_{size}", "value": round(models[fastest], 2),
                         "unit": "frames/s", "target": REAL_TIME_FPS,
                         "detail": f"{FRAMES}×{size}² sequence on this machine's CPU, tiles of "
                                   f"256²: {detail}; biharmonic {biharmonic:.2f} frames/s in "
                                   f"the same run"})
        rows.append({"name": f"biharmonic_fps_{size}", "value": round(biharmonic, 2),
                     "unit": "frames/s", "target": None,
                     "detail": f"scikit-image biharmonic through xinpaint.inpaint, {FRAMES}×{size}²"})
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for suffix, names in kinds.items():
        if not names:  # no 2D+T model shipped
            continue
        model = next((n for n in names if n.startswith("hybrid")), names[0])
        out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(Path(__file__).parent),
                              str(FRAMES), model], capture_output=True, text=True, env=env,
                             check=True)
        peak = float(out.stdout.strip().splitlines()[-1])
        rows.append({"name": f"inpaint{suffix}_peak_mib_512", "value": round(peak, 1),
                     "unit": "MiB", "target": 4096,
                     "detail": f"peak RSS of a fresh process (TensorFlow included) inpainting "
                               f"{FRAMES}×512² with {model}, tiles of 256²"})
    return rows


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))

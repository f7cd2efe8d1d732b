"""Training on a CPU: what XLA does to a training step of each kind of model.

Rows
----
xla_train_<variant>
    Training steps per second of ``<variant>`` compiled with XLA (``jit_compile=True``)
    divided by the same without it, at the ``cpu`` profile's sizes (a batch of
    ``batch_size`` crops of ``crop_size``² for the 2D models, ``patch_batch_size``
    patches of ``patch_shape`` for the 2D+T ones) with the study's loss of the variant.
    Both models are built from one seed and timed in interleaved rounds (the fastest of
    four rounds of four steps each, after two untimed steps that trace and compile), so
    the ratio does not depend on how busy the machine is. The ``cpu`` profile's
    ``xla_2d`` follows these rows: XLA for the 2D models (target above 1), none for the
    2D+T models (``detail`` gives both rates).
"""

from __future__ import annotations

import time

VARIANTS = ("pconv-mask", "hybrid", "pconv3d", "hybrid3d")


def _rates(variant, prof, rounds=4, steps=4):
    import keras

    from xinpaint.costs import synthetic_batch
    from xinpaint.experiments import _loss, build_variant

    models = {}
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = build_variant(variant, prof)
        model.compile(keras.optimizers.Adam(1e-4), _loss(variant), jit_compile=jit)
        models[jit] = model
    inputs, packed = synthetic_batch(variant, models[False], prof)
    for model in models.values():  # tracing and XLA compilation are not timed
        model.train_on_batch(inputs, packed)
        model.train_on_batch(inputs, packed)
    best = {False: 0.0, True: 0.0}
    for _ in range(rounds):
        for jit, model in models.items():
            start = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(inputs, packed)
            best[jit] = max(best[jit], steps / (time.perf_counter() - start))
    return best


def run() -> list[dict]:
    from xinpaint.experiments import VARIANTS_3D
    from xinpaint.profiles import get_profile

    prof = get_profile("cpu")
    rows = []
    for variant in VARIANTS:
        rate = _rates(variant, prof)
        three_d = variant in VARIANTS_3D
        size = (f"{prof.patch_batch_size} patches {prof.patch_shape}" if three_d
                else f"{prof.batch_size} crops {prof.crop_size}²")
        rows.append({
            "name": f"xla_train_{variant}",
            "value": round(rate[True] / rate[False], 2),
            "unit": "x (XLA / none)",
            "target": None if three_d else "> 1",
            "detail": (f"{variant}, {size}: {rate[True]:.2f} steps/s with XLA, {rate[False]:.2f} without; "
                       f"cpu profile: {'no XLA (2D+T)' if three_d else f'xla_2d={prof.xla_2d}'}"),
        })
    return rows

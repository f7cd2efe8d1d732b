"""What a training step of a model variant costs: peak memory and time, in a fresh process.

:func:`training_step_cost` measures one variant's training step on inputs of a given
size (a patch, or a whole sequence) in its own Python process, so that the peak of
TensorFlow's allocator belongs to that step alone: the memory argument for training the
2D+T models on patches (see the ``temporal`` chapter) and the benchmarks.
"""

from __future__ import annotations

from xinpaint.experiments import VARIANTS_3D
from xinpaint.profiles import get_profile

__all__ = ["training_step_cost"]

_STEP_COST_SCRIPT = """
import json, os, resource, sys, time
import numpy as np, keras, tensorflow as tf
from xinpaint.experiments import _loss, build_variant
from xinpaint.profiles import get_profile
spec = json.loads(sys.argv[1])
prof = get_profile(spec["profile"])
model = build_variant(spec["variant"], prof.replace(patch_shape=tuple(spec["window"])))
model.compile(keras.optimizers.Adam(1e-4), _loss(spec["variant"]), jit_compile=False)
rng = np.random.default_rng(0)
shape = (spec["batch_size"], *spec["window"])
target = rng.random(shape + (1,)).astype("float32")
valid = np.ones_like(target)
valid[..., shape[-2] // 3: shape[-2] // 2, :] = 0
image = np.concatenate([target] * model.inputs[0].shape[-1], axis=-1) * valid
packed = np.concatenate([target, valid], axis=-1)
if spec["variant"] in ("unet-mae", "unet-mse"):
    packed = target
times = []
for _ in range(spec["steps"]):
    start = time.perf_counter()
    model.train_on_batch([image, valid], packed)
    times.append(time.perf_counter() - start)
device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
print(json.dumps({"peak_mib": tf.config.experimental.get_memory_info(device)["peak"] / 2**20,
                  "device": device,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": min(times[1:])}))
"""


def training_step_cost(variant: str, profile, window, *, batch_size: int = 1, steps: int = 3) -> dict:
    """Peak memory and time of a training step of a 2D+T ``variant`` on ``window``-sized inputs.

    The step runs in a fresh Python process with TensorFlow's BFC allocator on the CPU
    (``TF_CPU_ALLOCATOR_USE_BFC``), so that ``peak_mib`` is the peak of tensor memory in
    use (weights, activations, gradients, optimiser state) over ``steps`` training steps
    of ``batch_size`` windows, on the GPU where one is visible (``device`` says which); ``rss_mib`` is the process's peak resident memory, with
    TensorFlow itself; ``seconds`` the fastest step after the first (which traces).

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS_3D`.
    profile : str or Profile
        Sizes of the network (``depth``, ``base_filters``).
    window : tuple of int
        (T, H, W) of one training input: a patch, or a whole sequence.
    """
    import json
    import os
    import subprocess
    import sys

    if variant not in VARIANTS_3D:
        raise ValueError(f"Expected a 2D+T variant ({', '.join(VARIANTS_3D)}). "
                         f"Received variant={variant!r}.")
    window = tuple(int(w) for w in window)
    if len(window) != 3 or min(window) < 1:
        raise ValueError(f"Expected window=(T, H, W). Received window={window!r}.")
    spec = {"variant": variant, "profile": get_profile(profile).name, "window": list(window),
            "batch_size": int(batch_size), "steps": max(2, int(steps))}
    env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": "true", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", _STEP_COST_SCRIPT, json.dumps(spec)],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"the training step of {variant} on {window} failed: "
                           f"{out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])

"""Partial convolutions: speed against today's Keras formulation, memory of patch training.

Rows
----
pconv_train_speedup, pconv_infer_speedup
    Steps per second of ``pconv_unet2d`` at 128² and 256² divided by those of the same
    architecture built with the formulation that the Keras PConv ports in use today
    have (the mask updated by a full ``ones(k, k, in, filters)`` convolution on a mask
    with all input channels, explicit padding, the ratio computed per output channel):
    :class:`LegacyPConv2D` below. Both run side by side in one process, with and
    without XLA; the value is the geometric mean over the two sizes of
    ``best(ours) / best(legacy)``, and ``detail`` lists each configuration.
patch_memory_ratio
    Peak memory of training ``pconv_unet3d`` on whole 16×256×256 sequences divided by
    that on 16×64×64 patches, at equal batch (1). Each size runs in its own process
    (build, compile, three training steps; peak resident set size, ``ru_maxrss``). The
    fixed cost of TensorFlow, the model and the traced graph is measured the same way
    on tiny 16×16×16 inputs and subtracted from both, so the ratio compares the memory
    that grows with the input: activations and their gradients.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import keras
import numpy as np
from keras import ops

from xinpaint.layers import BasePConv
from xinpaint.models import _build


class LegacyPConv2D(BasePConv):
    """PConv as the common Keras ports write it (for comparison only)."""

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("rank", None)
        kwargs.pop("multi_channel", None)
        super().__init__(2, filters, kernel_size, multi_channel=True, **kwargs)

    def call(self, inputs):
        x, valid = inputs
        x = ops.cast(x, self.compute_dtype)
        cin = x.shape[-1]
        if valid.shape[-1] == 1:
            valid = ops.repeat(valid, cin, axis=-1)
        k = self.kernel_size[0]
        pad = [[0, 0], [k // 2, k // 2], [k // 2, k // 2], [0, 0]]
        xp, vp = ops.pad(x, pad), ops.pad(valid, pad)
        ones = ops.ones((k, k, cin, self.filters), dtype=self.compute_dtype)
        mask = ops.conv(vp, ones, strides=self.strides, padding="valid")
        raw = ops.conv(xp * vp, self.kernel, strides=self.strides, padding="valid")
        ratio = (k * k * cin) / (mask + 1e-8)
        mask = ops.clip(mask, 0.0, 1.0)
        y = raw * (ratio * mask) + self.bias
        y = y * mask
        return [y, mask[..., :1]]


def _model(size, legacy):
    return _build((size, size, 1), rank=2, partial=True, depth=4, base_filters=32,
                  kernel_size=3, first_kernel_size=5, max_filters=256,
                  name="legacy" if legacy else "pconv", _pconv=LegacyPConv2D if legacy else None)


def _rate(model, batch, *, train, jit, seconds=4.0):
    rng = np.random.default_rng(0)
    size = model.inputs[0].shape[1]
    x = rng.random((batch, size, size, 1)).astype("float32")
    v = (rng.random((batch, size, size, 1)) > 0.1).astype("float32")
    model.compile(keras.optimizers.Adam(1e-4), "mae", jit_compile=jit)
    if train:
        step = lambda: model.train_on_batch([x * v, v], x)  # noqa: E731
    else:
        step = lambda: model.predict_on_batch([x * v, v])  # noqa: E731
    step()
    step()
    best = math.inf
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3 or n < 2:
            step()
            n += 1
        best = min(best, (time.perf_counter() - start) / n)
    return 1.0 / best


def _speed_rows():
    rows = []
    for train in (True, False):
        ratios, detail = [], []
        for size, batch in ((128, 8), (256, 4)):
            rates = {}
            for legacy in (False, True):
                for jit in (False, True):
                    keras.utils.set_random_seed(0)
                    rates[(legacy, jit)] = _rate(_model(size, legacy), batch, train=train, jit=jit)
            ours = max(rates[(False, False)], rates[(False, True)])
            theirs = max(rates[(True, False)], rates[(True, True)])
            ratios.append(ours / theirs)
            detail.append(
                f"{size}² batch {batch}: ours {rates[(False, False)]:.2f}/s "
                f"(XLA {rates[(False, True)]:.2f}/s), legacy {rates[(True, False)]:.2f}/s "
                f"(XLA {rates[(True, True)]:.2f}/s)"
            )
        kind = "train" if train else "infer"
        rows.append({
            "name": f"pconv_{kind}_speedup",
            "value": round(float(np.exp(np.mean(np.log(ratios)))), 2),
            "unit": "x",
            "target": 1.5 if train else 2.0,
            "detail": "; ".join(detail) + ". Single-channel mask path: one (k,k,1,1) "
                      "convolution of the mask per layer instead of (k,k,in,filters).",
        })
    return rows


_MEMORY_SCRIPT = """
import os, resource, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from xinpaint.models import pconv_unet3d
t, s = int(sys.argv[1]), int(sys.argv[2])
model = pconv_unet3d((t, s, s, 1), depth=3, base_filters=16)
model.compile(keras.optimizers.Adam(1e-4), "mae", jit_compile=False)
x = np.random.default_rng(0).random((1, t, s, s, 1)).astype("float32")
v = np.ones_like(x); v[:, :, s // 3: s // 2] = 0
for _ in range(3):
    model.train_on_batch([x * v, v], x)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _memory_row():
    peak = {}
    for size in (16, 64, 256):
        out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, "16", str(size)],
                             capture_output=True, text=True, check=True)
        peak[size] = float(out.stdout.strip().splitlines()[-1])
    used = {size: peak[size] - peak[16] for size in (64, 256)}
    return {
        "name": "patch_memory_ratio",
        "value": round(used[256] / max(used[64], 1.0), 2),
        "unit": "x",
        "target": 4.0,
        "detail": f"pconv_unet3d depth 3, 16 filters, batch 1, peak RSS: {peak[256]:.0f} MiB on "
                  f"16×256×256, {peak[64]:.0f} MiB on 16×64×64, {peak[16]:.0f} MiB on "
                  f"16×16×16 (fixed cost, subtracted): {used[256]:.0f} vs {used[64]:.0f} MiB",
    }


def run() -> list[dict]:
    return [*_speed_rows(), _memory_row()]


if "--memory" in sys.argv:  # python benchmarks/bench_layers.py --memory
    run = lambda: [_memory_row()]  # noqa: E731


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))

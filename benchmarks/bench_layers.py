"""Partial convolutions: speed against today's Keras formulation, memory of patch training.

Rows
----
pconv_train_speedup, pconv_infer_speedup
    Steps per second of ``pconv_unet2d`` (depth 4, 32 filters, 5×5 then 3×3 kernels) at
    128² (batch 8) and 256² (batch 4), divided by those of the same architecture built
    with the formulation of the Keras PConv ports in use today (PConv-Keras and its
    descendants): :class:`LegacyPConv2D` below, which pads explicitly, updates the mask
    with a full ``ones(k, k, in, filters)`` convolution, computes the ratio per output
    channel, and so passes masks with as many channels as features through the whole
    network (the decoder concatenates them). Every configuration (ours and legacy,
    without XLA at both sizes and with XLA at 256²) is its own compiled model; they are
    timed in interleaved rounds in one process and each keeps its fastest step. The value
    is the geometric mean over the two sizes of ``best(ours) / best(legacy)``, each side
    taking its faster of XLA and no XLA; ``detail`` lists every rate.

    What to expect: inference runs one full convolution per layer instead of two, so
    about 2x; training adds the two backward convolutions (input and kernel
    gradients), identical on both sides, so the bound from convolution work alone is
    about (2 + 2b) / (1 + 2b) with b the cost of a backward convolution relative to a
    forward one: 4/3 for b = 1, less on a CPU where backward convolutions are slower.
patch_memory_ratio
    Peak memory of training ``pconv_unet3d`` (the cpu profile's sizes, batch 1) on whole
    16×256×256 sequences divided by that on 16×64×64 patches. Each size runs in its own
    process with TensorFlow's BFC allocator on the CPU (``TF_CPU_ALLOCATOR_USE_BFC``),
    whose ``tf.config.experimental.get_memory_info("CPU:0")["peak"]`` is the peak of
    tensor bytes in use over two training steps (weights, activations, gradients,
    optimizer state); the peak resident set size (``ru_maxrss``, which also holds
    TensorFlow's own code and caches) is given in ``detail``.
"""

from __future__ import annotations

import json
import math
import sys
import time

import keras
import numpy as np
from keras import ops

from xinpaint.layers import BasePConv
from xinpaint.models import _build


class LegacyPConv2D(BasePConv):
    """PConv as the common Keras ports write it (for comparison only, not exported).

    Explicit padding, the mask repeated to every input channel, a mask convolution
    with ``ones(k, k, in, filters)``, a ratio per output channel, and a mask of
    ``filters`` channels handed to the next layer.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("rank", None)
        kwargs.pop("multi_channel", None)
        super().__init__(2, filters, kernel_size, multi_channel=True, **kwargs)

    def call(self, inputs):
        x, valid = inputs
        xs, valids = (list(x), list(valid)) if isinstance(x, (list, tuple)) else ([x], [valid])
        dtype = self.compute_dtype
        xs = [ops.cast(t, dtype) for t in xs]
        valids = [ops.cast(v, dtype) if v.shape[-1] == t.shape[-1]
                  else ops.repeat(ops.cast(v, dtype), t.shape[-1], axis=-1)
                  for t, v in zip(xs, valids, strict=True)]
        x = xs[0] if len(xs) == 1 else ops.concatenate(xs, axis=-1)
        valid = valids[0] if len(valids) == 1 else ops.concatenate(valids, axis=-1)
        cin = x.shape[-1]
        k = self.kernel_size[0]
        pad = [[0, 0], [(k - 1) // 2, k // 2], [(k - 1) // 2, k // 2], [0, 0]]
        xp, vp = ops.pad(x, pad), ops.pad(valid, pad)
        ones = ops.ones((k, k, cin, self.filters), dtype=dtype)
        mask = ops.conv(vp, ones, strides=self.strides, padding="valid")
        raw = ops.conv(xp * vp, ops.cast(self.kernel, dtype), strides=self.strides,
                       padding="valid")
        ratio = (k * k * cin) / (mask + 1e-8)
        mask = ops.clip(mask, 0.0, 1.0)
        y = raw * (ratio * mask) + ops.cast(self.bias, dtype)
        y = y * mask
        if self.activation is not None:
            y = self.activation(y)
        return [y, mask]


def _model(size, legacy):
    return _build((size, size, 1), rank=2, partial=True, depth=4, base_filters=32,
                  kernel_size=3, first_kernel_size=5, max_filters=256,
                  name="legacy" if legacy else "pconv", _pconv=LegacyPConv2D if legacy else None)


def _speed_rows(rounds=5, seconds=0.3, sizes=((128, 8), (256, 4)), xla_sizes=(256,)):
    rng = np.random.default_rng(0)
    ratios = {"train": [], "infer": []}
    details = {"train": [], "infer": []}
    for size, batch in sizes:
        x = rng.random((batch, size, size, 1)).astype("float32")
        v = (rng.random((batch, size, size, 1)) > 0.1).astype("float32")
        v[:, size // 4: size // 2, size // 3: size // 2] = 0
        inputs = [x * v, v]
        steps = {}
        for legacy in (False, True):
            for jit in ((False, True) if size in xla_sizes else (False,)):
                keras.utils.set_random_seed(0)
                model = _model(size, legacy)
                model.compile(keras.optimizers.Adam(1e-4), "mae", jit_compile=jit)
                steps[(legacy, jit, "train")] = (
                    lambda m=model, i=inputs, t=x: m.train_on_batch(i, t))
                steps[(legacy, jit, "infer")] = (
                    lambda m=model, i=inputs: m.predict_on_batch(i))
        for step in steps.values():  # trace and compile, then one more step
            step()
            step()
        best = dict.fromkeys(steps, math.inf)
        for _ in range(rounds):  # interleaved: each configuration sees the same load
            for key, step in steps.items():
                start = time.perf_counter()
                while True:  # the fastest single step: robust on a shared machine
                    t0 = time.perf_counter()
                    step()
                    best[key] = min(best[key], time.perf_counter() - t0)
                    if time.perf_counter() - start > seconds:
                        break
        for kind in ("train", "infer"):
            r = {key[:2]: 1.0 / t for key, t in best.items() if key[2] == kind}
            ours = max(t for (legacy, _), t in r.items() if not legacy)
            theirs = max(t for (legacy, _), t in r.items() if legacy)
            ratios[kind].append(ours / theirs)
            text = (f"{size}² batch {batch}: ours {r[(False, False)]:.2f} steps/s, legacy "
                    f"{r[(True, False)]:.2f} ({r[(False, False)] / r[(True, False)]:.2f}x)")
            if size in xla_sizes:
                text += (f"; with XLA ours {r[(False, True)]:.2f}, legacy {r[(True, True)]:.2f} "
                         f"({r[(False, True)] / r[(True, True)]:.2f}x)")
            details[kind].append(text)
    rows = []
    for kind in ("train", "infer"):
        rows.append({
            "name": f"pconv_{kind}_speedup",
            "value": round(float(np.exp(np.mean(np.log(ratios[kind])))), 2),
            "unit": "x",
            "target": 1.5 if kind == "train" else 2.0,
            "detail": "; ".join(details[kind]) + f". Fastest single step over {rounds} "
                      f"interleaved rounds (at least {seconds} s each) on a shared 2-core CPU; each side takes its faster of XLA "
                      f"and no XLA (XLA timed at {', '.join(f'{n}²' for n in xla_sizes)} only, "
                      "to keep the run short; at 128² it was slower for both sides in a "
                      "separate run). Ours: one (k,k,1,1) convolution of the "
                      "one-channel mask per layer and channel groups in the decoder (no "
                      "repeated mask); legacy: ones(k,k,in,filters) mask convolution, "
                      "explicit padding, masks of every channel.",
        })
    return rows


def _memory_row():
    from xinpaint.costs import training_step_cost

    cost = {size: training_step_cost("pconv3d", "cpu", (16, size, size), batch_size=1)
            for size in (64, 256)}
    peak = {size: c["peak_mib"] for size, c in cost.items()}
    rss = {size: c["rss_mib"] for size, c in cost.items()}
    return {
        "name": "patch_memory_ratio",
        "value": round(peak[256] / peak[64], 2),
        "unit": "x",
        "target": 4.0,
        "detail": f"pconv_unet3d at the cpu profile's sizes, batch 1, three training steps, each "
                  f"size in its own process (xinpaint.costs.training_step_cost); 16x the "
                  f"pixels; peak tensor memory (TF BFC allocator on CPU, "
                  f"get_memory_info peak): {peak[256]:.0f} MiB on 16×256×256 vs "
                  f"{peak[64]:.0f} MiB on 16×64×64; peak RSS (with TensorFlow itself): "
                  f"{rss[256]:.0f} vs {rss[64]:.0f} MiB ({rss[256] / rss[64]:.2f}x)",
    }


def run() -> list[dict]:
    return [*_speed_rows(), _memory_row()]


if __name__ == "__main__":
    if "--memory" in sys.argv:  # python benchmarks/bench_layers.py --memory
        print(json.dumps([_memory_row()], indent=1))
    elif "--speed" in sys.argv:
        print(json.dumps(_speed_rows(), indent=1))
    else:
        print(json.dumps(run(), indent=1))

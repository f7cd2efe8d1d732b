"""The layers, models and losses under Keras' JAX backend (CPU), in a subprocess.

Skipped, with the reason, where JAX is not installed (``pip install -e .[jax]``;
``make test`` installs it).
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import json
import numpy as np
import keras
assert keras.backend.backend() == "jax", keras.backend.backend()
from xinpaint.layers import PConv2D, PConv3D
from xinpaint.losses import InpaintingLoss, pack_targets
from xinpaint.models import pconv_unet2d, pconv_unet3d, unet2d

rng = np.random.default_rng(0)
x = rng.random((2, 32, 32, 1)).astype("float32")
valid = np.ones_like(x)
valid[:, 8:14, 6:20] = 0
y, m = PConv2D(4, 3, strides=2)([x, valid])
y3, _ = PConv3D(2, 3)([x[None], valid[None]])
model = pconv_unet2d((32, 32, 1), depth=2, base_filters=4)
a = np.asarray(model([x * valid, valid]))
b = np.asarray(model([x * valid + (1 - valid), valid]))
model.compile(keras.optimizers.Adam(1e-3), InpaintingLoss(perceptual=0.0, style=0.0))
history = model.fit([x * valid, valid], pack_targets(x, valid), epochs=2, batch_size=2, verbose=0)
plain = unet2d((32, 32, 1), depth=2, base_filters=4, valid_as_channel=True)
seq = pconv_unet3d((4, 32, 32, 1), depth=2, base_filters=4, many2many=False)
out3 = np.asarray(seq([np.repeat(x[:1, None], 4, 1), np.repeat(valid[:1, None], 4, 1)]))
print(json.dumps({
    "pconv_shape": list(y.shape), "mask_shape": list(m.shape), "pconv3d_shape": list(y3.shape),
    "fill_invariance": float(np.abs(a - b).max()),
    "losses": [float(v) for v in history.history["loss"]],
    "plain_shape": list(plain([x, valid]).shape), "many2one_shape": list(out3.shape),
}))
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="JAX is not installed: pip install -e .[jax]")
def test_layers_models_and_losses_run_under_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["pconv_shape"] == [2, 16, 16, 4] and result["mask_shape"] == [2, 16, 16, 1]
    assert result["pconv3d_shape"] == [1, 2, 32, 32, 2]
    assert result["fill_invariance"] < 1e-5
    assert all(v == v for v in result["losses"])  # finite (no NaN)
    assert result["plain_shape"] == [2, 32, 32, 1] and result["many2one_shape"] == [1, 32, 32, 1]

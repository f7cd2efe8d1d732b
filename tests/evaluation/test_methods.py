"""Tests of xinpaint.evaluation.methods: baselines by name, Keras models."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.evaluation.helpers import make_sequence
from xinpaint import evaluation as ev
from xinpaint.baselines import inpaint


def test_baseline_method_by_name_and_smoothed_name():
    seq = make_sequence(T=2, H=32, W=32)
    x = np.where(seq.holes, 0, seq.frames)
    plain = ev.baseline_method("biharmonic")
    assert plain.__name__ == "biharmonic"
    np.testing.assert_array_equal(plain(x, seq.holes), inpaint(x, seq.holes, method="biharmonic"))
    fill = ev.baseline_method("biharmonic (σ 0.75)")
    assert fill.__name__ == "biharmonic (σ 0.75)"
    np.testing.assert_array_equal(
        fill(x, seq.holes), inpaint(x, seq.holes, method="biharmonic", smooth=0.75)
    )
    for bad in ("cubic", "cubic (σ 1)", "biharmonic (σ -1)", "biharmonic (σ x)"):
        with pytest.raises(ValueError, match=r"Unknown method: .* Received method=" + re.escape(repr(bad)) + r"\."):
            ev.baseline_method(bad)


def test_keras_method_wraps_a_two_input_model():
    keras = pytest.importorskip("keras")
    image = keras.Input((None, None, 1))
    valid = keras.Input((None, None, 1))
    # returns its image input where valid, 0.25 in the holes: checks what the wrapper feeds
    out = keras.layers.Lambda(lambda z: z[0] + (1.0 - z[1]) * 0.25)([image, valid])
    model = keras.Model([image, valid], out)
    seq = make_sequence(T=2, H=16, W=16)
    noisy = np.where(seq.holes, 9.0, seq.frames).astype(np.float32)  # hidden values must not leak
    got = ev.keras_method(model, batch_size=2)(noisy, seq.holes)
    assert got.shape == seq.frames.shape
    np.testing.assert_array_equal(got[~seq.holes], seq.frames[~seq.holes])
    np.testing.assert_allclose(got[seq.holes], 0.25)
    with pytest.raises(
        ValueError, match=r"Unknown mode: expected '2d' or '3d'\. Received mode='4d'\."
    ):
        ev.keras_method(model, mode="4d")
    with pytest.raises(
        ValueError, match=r"Expected a positive batch size\. Received batch_size=0\."
    ):
        ev.keras_method(model, batch_size=0)


def test_keras_method_3d_feeds_the_whole_sequence():
    keras = pytest.importorskip("keras")
    image = keras.Input((None, None, None, 1))
    valid = keras.Input((None, None, None, 1))
    # the mean over time of the masked image: only a (1, T, H, W, 1) sample gives this
    out = keras.layers.Lambda(lambda z: keras.ops.mean(z[0], axis=1, keepdims=True) + 0.0 * z[0])(
        [image, valid]
    )
    model = keras.Model([image, valid], out)
    seq = make_sequence(T=3, H=16, W=16)
    got = ev.keras_method(model, mode="3d")(seq.frames, seq.holes)
    expected = np.broadcast_to(np.where(seq.holes, 0, seq.frames).mean(axis=0), seq.frames.shape)
    np.testing.assert_allclose(got[seq.holes], expected[seq.holes], rtol=1e-6)

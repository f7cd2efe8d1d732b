"""Property-based tests of the public array functions: random shapes, dtypes, NaN, masks.

Every call either returns a correct result or raises the documented ``ValueError``;
nothing else (no crash from deep inside NumPy or scikit-image, no silent NaN).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinpaint import metrics
from xinpaint.inference import inpaint

DTYPES = [np.uint8, np.uint16, np.float16, np.float32, np.float64]


@st.composite
def frames_and_holes(draw):
    t = draw(st.integers(1, 3))
    h = draw(st.integers(8, 24))
    w = draw(st.integers(8, 24))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if np.issubdtype(dtype, np.integer):
        frames = rng.integers(0, np.iinfo(dtype).max, (t, h, w)).astype(dtype)
    else:
        frames = rng.random((t, h, w)).astype(dtype)
    holes = rng.random((t, h, w)) < draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]))
    if draw(st.booleans()) and np.issubdtype(dtype, np.floating):
        frames[tuple(rng.integers(0, s) for s in frames.shape)] = np.nan
    return frames, holes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames_and_holes())
def test_inpaint_returns_a_correct_result_or_a_clear_error(data):
    frames, holes = data
    try:
        out = inpaint(frames, holes, model="nearest")
    except ValueError as err:
        message = str(err)
        assert "Received" in message
        full = holes.reshape(-1, *holes.shape[-2:]).all(axis=(1, 2)).any()
        nan_visible = np.issubdtype(frames.dtype, np.floating) and np.isnan(frames[~holes]).any()
        assert full or nan_visible, message
        return
    assert out.dtype == frames.dtype and out.shape == frames.shape
    np.testing.assert_array_equal(out[~holes], frames[~holes])
    if np.issubdtype(out.dtype, np.floating):
        assert np.isfinite(out[holes]).all()


@settings(max_examples=40, deadline=None)
@given(frames_and_holes())
def test_metrics_are_correct_or_refuse(data):
    frames, holes = data
    target = frames
    output = frames[::-1].copy() if frames.shape[0] > 1 else frames.copy()
    kwargs = {"data_range": float(np.iinfo(frames.dtype).max)} if np.issubdtype(frames.dtype, np.integer) else {}
    try:
        value = metrics.mse(target, output, holes=holes, **kwargs)
    except ValueError as err:
        assert "Received" in str(err)
        assert (not holes.any()) or (np.issubdtype(frames.dtype, np.floating) and np.isnan(frames).any())
        return
    t, o = target.astype(np.float64), output.astype(np.float64)
    expected = np.mean([np.mean((o[i] - t[i])[holes[i]] ** 2) for i in range(len(t)) if holes[i].any()])
    assert value == pytest.approx(expected)

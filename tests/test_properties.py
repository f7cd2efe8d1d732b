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


FAST_METHODS = ["nearest", "linear", "rowwise", "biharmonic", "telea", "temporal"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames_and_holes(), st.sampled_from(FAST_METHODS))
def test_baselines_return_a_correct_fill_or_a_clear_error(data, method):
    from xinpaint.baselines import inpaint as classical

    frames, holes = data
    try:
        out = classical(frames, holes, method=method)
    except ValueError as err:
        message = str(err)
        assert "Received" in message, message
        nan_visible = np.issubdtype(frames.dtype, np.floating) and np.isnan(frames[~holes]).any()
        stack = holes.reshape(-1, *holes.shape[-2:])
        nothing_left = stack.all(axis=(1, 2)).any() if method != "temporal" else holes.all()
        assert nan_visible or nothing_left, message
        return
    assert out.shape == frames.shape and np.issubdtype(out.dtype, np.floating)
    np.testing.assert_array_equal(out[~holes], frames[~holes].astype(out.dtype))
    assert np.isfinite(out[holes]).all()
    if holes.any():  # a fill stays within the range of what it interpolates (up to rounding)
        visible = frames[~holes].astype(np.float64)
        span = visible.max() - visible.min()
        assert out[holes].min() >= visible.min() - 0.5 * span - 1e-3
        assert out[holes].max() <= visible.max() + 0.5 * span + 1e-3


@settings(max_examples=30, deadline=None)
@given(frames_and_holes(), st.sampled_from(["psnr", "ssim", "mae", "gradient_ssim"]))
def test_every_metric_is_finite_or_refuses(data, name):
    frames, holes = data
    if min(frames.shape[-2:]) < 7 and name in ("ssim", "gradient_ssim"):
        return  # scikit-image's 7×7 window; the frames drawn here are at least 8 pixels wide
    target = frames
    output = frames[::-1].copy()
    kwargs = {"data_range": float(np.iinfo(frames.dtype).max)} if np.issubdtype(frames.dtype, np.integer) else {}
    try:
        value = getattr(metrics, name)(target, output, holes=holes, **kwargs)
    except ValueError as err:
        assert "Received" in str(err)
        assert (not holes.any()) or (np.issubdtype(frames.dtype, np.floating) and np.isnan(frames).any())
        return
    assert np.isfinite(value) or (name == "psnr" and value == np.inf)


@settings(max_examples=40, deadline=None)
@given(st.tuples(st.integers(1, 12), st.integers(1, 20), st.integers(1, 20)),
       st.tuples(st.integers(1, 12), st.integers(1, 20), st.integers(1, 20)),
       st.tuples(st.integers(-1, 8), st.integers(1, 8), st.integers(1, 8)))
def test_patches_stitch_back_to_the_array_or_refuse(shape, window, stride):
    from xinpaint.data import extract_patches, stitch_patches

    array = np.random.default_rng(0).random(shape)
    try:
        patches, positions = extract_patches(array, patch_shape=window, stride=stride)
    except ValueError as err:
        assert "Received" in str(err)
        assert min(stride) < 1 or any(w > s for w, s in zip(window, shape, strict=True))
        return
    assert patches.shape == (len(positions), *window)
    if any(s > w for s, w in zip(stride, window, strict=True)):  # gaps between the windows
        gaps = np.ones(shape, bool)
        for corner in positions:
            gaps[tuple(slice(c, c + w) for c, w in zip(corner, window, strict=True))] = False
        if gaps.any():
            with pytest.raises(ValueError, match=f"{int(gaps.sum())} elements are in no window"):
                stitch_patches(patches, positions, shape)
            return
    np.testing.assert_allclose(stitch_patches(patches, positions, shape), array, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**16),
       st.floats(-0.5, 1.5, allow_nan=False))
def test_random_masks_are_boolean_non_empty_or_refused(h, w, seed, fraction):
    from xinpaint.data import random_masks_2d

    try:
        holes = random_masks_2d((h, w), n=2, seed=seed, max_fraction=fraction)
    except ValueError as err:
        assert "Received" in str(err)
        assert min(h, w) < 8 or not 0 < fraction < 1
        return
    assert holes.shape == (2, h, w) and holes.dtype == bool
    assert holes.reshape(2, -1).any(axis=1).all()
    np.testing.assert_array_equal(holes, random_masks_2d((h, w), n=2, seed=seed, max_fraction=fraction))

"""Tests of xinpaint.baselines.denoise: normalised convolution, denoised baselines, choosing σ."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest

from tests.test_baselines import smooth_frame
from xinpaint.baselines import (
    METHODS,
    choose_smoothing,
    inpaint,
    parse_method,
    smooth_visible,
    smoothed,
    smoothed_name,
)

H = W = 48


smooth_field = smooth_frame  # the smooth, projection-like frame of the baselines' tests


def needles_and_coin(shape=(H, W), shift=0):
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    holes = np.abs((x - shift) - 0.6 * y - 5) < 1.6
    holes &= (y > 4) & (y < shape[0] - 6)
    holes |= (np.abs(x - 36 - shift) <= 2) & (y > 6) & (y < 30)
    holes |= (y - 0.7 * shape[0]) ** 2 + (x - 0.3 * shape[1] - shift) ** 2 <= 25
    return holes


def gaussian_kernel_1d(sigma, truncate=4.0):
    r = int(truncate * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


def reference_normalised_convolution(frame, holes, sigma):
    """G*(f v) / G*v with an explicit 2D Gaussian kernel and zero padding, in NumPy."""
    k1 = gaussian_kernel_1d(sigma)
    k = np.outer(k1, k1)
    r = len(k1) // 2
    v = (~holes).astype(np.float64)
    fv = np.where(holes, 0.0, frame).astype(np.float64)
    pad_fv, pad_v = np.pad(fv, r), np.pad(v, r)
    num, den = np.zeros(frame.shape), np.zeros(frame.shape)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            w = k[dy + r, dx + r]
            num += w * pad_fv[r + dy : r + dy + frame.shape[0], r + dx : r + dx + frame.shape[1]]
            den += w * pad_v[r + dy : r + dy + frame.shape[0], r + dx : r + dx + frame.shape[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(holes, frame, num / den)


@dataclass
class Seq:
    target: np.ndarray
    observed: np.ndarray
    holes: np.ndarray

    @property
    def frames(self):
        return self.target


def noisy_sequences(n=2, T=3, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    seqs = []
    for i in range(n):
        target = np.stack([smooth_field(t + 10 * i) for t in range(T)])
        holes = np.stack([needles_and_coin(shift=t + 2 * i) for t in range(T)])
        observed = target + rng.normal(0, noise, target.shape).astype(np.float32)
        observed[holes] = 1.0  # the metal's value, which no method may use
        seqs.append(Seq(target, observed.astype(np.float32), holes))
    return seqs


def test_normalised_convolution_matches_a_numpy_reference(rng):
    frame = rng.uniform(0, 1, (30, 34)).astype(np.float64)
    holes = needles_and_coin((30, 34))
    frame[holes] = np.nan  # hidden values never enter the average
    for sigma in (0.5, 1.0, 2.0):
        got = smooth_visible(frame, holes, sigma=sigma)
        want = reference_normalised_convolution(np.nan_to_num(frame), holes, sigma)
        np.testing.assert_allclose(got[~holes], want[~holes], rtol=1e-10, atol=1e-12)
        assert np.isnan(got[holes]).all()  # hidden pixels returned as given


def test_smooth_visible_per_frame_unless_a_temporal_sigma_is_given(rng):
    frames = rng.uniform(0, 1, (4, 20, 20)).astype(np.float32)
    holes = np.zeros(frames.shape, bool)
    holes[:, 8:11, 3:17] = True
    per_frame = smooth_visible(frames, holes, sigma=1.0)
    for t in range(4):
        np.testing.assert_array_equal(per_frame[t], smooth_visible(frames[t], holes[t], sigma=1.0))
    assert per_frame.dtype == np.float32
    both = smooth_visible(frames, holes, sigma=1.0, sigma_t=1.0)
    assert not np.allclose(both, per_frame)
    # a constant field stays constant (the normalisation), whatever the holes and the edges
    const = np.full(frames.shape, 0.3)
    np.testing.assert_allclose(smooth_visible(const, holes, sigma=1.5, sigma_t=0.7), 0.3)
    # sigma 0 copies
    copy = smooth_visible(frames, holes, sigma=0)
    np.testing.assert_array_equal(copy, frames)
    assert copy is not frames


def test_smooth_visible_errors():
    frame, holes = np.zeros((8, 8)), np.zeros((8, 8), bool)
    with pytest.raises(
        ValueError, match=r"Expected a non-negative, finite sigma in pixels\. Received sigma=-1\.0\."
    ):
        smooth_visible(frame, holes, sigma=-1.0)
    with pytest.raises(ValueError, match=r"Received sigma_t=nan\."):
        smooth_visible(frame[None], holes[None], sigma=1.0, sigma_t=float("nan"))
    with pytest.raises(
        ValueError, match=r"Expected sigma_t=0 for one \(H, W\) frame\. Received sigma_t=1\.0\."
    ):
        smooth_visible(frame, holes, sigma=1.0, sigma_t=1.0)
    with pytest.raises(ValueError, match=r"Received holes\.dtype=uint8\."):
        smooth_visible(frame, holes.astype(np.uint8), sigma=1.0)
    with pytest.raises(ValueError, match=r"Received holes\.shape=\(8, 7\)\."):
        smooth_visible(frame, holes[:, :-1], sigma=1.0)
    with pytest.raises(ValueError, match=r"Received frames\.shape=\(8,\)\."):
        smooth_visible(frame[0], holes[0], sigma=1.0)


@pytest.mark.parametrize("method", METHODS)
def test_smooth_zero_is_todays_result_and_visible_pixels_stay_noisy(method):
    seq = noisy_sequences(n=1, T=3, noise=0.01)[0]
    plain = inpaint(seq.observed, seq.holes, method=method)
    np.testing.assert_array_equal(inpaint(seq.observed, seq.holes, method=method, smooth=0.0), plain)
    np.testing.assert_array_equal(inpaint(seq.observed, seq.holes, method=method, smooth=0), plain)
    out = inpaint(seq.observed, seq.holes, method=method, smooth=1.0)
    assert out.dtype == plain.dtype and out.shape == plain.shape
    np.testing.assert_array_equal(out[~seq.holes], seq.observed[~seq.holes])  # bit-identical
    assert not np.array_equal(out[seq.holes], plain[seq.holes])
    # the filled values are the method's on the smoothed frames
    work = np.where(seq.holes, 0, seq.observed).astype(np.float64)  # inpaint works in float64
    sm = smooth_visible(work, seq.holes, sigma=1.0)
    ref = inpaint(sm, seq.holes, method=method)
    np.testing.assert_allclose(out[seq.holes], ref[seq.holes], rtol=1e-6, atol=1e-7)


def test_smoothed_biharmonic_has_a_lower_hole_error_on_noisy_frames():
    seq = noisy_sequences(n=1, T=4, noise=0.01, seed=3)[0]
    holes = seq.holes

    def hole_mse(out):
        return float(np.mean((out[holes] - seq.target[holes]) ** 2))

    plain = hole_mse(inpaint(seq.observed, holes, method="biharmonic"))
    smooth = hole_mse(inpaint(seq.observed, holes, method="biharmonic", smooth=1.0))
    assert smooth < 0.6 * plain


def test_inpaint_rejects_a_bad_smooth():
    frame, holes = smooth_field(), needles_and_coin()
    for bad in (-0.5, float("inf"), "1", True):
        with pytest.raises(
            ValueError,
            match=r"Expected a non-negative, finite smoothing sigma in pixels\. Received smooth="
            + re.escape(repr(bad)) + r"\.",
        ):
            inpaint(frame, holes, method="biharmonic", smooth=bad)


def test_smoothed_names_and_parses():
    fill = smoothed("biharmonic", 0.75)
    assert fill.__name__ == smoothed_name("biharmonic", 0.75) == "biharmonic (σ 0.75)"
    assert smoothed("linear", 1).__name__ == "linear (σ 1)"
    assert parse_method(fill.__name__) == ("biharmonic", 0.75)
    assert parse_method("spatiotemporal (sigma 2)") == ("spatiotemporal", 2.0)
    assert parse_method("navier-stokes") == ("navier-stokes", 0.0)
    with pytest.raises(ValueError, match=r"Received method='biharmonic \(σ\)'\."):
        parse_method("biharmonic (σ)")
    with pytest.raises(ValueError, match=r"Received sigma=-1\.0\."):
        parse_method("biharmonic (σ -1)")
    with pytest.raises(ValueError, match=r"Unknown method: .* Received method='cubic'\."):
        smoothed("cubic", 1.0)
    with pytest.raises(ValueError, match=r"Received sigma=-0\.5\."):
        smoothed("biharmonic", -0.5)
    frame, holes = smooth_field(), needles_and_coin()
    np.testing.assert_array_equal(
        fill(frame, holes), inpaint(frame, holes, method="biharmonic", smooth=0.75)
    )


def test_choose_smoothing_picks_a_sigma_on_noisy_data_and_none_on_clean_data():
    noisy = noisy_sequences(n=2, T=2, noise=0.01)
    choice = choose_smoothing(noisy, method="biharmonic", sigmas=(0, 0.5, 1.0, 2.0))
    assert choice.sigma > 0 and float(choice) == choice.sigma
    assert [r["sigma"] for r in choice.scores] == [0.0, 0.5, 1.0, 2.0]
    best = max(r["hole_psnr"] for r in choice.scores)
    assert choice.scores[[r["sigma"] for r in choice.scores].index(choice.sigma)]["hole_psnr"] == best
    assert choice.n_frames == 4 and choice.method == "biharmonic"
    clean = noisy_sequences(n=2, T=2, noise=0.0)
    assert choose_smoothing(clean, method="biharmonic", sigmas=(0, 0.5, 1.0)).sigma == 0.0
    # max_frames: the first frames of each sequence
    assert choose_smoothing(noisy, method="linear", sigmas=(0, 1), max_frames=2).n_frames == 2


def test_choose_smoothing_errors():
    seqs = noisy_sequences(n=1, T=2)
    with pytest.raises(ValueError, match=r"Unknown method: .* Received method='cubic'\."):
        choose_smoothing(seqs, method="cubic")
    with pytest.raises(ValueError, match=r"Received sigma=-1\.0\."):
        choose_smoothing(seqs, method="biharmonic", sigmas=(0, -1.0))
    with pytest.raises(ValueError, match=r"Expected at least one sigma to try\. Received sigmas=\(\)\."):
        choose_smoothing(seqs, method="biharmonic", sigmas=())
    with pytest.raises(ValueError, match=r"Received max_frames=0\."):
        choose_smoothing(seqs, method="biharmonic", max_frames=0)
    with pytest.raises(ValueError, match=r"Received sequences\[0\] of type int\."):
        choose_smoothing([1], method="biharmonic")
    with pytest.raises(ValueError, match=r"Expected at least one sequence\. Received sequences=\[\]\."):
        choose_smoothing([], method="biharmonic")

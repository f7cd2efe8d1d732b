"""Metrics against scikit-image and NumPy references (xinpaint.metrics)."""

import numpy as np
import pytest
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from xinpaint import metrics


@pytest.fixture
def pair(rng):
    target = rng.random((3, 32, 40))
    output = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1)
    holes = np.zeros(target.shape, bool)
    holes[:, 8:16, 4:30] = True
    holes[1] = False  # a frame without holes is skipped by hole metrics
    return target, output, holes


def test_whole_image_metrics_match_scikit_image(pair):
    target, output, _ = pair
    psnrs = [peak_signal_noise_ratio(t, o, data_range=1.0) for t, o in zip(target, output, strict=True)]
    ssims = [structural_similarity(t, o, data_range=1.0) for t, o in zip(target, output, strict=True)]
    mses = [mean_squared_error(t, o) for t, o in zip(target, output, strict=True)]
    assert metrics.psnr(target, output) == pytest.approx(np.mean(psnrs))
    assert metrics.ssim(target, output) == pytest.approx(np.mean(ssims))
    assert metrics.mse(target, output) == pytest.approx(np.mean(mses))
    assert metrics.mae(target, output) == pytest.approx(np.mean(np.abs(output - target)))


def test_hole_metrics_use_only_hidden_pixels_of_frames_with_holes(pair):
    target, output, holes = pair
    frames = [0, 2]
    err2 = [np.mean((output[t] - target[t])[holes[t]] ** 2) for t in frames]
    assert metrics.mse(target, output, holes=holes) == pytest.approx(np.mean(err2))
    assert metrics.psnr(target, output, holes=holes) == pytest.approx(
        np.mean([10 * np.log10(1 / e) for e in err2]))
    maps = [structural_similarity(target[t], output[t], data_range=1.0, full=True)[1] for t in frames]
    assert metrics.ssim(target, output, holes=holes) == pytest.approx(
        np.mean([m[holes[t]].mean() for m, t in zip(maps, frames, strict=True)]))
    spoiled = output.copy()
    spoiled[~holes & (np.arange(40) > 35)] = 0  # changes outside the holes do not matter
    assert metrics.mae(target, spoiled, holes=holes) == metrics.mae(target, output, holes=holes)


def test_psnr_data_range_and_perfect_output():
    a = np.zeros((8, 8))
    assert metrics.psnr(a, a + 0.1) == pytest.approx(20.0)
    assert metrics.psnr(a, a + 100, data_range=1000) == pytest.approx(20.0)
    assert metrics.psnr(a, a) == np.inf
    assert metrics.ssim(a + 0.5, a + 0.5) == pytest.approx(1.0)


def test_evaluate_row(pair):
    target, output, holes = pair
    row = metrics.evaluate(target, output, holes, method="m", seconds=3.0)
    assert list(row) == ["method", "hole_psnr", "hole_ssim", "hole_mae", "hole_mse", "psnr",
                         "ssim", "mae", "mse", "seconds_per_frame", "n_frames"]
    assert row["n_frames"] == 3 and row["seconds_per_frame"] == 1.0
    assert row["hole_psnr"] == metrics.psnr(target, output, holes=holes)


def test_tensorflow_versions_agree_with_numpy(pair):
    target, output, holes = pair
    t, o = target[[0, 2], ..., None].astype("float32"), output[[0, 2], ..., None].astype("float32")
    v = (~holes[[0, 2], ..., None]).astype("float32")
    assert float(metrics.tf_psnr(t, o)) == pytest.approx(metrics.psnr(target[[0, 2]], output[[0, 2]]), rel=1e-4)
    assert float(metrics.tf_hole_psnr(t, o, v)) == pytest.approx(
        metrics.psnr(target, output, holes=holes), rel=1e-4)


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        ((np.zeros((4, 4)), np.zeros((4, 5))), {}, r"Received output.shape=\(4, 5\)"),
        ((np.zeros(4), np.zeros(4)), {}, r"Received target.shape=\(4,\)"),
        ((np.full((4, 4), np.nan), np.zeros((4, 4))), {}, r"Received target with NaN"),
        ((np.zeros((4, 4), np.uint16), np.zeros((4, 4), np.uint16)), {}, r"data_range=None"),
        ((np.zeros((4, 4)), np.zeros((4, 4))), {"holes": np.zeros((4, 4), int)}, r"holes.dtype=int"),
        ((np.zeros((4, 4)), np.zeros((4, 4))), {"holes": np.zeros((4, 4), bool)}, r"no True value"),
        ((np.zeros((4, 4)), np.zeros((4, 4))), {"holes": np.ones((3, 4), bool)}, r"holes.shape=\(3, 4\)"),
        ((np.zeros((4, 4)), np.zeros((4, 4))), {"data_range": 0}, r"data_range=0"),
        ((np.zeros((4, 4)), np.zeros((4, 4))), {"data_range": True}, r"data_range=True"),
        ((np.zeros((4, 4)), np.zeros((4, 4))), {"data_range": np.inf}, r"data_range=inf"),
    ],
)
def test_bad_input_names_the_argument(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.psnr(*args, **kwargs)


def test_keras_metrics_read_packed_targets(pair):
    from xinpaint.losses import pack_targets

    target, output, holes = pair
    t, o = target[..., None].astype("float32"), output[..., None].astype("float32")
    y = pack_targets(t, (~holes[..., None]).astype("float32"))
    assert float(metrics.keras_hole_psnr(y, o)) == pytest.approx(
        metrics.psnr(target, output, holes=holes), rel=1e-4)
    assert float(metrics.keras_psnr(y, o)) == pytest.approx(metrics.psnr(target, output), rel=1e-4)


def test_gradient_ssim_is_the_ssim_of_sobel_magnitudes_in_the_holes(pair):
    from skimage.filters import sobel

    target, output, holes = pair
    expected = []
    for t in (0, 2):
        gt, go = sobel(target[t]), sobel(output[t])
        full = structural_similarity(gt, go, data_range=gt.max(), full=True)[1]
        expected.append(full[holes[t]].mean())
    assert metrics.gradient_ssim(target, output, holes=holes) == pytest.approx(np.mean(expected))
    assert metrics.gradient_ssim(target, target, holes=holes) == pytest.approx(1.0)


def test_gradient_ssim_prefers_a_kept_edge_to_a_ramp_of_equal_error():
    edge = np.zeros((48, 48))
    edge[:, 24:] = 1.0
    holes = np.zeros(edge.shape, bool)
    holes[16:32, 16:32] = True
    ramp = edge.copy()
    ramp[holes] = np.tile(np.linspace(0, 1, 16), (16, 1)).ravel()
    shifted = edge.copy()
    shifted[holes] = np.roll(edge, 1, axis=1)[holes]  # the edge kept, one pixel off
    assert metrics.mae(edge, shifted, holes=holes) < metrics.mae(edge, ramp, holes=holes) * 2
    assert metrics.gradient_ssim(edge, shifted, holes=holes) > metrics.gradient_ssim(edge, ramp, holes=holes)
    with pytest.raises(ValueError, match=r"holes\.dtype=int64"):
        metrics.gradient_ssim(edge, ramp, holes=holes.astype(np.int64))


def test_keras_hole_mse_is_pooled_over_the_hidden_pixels_of_the_batch(rng):
    from xinpaint.losses import pack_targets

    target = rng.random((3, 8, 8, 1)).astype("float32")
    pred = rng.random((3, 8, 8, 1)).astype("float32")
    valid = np.ones_like(target)
    valid[0, 2:4, 2:6] = 0
    valid[1, :, :1] = 0  # the third image has no hole
    holes = valid[..., 0] == 0
    expected = ((pred[..., 0] - target[..., 0])[holes] ** 2).mean()
    assert float(metrics.keras_hole_mse(pack_targets(target, valid), pred)) == pytest.approx(expected, rel=1e-5)
    assert float(metrics.keras_hole_mse(pack_targets(target, np.ones_like(target)), pred)) == 0.0

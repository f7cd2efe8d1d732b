"""Volume metrics (xinpaint.volume_metrics) against NumPy references."""

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.metrics import structural_similarity

from xinpaint.reconstruction import ReconstructedVolume
from xinpaint.volume_metrics import metal_regions, volume_metrics


@pytest.fixture
def volumes(rng):
    shape = (24, 20, 16)
    reference = rng.normal(0.0, 200.0, shape)
    reference[:3] = -1200.0  # below the window: clipped to -1000
    volume = reference + rng.normal(0.0, 40.0, shape)
    volume[-2:] = 2500.0  # above it: clipped to 2000
    body = np.zeros(shape, bool)
    body[2:22, 2:18, 1:15] = True
    metal = np.zeros(shape, bool)
    metal[12, 10, 4:12] = True
    return reference, volume, body, metal


def test_against_numpy(volumes):
    reference, volume, body, metal = volumes
    spacing = (1.0, 1.5, 2.0)
    m = volume_metrics(reference, volume, body=body, metal=metal, spacing_mm=spacing,
                       margin_mm=2.0, ring_mm=6.0)
    r, v = np.clip(reference, -1000, 2000), np.clip(volume, -1000, 2000)
    distance = ndi.distance_transform_edt(~metal, sampling=spacing)
    scored = body & (distance > 2.0)
    ring = body & (distance > 2.0) & (distance <= 8.0)
    mse = np.mean((v - r)[scored] ** 2)
    assert m["psnr"] == pytest.approx(10 * math.log10(3000**2 / mse), rel=1e-12)
    assert m["mae_hu"] == pytest.approx(np.mean(np.abs(v - r)[scored]), rel=1e-12)
    assert m["streak_index_hu"] == pytest.approx(np.std((v - r)[ring]), rel=1e-12)
    _, ssim_map = structural_similarity(r, v, data_range=3000.0, full=True)
    assert m["ssim"] == pytest.approx(ssim_map[scored].mean(), rel=1e-12)
    assert m["voxels"] == scored.sum() and m["ring_voxels"] == ring.sum()
    assert m["hu_range"] == (-1000.0, 2000.0)


def test_whole_volume_defaults(volumes):
    reference, volume, _, _ = volumes
    m = volume_metrics(reference, volume, hu_range=(-500, 500))
    r, v = np.clip(reference, -500, 500), np.clip(volume, -500, 500)
    assert m["psnr"] == pytest.approx(10 * math.log10(1000**2 / np.mean((v - r) ** 2)))
    # the mean of the whole map, borders included (scikit-image's own mean crops them)
    assert m["ssim"] == pytest.approx(structural_similarity(r, v, data_range=1000.0, full=True)[1].mean())
    assert math.isnan(m["streak_index_hu"]) and m["ring_voxels"] == 0
    assert volume_metrics(reference, reference)["psnr"] == math.inf


def test_streak_index_sees_streaks_not_offsets():
    shape = (40, 40, 8)
    reference = np.zeros(shape)
    metal = np.zeros(shape, bool)
    metal[20, 20, :] = True
    x, y = np.meshgrid(np.arange(40) - 20, np.arange(40) - 20, indexing="ij")
    streaks = 100.0 * np.cos(4 * np.arctan2(y, x))[..., None] * np.ones(shape)
    offset = volume_metrics(reference, reference + 100.0, metal=metal)
    streaky = volume_metrics(reference, reference + streaks, metal=metal)
    assert offset["streak_index_hu"] == pytest.approx(0.0, abs=1e-9)
    assert streaky["streak_index_hu"] > 50.0


def test_spacing_from_the_volumes():
    hu = np.zeros((16, 16, 16), np.float32)
    metal = np.zeros(hu.shape, bool)
    metal[8, 8, 8] = True
    a = ReconstructedVolume(hu, (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))
    m = volume_metrics(a, a, metal=metal, margin_mm=3.0, ring_mm=1.0)
    assert m["voxels"] == hu.size - 1  # 3 mm around the metal is its own 4 mm voxel only
    near, ring = metal_regions(metal, spacing_mm=4.0, margin_mm=3.0, ring_mm=1.0)
    assert near.sum() == 1 and ring.sum() == 6


def test_errors(volumes):
    reference, volume, body, metal = volumes
    with pytest.raises(ValueError, match=r"reference's shape \(24, 20, 16\). Received volume_hu.shape=\(24, 20, 15\)"):
        volume_metrics(reference, volume[..., 1:])
    with pytest.raises(ValueError, match=r"3D volumes .* Received reference_hu.shape=\(24, 20\)"):
        volume_metrics(reference[..., 0], volume[..., 0])
    with pytest.raises(ValueError, match=r"at least 7 voxels"):
        volume_metrics(reference[:5], volume[:5])
    with pytest.raises(ValueError, match=r"body as a boolean volume of shape \(24, 20, 16\). .*dtype float64"):
        volume_metrics(reference, volume, body=body.astype(float))
    with pytest.raises(ValueError, match=r"hu_range as \(low, high\) with low < high. Received hu_range=\(2000, -1000\)"):
        volume_metrics(reference, volume, hu_range=(2000, -1000))
    with pytest.raises(ValueError, match=r"non-negative margin_mm. Received margin_mm=-1"):
        volume_metrics(reference, volume, metal=metal, margin_mm=-1)
    with pytest.raises(ValueError, match="Nothing to score"):
        volume_metrics(reference, volume, body=metal, metal=metal)
    bad = volume.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"finite values. Received volume_hu"):
        volume_metrics(reference, bad)

"""Tests of xinpaint.evaluation.bins: hole components, the size bins, scores per bin."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.ndimage as ndi

from tests.evaluation.helpers import make_sequence
from xinpaint import evaluation as ev
from xinpaint.baselines import inpaint


def test_hole_components_widths_and_areas():
    holes = np.zeros((2, 40, 40), bool)
    holes[0, 5:8, 2:30] = True  # 3 px wide needle
    yy, xx = np.mgrid[0:40, 0:40]
    holes[0] |= (yy - 25) ** 2 + (xx - 25) ** 2 <= 36  # coin r=6: width 13
    holes[1, 10:19, 10:12] = True  # 2 px wide: an even width w counts as w - 1
    labels, widths, areas = ev.hole_components(holes)
    assert labels.max() == 3 == len(widths)
    assert widths.tolist() == [3, 11, 1]  # a digital coin of radius r: about 2 r - 1
    assert areas.tolist() == [84, int(((yy - 25) ** 2 + (xx - 25) ** 2 <= 36).sum()), 18]
    assert areas.sum() == holes.sum()
    # components never span frames
    assert set(np.unique(labels[0])) & set(np.unique(labels[1])) == {0}


def test_size_bins_at_256_pixels_are_the_ten_published_sizes():
    assert ev.size_bins(256) == ev.SIZE_BINS
    assert [(lo, hi) for _, lo, hi in ev.SIZE_BINS] == [
        (1, 2), (3, 4), (5, 6), (7, 9), (10, 13), (14, 19), (20, 27), (28, 39), (40, 59),
        (60, math.inf),
    ]
    assert [name for name, _, _ in ev.SIZE_BINS] == [
        "w 1–2 px", "w 3–4 px", "w 5–6 px", "w 7–9 px", "w 10–13 px", "w 14–19 px",
        "w 20–27 px", "w 28–39 px", "w 40–59 px", "w ≥ 60 px",
    ]


def _check_partition(bins):
    """Contiguous, non-overlapping, from width 1 to infinity, distinct non-empty names."""
    assert bins[0][1] == 1 and bins[-1][2] == math.inf
    for (_, _, hi), (_, lo, _) in itertools.pairwise(bins):
        assert lo == hi + 1
    assert all(lo <= hi for _, lo, hi in bins)
    names = [name for name, _, _ in bins]
    assert len(set(names)) == len(names) and all(names)


@pytest.mark.parametrize("width", [1, 7, 16, 32, 64, 100, 128, 256, 300, 512, 1024])
def test_size_bins_partition_the_widths_at_every_detector(width):
    bins = ev.size_bins(width)
    _check_partition(bins)
    assert len(bins) <= 10
    for name, lo, hi in bins:  # the names give the range
        assert name == (f"w ≥ {lo} px" if hi == math.inf else
                        f"w {lo} px" if lo == hi else f"w {lo}–{hi} px")


def test_size_bins_scale_with_the_detector_and_merge_when_they_collide():
    assert [(lo, hi) for _, lo, hi in ev.size_bins(128)] == [
        (1, 1), (2, 2), (3, 3), (4, 5), (6, 7), (8, 10), (11, 14), (15, 20), (21, 30),
        (31, math.inf),
    ]
    assert [hi for _, _, hi in ev.size_bins(512)][:-1] == [4, 8, 12, 18, 26, 38, 54, 78, 118]
    # at 64 px the first bins' scaled edges collide: eight bins, none empty
    assert [(lo, hi) for _, lo, hi in ev.size_bins(64)] == [
        (1, 1), (2, 2), (3, 3), (4, 5), (6, 7), (8, 10), (11, 15), (16, math.inf),
    ]
    assert ev.size_bins(1) == (("w ≥ 1 px", 1, math.inf),)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(
            ValueError,
            match=rf"Expected a positive detector width in pixels\. Received width={bad!r}\.",
        ):
            ev.size_bins(bad)


def test_bin_rows_counts_areas_and_scores():
    seq = make_sequence(T=3)
    out = inpaint(np.where(seq.holes, 0, seq.frames), seq.holes, method="nearest")
    rows = ev.bin_rows(seq.frames, out, seq.holes, method="nearest", seed=1)
    assert [r["bin"] for r in rows] == [b[0] for b in ev.SIZE_BINS]
    # widths 2, 9 and 19 px: bins 1–2, 7–9 and 14–19 at 256 px
    assert [r["n_holes"] for r in rows] == [3, 0, 0, 3, 0, 3, 0, 0, 0, 0]
    assert sum(r["n_pixels"] for r in rows) == seq.holes.sum()
    _, _, areas = ev.hole_components(seq.holes)
    full = [r for r in rows if r["n_holes"]]
    assert [r["area_median"] for r in full] == [float(np.median(areas[i::3])) for i in range(3)]
    assert all(math.isnan(r["area_median"]) for r in rows if not r["n_holes"])
    for r in full:
        assert r["ci_low"] <= r["psnr_mean"] <= r["ci_high"]
        assert r["method"] == "nearest" and np.isfinite(r["pooled_psnr"])
    # nearest degrades with hole width
    assert full[0]["pooled_psnr"] > full[2]["pooled_psnr"]
    again = ev.bin_rows(seq.frames, out, seq.holes, method="nearest", seed=1)
    assert again == rows  # the bootstrap is seeded


def test_empty_bin_has_zero_count_and_nan():
    holes = np.zeros((1, 32, 32), bool)
    holes[0, 10:13, 5:25] = True
    frames = np.full(holes.shape, 0.5, np.float32)
    rows = ev.bin_rows(frames, frames + 0.01, holes, method="m")
    assert [r["n_holes"] for r in rows] == [0, 1] + [0] * 8
    assert rows[1]["area_median"] == 60.0
    assert math.isnan(rows[0]["psnr_mean"]) and math.isnan(rows[2]["pooled_psnr"])
    np.testing.assert_allclose(rows[1]["pooled_psnr"], 40.0, atol=1e-3)


def test_error_by_distance_rings():
    holes = np.zeros((1, 21, 21), bool)
    holes[0, 5:16, 5:16] = True  # 11 x 11 square: distances 1..6 from the border
    target = np.zeros(holes.shape)
    dist = ndi.distance_transform_edt(holes[0])
    output = np.where(holes, 0.01 * np.rint(dist)[None], 0.0)  # error grows with distance
    rows = ev.error_by_distance(target, output, holes, method="m", max_distance=4)
    assert [r["distance"] for r in rows] == [1, 2, 3, 4]
    assert sum(r["n_pixels"] for r in rows) == holes.sum()
    assert rows[0]["n_pixels"] == 40  # the outer ring of the square
    np.testing.assert_allclose([r["mae"] for r in rows[:3]], [0.01, 0.02, 0.03])
    assert rows[0]["psnr"] > rows[1]["psnr"] > rows[2]["psnr"]

"""Tests of xinpaint.evaluation (the runner) and xinpaint.plotting.panels."""

from __future__ import annotations

import csv
import importlib
import json
import math
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.ndimage as ndi

from xinpaint import evaluation as ev
from xinpaint.baselines import inpaint

ROW_KEYS = {
    "method",
    "hole_psnr",
    "hole_ssim",
    "hole_mae",
    "hole_mse",
    "psnr",
    "ssim",
    "mae",
    "mse",
    "seconds_per_frame",
    "n_frames",
}


def _stub_evaluate(targets, outputs, holes, *, method, seconds):
    """Stand-in for xinpaint.metrics.evaluate with its row keys (used only if it is missing)."""
    err = outputs.astype(np.float64) - targets
    hmse, mse = float(np.mean(err[holes] ** 2)), float(np.mean(err**2))
    n = targets.shape[0]
    return {
        "method": method,
        "hole_psnr": 10 * math.log10(1 / hmse),
        "hole_ssim": math.nan,
        "hole_mae": float(np.mean(np.abs(err[holes]))),
        "hole_mse": hmse,
        "psnr": 10 * math.log10(1 / mse),
        "ssim": math.nan,
        "mae": float(np.mean(np.abs(err))),
        "mse": mse,
        "seconds_per_frame": seconds / n,
        "n_frames": n,
    }


@pytest.fixture(autouse=True)
def metrics_module(monkeypatch):
    """The real xinpaint.metrics when it exists, else a stub with the agreed signature."""
    try:
        module = importlib.import_module("xinpaint.metrics")
        if hasattr(module, "evaluate"):
            return module
    except ImportError:
        pass
    stub = types.ModuleType("xinpaint.metrics")
    stub.evaluate = _stub_evaluate
    monkeypatch.setitem(sys.modules, "xinpaint.metrics", stub)
    import xinpaint

    monkeypatch.setattr(xinpaint, "metrics", stub, raising=False)
    return stub


@dataclass
class Seq:
    frames: np.ndarray
    holes: np.ndarray


def make_sequence(T=4, H=64, W=64, seed=0):
    """Smooth frames with, in every frame, a thin needle (3 px), a thick one (9 px), a coin (r=10)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W] / H
    frames, holes = [], []
    for t in range(T):
        frames.append(0.4 + 0.2 * np.sin(3 * x + 0.1 * t + rng.uniform()) * np.cos(2 * y))
        yy, xx = np.mgrid[0:H, 0:W]
        h = np.abs(xx - 0.3 * yy - 6 - t) <= 1  # thin: 3 px wide
        h |= (np.abs(xx - 40 - t) <= 4) & (yy < 20)  # thick: 9 px wide
        h |= (yy - 45) ** 2 + (xx - 44 + t) ** 2 <= 100  # coin: radius 10, width 21
        holes.append(h)
    return Seq(np.array(frames, dtype=np.float32), np.array(holes))


def test_hole_components_widths_and_areas():
    holes = np.zeros((2, 40, 40), bool)
    holes[0, 5:8, 2:30] = True  # 3 px wide needle
    yy, xx = np.mgrid[0:40, 0:40]
    holes[0] |= (yy - 25) ** 2 + (xx - 25) ** 2 <= 36  # coin r=6: width 13
    holes[1, 10:19, 10:12] = True  # 2 px wide: an even width w counts as w - 1
    labels, widths, areas = ev.hole_components(holes)
    assert labels.max() == 3 == len(widths)
    assert widths.tolist() == [3, 11, 1]  # a digital coin of radius r: about 2 r - 1
    assert areas.sum() == holes.sum()
    # components never span frames
    assert set(np.unique(labels[0])) & set(np.unique(labels[1])) == {0}


def test_bin_rows_counts_and_scores():
    seq = make_sequence(T=3)
    out = inpaint(np.where(seq.holes, 0, seq.frames), seq.holes, method="nearest")
    rows = ev.bin_rows(seq.frames, out, seq.holes, method="nearest", seed=1)
    assert [r["bin"] for r in rows] == [b[0] for b in ev.SIZE_BINS]
    assert [r["n_holes"] for r in rows] == [3, 3, 3]
    assert sum(r["n_pixels"] for r in rows) == seq.holes.sum()
    for r in rows:
        assert r["ci_low"] <= r["psnr_mean"] <= r["ci_high"]
        assert r["method"] == "nearest" and np.isfinite(r["pooled_psnr"])
    # nearest degrades with hole width
    assert rows[0]["pooled_psnr"] > rows[2]["pooled_psnr"]
    again = ev.bin_rows(seq.frames, out, seq.holes, method="nearest", seed=1)
    assert again == rows  # the bootstrap is seeded


def test_empty_bin_has_zero_count_and_nan():
    holes = np.zeros((1, 32, 32), bool)
    holes[0, 10:13, 5:25] = True
    frames = np.full(holes.shape, 0.5, np.float32)
    rows = ev.bin_rows(frames, frames + 0.01, holes, method="m")
    assert [r["n_holes"] for r in rows] == [1, 0, 0]
    assert math.isnan(rows[1]["psnr_mean"]) and math.isnan(rows[2]["pooled_psnr"])
    np.testing.assert_allclose(rows[0]["pooled_psnr"], 40.0, atol=1e-3)


def test_runner_writes_json_and_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("XINPAINT_RESULTS_DIR", str(tmp_path))
    seqs = [make_sequence(T=3, seed=0), make_sequence(T=3, seed=1)]

    def zeros(frames, holes):
        return np.where(holes, 0.5, frames)

    res = ev.evaluate_methods(
        seqs,
        {"nearest": "nearest", "biharmonic": "biharmonic", "flat": zeros},
        chapter="unit",
        profile="smoke",
        max_frames=5,
        bins=ev.SIZE_BINS,  # widths of a 256-pixel detector: 3, 9 and 21 px fall in one bin each
    )
    assert [r["method"] for r in res.rows] == ["nearest", "biharmonic", "flat"]
    assert ROW_KEYS <= set(res.rows[0])
    assert all(r["n_frames"] == 5 for r in res.rows)
    assert res.targets.shape == (5, 64, 64) and set(res.outputs) == {
        "nearest",
        "biharmonic",
        "flat",
    }
    by = {r["method"]: r["hole_psnr"] for r in res.rows}
    assert by["biharmonic"] > by["nearest"] > by["flat"]
    # the methods never saw the truth under the holes
    assert not res.inputs[res.holes].any()

    payload = json.loads((tmp_path / "unit.json").read_text())
    assert list(payload) == ["chapter", "profile", "split", "rows", "bins"]
    assert (
        payload["chapter"] == "unit"
        and payload["profile"] == "smoke"
        and payload["split"] == "test"
    )
    assert len(payload["rows"]) == 3 and ROW_KEYS <= set(payload["rows"][0])
    assert len(payload["bins"]) == 3 * len(ev.SIZE_BINS)
    assert {b["n_holes"] for b in payload["bins"]} == {5}
    for b in payload["bins"]:
        assert {"method", "bin", "n_holes", "psnr_mean", "ci_low", "ci_high"} <= set(b)
    with open(tmp_path / "unit.csv", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [r["method"] for r in csv_rows] == ["nearest", "biharmonic", "flat"]
    assert ROW_KEYS <= set(csv_rows[0])
    with open(tmp_path / "unit-bins.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 9
    assert res.paths["json"] == tmp_path / "unit.json"


def test_temporal_methods_receive_whole_sequences():
    seen = []

    def spy(frames, holes):
        seen.append(frames.shape)
        return np.where(holes, 0.5, frames)

    ev.evaluate_methods([make_sequence(T=3), make_sequence(T=4)], [spy], max_frames=6)
    assert seen == [(1, 64, 64), (3, 64, 64), (3, 64, 64)]  # warm-up on one frame, then timed


def test_table_rendering():
    t = ev.Table(
        [{"method": "a", "hole_psnr": 31.234, "n_frames": 4, "x": None}], ("method", "hole_psnr")
    )
    assert t.to_markdown() == "| method | hole_psnr |\n|---|---|\n| a | 31.23 |"
    html = t.to_html(digits=1)
    assert "<th>method</th>" in html and "<td>31.2</td>" in html
    assert t.where(method="a") == t and t.where(method="b") == []
    assert ev.render_table([{"v": 1.5e-5}], digits=2) == "| v |\n|---|\n| 1.50e-05 |"
    with pytest.raises(ValueError, match=r"Unknown table format: .* Received fmt='latex'\."):
        ev.render_table([], fmt="latex")


def test_runner_errors():
    seq = make_sequence(T=2)
    with pytest.raises(
        ValueError, match=r"Unknown method: expected one of nearest, .* Received method='cubic'\."
    ):
        ev.evaluate_methods([seq], ["cubic"])
    with pytest.raises(
        ValueError, match=r"Expected a baseline name or a callable .* Received method=3\."
    ):
        ev.evaluate_methods([seq], [3])
    with pytest.raises(
        ValueError,
        match=r"Expected sequences with \.frames and \.holes\. Received sequences\[0\] of type int\.",
    ):
        ev.evaluate_methods([1], ["nearest"])
    bad = Seq(seq.frames, seq.holes.astype(np.uint8))
    with pytest.raises(
        ValueError,
        match=r"Expected boolean holes .* Received sequences\[0\]\.holes with shape=\(2, 64, 64\), dtype=uint8\.",
    ):
        ev.evaluate_methods([bad], ["nearest"])
    with pytest.raises(
        ValueError, match=r"Expected a positive number of frames\. Received max_frames=0\."
    ):
        ev.evaluate_methods([seq], ["nearest"], max_frames=0)
    with pytest.raises(
        ValueError,
        match=r"Expected method 'crop' to return frames of shape \(2, 64, 64\)\. Received shape=\(2, 64, 63\)\.",
    ):
        ev.evaluate_methods([seq], {"crop": lambda f, h: f[..., :-1]})
    with pytest.raises(ValueError, match=r"Expected finite values in the holes from method 'nan'"):
        ev.evaluate_methods([seq], {"nan": lambda f, h: np.where(h, np.nan, f)})
    with pytest.raises(
        ValueError, match=r"Expected distinct method names\. Received 'nearest' twice\."
    ):
        ev.evaluate_methods([seq], ["nearest", ev.baseline_method("nearest")])


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


def test_qualitative_panel_and_bins_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xinpaint.plotting import panels

    seq = make_sequence(T=2)
    res = ev.evaluate_methods([seq], ["nearest", "rowwise"])
    outs = {k: v[0] for k, v in res.outputs.items()}
    for zoom in ("largest", "widest", "longest"):
        rows, cols = panels.hole_box(res.holes[0], which=zoom)
        assert res.holes[0][rows, cols].any()
        fig = panels.qualitative_panel(res.targets[0], res.holes[0], outs, zoom=zoom)
        assert len(fig.axes) >= 9
        plt.close(fig)
    plt.close(panels.plot_bins(res.bins))
    plt.close(panels.plot_timing(res.rows))
    with pytest.raises(ValueError, match=r"Received which='smallest'\."):
        panels.hole_box(res.holes[0], which="smallest")


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


def test_size_bins_scale_with_the_detector():
    assert ev.size_bins(256) == ev.SIZE_BINS
    assert ev.size_bins(128) == (
        ("thin needles", 1, 3),
        ("thick needles", 4, 8),
        ("coins/plates", 9, math.inf),
    )
    assert ev.size_bins(512)[1] == ("thick needles", 13, 32)
    with pytest.raises(
        ValueError, match=r"Expected a positive detector width in pixels\. Received width=0\."
    ):
        ev.size_bins(0)
    # the runner's default: bins of the frames' width (64 px: 1-2, 3-4, 5+)
    res = ev.evaluate_methods([make_sequence(T=2)], ["nearest"], warmup=False)
    assert [(r["width_min"], r["width_max"]) for r in res.bins] == [(1, 2), (3, 4), (5, None)]
    assert [r["n_holes"] for r in res.bins] == [2, 0, 4]  # thin needles, 9 px, 21 px


@dataclass
class SeqWithRibs:
    frames: np.ndarray
    holes: np.ndarray
    ribs: np.ndarray


def test_regions_are_scored_on_holes_inside_the_region(tmp_path, monkeypatch):
    monkeypatch.setenv("XINPAINT_RESULTS_DIR", str(tmp_path))
    seqs = []
    for seed in (0, 1):
        s = make_sequence(T=3, seed=seed)
        ribs = np.zeros(s.frames.shape, bool)
        ribs[:, 30:50] = True
        seqs.append(SeqWithRibs(s.frames, s.holes, ribs))

    def spoil_ribs(frames, holes):  # exact outside the rib band, wrong inside it
        out = np.where(holes, seqs[0].frames[: len(frames)], frames)
        out[:, 30:50][holes[:, 30:50]] = 0.0
        return out

    res = ev.evaluate_methods(seqs, {"biharmonic": "biharmonic", "spoil": spoil_ribs},
                              regions={"ribs": "ribs"}, max_frames=4, chapter="unit",
                              profile="smoke")
    mask = res.region_masks["ribs"]
    assert mask.shape == (4, 64, 64) and not (mask & ~res.holes).any()
    assert mask.sum() == (res.holes[:, 30:50]).sum()
    by = {r["method"]: r for r in res.regions}
    assert by["spoil"]["n_pixels"] == int(mask.sum())
    from xinpaint import metrics

    assert by["biharmonic"]["psnr"] == pytest.approx(
        metrics.psnr(res.targets, res.outputs["biharmonic"], holes=mask))
    assert by["spoil"]["psnr"] < by["biharmonic"]["psnr"]
    assert 0 < by["biharmonic"]["gradient_ssim"] <= 1
    payload = json.loads((tmp_path / "unit.json").read_text())
    assert [r["method"] for r in payload["regions"]] == ["biharmonic", "spoil"]


def test_regions_must_be_boolean_attributes_of_the_frames_shape():
    s = make_sequence(T=2)
    bad = SeqWithRibs(s.frames, s.holes, np.zeros((2, 64, 63), bool))
    with pytest.raises(ValueError, match=r"region 'ribs'.*Received sequences\[0\]\.ribs with shape=\(2, 64, 63\)"):
        ev.evaluate_methods([bad], ["nearest"], regions={"ribs": "ribs"})

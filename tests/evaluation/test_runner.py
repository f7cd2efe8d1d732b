"""Tests of xinpaint.evaluation.runner and writer (and the figures of xinpaint.plotting.panels)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.evaluation.helpers import ROW_KEYS, NoisySeq, Seq, SeqWithRibs, make_sequence
from xinpaint import evaluation as ev
from xinpaint.baselines import inpaint, smoothed


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
        bins=ev.SIZE_BINS,  # widths of a 256-pixel detector: 2, 9 and 19 px fall in three bins
    )
    assert [r["method"] for r in res.rows] == ["nearest", "biharmonic", "flat"]
    assert ROW_KEYS <= set(res.rows[0])
    assert all(r["n_frames"] == 5 for r in res.rows)
    assert res.targets.shape == (5, 64, 64) and set(res.outputs) == {
        "nearest",
        "biharmonic",
        "flat",
    }
    assert len(res.widths) == len(res.areas) == 15 and res.areas.sum() == res.holes.sum()
    by = {r["method"]: r["hole_psnr"] for r in res.rows}
    assert by["biharmonic"] > by["nearest"] > by["flat"]
    # the methods never saw the truth under the holes
    assert not res.inputs[res.holes].any()

    payload = json.loads((tmp_path / "unit.json").read_text())
    assert list(payload) == ["chapter", "profile", "split", "data", "rows", "bins", "components"]
    comp = payload["components"]
    assert comp["widths"] == res.widths.tolist() and comp["areas"] == res.areas.tolist()
    assert list(comp) == ["widths", "areas", "sequence", "sq_error"]
    # 3 components a frame: 3 frames of sequences[0], the first 2 of sequences[1]
    assert comp["sequence"] == res.component_sequence.tolist() == [0] * 9 + [1] * 6
    assert list(comp["sq_error"]) == ["nearest", "biharmonic", "flat"]
    for name, sq in res.component_sq.items():
        # the squared errors of each component, rounded to 6 significant digits
        np.testing.assert_allclose(comp["sq_error"][name], sq, rtol=5e-6, atol=0)
    assert payload["data"] == "ideal"  # synthetic sequences without a physics: the ideal kind
    assert (
        payload["chapter"] == "unit"
        and payload["profile"] == "smoke"
        and payload["split"] == "test"
    )
    assert len(payload["rows"]) == 3 and ROW_KEYS <= set(payload["rows"][0])
    assert len(payload["bins"]) == 3 * len(ev.SIZE_BINS)
    assert {b["n_holes"] for b in payload["bins"]} == {0, 5}
    assert [b["bin"] for b in payload["bins"] if b["n_holes"]][:3] == [
        "w 1–2 px", "w 7–9 px", "w 14–19 px"
    ]
    for b in payload["bins"]:
        assert {"method", "bin", "n_holes", "area_median", "psnr_mean", "ci_low", "ci_high"} <= set(b)
        assert (b["area_median"] is None) == (b["n_holes"] == 0)  # NaN written as null
    with open(tmp_path / "unit.csv", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [r["method"] for r in csv_rows] == ["nearest", "biharmonic", "flat"]
    assert ROW_KEYS <= set(csv_rows[0])
    with open(tmp_path / "unit-bins.csv", newline="", encoding="utf-8") as fh:
        bins_csv = list(csv.DictReader(fh))
    assert len(bins_csv) == 30 and bins_csv[9]["bin"] == "w ≥ 60 px"
    assert res.paths["json"] == tmp_path / "unit.json" and "volumes_csv" not in res.paths


def _without_components(text):
    """The lines of a JSON text, less those of its top-level "components" entry."""
    lines = text.splitlines()
    start = lines.index('  "components": {')
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("  }"))
    return lines[:start] + lines[end + 1 :]


def test_component_lists_are_written_on_one_line_each(tmp_path, monkeypatch):
    from xinpaint.chapter import write_json
    from xinpaint.evaluation.writer import _dumps

    monkeypatch.setenv("XINPAINT_RESULTS_DIR", str(tmp_path))
    seqs = [SeqWithRibs(**vars(make_sequence(T=t, seed=t)), ribs=np.ones((t, 64, 64), bool))
            for t in (3, 2)]
    ev.evaluate_methods(seqs, ["nearest", "linear"], chapter="unit", profile="smoke",
                        regions={"ribs": "ribs"}, volume=lambda seq, out: {"psnr": 1.0})
    text = (tmp_path / "unit.json").read_text(encoding="utf-8")
    record = json.loads(text)
    assert list(record) == ["chapter", "profile", "split", "data", "rows", "bins", "components",
                            "regions", "volumes"]
    comp = record["components"]
    lines = text.splitlines()
    one_line = {"widths": comp["widths"], "areas": comp["areas"], "sequence": comp["sequence"],
                **comp["sq_error"]}
    for key, values in one_line.items():
        assert len(values) == 15
        [line] = [x for x in lines if x.lstrip().startswith(f'"{key}": [')]
        assert json.loads("{" + line.rstrip(",") + "}") == {key: values}  # the whole list
    start = lines.index('  "components": {')
    assert lines[start + 1 : start + 9] == [
        f'    "widths": {json.dumps(comp["widths"])},',
        f'    "areas": {json.dumps(comp["areas"])},',
        f'    "sequence": {json.dumps(comp["sequence"])},',
        '    "sq_error": {',
        f'      "nearest": {json.dumps(comp["sq_error"]["nearest"])},',
        f'      "linear": {json.dumps(comp["sq_error"]["linear"])}',
        "    }",
        "  },",
    ]
    # everything else is what write_json writes, one number per line
    write_json(tmp_path / "plain.json", record)
    plain = (tmp_path / "plain.json").read_text(encoding="utf-8")
    assert _without_components(text) == _without_components(plain)
    assert len(plain.splitlines()) > len(lines) + 5 * 15
    assert text.endswith("}\n") and plain.endswith("}\n")
    # a record without components is written exactly as write_json writes it
    rest = {k: v for k, v in record.items() if k != "components"}
    assert _dumps(rest) + "\n" == write_json(tmp_path / "rest.json", rest).read_text(encoding="utf-8")
    # a record that holds a placeholder itself is written plain, never garbled
    odd = {"note": "@@xinpaint-one-line-0@@", "components": {"widths": [1, 2]}}
    assert _dumps(odd) == json.dumps(odd, indent=2)
    assert json.loads(_dumps({"components": {"a": [1, [2, 3]], "b": 4}, "c": [5]})) == {
        "components": {"a": [1, [2, 3]], "b": 4}, "c": [5]}


def test_temporal_methods_receive_whole_sequences():
    seen = []

    def spy(frames, holes):
        seen.append(frames.shape)
        return np.where(holes, 0.5, frames)

    ev.evaluate_methods([make_sequence(T=3), make_sequence(T=4)], [spy], max_frames=6)
    assert seen == [(1, 64, 64), (3, 64, 64), (3, 64, 64)]  # warm-up on one frame, then timed


def _noisy(seq, sigma=0.02, seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, sigma, seq.frames.shape).astype(np.float32)
    observed = np.where(seq.holes, 1.0, seq.frames + noise).astype(np.float32)  # metal saturates
    return NoisySeq(target=seq.frames, observed=observed, holes=seq.holes)


def test_runner_feeds_observed_frames_and_scores_against_the_target():
    seq = _noisy(make_sequence(T=2))
    got = []

    def spy(frames, holes):
        got.append(frames.copy())
        return np.where(holes, 0.5, frames)

    res = ev.evaluate_methods([seq], {"spy": spy, "keep": lambda f, h: f}, warmup=False)
    # fed: the observed frames, hidden pixels set to 0 (the metal's value never reaches a method)
    np.testing.assert_array_equal(got[0], np.where(seq.holes, 0, seq.observed))
    np.testing.assert_array_equal(res.inputs, got[0])
    # scored: against the noise-free target
    np.testing.assert_array_equal(res.targets, seq.target)
    from xinpaint import metrics

    expected = metrics.evaluate(seq.target, res.outputs["spy"], seq.holes, method="spy", seconds=0)
    assert res.rows[0]["hole_psnr"] == pytest.approx(expected["hole_psnr"])
    # whole-image scores see the noise of the visible pixels, which the method kept
    assert res.rows[1]["psnr"] < 40


def test_runner_on_ideal_data_is_unchanged_by_observed():
    # a sequence whose observed equals its frames outside the holes gives the same results
    clean = make_sequence(T=2)
    metal = NoisySeq(
        target=clean.frames,
        observed=np.clip(clean.frames + 0.6 * clean.holes, 0, 1).astype(np.float32),
        holes=clean.holes,
    )
    a = ev.evaluate_methods([clean], ["biharmonic"], warmup=False)
    b = ev.evaluate_methods([metal], ["biharmonic"], warmup=False)
    np.testing.assert_array_equal(a.outputs["biharmonic"], b.outputs["biharmonic"])
    assert list(a.bins) == list(b.bins)


def test_runner_accepts_smoothed_baselines_and_names_them():
    seq = _noisy(make_sequence(T=2), sigma=0.03)
    res = ev.evaluate_methods(
        [seq], ["biharmonic", smoothed("biharmonic", 1.0), "biharmonic (σ 0.75)"], warmup=False
    )
    assert [r["method"] for r in res.rows] == [
        "biharmonic", "biharmonic (σ 1)", "biharmonic (σ 0.75)"
    ]
    np.testing.assert_array_equal(
        res.outputs["biharmonic (σ 1)"],
        inpaint(res.inputs, seq.holes, method="biharmonic", smooth=1.0),
    )
    hole_psnr = {r["method"]: r["hole_psnr"] for r in res.rows}
    assert hole_psnr["biharmonic (σ 1)"] > hole_psnr["biharmonic"]


def test_runner_accepts_callables_with_bound_arguments():
    import functools

    def shift_fill(frames, holes, *, geometry):  # a method that needs more than the frames
        return np.where(holes, geometry, frames)

    seq = make_sequence(T=2)
    res = ev.evaluate_methods([seq], [functools.partial(shift_fill, geometry=0.4)], warmup=False)
    assert [r["method"] for r in res.rows] == ["shift_fill"]
    np.testing.assert_array_equal(res.outputs["shift_fill"][seq.holes], np.float32(0.4))


def test_volume_callback_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("XINPAINT_RESULTS_DIR", str(tmp_path))
    seqs = [make_sequence(T=2, seed=0), make_sequence(T=3, seed=1)]
    calls = []

    def volume(sequence, output):
        calls.append((sequence, output.shape))
        err = output - sequence.frames[: len(output)]
        return {"volume_mse": float(np.mean(err**2)), "n_frames": len(output)}

    res = ev.evaluate_methods(seqs, ["nearest", "biharmonic"], max_frames=4, volume=volume,
                              chapter="unit", profile="smoke", warmup=False)
    assert [(s is seqs[i], shape) for (s, shape), i in zip(calls, [0, 1, 0, 1], strict=True)] == [
        (True, (2, 64, 64)), (True, (2, 64, 64)), (True, (2, 64, 64)), (True, (2, 64, 64))
    ]
    assert [(r["method"], r["sequence"]) for r in res.volumes] == [
        ("nearest", 0), ("nearest", 1), ("biharmonic", 0), ("biharmonic", 1)
    ]
    assert res.volumes[0]["volume_mse"] > res.volumes[2]["volume_mse"] > 0
    payload = json.loads((tmp_path / "unit.json").read_text())
    assert payload["volumes"] == [dict(r) for r in res.volumes]
    with open(res.paths["volumes_csv"], newline="") as fh:
        assert [r["method"] for r in csv.DictReader(fh)] == ["nearest"] * 2 + ["biharmonic"] * 2
    with pytest.raises(ValueError, match=r"Expected volume to be a callable .* Received volume=3\."):
        ev.evaluate_methods(seqs, ["nearest"], volume=3)
    with pytest.raises(
        ValueError,
        match=r"Expected volume\(sequence, output\) to return a dict of scores\. "
        r"Received float for method 'nearest', sequences\[0\]\.",
    ):
        ev.evaluate_methods(seqs, ["nearest"], volume=lambda s, o: 1.0, warmup=False)


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
    odd = NoisySeq(seq.frames, seq.frames[:, :, :-1], seq.holes)
    with pytest.raises(
        ValueError,
        match=r"Expected observed frames of the frames' shape \(2, 64, 64\) in each sequence\. "
        r"Received sequences\[0\]\.observed\.shape=\(2, 64, 63\)\.",
    ):
        ev.evaluate_methods([odd], ["nearest"])
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


def test_runner_default_bins_are_those_of_the_frames_width():
    # 64 px: the ten bins merge to eight (1, 2, 3, 4–5, 6–7, 8–10, 11–15, 16+)
    res = ev.evaluate_methods([make_sequence(T=2)], ["nearest"], warmup=False)
    assert [r["bin"] for r in res.bins] == [name for name, _, _ in ev.size_bins(64)]
    assert [(r["width_min"], r["width_max"]) for r in res.bins][-2:] == [(11, 15), (16, None)]
    counts = {r["bin"]: r["n_holes"] for r in res.bins if r["n_holes"]}
    assert counts == {"w 2 px": 2, "w 8–10 px": 2, "w ≥ 16 px": 2}  # widths 2, 9, 19


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


def test_a_method_gets_the_sequence_attributes_it_names():
    from dataclasses import dataclass

    @dataclass
    class WithPrior(Seq):
        prior: np.ndarray | None = None

    base = make_sequence(T=3, seed=0)
    seqs = [WithPrior(base.frames, base.holes, prior=base.frames * 2.0)]
    seen = []

    def from_prior(frames, holes, prior):
        seen.append(prior.shape)
        return np.where(holes, prior / 2.0, frames)

    from_prior.inputs = ("prior",)
    res = ev.evaluate_methods(seqs, {"prior": from_prior}, max_frames=2, warmup=True)
    assert seen == [(1, 64, 64), (2, 64, 64)]  # warm-up frame, then the frames evaluated
    np.testing.assert_allclose(res.outputs["prior"], base.frames[:2], rtol=1e-6)
    with pytest.raises(ValueError, match=r"Expected sequences with 'prior' for method 'prior'\. "
                                         r"Received sequences\[0\]\.prior=None\."):
        ev.evaluate_methods([WithPrior(base.frames, base.holes)], {"prior": from_prior})
    with pytest.raises(ValueError, match=r"Received sequences\[0\]\.prior with shape=\(3, 8, 8\)"):
        ev.evaluate_methods([WithPrior(base.frames, base.holes, prior=np.zeros((3, 8, 8)))],
                            {"prior": from_prior})

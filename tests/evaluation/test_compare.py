"""Tests of xinpaint.evaluation.compare: paired_difference, and the component errors it reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.evaluation.helpers import make_sequence
from xinpaint import evaluation as ev

METHODS = ("nearest", "biharmonic", "flat")


def _flat(frames, holes):
    return np.where(holes, 0.45, frames)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """An evaluation of three methods on two sequences, and its JSON record reloaded."""
    folder = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XINPAINT_RESULTS_DIR", str(folder))
        res = ev.evaluate_methods(
            [make_sequence(T=3, seed=0), make_sequence(T=3, seed=1)],
            {"nearest": "nearest", "biharmonic": "biharmonic", "flat": _flat},
            chapter="unit", profile="smoke", warmup=False,
        )
    record = json.loads((folder / "unit.json").read_text(encoding="utf-8"))
    return res, record


def _record(widths, areas, **sq):
    """A record as write_results writes it, with only the components."""
    return {"components": {"widths": list(widths), "areas": list(areas),
                           "sq_error": {k: list(v) for k, v in sq.items()}}}


def _synthetic(n, seed=0, spread=1.5, noise=0.1, gain=1.3):
    """Components whose difficulty varies a lot and is shared by both methods (correlated errors)."""
    rng = np.random.default_rng(seed)
    areas = rng.integers(10, 400, n)
    widths = rng.integers(1, 40, n)
    mse = 1e-4 * rng.lognormal(0, spread, n)  # hard and easy components
    sq_a = areas * mse
    sq_b = sq_a * gain * rng.lognormal(0, noise, n)  # B: about 30 % more error on the same holes
    return widths, areas, sq_a, sq_b


def _pooled(sq, areas):
    return 10 * np.log10(np.sum(areas) / np.sum(sq))


def test_component_sq_are_the_squared_errors_of_each_component(recorded):
    res, _ = recorded
    labels, widths, areas = ev.hole_components(res.holes)
    np.testing.assert_array_equal(widths, res.widths)
    assert list(res.component_sq) == list(METHODS)
    for name in METHODS:
        err2 = (res.outputs[name].astype(np.float64) - res.targets.astype(np.float64)) ** 2
        expected = [err2[labels == k].sum() for k in range(1, len(widths) + 1)]
        np.testing.assert_allclose(res.component_sq[name], expected, rtol=1e-12)
        assert res.component_sq[name].shape == areas.shape


def test_pooled_psnr_difference_matches_numpy(recorded):
    res, _ = recorded
    err2 = {m: (res.outputs[m].astype(np.float64) - res.targets) ** 2 for m in METHODS}
    ref = {m: 10 * np.log10(res.holes.sum() / err2[m][res.holes].sum()) for m in METHODS}
    d = ev.paired_difference(res, "biharmonic", "nearest")
    assert d["method_a"] == "biharmonic" and d["method_b"] == "nearest"
    assert d["psnr_a"] == pytest.approx(ref["biharmonic"], abs=1e-9)
    assert d["psnr_b"] == pytest.approx(ref["nearest"], abs=1e-9)
    assert d["difference_db"] == pytest.approx(ref["biharmonic"] - ref["nearest"], abs=1e-9)
    assert d["n_holes"] == len(res.widths) and d["n_pixels"] == int(res.holes.sum())
    assert d["ci_low"] <= d["difference_db"] <= d["ci_high"]
    assert d["supported"] == (d["ci_low"] > 0)
    assert set(d) == {"method_a", "method_b", "psnr_a", "psnr_b", "difference_db", "ci_low",
                      "ci_high", "n_holes", "n_pixels", "supported"}
    # the other way round: the same numbers, negated
    r = ev.paired_difference(res, "nearest", "biharmonic")
    assert r["difference_db"] == pytest.approx(-d["difference_db"], abs=1e-12)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-d["ci_high"], -d["ci_low"]), abs=1e-9)


def test_width_limits_select_the_components_of_a_size_bin(recorded):
    res, _ = recorded
    labels, widths, _ = ev.hole_components(res.holes)
    lo, hi = 5, 12  # the 9 px needle only (widths 2, 9 and 19)
    d = ev.paired_difference(res, "flat", "nearest", min_width=lo, max_width=hi)
    keep = (widths >= lo) & (widths <= hi)
    mask = res.holes & keep[np.maximum(labels, 1) - 1]
    ref = {m: 10 * np.log10(mask.sum() / ((res.outputs[m] - res.targets.astype(np.float64))[mask] ** 2).sum())
           for m in ("flat", "nearest")}
    assert d["n_holes"] == int(keep.sum()) == 6 and d["n_pixels"] == int(mask.sum())
    assert d["psnr_a"] == pytest.approx(ref["flat"], abs=1e-9)
    assert d["psnr_b"] == pytest.approx(ref["nearest"], abs=1e-9)
    assert ev.paired_difference(res, "flat", "nearest", min_width=10)["n_holes"] == int((widths >= 10).sum())
    assert ev.paired_difference(res, "flat", "nearest", max_width=9)["n_holes"] == int((widths <= 9).sum())
    # the edges of each bin give the bin's pooled PSNR, components and pixels
    for row in res.bins:
        if not row["n_holes"]:
            continue
        d = ev.paired_difference(res, row["method"], "flat", min_width=row["width_min"],
                                 max_width=row["width_max"])
        assert d["psnr_a"] == pytest.approx(row["pooled_psnr"], abs=1e-9)
        assert (d["n_holes"], d["n_pixels"]) == (row["n_holes"], row["n_pixels"])


def test_a_method_against_itself_differs_by_nothing(recorded):
    res, record = recorded
    for result in (res, record):
        d = ev.paired_difference(result, "biharmonic", "biharmonic")
        assert d["difference_db"] == 0 and (d["ci_low"], d["ci_high"]) == (0.0, 0.0)
        assert d["psnr_a"] == d["psnr_b"] and d["supported"] is False


def test_record_gives_the_evaluation_s_result(recorded):
    res, record = recorded
    for limits in ({}, {"min_width": 5, "max_width": 30}):
        for a, b in (("biharmonic", "nearest"), ("flat", "biharmonic")):
            live = ev.paired_difference(res, a, b, seed=3, **limits)
            kept = ev.paired_difference(record, a, b, seed=3, **limits)
            assert set(live) == set(kept)
            for key, value in live.items():
                if isinstance(value, float):  # errors recorded to 6 significant digits
                    assert kept[key] == pytest.approx(value, abs=1e-4), key
                else:
                    assert kept[key] == value, key


def test_ci_contains_the_estimate_and_shrinks_with_more_components():
    widths = {}
    for n in (30, 3000):
        w, areas, sq_a, sq_b = _synthetic(n, seed=n)
        d = ev.paired_difference(_record(w, areas, a=sq_a, b=sq_b), "b", "a", seed=1)
        assert d["difference_db"] == pytest.approx(_pooled(sq_b, areas) - _pooled(sq_a, areas))
        assert d["ci_low"] < d["difference_db"] < d["ci_high"]
        assert d["difference_db"] < 0 and d["supported"] is False  # B has more error than A
        widths[n] = d["ci_high"] - d["ci_low"]
    # 100 times the components: about 10 times narrower for light tails, less for these
    assert 0 < widths[3000] < widths[30] / 2
    # the seed fixes the interval; another seed moves it a little
    w, areas, sq_a, sq_b = _synthetic(200)
    rec = _record(w, areas, a=sq_a, b=sq_b)
    one, again, other = (ev.paired_difference(rec, "a", "b", seed=s) for s in (0, 0, 1))
    assert one == again and one["ci_low"] != other["ci_low"]
    assert one["supported"] and one["ci_low"] == pytest.approx(other["ci_low"], abs=0.1)


def test_paired_bootstrap_is_narrower_than_an_unpaired_one_on_correlated_errors():
    w, areas, sq_a, sq_b = _synthetic(300, seed=7)
    d = ev.paired_difference(_record(w, areas, a=sq_a, b=sq_b), "a", "b", seed=0, n_boot=2000)
    rng = np.random.default_rng(11)

    def boot(paired):
        out = []
        for _ in range(2000):
            i = rng.integers(0, len(areas), len(areas))
            j = i if paired else rng.integers(0, len(areas), len(areas))
            out.append(_pooled(sq_a[i], areas[i]) - _pooled(sq_b[j], areas[j]))
        return np.percentile(out, [2.5, 97.5])

    paired, unpaired = boot(True), boot(False)
    width = d["ci_high"] - d["ci_low"]
    assert width == pytest.approx(paired[1] - paired[0], rel=0.25)  # the same method, another draw
    assert width < (unpaired[1] - unpaired[0]) / 3
    assert d["supported"] and d["ci_low"] > 0 > unpaired[0]  # only the paired test sees it


def test_paired_difference_errors(recorded):
    res, _ = recorded
    w, areas, sq_a, sq_b = _synthetic(10)
    rec = _record(w, areas, a=sq_a, b=sq_b)
    with pytest.raises(
        ValueError,
        match=r"^Unknown method: expected one of nearest, biharmonic, flat\. Received a='cubic'\.$",
    ):
        ev.paired_difference(res, "cubic", "nearest")
    with pytest.raises(ValueError, match=r"^Unknown method: expected one of a, b\. Received b=3\.$"):
        ev.paired_difference(rec, "a", 3)
    old = {"chapter": "interpolation", "profile": "cpu", "rows": [], "bins": []}
    with pytest.raises(
        ValueError,
        match=r'^Expected a record with squared errors per hole component \(its "components" entry, '
        r"written by write_results\)\. Received a record of chapter 'interpolation' without "
        r"component errors: evaluate the methods again to record them\.$",
    ):
        ev.paired_difference(old, "linear", "nearest")
    with pytest.raises(ValueError, match=r"Received a record without component errors"):
        ev.paired_difference({"rows": []}, "linear", "nearest")
    with pytest.raises(
        ValueError,
        match=r'^Expected result\["components"\] to hold "widths", "areas" and "sq_error"\. '
        r"Received keys \['areas', 'widths'\]\.$",
    ):
        ev.paired_difference({"components": {"widths": [], "areas": []}}, "a", "b")
    empty = ev.Evaluation(rows=res.rows, bins=res.bins, targets=res.targets, holes=res.holes,
                          inputs=res.inputs)
    with pytest.raises(
        ValueError,
        match=r"^Expected an evaluation with squared errors per hole component .* "
        r"Received an Evaluation with component_sq=\{\}\.$",
    ):
        ev.paired_difference(empty, "nearest", "flat")
    with pytest.raises(
        ValueError,
        match=r"^Expected an Evaluation or a loaded JSON record \(dict\) of evaluate_methods\. "
        r"Received result of type list\.$",
    ):
        ev.paired_difference([], "a", "b")
    with pytest.raises(ValueError, match=r"^Expected a non-negative integer seed\. Received seed=-1\.$"):
        ev.paired_difference(rec, "a", "b", seed=-1)
    with pytest.raises(
        ValueError, match=r"^Expected a positive number of bootstrap resamples\. Received n_boot=0\.$"
    ):
        ev.paired_difference(rec, "a", "b", n_boot=0)
    with pytest.raises(
        ValueError,
        match=r"^Expected min_width to be a number of pixels or None\. Received min_width='3'\.$",
    ):
        ev.paired_difference(rec, "a", "b", min_width="3")
    with pytest.raises(
        ValueError, match=r"^Expected min_width <= max_width\. Received min_width=9, max_width=5\.$"
    ):
        ev.paired_difference(rec, "a", "b", min_width=9, max_width=5)
    with pytest.raises(
        ValueError,
        match=r"^Expected at least one hole component with a width in \[min_width, max_width\]\. "
        r"Received min_width=20, max_width=None \(widths recorded: 2–19 px\)\.$",
    ):
        ev.paired_difference(res, "nearest", "flat", min_width=20)
    bad = _record(w, areas[:-1], a=sq_a, b=sq_b)
    with pytest.raises(
        ValueError,
        match=r"^Expected one width, area and squared error per hole component\. "
        r"Received 10 widths, 9 areas, 10 errors of 'a' and 10 of 'b'\.$",
    ):
        ev.paired_difference(bad, "a", "b")

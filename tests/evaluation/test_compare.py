"""Tests of xinpaint.evaluation.compare: paired_difference, and the component errors it reads."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.evaluation.helpers import Seq, make_sequence
from xinpaint import evaluation as ev
from xinpaint.evaluation.compare import NO_SEQUENCES_NOTE

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


def _record(widths, areas, sequence=None, **sq):
    """A record as write_results writes it, with only the components (no "sequence": an old one)."""
    components = {"widths": list(widths), "areas": list(areas)}
    if sequence is not None:
        components["sequence"] = [int(i) for i in sequence]
    components["sq_error"] = {k: list(v) for k, v in sq.items()}
    return {"components": components}


def _blocks(n_blocks, per_block, seed=0):
    """Blocks of ``per_block`` identical components (the same screw in neighbouring frames).

    Returns the record with one sequence per block, and the record of the blocks
    collapsed into one component each (their errors and areas summed).
    """
    w, areas, sq_a, sq_b = _synthetic(n_blocks, seed=seed)
    widths, areas_, sequence, a, b = (np.repeat(v, per_block)
                                      for v in (w, areas, np.arange(n_blocks), sq_a, sq_b))
    blocks = _record(widths, areas_, sequence, a=a, b=b)
    collapsed = _record(w, per_block * areas, a=per_block * sq_a, b=per_block * sq_b)
    return blocks, collapsed


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
                      "ci_high", "n_holes", "n_pixels", "supported", "resampled", "n_clusters",
                      "note"}
    assert (d["resampled"], d["n_clusters"], d["note"]) == ("sequences", 2, None)
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
    assert record["components"]["sequence"] == res.component_sequence.tolist()
    for limits, cluster in (({}, "sequence"), ({"min_width": 5, "max_width": 30}, "sequence"),
                            ({}, "component")):
        for a, b in (("biharmonic", "nearest"), ("flat", "biharmonic")):
            live = ev.paired_difference(res, a, b, seed=3, cluster=cluster, **limits)
            kept = ev.paired_difference(record, a, b, seed=3, cluster=cluster, **limits)
            assert live["resampled"] == cluster + "s" and live["note"] is None
            assert live["n_clusters"] == (2 if cluster == "sequence" else live["n_holes"])
            assert live["ci_low"] < live["ci_high"]  # a real interval, not one cluster
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
        d = ev.paired_difference(_record(w, areas, a=sq_a, b=sq_b), "b", "a", seed=1,
                                 cluster="component")
        assert d["difference_db"] == pytest.approx(_pooled(sq_b, areas) - _pooled(sq_a, areas))
        assert d["ci_low"] < d["difference_db"] < d["ci_high"]
        assert d["difference_db"] < 0 and d["supported"] is False  # B has more error than A
        widths[n] = d["ci_high"] - d["ci_low"]
    # 100 times the components: about 10 times narrower for light tails, less for these
    assert 0 < widths[3000] < widths[30] / 2
    # the seed fixes the interval; another seed moves it a little
    w, areas, sq_a, sq_b = _synthetic(200)
    rec = _record(w, areas, a=sq_a, b=sq_b)
    one, again, other = (ev.paired_difference(rec, "a", "b", seed=s, cluster="component")
                         for s in (0, 0, 1))
    assert one == again and one["ci_low"] != other["ci_low"]
    assert one["supported"] and one["ci_low"] == pytest.approx(other["ci_low"], abs=0.1)


def test_paired_bootstrap_is_narrower_than_an_unpaired_one_on_correlated_errors():
    w, areas, sq_a, sq_b = _synthetic(300, seed=7)
    d = ev.paired_difference(_record(w, areas, a=sq_a, b=sq_b), "a", "b", seed=0, n_boot=2000,
                             cluster="component")
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


def test_component_sequence_is_the_index_of_each_component_s_sequence():
    seqs = [make_sequence(T=2, seed=0), make_sequence(T=3, seed=1), make_sequence(T=2, seed=2)]
    bare = make_sequence(T=2, seed=3)
    seqs[1:1] = [Seq(bare.frames[:0], bare.holes[:0]),  # sequences[1]: no frames, not evaluated
                 Seq(bare.frames, np.zeros_like(bare.holes))]  # sequences[2]: no holes
    res = ev.evaluate_methods(seqs, ["nearest"], max_frames=8, warmup=False)  # sequences[4]: 1 frame
    labels, widths, _ = ev.hole_components(res.holes)
    frame_seq = np.repeat([0, 2, 3, 4], [2, 2, 3, 1])  # the sequence of each evaluated frame
    expected = [frame_seq[np.nonzero(labels == k)[0][0]] for k in range(1, len(widths) + 1)]
    assert res.component_sequence.dtype == np.int64
    assert res.component_sequence.tolist() == expected == [0] * 6 + [3] * 9 + [4] * 3


def test_cluster_bootstrap_resamples_whole_sequences():
    blocks, collapsed = _blocks(8, 16)
    seq = ev.paired_difference(blocks, "a", "b", seed=5)
    comp = ev.paired_difference(blocks, "a", "b", seed=5, cluster="component")
    one = ev.paired_difference(collapsed, "a", "b", seed=5, cluster="component")
    assert (seq["resampled"], seq["n_clusters"], seq["n_holes"]) == ("sequences", 8, 128)
    assert (comp["resampled"], comp["n_clusters"], comp["n_holes"]) == ("components", 128, 128)
    assert seq["note"] is None and comp["note"] is None
    assert seq["difference_db"] == pytest.approx(comp["difference_db"], abs=1e-12)
    # 16 copies of each screw are one screw: drawing sequences is drawing the collapsed screws
    assert (seq["ci_low"], seq["ci_high"]) == pytest.approx((one["ci_low"], one["ci_high"]),
                                                            abs=1e-9)
    # the component bootstrap counts each screw 16 times: an interval about 4 (√16) times narrower
    seq_width, comp_width = seq["ci_high"] - seq["ci_low"], comp["ci_high"] - comp["ci_low"]
    assert seq_width > 2.5 * comp_width > 0
    # one component per sequence: the two bootstraps are the same
    w, areas, sq_a, sq_b = _synthetic(50, seed=2)
    rec = _record(w, areas, np.arange(50), a=sq_a, b=sq_b)
    by_seq = ev.paired_difference(rec, "a", "b", seed=1)
    by_comp = ev.paired_difference(rec, "a", "b", seed=1, cluster="component")
    assert by_seq["ci_low"] == by_comp["ci_low"] and by_seq["ci_high"] == by_comp["ci_high"]
    # width limits keep the sequences holding a selected component, with those components only
    lim = ev.paired_difference(blocks, "a", "b", seed=5, max_width=20)
    kept = np.asarray(blocks["components"]["widths"]) <= 20
    assert lim["n_holes"] == kept.sum() and lim["n_clusters"] == kept.sum() // 16


def test_one_cluster_gives_the_estimate_without_an_interval(recorded):
    blocks, _ = _blocks(1, 16)
    d = ev.paired_difference(blocks, "a", "b")
    sq_a, sq_b = (np.asarray(blocks["components"]["sq_error"][m]) for m in "ab")
    areas = np.asarray(blocks["components"]["areas"])
    assert d["difference_db"] == pytest.approx(_pooled(sq_a, areas) - _pooled(sq_b, areas))
    assert (d["n_clusters"], d["n_holes"]) == (1, 16)
    assert np.isnan(d["ci_low"]) and np.isnan(d["ci_high"]) and d["supported"] is False
    # the components of that one sequence still give an (over-confident) interval
    comp = ev.paired_difference(blocks, "a", "b", cluster="component")
    assert comp["ci_low"] == comp["ci_high"] == pytest.approx(d["difference_db"])  # all alike
    # and so does a single component
    single = ev.paired_difference(_record([3], [10], a=[0.001], b=[0.002]), "a", "b",
                                  cluster="component")
    assert single["n_clusters"] == 1 and np.isnan(single["ci_low"]) and not single["supported"]
    # an evaluation of one sequence
    res = ev.evaluate_methods([make_sequence(T=3)], ["nearest", "biharmonic"], warmup=False)
    d = ev.paired_difference(res, "biharmonic", "nearest")
    assert d["n_clusters"] == 1 and np.isnan(d["ci_low"]) and np.isnan(d["ci_high"])
    assert d["difference_db"] > 0 and d["supported"] is False


def test_records_without_sequences_fall_back_to_components_and_say_so(recorded):
    res, record = recorded
    old = json.loads(json.dumps(record))
    del old["components"]["sequence"]
    d = ev.paired_difference(old, "biharmonic", "nearest", seed=2)
    assert d["resampled"] == "components" and d["n_clusters"] == d["n_holes"] == len(res.widths)
    assert d["note"] == NO_SEQUENCES_NOTE and "as if independent" in d["note"]
    comp = ev.paired_difference(record, "biharmonic", "nearest", seed=2, cluster="component")
    assert {**d, "note": None} == comp
    # asked for components, there is nothing to note
    assert ev.paired_difference(old, "biharmonic", "nearest", cluster="component")["note"] is None
    # an Evaluation built without them, too
    built = ev.Evaluation(rows=res.rows, bins=res.bins, targets=res.targets, holes=res.holes,
                          inputs=res.inputs, widths=res.widths, areas=res.areas,
                          component_sq=res.component_sq)
    e = ev.paired_difference(built, "biharmonic", "nearest", seed=2)
    assert e["resampled"] == "components" and e["note"] == NO_SEQUENCES_NOTE
    assert e["ci_low"] == pytest.approx(comp["ci_low"], abs=1e-4)


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
    for cluster in ("block", "sequences", None, ["sequence"]):
        with pytest.raises(
            ValueError,
            match=r'^Expected cluster="sequence" or "component"\. Received cluster='
            + re.escape(repr(cluster)) + r"\.$",
        ):
            ev.paired_difference(rec, "a", "b", cluster=cluster)
    with pytest.raises(ValueError, match=r"Received cluster='block'"):  # before reading the result
        ev.paired_difference([], "a", "b", cluster="block")
    short = _record(w, areas, [0] * 9, a=sq_a, b=sq_b)
    with pytest.raises(
        ValueError,
        match=r"^Expected one sequence index \(an integer\) per hole component\. Received 9 "
        r"sequence indices of dtype int64 for 10 components\.$",
    ):
        ev.paired_difference(short, "a", "b")
    floats = _record(w, areas, a=sq_a, b=sq_b)
    floats["components"]["sequence"] = [0.5] * 10
    with pytest.raises(ValueError, match=r"Received 10 sequence indices of dtype float64 for 10"):
        ev.paired_difference(floats, "a", "b")
    # the component bootstrap does not read them
    assert ev.paired_difference(short, "a", "b", cluster="component")["n_clusters"] == 10

"""xinpaint.costs: a training step's cost, measured where it fits, extrapolated where not."""

import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xinpaint import costs
from xinpaint.costs import (
    available_memory_mib,
    choose_sizes,
    extrapolate_cost,
    sequence_step_cost,
    step_seconds,
    synthetic_batch,
    training_step_cost,
)
from xinpaint.profiles import get_profile


def _linear_probes(frames, a, b):
    return {t: {key: a[i] + b[i] * t for i, key in enumerate(costs.COST_KEYS)} for t in frames}


def test_extrapolate_cost_is_the_least_squares_line():
    a, b = (50.0, 700.0, 0.2), (12.5, 20.0, 0.05)
    probes = _linear_probes((8, 16, 24), a, b)
    out = extrapolate_cost(probes, 201)
    assert out == pytest.approx({key: a[i] + b[i] * 201 for i, key in enumerate(costs.COST_KEYS)})
    # noisy probes: numpy's least-squares line through them
    rng = np.random.default_rng(0)
    t = np.array([4, 8, 16, 32])
    noisy = {int(f): {key: float(v) for key, v in zip(costs.COST_KEYS, rng.random(3) * 100, strict=True)}
             for f in t}
    out = extrapolate_cost(noisy, 100)
    for key in costs.COST_KEYS:
        slope, intercept = np.polyfit(t, [noisy[f][key] for f in t], 1)
        assert out[key] == pytest.approx(intercept + slope * 100, abs=1e-5)


def test_extrapolate_cost_errors():
    one = _linear_probes((8,), (1, 1, 1), (1, 1, 1))
    with pytest.raises(ValueError, match=r"^Expected probes at two or more frame counts\. "
                                         r"Received probes at frames=\[8\]\.$"):
        extrapolate_cost(one, 10)
    with pytest.raises(ValueError, match=r"^Expected frames >= 1\. Received frames=0\.$"):
        extrapolate_cost(_linear_probes((8, 16), (1, 1, 1), (1, 1, 1)), 0)


def test_available_memory_is_positive_or_unknown():
    mib = available_memory_mib()
    assert mib is None or mib > 0


def test_sequence_step_cost_errors():
    with pytest.raises(ValueError, match=r"^Expected a 2D\+T variant .*Received variant='unet-mae'\.$"):
        sequence_step_cost("unet-mae", "smoke", (16, 32, 32))
    with pytest.raises(ValueError, match=r"^Expected shape=\(T, H, W\)\. Received shape=\(16, 32\)\.$"):
        sequence_step_cost("pconv3d", "smoke", (16, 32))
    with pytest.raises(ValueError, match=r"^Expected two or more probe_frames, each between 1 and "
                                         r"T - 1 = 15\. Received probe_frames=\(8, 16\)\.$"):
        sequence_step_cost("pconv3d", "smoke", (16, 32, 32), probe_frames=(8, 16))
    with pytest.raises(ValueError, match=r"^Expected memory_budget_mib > 0\. "
                                         r"Received memory_budget_mib=0\.$"):
        sequence_step_cost("pconv3d", "smoke", (24, 32, 32), memory_budget_mib=0)


def _fake_step(calls, *, whole_frames, whole=None):
    """A stand-in for the subprocess measurement: linear in frames, ``whole`` on the sequence."""
    def step(variant, profile, window, *, batch_size=1, steps=3):
        calls.append(tuple(window))
        if window[0] == whole_frames and whole is not None:
            if isinstance(whole, BaseException):
                raise whole
            return whole
        t = window[0]
        return {"peak_mib": 10.0 * t, "rss_mib": 1000.0 + 10.0 * t, "seconds": 0.1 * t}
    return step


def test_sequence_step_cost_measures_only_what_fits(monkeypatch):
    calls = []
    measured = {"peak_mib": 1.0, "rss_mib": 2.0, "seconds": 3.0}
    monkeypatch.setattr(costs, "training_step_cost", _fake_step(calls, whole_frames=64, whole=measured))
    # predicted rss 1000 + 640 = 1640 MiB: fits in 2000, so the whole sequence is measured
    out = sequence_step_cost("pconv3d", "smoke", (64, 32, 32), memory_budget_mib=2000)
    assert calls == [(8, 32, 32), (16, 32, 32), (32, 32, 32), (64, 32, 32)]
    assert out["measured"] is True
    assert {k: out[k] for k in costs.COST_KEYS} == measured
    assert out["predicted"] == pytest.approx({"peak_mib": 640.0, "rss_mib": 1640.0, "seconds": 6.4})
    # does not fit in 1500: never asked for, the extrapolation is the answer
    calls.clear()
    out = sequence_step_cost("pconv3d", "smoke", (64, 32, 32), memory_budget_mib=1500)
    assert calls == [(8, 32, 32), (16, 32, 32), (32, 32, 32)]
    assert out["measured"] is False
    assert out["peak_mib"] == pytest.approx(640.0)
    assert sorted(out["probes"]) == [8, 16, 32] and out["memory_budget_mib"] == 1500
    # probes of the caller's choice
    calls.clear()
    sequence_step_cost("pconv3d", "smoke", (64, 32, 32), probe_frames=(4, 12), memory_budget_mib=1)
    assert calls == [(4, 32, 32), (12, 32, 32)]


def test_a_short_sequence_is_measured_without_probes(monkeypatch):
    calls = []
    measured = {"peak_mib": 1.0, "rss_mib": 2.0, "seconds": 3.0}
    monkeypatch.setattr(costs, "training_step_cost", _fake_step(calls, whole_frames=16, whole=measured))
    out = sequence_step_cost("pconv3d", "smoke", (16, 32, 32), memory_budget_mib=1)
    assert calls == [(16, 32, 32)]  # fewer than two default probes (8, 16, 32) below T = 16
    assert out["measured"] is True and out["probes"] == {} and out["predicted"] is None


def test_sequence_step_cost_falls_back_when_the_step_runs_out_of_memory(monkeypatch):
    calls = []
    monkeypatch.setattr(costs, "training_step_cost",
                        _fake_step(calls, whole_frames=64, whole=MemoryError("out")))
    out = sequence_step_cost("pconv3d", "smoke", (64, 32, 32), memory_budget_mib=10_000)
    assert calls[-1] == (64, 32, 32)
    assert out["measured"] is False and out["rss_mib"] == pytest.approx(1640.0)


def test_training_step_cost_reports_a_kill_for_memory(monkeypatch):
    def killed(*args, **kwargs):
        return subprocess.CompletedProcess(args, -signal.SIGKILL, stdout="", stderr="I0000 cuda\n")
    monkeypatch.setattr(subprocess, "run", killed)
    with pytest.raises(MemoryError, match=r"^the training step of pconv3d on 1 x \(201, 256, 256\) "
                                          r"was killed by the system \(signal 9\), most likely for "
                                          r"running out of memory$"):
        training_step_cost("pconv3d", "cpu", (201, 256, 256))


def test_training_step_cost_errors():
    with pytest.raises(ValueError, match=r"^Expected a 2D\+T variant .*Received variant='hybrid'\.$"):
        training_step_cost("hybrid", "smoke", (8, 32, 32))
    with pytest.raises(ValueError, match=r"^Expected window=\(T, H, W\)\. Received window=\(8, 32\)\.$"):
        training_step_cost("pconv3d", "smoke", (8, 32))


def test_sequence_step_cost_measures_a_small_sequence_for_real():
    """The real subprocesses: probes on 8 and 16 frames, then the 24-frame sequence itself."""
    out = sequence_step_cost("pconv3d", "smoke", (24, 32, 32), steps=2)
    assert out["measured"] is True
    assert sorted(out["probes"]) == [8, 16]
    for cost in (*out["probes"].values(), out):
        assert cost["peak_mib"] > 0 and cost["rss_mib"] > cost["peak_mib"] and cost["seconds"] > 0
    # tensor memory grows with the frames of a step
    assert out["probes"][8]["peak_mib"] < out["probes"][16]["peak_mib"] < out["peak_mib"]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_peak_memory_is_the_step_process_own():
    """A parent holding 2 GiB does not lend its resident memory to the measured step."""
    ballast = np.ones(2 * 2**30 // 8)  # 2 GiB, touched
    with open("/proc/self/status") as f:
        parent_mib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    cost = training_step_cost("pconv3d", "smoke", (8, 32, 32), batch_size=1, steps=2)
    assert ballast.sum() == ballast.size
    assert cost["rss_mib"] < parent_mib - 1024


def test_step_seconds_errors():
    with pytest.raises(ValueError, match=r"^Expected models, a non-empty dict of name -> \(variant, profile\)\. "
                                         r"Received models=\{\}\.$"):
        step_seconds({})
    with pytest.raises(ValueError, match=r"^Expected rounds a whole number >= 1\. Received rounds=0\.$"):
        step_seconds({"a": ("hybrid", "smoke")}, rounds=0)
    with pytest.raises(ValueError, match=r"^Expected steps a whole number >= 1\. Received steps=1\.5\.$"):
        step_seconds({"a": ("hybrid", "smoke")}, steps=1.5)
    with pytest.raises(ValueError, match=r"^Expected models\['a'\] = \(variant, profile\)\. "
                                         r"Received models\['a'\]='hybrid'\.$"):
        step_seconds({"a": "hybrid"})
    with pytest.raises(ValueError, match=r"^Unknown variant: .*Received variant='hybrid9'\.$"):
        step_seconds({"a": ("hybrid9", "smoke")})


def test_step_seconds_keeps_each_models_fastest_round(monkeypatch):
    """A fake CPU clock: model a's rounds take 6, 2 and 4 s of 2 steps, b's 8, 8 and 2."""
    import time

    durations = iter([6, 8, 2, 8, 4, 2])
    clock = {"now": 0.0, "start": True}

    def process_time():  # called at the start and at the end of every round
        if not clock["start"]:
            clock["now"] += next(durations)
        clock["start"] = not clock["start"]
        return clock["now"]

    monkeypatch.setattr(time, "process_time", process_time)
    out = step_seconds({"a": ("hybrid", "smoke"), "b": ("pconv-mask", "smoke")}, rounds=3, steps=2)
    assert out["a"]["cpu_seconds"] == 1.0 and out["b"]["cpu_seconds"] == 1.0
    assert list(out) == ["a", "b"]
    assert all(0 < v["wall_seconds"] < np.inf for v in out.values())


def test_step_seconds_times_real_steps_of_every_size():
    smoke = get_profile("smoke")
    out = step_seconds({"hybrid": ("hybrid", smoke), "narrow": ("hybrid", smoke.replace(base_filters=2)),
                        "unet": ("unet-mae", "smoke"), "3d": ("hybrid3d", "smoke")}, rounds=1, steps=1)
    assert sorted(out) == ["3d", "hybrid", "narrow", "unet"]
    for cost in out.values():
        assert 0 < cost["cpu_seconds"] < np.inf and 0 < cost["wall_seconds"] < np.inf


def _tables(losses, costs_):
    sizes = ("profile", "smaller crops", "half the width")
    return ({f: dict(zip(sizes, row, strict=True)) for f, row in losses.items()},
            {f: dict(zip(sizes, row, strict=True)) for f, row in costs_.items()})


def test_choose_sizes_per_family_and_shared():
    val, cost = _tables({"hybrid": (6.307e-5, 6.861e-5, 6.513e-5), "pconv": (1.680e-4, 1.661e-4, 1.973e-4)},
                        {"hybrid": (15.2, 5.8, 8.6), "pconv": (13.0, 6.7, 6.0)})
    c = choose_sizes(val, cost, rel_tol=0.005)
    assert c.keep == {"hybrid": ["profile"], "pconv": ["smaller crops"]}  # 1.680 / 1.661 > 1.005
    assert c.chosen == {"hybrid": "profile", "pconv": "smaller crops"}
    assert c.shared == [] and c.footing is None
    # a looser tolerance keeps the profile for PConv too: the shared sizes are the profile's
    c = choose_sizes(val, cost, rel_tol=0.02)
    assert c.keep["pconv"] == ["profile", "smaller crops"] and c.chosen["pconv"] == "smaller crops"
    assert c.shared == ["profile"] and c.footing == "profile"


def test_choose_sizes_footing_is_cheapest_summed_over_families():
    val, cost = _tables({"a": (1.0, 1.001, 1.002), "b": (1.0, 1.0, 1.0)},
                        {"a": (10.0, 2.0, 5.0), "b": (10.0, 6.0, 2.0)})
    c = choose_sizes(val, cost, rel_tol=0.005)
    assert c.chosen == {"a": "smaller crops", "b": "half the width"}
    assert c.shared == ["profile", "smaller crops", "half the width"]
    assert c.footing == "half the width"  # 5 + 2 < 2 + 6 < 10 + 10
    # a tie keeps the order given
    val, cost = _tables({"a": (1.0, 1.0, 1.0)}, {"a": (3.0, 3.0, 3.0)})
    assert choose_sizes(val, cost, rel_tol=0.0).footing == "profile"


@pytest.mark.parametrize(("val", "cost", "rel_tol", "message"), [
    ({}, {"a": {"x": 1.0}}, 0.0,
     "Expected val_loss, a non-empty dict of family -> {sizes: value}. Received val_loss={}."),
    ({"a": {"x": 1.0}}, {"a": {"y": 1.0}}, 0.0,
     "Expected cost['a'] to have the sizes ['x']. Received ['y']."),
    ({"a": {"x": 1.0}, "b": {"y": 1.0}}, {"a": {"x": 1.0}}, 0.0,
     "Expected val_loss['b'] to have the sizes ['x']. Received ['y']."),
    ({"a": {"x": float("nan")}}, {"a": {"x": 1.0}}, 0.0,
     "Expected val_loss['a']['x'] a finite number >= 0. Received nan."),
    ({"a": {"x": 1.0}}, {"b": {"x": 1.0}}, 0.0,
     "Expected cost to have the families of val_loss, ['a']. Received ['b']."),
    ({"a": {"x": 1.0}}, {"a": {"x": 1.0}}, -0.1,
     "Expected rel_tol a finite number >= 0. Received rel_tol=-0.1."),
])
def test_choose_sizes_errors(val, cost, rel_tol, message):
    with pytest.raises(ValueError) as err:
        choose_sizes(val, cost, rel_tol=rel_tol)
    assert str(err.value) == message


@pytest.mark.parametrize("variant", ["hybrid", "unet-mse", "pconv3d"])
def test_synthetic_batch_has_the_profile_size_and_a_band_of_holes(variant):
    from xinpaint.experiments import build_variant

    prof = get_profile("smoke")
    model = build_variant(variant, prof)
    (image, valid), packed = synthetic_batch(variant, model, prof)
    shape = ((prof.patch_batch_size, *prof.patch_shape) if variant == "pconv3d"
             else (prof.batch_size, prof.crop_size, prof.crop_size))
    assert valid.shape == (*shape, 1) and image.shape == (*shape, model.inputs[0].shape[-1])
    band = slice(shape[-2] // 3, shape[-2] // 2)
    assert np.all(valid[..., band, :] == 0) and valid.mean() > 0.5  # columns hidden
    assert np.all(image[..., band, :] == 0)  # the hidden pixels carry nothing
    assert packed.shape[-1] == (1 if variant == "unet-mse" else 2)
    again = synthetic_batch(variant, model, prof)
    np.testing.assert_array_equal(again[0][0], image)  # the same work every call

"""The learning curves (xinpaint.plotting.training)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from xinpaint.plotting.training import kept_index, plot_learning_curves
from xinpaint.training import TrainResult


def _run(best_epoch=2, initial=None, epochs=4, steps=40):
    history = {"loss": list(np.linspace(1.0, 0.5, epochs)),
               "val_loss": [0.9, 0.7, 0.8, 0.75][:epochs],
               "val_hole_psnr": [40.0, 41.0, 40.5, 40.8][:epochs]}
    return TrainResult(model=None, history=history, steps=steps, best_epoch=best_epoch,
                       stopped="plateau", epoch=epochs, initial=initial or {})


def _lines(ax):
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 1]


def test_curves_start_at_the_untrained_model_and_mark_the_kept_epoch():
    fig = plot_learning_curves({"hybrid": _run(initial={"val_loss": 1.2, "val_hole_psnr": 39.0})})
    train_ax, _, psnr_ax = fig.axes
    (line,) = _lines(psnr_ax)
    np.testing.assert_allclose(line.get_xdata(), [0, 10, 20, 30, 40])
    np.testing.assert_allclose(line.get_ydata(), [39.0, 40.0, 41.0, 40.5, 40.8])
    (dot,) = [ln for ln in psnr_ax.get_lines() if len(ln.get_xdata()) == 1]
    assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (20, 41.0)  # epoch 2 kept
    assert _lines(train_ax)[0].get_xdata()[0] == 10  # no train loss before the first step
    assert "plateau, 40 steps" in train_ax.get_legend().get_texts()[0].get_text()


def test_a_model_kept_at_epoch_0_is_marked_at_step_0():
    fig = plot_learning_curves({"hybrid": _run(best_epoch=0, initial={"val_loss": 0.5})})
    dots = [ln for ln in fig.axes[1].get_lines() if len(ln.get_xdata()) == 1]
    assert [(d.get_xdata()[0], d.get_ydata()[0]) for d in dots] == [(0, 0.5)]
    assert kept_index(_run(best_epoch=0)) is None and kept_index(_run(best_epoch=3)) == 2


def test_empty_input_names_the_value():
    with pytest.raises(ValueError, match=r"Received runs=\{\}"):
        plot_learning_curves({})
    with pytest.raises(ValueError, match="Received an empty history"):
        plot_learning_curves({"x": TrainResult(model=None)})


def test_a_second_stage_starts_at_the_first_stage_s_kept_epoch():
    first = _run(best_epoch=2, initial={"val_hole_psnr": 39.0})  # kept at step 20: 41.0 dB
    second = TrainResult(model=None, history={k: v + [41.5, 41.7, 41.6][:2] for k, v in first.history.items()},
                         steps=60, best_epoch=2, stopped="cap", epoch=2)
    second.first_stage = first
    fig = plot_learning_curves({"pconv-mask": first, "pconv-mask-2stage": second})
    psnr_ax = fig.axes[2]
    one, two = _lines(psnr_ax)
    np.testing.assert_allclose(one.get_xdata(), [0, 10, 20, 30, 40])  # the first stage, whole
    np.testing.assert_allclose(two.get_xdata(), [20, 30, 40])  # from the kept epoch, not from 0
    np.testing.assert_allclose(two.get_ydata(), [41.0, 41.5, 41.7])
    dots = [(d.get_xdata()[0], d.get_ydata()[0]) for d in psnr_ax.get_lines() if len(d.get_xdata()) == 1]
    assert dots == [(20, 41.0), (40, 41.7)]
    assert kept_index(second) == 5  # in the whole history: 4 first-stage epochs, then the second's
    # A second stage that kept its start (epoch 0) is marked at the first stage's kept epoch.
    second.best_epoch = 0
    fig = plot_learning_curves({"pconv-mask-2stage": second})
    dots = [(d.get_xdata()[0], d.get_ydata()[0]) for d in fig.axes[2].get_lines() if len(d.get_xdata()) == 1]
    assert dots == [(20, 41.0)]

"""Learning curves of the trained models: every chapter that trains shows them.

:func:`plot_learning_curves` draws, against optimiser steps, the training and
validation loss and the validation PSNR in the holes of each run
(:class:`xinpaint.training.TrainResult`) from the untrained model (step 0, where it was
evaluated) on, marks the epoch that was kept and says why the run stopped (a plateau of
its validation error in the holes, or the cap). A second stage (a run with a
``first_stage``) is drawn from where it started: the first stage's kept epoch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kept_index", "kept_value", "plot_learning_curves"]


def _steps_per_epoch(result) -> float:
    epochs = len(result.history.get("loss", []))
    if not epochs:
        raise ValueError("Expected a run with a history (train it first). Received an empty history.")
    return result.steps / epochs


def kept_index(result) -> int | None:
    """Index in ``result.history`` of the epoch whose weights were kept (None: epoch 0 or
    no selection); a second stage's history starts with its first stage's epochs."""
    if not result.best_epoch:
        return None
    first = getattr(result, "first_stage", None)
    offset = len(first.history.get("loss", [])) if first is not None else 0
    return offset + result.best_epoch - 1


def _curve(result, key, per_epoch):
    """(steps, values, index of the kept epoch or None) of one run's ``key``."""
    values = np.asarray(result.history.get(key, []), float)
    first = getattr(result, "first_stage", None)
    if first is not None:  # a second stage starts from the first stage's kept epoch
        n_first = len(first.history.get("loss", []))
        base = first.best_epoch or 0
        start = values[base - 1] if base else getattr(first, "initial", {}).get(key)
        values = values[n_first:]
    else:
        base, start = 0, getattr(result, "initial", {}).get(key)
    steps = per_epoch * (base + np.arange(1, len(values) + 1))
    kept = result.best_epoch
    if start is not None:  # epoch 0: the untrained model (a hybrid: its classical fill)
        steps, values = np.r_[per_epoch * base, steps], np.r_[start, values]
    elif kept is not None:
        kept = kept - 1 if kept else None
    if kept is not None and not 0 <= kept < len(values):
        kept = None
    return steps, values, kept


def kept_value(result, key: str = "val_hole_psnr"):
    """``key``'s value at the epoch kept, as the learning curves mark it (epoch 0: the
    untrained model's, where it was evaluated; a second stage that kept its start: its
    first stage's kept epoch); None where it was not recorded."""
    _, values, kept = _curve(result, key, 1.0)
    return None if kept is None else float(values[kept])


def plot_learning_curves(runs: dict, *, title: str | None = None):
    """Train loss, val loss and val hole PSNR against steps, one line per run.

    Parameters
    ----------
    runs : dict
        Name → :class:`xinpaint.training.TrainResult` (as returned by
        :func:`xinpaint.experiments.train_variant`).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels; the kept epoch of each run is marked with a dot, the legend says
        ``plateau`` or ``cap`` and the steps the run took (both stages for a second
        stage, whose line starts at its first stage's kept epoch).

    Examples
    --------
    >>> fig = plot_learning_curves({"hybrid": result})  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    if not runs:
        raise ValueError("Expected at least one run. Received runs={}.")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    keys = (("loss", "train loss", True), ("val_loss", "val loss", True),
            ("val_hole_psnr", "val PSNR in the holes (dB)", False))
    for i, (name, result) in enumerate(runs.items()):
        colour = f"C{i % 10}"
        per_epoch = _steps_per_epoch(result)
        stop = result.stopped or "?"
        label = f"{name} ({stop}, {result.steps:,} steps)"
        for ax, (key, _, _) in zip(axes, keys, strict=True):
            if not len(result.history.get(key, [])):
                continue
            steps, values, best = _curve(result, key, per_epoch)
            ax.plot(steps, values, color=colour, lw=1.2, label=label if ax is axes[0] else None)
            if best is not None:
                ax.plot(steps[best], values[best], "o", color=colour, ms=4)
    for ax, (_, ylabel, log) in zip(axes, keys, strict=True):
        ax.set_xlabel("optimiser steps")
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

"""Training loop shared by the chapters: resumable, distributable, recorded.

:func:`train` builds the model inside a ``tf.distribute`` strategy's scope, fits it
with Keras, and keeps everything a long run needs in one folder (``run_dir``):

``backup/``
    ``keras.callbacks.BackupAndRestore`` checkpoints. A run killed mid-way (even by
    SIGKILL) and started again with the same ``run_dir`` continues from the last
    checkpoint instead of starting over.
``history.csv``
    One row per epoch, appended across restarts, so the curves of a resumed run are
    complete.
``final.keras`` and ``done.json``
    The trained model and a record of the run. When they exist and the run's
    configuration has not changed, :func:`train` loads them instead of training again.
``best.keras`` and ``best.json``
    With ``keep_best=True``: the weights with the lowest validation loss seen so far,
    the untrained model (epoch 0) included, and that epoch and loss. The training
    length is then chosen on the validation split: ``final.keras`` is the best epoch's
    model, and a resumed run keeps the best value of the epochs before the interruption.

Several GPUs: pass ``strategy=tf.distribute.MirroredStrategy()``; several hosts:
``tf.distribute.MultiWorkerMirroredStrategy()`` with ``TF_CONFIG`` set on each host
(see the README). The batch size of the datasets is the *global* batch.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["TrainResult", "read_history", "train"]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : keras.Model
        The trained model.
    history : dict
        Per-epoch values (``loss``, ``val_loss``, metrics), complete across restarts.
    seconds : float
        Wall time of the training in this process (0 when loaded from ``run_dir``).
    resumed : bool
        True when this call continued an interrupted run.
    loaded : bool
        True when a finished run was loaded from ``run_dir`` without training.
    steps : int
        Optimiser steps taken in all, over every restart.
    best_epoch : int or None
        With ``keep_best``: the epoch whose weights were kept (0: the untrained model).
    best_val_loss : float or None
        With ``keep_best``: that epoch's validation loss.
    learning_rate : float or None
        Adam's learning rate (None with a custom ``optimizer``).
    candidates : dict
        When this run was chosen among others (the hybrids of
        :func:`xinpaint.experiments.train_variant`): learning rate → ``{"best_epoch",
        "best_val_loss"}`` of every run tried, this one included.
    """

    model: object
    history: dict = field(default_factory=dict)
    seconds: float = 0.0
    resumed: bool = False
    loaded: bool = False
    steps: int = 0
    best_epoch: int | None = None
    best_val_loss: float | None = None
    learning_rate: float | None = None
    candidates: dict = field(default_factory=dict)


def read_history(path: str | Path) -> dict:
    """Read a ``history.csv`` written by :func:`train` into ``{column: [values]}``."""
    path = Path(path)
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    history: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key == "epoch":
                continue
            history.setdefault(key, []).append(float("nan") if value == "NA" else float(value))
    return {k: v for k, v in history.items() if not all(np.isnan(v))}


def _config_key(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train(
    build_model: Callable,
    train_data,
    *,
    loss,
    epochs: int,
    steps_per_epoch: int,
    run_dir: str | Path,
    learning_rate: float = 2e-4,
    optimizer: Callable | None = None,
    val_data=None,
    validation_steps: int | None = None,
    metrics=None,
    callbacks=(),
    strategy=None,
    save_freq: int | str = "epoch",
    config: dict | None = None,
    jit_compile: bool | str = "auto",
    keep_best: bool = False,
    reuse: bool = True,
    verbose: int = 0,
) -> TrainResult:
    """Build, compile and fit a model; resumable from ``run_dir``.

    Parameters
    ----------
    build_model : callable
        ``build_model() -> keras.Model``, called inside ``strategy.scope()``. A model
        that is already built may be passed as ``lambda: model`` when no strategy is used.
    train_data : tf.data.Dataset or keras.utils.PyDataset, or a callable returning one
        Infinite (repeated) training batches of ``(inputs, targets)``, global batch size.
        A callable is called only when training is needed, so that reloading a finished
        run does not build (possibly costly) datasets.
    loss : keras loss or callable
        The training loss.
    epochs, steps_per_epoch : int
        Training length; ``epochs * steps_per_epoch`` optimiser steps in all.
    run_dir : path
        Folder for checkpoints, history and the final model (see the module docstring).
    learning_rate : float, optional
        Adam's learning rate, used when ``optimizer`` is None.
    optimizer : callable, optional
        ``optimizer() -> keras.optimizers.Optimizer``, called inside the scope.
    val_data : dataset or callable returning one, optional
        Validation batches, evaluated for ``validation_steps`` steps after each epoch.
    metrics : list, optional
        Keras metrics to log.
    callbacks : sequence, optional
        Extra Keras callbacks.
    strategy : tf.distribute.Strategy, optional
        Distribution strategy; the default strategy (one device) when None.
    save_freq : int or "epoch", optional
        How often the backup is written: every ``save_freq`` steps, or each epoch.
    config : dict, optional
        A JSON-serialisable description of the run (profile, hyper-parameters). A
        finished run in ``run_dir`` is reused only if its config is the same.
    jit_compile : bool or "auto", optional
        Passed to ``model.compile``.
    keep_best : bool, optional
        Keep the weights of the epoch with the lowest validation loss, the untrained
        model (epoch 0, evaluated before the first step) included, instead of the last
        epoch's: the training length is chosen on ``val_data``. Needs ``val_data``.
    reuse : bool, optional
        Load a finished run from ``run_dir`` instead of training again.
    verbose : int, optional
        Keras' verbosity.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        If ``epochs`` or ``steps_per_epoch`` is not a positive integer, or ``keep_best``
        without ``val_data``.
    """
    import keras
    import tensorflow as tf

    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"Expected a positive integer. Received {name}={value!r}.")
    if keep_best and val_data is None:
        raise ValueError("keep_best=True chooses the epoch on the validation loss: pass val_data. "
                         "Received val_data=None.")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config = dict(config or {})
    config.update(epochs=epochs, steps_per_epoch=steps_per_epoch, learning_rate=learning_rate)
    if keep_best:
        config.update(keep_best=True)
    key = _config_key(config)
    done_file, final_file = run_dir / "done.json", run_dir / "final.keras"
    history_file = run_dir / "history.csv"

    if reuse and done_file.exists() and final_file.exists():
        done = json.loads(done_file.read_text())
        if done.get("key") == key:
            model = keras.models.load_model(final_file, compile=False)
            return TrainResult(model, read_history(history_file), 0.0, False, True,
                               int(done.get("steps", 0)), done.get("best_epoch"),
                               done.get("best_val_loss"), None if optimizer else learning_rate)
    # A different configuration or an unfinished run: clear a stale final model.
    best_file, best_json = run_dir / "best.keras", run_dir / "best.json"
    for stale in (done_file, final_file):
        stale.unlink(missing_ok=True)
    key_file = run_dir / "config.json"
    if key_file.exists() and json.loads(key_file.read_text()).get("key") != key:
        # The folder holds a run of another configuration: start it afresh.
        import shutil

        shutil.rmtree(run_dir / "backup", ignore_errors=True)
        for stale in (history_file, best_file, best_json):
            stale.unlink(missing_ok=True)
    key_file.write_text(json.dumps({"key": key, "config": config}, indent=2, default=str))
    resumed = (run_dir / "backup").exists() and any((run_dir / "backup").iterdir())

    train_data = train_data() if callable(train_data) else train_data
    val_data = val_data() if callable(val_data) else val_data
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_model()
        opt = optimizer() if optimizer else keras.optimizers.Adam(learning_rate)
        model.compile(optimizer=opt, loss=loss, metrics=metrics, jit_compile=jit_compile)

    cbs = []
    if keep_best:
        if not (best_json.exists() and best_file.exists()):  # epoch 0: the untrained model
            value = model.evaluate(val_data, steps=validation_steps, verbose=0, return_dict=True)["loss"]
            model.save(best_file)
            best_json.write_text(json.dumps({"epoch": 0, "val_loss": float(value)}))
        cbs.append(_keep_best_callback(best_file, best_json))
    cbs += [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), save_freq=save_freq,
                                         delete_checkpoint=True),
        keras.callbacks.CSVLogger(str(history_file), append=True),
        *callbacks,
    ]
    start = time.perf_counter()
    model.fit(
        train_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val_data,
        validation_steps=validation_steps if val_data is not None else None,
        callbacks=cbs,
        shuffle=False,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    steps = int(model.optimizer.iterations.numpy())
    record = {"key": key, "steps": steps, "seconds": seconds}
    best_epoch = best_val_loss = None
    if keep_best:
        best = json.loads(best_json.read_text())
        best_epoch, best_val_loss = best["epoch"], best["val_loss"]
        model = keras.models.load_model(best_file, compile=False)
        record.update(best_epoch=best_epoch, best_val_loss=best_val_loss)
    model.save(final_file)
    done_file.write_text(json.dumps(record, indent=2))
    return TrainResult(model, read_history(history_file), seconds, resumed, False, steps, best_epoch,
                       best_val_loss, None if optimizer else learning_rate)


def _keep_best_callback(best_file, best_json):
    import keras

    class KeepBest(keras.callbacks.Callback):
        """Save the model when the validation loss beats the best one in ``best.json``.

        The best value is read from the file at every epoch, so that it survives a
        restart (``BackupAndRestore`` resumes the epochs, not this callback's state).
        """

        def __init__(self, best_file, best_json):
            super().__init__()
            self.best_file, self.best_json = best_file, best_json

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_loss")
            best = json.loads(self.best_json.read_text())
            if value is not None and np.isfinite(value) and value < best["val_loss"]:
                self.model.save(self.best_file)
                self.best_json.write_text(json.dumps({"epoch": epoch + 1, "val_loss": float(value)}))

    return KeepBest(best_file, best_json)

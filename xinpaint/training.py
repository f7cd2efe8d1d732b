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
``progress.json``
    Written at the end of every epoch (before the backup, so it never lags behind it):
    the epochs and optimiser steps reached, the monitored validation loss of each epoch,
    why the run stopped (``"plateau"`` or ``"cap"``, ``null`` while it runs) and the CPU
    (process) and wall time spent in ``fit``, accumulated across restarts. With a
    :class:`Plateau` rule the stopping decision is a pure function of the recorded
    losses (:func:`stop_reason`), so a resumed run keeps its best value and its count
    of epochs without improvement.

Several GPUs: pass ``strategy=tf.distribute.MirroredStrategy()``; several hosts:
``tf.distribute.MultiWorkerMirroredStrategy()`` with ``TF_CONFIG`` set on each host
(see the README). The batch size of the datasets is the *global* batch.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import numbers
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Plateau", "TrainResult", "read_history", "stop_reason", "train"]


@dataclass(frozen=True)
class Plateau:
    """Stop training when the validation loss has reached a plateau.

    After each epoch, the monitored loss *improves* when it is lower than the reference
    (the last value that improved; the first epoch always does) by at least ``min_delta``
    of the reference's magnitude: ``reference - value >= min_delta * abs(reference)``
    (and ``value < reference``). The run stops on a plateau once ``patience`` epochs in
    a row have not improved. The cap is :func:`train`'s ``epochs``. Non-finite losses
    never improve.

    Parameters
    ----------
    min_delta : float, optional
        The relative improvement that counts, e.g. 0.01: 1 % lower than the reference.
        0 counts any decrease.
    patience : int, optional
        Epochs without improvement before stopping.
    monitor : str, optional
        The Keras log entry watched, a validation loss or metric (lower is better).

    Raises
    ------
    ValueError
        If ``min_delta`` is negative or not finite, ``patience`` is not a positive
        integer, or ``monitor`` is not a non-empty string.

    Examples
    --------
    >>> rule = Plateau(min_delta=0.01, patience=2)
    >>> stop_reason([1.0, 0.5, 0.499, 0.498], rule, epochs=10)
    'plateau'
    """

    min_delta: float = 0.01
    patience: int = 3
    monitor: str = "val_loss"

    def __post_init__(self):
        if (not isinstance(self.min_delta, numbers.Real) or isinstance(self.min_delta, bool)
                or not math.isfinite(self.min_delta) or self.min_delta < 0):
            raise ValueError("Expected min_delta, a relative improvement, to be a finite number >= 0. "
                             f"Received min_delta={self.min_delta!r}.")
        if not isinstance(self.patience, numbers.Integral) or isinstance(self.patience, bool) \
                or self.patience < 1:
            raise ValueError("Expected patience, in epochs, to be an integer >= 1. "
                             f"Received patience={self.patience!r}.")
        if not isinstance(self.monitor, str) or not self.monitor:
            raise ValueError("Expected monitor to be the name of a Keras log entry, e.g. 'val_loss'. "
                             f"Received monitor={self.monitor!r}.")


def _plateau_reference(values: Sequence, min_delta: float) -> tuple[float, int]:
    """The reference value and its epoch (1-based; 0 before any improvement)."""
    reference, epoch = math.inf, 0
    for i, value in enumerate(values, start=1):
        if value is None or not math.isfinite(value):
            continue
        if value < reference and (math.isinf(reference)
                                  or reference - value >= min_delta * abs(reference)):
            reference, epoch = float(value), i
    return reference, epoch


def stop_reason(values: Sequence, plateau: Plateau | None = None, *, epochs: int) -> str | None:
    """Whether a run stops after the epochs whose monitored losses are ``values``.

    The pure decision behind :func:`train`'s stopping rule: it depends only on the
    losses recorded so far, so a resumed run takes the same decision as an
    uninterrupted one.

    Parameters
    ----------
    values : sequence of float or None
        The monitored validation loss after each epoch trained so far (epoch 1 first);
        None or NaN for an epoch without a finite value.
    plateau : Plateau, optional
        The plateau rule; None: only the cap stops the run.
    epochs : int
        The cap: the most epochs the run may train.

    Returns
    -------
    str or None
        ``"plateau"`` when the last ``plateau.patience`` epochs did not improve (this
        wins when it happens at the cap too), ``"cap"`` when ``len(values) >= epochs``,
        None to train on.

    Examples
    --------
    >>> stop_reason([1.0, 0.9], Plateau(patience=2), epochs=3) is None
    True
    >>> stop_reason([1.0, 0.9, 0.8], Plateau(patience=2), epochs=3)
    'cap'
    >>> stop_reason([1.0, 0.9, 0.9, 0.9], Plateau(patience=2), epochs=10)
    'plateau'
    """
    values = list(values)
    if plateau is not None and values:
        _, epoch = _plateau_reference(values, plateau.min_delta)
        if len(values) - epoch >= plateau.patience:
            return "plateau"
    return "cap" if len(values) >= epochs else None


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
        With ``keep_best``: that epoch's value of the selected validation entry
        (``select``: the validation loss by default).
    learning_rate : float or None
        Adam's learning rate (None with a custom ``optimizer``).
    candidates : dict
        When this run was chosen among others (the hybrids of
        :func:`xinpaint.experiments.train_variant`): learning rate → ``{"best_epoch",
        "best_val_loss"}`` of every run tried, this one included.
    stopped : str or None
        Why training stopped: ``"plateau"`` (the :class:`Plateau` rule) or ``"cap"``
        (``epochs`` reached). None for a run recorded before this was kept.
    epoch : int or None
        Epochs trained, over every restart (the last epoch's; with ``keep_best`` the
        model returned is ``best_epoch``'s).
    cpu_seconds, wall_seconds : float or None
        CPU (process) time and wall time spent in ``fit``, accumulated over every
        restart up to the last finished epoch of an interrupted process.
    initial : dict
        With ``keep_best``: the validation logs of the untrained model (epoch 0, keys as
        in ``history``: ``val_loss``, ``val_<metric>``), the start of the learning curves;
        empty for a run recorded before they were kept.
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
    stopped: str | None = None
    epoch: int | None = None
    cpu_seconds: float | None = None
    wall_seconds: float | None = None
    initial: dict = field(default_factory=dict)


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


def _same_but_rule(key_file: Path, config: dict) -> bool:
    """Whether the run recorded in ``key_file`` differs from ``config`` only in its plateau
    rule's patience and tolerance and in its cap (the same monitored entry)."""
    if not key_file.exists():
        return False
    stored = json.loads(key_file.read_text()).get("config") or {}
    config = json.loads(json.dumps(config, default=str))
    if not isinstance(stored.get("plateau"), dict) or not isinstance(config.get("plateau"), dict):
        return False

    def strip(c):
        rule = {k: v for k, v in c["plateau"].items() if k not in ("min_delta", "patience")}
        return _config_key({**{k: v for k, v in c.items() if k not in ("plateau", "epochs")},
                            "plateau": rule})

    return strip(stored) == strip(config)


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
    select: str = "val_loss",
    plateau: Plateau | None = None,
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
        Training length; ``epochs * steps_per_epoch`` optimiser steps in all. With
        ``plateau``, ``epochs`` is the cap.
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
    select : str, optional
        With ``keep_best``: the validation log entry minimised (default ``"val_loss"``;
        e.g. ``"val_hole_mse"`` for a metric given in ``metrics``). The result's
        ``best_val_loss`` is that entry's value at ``best_epoch``.
    plateau : Plateau, optional
        Stop before the cap when the validation loss stops improving (see
        :class:`Plateau`); the result's ``stopped`` says which ended the run. None (the
        default): train the ``epochs`` in full. A resumed run continues with the rule's
        state (best value, epochs since it improved) recovered from ``progress.json``;
        a finished run, stopped on a plateau or not, is reloaded. A finished run of
        the same configuration but another ``patience``, ``min_delta`` or cap is this
        rule's run as far as the rule would not have stopped it before its last epoch:
        it is continued from its backup where the rule trains on, reloaded where the rule
        stops it there; a run the rule would have stopped earlier is trained afresh.
        Combine with ``keep_best`` to return the best epoch's model rather than the last
        one's. Needs ``val_data``.
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
        or ``plateau`` without ``val_data``.
    TypeError
        If ``plateau`` is neither None nor a :class:`Plateau`.

    Examples
    --------
    >>> result = train(build, data, loss="mse", epochs=100, steps_per_epoch=50,
    ...                run_dir="runs/unet", val_data=val, validation_steps=10,
    ...                plateau=Plateau(min_delta=0.01, patience=3))  # doctest: +SKIP
    >>> result.stopped, result.epoch, result.steps  # doctest: +SKIP
    ('plateau', 17, 850)
    """
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"Expected a positive integer. Received {name}={value!r}.")
    if keep_best and val_data is None:
        raise ValueError("keep_best=True chooses the epoch on the validation loss: pass val_data. "
                         "Received val_data=None.")
    if plateau is not None and not isinstance(plateau, Plateau):
        raise TypeError(f"Expected plateau to be a xinpaint.training.Plateau or None. "
                        f"Received plateau={plateau!r}.")
    if plateau is not None and val_data is None:
        raise ValueError("plateau stops on the validation loss: pass val_data. "
                         "Received val_data=None.")
    import keras
    import tensorflow as tf

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    config = dict(config or {})
    config.update(epochs=epochs, steps_per_epoch=steps_per_epoch, learning_rate=learning_rate)
    if not isinstance(select, str) or not select.startswith("val_"):
        raise ValueError("Expected select to be a validation log entry such as 'val_loss'. "
                         f"Received select={select!r}.")
    if keep_best:
        config.update(keep_best=True)
        if select != "val_loss":  # absent otherwise: the keys of earlier runs stay valid
            config.update(select=select)
    if plateau is not None:  # absent otherwise: the keys of earlier runs stay valid
        config.update(plateau=dataclasses.asdict(plateau))
    # With a plateau rule the cap is not part of a run's identity: raising it continues a
    # run that stopped at the cap (from its backup) instead of starting another.
    key = _config_key({k: v for k, v in config.items() if not (plateau is not None and k == "epochs")})
    done_file, final_file = run_dir / "done.json", run_dir / "final.keras"
    history_file = run_dir / "history.csv"

    continuing = False
    key_file = run_dir / "config.json"
    progress_file = run_dir / "progress.json"
    if reuse and done_file.exists() and final_file.exists():
        done = json.loads(done_file.read_text())
        same = done.get("key") == key
        backup = (run_dir / "backup").is_dir() and any((run_dir / "backup").iterdir())
        values = _read_progress(progress_file)["values"]
        if not same and plateau is not None and _same_but_rule(key_file, config):
            # The same run under another plateau rule (or cap): it is this rule's run as far
            # as the rule would not have stopped it before its last epoch.
            same = not any(stop_reason(values[:n], plateau, epochs=epochs) for n in range(1, len(values)))
            if same:
                key_file.write_text(json.dumps({"key": key, "config": config}, indent=2, default=str))
                decision = stop_reason(values, plateau, epochs=epochs)
                if decision is not None or not backup:
                    done.update(key=key, stopped=decision or done.get("stopped"))
                    _write_json(done_file, done)
        continuing = (same and plateau is not None and backup and len(values) == done.get("epoch")
                      and stop_reason(values, plateau, epochs=epochs) is None)
        if same and not continuing:
            model = keras.models.load_model(final_file, compile=False)
            return TrainResult(model, read_history(history_file), 0.0, False, True,
                               int(done.get("steps", 0)), done.get("best_epoch"),
                               done.get("best_val_loss"), None if optimizer else learning_rate,
                               stopped=done.get("stopped"), epoch=done.get("epoch"),
                               cpu_seconds=done.get("cpu_seconds"),
                               wall_seconds=done.get("wall_seconds"), initial=_initial(run_dir))
    # A different configuration or an unfinished run: clear a stale final model.
    best_file, best_json = run_dir / "best.keras", run_dir / "best.json"
    # A finished run trained again (reuse=False): new times, and no backup to resume from.
    retrain = done_file.exists() and not continuing
    if retrain:
        import shutil

        shutil.rmtree(run_dir / "backup", ignore_errors=True)
        for stale in (best_file, best_json, run_dir / "initial.json"):  # epoch 0 evaluated again
            stale.unlink(missing_ok=True)
    for stale in (done_file, final_file):
        stale.unlink(missing_ok=True)
    if key_file.exists() and json.loads(key_file.read_text()).get("key") != key:
        # The folder holds a run of another configuration: start it afresh.
        import shutil

        shutil.rmtree(run_dir / "backup", ignore_errors=True)
        for stale in (history_file, best_file, best_json, progress_file, run_dir / "initial.json"):
            stale.unlink(missing_ok=True)
    key_file.write_text(json.dumps({"key": key, "config": config}, indent=2, default=str))
    resumed = (run_dir / "backup").exists() and any((run_dir / "backup").iterdir())
    progress = _read_progress(progress_file)
    if retrain:
        progress = _read_progress(None)
    elif continuing:  # stopped at a lower cap or by a stricter rule: its epochs go on
        progress["stopped"] = None
    elif not resumed:  # no checkpoint: the epochs start again, the time spent still counts
        progress = {**_read_progress(None), "cpu_seconds": progress["cpu_seconds"],
                    "wall_seconds": progress["wall_seconds"]}
    _write_json(progress_file, progress)
    fit_epochs = epochs
    if resumed and progress["stopped"] == "plateau":
        # Killed after the plateau's checkpoint, before the run was saved: no more epochs.
        fit_epochs = min(epochs, max(1, progress["epoch"]))

    train_data = train_data() if callable(train_data) else train_data
    val_data = val_data() if callable(val_data) else val_data
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_model()
        opt = optimizer() if optimizer else keras.optimizers.Adam(learning_rate)
        model.compile(optimizer=opt, loss=loss, metrics=metrics, jit_compile=jit_compile)

    cbs = [_progress_callback(progress_file, plateau, epochs)]
    if keep_best:
        if not (best_json.exists() and best_file.exists()):  # epoch 0: the untrained model
            logs = model.evaluate(val_data, steps=validation_steps, verbose=0, return_dict=True)
            entry = select.removeprefix("val_")
            if entry not in logs:
                raise ValueError(f"select={select!r} is not logged: the validation logs are "
                                 f"{', '.join('val_' + k for k in logs)}.")
            model.save(best_file)
            best_json.write_text(json.dumps({"epoch": 0, "val_loss": float(logs[entry]),
                                             "monitor": select}))
            _write_json(run_dir / "initial.json", {f"val_{k}": float(v) for k, v in logs.items()})
        cbs.append(_keep_best_callback(best_file, best_json, select))
    cbs += [
        # Kept after the run, so that a higher cap continues it (see ``continuing``).
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), save_freq=save_freq,
                                         delete_checkpoint=plateau is None),
        keras.callbacks.CSVLogger(str(history_file), append=True),
        *callbacks,
    ]
    start = time.perf_counter()
    model.fit(
        train_data,
        epochs=fit_epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val_data,
        validation_steps=validation_steps if val_data is not None else None,
        callbacks=cbs,
        shuffle=False,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    steps = int(model.optimizer.iterations.numpy())
    progress = _read_progress(progress_file)
    stopped = progress["stopped"] or ("plateau" if fit_epochs < epochs else "cap")
    record = {"key": key, "steps": steps, "seconds": seconds, "stopped": stopped,
              "epoch": progress["epoch"], "cpu_seconds": progress["cpu_seconds"],
              "wall_seconds": progress["wall_seconds"]}
    best_epoch = best_val_loss = None
    if keep_best:
        best = json.loads(best_json.read_text())
        best_epoch, best_val_loss = best["epoch"], best["val_loss"]
        model = keras.models.load_model(best_file, compile=False)
        record.update(best_epoch=best_epoch, best_val_loss=best_val_loss)
    model.save(final_file)
    done_file.write_text(json.dumps(record, indent=2))
    return TrainResult(model, read_history(history_file), seconds, resumed, False, steps, best_epoch,
                       best_val_loss, None if optimizer else learning_rate, stopped=stopped,
                       epoch=record["epoch"], cpu_seconds=record["cpu_seconds"],
                       wall_seconds=record["wall_seconds"], initial=_initial(run_dir))


def _initial(run_dir: Path) -> dict:
    """The validation logs of the untrained model (``initial.json``), or {}."""
    path = run_dir / "initial.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _read_progress(path) -> dict:
    """``progress.json``, or the state of a run that has not trained yet."""
    state = {"epoch": 0, "steps": 0, "values": [], "stopped": None, "reference": None,
             "reference_epoch": 0, "epochs_without_improvement": 0, "cpu_seconds": 0.0,
             "wall_seconds": 0.0}
    if path is not None and Path(path).exists():
        try:
            state.update(json.loads(Path(path).read_text()))
        except json.JSONDecodeError:  # not written by the atomic writer: start afresh
            pass
    return state


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` atomically: a process killed mid-write leaves the previous file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _progress_callback(progress_file: Path, plateau: Plateau | None, epochs: int):
    import keras

    monitor = plateau.monitor if plateau else "val_loss"

    class Progress(keras.callbacks.Callback):
        """Record each epoch in ``progress.json`` and stop on a plateau.

        The state is read back at the start of ``fit`` so that it survives a restart
        (``BackupAndRestore`` resumes the epochs, not this callback's state). This
        callback runs before the backup: an epoch recorded here but not backed up is
        trained again on resume and its record replaced.
        """

        def on_train_begin(self, logs=None):
            self.state = _read_progress(progress_file)
            self.cpu0, self.wall0 = self.state["cpu_seconds"], self.state["wall_seconds"]
            self.cpu_start, self.wall_start = time.process_time(), time.perf_counter()
            self.last_write = self.wall_start

        def _times(self):
            self.state["cpu_seconds"] = self.cpu0 + time.process_time() - self.cpu_start
            self.state["wall_seconds"] = self.wall0 + time.perf_counter() - self.wall_start

        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - self.last_write > 10:  # the time of long epochs
                self._times()
                _write_json(progress_file, self.state)
                self.last_write = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if plateau is not None and monitor not in logs:
                raise ValueError(f"Expected Plateau(monitor={monitor!r}) among the logs "
                                 f"{sorted(logs)}. Received monitor={monitor!r}.")
            value = logs.get(monitor)
            value = float(value) if value is not None and math.isfinite(value) else None
            values = list(self.state["values"][:epoch])
            values += [None] * (epoch - len(values)) + [value]
            reason = stop_reason(values, plateau, epochs=epochs)
            reference, reference_epoch = _plateau_reference(values, plateau.min_delta if plateau
                                                            else 0.0)
            self._times()
            self.state.update(
                epoch=epoch + 1, steps=int(self.model.optimizer.iterations.numpy()),
                monitor=monitor, values=values, stopped=reason,
                reference=reference if math.isfinite(reference) else None,
                reference_epoch=reference_epoch,
                epochs_without_improvement=len(values) - reference_epoch)
            _write_json(progress_file, self.state)
            self.last_write = time.perf_counter()
            if reason == "plateau":
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            self._times()
            _write_json(progress_file, self.state)

    return Progress()


def _keep_best_callback(best_file, best_json, select="val_loss"):
    import keras

    class KeepBest(keras.callbacks.Callback):
        """Save the model when the validation loss beats the best one in ``best.json``.

        The best value is read from the file at every epoch, so that it survives a
        restart (``BackupAndRestore`` resumes the epochs, not this callback's state).
        """

        def __init__(self, best_file, best_json, select):
            super().__init__()
            self.best_file, self.best_json, self.select = best_file, best_json, select

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(self.select)
            best = json.loads(self.best_json.read_text())
            if value is not None and np.isfinite(value) and value < best["val_loss"]:
                self.model.save(self.best_file)
                self.best_json.write_text(json.dumps({"epoch": epoch + 1, "val_loss": float(value),
                                                      "monitor": self.select}))

    return KeepBest(best_file, best_json, select)

import json

import numpy as np
import pytest

from xinpaint.recorded_runs import RUN_FILES, recorded_runs_dir, restore_runs, save_runs
from xinpaint.training import Plateau, train


def _run(run_dir, *, epochs=2, config=None):
    import keras
    import tensorflow as tf

    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    data = tf.data.Dataset.from_tensor_slices((x, 2 * x)).repeat().batch(8)

    def build():
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    calls = []

    def lazy():
        calls.append(1)
        return data

    result = train(build, lazy, loss="mse", epochs=epochs, steps_per_epoch=3, run_dir=run_dir,
                   val_data=lazy, validation_steps=1, keep_best=True,
                   plateau=Plateau(patience=2, min_delta=0.0), config=config or {"lr": 1})
    return result, calls, x


def test_a_saved_run_restored_on_another_machine_is_reloaded_not_trained(tmp_path):
    machine_a, machine_b, record = tmp_path / "a", tmp_path / "b", tmp_path / "record"
    first, _, x = _run(machine_a / "toy-lr0.001-cpu")
    assert not first.loaded and (machine_a / "toy-lr0.001-cpu" / "best.keras").exists()
    saved = save_runs("cpu", source=machine_a, dest=record)
    assert saved == [record / "toy-lr0.001-cpu"]
    # Only what a reload reads: no resumable checkpoints, no duplicate of the kept model.
    kept = sorted(p.name for p in saved[0].iterdir())
    assert set(kept) <= set(RUN_FILES) and "final.keras" in kept and "best.keras" not in kept
    assert restore_runs("cpu", source=record, dest=machine_b) == [machine_b / "toy-lr0.001-cpu"]
    second, calls, _ = _run(machine_b / "toy-lr0.001-cpu")
    assert second.loaded and calls == []  # no dataset built: nothing trained
    assert (second.steps, second.best_epoch, second.stopped) == (first.steps, first.best_epoch, first.stopped)
    assert second.cpu_seconds == first.cpu_seconds and second.history == first.history
    np.testing.assert_array_equal(second.model.predict(x, verbose=0), first.model.predict(x, verbose=0))


def test_a_restored_run_of_another_configuration_is_trained_again(tmp_path):
    _run(tmp_path / "a" / "toy-lr0.001-cpu", config={"lr": 1})
    save_runs("cpu", source=tmp_path / "a", dest=tmp_path / "record")
    restore_runs("cpu", source=tmp_path / "record", dest=tmp_path / "b")
    again, calls, _ = _run(tmp_path / "b" / "toy-lr0.001-cpu", config={"lr": 2})
    assert not again.loaded and calls


def test_unfinished_and_other_profile_runs_are_not_saved(tmp_path):
    runs = tmp_path / "runs"
    _run(runs / "toy-lr0.001-gpu")
    unfinished = runs / "other-lr0.001-cpu"
    _run(unfinished)
    (unfinished / "done.json").unlink()  # killed before it finished
    assert save_runs("cpu", source=runs, dest=tmp_path / "record") == []
    assert save_runs("gpu", source=runs, dest=tmp_path / "record") == [tmp_path / "record" / "toy-lr0.001-gpu"]
    # Saving again writes nothing: the recorded run has the same key.
    assert save_runs("gpu", source=runs, dest=tmp_path / "record") == []


def test_restore_never_overwrites_this_machines_runs(tmp_path):
    _run(tmp_path / "a" / "toy-lr0.001-cpu", config={"lr": 1})
    save_runs("cpu", source=tmp_path / "a", dest=tmp_path / "record")
    # Here: a finished run (perhaps newer), and a run of another configuration in training.
    finished = tmp_path / "b" / "toy-lr0.001-cpu"
    _run(finished, epochs=1)
    before = (finished / "done.json").read_text()
    assert restore_runs("cpu", source=tmp_path / "record", dest=tmp_path / "b") == []
    assert (finished / "done.json").read_text() == before
    training = tmp_path / "c" / "toy-lr0.001-cpu"
    _run(training, config={"lr": 3})
    (training / "done.json").unlink()
    assert restore_runs("cpu", source=tmp_path / "record", dest=tmp_path / "c") == []
    assert json.loads((training / "config.json").read_text())["config"]["lr"] == 3
    # The same configuration killed before it finished: the recorded run replaces it.
    same = tmp_path / "d" / "toy-lr0.001-cpu"
    _run(same, config={"lr": 1})
    (same / "done.json").unlink()
    assert restore_runs("cpu", source=tmp_path / "record", dest=tmp_path / "d") == [same]
    assert (same / "done.json").exists()


def test_missing_record_restores_nothing_and_bad_arguments_are_named(tmp_path):
    assert restore_runs("cpu", source=tmp_path / "none", dest=tmp_path / "b") == []
    with pytest.raises(FileNotFoundError, match=r"Expected source to be a folder of training runs\. "
                       r"Received source='.*none', which is not a folder\."):
        save_runs("cpu", source=tmp_path / "none", dest=tmp_path / "record")
    with pytest.raises(TypeError, match=r"Expected dest to be a folder path\. Received dest=3\."):
        restore_runs("cpu", source=tmp_path, dest=3)
    with pytest.raises(ValueError, match="profile"):
        save_runs("laptop", source=tmp_path)
    assert recorded_runs_dir("cpu", results=tmp_path) == tmp_path / "cpu" / "runs"

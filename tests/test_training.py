"""Resumable and distributed training (xinpaint.training)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from xinpaint.training import read_history, train

SCRIPT = Path(__file__).with_name("training_script.py")


def _run(run_dir, *extra, out=None):
    cmd = [sys.executable, str(SCRIPT), str(run_dir), *extra]
    if out:
        cmd += ["--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True)


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    reference = json.loads(_run(tmp_path / "reference").stdout.strip().splitlines()[-1])

    run_dir = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(run_dir), "--sleep", "0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = run_dir / "history.csv"
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for two finished epochs, then kill mid-epoch
        if history.exists() and len(history.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    time.sleep(0.35)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "done.json").exists()
    epochs_before = len(read_history(history)["loss"])
    assert 2 <= epochs_before < 6

    resumed = json.loads(_run(run_dir).stdout.strip().splitlines()[-1])
    assert resumed["resumed"] is True
    assert resumed["steps"] == reference["steps"] == 6 * 10
    assert len(resumed["loss"]) == 6
    # The data order differs after a restart, so the final model is close, not identical.
    assert resumed["eval_loss"] == pytest.approx(reference["eval_loss"], rel=0.3, abs=2e-3)
    assert resumed["eval_loss"] < 0.2 * resumed["loss"][0]

    again = json.loads(_run(run_dir).stdout.strip().splitlines()[-1])
    assert again["loaded"] is True and again["steps"] == 60


@pytest.mark.slow
def test_two_device_strategy_matches_one_device(tmp_path):
    one = json.loads(_run(tmp_path / "one").stdout.strip().splitlines()[-1])
    two = json.loads(_run(tmp_path / "two", "--devices", "2").stdout.strip().splitlines()[-1])
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert one["steps"] == two["steps"] == 60
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-3, atol=1e-6)


def test_train_rejects_bad_lengths(tmp_path):
    with pytest.raises(ValueError, match=r"Received epochs=0"):
        train(lambda: None, None, loss="mse", epochs=0, steps_per_epoch=1, run_dir=tmp_path)
    with pytest.raises(ValueError, match=r"Received steps_per_epoch=2.5"):
        train(lambda: None, None, loss="mse", epochs=1, steps_per_epoch=2.5, run_dir=tmp_path)


def test_finished_run_is_reused_only_for_the_same_config(tmp_path):
    import keras
    import tensorflow as tf

    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    data = tf.data.Dataset.from_tensor_slices((x, 2 * x)).repeat().batch(8)

    def build():
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    calls = []

    def lazy():  # datasets given as a callable are built only when training is needed
        calls.append(1)
        return data

    first = train(build, lazy, loss="mse", epochs=2, steps_per_epoch=3, run_dir=tmp_path,
                  config={"lr": 1})
    assert not first.loaded and first.steps == 6 and len(first.history["loss"]) == 2
    second = train(build, lazy, loss="mse", epochs=2, steps_per_epoch=3, run_dir=tmp_path,
                   config={"lr": 1}, val_data=lazy, validation_steps=1)
    assert second.loaded and second.steps == 6 and len(calls) == 1
    np.testing.assert_array_equal(second.model.predict(x, verbose=0),
                                  first.model.predict(x, verbose=0))
    third = train(build, data, loss="mse", epochs=3, steps_per_epoch=3, run_dir=tmp_path,
                  config={"lr": 1})
    assert not third.loaded and third.steps == 9 and len(third.history["loss"]) == 3


def test_keep_best_chooses_the_training_length_on_val(tmp_path):
    import keras
    import tensorflow as tf

    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    data = tf.data.Dataset.from_tensor_slices((x, 2 * x)).repeat().batch(8)
    opposite = tf.data.Dataset.from_tensor_slices((x, -2 * x)).repeat().batch(8)

    def build():  # starts at y = 0
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])

    # The validation split disagrees with training: every epoch is worse than the start.
    worse = train(build, data, loss="mse", epochs=3, steps_per_epoch=4, run_dir=tmp_path / "worse",
                  learning_rate=0.05, val_data=opposite, validation_steps=2, keep_best=True)
    assert worse.best_epoch == 0 and len(worse.history["val_loss"]) == 3
    np.testing.assert_array_equal(worse.model.predict(x, verbose=0), 0.0)

    better = train(build, data, loss="mse", epochs=3, steps_per_epoch=4, run_dir=tmp_path / "better",
                   learning_rate=0.05, val_data=data, validation_steps=2, keep_best=True)
    val_loss = better.history["val_loss"]
    assert better.best_epoch == 1 + int(np.argmin(val_loss)) and min(val_loss) < 4 / 3
    assert better.best_epoch > 0
    reloaded = train(build, data, loss="mse", epochs=3, steps_per_epoch=4,
                     run_dir=tmp_path / "better", learning_rate=0.05, val_data=data,
                     validation_steps=2, keep_best=True)
    assert reloaded.loaded and reloaded.best_epoch == better.best_epoch
    np.testing.assert_array_equal(reloaded.model.predict(x, verbose=0),
                                  better.model.predict(x, verbose=0))


def test_keep_best_needs_val_data(tmp_path):
    with pytest.raises(ValueError, match=r"keep_best=True .* Received val_data=None\."):
        train(lambda: None, None, loss="mse", epochs=1, steps_per_epoch=1, run_dir=tmp_path,
              keep_best=True)

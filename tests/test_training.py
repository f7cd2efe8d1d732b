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

from xinpaint.training import Plateau, read_history, stop_reason, train

from . import training_plateau_script as plateau_run

SCRIPT = Path(__file__).with_name("training_script.py")
PLATEAU_SCRIPT = Path(__file__).with_name("training_plateau_script.py")


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
    # Without a plateau rule the run trains to the cap, under the key it always had.
    assert (first.stopped, first.epoch) == ("cap", 2)
    assert first.cpu_seconds > 0 and first.wall_seconds > 0
    assert "plateau" not in json.loads((tmp_path / "config.json").read_text())["config"]
    second = train(build, lazy, loss="mse", epochs=2, steps_per_epoch=3, run_dir=tmp_path,
                   config={"lr": 1}, val_data=lazy, validation_steps=1)
    assert second.loaded and second.steps == 6 and len(calls) == 1
    assert (second.stopped, second.epoch, second.wall_seconds) == ("cap", 2, first.wall_seconds)
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


def _first_stop(values, plateau, epochs):
    """The epoch and reason at which :func:`stop_reason` first stops on ``values``."""
    for n in range(1, len(values) + 1):
        reason = stop_reason(values[:n], plateau, epochs=epochs)
        if reason:
            return n, reason
    return None, None


def test_stop_reason_on_synthetic_curves():
    rule = Plateau(min_delta=0.01, patience=2)
    # Flattens after epoch 3: epochs 4 and 5 improve on 0.3 by under 1 %.
    flat = [1.0, 0.5, 0.3, 0.299, 0.2985, 0.298, 0.2]
    assert _first_stop(flat, rule, epochs=20) == (5, "plateau")
    assert [stop_reason(flat[:n], rule, epochs=20) for n in range(5)] == [None] * 5
    assert _first_stop(flat, Plateau(min_delta=0.01, patience=3), epochs=20) == (6, "plateau")
    assert _first_stop(flat, Plateau(min_delta=0.0, patience=2), epochs=7) == (7, "cap")
    # Steadily improving (10 % an epoch): never a plateau, the cap at 50.
    steady = list(0.9 ** np.arange(60))
    assert _first_stop(steady, rule, epochs=50) == (50, "cap")
    # A slow creep (0.6 % an epoch) improves by 1 % on the reference every second epoch.
    creep = list(0.994 ** np.arange(60))
    assert _first_stop(creep, rule, epochs=60) == (60, "cap")
    assert _first_stop(creep, Plateau(min_delta=0.01, patience=1), epochs=60) == (2, "plateau")
    # A plateau reached at the cap is reported as the plateau.
    assert stop_reason(flat[:5], rule, epochs=5) == "plateau"
    assert stop_reason(flat[:4], rule, epochs=4) == "cap"
    # Non-finite losses never improve; negative losses improve relative to |reference|.
    assert _first_stop([1.0, float("nan"), None], rule, epochs=9) == (3, "plateau")
    assert stop_reason([-1.0, -1.02, -1.04], rule, epochs=9) is None
    assert stop_reason([], rule, epochs=1) is None
    assert _first_stop(flat, None, epochs=6) == (6, "cap")


def test_plateau_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"Received min_delta=-0\.1\.$"):
        Plateau(min_delta=-0.1)
    with pytest.raises(ValueError, match=r"Received min_delta=nan\.$"):
        Plateau(min_delta=float("nan"))
    with pytest.raises(ValueError, match=r"integer >= 1\. Received patience=0\.$"):
        Plateau(patience=0)
    with pytest.raises(ValueError, match=r"Received patience=2\.5\.$"):
        Plateau(patience=2.5)
    with pytest.raises(ValueError, match=r"Received monitor=''\.$"):
        Plateau(monitor="")
    with pytest.raises(ValueError, match=r"plateau stops on the validation loss.* Received val_data=None\."):
        train(lambda: None, None, loss="mse", epochs=1, steps_per_epoch=1, run_dir=tmp_path,
              plateau=Plateau())
    with pytest.raises(TypeError, match=r"Received plateau=3\.$"):
        train(lambda: None, None, loss="mse", epochs=1, steps_per_epoch=1, run_dir=tmp_path,
              val_data=[], plateau=3)
    assert not any(tmp_path.iterdir())  # validated before anything is written


def test_plateau_stops_early_and_reloads(tmp_path):
    result = plateau_run.run(tmp_path / "run")
    val_loss = result.history["val_loss"]
    assert result.stopped == "plateau" and not result.loaded
    assert result.epoch == len(val_loss) < plateau_run.EPOCHS
    assert result.steps == result.epoch * plateau_run.STEPS
    assert _first_stop(val_loss, Plateau(min_delta=0.01, patience=2),
                       epochs=plateau_run.EPOCHS) == (result.epoch, "plateau")
    assert 0 < result.cpu_seconds and 0 < result.wall_seconds <= result.seconds
    progress = json.loads((tmp_path / "run" / "progress.json").read_text())
    assert progress["stopped"] == "plateau" and progress["epoch"] == result.epoch
    assert progress["epochs_without_improvement"] == 2
    np.testing.assert_allclose(progress["values"], val_loss, rtol=1e-6)
    done = json.loads((tmp_path / "run" / "done.json").read_text())
    assert (done["stopped"], done["epoch"], done["steps"]) == ("plateau", result.epoch, result.steps)

    again = plateau_run.run(tmp_path / "run")  # stopped on a plateau: reloaded, not trained on
    assert again.loaded and (again.stopped, again.epoch, again.steps) == (
        "plateau", result.epoch, result.steps)
    assert again.cpu_seconds == result.cpu_seconds

    capped = plateau_run.run(tmp_path / "capped", epochs=4)
    assert (capped.stopped, capped.epoch, capped.steps) == ("cap", 4, 4 * plateau_run.STEPS)
    # A higher cap continues the capped run from its last epoch (its history kept), and
    # the same cap again reloads it; the full run stops where the uncapped one did.
    assert plateau_run.run(tmp_path / "capped", epochs=4).loaded
    more = plateau_run.run(tmp_path / "capped")
    assert not more.loaded and more.resumed
    assert (more.stopped, more.epoch, more.steps) == ("plateau", result.epoch, result.steps)
    np.testing.assert_allclose(more.history["val_loss"][:4], capped.history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(more.history["val_loss"], val_loss, rtol=1e-5)
    assert more.cpu_seconds > capped.cpu_seconds
    best = plateau_run.run(tmp_path / "best", keep_best=True)
    assert (best.stopped, best.epoch) == ("plateau", result.epoch)
    assert best.best_epoch == 1 + int(np.argmin(best.history["val_loss"]))


class _Crash(Exception):
    pass


def test_plateau_killed_after_its_last_checkpoint_trains_no_further(tmp_path):
    import keras

    reference = plateau_run.run(tmp_path / "reference")

    class CrashOnStop(keras.callbacks.Callback):  # after the backup of the stopping epoch
        def on_epoch_end(self, epoch, logs=None):
            if self.model.stop_training:
                raise _Crash

    with pytest.raises(_Crash):
        plateau_run.run(tmp_path / "run", callbacks=[CrashOnStop()])
    assert not (tmp_path / "run" / "done.json").exists()
    resumed = plateau_run.run(tmp_path / "run")
    assert resumed.resumed and not resumed.loaded
    assert (resumed.stopped, resumed.epoch, resumed.steps) == (
        "plateau", reference.epoch, reference.steps)
    assert len(resumed.history["val_loss"]) == reference.epoch


def test_plateau_resumes_after_sigkill_with_its_state(tmp_path):
    reference = plateau_run.run(tmp_path / "reference")
    assert reference.epoch >= 4
    run_dir = tmp_path / "killed"
    kill_epoch = reference.epoch  # mid-way through the epoch that stops the run
    proc = subprocess.run([sys.executable, str(PLATEAU_SCRIPT), str(run_dir),
                           "--kill-epoch", str(kill_epoch), "--kill-batch", "0"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (run_dir / "done.json").exists()
    before = json.loads((run_dir / "progress.json").read_text())
    assert before["epoch"] == kill_epoch - 1 and before["stopped"] is None
    assert before["epochs_without_improvement"] == 1  # the plateau state to carry over
    assert before["cpu_seconds"] > 0 and before["wall_seconds"] > 0

    resumed = plateau_run.run(run_dir)
    assert resumed.resumed and not resumed.loaded
    assert (resumed.stopped, resumed.epoch, resumed.steps) == (
        reference.stopped, reference.epoch, reference.steps)
    np.testing.assert_allclose(resumed.history["val_loss"], reference.history["val_loss"],
                               rtol=1e-5)
    # The time of both processes, up to the killed one's last finished epoch.
    assert resumed.wall_seconds > before["wall_seconds"] and resumed.wall_seconds > resumed.seconds
    assert resumed.cpu_seconds > before["cpu_seconds"]


def test_a_looser_rule_continues_a_run_that_a_stricter_one_stopped(tmp_path):
    strict_rule, loose_rule = Plateau(min_delta=0.01, patience=1), Plateau(min_delta=0.01, patience=3)
    strict = plateau_run.run(tmp_path / "run", plateau=strict_rule)
    reference = plateau_run.run(tmp_path / "reference", plateau=loose_rule)
    assert strict.stopped == "plateau" and strict.epoch < reference.epoch
    # The looser rule would not have stopped it: the run goes on from its last epoch, and
    # ends where a run under the looser rule from the start ends.
    loose = plateau_run.run(tmp_path / "run", plateau=loose_rule)
    assert loose.resumed and not loose.loaded
    assert (loose.stopped, loose.epoch, loose.steps) == (
        reference.stopped, reference.epoch, reference.steps)
    np.testing.assert_allclose(loose.history["val_loss"], reference.history["val_loss"], rtol=1e-5)
    assert plateau_run.run(tmp_path / "run", plateau=loose_rule).loaded
    # Another rule that stops the recorded run exactly where it stopped: reloaded, not trained.
    values = reference.history["val_loss"]
    same = [rule for rule in (Plateau(min_delta=d, patience=p) for d, p in ((0.008, 3), (0.005, 2)))
            if _first_stop(values, rule, epochs=plateau_run.EPOCHS) == (reference.epoch, "plateau")]
    assert same, "the test needs a second rule with the same stop"
    again = plateau_run.run(tmp_path / "reference", plateau=same[0])
    assert again.loaded and (again.stopped, again.epoch) == ("plateau", reference.epoch)
    # A stricter rule would have stopped the run earlier: it trains afresh, and stops there.
    fresh = plateau_run.run(tmp_path / "reference", plateau=strict_rule)
    assert not fresh.loaded and not fresh.resumed and fresh.epoch == strict.epoch
    # Another monitored entry is another run, whatever the values recorded.
    other = plateau_run.run(tmp_path / "run", plateau=Plateau(min_delta=0.01, patience=3,
                                                               monitor="loss"))
    assert not other.loaded and not other.resumed

"""A tiny run whose validation loss reaches a plateau, for tests/test_training.py.

python tests/training_plateau_script.py RUN_DIR [--kill-epoch 3 --kill-batch 1]

Full-batch gradient descent on a linear model: every step sees the same batch, so a run
resumed after a kill takes exactly the steps of an uninterrupted one. The targets hold a
part no line can fit, so the validation loss flattens onto that floor. With
``--kill-epoch E`` the process kills itself (SIGKILL) after batch ``--kill-batch`` of
epoch ``E`` (1-based), mid-epoch.
"""

import argparse
import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EPOCHS, STEPS = 40, 2


def run(run_dir, *, callbacks=(), epochs=EPOCHS, plateau=None, **kwargs):
    """Train the plateau run in ``run_dir``; returns :class:`xinpaint.training.TrainResult`."""
    import keras
    import numpy as np
    import tensorflow as tf

    from xinpaint.training import Plateau, train

    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    y = (2 * x + 0.3 * np.sin(9 * x) + 0.5).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(64).repeat()

    def build():
        return keras.Sequential([keras.Input((1,)),
                                 keras.layers.Dense(1, kernel_initializer="zeros")])

    return train(build, data, loss="mse", epochs=epochs, steps_per_epoch=STEPS, run_dir=run_dir,
                 val_data=data, validation_steps=1, jit_compile=False, callbacks=list(callbacks),
                 optimizer=lambda: keras.optimizers.SGD(0.3),
                 plateau=plateau or Plateau(min_delta=0.01, patience=2), **kwargs)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--kill-epoch", type=int, default=0)
    parser.add_argument("--kill-batch", type=int, default=0)
    args = parser.parse_args(argv)

    import keras

    class Kill(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == args.kill_epoch and batch == args.kill_batch:
                os.kill(os.getpid(), signal.SIGKILL)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

    result = run(args.run_dir, callbacks=[Kill()])
    print(json.dumps({"stopped": result.stopped, "epoch": result.epoch, "steps": result.steps}))


if __name__ == "__main__":
    sys.exit(main())

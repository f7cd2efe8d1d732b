"""A tiny training run used by tests/test_training.py in subprocesses.

python tests/training_script.py RUN_DIR [--devices 2] [--sleep 0.05] [--epochs 6] [--out JSON]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    import tensorflow as tf

    if args.devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.devices
        )
    import keras
    import numpy as np

    from xinpaint.training import train

    keras.utils.set_random_seed(7)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.1).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(16)

    def build():
        keras.utils.set_random_seed(7)
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="tanh"),
                                 keras.layers.Dense(1)])

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(args.sleep)

    strategy = None
    if args.devices > 1:
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(args.devices)])
    result = train(build, data, loss="mse", epochs=args.epochs, steps_per_epoch=args.steps,
                   run_dir=args.run_dir, learning_rate=0.01, strategy=strategy,
                   callbacks=[Slow()], jit_compile=False,
                   optimizer=lambda: keras.optimizers.SGD(0.05))
    eval_loss = float(np.mean((result.model.predict(x, verbose=0) - y) ** 2))
    record = {"steps": result.steps, "loss": result.history["loss"], "resumed": result.resumed,
              "eval_loss": eval_loss,
              "replicas": (strategy or tf.distribute.get_strategy()).num_replicas_in_sync,
              "loaded": result.loaded}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh)
    print(json.dumps(record))


if __name__ == "__main__":
    sys.exit(main())

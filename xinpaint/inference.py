"""Inpaint your own images and sequences: any dtype, any size, valid pixels untouched.

:func:`inpaint` is the Python equivalent of ``xinpaint inpaint``. It takes one frame
``(H, W)`` or a sequence ``(T, H, W)`` in any real dtype (uint16 detector counts
included) and a boolean ``holes`` array (True where metal hides a pixel), and
returns the inpainted array in the input's dtype and value range:

1. the frames are mapped affinely to [0, 1] using the minimum and maximum of the
   *visible* pixels of the whole input (one mapping for every frame, so a sequence
   keeps its frame-to-frame consistency), or a ``value_range`` the caller gives;
2. the holes are filled by a classical method (:data:`xinpaint.baselines.METHODS`)
   or a Keras model (a shipped model's name, a ``.keras`` file, or a model object),
   by tiles with overlap and linear blending so that any size fits in memory;
3. the result is mapped back, rounded and clipped for integer dtypes, and every
   visible pixel is copied from the input, so it is bit-identical.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = ["WEIGHTS_DIR", "earlier_card", "inpaint", "load_model", "predict_sequence", "recommended_model",
           "shipped_models"]

#: Classical methods that see the whole sequence at once (the others work frame by frame).
_WHOLE_SEQUENCE_METHODS = ("temporal", "spatiotemporal")

#: Folder of the models shipped with the package: ``<name>.keras`` and its card ``<name>.json``.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def shipped_models() -> dict[str, dict]:
    """The trained models shipped inside the package, by name, with their model cards."""
    models = {}
    for card in sorted(WEIGHTS_DIR.glob("*.json")):
        model_file = card.with_suffix(".keras")
        if model_file.exists():
            info = json.loads(card.read_text(encoding="utf-8"))
            info["path"] = str(model_file)
            models[card.stem] = info
    return models


def earlier_card(card: dict) -> bool:
    """Whether a model card was written before the one footing and the realistic scans
    (its model was trained on the earlier ideal data): such a card has no ``"training"``."""
    return "training" not in card


def recommended_model(models: dict | None = None) -> str:
    """The default of ``xinpaint inpaint``: the recommended shipped model, else ``"biharmonic"``.

    A shipped model is recommended when its card says so (``"recommended": true``), which
    :func:`xinpaint.shipping.ship_variant` writes only for a model that beats
    biharmonic inpainting and NMAR on the test split in the holes and in the volume; with
    several, the one with the highest test PSNR in the holes.
    """
    models = shipped_models() if models is None else models
    chosen = [(card.get("test", {}).get("hole_psnr", float("-inf")), name)
              for name, card in models.items() if card.get("recommended") is True]
    return max(chosen)[1] if chosen else "biharmonic"


def load_model(model):
    """A Keras model from a shipped name, a ``.keras`` path or a model object.

    Raises
    ------
    ValueError
        If ``model`` is neither a shipped model's name nor an existing ``.keras`` file.
    """
    import keras

    import xinpaint.layers  # noqa: F401 - registers the package's layers for loading

    if isinstance(model, keras.Model):
        return model
    shipped = shipped_models()
    if isinstance(model, str) and model in shipped:
        return keras.models.load_model(shipped[model]["path"], compile=False)
    path = Path(os.fspath(model))
    if path.suffix == ".keras" and path.exists():
        return keras.models.load_model(path, compile=False)
    from xinpaint.baselines import METHODS

    known = ", ".join([*METHODS, *shipped]) or "none"
    raise ValueError(
        f"Unknown model: expected a classical method or a shipped model ({known}), or an "
        f"existing .keras file. Received model={str(model)!r}."
    )


def _validate(frames, holes):
    frames = np.asarray(frames)
    if frames.ndim not in (2, 3):
        raise ValueError(f"Expected frames of shape (H, W) or (T, H, W). "
                         f"Received frames.shape={frames.shape}.")
    if frames.dtype == bool or not (np.issubdtype(frames.dtype, np.integer)
                                    or np.issubdtype(frames.dtype, np.floating)):
        raise ValueError(f"Expected real-valued frames. Received frames.dtype={frames.dtype}.")
    holes = np.asarray(holes)
    if holes.dtype != bool:
        values = np.unique(holes)
        if holes.dtype.kind in "iuf" and np.isin(values, (0, 1)).all():
            raise ValueError(
                "Expected boolean holes (True where metal hides a pixel); got 0/1 numbers. "
                f"Pass holes.astype(bool). Received holes.dtype={holes.dtype}."
            )
        raise ValueError(f"Expected boolean holes (True where metal hides a pixel). "
                         f"Received holes.dtype={holes.dtype}.")
    if holes.shape != frames.shape:
        raise ValueError(f"Expected holes of the frames' shape {frames.shape}. "
                         f"Received holes.shape={holes.shape}.")
    stack = holes.reshape((-1, *holes.shape[-2:]))
    full = np.flatnonzero(stack.all(axis=(1, 2)))
    if full.size:
        raise ValueError(
            "Every pixel of a frame is hidden: there is nothing to inpaint from. "
            f"Received holes covering all of frame {int(full[0])}."
        )
    if np.issubdtype(frames.dtype, np.floating) and not np.isfinite(frames[~holes]).all():
        raise ValueError("Expected finite values in the visible pixels. Received frames with "
                         "NaN or infinity outside the holes.")
    return frames, holes


def _to_unit(frames, holes, value_range=None):
    if value_range is None:
        visible = frames[~holes].astype(np.float64)
        lo, hi = float(visible.min()), float(visible.max())
    else:
        lo, hi = value_range
    scale = hi - lo if hi > lo else 1.0
    unit = ((frames.astype(np.float64) - lo) / scale).astype(np.float32)
    unit[holes] = 0.0
    return unit, lo, scale


def _from_unit(unit, lo, scale, dtype):
    values = unit.astype(np.float64) * scale + lo
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def _predict_tiles(predict, unit, valid, *, fill=None, tile, overlap, multiple, batch_size,
                   progress):
    """Run ``predict(image_batch, valid_batch, fill_batch)`` on tiles and blend them back.

    ``unit`` and ``valid`` (and ``fill``, a classical fill for hybrid models, or None)
    are (N, H, W) stacks of frames (2D models) or (N, T, H, W) stacks of windows (2D+T
    models); tiles cover the two last axes. For a frame-stack model ``fill`` is
    (N, H, W, K): the model's extra channels (see :func:`_keras_predictor`).
    """
    *lead, height, width = unit.shape
    pad_h = (-height) % multiple if height < tile else (-min(tile, height)) % multiple
    pad_w = (-width) % multiple if width < tile else (-min(tile, width)) % multiple
    th, tw = min(tile, height) + pad_h, min(tile, width) + pad_w
    pads = [(0, 0)] * len(lead) + [(0, max(0, th - height)), (0, max(0, tw - width))]
    unit_p, valid_p = np.pad(unit, pads), np.pad(valid, pads)
    channels_last = fill is not None and fill.ndim == unit.ndim + 1
    fill_p = None if fill is None else np.pad(fill, pads + [(0, 0)] * channels_last)
    out = None  # allocated from the first prediction: a many-to-one model drops the time axis
    weight = np.zeros(unit_p.shape[-2:], np.float32)
    # An image smaller than a tile is one tile: the overlap cannot exceed half of it.
    step = (th - min(overlap, th // 2), tw - min(overlap, tw // 2))
    from xinpaint.data.patches import blend_weights, patch_positions  # not on the classical path

    boxes = patch_positions(unit_p.shape[-2:], (th, tw), step)
    blend = blend_weights((th, tw), margin=overlap).astype(np.float32)
    for y, x in _progress(boxes, progress, "tiles"):
        sl = (..., slice(y, y + th), slice(x, x + tw))
        flat_u, flat_v = unit_p[sl], valid_p[sl]
        flat_f = None if fill_p is None else fill_p[(*sl, slice(None))] if channels_last else fill_p[sl]
        pred = np.concatenate([
            predict(flat_u[i:i + batch_size], flat_v[i:i + batch_size],
                    None if flat_f is None else flat_f[i:i + batch_size])
            for i in range(0, len(flat_u), batch_size)
        ])
        if out is None:
            out = np.zeros((*pred.shape[:-2], *unit_p.shape[-2:]), np.float32)
        out[sl] += pred * blend
        weight[y:y + th, x:x + tw] += blend
    out /= np.maximum(weight, 1e-6)
    return out[..., :height, :width]


def _keras_predictor(model):
    """``predict(images, valid, fill)`` for a model taking ``[image, valid]`` with a channel axis.

    The images' holes hold what the model expects (0 here). Hybrid models (two image
    channels) get the classical fill as channel 0; a frame-stack hybrid gets ``fill`` as
    (…, K) extra channels: its first is channel 0, the others follow the image.
    """

    def predict(images, valid, fill=None):
        v = valid[..., None].astype(np.float32)
        x = images[..., None].astype(np.float32)
        if fill is not None and fill.ndim == images.ndim + 1:
            fill = fill.astype(np.float32)
            x = np.concatenate([fill[..., :1], x, fill[..., 1:]], axis=-1)
        elif fill is not None:
            x = np.concatenate([fill[..., None].astype(np.float32), x], axis=-1)
        y = np.asarray(model([x, v], training=False))
        return y[..., 0]

    return predict


def inpaint(
    frames,
    holes,
    *,
    model="biharmonic",
    tile: int = 256,
    overlap: int = 32,
    batch_size: int = 8,
    value_range=None,
    progress: bool = False,
):
    """Fill the holes of an image or a sequence, keeping its dtype and visible pixels.

    Parameters
    ----------
    frames : array_like
        One frame (H, W) or a sequence (T, H, W), any real dtype (uint8, uint16,
        float16/32/64).
    holes : array_like of bool
        Same shape; True where metal hides a pixel.
    model : str, path or keras.Model, optional
        A classical method of :data:`xinpaint.baselines.METHODS` (default
        ``"biharmonic"``), the name of a shipped model (see :func:`shipped_models`),
        a ``.keras`` file, or a Keras model taking ``[image, valid]``. A model whose
        image input has two channels is a hybrid: it receives the biharmonic fill of
        the holes as channel 0 and the masked frames as channel 1; a 2D model with
        ``4 r + 2`` channels is a frame-stack hybrid that also receives the ``r``
        neighbouring frames on each side (their fills and masks; mirrored at the ends).
    tile, overlap : int, optional
        Models run on square tiles of ``tile`` pixels overlapping by ``overlap``
        pixels, blended linearly, so any image size fits in memory.
    batch_size : int, optional
        Tiles per model call; for 2D+T models, frames per call in whole windows (at
        least one window).
    value_range : (float, float), optional
        The values mapped to 0 and 1 before a model sees them. Default: the minimum and
        maximum of the visible pixels. The shipped models were trained on line
        integrals divided by 10 (:data:`xinpaint.data.projection.LINE_INTEGRAL_SCALE`),
        so ``value_range=(0, 10)`` gives them line integrals on their training scale.
    progress : bool, optional
        Show a progress bar (tqdm) over the frames of a sequence (classical methods
        that work frame by frame), the tiles (2D models) or the windows (2D+T models).
        A classical method or the import of this module never imports TensorFlow; a
        network does.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``frames``; visible pixels bit-identical.

    Raises
    ------
    ValueError
        For frames of the wrong rank or dtype, holes that are not boolean or not of
        the frames' shape, a frame hidden entirely, NaN or infinity in the visible
        pixels, or an unknown model.

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.tile(np.arange(32, dtype=np.uint16) * 100, (32, 1))
    >>> holes = np.zeros((32, 32), bool); holes[10:14, 8:20] = True
    >>> out = inpaint(frames, holes, model="biharmonic")
    >>> out.dtype, int(out[12, 15])
    (dtype('uint16'), 1500)
    """
    from xinpaint.baselines import METHODS
    from xinpaint.baselines import inpaint as classical

    frames, holes = _validate(frames, holes)
    for name, value in (("tile", tile), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected a positive integer. Received {name}={value!r}.")
    if not isinstance(overlap, int) or not 0 <= overlap < tile // 2:
        raise ValueError(f"Expected 0 <= overlap < tile / 2. Received overlap={overlap!r}.")
    if value_range is not None:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            lo = hi = float("nan")
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError("Expected value_range=(low, high) with finite low < high. "
                             f"Received value_range={value_range!r}.")
        value_range = (lo, hi)
    if not holes.any():
        warnings.warn("holes is empty: the frames are returned unchanged.", stacklevel=2)
        return frames.copy()
    unit, lo, scale = _to_unit(frames, holes, value_range)
    if isinstance(model, str) and model in METHODS:
        if unit.ndim == 3 and progress and model not in _WHOLE_SEQUENCE_METHODS:
            filled = np.empty(unit.shape, np.float32)  # frame by frame, with a progress bar
            for t in _progress(range(len(unit)), True, "frames"):
                filled[t] = classical(unit[t], holes[t], method=model)
        else:
            filled = classical(unit, holes, method=model).astype(np.float32)
    else:
        from xinpaint.models import spatial_multiple  # TensorFlow only where a network runs

        net = load_model(model)
        rank = len(net.inputs[0].shape) - 2  # 2 for (B, H, W, 1), 3 for (B, T, H, W, 1)
        from xinpaint.data.datasets import stack_radius, stack_sequence

        channels = net.inputs[0].shape[-1]
        radius = stack_radius(channels)
        stacked = rank == 2 and radius is not None
        if channels not in (1, 2) and not stacked:
            raise ValueError(f"Expected a model whose image input has 1 channel, 2 for a "
                             f"hybrid (classical fill, image), or 4 r + 2 for a frame-stack "
                             f"hybrid (2D model). Received a model with {channels} channels.")
        multiple = spatial_multiple(net)
        valid = (~holes).astype(np.float32)
        fill = None
        if channels >= 2:  # a hybrid corrects the classical fill it was trained on
            from xinpaint.models import HYBRID_FILL

            fill = classical(unit, holes, method=HYBRID_FILL).astype(np.float32)
        if rank == 2:
            stack_u = unit.reshape((-1, *unit.shape[-2:]))
            stack_v = valid.reshape(stack_u.shape)
            stack_f = None if fill is None else fill.reshape(stack_u.shape)
            if stacked:  # neighbouring frames as channels (one frame: mirrored, itself)
                image, _ = stack_sequence(stack_f, stack_u * stack_v, stack_v, radius=radius)
                stack_f = np.concatenate([image[..., :1], image[..., 2:]], axis=-1)
            pred = _predict_tiles(_keras_predictor(net), stack_u, stack_v, fill=stack_f,
                                  tile=tile, overlap=overlap, multiple=multiple,
                                  batch_size=batch_size, progress=progress)
            filled = pred.reshape(unit.shape)
        else:
            filled = predict_sequence(net, unit, valid, fill=fill, tile=tile, overlap=overlap,
                                      batch_size=batch_size, progress=progress)
        filled = np.where(holes, filled, unit)
    out = _from_unit(filled, lo, scale, frames.dtype)
    out[~holes] = frames[~holes]
    return out


def predict_sequence(model, frames, valid, *, fill=None, tile: int = 256, overlap: int = 32,
                     batch_size: int = 8, progress: bool = False) -> np.ndarray:
    """Apply a 2D+T model to a whole sequence: windows along time, tiles in space.

    The window length is the model's (its input's time axis). A many-to-many model
    (output ``(batch, T, H, W, 1)``) predicts windows with a stride of half their length,
    blended with the linear ramps of :func:`xinpaint.data.stitch_patches`; a sequence
    shorter than one window is mirrored up to one window. A many-to-one model (output
    ``(batch, H, W, 1)``, the centre frame) predicts every frame at the centre of its own
    window, the sequence mirrored at both ends. In space, each window runs on tiles of
    ``tile`` pixels overlapping by ``overlap``, blended linearly.

    Parameters
    ----------
    model : keras.Model
        Takes ``[image, valid]``, each ``(batch, T, H, W, C)``; ``C = 2`` for a hybrid.
    frames, valid : ndarray
        (T, H, W) frames, their holes already holding the value the model expects
        (0 in this package), and the valid mask (1 where visible).
    fill : ndarray, optional
        (T, H, W) classical fill, the first image channel of a hybrid model.
    tile, overlap, batch_size, progress
        As in :func:`inpaint`; ``batch_size`` counts frames per model call, in whole
        windows (at least one), so that a call holds as many pixels as a 2D call.

    Returns
    -------
    numpy.ndarray
        (T, H, W) float32 prediction, holes and visible pixels alike.
    """
    from xinpaint.models import spatial_multiple

    frames = np.asarray(frames, np.float32)
    if frames.ndim != 3:
        raise ValueError("A 2D+T model needs a sequence (T, H, W). Received frames of shape "
                         f"{frames.shape}.")
    stacks = [frames, np.asarray(valid, np.float32)]
    if fill is not None:
        stacks.append(np.asarray(fill, np.float32))
    count = frames.shape[0]
    length = model.inputs[0].shape[1]
    length = count if length is None else int(length)
    centre = len(model.outputs[0].shape) == 4
    per_call = max(1, batch_size // length)  # whole windows per model call
    options = {"tile": tile, "overlap": overlap, "multiple": spatial_multiple(model),
               "batch_size": per_call, "progress": False}
    predict = _keras_predictor(model)

    def windows(arrays, starts):
        batch = [np.stack([a[t:t + length] for t in starts]) for a in arrays]
        return _predict_tiles(predict, batch[0], batch[1],
                              fill=batch[2] if len(batch) > 2 else None, **options)

    if centre:
        half = length // 2
        padded = [np.pad(a, [(half, length - 1 - half), (0, 0), (0, 0)], mode="symmetric")
                  for a in stacks]
        chunks = [range(t, min(count, t + per_call)) for t in range(0, count, per_call)]
        out = np.empty(frames.shape, np.float32)
        for chunk in _progress(chunks, progress, "windows"):
            out[chunk.start:chunk.stop] = windows(padded, chunk)
        return out
    if count < length:
        padded = [np.pad(a, [(0, length - count), (0, 0), (0, 0)], mode="symmetric")
                  for a in stacks]
        return predict_sequence(model, padded[0], padded[1],
                                fill=padded[2] if fill is not None else None, tile=tile,
                                overlap=overlap, batch_size=batch_size, progress=progress)[:count]
    from xinpaint.data.patches import blend_weights, patch_positions

    starts = [t for (t,) in patch_positions((count,), (length,), (max(1, length // 2),))]
    blend_t = blend_weights((length,)).astype(np.float32)[:, None, None]
    out = np.zeros(frames.shape, np.float32)
    weight = np.zeros((count, 1, 1), np.float32)
    chunks = [starts[i:i + per_call] for i in range(0, len(starts), per_call)]
    for chunk in _progress(chunks, progress, "windows"):
        for t, pred in zip(chunk, windows(stacks, chunk), strict=True):
            out[t:t + length] += pred * blend_t
            weight[t:t + length] += blend_t
    return out / weight


def _progress(items, show, desc):
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit=desc.rstrip("s"))

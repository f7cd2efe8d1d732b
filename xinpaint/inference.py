"""Inpaint your own images and sequences: any dtype, any size, valid pixels untouched.

:func:`inpaint` is the Python equivalent of ``xinpaint inpaint``. It takes one frame
``(H, W)`` or a sequence ``(T, H, W)`` in any real dtype (uint16 detector counts
included) and a boolean ``holes`` array (True where metal hides a pixel), and
returns the inpainted array in the input's dtype and value range:

1. the frames are mapped affinely to [0, 1] using the minimum and maximum of the
   *visible* pixels of the whole input (one mapping for every frame, so a sequence
   keeps its frame-to-frame consistency);
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

from xinpaint.data.patches import blend_weights, patch_positions

__all__ = ["WEIGHTS_DIR", "inpaint", "load_model", "shipped_models"]

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


def _to_unit(frames, holes):
    visible = frames[~holes].astype(np.float64)
    lo, hi = float(visible.min()), float(visible.max())
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
    models); tiles cover the two last axes.
    """
    *lead, height, width = unit.shape
    pad_h = (-height) % multiple if height < tile else (-min(tile, height)) % multiple
    pad_w = (-width) % multiple if width < tile else (-min(tile, width)) % multiple
    th, tw = min(tile, height) + pad_h, min(tile, width) + pad_w
    pads = [(0, 0)] * len(lead) + [(0, max(0, th - height)), (0, max(0, tw - width))]
    unit_p, valid_p = np.pad(unit, pads), np.pad(valid, pads)
    fill_p = None if fill is None else np.pad(fill, pads)
    out = np.zeros(unit_p.shape, np.float32)
    weight = np.zeros(unit_p.shape[-2:], np.float32)
    # An image smaller than a tile is one tile: the overlap cannot exceed half of it.
    step = (th - min(overlap, th // 2), tw - min(overlap, tw // 2))
    boxes = patch_positions(unit_p.shape[-2:], (th, tw), step)
    blend = blend_weights((th, tw), margin=overlap).astype(np.float32)
    iterator = boxes
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(boxes, desc="tiles", unit="tile")
    for y, x in iterator:
        sl = (..., slice(y, y + th), slice(x, x + tw))
        flat_u, flat_v = unit_p[sl], valid_p[sl]
        flat_f = None if fill_p is None else fill_p[sl]
        pred = np.concatenate([
            predict(flat_u[i:i + batch_size], flat_v[i:i + batch_size],
                    None if flat_f is None else flat_f[i:i + batch_size])
            for i in range(0, len(flat_u), batch_size)
        ])
        out[sl] += pred.reshape(unit_p[sl].shape) * blend
        weight[y:y + th, x:x + tw] += blend
    out /= np.maximum(weight, 1e-6)
    return out[..., :height, :width]


def _keras_predictor(model):
    """``predict(images, valid, fill)`` for a model taking ``[image, valid]`` with a channel axis.

    Hybrid models (two image channels) get the classical fill as channel 0.
    """

    def predict(images, valid, fill=None):
        v = valid[..., None].astype(np.float32)
        x = images[..., None].astype(np.float32) * v
        if fill is not None:
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
        the holes as channel 0 and the masked frames as channel 1.
    tile, overlap : int, optional
        Models run on square tiles of ``tile`` pixels overlapping by ``overlap``
        pixels, blended linearly, so any image size fits in memory.
    batch_size : int, optional
        Tiles per model call.
    progress : bool, optional
        Show a progress bar over the tiles.

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
    from xinpaint.models import spatial_multiple

    frames, holes = _validate(frames, holes)
    for name, value in (("tile", tile), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected a positive integer. Received {name}={value!r}.")
    if not isinstance(overlap, int) or not 0 <= overlap < tile // 2:
        raise ValueError(f"Expected 0 <= overlap < tile / 2. Received overlap={overlap!r}.")
    if not holes.any():
        warnings.warn("holes is empty: the frames are returned unchanged.", stacklevel=2)
        return frames.copy()
    unit, lo, scale = _to_unit(frames, holes)
    if isinstance(model, str) and model in METHODS:
        filled = classical(unit, holes, method=model).astype(np.float32)
    else:
        net = load_model(model)
        rank = len(net.inputs[0].shape) - 2  # 2 for (B, H, W, 1), 3 for (B, T, H, W, 1)
        channels = net.inputs[0].shape[-1]
        if channels not in (1, 2):
            raise ValueError(f"Expected a model whose image input has 1 channel, or 2 for a "
                             f"hybrid (classical fill, image). Received a model with "
                             f"{channels} channels.")
        multiple = spatial_multiple(net)
        valid = (~holes).astype(np.float32)
        fill = None
        if channels == 2:  # a hybrid corrects the classical fill it was trained on
            from xinpaint.models import HYBRID_FILL

            fill = classical(unit, holes, method=HYBRID_FILL).astype(np.float32)
        if rank == 2:
            stack_u = unit.reshape((-1, *unit.shape[-2:]))
            stack_v = valid.reshape(stack_u.shape)
            stack_f = None if fill is None else fill.reshape(stack_u.shape)
            pred = _predict_tiles(_keras_predictor(net), stack_u, stack_v, fill=stack_f,
                                  tile=tile, overlap=overlap, multiple=multiple,
                                  batch_size=batch_size, progress=progress)
            filled = pred.reshape(unit.shape)
        else:
            filled = _predict_sequence(net, unit, valid, fill=fill, tile=tile, overlap=overlap,
                                       multiple=multiple, batch_size=batch_size,
                                       progress=progress)
        filled = np.where(holes, filled, unit)
    out = _from_unit(filled, lo, scale, frames.dtype)
    out[~holes] = frames[~holes]
    return out


def _predict_sequence(net, unit, valid, *, fill=None, tile, overlap, multiple, batch_size,
                      progress):
    """2D+T models: windows of the model's length along time, blended like the tiles."""
    if unit.ndim == 2:
        raise ValueError("A 2D+T model needs a sequence (T, H, W). Received one frame "
                         f"of shape {unit.shape}.")
    length = int(net.inputs[0].shape[1] or unit.shape[0])
    length = min(length, unit.shape[0])
    starts = [t for (t,) in patch_positions(unit.shape[:1], (length,), (length - length // 2,))]
    out = np.zeros(unit.shape, np.float32)
    weight = np.zeros(unit.shape[0], np.float32)
    blend_t = blend_weights((length,), margin=length // 4).astype(np.float32)
    predict = _keras_predictor(net)
    for t in starts:
        window_u = unit[None, t:t + length]
        window_v = valid[None, t:t + length]
        window_f = None if fill is None else fill[None, t:t + length]
        pred = _predict_tiles(predict, window_u, window_v, fill=window_f, tile=tile,
                              overlap=overlap, multiple=multiple, batch_size=batch_size,
                              progress=progress)
        out[t:t + length] += pred[0] * blend_t[:, None, None]
        weight[t:t + length] += blend_t
    return out / np.maximum(weight, 1e-6)[:, None, None]

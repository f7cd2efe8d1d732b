"""Methods for the evaluation runner: callables ``f(frames, holes) -> frames``.

A method receives (T, H, W) frames whose hidden pixels are set to 0 and the boolean
holes, and returns the filled frames. :func:`baseline_method` wraps a classical
baseline of :mod:`xinpaint.baselines` by its name, including its denoised variants
(``"biharmonic (σ 0.75)"``, see :func:`xinpaint.baselines.smoothed`);
:func:`keras_method` wraps a trained Keras model that takes ``[image, valid]``. Any
other callable is used as it is (e.g. the MAR baselines once their geometry is
bound with :func:`functools.partial`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["Method", "baseline_method", "keras_method"]

#: A method of the runner: ``f(frames, holes) -> frames`` on (T, H, W) arrays.
Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


def baseline_method(name: str) -> Method:
    """The classical baseline ``name`` as a callable ``f(frames, holes) -> frames``.

    Parameters
    ----------
    name : str
        One of :data:`xinpaint.baselines.METHODS`, or a denoised variant named
        ``"<method> (σ <sigma>)"`` (e.g. ``"biharmonic (σ 0.75)"``): the method
        filling the holes from frames smoothed with σ pixels.

    Returns
    -------
    callable
        ``f(frames, holes)`` with ``__name__`` equal to ``name``.

    Raises
    ------
    ValueError
        If ``name`` names no baseline.

    Examples
    --------
    >>> baseline_method("biharmonic (σ 0.75)").__name__
    'biharmonic (σ 0.75)'
    """
    from xinpaint.baselines import METHODS, inpaint, parse_method

    method, sigma = None, 0.0
    if isinstance(name, str):
        try:
            method, sigma = parse_method(name)
        except ValueError:
            method = None
    if method not in METHODS:
        raise ValueError(
            f"Unknown method: expected one of {', '.join(METHODS)} (optionally smoothed, "
            f"e.g. 'biharmonic (σ 0.75)') or a callable. Received method={name!r}."
        )

    def fill(frames, holes):
        return inpaint(frames, holes, method=method, smooth=sigma)

    fill.__name__ = name
    return fill


def keras_method(model, *, mode: str = "2d", batch_size: int = 8) -> Method:
    """Wrap a Keras inpainting model as a callable ``f(frames, holes) -> frames``.

    The model takes ``[image, valid]`` with ``image = frames * valid`` and
    ``valid = 1 - holes`` (float32, trailing channel axis) and returns the image.
    Only hidden pixels are taken from the model; visible pixels are the input's.

    Parameters
    ----------
    model : keras.Model
        The trained model.
    mode : {"2d", "3d"}
        ``"2d"``: frames are fed one by one as a batch of (H, W, 1) images.
        ``"3d"``: the whole (T, H, W) sequence is fed as one (T, H, W, 1) sample.
    batch_size : int
        Frames per batch in ``"2d"`` mode.

    Returns
    -------
    callable
        ``f(frames, holes)`` for (T, H, W) frames and holes.
    """
    if mode not in ("2d", "3d"):
        raise ValueError(f"Unknown mode: expected '2d' or '3d'. Received mode={mode!r}.")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"Expected a positive batch size. Received batch_size={batch_size!r}.")

    def fill(frames, holes):
        frames = np.asarray(frames, dtype=np.float32)
        holes = np.asarray(holes, dtype=bool)
        valid = (~holes).astype(np.float32)[..., None]
        image = frames[..., None] * valid
        if mode == "2d":
            pred = model.predict([image, valid], batch_size=batch_size, verbose=0)
        else:
            pred = model.predict([image[None], valid[None]], batch_size=1, verbose=0)[0]
        pred = np.asarray(pred, dtype=np.float32).reshape(frames.shape)
        return np.where(holes, pred, frames)

    fill.__name__ = getattr(model, "name", "model")
    return fill


def _as_methods(methods) -> dict[str, Method]:
    if isinstance(methods, str) or callable(methods):
        methods = [methods]
    items = methods.items() if isinstance(methods, Mapping) else [(None, m) for m in methods]
    out: dict[str, Method] = {}
    for name, m in items:
        if isinstance(m, str):
            fn = baseline_method(m)
            name = name or m
        elif callable(m):
            fn = m
            # a functools.partial (e.g. a MAR method with its geometry bound) has no __name__
            inner = getattr(m, "func", None)
            name = name or getattr(m, "__name__", None) or getattr(inner, "__name__", None) or repr(m)
        else:
            raise ValueError(
                f"Expected a baseline name or a callable f(frames, holes) for each method. Received method={m!r}."
            )
        if name in out:
            raise ValueError(f"Expected distinct method names. Received {name!r} twice.")
        out[name] = fn
    if not out:
        raise ValueError("Expected at least one method. Received methods=[].")
    return out

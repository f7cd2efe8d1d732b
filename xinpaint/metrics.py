"""Image-quality metrics in the holes and on the whole image: MSE, MAE, PSNR, SSIM.

Every metric takes ``target`` and ``output`` of one shape, (H, W) or a stack
(T, H, W), and ``holes=None`` (the whole image) or a boolean ``holes`` array of that
shape (only the hidden pixels, True where metal hides a pixel). Stacks are scored
frame by frame and averaged; for hole metrics, frames without holes are skipped.

* MSE, MAE: means of the squared and absolute errors over the pixels considered.
* PSNR: ``10 log10(data_range**2 / MSE)``; in the holes,
  ``10 log10(data_range**2 / mean((output - target)**2 [holes]))``.
* SSIM: scikit-image's ``structural_similarity`` with its defaults (7×7 uniform
  window, K1 = 0.01, K2 = 0.03); in the holes, the mean of its full SSIM map over
  the hole pixels.
* Gradient SSIM (edge preservation): the SSIM of the Sobel gradient magnitudes of
  target and output, with the target's largest gradient magnitude in the frame as the
  data range; a smooth fill across an edge scores low even where its PSNR is high.

Images are float in [0, ``data_range``]; integer images need an explicit
``data_range`` (a uint16 image's range is not 65535 unless the detector says so).

TensorFlow versions for training logs (:func:`tf_psnr`, :func:`tf_hole_psnr`)
agree with the NumPy ones on a batch of frames.

References
----------
Wang, Z., Bovik, A. C., Sheikh, H. R., & Simoncelli, E. P. (2004). Image quality
assessment: from error visibility to structural similarity. IEEE TIP 13(4), 600–612.
https://doi.org/10.1109/TIP.2003.819861
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["evaluate", "gradient_ssim", "keras_hole_mse", "keras_hole_psnr", "keras_psnr", "mae", "mse", "psnr", "ssim",
           "tf_hole_psnr", "tf_psnr"]


def _prepare(target, output, holes, data_range, *, need_holes):
    target = np.asarray(target)
    output = np.asarray(output)
    if target.shape != output.shape:
        raise ValueError(f"Expected output of the target's shape {target.shape}. "
                         f"Received output.shape={output.shape}.")
    if target.ndim not in (2, 3):
        raise ValueError(f"Expected images (H, W) or stacks (T, H, W). "
                         f"Received target.shape={target.shape}.")
    for name, arr in (("target", target), ("output", output)):
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"Expected real-valued images. Received {name}.dtype={arr.dtype}.")
        if np.issubdtype(arr.dtype, np.integer) and data_range is None:
            raise ValueError(
                f"Integer images need an explicit data_range (e.g. 4095 for 12-bit data). "
                f"Received {name}.dtype={arr.dtype} and data_range=None."
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"Expected finite values. Received {name} with NaN or infinity.")
    if data_range is None:
        data_range = 1.0
    if isinstance(data_range, bool) or not (isinstance(data_range, (int, float, np.number))
                                            and np.isfinite(data_range) and data_range > 0):
        raise ValueError(f"Expected a positive data_range. Received data_range={data_range!r}.")
    if holes is not None:
        holes = np.asarray(holes)
        if holes.dtype != bool:
            raise ValueError(f"Expected boolean holes (True where metal hides a pixel). "
                             f"Received holes.dtype={holes.dtype}.")
        if holes.shape != target.shape:
            raise ValueError(f"Expected holes of the target's shape {target.shape}. "
                             f"Received holes.shape={holes.shape}.")
        if need_holes and not holes.any():
            raise ValueError("Expected at least one hidden pixel for hole metrics. "
                             "Received holes with no True value.")
    stack = lambda a: a.reshape((-1, *a.shape[-2:])).astype(np.float64)  # noqa: E731
    return stack(target), stack(output), None if holes is None else holes.reshape(
        (-1, *holes.shape[-2:])), float(data_range)


def _per_frame(fn, target, output, holes):
    values = []
    for t in range(target.shape[0]):
        if holes is None:
            values.append(fn(target[t], output[t], None))
        elif holes[t].any():
            values.append(fn(target[t], output[t], holes[t]))
    return float(np.mean(values))


def mse(target, output, *, holes=None, data_range=None) -> float:
    """Mean squared error, over the whole image or the hole pixels (frame-averaged).

    Examples
    --------
    >>> mse(np.zeros((4, 4)), np.full((4, 4), 0.5))
    0.25
    """
    t, o, h, _ = _prepare(target, output, holes, data_range, need_holes=holes is not None)
    return _per_frame(lambda a, b, m: np.mean((b - a)[m] ** 2) if m is not None
                      else np.mean((b - a) ** 2), t, o, h)


def mae(target, output, *, holes=None, data_range=None) -> float:
    """Mean absolute error, over the whole image or the hole pixels (frame-averaged)."""
    t, o, h, _ = _prepare(target, output, holes, data_range, need_holes=holes is not None)
    return _per_frame(lambda a, b, m: np.mean(np.abs(b - a)[m]) if m is not None
                      else np.mean(np.abs(b - a)), t, o, h)


def _psnr_value(err2: float, data_range: float) -> float:
    if err2 == 0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / err2)


def psnr(target, output, *, holes=None, data_range=None) -> float:
    """Peak signal-to-noise ratio (dB), over the whole image or the hole pixels.

    Examples
    --------
    >>> round(psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)), 6)
    20.0
    """
    t, o, h, dr = _prepare(target, output, holes, data_range, need_holes=holes is not None)
    return _per_frame(
        lambda a, b, m: _psnr_value(float(np.mean(((b - a)[m] if m is not None else b - a) ** 2)), dr),
        t, o, h,
    )


def ssim(target, output, *, holes=None, data_range=None) -> float:
    """Structural similarity (scikit-image defaults); in the holes, the mean of the SSIM map.

    Examples
    --------
    >>> x = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    >>> ssim(x, x)
    1.0
    """
    from skimage.metrics import structural_similarity

    t, o, h, dr = _prepare(target, output, holes, data_range, need_holes=holes is not None)

    def one(a, b, m):
        value, full = structural_similarity(a, b, data_range=dr, full=True)
        return float(np.mean(full[m])) if m is not None else float(value)

    return _per_frame(one, t, o, h)


def gradient_ssim(target, output, *, holes=None, data_range=None) -> float:
    """SSIM of the Sobel gradient magnitudes: how well edges are kept (in the holes).

    The gradient magnitude of each frame (``skimage.filters.sobel``) of target and
    output is compared with :func:`ssim`; its data range is the largest gradient
    magnitude of the target's frame, so the score does not depend on the method. A
    flat fill across an edge (the ramp of linear interpolation across a rib) keeps the
    intensities roughly but not the edge: its gradient SSIM is low.

    Examples
    --------
    >>> x = np.zeros((32, 32)); x[:, 16:] = 1.0
    >>> holes = np.zeros((32, 32), bool); holes[12:20, 10:22] = True
    >>> gradient_ssim(x, x, holes=holes)
    1.0
    >>> ramp = x.copy(); ramp[12:20, 10:22] = np.linspace(0, 1, 12)
    >>> gradient_ssim(x, ramp, holes=holes) < 0.5
    True
    """
    from skimage.filters import sobel
    from skimage.metrics import structural_similarity

    t, o, h, _ = _prepare(target, output, holes, data_range, need_holes=holes is not None)

    def one(a, b, m):
        ga, gb = sobel(a), sobel(b)
        dr = float(ga.max()) or 1.0
        value, full = structural_similarity(ga, gb, data_range=dr, full=True)
        return float(np.mean(full[m])) if m is not None else float(value)

    return _per_frame(one, t, o, h)


def evaluate(targets, outputs, holes, *, method: str, seconds: float) -> dict:
    """One row of the study's tables: every metric in the holes and on the whole image.

    Parameters
    ----------
    targets, outputs : ndarray
        Ground truth and inpainted frames, (T, H, W) or (H, W), data range 1.
    holes : ndarray of bool
        True where metal hides a pixel.
    method : str
        Name written into the row.
    seconds : float
        Wall time the method took for all the frames.

    Returns
    -------
    dict
        ``method, hole_psnr, hole_ssim, hole_mae, hole_mse, psnr, ssim, mae, mse,
        seconds_per_frame, n_frames``.
    """
    targets = np.asarray(targets)
    n_frames = 1 if targets.ndim == 2 else int(targets.shape[0])
    return {
        "method": method,
        "hole_psnr": psnr(targets, outputs, holes=holes),
        "hole_ssim": ssim(targets, outputs, holes=holes),
        "hole_mae": mae(targets, outputs, holes=holes),
        "hole_mse": mse(targets, outputs, holes=holes),
        "psnr": psnr(targets, outputs),
        "ssim": ssim(targets, outputs),
        "mae": mae(targets, outputs),
        "mse": mse(targets, outputs),
        "seconds_per_frame": float(seconds) / n_frames,
        "n_frames": n_frames,
    }


def tf_psnr(y_true, y_pred, data_range: float = 1.0):
    """PSNR (dB) of a batch (B, ..., C), averaged over the batch, for training logs."""
    from keras import ops

    axes = tuple(range(1, len(y_true.shape)))
    err2 = ops.mean(ops.square(ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")), axis=axes)
    return ops.mean(10.0 * ops.log(data_range**2 / ops.maximum(err2, 1e-12)) / math.log(10.0))


def tf_hole_psnr(y_true, y_pred, valid, data_range: float = 1.0):
    """PSNR (dB) over the hole pixels (``valid == 0``) of each image, averaged over the batch.

    Images without holes are skipped, as in :func:`psnr`.
    """
    from keras import ops

    axes = tuple(range(1, len(y_true.shape)))
    holes = 1.0 - ops.cast(valid, "float32")
    err = ops.square(ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")) * holes
    count = ops.sum(holes, axis=axes)
    err2 = ops.sum(err, axis=axes) / ops.maximum(count, 1.0)
    value = 10.0 * ops.log(data_range**2 / ops.maximum(err2, 1e-12)) / math.log(10.0)
    has = ops.cast(count > 0, "float32")
    return ops.sum(value * has) / ops.maximum(ops.sum(has), 1.0)


def keras_hole_psnr(y_true, y_pred):
    """:func:`tf_hole_psnr` as a Keras metric on packed targets (``y_true`` = target + valid).

    ``y_true`` is ``xinpaint.losses.pack_targets(target, valid)``, as given to
    ``model.fit`` with :class:`xinpaint.losses.InpaintingLoss`::

        model.compile(loss=InpaintingLoss(), metrics=[keras_hole_psnr, keras_psnr])
    """
    return tf_hole_psnr(y_true[..., :-1], y_pred, y_true[..., -1:])


def keras_hole_mse(y_true, y_pred):
    """Mean squared error over the hole pixels of a batch, on packed targets.

    Pooled over the batch (Σ squared error in the holes / number of hidden pixels), the
    quantity whose logarithm is the pooled hole PSNR the study reports; a batch without
    holes gives 0. Every learned variant is selected and stopped on it (its loss
    differs, this does not).
    """
    from keras import ops

    target, valid = y_true[..., :-1], y_true[..., -1:]
    holes = 1.0 - ops.cast(valid, "float32")
    err = ops.square(ops.cast(y_pred, "float32") - ops.cast(target, "float32")) * holes
    return ops.sum(err) / ops.maximum(ops.sum(holes), 1.0)


def keras_psnr(y_true, y_pred):
    """:func:`tf_psnr` as a Keras metric on packed targets (``y_true`` = target + valid)."""
    return tf_psnr(y_true[..., :-1], y_pred)

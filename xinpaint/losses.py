"""Mask-aware inpainting losses (Liu et al., 2018) for Keras 3, in 2D and 2D+T.

Every term takes ``(target, prediction, valid)`` tensors of shape (B, H, W, C) or
(B, T, H, W, C); ``valid`` is 1 where a pixel is visible and 0 in the holes
(``valid = 1 - holes``), with one channel or C channels. The composite is
``valid * target + (1 - valid) * prediction``: the known pixels pasted back.

* :func:`valid_l1`, :func:`hole_l1`: L1 of the error outside / inside the holes,
  averaged over *all* elements (as in the paper, so the hole term scales with the hole
  area).
* :func:`total_variation`: L1 of the horizontal and vertical differences of the
  composite over the pairs of pixels that both lie in the hole region dilated by one
  pixel (3×3), divided by the number of elements of the composite. ``time=True``
  adds the differences between consecutive frames of a (B, T, H, W, C) stack. It is a
  smoothness prior, not a distance to the target: when ``prediction == target`` every
  other term is zero and the loss equals ``tv * total_variation(target, target, valid)``,
  a constant of the prediction.
* :func:`perceptual`, :func:`style`: L1 distances of feature maps (lists of
  (B, h, w, c) tensors) and of their Gram matrices ``F^T F / (c h w)``, for the output
  and for the composite against the ground truth.
* :func:`mae`, :func:`mse`: plain losses that ignore the mask (the U-Net baseline);
  :class:`PixelLoss` is either on packed targets, so that every variant of the study is
  trained on the same ``y`` and logs the same hole metrics.
* :class:`InpaintingLoss`: ``valid·L_valid + hole·L_hole + perceptual·L_perc +
  style·(L_style_out + L_style_comp) + tv·L_tv`` with the paper's weights
  (1, 6, 0.05, 120, 0.1). 2D+T stacks are fed to the 2D feature extractor frame by frame.

How ``valid`` reaches the loss in ``model.fit``
----------------------------------------------
Keras passes a loss only ``(y_true, y_pred)``. The mask therefore travels inside
``y_true`` as one extra, last channel: build the targets with
``pack_targets(target, valid)`` (``concatenate([target, valid], axis=-1)``), give them to
``fit`` as ``y``, and :meth:`InpaintingLoss.call` splits them again with
:func:`unpack_targets`. ``y_pred`` keeps C channels; ``y_true`` has C + 1::

    x = [masked_frames, valid]                  # model inputs
    y = pack_targets(frames, valid)             # (B, H, W, C + 1)
    model.compile(optimizer="adam", loss=InpaintingLoss())
    model.fit(x, y)

:func:`xinpaint.metrics.keras_hole_psnr` reads the same packed targets.

References
----------
Liu, G., Reda, F. A., Shih, K. J., Wang, T.-C., Tao, A., & Catanzaro, B. (2018).
Image inpainting for irregular holes using partial convolutions. ECCV.
https://doi.org/10.1007/978-3-030-01252-6_6

Johnson, J., Alahi, A., & Fei-Fei, L. (2016). Perceptual losses for real-time style
transfer and super-resolution. ECCV. https://doi.org/10.1007/978-3-319-46475-6_43
"""

from __future__ import annotations

import numbers

from xinpaint.chapter import quiet_tensorflow

quiet_tensorflow()  # TensorFlow's import noise off before Keras loads it (`xinpaint -v` shows it)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from xinpaint.layers import composite  # noqa: E402

__all__ = [
    "InpaintingLoss",
    "PixelLoss",
    "composite",
    "dilated_holes",
    "gram_matrix",
    "hole_l1",
    "mae",
    "mse",
    "pack_targets",
    "perceptual",
    "style",
    "total_variation",
    "unpack_targets",
    "valid_l1",
]


# --------------------------------------------------------------------------- packing
def pack_targets(target, valid):
    """Append ``valid`` to ``target`` as a last channel, for ``model.fit``'s ``y``.

    Parameters
    ----------
    target : array_like, shape (B, H, W, C) or (B, T, H, W, C)
        Ground-truth frames.
    valid : array_like, shape of ``target`` with one channel
        1 where a pixel is visible, 0 in the holes (``1 - holes``).

    Returns
    -------
    ndarray or tensor, shape (..., C + 1)
        A NumPy array when both inputs are NumPy arrays (ready for ``tf.data``),
        otherwise a tensor.

    Examples
    --------
    >>> y = pack_targets(np.zeros((2, 8, 8, 1)), np.ones((2, 8, 8, 1)))
    >>> y.shape
    (2, 8, 8, 2)
    """
    t_shape, v_shape = tuple(np.shape(target)), tuple(np.shape(valid))
    if len(t_shape) not in (4, 5):
        raise ValueError(f"Expected target of shape (B, H, W, C) or (B, T, H, W, C). "
                         f"Received target.shape={t_shape}.")
    if v_shape != (*t_shape[:-1], 1):
        raise ValueError(f"Expected valid of shape {(*t_shape[:-1], 1)} (one channel). "
                         f"Received valid.shape={v_shape}.")
    if isinstance(target, np.ndarray) and isinstance(valid, np.ndarray):
        if valid.dtype == bool:
            raise ValueError("Expected a float valid (1 visible, 0 hidden), not boolean holes. "
                             f"Received valid.dtype={valid.dtype}.")
        dtype = np.result_type(target.dtype, np.float32)
        return np.concatenate([target.astype(dtype), valid.astype(dtype)], axis=-1)
    dtype = keras.backend.standardize_dtype(getattr(target, "dtype", "float32"))
    return ops.concatenate([ops.convert_to_tensor(target, dtype),
                            ops.cast(valid, dtype)], axis=-1)


def unpack_targets(y_true):
    """Split packed targets ``(..., C + 1)`` into ``(target, valid)``; see :func:`pack_targets`."""
    return y_true[..., :-1], y_true[..., -1:]


# --------------------------------------------------------------------------- helpers
def _as_float(*xs):
    return [ops.cast(x, "float32") for x in xs]


def _frames(x):
    """(B, T, H, W, C) -> (B·T, H, W, C); (B, H, W, C) unchanged."""
    if len(x.shape) == 5:
        return ops.reshape(x, (-1, *x.shape[2:]))
    return x


def dilated_holes(valid):
    """The hole region ``1 - valid`` dilated by one pixel (3×3) in every frame.

    ``valid`` is (B, H, W, C) or (B, T, H, W, C); the result has its shape.
    """
    valid = ops.cast(valid, "float32")
    holes = _frames(1.0 - valid)
    out = ops.max_pool(holes, pool_size=3, strides=1, padding="same")
    return ops.reshape(out, ops.shape(valid))


def _check_rank(name, x):
    if len(x.shape) not in (4, 5):
        raise ValueError(f"Expected {name} of shape (B, H, W, C) or (B, T, H, W, C). "
                         f"Received {name}.shape={tuple(x.shape)}.")


# --------------------------------------------------------------------------- pixel terms
def valid_l1(target, prediction, valid):
    """L1 of the error over the visible pixels, averaged over all elements.

    ``mean(|valid * (prediction - target)|)``.

    Examples
    --------
    >>> t = np.zeros((1, 4, 4, 1), "float32"); v = np.ones_like(t); v[0, :2] = 0
    >>> float(valid_l1(t, t + 1, v))
    0.5
    """
    target, prediction, valid = _as_float(target, prediction, valid)
    return ops.mean(ops.abs(valid * (prediction - target)))


def hole_l1(target, prediction, valid):
    """L1 of the error over the hole pixels, averaged over all elements.

    ``mean(|(1 - valid) * (prediction - target)|)``.
    """
    target, prediction, valid = _as_float(target, prediction, valid)
    return ops.mean(ops.abs((1.0 - valid) * (prediction - target)))


def mae(target, prediction, valid=None):
    """Mean absolute error over every pixel; ``valid`` is accepted and ignored."""
    target, prediction = _as_float(target, prediction)
    return ops.mean(ops.abs(prediction - target))


def mse(target, prediction, valid=None):
    """Mean squared error over every pixel; ``valid`` is accepted and ignored."""
    target, prediction = _as_float(target, prediction)
    return ops.mean(ops.square(prediction - target))


def total_variation(target, prediction, valid, *, time=False):
    """Total variation of the composite over the hole region dilated by one pixel.

    With ``P`` the dilated hole region and ``I`` the composite,
    ``sum_{(i,j),(i,j+1) in P} |I[i,j+1] - I[i,j]| + sum_{(i,j),(i+1,j) in P} |I[i+1,j] - I[i,j]|``
    divided by the number of elements of ``I``. With ``time=True`` (stacks
    (B, T, H, W, C) only), the differences between frames t and t+1 at pixels in
    ``P`` of both frames are added.

    Examples
    --------
    >>> t = np.zeros((1, 5, 5, 1), "float32"); v = np.ones_like(t); v[0, 2, 2] = 0
    >>> p = t.copy(); p[0, 2, 2] = 1
    >>> round(float(total_variation(t, p, v)), 6)  # four neighbours differ by 1, over 25 pixels
    0.16
    """
    target, prediction, valid = _as_float(target, prediction, valid)
    if time and len(target.shape) != 5:
        raise ValueError(f"Expected stacks (B, T, H, W, C) for time=True. "
                         f"Received target.shape={tuple(target.shape)}.")
    comp = composite(target, prediction, valid)
    region = dilated_holes(valid) * ops.ones_like(comp)
    n = ops.cast(ops.size(comp), "float32")
    ax = len(comp.shape) - 3  # the H axis

    def along(axis):
        length = comp.shape[axis]
        head = [slice(None)] * len(comp.shape)
        tail = [slice(None)] * len(comp.shape)
        head[axis] = slice(1, length)
        tail[axis] = slice(0, length - 1)
        head, tail = tuple(head), tuple(tail)
        pair = region[head] * region[tail]
        return ops.sum(pair * ops.abs(comp[head] - comp[tail]))

    total = along(ax) + along(ax + 1)
    if time:
        total = total + along(1)
    return total / n


# --------------------------------------------------------------------------- feature terms
def _as_list(features):
    if isinstance(features, (list, tuple)):
        return [ops.cast(f, "float32") for f in features]
    if isinstance(features, dict):
        return [ops.cast(features[k], "float32") for k in sorted(features)]
    return [ops.cast(features, "float32")]


def gram_matrix(features):
    """Gram matrices ``F^T F / (c·h·w)`` of feature maps (B, h, w, c) -> (B, c, c)."""
    features = ops.cast(features, "float32")
    _, h, w, c = features.shape
    flat = ops.reshape(features, (-1, h * w, c))
    return ops.matmul(ops.transpose(flat, (0, 2, 1)), flat) / float(c * h * w)


def perceptual(features_out, features_gt, features_comp=None):
    """Perceptual loss: sum over layers of ``mean|F_out - F_gt| + mean|F_comp - F_gt|``.

    Each argument is a feature map (B, h, w, c) or a list of them (one per layer, in
    the same order); ``features_comp=None`` leaves out the composite term.
    """
    out, gt = _as_list(features_out), _as_list(features_gt)
    comp = None if features_comp is None else _as_list(features_comp)
    if len(out) != len(gt) or (comp is not None and len(comp) != len(gt)):
        raise ValueError(f"Expected as many feature maps for the output, ground truth and "
                         f"composite. Received {len(out)}, {len(gt)} and "
                         f"{None if comp is None else len(comp)}.")
    total = 0.0
    for i, g in enumerate(gt):
        total = total + ops.mean(ops.abs(out[i] - g))
        if comp is not None:
            total = total + ops.mean(ops.abs(comp[i] - g))
    return total


def style(features_out, features_gt, features_comp=None):
    """Style loss: ``L_style_out + L_style_comp``, L1 (mean) of Gram-matrix differences.

    Sum over layers of ``mean|G(F_out) - G(F_gt)|`` (+ the same for the composite), with
    :func:`gram_matrix` normalised by ``c·h·w``.
    """
    out, gt = _as_list(features_out), _as_list(features_gt)
    comp = None if features_comp is None else _as_list(features_comp)
    if len(out) != len(gt) or (comp is not None and len(comp) != len(gt)):
        raise ValueError(f"Expected as many feature maps for the output, ground truth and "
                         f"composite. Received {len(out)}, {len(gt)} and "
                         f"{None if comp is None else len(comp)}.")
    total = 0.0
    for i, g in enumerate(gt):
        gram_gt = gram_matrix(g)
        total = total + ops.mean(ops.abs(gram_matrix(out[i]) - gram_gt))
        if comp is not None:
            total = total + ops.mean(ops.abs(gram_matrix(comp[i]) - gram_gt))
    return total


# --------------------------------------------------------------------------- the loss
_WEIGHTS = ("valid", "hole", "perceptual", "style", "tv")


@keras.saving.register_keras_serializable(package="xinpaint")
class InpaintingLoss(keras.losses.Loss):
    """The PConv paper's loss on packed targets (see the module docstring).

    ``y_true`` is ``pack_targets(target, valid)`` (C + 1 channels), ``y_pred`` the
    network's output (C channels), (B, H, W, C) or (B, T, H, W, C).

    Parameters
    ----------
    valid, hole, perceptual, style, tv : float
        Weights of the terms (paper: 1, 6, 0.05, 120, 0.1). ``style`` multiplies
        ``L_style_out + L_style_comp``. A weight of 0 skips its term.
    feature_extractor : keras.Model, str or None
        Maps (N, H, W, C) images to a list of feature maps, e.g.
        :func:`xinpaint.perceptual.vgg16_features`; a string is passed to
        ``vgg16_features(weights=...)`` (``"xray"``, ``"imagenet"`` or a path) and
        survives :meth:`get_config`. Without it, the perceptual and style terms are
        left out. A model given directly is serialised by its architecture only.
    time_tv : bool
        Add total variation along time for (B, T, H, W, C) stacks.

    Examples
    --------
    >>> loss = InpaintingLoss()
    >>> t = np.zeros((1, 8, 8, 1), "float32"); v = np.ones_like(t)
    >>> float(loss(pack_targets(t, v), t))
    0.0
    """

    def __init__(self, *, valid=1.0, hole=6.0, perceptual=0.05, style=120.0, tv=0.1,
                 feature_extractor=None, time_tv=False, name="inpainting_loss",
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        values = dict(valid=valid, hole=hole, perceptual=perceptual, style=style, tv=tv)
        for key, value in values.items():
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not np.isfinite(value) or value < 0):
                raise ValueError(f"Expected a finite, non-negative weight {key}. "
                                 f"Received {key}={value!r}.")
        self.term_weights = {k: float(v) for k, v in values.items()}
        self.time_tv = bool(time_tv)
        self._extractor_spec = feature_extractor
        if isinstance(feature_extractor, str):
            from xinpaint.perceptual import vgg16_features

            self.feature_extractor = vgg16_features(weights=feature_extractor)
        elif feature_extractor is None or isinstance(feature_extractor, keras.Model):
            self.feature_extractor = feature_extractor
        elif isinstance(feature_extractor, dict):  # from get_config
            self.feature_extractor = keras.saving.deserialize_keras_object(feature_extractor)
            self._extractor_spec = self.feature_extractor
        else:
            raise ValueError(f"Expected a keras.Model, a weights name or None for "
                             f"feature_extractor. Received feature_extractor={feature_extractor!r}.")

    def terms(self, target, prediction, valid):
        """Every unweighted term, as a dict ``valid, hole, tv[, perceptual, style]``."""
        target, prediction, valid = _as_float(target, prediction, valid)
        _check_rank("target", target)
        out = {
            "valid": valid_l1(target, prediction, valid),
            "hole": hole_l1(target, prediction, valid),
            "tv": total_variation(target, prediction, valid,
                                  time=self.time_tv and len(target.shape) == 5),
        }
        if self.feature_extractor is not None and (self.term_weights["perceptual"] or self.term_weights["style"]):
            comp = composite(target, prediction, valid)
            batch = ops.concatenate([_frames(prediction), _frames(comp), _frames(target)], axis=0)
            feats = _as_list(self.feature_extractor(batch))
            f_out, f_comp, f_gt = [], [], []
            for f in feats:
                a, b, c = ops.split(f, 3, axis=0)
                f_out.append(a)
                f_comp.append(b)
                f_gt.append(ops.stop_gradient(c))
            out["perceptual"] = perceptual(f_out, f_gt, f_comp)
            out["style"] = style(f_out, f_gt, f_comp)
        return out

    def call(self, y_true, y_pred):
        target, valid = unpack_targets(y_true)
        terms = self.terms(target, y_pred, valid)
        total = 0.0
        for key, value in terms.items():
            if self.term_weights[key]:
                total = total + self.term_weights[key] * value
        return total

    def get_config(self):
        config = super().get_config()
        spec = self._extractor_spec
        if isinstance(spec, keras.Model):
            spec = keras.saving.serialize_keras_object(spec)
        config.update(self.term_weights, feature_extractor=spec, time_tv=self.time_tv)
        return config


@keras.saving.register_keras_serializable(package="xinpaint")
class PixelLoss(keras.losses.Loss):
    """Plain MAE or MSE over every pixel, on packed targets (the mask is ignored).

    ``y_true`` is ``pack_targets(target, valid)``, like :class:`InpaintingLoss`, so a
    plain U-Net trained on it sees the same batches and logs the same metrics (e.g.
    :func:`xinpaint.metrics.keras_hole_psnr`) as the mask-aware variants.

    Parameters
    ----------
    kind : {"mae", "mse"}
        The error measured.

    Examples
    --------
    >>> loss = PixelLoss("mse")
    >>> t = np.zeros((1, 4, 4, 1), "float32"); v = np.ones_like(t)
    >>> float(loss(pack_targets(t, v), t + 0.5))
    0.25
    """

    def __init__(self, kind: str = "mae", *, name=None, reduction="sum_over_batch_size", dtype=None):
        if kind not in ("mae", "mse"):
            raise ValueError(f"Expected kind 'mae' or 'mse'. Received kind={kind!r}.")
        super().__init__(name=name or f"pixel_{kind}", reduction=reduction, dtype=dtype)
        self.kind = kind

    def call(self, y_true, y_pred):
        target, _ = unpack_targets(y_true)
        return (mae if self.kind == "mae" else mse)(target, y_pred)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}

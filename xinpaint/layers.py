"""Partial convolutions (Liu et al., 2018) for Keras 3, in 2D and 3D.

A partial convolution sees only the visible pixels of each window and renormalises
by how much of the window is visible; its output mask marks the positions where
anything was visible. For every output position let ``s`` be the sum of ``valid``
over the kernel window (with ``padding="same"``, the zero padding counts as holes:
partial-convolution padding). Then::

    y = conv(x * valid) * (window_size / s) + bias     where s > 0
    y = 0                                               where s = 0 (bias included)
    new_valid = 1 where s > 0, else 0

``window_size`` is the product of the kernel dimensions for a single-channel
``valid`` (the default), or that times the input channels with
``multi_channel=True``, in which case ``s`` also sums over channels. This is NVIDIA's
reference implementation (``NVIDIA/partialconv``). The mask sum is computed once per
layer by a single-channel convolution with a constant kernel, not by a convolution
with ``ones(k, k, in, filters)`` as many ports do; ``new_valid`` always has one
channel (NVIDIA's multi-channel update mask has identical channels).

References
----------
Liu, G., Reda, F. A., Shih, K. J., Wang, T.-C., Tao, A., & Catanzaro, B. (2018).
Image inpainting for irregular holes using partial convolutions. ECCV.
https://doi.org/10.1007/978-3-030-01252-6_6
"""

from __future__ import annotations

import math
import numbers

from xinpaint.chapter import quiet_tensorflow

quiet_tensorflow()  # TensorFlow's import noise off before Keras loads it (`xinpaint -v` shows it)

import keras  # noqa: E402
from keras import ops  # noqa: E402

__all__ = ["BasePConv", "CentreFrame", "Composite", "PConv2D", "PConv3D", "RepeatChannels", "ValidStandardise",
           "composite"]


def _tuple(value, rank: int, name: str) -> tuple[int, ...]:
    given = value
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        value = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"Expected an integer or a tuple of {rank} integers. Received {name}={given!r}."
        ) from None
    if len(value) != rank:
        raise ValueError(f"Expected {rank} values. Received {name}={given!r}.")
    if any(v < 1 for v in value):
        raise ValueError(f"Expected a strictly positive value. Received {name}={given!r}.")
    return value


def _is_group(value) -> bool:
    """A list of tensors (or of shapes), as opposed to one tensor or one shape."""
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(not (v is None or isinstance(v, int)) for v in value))


def _describe(value) -> str:
    """A tensor as its shape (a tuple), anything else as its repr, for error messages."""
    if hasattr(value, "shape"):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)) and not _is_group(value) and len(value) > 0:
        return f"a tensor of shape {tuple(value)}"  # a shape, in build
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return repr(value)


def _shape(t) -> tuple:
    """The shape of a tensor, or a shape given as such (in ``build``)."""
    shape = getattr(t, "shape", t)
    try:
        return tuple(shape)
    except TypeError:
        raise ValueError(f"Expected a tensor or a shape. Received {t!r}.") from None


def _conv_length(size, kernel, stride, dilation, padding):
    if size is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding == "same":
        return -(-size // stride)
    return max(0, (size - effective) // stride + 1)


@keras.saving.register_keras_serializable(package="xinpaint")
class BasePConv(keras.layers.Layer):
    """Partial convolution of rank 2 or 3; :class:`PConv2D` and :class:`PConv3D` fix the rank.

    For every output position, ``s`` is the sum of ``valid`` over the kernel window
    (the zero padding of ``padding="same"`` counts as holes). The layer returns
    ``y = conv(x * valid) * (window_size / s) + bias`` where ``s > 0`` and ``y = 0``
    (bias included) where ``s = 0``, then the activation; and ``new_valid = 1`` where
    ``s > 0``, else 0 (NVIDIA's reference semantics).

    Args:
        rank: 2 or 3.
        filters: Number of output channels, a strictly positive integer.
        kernel_size: Integer or tuple of ``rank`` strictly positive integers.
        strides: Integer or tuple of ``rank`` integers; default 1.
        padding: ``"same"`` (partial-convolution padding: the padded border is a hole)
            or ``"valid"``.
        dilation_rate: Integer or tuple of ``rank`` integers; default 1. Strides above 1
            and dilation above 1 cannot be combined (as in Keras).
        activation: Keras activation applied last (to the zeros of empty windows too).
        use_bias: Whether to add a bias (only where something is visible).
        multi_channel: False (default): ``valid`` has one channel and
            ``window_size = prod(kernel_size)``. True: ``valid`` has the input's channels
            (or one channel, broadcast), ``s`` also sums over channels and
            ``window_size = prod(kernel_size) * channels``.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: as in ``Conv2D``.

    Weights are ``kernel`` of shape ``kernel_size + (channels, filters)`` and then
    ``bias`` of shape ``(filters,)``, so ``set_weights(conv.get_weights())`` takes the
    weights of a ``Conv2D``/``Conv3D`` of the same configuration.

    Call arguments:
        inputs: A list ``[x, valid]``. ``valid`` is 1 where a value is known and 0 in
            the holes (``valid = 1 - holes``). With ``multi_channel=True``, ``x`` and
            ``valid`` may also be lists of channel groups, ``[[x1, x2], [valid1,
            valid2]]``: the result is that of the concatenated ``x`` with each group's
            ``valid`` repeated to its channels, without building the repeated mask
            (what a U-Net decoder needs to join up-sampled features and a skip link).

    Input shape:
        ``x``: ``(batch, *spatial, channels)`` with ``rank`` spatial axes;
        ``valid``: ``(batch, *spatial, 1)``, or ``(batch, *spatial, channels)`` with
        ``multi_channel=True``.

    Output shape:
        ``y``: ``(batch, *new_spatial, filters)``; ``new_valid``:
        ``(batch, *new_spatial, 1)`` (one channel in both modes: NVIDIA's multi-channel
        update mask has identical channels). ``new_spatial`` is that of ``Conv2D`` with
        the same ``kernel_size``, ``strides``, ``padding`` and ``dilation_rate``.

    Returns:
        A list ``[y, new_valid]`` in the layer's compute dtype.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(1, 8, 16, 16, 2).astype("float32")
    >>> valid = np.ones((1, 8, 16, 16, 1), "float32"); valid[..., 4:9, 4:9, :] = 0
    >>> y, new_valid = BasePConv(3, 4, 3, strides=(1, 2, 2))([x, valid])
    >>> tuple(y.shape), tuple(new_valid.shape)
    ((1, 8, 8, 8, 4), (1, 8, 8, 8, 1))
    """

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="same",
        dilation_rate=1,
        activation=None,
        use_bias=True,
        multi_channel=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if rank not in (2, 3):
            raise ValueError(f"Expected rank 2 or 3. Received rank={rank!r}.")
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral):
            raise ValueError(f"Expected an integer number of filters. Received filters={filters!r}.")
        if filters < 1:
            raise ValueError(f"Expected a strictly positive value. Received filters={filters!r}.")
        filters = int(filters)
        padding = str(padding).lower()
        if padding not in ("same", "valid"):
            raise ValueError(f"Expected padding 'same' or 'valid'. Received padding={padding!r}.")
        self.rank = rank
        self.filters = filters
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size")
        self.strides = _tuple(strides, rank, "strides")
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate")
        if any(s > 1 for s in self.strides) and any(d > 1 for d in self.dilation_rate):
            raise ValueError(
                "Expected strides of 1 with a dilation rate above 1. Received "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}."
            )
        self.padding = padding
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.multi_channel = bool(multi_channel)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)

    # ------------------------------------------------------------------ checks
    def _check_shapes(self, x_shape, valid_shape, group=None):
        name = type(self).__name__
        x_name = "x" if group is None else f"x[{group}]"
        v_name = "valid" if group is None else f"valid[{group}]"
        x_shape, valid_shape = tuple(x_shape), tuple(valid_shape)
        if len(x_shape) != self.rank + 2:
            raise ValueError(
                f"{name} expects {x_name} of rank {self.rank + 2} (batch, {self.rank} spatial "
                f"axes, channels). Received {x_name}.shape={x_shape}."
            )
        if len(valid_shape) != self.rank + 2 or valid_shape[1:-1] != x_shape[1:-1]:
            raise ValueError(
                f"{name} expects {v_name} with the spatial shape of {x_name} {x_shape[1:-1]}. "
                f"Received {v_name}.shape={valid_shape}."
            )
        channels, valid_channels = x_shape[-1], valid_shape[-1]
        allowed = (1, channels) if self.multi_channel else (1,)
        if valid_channels not in allowed:
            expected = f"1 or {channels}" if self.multi_channel else "1 (or multi_channel=True)"
            raise ValueError(
                f"{name} expects {v_name} with {expected} channels. "
                f"Received {v_name}.shape={valid_shape}."
            )

    def _groups(self, inputs, where):
        """``([x, ...], [valid, ...])`` from ``[x, valid]`` or ``[[x1, ...], [v1, ...]]``."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                f"Expected a list [x, valid] of two tensors. Received {where}={_describe(inputs)}."
            )
        x, valid = inputs
        if _is_group(x) or _is_group(valid):
            if not self.multi_channel:
                raise ValueError(
                    "Channel groups [[x1, x2], [valid1, valid2]] need multi_channel=True. "
                    f"Received multi_channel={self.multi_channel}."
                )
            if not (_is_group(x) and _is_group(valid) and len(x) == len(valid)):
                raise ValueError(
                    "Expected as many valid tensors as x tensors. Received "
                    f"{len(x) if _is_group(x) else 'one'} x and "
                    f"{len(valid) if _is_group(valid) else 'one'} valid."
                )
            xs, valids = list(x), list(valid)
        else:
            xs, valids = [x], [valid]
        grouped = _is_group(x)
        for i, (xi, vi) in enumerate(zip(xs, valids, strict=True)):
            self._check_shapes(_shape(xi), _shape(vi), i if grouped else None)
        return xs, valids

    # ------------------------------------------------------------------ keras API
    def build(self, input_shape):
        x_shapes, _ = self._groups(input_shape, "inputs")
        channels = [s[-1] for s in x_shapes]
        if any(c is None for c in channels):
            raise ValueError(
                f"The channel axis of x must be known. Received x.shape={x_shapes}."
            )
        in_channels = int(sum(channels))
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, in_channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self._in_channels = in_channels
        self._window = math.prod(self.kernel_size) * (in_channels if self.multi_channel else 1)

    def call(self, inputs):
        xs, valids = self._groups(inputs, "inputs")
        dtype = self.compute_dtype
        masked, counts = [], None
        for x, valid in zip(xs, valids, strict=True):
            valid = ops.stop_gradient(ops.cast(valid, dtype))
            masked.append(ops.cast(x, dtype) * valid)
            if self.multi_channel and valid.shape[-1] != 1:
                count = ops.sum(valid, axis=-1, keepdims=True)
            elif self.multi_channel:
                count = valid * float(x.shape[-1])
            else:
                count = valid
            counts = count if counts is None else counts + count
        masked = masked[0] if len(masked) == 1 else ops.concatenate(masked, axis=-1)
        conv_args = dict(strides=self.strides, padding=self.padding,
                         dilation_rate=self.dilation_rate)
        raw = ops.conv(masked, ops.cast(self.kernel, dtype), **conv_args)
        # One single-channel convolution gives s (not a ones(k, k, in, filters) one). It
        # runs in float32 whatever the policy: s counts up to prod(kernel) * channels,
        # beyond float16's exact integers (2048) in wide layers.
        ones = ops.ones((*self.kernel_size, 1, 1), dtype="float32")
        s = ops.stop_gradient(ops.conv(ops.cast(counts, "float32"), ones, **conv_args))
        visible = ops.cast(ops.greater(s, 0.5), "float32")  # s is a sum of 0/1 values
        ratio = ops.cast((self._window / ops.maximum(s, 1.0)) * visible, dtype)
        new_valid = ops.cast(visible, dtype)
        y = raw * ratio
        if self.use_bias:
            y = y + ops.cast(self.bias, dtype) * new_valid
        if self.activation is not None:
            y = self.activation(y)
        return [y, new_valid]

    def compute_output_shape(self, input_shape):
        x_shapes, _ = self._groups(input_shape, "inputs")
        x_shape = x_shapes[0]
        spatial = [
            _conv_length(size, k, s, d, self.padding)
            for size, k, s, d in zip(x_shape[1:-1], self.kernel_size, self.strides,
                                     self.dilation_rate, strict=True)
        ]
        return [(x_shape[0], *spatial, self.filters), (x_shape[0], *spatial, 1)]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rank": self.rank,
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "dilation_rate": self.dilation_rate,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "multi_channel": self.multi_channel,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": keras.regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="xinpaint")
class PConv2D(BasePConv):
    """2D partial convolution layer (Liu et al., 2018), NVIDIA's semantics.

    Called as ``PConv2D(filters, kernel_size)([x, valid])``, it returns
    ``[y, new_valid]``; see :class:`BasePConv` for the formula.

    Args:
        filters: Number of output channels.
        kernel_size: Integer or tuple of 2 integers.
        **kwargs: ``strides``, ``padding``, ``dilation_rate``, ``activation``,
            ``use_bias``, ``multi_channel``, initializers, regularizers and
            constraints, as in :class:`BasePConv` (and ``Conv2D``).

    Call arguments:
        inputs: ``[x, valid]`` (or channel groups, see :class:`BasePConv`).

    Input shape:
        ``x``: ``(batch, height, width, channels)``; ``valid``:
        ``(batch, height, width, 1)`` (or ``channels`` with ``multi_channel=True``).

    Output shape:
        ``y``: ``(batch, new_height, new_width, filters)``; ``new_valid``:
        ``(batch, new_height, new_width, 1)``.

    Returns:
        A list ``[y, new_valid]``.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 32, 32, 1).astype("float32")
    >>> valid = np.ones((2, 32, 32, 1), "float32"); valid[:, 10:20, 10:20] = 0
    >>> y, new_valid = PConv2D(8, 3, strides=2)([x, valid])
    >>> tuple(y.shape), tuple(new_valid.shape)
    ((2, 16, 16, 8), (2, 16, 16, 1))
    """

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("rank", None)
        super().__init__(2, filters, kernel_size, **kwargs)


@keras.saving.register_keras_serializable(package="xinpaint")
class PConv3D(BasePConv):
    """3D partial convolution layer, for 2D+T sequences (frames as the first spatial axis).

    Called as ``PConv3D(filters, kernel_size)([x, valid])``, it returns
    ``[y, new_valid]``; see :class:`BasePConv` for the formula.

    Args:
        filters: Number of output channels.
        kernel_size: Integer or tuple of 3 integers ``(frames, height, width)``.
        **kwargs: as :class:`PConv2D`; e.g. ``strides=(1, 2, 2)`` halves height and
            width but keeps the frames.

    Call arguments:
        inputs: ``[x, valid]`` (or channel groups, see :class:`BasePConv`).

    Input shape:
        ``x``: ``(batch, frames, height, width, channels)``; ``valid``: the same with
        one channel (or ``channels`` with ``multi_channel=True``).

    Output shape:
        ``y``: ``(batch, new_frames, new_height, new_width, filters)``; ``new_valid``:
        the same with one channel.

    Returns:
        A list ``[y, new_valid]``.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(1, 8, 16, 16, 1).astype("float32")
    >>> valid = np.ones((1, 8, 16, 16, 1), "float32"); valid[:, :, 4:8, 4:8] = 0
    >>> y, new_valid = PConv3D(4, 3, strides=(1, 2, 2))([x, valid])
    >>> tuple(y.shape)
    (1, 8, 8, 8, 4)
    """

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("rank", None)
        super().__init__(3, filters, kernel_size, **kwargs)


@keras.saving.register_keras_serializable(package="xinpaint")
class Composite(keras.layers.Layer):
    """Composition ``valid * image + (1 - valid) * prediction``: known pixels kept.

    The output equals ``image`` wherever ``valid == 1``, bit for bit, and the
    prediction in the holes. Same argument order as :func:`composite`.

    Call arguments:
        inputs: A list ``[image, prediction, valid]`` of tensors of one shape
            (``valid`` may have one channel, broadcast over the others).

    Input shape:
        ``(batch, *spatial, channels)`` each; ``valid`` ``(batch, *spatial, 1)`` or the same.

    Output shape:
        That of ``prediction``.

    Returns:
        The composed tensor, in the layer's compute dtype.

    Example:

    >>> import numpy as np
    >>> image, prediction = np.zeros((1, 2, 2, 1)), np.ones((1, 2, 2, 1))
    >>> valid = np.array([1.0, 0.0, 1.0, 0.0]).reshape(1, 2, 2, 1)
    >>> np.asarray(Composite()([image, prediction, valid])).ravel().tolist()
    [0.0, 1.0, 0.0, 1.0]
    """

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            raise ValueError(
                "Expected a list [image, prediction, valid] of three tensors. "
                f"Received inputs={_describe(inputs)}."
            )
        image, prediction, valid = inputs
        if tuple(image.shape) != tuple(prediction.shape):
            raise ValueError(
                f"Expected prediction of the image's shape {tuple(image.shape)}. "
                f"Received prediction.shape={tuple(prediction.shape)}."
            )
        if tuple(valid.shape[:-1]) != tuple(image.shape[:-1]) or valid.shape[-1] not in (
                1, image.shape[-1]):
            raise ValueError(
                f"Expected valid of the image's shape {tuple(image.shape)} (or one channel). "
                f"Received valid.shape={tuple(valid.shape)}."
            )
        image, prediction, valid = (ops.cast(t, self.compute_dtype) for t in inputs)
        return valid * image + (1.0 - valid) * prediction

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1])


def composite(image, prediction, valid):
    """``valid * image + (1 - valid) * prediction`` for arrays or tensors.

    Parameters
    ----------
    image, prediction : array_like or tensor
        The input (known where ``valid == 1``) and the network's prediction.
    valid : array_like or tensor
        ``1 - holes``, broadcastable to ``image``.

    Returns
    -------
    array or tensor
        ``image`` where ``valid == 1``, ``prediction`` where ``valid == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> composite(np.zeros(3), np.ones(3), np.array([1.0, 0.0, 1.0])).tolist()
    [0.0, 1.0, 0.0]
    """
    return valid * image + (1 - valid) * prediction


@keras.saving.register_keras_serializable(package="xinpaint")
class RepeatChannels(keras.layers.Layer):
    """Repeat a one-channel tensor ``channels`` times along the last axis (for masks)."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"Expected a strictly positive value. Received channels={channels!r}.")
        self.channels = channels

    def call(self, inputs):
        return ops.repeat(inputs, self.channels, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="xinpaint")
class CentreFrame(keras.layers.Layer):
    """The centre frame ``T // 2`` of a ``(batch, T, height, width, channels)`` tensor."""

    def call(self, inputs):
        return inputs[:, inputs.shape[1] // 2]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])


@keras.saving.register_keras_serializable(package="xinpaint")
class ValidStandardise(keras.layers.Layer):
    """Per-sample intensity normalisation by the statistics of the visible pixels.

    For every sample, ``mean`` and ``std`` are the mean and standard deviation of
    channel 0 of ``image`` over the pixels where ``valid == 1`` (the holes never
    count), and ``scale = max(std, min_std)``. The layer returns
    ``(image - mean) / scale`` (every channel, with channel 0's statistics, so a
    classical fill and the masked image stay comparable) and ``scale`` broadcast to
    ``valid``'s shape, so that a network's output can be brought back to the input's
    scale. A model built on it is equivariant to ``image -> a * image + b`` (``a > 0``)
    wherever ``std > min_std``: a crop of bright bone and one of soft tissue, or data in
    [0, 1] and in thousands, reach the network on one scale.

    Arguments:
        min_std: The smallest scale (> 0), so that a flat sample (e.g. a crop of air)
            does not divide by zero.
        intensity_channels: How many leading channels of ``image`` are intensities and
            are standardised (default: all); the others (e.g. the masks of neighbouring
            frames) pass unchanged, so that the equivariance holds for them too.
        with_mean: Also return ``mean`` (broadcast like ``scale``), so that a network
            that predicts an image, not a correction, can be mapped back by
            ``output * scale + mean``.

    Call arguments:
        inputs: A list ``[image, valid]``: ``(batch, *spatial, channels)`` and
            ``(batch, *spatial, 1)``.

    Returns:
        ``[normalised, scale]``: the normalised image (the input's shape) and
        ``scale`` of shape ``(batch, *spatial, 1)``; ``[normalised, scale, mean]``
        with ``with_mean=True``.

    Example:

    >>> import numpy as np
    >>> image = np.array([1.0, 3.0, 100.0]).reshape(1, 3, 1, 1)
    >>> valid = np.array([1.0, 1.0, 0.0]).reshape(1, 3, 1, 1)
    >>> normalised, scale = ValidStandardise()([image, valid])
    >>> np.round(np.asarray(normalised).ravel()[:2], 4).tolist()
    [-1.0, 1.0]
    """

    def __init__(self, min_std: float = 1e-6, intensity_channels: int | None = None,
                 with_mean: bool = False, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(min_std, numbers.Real) or isinstance(min_std, bool)
                or not math.isfinite(min_std) or min_std <= 0):
            raise ValueError(f"Expected a finite min_std > 0. Received min_std={min_std!r}.")
        if intensity_channels is not None and (
                not isinstance(intensity_channels, numbers.Integral)
                or isinstance(intensity_channels, bool) or intensity_channels < 1):
            raise ValueError("Expected intensity_channels to be None or an integer >= 1. "
                             f"Received intensity_channels={intensity_channels!r}.")
        self.min_std = float(min_std)
        self.intensity_channels = None if intensity_channels is None else int(intensity_channels)
        self.with_mean = bool(with_mean)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("Expected a list [image, valid] of two tensors. "
                             f"Received inputs={_describe(inputs)}.")
        image, valid = (ops.cast(t, self.compute_dtype) for t in inputs)
        axes = tuple(range(1, len(image.shape)))
        first = image[..., :1]
        count = ops.maximum(ops.sum(valid, axis=axes, keepdims=True), 1.0)
        mean = ops.sum(first * valid, axis=axes, keepdims=True) / count
        var = ops.sum(ops.square(first - mean) * valid, axis=axes, keepdims=True) / count
        scale = ops.maximum(ops.sqrt(var), self.min_std)
        n = self.intensity_channels
        if n is None or n >= image.shape[-1]:
            normalised = (image - mean) / scale
        else:
            normalised = ops.concatenate([(image[..., :n] - mean) / scale, image[..., n:]], axis=-1)
        out = [normalised, ops.ones_like(valid) * scale]
        return [*out, ops.ones_like(valid) * mean] if self.with_mean else out

    def compute_output_shape(self, input_shape):
        shapes = [tuple(input_shape[0]), tuple(input_shape[1])]
        return [*shapes, tuple(input_shape[1])] if self.with_mean else shapes

    def get_config(self):
        return {**super().get_config(), "min_std": self.min_std,
                "intensity_channels": self.intensity_channels, "with_mean": self.with_mean}

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

import keras
from keras import ops

__all__ = ["BasePConv", "CentreFrame", "Composite", "PConv2D", "PConv3D", "RepeatChannels", "composite"]


def _tuple(value, rank: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise ValueError(
            f"Expected an integer or a tuple of {rank} integers. Received {name}={value!r}."
        ) from None
    if len(value) != rank:
        raise ValueError(f"Expected {rank} values. Received {name}={value!r}.")
    if any(v < 1 for v in value):
        raise ValueError(f"Expected strictly positive values. Received {name}={value!r}.")
    return value


def _conv_length(size, kernel, stride, dilation, padding):
    if size is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding == "same":
        return -(-size // stride)
    return max(0, (size - effective) // stride + 1)


@keras.saving.register_keras_serializable(package="xinpaint")
class BasePConv(keras.layers.Layer):
    """Partial convolution of any rank; :class:`PConv2D` and :class:`PConv3D` fix the rank.

    Args:
        rank: 2 or 3.
        filters: Number of output channels, a strictly positive integer.
        kernel_size: Integer or tuple of ``rank`` integers.
        strides: Integer or tuple; default 1.
        padding: ``"same"`` (partial-convolution padding) or ``"valid"``.
        dilation_rate: Integer or tuple; default 1.
        activation: Keras activation applied after the renormalisation.
        use_bias: Whether to add a bias (zeroed where nothing is visible).
        multi_channel: ``valid`` has the input's channels (or one channel, which is
            broadcast) and ``s`` sums over channels; default False.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: as in ``Conv2D``.

    Call arguments:
        inputs: A list ``[x, valid]``: ``x`` of shape ``(batch, *spatial, channels)``,
            ``valid`` of shape ``(batch, *spatial, 1)`` (or ``channels`` with
            ``multi_channel=True``), 1 where a value is known and 0 in the holes.

    Returns:
        A list ``[y, new_valid]``: ``y`` of shape ``(batch, *new_spatial, filters)``
        and ``new_valid`` of shape ``(batch, *new_spatial, 1)``.
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
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"Expected a strictly positive value. Received filters={filters!r}.")
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
    def _check_shapes(self, x_shape, valid_shape):
        name = type(self).__name__
        if len(x_shape) != self.rank + 2:
            raise ValueError(
                f"{name} expects x of rank {self.rank + 2} (batch, {self.rank} spatial axes, "
                f"channels). Received x.shape={tuple(x_shape)}."
            )
        if len(valid_shape) != self.rank + 2 or tuple(valid_shape[1:-1]) != tuple(x_shape[1:-1]):
            raise ValueError(
                f"{name} expects valid with the spatial shape of x {tuple(x_shape[1:-1])}. "
                f"Received valid.shape={tuple(valid_shape)}."
            )
        channels, valid_channels = x_shape[-1], valid_shape[-1]
        allowed = (1, channels) if self.multi_channel else (1,)
        if valid_channels not in allowed:
            expected = f"1 or {channels}" if self.multi_channel else "1 (or multi_channel=True)"
            raise ValueError(
                f"{name} expects valid with {expected} channels. "
                f"Received valid.shape={tuple(valid_shape)}."
            )

    @staticmethod
    def _split(inputs, where):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            shape = getattr(inputs, "shape", inputs)
            raise ValueError(
                f"Expected a list [x, valid] of two tensors. Received {where}={shape!r}."
            )
        return inputs[0], inputs[1]

    # ------------------------------------------------------------------ keras API
    def build(self, input_shape):
        x_shape, valid_shape = self._split(input_shape, "input_shape")
        x_shape, valid_shape = tuple(x_shape), tuple(valid_shape)
        self._check_shapes(x_shape, valid_shape)
        if x_shape[-1] is None:
            raise ValueError(
                f"The channel axis of x must be known. Received x.shape={x_shape}."
            )
        in_channels = int(x_shape[-1])
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
        x, valid = self._split(inputs, "inputs")
        self._check_shapes(tuple(x.shape), tuple(valid.shape))
        x = ops.cast(x, self.compute_dtype)
        valid = ops.cast(valid, self.compute_dtype)
        valid = ops.stop_gradient(valid)
        conv_args = dict(strides=self.strides, padding=self.padding,
                         dilation_rate=self.dilation_rate)
        raw = ops.conv(x * valid, ops.cast(self.kernel, self.compute_dtype), **conv_args)

        if self.multi_channel:
            counts = ops.sum(valid, axis=-1, keepdims=True)
            if valid.shape[-1] == 1:
                counts = counts * self._in_channels
        else:
            counts = valid
        ones = ops.ones((*self.kernel_size, 1, 1), dtype=self.compute_dtype)
        s = ops.stop_gradient(ops.conv(counts, ones, **conv_args))
        # s is a sum of 0/1 values: > 0.5 is exact in float16 too.
        new_valid = ops.cast(ops.greater(s, 0.5), self.compute_dtype)
        ratio = (self._window / ops.maximum(s, 1.0)) * new_valid
        y = raw * ratio
        if self.use_bias:
            y = y + ops.cast(self.bias, self.compute_dtype)
            y = y * new_valid
        if self.activation is not None:
            y = self.activation(y)
        return [y, new_valid]

    def compute_output_shape(self, input_shape):
        x_shape, _ = self._split(input_shape, "input_shape")
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
    """2D partial convolution, called as ``PConv2D(...)([x, valid]) -> [y, new_valid]``.

    Arguments, semantics and shapes as :class:`BasePConv` with ``rank=2``: ``x`` is
    ``(batch, height, width, channels)``, ``valid`` ``(batch, height, width, 1)``.

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
    """3D partial convolution (2D+T sequences), ``PConv3D(...)([x, valid]) -> [y, new_valid]``.

    Arguments, semantics and shapes as :class:`BasePConv` with ``rank=3``: ``x`` is
    ``(batch, frames, height, width, channels)``, ``valid`` the same with one channel.

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
    """``valid * image + (1 - valid) * prediction``: known pixels are never changed.

    Call arguments:
        inputs: A list ``[image, valid, prediction]`` of broadcastable tensors.
    """

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            raise ValueError(
                "Expected a list [image, valid, prediction] of three tensors. "
                f"Received inputs={getattr(inputs, 'shape', inputs)!r}."
            )
        image, valid, prediction = (ops.cast(t, self.compute_dtype) for t in inputs)
        return valid * image + (1.0 - valid) * prediction

    def compute_output_shape(self, input_shape):
        return input_shape[2]


def composite(image, prediction, valid):
    """``valid * image + (1 - valid) * prediction`` (tensors or arrays)."""
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

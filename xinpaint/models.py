"""The U-Net family of the study: plain, partial-convolution, 2D and 2D+T, hybrid.

Every model takes ``[image, valid]`` (``valid = 1 - holes``, one channel) and returns
the image, so the chapters can swap them:

==================  ==================================================================
builder             what it is
==================  ==================================================================
``unet2d``          plain convolutions (Ronneberger et al., 2015); the holes hold
                    whatever value the caller put there; ``valid_as_channel=True``
                    feeds the mask as an extra input channel
``unet3d``          the same with 3D convolutions, for 2D+T patches
``pconv_unet2d``    partial convolutions everywhere (Liu et al., 2018)
``pconv_unet3d``    3D partial convolutions; ``many2many=False`` predicts the centre
                    frame only
==================  ==================================================================

All share one layout: ``depth`` encoder levels, each one convolution with stride 2
(spatial only in 3D, by default), batch normalisation (not on the first level) and
ReLU; then ``depth`` decoder levels, each a nearest-neighbour up-sampling, a
concatenation with the encoder's features of that scale (the input image at full
scale), a 3×3 convolution, batch normalisation and LeakyReLU(0.2); a last 3×3
convolution gives one channel. In the partial-convolution models the masks follow
the features (one channel each, ``new_valid`` of every layer); a decoder layer is a
multi-channel PConv of the concatenated features and masks, given to the layer as
channel groups so that no repeated mask is built. The input's channels beyond the
first (``input_shape[-1] > 1``) are extra inputs, e.g. a classical fill for a hybrid
model; channel 0 is the image that the composition keeps. With ``residual=True`` the network's output is a
correction added to the input image (the hybrid models of the study, which receive a
classical fill of the holes and start at its level: their last convolution starts at
zero, so an untrained residual model returns its input; ``residual_scale`` and
``standardise`` put the correction on the scale of the error it corrects); with ``composite_output=True``
(the default) the output is ``valid * image + (1 - valid) * prediction``, so a model
never changes a known pixel.

Encoder batch-norm layers are named ``enc_bn_<level>``; :func:`freeze_encoder_batchnorm`
freezes them for the fine-tuning stage of the PConv schedule.
"""

from __future__ import annotations

import numbers

from xinpaint.chapter import quiet_tensorflow

quiet_tensorflow()  # TensorFlow's import noise off before Keras loads it (`xinpaint -v` shows it)

import keras  # noqa: E402

from xinpaint.layers import CentreFrame, Composite, PConv2D, PConv3D, ValidStandardise  # noqa: E402

#: The classical fill that hybrid models (``residual=True`` with a fill channel) receive as
#: image channel 0, in training and at inference (:func:`xinpaint.inpaint`).
HYBRID_FILL = "biharmonic"

__all__ = [
    "HYBRID_FILL",
    "freeze_encoder_batchnorm",
    "pconv_unet2d",
    "pconv_unet3d",
    "receptive_field",
    "spatial_multiple",
    "unet2d",
    "unet3d",
]


def _check(input_shape, rank, depth, base_filters, kernel_size, name):
    try:
        input_shape = tuple(None if s is None else int(s) for s in input_shape)
    except TypeError:
        raise ValueError(f"Expected input_shape as a tuple. Received input_shape={input_shape!r}.") from None
    if len(input_shape) != rank + 1:
        example = "(64, 64, 1)" if rank == 2 else "(16, 64, 64, 1)"
        raise ValueError(
            f"{name} expects input_shape of length {rank + 1}, e.g. {example}. "
            f"Received input_shape={input_shape!r}."
        )
    if input_shape[-1] is None or input_shape[-1] < 1:
        raise ValueError(f"Expected a known channel count. Received input_shape={input_shape!r}.")
    for arg, value in (("depth", depth), ("base_filters", base_filters),
                       ("kernel_size", kernel_size)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"Expected a strictly positive value. Received {arg}={value!r}.")
    multiple = 2**depth
    for size in input_shape[-3:-1]:
        if size is not None and size % multiple:
            raise ValueError(
                f"Expected height and width divisible by 2**depth = {multiple}. "
                f"Received input_shape={input_shape!r} with depth={depth}."
            )
    return input_shape


def _build(
    input_shape,
    *,
    rank,
    partial,
    depth,
    base_filters,
    kernel_size,
    first_kernel_size,
    max_filters,
    valid_as_channel=False,
    residual=False,
    residual_scale=1.0,
    standardise=False,
    intensity_channels=None,
    composite_output=True,
    temporal_strides=False,
    many2many=True,
    name,
    _pconv=None,
):
    input_shape = _check(input_shape, rank, depth, base_filters, kernel_size, name)
    if (not isinstance(residual_scale, numbers.Real) or isinstance(residual_scale, bool)
            or not residual_scale > 0 or residual_scale == float("inf")):
        raise ValueError(f"Expected a finite residual_scale > 0. Received residual_scale={residual_scale!r}.")
    channels = input_shape[-1]
    if intensity_channels is not None and not (isinstance(intensity_channels, numbers.Integral)
                                               and 1 <= intensity_channels <= channels):
        raise ValueError(f"Expected intensity_channels between 1 and the {channels} input channels. "
                         f"Received intensity_channels={intensity_channels!r}.")
    image = keras.Input(input_shape, name="image")
    valid = keras.Input((*input_shape[:-1], 1), name="valid")
    stride = 2 if rank == 2 else ((2 if temporal_strides else 1), 2, 2)
    filters = [min(base_filters * 2**i, max_filters) for i in range(depth)]
    pconv = _pconv or (PConv2D if rank == 2 else PConv3D)  # _pconv: benchmarks only
    conv = keras.layers.Conv2D if rank == 2 else keras.layers.Conv3D

    def upsample(t, tag):
        layer = (keras.layers.UpSampling2D(2, name=tag) if rank == 2 else
                 keras.layers.UpSampling3D(stride, name=tag))
        return layer(t)

    # ------------------------------------------------------------------ encoder
    source = image
    if standardise:
        source, scale, mean = ValidStandardise(intensity_channels=intensity_channels, with_mean=True,
                                               name="standardise")([image, valid])
    if standardise and not partial:
        # The masked frame (channel 0, or 1 after a residual model's fill) gets the visible
        # mean (0 once standardised) in its holes, whatever the caller put there: the
        # network stays equivariant to a * image + b and blind to the hole values.
        k = 1 if residual and channels > 1 else 0
        source = keras.ops.concatenate(
            [source[..., :k], source[..., k:k + 1] * valid, source[..., k + 1:]], axis=-1)
    if partial:
        h, m = source, valid
    else:
        h = keras.layers.Concatenate(name="image_and_valid")([source, valid]) if valid_as_channel else source
        m = None
    skips = [(h, m, channels + (1 if valid_as_channel and not partial else 0))]
    for i, f in enumerate(filters):
        k = first_kernel_size if i == 0 else kernel_size
        if partial:
            h, m = pconv(f, k, strides=stride, name=f"enc_pconv_{i}")([h, m])
        else:
            h = conv(f, k, strides=stride, padding="same", name=f"enc_conv_{i}")(h)
        if i > 0:
            h = keras.layers.BatchNormalization(name=f"enc_bn_{i}")(h)
        h = keras.layers.ReLU(name=f"enc_relu_{i}")(h)
        skips.append((h, m, f))
    # ------------------------------------------------------------------ decoder
    for i in reversed(range(depth)):
        skip_h, skip_m, _ = skips[i]
        h = upsample(h, f"dec_up_{i}")
        out_filters = filters[i - 1] if i > 0 else base_filters
        if partial:
            # The PConv of the concatenation [features, skip] with its concatenated
            # mask (multi-channel), given as channel groups: no repeated mask is built.
            m = upsample(m, f"dec_up_valid_{i}")
            h, m = pconv(out_filters, kernel_size, multi_channel=True,
                         name=f"dec_pconv_{i}")([[h, skip_h], [m, skip_m]])
        else:
            h = keras.layers.Concatenate(name=f"dec_concat_{i}")([h, skip_h])
            h = conv(out_filters, kernel_size, padding="same", name=f"dec_conv_{i}")(h)
        h = keras.layers.BatchNormalization(name=f"dec_bn_{i}")(h)
        h = keras.layers.LeakyReLU(0.2, name=f"dec_lrelu_{i}")(h)
    if partial:
        # A residual model starts as the identity: its correction is zero until trained.
        init = "zeros" if residual else "glorot_uniform"
        prediction, _ = pconv(1, kernel_size, kernel_initializer=init, name="out_pconv")([h, m])
    else:
        init = "zeros" if residual else "glorot_uniform"
        prediction = conv(1, kernel_size, padding="same", kernel_initializer=init,
                          name="out_conv")(h)
    prediction = keras.layers.Activation("linear", dtype="float32", name="prediction")(prediction)
    base = keras.layers.Activation("linear", dtype="float32", name="image_f32")(image[..., :1])
    valid32 = keras.layers.Activation("linear", dtype="float32", name="valid_f32")(valid)
    if residual:
        if standardise:
            prediction = keras.layers.Multiply(dtype="float32", name="destandardise")([prediction, scale])
        if residual_scale != 1.0:
            prediction = keras.layers.Rescaling(residual_scale, dtype="float32",
                                                name="residual_scale")(prediction)
        prediction = keras.layers.Add(name="residual")([base, prediction])
    elif standardise:  # back to the input's scale: prediction * std + mean
        prediction = keras.layers.Multiply(dtype="float32", name="destandardise")([prediction, scale])
        prediction = keras.layers.Add(dtype="float32", name="restore_mean")([prediction, mean])
    if not many2many:
        prediction = CentreFrame(dtype="float32", name="centre_prediction")(prediction)
        base = CentreFrame(dtype="float32", name="centre_image")(base)
        valid32 = CentreFrame(dtype="float32", name="centre_valid")(valid32)
    output = Composite(dtype="float32", name="composite")([base, prediction, valid32]) if composite_output else prediction
    return keras.Model([image, valid], output, name=name)


def unet2d(
    input_shape,
    *,
    depth: int = 4,
    base_filters: int = 32,
    kernel_size: int = 3,
    first_kernel_size: int = 5,
    max_filters: int = 256,
    valid_as_channel: bool = False,
    residual: bool = False,
    residual_scale: float = 1.0,
    standardise: bool = False,
    intensity_channels: int | None = None,
    composite_output: bool = True,
    name: str = "unet2d",
) -> keras.Model:
    """A plain convolutional U-Net taking ``[image, valid]`` and returning the image.

    Parameters
    ----------
    input_shape : tuple
        ``(height, width, channels)``, e.g. ``(64, 64, 1)``; height and width may be
        None, else divisible by ``2**depth``. Channel 0 is the image (holes filled
        with whatever values the caller chose); more channels are extra inputs (e.g.
        the hybrid's classical fill).
    depth, base_filters, kernel_size, first_kernel_size, max_filters : int
        Levels, width of the first level (doubling per level up to ``max_filters``),
        kernel sizes.
    valid_as_channel : bool
        Concatenate ``valid`` to the image as an input channel.
    residual : bool
        Predict a correction added to channel 0 of the image.
    residual_scale : float
        With ``residual``: the correction is the last convolution's output times this
        (> 0), so that the first optimiser steps make corrections on the scale of the
        error to correct, not of the image.
    standardise : bool
        The network sees the input standardised by the mean and standard deviation of
        its visible pixels (:class:`~xinpaint.layers.ValidStandardise`, per sample: per
        crop in training, per frame or window at inference); a residual model's
        correction is multiplied back by that standard deviation, any other model's
        output becomes ``output * std + mean``, so the model is equivariant to
        ``a * image + b`` (``a > 0``).
    intensity_channels : int, optional
        With ``standardise``: how many leading input channels are intensities (the
        others, e.g. the masks of neighbouring frames, are not standardised); default all.
    composite_output : bool
        Return ``valid * image + (1 - valid) * prediction``.
    name : str
        Model name.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> model = unet2d((64, 64, 1), depth=3, base_filters=8)
    >>> [tuple(t.shape) for t in model.inputs], tuple(model.output.shape)
    ([(None, 64, 64, 1), (None, 64, 64, 1)], (None, 64, 64, 1))
    """
    return _build(input_shape, rank=2, partial=False, depth=depth, base_filters=base_filters,
                  kernel_size=kernel_size, first_kernel_size=first_kernel_size,
                  max_filters=max_filters, valid_as_channel=valid_as_channel, residual=residual,
                  residual_scale=residual_scale, standardise=standardise,
                  intensity_channels=intensity_channels,
                  composite_output=composite_output, name=name)


def unet3d(
    input_shape,
    *,
    depth: int = 3,
    base_filters: int = 16,
    kernel_size: int = 3,
    first_kernel_size: int = 3,
    max_filters: int = 128,
    valid_as_channel: bool = True,
    residual: bool = False,
    residual_scale: float = 1.0,
    standardise: bool = False,
    intensity_channels: int | None = None,
    composite_output: bool = True,
    temporal_strides: bool = False,
    many2many: bool = True,
    name: str = "unet3d",
) -> keras.Model:
    """A plain 3D U-Net for 2D+T patches ``(frames, height, width, channels)``.

    Arguments as :func:`unet2d`; ``temporal_strides`` also halves the frames at each
    level (default: spatial down-sampling only, so short windows work);
    ``many2many=False`` returns the centre frame only, ``(height, width, 1)``.
    """
    return _build(input_shape, rank=3, partial=False, depth=depth, base_filters=base_filters,
                  kernel_size=kernel_size, first_kernel_size=first_kernel_size,
                  max_filters=max_filters, valid_as_channel=valid_as_channel, residual=residual,
                  residual_scale=residual_scale, standardise=standardise,
                  intensity_channels=intensity_channels,
                  composite_output=composite_output, temporal_strides=temporal_strides,
                  many2many=many2many, name=name)


def pconv_unet2d(
    input_shape,
    *,
    depth: int = 4,
    base_filters: int = 32,
    kernel_size: int = 3,
    first_kernel_size: int = 5,
    max_filters: int = 256,
    residual: bool = False,
    residual_scale: float = 1.0,
    standardise: bool = False,
    intensity_channels: int | None = None,
    composite_output: bool = True,
    name: str = "pconv_unet2d",
) -> keras.Model:
    """The U-Net of :func:`unet2d` with partial convolutions (Liu et al., 2018).

    The values inside the holes never reach the output: the model's result is the
    same, bit for bit, whatever fills them. ``valid`` enters through the partial
    convolutions only (never as a channel). Arguments as :func:`unet2d`; with the
    default ``composite_output=True`` the known pixels of the output are those of
    the input.

    Examples
    --------
    >>> model = pconv_unet2d((64, 64, 1), depth=3, base_filters=8)
    >>> tuple(model.output.shape)
    (None, 64, 64, 1)
    """
    return _build(input_shape, rank=2, partial=True, depth=depth, base_filters=base_filters,
                  kernel_size=kernel_size, first_kernel_size=first_kernel_size,
                  max_filters=max_filters, residual=residual,
                  residual_scale=residual_scale, standardise=standardise,
                  intensity_channels=intensity_channels, composite_output=composite_output,
                  name=name)


def pconv_unet3d(
    input_shape,
    *,
    many2many: bool = True,
    depth: int = 3,
    base_filters: int = 16,
    kernel_size: int = 3,
    first_kernel_size: int = 3,
    max_filters: int = 128,
    residual: bool = False,
    residual_scale: float = 1.0,
    standardise: bool = False,
    intensity_channels: int | None = None,
    composite_output: bool = True,
    temporal_strides: bool = False,
    name: str = "pconv_unet3d",
) -> keras.Model:
    """A U-Net of 3D partial convolutions for 2D+T patches.

    Parameters
    ----------
    input_shape : tuple
        ``(frames, height, width, channels)``, e.g. ``(16, 64, 64, 1)``.
    many2many : bool
        True: every frame is predicted, output ``(frames, height, width, 1)``.
        False: only the centre frame ``frames // 2``, output ``(height, width, 1)``.
    Other arguments as :func:`unet3d`.
    """
    return _build(input_shape, rank=3, partial=True, depth=depth, base_filters=base_filters,
                  kernel_size=kernel_size, first_kernel_size=first_kernel_size,
                  max_filters=max_filters, residual=residual,
                  residual_scale=residual_scale, standardise=standardise,
                  intensity_channels=intensity_channels, composite_output=composite_output,
                  temporal_strides=temporal_strides, many2many=many2many, name=name)


def freeze_encoder_batchnorm(model: keras.Model) -> int:
    """Freeze the encoder's batch normalisation (fine-tuning stage of the PConv schedule).

    The layers named ``enc_bn_*`` are made non-trainable: Keras 3 then runs them in
    inference mode, so their moving statistics stay fixed and their scale and offset
    are not trained. Compile the model again afterwards.

    Returns
    -------
    int
        The number of layers frozen.
    """
    frozen = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization) and layer.name.startswith("enc_bn_"):
            layer.trainable = False
            frozen += 1
    return frozen


def spatial_multiple(model: keras.Model) -> int:
    """The factor height and width must be divisible by (product of the spatial strides)."""
    multiple = 1
    for layer in model.layers:
        strides = getattr(layer, "strides", None)
        if strides is not None and not isinstance(layer, keras.layers.InputLayer):
            multiple *= int(tuple(strides)[-1])
    return multiple


def receptive_field(model: keras.Model) -> int:
    """Width in pixels of the window of the input that one output pixel can see.

    The theoretical receptive field along the last spatial axis, over every path of the
    functional graph: a convolution (plain or partial) of kernel ``k``, dilation ``d``
    and stride ``s`` widens it by ``(k - 1) * d`` times the distance between input
    pixels at its scale and multiplies that distance by ``s``; an up-sampling by ``u``
    divides it; layers with several inputs take the widest. Per-sample statistics
    (:class:`xinpaint.layers.ValidStandardise`) are global and not counted. A hole
    wider than the receptive field has pixels whose output cannot see any visible one.

    Examples
    --------
    >>> receptive_field(unet2d((64, 64, 1), depth=3, base_filters=4))
    33
    """
    fields = {}

    def field_of(tensor):
        operation = tensor._keras_history.operation
        if operation.name in fields:
            return fields[operation.name]
        inputs = [t for t in operation._inbound_nodes[0].input_tensors]
        known = [field_of(t) for t in inputs] or [(1.0, 1.0)]
        width, jump = max(w for w, _ in known), min(j for _, j in known)
        kernel = getattr(operation, "kernel_size", None)
        if kernel is not None:
            dilation = tuple(getattr(operation, "dilation_rate", (1,)))[-1]
            width += (tuple(kernel)[-1] - 1) * dilation * jump
            jump *= tuple(operation.strides)[-1]
        elif isinstance(operation, (keras.layers.UpSampling2D, keras.layers.UpSampling3D)):
            jump /= tuple(operation.size)[-1]
        fields[operation.name] = (width, jump)
        return fields[operation.name]

    return round(max(field_of(t)[0] for t in model.outputs))

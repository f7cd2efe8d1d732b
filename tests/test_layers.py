"""Partial convolution layers against a brute-force NumPy reference (xinpaint.layers)."""

import itertools

import keras
import numpy as np
import pytest

from xinpaint.layers import (
    BasePConv,
    Composite,
    PConv2D,
    PConv3D,
    RepeatChannels,
    ValidStandardise,
    composite,
)


def _same_pads(size, k, s, d):
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def np_pconv(x, valid, kernel, bias, *, strides, padding, dilation, multi_channel):
    """Brute force: loop over every output position and every kernel tap."""
    rank = x.ndim - 2
    ksize = kernel.shape[:rank]
    cin, cout = kernel.shape[-2:]
    if padding == "same":
        pads = [_same_pads(n, k, s, d) for n, k, s, d in zip(x.shape[1:-1], ksize, strides, dilation, strict=True)]
    else:
        pads = [(0, 0)] * rank
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    vp = np.pad(valid, [(0, 0), *pads, (0, 0)])  # padding counts as holes
    if multi_channel and valid.shape[-1] == 1:
        vp = np.repeat(vp, cin, axis=-1)
    out_sizes = [(n + p0 + p1 - ((k - 1) * d + 1)) // s + 1
                 for n, (p0, p1), k, s, d in zip(x.shape[1:-1], pads, ksize, strides, dilation, strict=True)]
    window = int(np.prod(ksize)) * (cin if multi_channel else 1)
    y = np.zeros((x.shape[0], *out_sizes, cout))
    new_valid = np.zeros((x.shape[0], *out_sizes, 1))
    for b in range(x.shape[0]):
        for pos in itertools.product(*[range(n) for n in out_sizes]):
            acc = np.zeros(cout)
            ssum = 0.0
            for tap in itertools.product(*[range(k) for k in ksize]):
                idx = tuple(p * s + t * d for p, s, t, d in zip(pos, strides, tap, dilation, strict=True))
                xv = xp[(b, *idx)]
                vv = vp[(b, *idx)]
                acc += (xv * vv) @ kernel[tap] if vv.shape[-1] > 1 else (xv * vv[0]) @ kernel[tap]
                ssum += vv.sum()
            if ssum > 0:
                y[(b, *pos)] = acc * window / ssum + bias
                new_valid[(b, *pos)] = 1.0
    return y, new_valid


CASES_2D = [
    # (shape, cin, cout, kernel, strides, padding, dilation, multi_channel)
    ((9, 8), 2, 3, 3, 1, "same", 1, False),
    ((9, 8), 2, 3, 3, 2, "same", 1, False),
    ((10, 10), 1, 2, 5, 1, "same", 1, False),
    ((11, 9), 3, 2, 5, 2, "same", 1, True),
    ((9, 9), 2, 2, 3, 1, "valid", 1, True),
    ((10, 9), 2, 2, 3, 1, "same", 2, False),
    ((8, 8), 2, 4, 3, 2, "valid", 1, False),
]


def _masks(rng, shape, channels):
    valid = (rng.random((*shape, channels)) > 0.35).astype("float32")
    valid[0, 0:7, 0:7] = 0  # a block larger than a window: fully hidden windows
    return valid


@pytest.mark.parametrize("case", CASES_2D)
def test_pconv2d_matches_numpy_reference(rng, case):
    shape, cin, cout, k, s, padding, d, multi = case
    x = rng.normal(size=(2, *shape, cin)).astype("float32")
    valid = _masks(rng, (2, *shape), cin if multi else 1)
    layer = PConv2D(cout, k, strides=s, padding=padding, dilation_rate=d, multi_channel=multi,
                    bias_initializer="random_normal")
    y, new_valid = layer([x, valid])
    kernel, bias = (w.numpy() for w in layer.weights)
    ref_y, ref_valid = np_pconv(x, valid, kernel, bias, strides=(s, s), padding=padding,
                                dilation=(d, d), multi_channel=multi)
    np.testing.assert_allclose(np.asarray(y), ref_y, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(new_valid), ref_valid)
    assert (ref_valid == 0).any()  # the case does have windows with nothing visible


@pytest.mark.parametrize("strides,k,multi", [((1, 1, 1), 3, False), ((1, 2, 2), 3, False),
                                              ((2, 2, 2), 3, True), ((1, 1, 1), (3, 5, 5), False)])
def test_pconv3d_matches_numpy_reference(rng, strides, k, multi):
    x = rng.normal(size=(1, 5, 8, 7, 2)).astype("float32")
    valid = (rng.random((1, 5, 8, 7, 2 if multi else 1)) > 0.3).astype("float32")
    valid[0, :, 1:6, 1:6] = 0
    layer = PConv3D(3, k, strides=strides, multi_channel=multi, bias_initializer="ones")
    y, new_valid = layer([x, valid])
    kernel, bias = (w.numpy() for w in layer.weights)
    ref_y, ref_valid = np_pconv(x, valid, kernel, bias, strides=strides, padding="same",
                                dilation=(1, 1, 1), multi_channel=multi)
    np.testing.assert_allclose(np.asarray(y), ref_y, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(new_valid), ref_valid)


def test_multi_channel_accepts_a_broadcast_single_channel_mask(rng):
    x = rng.normal(size=(1, 8, 8, 3)).astype("float32")
    valid1 = (rng.random((1, 8, 8, 1)) > 0.5).astype("float32")
    layer = PConv2D(2, 3, multi_channel=True)
    y1, v1 = layer([x, valid1])
    y3, v3 = layer([x, np.repeat(valid1, 3, axis=-1)])
    np.testing.assert_allclose(np.asarray(y1), np.asarray(y3), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(v1), np.asarray(v3))


def test_set_weights_like_conv2d(rng):
    conv = keras.layers.Conv2D(4, 3, padding="same")
    pconv = PConv2D(4, 3)
    x = rng.normal(size=(1, 6, 6, 2)).astype("float32")
    conv(x)
    pconv([x, np.ones((1, 6, 6, 1), "float32")])
    pconv.set_weights(conv.get_weights())
    assert [w.name for w in pconv.weights] == ["kernel", "bias"]
    # Fully visible interior: a partial convolution is the plain convolution.
    y, _ = pconv([x, np.ones((1, 6, 6, 1), "float32")])
    np.testing.assert_allclose(np.asarray(y)[:, 1:-1, 1:-1], np.asarray(conv(x))[:, 1:-1, 1:-1],
                               rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_kernel_and_not_through_holes(rng):
    import tensorflow as tf

    x = tf.constant(rng.normal(size=(1, 8, 8, 1)).astype("float32"))
    valid = np.ones((1, 8, 8, 1), "float32")
    valid[:, 2:5, 2:5] = 0
    layer = PConv2D(2, 3)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y, _ = layer([x, valid])
        loss = tf.reduce_sum(y**2)
    g_kernel = tape.gradient(loss, layer.kernel)
    g_x = tape.gradient(loss, x).numpy()
    assert np.isfinite(g_kernel.numpy()).all() and np.abs(g_kernel.numpy()).sum() > 0
    assert np.all(g_x[0, 2:5, 2:5] == 0)  # hidden inputs do not influence the output


def test_config_round_trip():
    layer = PConv3D(5, (3, 5, 5), strides=(1, 2, 2), activation="relu", multi_channel=True,
                    use_bias=False, kernel_regularizer="l2", name="p3")
    clone = PConv3D.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert keras.saving.get_registered_name(PConv2D) == "xinpaint>PConv2D"


def test_keras_save_and_load(tmp_path, rng):
    image = keras.Input((16, 16, 1))
    valid = keras.Input((16, 16, 1))
    y, m = PConv2D(4, 3, strides=2, activation="relu")([image, valid])
    y, m = PConv2D(1, 3)([y, RepeatChannels(1)(m)])
    model = keras.Model([image, valid], Composite()([image[:, ::2, ::2], y, m]))
    x = rng.random((2, 16, 16, 1)).astype("float32")
    v = (rng.random((2, 16, 16, 1)) > 0.2).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded([x, v])), np.asarray(model([x, v])), rtol=1e-6)


def test_one_fit_step_changes_the_weights(rng):
    image = keras.Input((8, 8, 1))
    valid = keras.Input((8, 8, 1))
    y, _ = PConv2D(1, 3)([image, valid])
    model = keras.Model([image, valid], y)
    model.compile("adam", "mae")
    before = model.get_weights()[0].copy()
    x = rng.random((4, 8, 8, 1)).astype("float32")
    model.fit([x, np.ones_like(x)], x, epochs=1, batch_size=4, verbose=0)
    assert not np.allclose(before, model.get_weights()[0])


def test_composite_never_changes_known_pixels(rng):
    image = rng.random((2, 5, 5, 1)).astype("float32")
    prediction = rng.random((2, 5, 5, 1)).astype("float32")
    valid = (rng.random((2, 5, 5, 1)) > 0.5).astype("float32")
    out = np.asarray(Composite()([image, prediction, valid]))
    np.testing.assert_array_equal(out[valid == 1], image[valid == 1])
    np.testing.assert_array_equal(out[valid == 0], prediction[valid == 0])
    np.testing.assert_array_equal(composite(image, prediction, valid), out)


def test_mixed_float16_stays_close_to_float32(rng):
    x = rng.random((1, 16, 16, 2)).astype("float32")
    valid = (rng.random((1, 16, 16, 1)) > 0.3).astype("float32")
    ref_layer = PConv2D(4, 3)
    ref, _ = ref_layer([x, valid])
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = PConv2D(4, 3)
        layer([x, valid])
        layer.set_weights(ref_layer.get_weights())
        y, _ = layer([x, valid])
        assert y.dtype == "float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    np.testing.assert_allclose(np.asarray(y, "float32"), np.asarray(ref), rtol=2e-2, atol=2e-2)


def test_jit_compile(rng):
    import tensorflow as tf

    layer = PConv2D(3, 3, strides=2)
    x = rng.random((2, 16, 16, 1)).astype("float32")
    valid = (rng.random((2, 16, 16, 1)) > 0.3).astype("float32")
    eager, _ = layer([x, valid])
    jitted, _ = tf.function(lambda a, b: layer([a, b]), jit_compile=True)(x, valid)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"filters": 0, "kernel_size": 3}, r"Expected a strictly positive value. Received filters=0"),
        ({"filters": -2, "kernel_size": 3}, r"Received filters=-2"),
        ({"filters": 2, "kernel_size": 0}, r"Expected a strictly positive value. Received kernel_size=0"),
        ({"filters": 2, "kernel_size": (3, 3, 3)}, r"Expected 2 values. Received kernel_size=\(3, 3, 3\)"),
        ({"filters": 2, "kernel_size": 3, "padding": "causal"}, r"Received padding='causal'"),
        ({"filters": 2, "kernel_size": 3, "strides": 0}, r"Received strides=0"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PConv2D(**kwargs)


def test_bad_inputs_name_the_value():
    x = np.zeros((1, 8, 8, 2), "float32")
    with pytest.raises(ValueError, match=r"Expected a list \[x, valid\] of two tensors. "
                                         r"Received inputs=a tensor of shape \(1, 8, 8, 2\)"):
        PConv2D(2, 3)(x)
    with pytest.raises(ValueError, match=r"two tensors. Received inputs=a list of 3"):
        PConv2D(2, 3)([x, x, x])
    with pytest.raises(ValueError, match=r"spatial shape of x \(8, 8\). Received valid.shape=\(1, 8, 7, 1\)"):
        PConv2D(2, 3)([x, np.zeros((1, 8, 7, 1), "float32")])
    with pytest.raises(ValueError, match=r"valid with 1 \(or multi_channel=True\) channels. "
                                         r"Received valid.shape=\(1, 8, 8, 2\)"):
        PConv2D(2, 3)([x, np.zeros((1, 8, 8, 2), "float32")])
    with pytest.raises(ValueError, match=r"valid with 1 or 2 channels. Received valid.shape=\(1, 8, 8, 3\)"):
        PConv2D(2, 3, multi_channel=True)([x, np.zeros((1, 8, 8, 3), "float32")])
    with pytest.raises(ValueError, match=r"expects x of rank 5"):
        PConv3D(2, 3)([x, np.zeros((1, 8, 8, 1), "float32")])


@pytest.mark.parametrize("seed", range(8))
def test_random_configurations_match_numpy_reference(seed):
    """Random rank, shape, channels, kernel (3 or 5), strides (1 or 2), padding, dilation."""
    rng = np.random.default_rng(seed)
    rank = int(rng.choice([2, 3]))
    shape = tuple(int(n) for n in rng.integers(5, 10 if rank == 2 else 7, size=rank))
    cin, cout = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    k = int(rng.choice([3, 5]))
    stride = int(rng.choice([1, 2]))
    dilation = 1 if stride > 1 else int(rng.choice([1, 2]))
    padding = str(rng.choice(["same", "valid"]))
    if padding == "valid":
        shape = tuple(max(n, (k - 1) * dilation + 1) for n in shape)
    multi = bool(rng.integers(2))
    x = rng.normal(size=(2, *shape, cin)).astype("float32")
    valid = (rng.random((2, *shape, cin if multi else 1)) > rng.uniform(0.2, 0.8)).astype("float32")
    valid[0, ...] = 0  # a sample with nothing visible: every window empty
    layer = (PConv2D if rank == 2 else PConv3D)(
        cout, k, strides=stride, padding=padding, dilation_rate=dilation, multi_channel=multi,
        bias_initializer="random_normal")
    y, new_valid = layer([x, valid])
    kernel, bias = (w.numpy() for w in layer.weights)
    ref_y, ref_valid = np_pconv(x, valid, kernel, bias, strides=(stride,) * rank, padding=padding,
                                dilation=(dilation,) * rank, multi_channel=multi)
    np.testing.assert_allclose(np.asarray(y), ref_y, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(new_valid), ref_valid)
    assert np.all(np.asarray(y)[0] == 0)  # bias included
    assert tuple(y.shape) == layer.compute_output_shape([x.shape, valid.shape])[0]


def test_channel_groups_equal_the_concatenation(rng):
    """[[x1, x2], [v1, v2]] is the PConv of concat(x1, x2) with the repeated, joined mask."""
    x1 = rng.normal(size=(2, 9, 8, 3)).astype("float32")
    x2 = rng.normal(size=(2, 9, 8, 2)).astype("float32")
    v1 = (rng.random((2, 9, 8, 1)) > 0.4).astype("float32")
    v2 = (rng.random((2, 9, 8, 2)) > 0.6).astype("float32")
    layer = PConv2D(4, 3, multi_channel=True, bias_initializer="ones")
    y, m = layer([[x1, x2], [v1, v2]])
    assert layer.kernel.shape == (3, 3, 5, 4)
    joined_y, joined_m = layer([np.concatenate([x1, x2], -1),
                                np.concatenate([np.repeat(v1, 3, -1), v2], -1)])
    np.testing.assert_allclose(np.asarray(y), np.asarray(joined_y), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(m), np.asarray(joined_m))


def test_channel_groups_need_multi_channel_and_matching_lists(rng):
    x = np.zeros((1, 8, 8, 2), "float32")
    v = np.ones((1, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match=r"need multi_channel=True. Received multi_channel=False"):
        PConv2D(2, 3)([[x, x], [v, v]])
    with pytest.raises(ValueError, match=r"as many valid tensors as x tensors. Received 2 x and 1 valid"):
        PConv2D(2, 3, multi_channel=True)([[x, x], [v]])
    with pytest.raises(ValueError, match=r"Received valid\[1\].shape=\(1, 8, 7, 1\)"):
        PConv2D(2, 3, multi_channel=True)([[x, x], [v, v[:, :, :7]]])


@pytest.mark.parametrize(
    "kwargs,shape,expected",
    [
        ({"strides": 2}, (None, 9, 8, 2), (None, 5, 4, 3)),
        ({"padding": "valid"}, (4, 9, 8, 2), (4, 7, 6, 3)),
        ({"padding": "valid", "dilation_rate": 2}, (4, 9, 8, 2), (4, 5, 4, 3)),
        ({"strides": 2}, (None, None, None, 2), (None, None, None, 3)),
    ],
)
def test_compute_output_shape(kwargs, shape, expected):
    layer = PConv2D(3, 3, **kwargs)
    y_shape, valid_shape = layer.compute_output_shape([shape, (*shape[:-1], 1)])
    assert tuple(y_shape) == expected and tuple(valid_shape) == (*expected[:-1], 1)
    if None not in shape:
        y, m = layer([np.ones(shape, "float32"), np.ones((*shape[:-1], 1), "float32")])
        assert tuple(y.shape) == expected and tuple(m.shape) == (*expected[:-1], 1)


def test_mixed_float16_pconv3d_with_jit(rng):
    import tensorflow as tf

    x = rng.random((1, 4, 12, 12, 1)).astype("float32")
    valid = (rng.random((1, 4, 12, 12, 1)) > 0.4).astype("float32")
    ref_layer = PConv3D(3, 3, strides=(1, 2, 2))
    ref, ref_m = ref_layer([x, valid])
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = PConv3D(3, 3, strides=(1, 2, 2))
        layer([x, valid])
        layer.set_weights(ref_layer.get_weights())
        y, m = tf.function(lambda a, b: layer([a, b]), jit_compile=True)(x, valid)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert y.dtype == "float16" and layer.kernel.dtype == "float32"
    np.testing.assert_array_equal(np.asarray(m, "float32"), np.asarray(ref_m))
    np.testing.assert_allclose(np.asarray(y, "float32"), np.asarray(ref), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"filters": 2, "kernel_size": -3}, r"Expected a strictly positive value. Received kernel_size=-3"),
        ({"filters": 2, "kernel_size": "big"}, r"Received kernel_size='big'"),
        ({"filters": 2.5, "kernel_size": 3}, r"Expected an integer number of filters. Received filters=2.5"),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
         r"Expected strides of 1 with a dilation rate above 1. Received strides=\(2, 2\)"),
    ],
)
def test_more_bad_arguments_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PConv2D(**kwargs)


def test_base_layer_rank_is_checked():
    with pytest.raises(ValueError, match=r"Expected rank 2 or 3. Received rank=1"):
        BasePConv(1, 2, 3)


def test_composite_bad_inputs_name_the_value():
    a = np.zeros((1, 4, 4, 1), "float32")
    with pytest.raises(ValueError, match=r"three tensors. Received inputs=a tensor of shape \(1, 4, 4, 1\)"):
        Composite()(a)
    with pytest.raises(ValueError, match=r"Received prediction.shape=\(1, 4, 3, 1\)"):
        Composite()([a, a[:, :, :3], a])
    with pytest.raises(ValueError, match=r"Received valid.shape=\(1, 4, 4, 2\)"):
        Composite()([a, a, np.zeros((1, 4, 4, 2), "float32")])


def test_mixed_float16_wide_multi_channel_window(rng):
    """prod(kernel) * channels = 2700 > 2048, where float16 stops counting exactly."""
    x = rng.random((1, 6, 6, 300)).astype("float32")
    valid = (rng.random((1, 6, 6, 300)) > 0.5).astype("float32")
    valid[0, :3, :3] = 0
    ref_layer = PConv2D(2, 3, multi_channel=True)
    ref, ref_m = ref_layer([x, valid])
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = PConv2D(2, 3, multi_channel=True)
        layer([x, valid])
        layer.set_weights(ref_layer.get_weights())
        y, m = layer([x, valid])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    np.testing.assert_array_equal(np.asarray(m, "float32"), np.asarray(ref_m))
    np.testing.assert_allclose(np.asarray(y, "float32"), np.asarray(ref), rtol=2e-2, atol=5e-2)


@pytest.mark.parametrize("shape", [(3, 8, 9, 2), (2, 4, 8, 8, 1)])
def test_valid_standardise_matches_numpy_reference(rng, shape):
    image = rng.normal(5.0, 3.0, shape).astype("float32")
    valid = (rng.random((*shape[:-1], 1)) > 0.3).astype("float32")
    normalised, scale = (np.asarray(t) for t in ValidStandardise()([image, valid]))
    for b in range(shape[0]):
        seen = image[b, ..., 0][valid[b, ..., 0] > 0]
        std = seen.std()
        np.testing.assert_allclose(normalised[b], (image[b] - seen.mean()) / std, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(scale[b], np.full(valid[b].shape, std), rtol=1e-5)


def test_valid_standardise_ignores_the_holes_and_the_intensity_scale(rng):
    image = rng.random((2, 8, 8, 1)).astype("float32")
    valid = np.ones_like(image)
    valid[:, 2:5, 3:6] = 0
    layer = ValidStandardise()
    normalised, _ = layer([image, valid])
    other, _ = layer([np.where(valid > 0, image, 1e3).astype("float32"), valid])
    np.testing.assert_allclose(np.asarray(other)[valid > 0], np.asarray(normalised)[valid > 0], rtol=1e-5)
    affine, scale = layer([7.0 * image + 3.0, valid])
    np.testing.assert_allclose(np.asarray(affine), np.asarray(normalised), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(scale), 7.0 * np.asarray(layer([image, valid])[1]), rtol=1e-4)


def test_valid_standardise_floors_the_scale_of_a_flat_sample():
    image = np.full((1, 6, 6, 2), 0.25, "float32")
    normalised, scale = ValidStandardise(min_std=0.01)([image, np.ones((1, 6, 6, 1), "float32")])
    np.testing.assert_array_equal(np.asarray(normalised), 0.0)
    np.testing.assert_allclose(np.asarray(scale), 0.01)


def test_valid_standardise_config_and_bad_arguments():
    layer = ValidStandardise(min_std=0.5, name="s")
    assert ValidStandardise.from_config(layer.get_config()).min_std == 0.5
    assert keras.saving.get_registered_name(ValidStandardise) == "xinpaint>ValidStandardise"
    with pytest.raises(ValueError, match=r"Received min_std=0"):
        ValidStandardise(min_std=0)
    with pytest.raises(ValueError, match=r"two tensors. Received inputs=a tensor of shape \(1, 4, 4, 1\)"):
        ValidStandardise()(np.zeros((1, 4, 4, 1), "float32"))


def test_valid_standardise_keeps_mask_channels_and_returns_the_mean(rng):
    image = rng.random((2, 6, 6, 4)).astype("float32")
    image[..., 2:] = (image[..., 2:] > 0.5)  # two mask channels
    valid = (rng.random((2, 6, 6, 1)) > 0.3).astype("float32")
    normalised, scale, mean = (np.asarray(t) for t in ValidStandardise(
        intensity_channels=2, with_mean=True)([image, valid]))
    for b in range(2):
        seen = image[b, ..., 0][valid[b, ..., 0] > 0]
        np.testing.assert_allclose(mean[b], seen.mean(), rtol=1e-5)
        np.testing.assert_allclose(scale[b], seen.std(), rtol=1e-4)
        np.testing.assert_allclose(normalised[b, ..., :2], (image[b, ..., :2] - seen.mean()) / seen.std(),
                                   rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(normalised[..., 2:], image[..., 2:])
    layer = ValidStandardise(intensity_channels=2, with_mean=True)
    config = ValidStandardise.from_config(layer.get_config()).get_config()
    assert (config["intensity_channels"], config["with_mean"]) == (2, True)
    with pytest.raises(ValueError, match=r"Received intensity_channels=0"):
        ValidStandardise(intensity_channels=0)

"""The U-Net family (xinpaint.models)."""

import keras
import numpy as np
import pytest

from xinpaint.models import (
    freeze_encoder_batchnorm,
    pconv_unet2d,
    pconv_unet3d,
    receptive_field,
    spatial_multiple,
    unet2d,
    unet3d,
)


def _batch(rng, shape):
    image = rng.random(shape).astype("float32")
    valid = np.ones((*shape[:-1], 1), "float32")
    valid[..., 5:14, 3:12, :] = 0
    return image, valid


@pytest.mark.parametrize(
    "build,shape,out",
    [
        (lambda: unet2d((32, 32, 1), depth=3, base_filters=4), (2, 32, 32, 1), (2, 32, 32, 1)),
        (lambda: pconv_unet2d((32, 32, 1), depth=3, base_filters=4), (2, 32, 32, 1), (2, 32, 32, 1)),
        (lambda: unet3d((4, 32, 32, 2), depth=2, base_filters=4), (1, 4, 32, 32, 2), (1, 4, 32, 32, 1)),
        (lambda: pconv_unet3d((4, 32, 32, 1), depth=2, base_filters=4), (1, 4, 32, 32, 1), (1, 4, 32, 32, 1)),
        (lambda: pconv_unet3d((5, 32, 32, 1), depth=2, base_filters=4, many2many=False),
         (1, 5, 32, 32, 1), (1, 32, 32, 1)),
    ],
)
def test_shapes_and_known_pixels_kept(rng, build, shape, out):
    model = build()
    image, valid = _batch(rng, shape)
    y = np.asarray(model([image * valid, valid]))
    assert y.shape == out
    if len(out) == len(shape):
        keep = valid[..., 0] == 1  # composite output: known pixels bit-identical
        np.testing.assert_array_equal(y[..., 0][keep], (image * valid)[..., 0][keep])


@pytest.mark.parametrize("valid_as_channel", [False, True])
def test_pconv_output_does_not_depend_on_hole_values_but_unet_does(rng, valid_as_channel):
    image, valid = _batch(rng, (2, 32, 32, 1))
    black = image * valid
    white = black + (1 - valid)
    noise = black + (1 - valid) * rng.normal(size=black.shape).astype("float32")
    pconv = pconv_unet2d((32, 32, 1), depth=3, base_filters=4)
    reference = np.asarray(pconv([black, valid]))
    for filled in (white, noise):
        np.testing.assert_array_equal(np.asarray(pconv([filled, valid])), reference)
    plain = unet2d((32, 32, 1), depth=3, base_filters=4, valid_as_channel=valid_as_channel)
    diff = np.abs(np.asarray(plain([black, valid])) - np.asarray(plain([white, valid])))
    assert diff[valid == 0].max() > 1e-3


def test_pconv3d_output_does_not_depend_on_hole_values(rng):
    image, valid = _batch(rng, (1, 4, 32, 32, 1))
    model = pconv_unet3d((4, 32, 32, 1), depth=2, base_filters=4)
    a = np.asarray(model([image * valid, valid]))
    b = np.asarray(model([image * valid + 7 * (1 - valid), valid]))
    np.testing.assert_array_equal(a, b)
    centre = pconv_unet3d((3, 32, 32, 1), depth=2, base_filters=4, many2many=False)
    a = np.asarray(centre([image[:, :3] * valid[:, :3], valid[:, :3]]))
    b = np.asarray(centre([image[:, :3] * valid[:, :3] - 5 * (1 - valid[:, :3]), valid[:, :3]]))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 32, 32, 1)


def test_residual_model_starts_from_its_input(rng):
    # Untrained, a residual model's correction is zero: the output is the input's channel 0
    # (the classical fill), so a hybrid starts at the classical method's level.
    model = unet2d((32, 32, 2), depth=3, base_filters=4, residual=True)
    x = rng.random((1, 32, 32, 2)).astype("float32")
    valid = np.ones((1, 32, 32, 1), "float32")
    valid[:, 8:12] = 0
    np.testing.assert_allclose(np.asarray(model([x, valid])), x[..., :1], rtol=1e-6)


def test_save_load_and_fit_step(tmp_path, rng):
    model = pconv_unet2d((32, 32, 1), depth=3, base_filters=4)
    image, valid = _batch(rng, (4, 32, 32, 1))
    model.compile(keras.optimizers.Adam(1e-3), "mae")
    before = [w.copy() for w in model.get_weights()]
    model.fit([image * valid, valid], image, batch_size=4, epochs=1, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    path = tmp_path / "pconv.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded([image, valid])), np.asarray(model([image, valid])),
                               rtol=1e-5, atol=1e-6)


def test_freezing_encoder_batchnorm_keeps_its_statistics(rng):
    model = pconv_unet2d((32, 32, 1), depth=3, base_filters=4)
    assert freeze_encoder_batchnorm(model) == 2  # enc_bn_1, enc_bn_2 (none at level 0)
    model.compile(keras.optimizers.Adam(1e-2), "mae")
    enc = model.get_layer("enc_bn_1")
    dec = model.get_layer("dec_bn_1")
    enc_before = [keras.ops.convert_to_numpy(v) for v in enc.weights]
    dec_mean = keras.ops.convert_to_numpy(dec.moving_mean)
    image, valid = _batch(rng, (4, 32, 32, 1))
    model.fit([image * valid, valid], image, batch_size=2, epochs=1, verbose=0)
    assert len(enc_before) == 4  # gamma, beta, moving mean, moving variance
    for a, b in zip(enc_before, [keras.ops.convert_to_numpy(v) for v in enc.weights], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(dec_mean, keras.ops.convert_to_numpy(dec.moving_mean))
    # Without freezing, the same fit does move the encoder's statistics.
    other = pconv_unet2d((32, 32, 1), depth=2, base_filters=4)
    other.compile(keras.optimizers.Adam(1e-2), "mae")
    mean = keras.ops.convert_to_numpy(other.get_layer("enc_bn_1").moving_mean)
    other.fit([image * valid, valid], image, batch_size=4, epochs=1, verbose=0)
    assert not np.allclose(mean, keras.ops.convert_to_numpy(other.get_layer("enc_bn_1").moving_mean))


def test_any_size_when_spatial_dims_are_none(rng):
    model = pconv_unet2d((None, None, 1), depth=2, base_filters=4)
    assert spatial_multiple(model) == 4
    image, valid = _batch(rng, (1, 36, 20, 1))
    assert np.asarray(model([image, valid])).shape == (1, 36, 20, 1)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: unet2d((30, 32, 1), depth=3), r"divisible by 2\*\*depth = 8. Received input_shape=\(30, 32, 1\)"),
        (lambda: unet2d((32, 32), depth=3), r"input_shape of length 3.*Received input_shape=\(32, 32\)"),
        (lambda: pconv_unet3d((32, 32, 1)), r"input_shape of length 4, e.g. \(16, 64, 64, 1\)"),
        (lambda: pconv_unet2d((32, 32, 1), depth=0), r"Received depth=0"),
        (lambda: pconv_unet2d((32, 32, 1), base_filters=0), r"Received base_filters=0"),
        (lambda: pconv_unet2d((32, 32, 1), kernel_size=0), r"Received kernel_size=0"),
        (lambda: pconv_unet3d((4, 36, 32, 1), depth=3), r"divisible by 2\*\*depth = 8. Received input_shape=\(4, 36, 32, 1\)"),
    ],
)
def test_bad_arguments_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_composite_output_false_returns_the_raw_prediction(rng):
    image, valid = _batch(rng, (1, 32, 32, 1))
    model = pconv_unet2d((32, 32, 1), depth=2, base_filters=4, composite_output=False)
    y = np.asarray(model([image * valid, valid]))
    assert not np.allclose(y[valid == 1], image[valid == 1])


def test_short_sequences_with_spatial_only_downsampling(rng):
    model = pconv_unet3d((None, 32, 32, 1), depth=3, base_filters=4)
    for frames in (1, 3):
        image, valid = _batch(rng, (1, frames, 32, 32, 1))
        assert np.asarray(model([image, valid])).shape == (1, frames, 32, 32, 1)


def test_jit_compiled_fit_and_predict(rng):
    model = pconv_unet2d((16, 16, 1), depth=1, base_filters=4)
    model.compile(keras.optimizers.Adam(1e-3), "mae", jit_compile=True)
    image, valid = _batch(rng, (2, 16, 16, 1))
    history = model.fit([image * valid, valid], image, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    eager = np.asarray(model([image * valid, valid]))
    np.testing.assert_allclose(model.predict([image * valid, valid], verbose=0), eager,
                               rtol=1e-4, atol=1e-5)


def test_mixed_float16_model_close_to_float32(rng):
    image, valid = _batch(rng, (1, 32, 32, 1))
    ref_model = pconv_unet2d((32, 32, 1), depth=2, base_filters=4)
    ref = np.asarray(ref_model([image * valid, valid]))
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = pconv_unet2d((32, 32, 1), depth=2, base_filters=4)
        model.set_weights(ref_model.get_weights())
        y = np.asarray(model([image * valid, valid]))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert y.dtype == np.float32  # the output layers stay in float32
    np.testing.assert_array_equal(y[valid == 1], (image * valid)[valid == 1])
    np.testing.assert_allclose(y, ref, rtol=0, atol=3e-2)


def _randomise(model, rng):
    """Random kernels (the residual's last one starts at zero), batch norm left as built."""
    for w in model.weights:
        if w.path.endswith("kernel"):
            w.assign(rng.normal(0, 0.2, w.shape).astype("float32"))


def test_residual_scale_multiplies_the_correction(rng):
    x = rng.random((2, 32, 32, 2)).astype("float32")
    _, valid = _batch(rng, (2, 32, 32, 1))
    plain = unet2d((32, 32, 2), depth=2, base_filters=4, residual=True, composite_output=False)
    _randomise(plain, rng)
    scaled = unet2d((32, 32, 2), depth=2, base_filters=4, residual=True, residual_scale=0.1,
                    composite_output=False)
    scaled.set_weights(plain.get_weights())
    correction = np.asarray(plain([x, valid])) - x[..., :1]
    np.testing.assert_allclose(np.asarray(scaled([x, valid])) - x[..., :1], 0.1 * correction,
                               rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("build,shape", [
    (lambda: unet2d((32, 32, 2), depth=2, base_filters=4, residual=True, standardise=True,
                    residual_scale=0.5), (2, 32, 32, 2)),
    (lambda: unet3d((4, 32, 32, 2), depth=2, base_filters=4, residual=True, standardise=True),
     (1, 4, 32, 32, 2)),
])
def test_standardised_hybrid_follows_an_intensity_change(rng, build, shape):
    # model(a x + b) = a model(x) + b: one model for any intensity scale.
    model = build()
    _randomise(model, rng)
    x = rng.random(shape).astype("float32")
    valid = np.ones((*shape[:-1], 1), "float32")
    valid[..., 5:14, 3:12, :] = 0
    out = np.asarray(model([x, valid], training=False))
    moved = np.asarray(model([40.0 * x + 2.0, valid], training=False))
    assert np.abs(out - x[..., :1])[valid[..., 0] == 0].max() > 1e-3  # a real correction
    np.testing.assert_allclose(moved, 40.0 * out + 2.0, rtol=1e-3, atol=1e-2)
    np.testing.assert_array_equal(out[valid == 1], x[..., :1][valid == 1])


def test_standardised_hybrid_saves_and_loads(tmp_path, rng):
    model = unet2d((None, None, 2), depth=2, base_filters=4, residual=True, standardise=True,
                   residual_scale=0.1)
    _randomise(model, rng)
    x = rng.random((1, 32, 32, 2)).astype("float32")
    _, valid = _batch(rng, (1, 32, 32, 1))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded([x, valid])), np.asarray(model([x, valid])),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: unet2d((32, 32, 2), residual=True, residual_scale=0), r"Received residual_scale=0"),
    (lambda: unet2d((32, 32, 2), residual=True, residual_scale=float("nan")),
     r"Received residual_scale=nan"),
    (lambda: unet2d((32, 32, 2), standardise=True, intensity_channels=3),
     r"between 1 and the 2 input channels\. Received intensity_channels=3"),
])
def test_residual_options_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("build,expected", [
    (lambda: unet2d((128, 128, 1), depth=3, base_filters=4, residual=True, composite_output=False), 33),
    (lambda: pconv_unet2d((128, 128, 1), depth=3, base_filters=4, composite_output=False), 33),
    (lambda: unet2d((128, 128, 1), depth=2, base_filters=4, first_kernel_size=7,
                    composite_output=False), 19),
])
def test_receptive_field_is_where_the_gradient_reaches(rng, build, expected):
    import tensorflow as tf

    model = build()
    _randomise(model, rng)
    assert receptive_field(model) == expected
    x = tf.constant(rng.random((1, 128, 128, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        centre = model([x, tf.ones((1, 128, 128, 1))], training=False)[0, 64, 64, 0]
    columns = np.nonzero(np.abs(tape.gradient(centre, x).numpy()[0, ..., 0]).sum(0))[0]
    assert columns.max() - columns.min() + 1 == expected

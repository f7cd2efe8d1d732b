"""The U-Net family (xinpaint.models)."""

import keras
import numpy as np
import pytest

from xinpaint.models import (
    freeze_encoder_batchnorm,
    pconv_unet2d,
    pconv_unet3d,
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
        keep = valid[..., 0] == 1
        np.testing.assert_allclose(y[..., 0][keep], (image * valid)[..., 0][keep], rtol=1e-6)


def test_pconv_output_does_not_depend_on_hole_values_but_unet_does(rng):
    image, valid = _batch(rng, (2, 32, 32, 1))
    black = image * valid
    white = black + (1 - valid)
    pconv = pconv_unet2d((32, 32, 1), depth=3, base_filters=4)
    np.testing.assert_allclose(np.asarray(pconv([black, valid])),
                               np.asarray(pconv([white, valid])), rtol=1e-6, atol=1e-6)
    plain = unet2d((32, 32, 1), depth=3, base_filters=4, valid_as_channel=True)
    diff = np.abs(np.asarray(plain([black, valid])) - np.asarray(plain([white, valid])))
    assert diff[valid == 0].max() > 1e-3


def test_pconv3d_output_does_not_depend_on_hole_values(rng):
    image, valid = _batch(rng, (1, 4, 32, 32, 1))
    model = pconv_unet3d((4, 32, 32, 1), depth=2, base_filters=4)
    a = np.asarray(model([image * valid, valid]))
    b = np.asarray(model([image * valid + 7 * (1 - valid), valid]))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_residual_model_starts_from_its_input(rng):
    model = unet2d((32, 32, 2), depth=3, base_filters=4, residual=True)
    for layer in model.layers:  # a zero correction: the output is the input's channel 0
        if layer.name == "out_conv":
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
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
    assert freeze_encoder_batchnorm(model) == 2
    model.compile(keras.optimizers.Adam(1e-2), "mae")
    enc = model.get_layer("enc_bn_1")
    dec = model.get_layer("dec_bn_1")
    enc_before = [np.array(v) for v in enc.non_trainable_weights + enc.weights]
    dec_mean = np.array(dec.moving_mean)
    image, valid = _batch(rng, (4, 32, 32, 1))
    model.fit([image * valid, valid], image, batch_size=4, epochs=2, verbose=0)
    for a, b in zip(enc_before, [np.array(v) for v in enc.non_trainable_weights + enc.weights],
                    strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(dec_mean, np.array(dec.moving_mean))


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
    ],
)
def test_bad_arguments_name_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()

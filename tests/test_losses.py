"""Mask-aware losses against NumPy references (xinpaint.losses)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from xinpaint import losses, metrics


def _case(rng, shape=(2, 12, 14, 1)):
    target = rng.random(shape).astype("float32")
    prediction = rng.random(shape).astype("float32")
    holes = np.zeros(shape, bool)
    holes[..., 3:7, 4:9, :] = True
    holes[0, ..., 9, 1, :] = True  # an isolated hole pixel
    return target, prediction, (~holes).astype("float32")


def _tv_reference(target, prediction, valid, *, time=False):
    comp = valid * target + (1 - valid) * prediction
    holes = valid == 0
    flat = holes.reshape((-1, *holes.shape[-3:]))
    region = np.stack([np.stack([ndimage.binary_dilation(f[..., c], np.ones((3, 3)))
                                 for c in range(f.shape[-1])], -1) for f in flat])
    region = region.reshape(holes.shape)
    total = 0.0
    h_axis = comp.ndim - 3
    axes = [h_axis, h_axis + 1] + ([1] if time else [])
    for axis in axes:
        n = comp.shape[axis]
        a, b = np.take(comp, range(1, n), axis), np.take(comp, range(n - 1), axis)
        ra, rb = np.take(region, range(1, n), axis), np.take(region, range(n - 1), axis)
        total += np.sum(np.abs(a - b) * (ra & rb))
    return total / comp.size


def _gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c).astype(np.float64)
    return np.einsum("bnc,bnd->bcd", flat, flat) / (c * h * w)


def _extractor(seed=0):
    """A tiny random-weight conv net with two pooled outputs (a stand-in for VGG16)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    p1 = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(p1)
    p2 = keras.layers.MaxPooling2D()(x)
    model = keras.Model(inp, [p1, p2])
    model.trainable = False
    return model


def test_l1_terms_match_numpy(rng):
    t, p, v = _case(rng)
    assert float(losses.valid_l1(t, p, v)) == pytest.approx(np.mean(np.abs(v * (p - t))), rel=1e-5)
    assert float(losses.hole_l1(t, p, v)) == pytest.approx(np.mean(np.abs((1 - v) * (p - t))), rel=1e-5)
    assert float(losses.mae(t, p)) == pytest.approx(np.mean(np.abs(p - t)), rel=1e-5)
    assert float(losses.mse(t, p, v)) == pytest.approx(np.mean((p - t) ** 2), rel=1e-5)
    # the L1 terms are averaged over all elements: together they are the MAE
    total = float(losses.valid_l1(t, p, v) + losses.hole_l1(t, p, v))
    assert total == pytest.approx(float(losses.mae(t, p)), rel=1e-5)


@pytest.mark.parametrize("shape,time", [((2, 12, 14, 1), False), ((2, 3, 12, 14, 1), False),
                                        ((2, 3, 12, 14, 1), True), ((1, 10, 9, 2), False)])
def test_total_variation_matches_numpy(rng, shape, time):
    t, p, v = _case(rng, shape)
    expected = _tv_reference(t, p, v, time=time)
    assert float(losses.total_variation(t, p, v, time=time)) == pytest.approx(expected, rel=1e-5)


def test_total_variation_uses_the_hole_dilated_by_one_pixel(rng):
    t, p, v = _case(rng, (1, 12, 14, 1))
    base = float(losses.total_variation(t, p, v))
    just_outside = t.copy()
    just_outside[0, 2, 5, 0] += 0.5  # row 2 borders the hole rows 3..6
    assert float(losses.total_variation(just_outside, p, v)) != pytest.approx(base, rel=1e-6)
    far = t.copy()
    far[0, 11, 13, 0] += 0.5
    assert float(losses.total_variation(far, p, v)) == pytest.approx(base, rel=1e-6)
    # predictions outside the holes are replaced by the target in the composite
    outside = p.copy()
    outside[v == 1] = 0
    assert float(losses.total_variation(t, outside, v)) == pytest.approx(base, rel=1e-6)


def test_dilated_holes_is_a_3x3_dilation(rng):
    _, _, v = _case(rng, (2, 3, 12, 14, 1))
    expected = [ndimage.binary_dilation(f[..., 0] == 0, np.ones((3, 3))) for f in v.reshape(-1, 12, 14, 1)]
    got = np.asarray(losses.dilated_holes(v)).reshape(-1, 12, 14)
    np.testing.assert_array_equal(got, np.stack(expected))


def test_gram_perceptual_and_style_match_numpy(rng):
    f_out = [rng.random((2, 6, 5, 3)).astype("float32"), rng.random((2, 3, 2, 4)).astype("float32")]
    f_gt = [rng.random(f.shape).astype("float32") for f in f_out]
    f_comp = [rng.random(f.shape).astype("float32") for f in f_out]
    np.testing.assert_allclose(losses.gram_matrix(f_out[0]), _gram(f_out[0]), rtol=1e-5)
    perc = sum(np.mean(np.abs(o - g)) + np.mean(np.abs(c - g)) for o, g, c in zip(f_out, f_gt, f_comp, strict=True))
    sty = sum(np.mean(np.abs(_gram(o) - _gram(g))) + np.mean(np.abs(_gram(c) - _gram(g)))
              for o, g, c in zip(f_out, f_gt, f_comp, strict=True))
    assert float(losses.perceptual(f_out, f_gt, f_comp)) == pytest.approx(perc, rel=1e-5)
    assert float(losses.style(f_out, f_gt, f_comp)) == pytest.approx(sty, rel=1e-5)
    assert float(losses.style(f_out, f_gt)) == pytest.approx(
        sum(np.mean(np.abs(_gram(o) - _gram(g))) for o, g in zip(f_out, f_gt, strict=True)), rel=1e-5)
    with pytest.raises(ValueError, match=r"Received 2, 1 and None"):
        losses.perceptual(f_out, f_gt[:1])


def test_inpainting_loss_is_the_weighted_sum_of_its_terms(rng):
    t, p, v = _case(rng, (2, 16, 16, 1))
    extractor = _extractor()
    loss = losses.InpaintingLoss(feature_extractor=extractor)
    comp = v * t + (1 - v) * p
    fo, fc, fg = extractor(p), extractor(comp), extractor(t)
    expected = (float(losses.valid_l1(t, p, v)) + 6 * float(losses.hole_l1(t, p, v))
                + 0.05 * float(losses.perceptual(fo, fg, fc)) + 120 * float(losses.style(fo, fg, fc))
                + 0.1 * float(losses.total_variation(t, p, v)))
    assert float(loss(losses.pack_targets(t, v), p)) == pytest.approx(expected, rel=1e-4)
    only_hole = losses.InpaintingLoss(valid=0, hole=1, perceptual=0, style=0, tv=0,
                                      feature_extractor=extractor)
    assert float(only_hole(losses.pack_targets(t, v), p)) == pytest.approx(
        float(losses.hole_l1(t, p, v)), rel=1e-5)


@pytest.mark.parametrize("shape", [(2, 16, 16, 1), (1, 3, 16, 16, 1)])
def test_zero_when_prediction_equals_target_and_finite_gradients(rng, shape):
    t, p, v = _case(rng, shape)
    loss = losses.InpaintingLoss(feature_extractor=_extractor(), time_tv=len(shape) == 5)
    y = losses.pack_targets(t, v)
    # every term but TV is zero; TV is the paper's smoothness prior on the composite, so at
    # prediction == target it is the target's own TV (constant in the prediction)
    terms = loss.terms(t, t, v)
    assert all(float(terms[k]) == 0 for k in ("valid", "hole", "perceptual", "style"))
    tv = float(losses.total_variation(t, t, v, time=len(shape) == 5))
    assert float(loss(y, t)) == pytest.approx(0.1 * tv, rel=1e-6)
    no_tv = losses.InpaintingLoss(tv=0, feature_extractor=loss.feature_extractor)
    assert float(no_tv(y, t)) == 0.0
    # with the holes filled right, the hole and composite terms ignore what lies outside
    wrong_outside = np.where(v == 1, p, t)
    terms = loss.terms(t, wrong_outside, v)
    assert float(terms["hole"]) == 0 and float(terms["valid"]) > 0
    assert float(terms["tv"]) == pytest.approx(tv, rel=1e-6)
    pred = tf.Variable(p)
    with tf.GradientTape() as tape:
        value = loss(y, pred)
    grad = tape.gradient(value, pred).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


def test_feature_terms_respond_to_structure_not_only_mean_shift(rng):
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    t = (0.3 + 0.4 * np.sin(3 * xx) * yy)[None, ..., None].astype("float32")
    v = np.zeros_like(t)  # the whole frame is a hole: the composite is the prediction
    checker = 0.05 * (((np.indices((32, 32)).sum(0)) % 2) * 2 - 1)[None, ..., None]
    structured = (t + checker).astype("float32")  # same mean as the target
    shifted = (t + 0.05).astype("float32")  # same L1 error, no structure change
    assert float(losses.hole_l1(t, structured, v)) == pytest.approx(float(losses.hole_l1(t, shifted, v)))
    ex = _extractor(seed=3)
    fg = ex(t)
    for term in (losses.perceptual, losses.style):
        s = float(term(ex(structured), fg))
        assert s > 0
        assert s != pytest.approx(float(term(ex(shifted), fg)), rel=0.05)
    # a blur keeps the mean and changes the style
    blurred = ndimage.uniform_filter(t[0, ..., 0], 5)[None, ..., None].astype("float32")
    assert abs(blurred.mean() - t.mean()) < 1e-3
    assert float(losses.style(ex(blurred), fg)) > 0


def test_pack_unpack_round_trip_and_errors(rng):
    t, _, v = _case(rng)
    y = losses.pack_targets(t, v)
    assert isinstance(y, np.ndarray) and y.shape == (2, 12, 14, 2)
    a, b = losses.unpack_targets(y)
    np.testing.assert_array_equal(a, t)
    np.testing.assert_array_equal(b, v)
    y_tf = losses.pack_targets(tf.constant(t), v)
    np.testing.assert_array_equal(np.asarray(y_tf), y)
    with pytest.raises(ValueError, match=r"Received valid.shape=\(2, 12, 14, 2\)"):
        losses.pack_targets(t, np.concatenate([v, v], -1))
    with pytest.raises(ValueError, match=r"Received valid.dtype=bool"):
        losses.pack_targets(t, v == 1)
    with pytest.raises(ValueError, match=r"Received target.shape=\(12, 14\)"):
        losses.pack_targets(t[0, ..., 0], v[0, ..., 0])


def test_bad_arguments_name_the_value(rng):
    with pytest.raises(ValueError, match=r"Received hole=-1"):
        losses.InpaintingLoss(hole=-1)
    with pytest.raises(ValueError, match=r"Received feature_extractor=3"):
        losses.InpaintingLoss(feature_extractor=3)
    t, p, v = _case(rng)
    with pytest.raises(ValueError, match=r"time=True. Received target.shape=\(2, 12, 14, 1\)"):
        losses.total_variation(t, p, v, time=True)


def test_get_config_round_trip():
    loss = losses.InpaintingLoss(hole=3.0, tv=0.0, time_tv=True, feature_extractor=_extractor())
    config = loss.get_config()
    again = losses.InpaintingLoss.from_config(config)
    assert again.term_weights == loss.term_weights and again.time_tv
    assert [o.shape for o in again.feature_extractor.outputs] == [o.shape for o in loss.feature_extractor.outputs]
    rebuilt = keras.losses.deserialize(keras.losses.serialize(losses.InpaintingLoss(style=7.0)))
    assert isinstance(rebuilt, losses.InpaintingLoss) and rebuilt.term_weights["style"] == 7.0
    assert rebuilt.feature_extractor is None


@pytest.mark.parametrize("five_d", [False, True])
def test_fit_step_with_packed_targets(rng, five_d):
    keras.utils.set_random_seed(0)
    shape = (4, 3, 16, 16, 1) if five_d else (4, 16, 16, 1)
    t, _, v = _case(rng, shape)
    masked = t * v
    inp, inv = keras.Input(shape[1:]), keras.Input(shape[1:])
    conv = keras.layers.Conv3D if five_d else keras.layers.Conv2D
    out = conv(1, 3, padding="same")(keras.layers.Concatenate()([inp, inv]))
    model = keras.Model([inp, inv], out)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=losses.InpaintingLoss(feature_extractor=_extractor(), time_tv=five_d),
                  metrics=[metrics.keras_hole_psnr, metrics.keras_psnr])
    y = losses.pack_targets(t, v)
    before = model.evaluate([masked, v], y, verbose=0, return_dict=True)
    history = model.fit([masked, v], y, batch_size=2, epochs=3, verbose=0)
    after = model.evaluate([masked, v], y, verbose=0, return_dict=True)
    assert np.isfinite(history.history["loss"]).all()
    assert after["loss"] < before["loss"]
    pred = model.predict([masked, v], verbose=0)
    expected_loss = float(losses.InpaintingLoss(feature_extractor=model.loss.feature_extractor,
                                                time_tv=five_d)(y, pred))
    assert after["loss"] == pytest.approx(expected_loss, rel=1e-3)
    if not five_d:  # one evaluation batch: the Keras metric is the NumPy PSNR
        assert after["keras_psnr"] == pytest.approx(
            metrics.psnr(t[..., 0], pred[..., 0].astype("float64")), rel=1e-3)
    assert np.isfinite(after["keras_hole_psnr"])


@pytest.mark.parametrize("kind", ["mae", "mse"])
def test_pixel_loss_matches_numpy_and_ignores_the_mask(kind, rng):
    target = rng.random((2, 8, 8, 1)).astype("float32")
    pred = rng.random((2, 8, 8, 1)).astype("float32")
    valid = (rng.random((2, 8, 8, 1)) > 0.5).astype("float32")
    err = pred - target
    expected = np.abs(err).mean() if kind == "mae" else (err**2).mean()
    loss = losses.PixelLoss(kind)
    assert float(loss(losses.pack_targets(target, valid), pred)) == pytest.approx(expected, rel=1e-5)
    assert float(loss(losses.pack_targets(target, 1 - valid), pred)) == pytest.approx(expected, rel=1e-5)
    assert losses.PixelLoss.from_config(loss.get_config()).kind == kind
    with pytest.raises(ValueError, match=r"Received kind='l1'"):
        losses.PixelLoss("l1")

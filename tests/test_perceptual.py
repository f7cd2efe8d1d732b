"""VGG16 feature extractors (xinpaint.perceptual): no download anywhere."""

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from xinpaint import losses, perceptual


def _synthetic_sequences(seed, n=3, frames=6, size=64):
    """Frames with smooth backgrounds and three kinds of objects, with their masks."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = []
    for _ in range(n):
        f = np.empty((frames, size, size), np.float32)
        s = {k: np.zeros((frames, size, size), bool) for k in ("disc", "hbar", "vbar")}
        for t in range(frames):
            f[t] = 0.3 + 0.1 * np.sin(xx / rng.uniform(5, 15) + rng.uniform(0, 6))
            for _ in range(2):
                cy, cx = rng.integers(0, size, 2)
                s["disc"][t] |= (yy - cy) ** 2 + (xx - cx) ** 2 < rng.integers(16, 64)
                r0, c0 = rng.integers(0, size, 2)
                s["hbar"][t, r0:r0 + 3, :] = True
                s["vbar"][t, :, c0:c0 + 3] = True if rng.random() < 0.5 else s["vbar"][t, :, c0:c0 + 3]
            f[t][s["disc"][t]] += 0.3
            f[t][s["hbar"][t]] -= 0.15
            f[t][s["vbar"][t]] += 0.15
        out.append(SimpleNamespace(frames=np.clip(f, 0, 1), structures=s))
    return out


def test_random_features_have_vgg16_layers_and_are_frozen():
    model = perceptual.vgg16_features(weights=None)
    feats = model(np.random.default_rng(0).random((2, 32, 48, 1)).astype("float32"))
    assert [tuple(f.shape) for f in feats] == [(2, 16, 24, 64), (2, 8, 12, 128), (2, 4, 6, 256)]
    assert not model.trainable_weights and model.count_params() > 1.7e6
    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    trunk = perceptual.vgg16_trunk(5)
    assert [layer.name for layer in trunk.layers[1:]] == [layer.name for layer in reference.layers[1:]]
    assert [w.shape for w in trunk.weights] == [w.shape for w in reference.weights]
    one = perceptual.vgg16_features(weights=None, layers="block2_conv1")
    assert one.outputs[0].shape[-1] == 128 and len(one.outputs) == 1


def test_imagenet_normalisation_is_keras_preprocess_input(rng):
    x = rng.random((2, 8, 8, 1)).astype("float32")
    got = np.asarray(perceptual.VGGInput("imagenet")(x))
    expected = keras.applications.vgg16.preprocess_input(np.repeat(x, 3, -1) * 255.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    std = np.asarray(perceptual.VGGInput("standard", 0.4, 0.2)(x))
    np.testing.assert_allclose(std, (np.repeat(x, 3, -1) - 0.4) / 0.2, rtol=1e-5)


def test_imagenet_weights_are_copied_from_keras_vgg16(monkeypatch, rng):
    calls = []
    real = keras.applications.VGG16

    def fake(**kwargs):
        calls.append(kwargs["weights"])
        keras.utils.set_random_seed(7)
        return real(**{**kwargs, "weights": None})

    monkeypatch.setattr(keras.applications, "VGG16", fake)
    model = perceptual.vgg16_features(weights="imagenet")
    assert calls == ["imagenet"]
    source = fake(include_top=False, weights="imagenet", input_shape=(None, None, 3))
    np.testing.assert_array_equal(model.get_layer("block3_conv3").get_weights()[0],
                                  source.get_layer("block3_conv3").get_weights()[0])
    assert model.get_layer("vgg_preprocess").mode == "imagenet"
    # the loss can name the weights; the name survives get_config
    loss = losses.InpaintingLoss(feature_extractor="imagenet")
    again = losses.InpaintingLoss.from_config(loss.get_config())
    assert again.get_config()["feature_extractor"] == "imagenet"


def test_npz_weights_round_trip_with_normalisation(tmp_path):
    seqs = _synthetic_sequences(0, n=2, frames=2)
    out = tmp_path / "vgg.weights.npz"
    trunk, record = perceptual.train_xray_vgg(steps=1, patch_size=16, batch_size=4, out=out,
                                              sequences=seqs, val_sequences=seqs,
                                              groups=("disc", "hbar", "vbar"), n_patches=16)
    assert out.stat().st_size < 4e6
    assert json.loads((tmp_path / "vgg.json").read_text())["steps"] == 1
    model = perceptual.vgg16_features(weights=out)
    pre = model.get_layer("vgg_preprocess")
    assert (pre.mode, pre.mean, pre.std) == ("standard", pytest.approx(record["norm_mean"]),
                                              pytest.approx(record["norm_std"]))
    np.testing.assert_allclose(model.get_layer("block2_conv2").get_weights()[0],
                               trunk.get_layer("block2_conv2").get_weights()[0], rtol=1e-3, atol=1e-4)


def test_xray_weights_load_or_train_once_and_cache(monkeypatch, tmp_path):
    if perceptual.XRAY_WEIGHTS.is_file():
        assert perceptual.XRAY_WEIGHTS.stat().st_size <= 4 * 2**20
        model = perceptual.vgg16_features(weights="xray")
        record = json.loads(perceptual.XRAY_WEIGHTS.with_name("vgg16_xray.json").read_text())
        assert model.get_layer("vgg_preprocess").mean == pytest.approx(record["norm_mean"])
        assert record["heldout_accuracy"] > record["heldout_chance"]
        monkeypatch.setattr(perceptual, "XRAY_WEIGHTS", tmp_path / "absent.npz")
    monkeypatch.setenv("XINPAINT_DATA", str(tmp_path))
    calls = []

    def fake_train(*, steps, out, **kwargs):
        calls.append(out)
        trunk = perceptual.vgg16_trunk(3)
        perceptual._save_xray_weights(trunk, out, 0.3, 0.1)
        return trunk, {}

    monkeypatch.setattr(perceptual, "train_xray_vgg", fake_train)
    with pytest.warns(UserWarning, match="training them once"):
        perceptual.vgg16_features(weights="xray")
    assert calls == [tmp_path / "vgg16_xray.weights.npz"]
    model = perceptual.vgg16_features(weights="xray")  # cached: no second training
    assert len(calls) == 1 and model.get_layer("vgg_preprocess").std == pytest.approx(0.1)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"layers": ("block3_pool", "fc1")}, ValueError, r"Received layers=\('block3_pool', 'fc1'\)"),
        ({"layers": ()}, ValueError, r"Received layers=\(\)"),
        ({"weights": "xray", "layers": ("block4_pool",)}, ValueError, r"blocks 1–3 for the X-ray"),
        ({"weights": "no/such/file.npz"}, FileNotFoundError, r"weights='no/such/file.npz'"),
        ({"weights": 3}, ValueError, r"Received weights=3"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        perceptual.vgg16_features(**kwargs)


def test_training_arguments_and_patch_labels():
    seqs = _synthetic_sequences(1, n=1, frames=2)
    x, cov = perceptual.structure_patches(seqs, patch_size=16, n=50, groups=("disc", "hbar"))
    assert x.shape == (50, 16, 16, 1) and cov.shape == (50, 2) and 0 <= cov.min() and cov.max() <= 1
    uniform = np.random.default_rng(0).random((400, 2))
    assert np.all(np.abs((uniform > perceptual.balanced_thresholds(uniform)).mean(0) - 0.5) < 0.03)
    sparse = perceptual.balanced_thresholds(cov)  # mostly empty patches: "any of it" is best
    assert np.all(sparse == 0) and np.all((cov > 0).mean(0) < 0.5)
    always = perceptual.balanced_thresholds(np.r_[np.ones(70), np.full(30, 0.5)][:, None])
    assert (np.r_[np.ones(70), np.full(30, 0.5)] > always[0]).mean() in (0.7, 0.3)
    with pytest.raises(ValueError, match=r"without \['lungs'\]"):
        perceptual.structure_patches(seqs, groups=("disc", "lungs"))
    with pytest.raises(ValueError, match=r"Received patch_size=12"):
        perceptual.train_xray_vgg(steps=1, patch_size=12, sequences=seqs)
    with pytest.raises(ValueError, match=r"Received steps=0"):
        perceptual.train_xray_vgg(steps=0, sequences=seqs)


@pytest.mark.slow
def test_xray_vgg_learns_its_task():
    train, held = _synthetic_sequences(2, n=4, frames=8), _synthetic_sequences(3, n=2, frames=8)
    _, record = perceptual.train_xray_vgg(steps=150, patch_size=32, batch_size=16, seed=0,
                                          sequences=train, val_sequences=held,
                                          groups=("disc", "hbar", "vbar"), n_patches=1500,
                                          learning_rate=3e-4)
    assert record["heldout_accuracy"] > record["heldout_chance"] + 0.15, record


@pytest.mark.skipif(not perceptual.XRAY_WEIGHTS.is_file(), reason="no shipped X-ray weights")
def test_shipped_xray_features_drive_the_loss(rng):
    loss = losses.InpaintingLoss(feature_extractor="xray")
    assert losses.InpaintingLoss.from_config(loss.get_config()).get_config()["feature_extractor"] == "xray"
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    t = (0.3 + 0.2 * np.sin(6 * xx) * yy)[None, ..., None].astype("float32")
    v = np.ones_like(t)
    v[:, 20:44, 20:44] = 0
    stripes = t + (0.05 * np.sign(np.sin(np.arange(64) * 1.5)))[None, :, None, None].astype("float32")
    terms = loss.terms(t, stripes, v)
    assert float(terms["perceptual"]) > 0 and float(terms["style"]) > 0
    assert all(float(x) == 0 for k, x in loss.terms(t, t, v).items() if k != "tv")

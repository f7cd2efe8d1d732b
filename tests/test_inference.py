"""xinpaint.inference: dtypes, visible pixels, tiles and time windows, errors."""

import keras
import numpy as np
import pytest

from xinpaint.inference import inpaint, predict_sequence


def _smooth(shape, dtype=np.float32, scale=1.0):
    t, h, w = shape
    z, y, x = np.mgrid[:t, :h, :w].astype(np.float64)
    values = 0.5 + 0.3 * np.sin(x / 9.0 + z / 5.0) * np.cos(y / 11.0)
    return (values * scale).astype(dtype)


def _holes(shape):
    holes = np.zeros(shape, bool)
    holes[..., 10:14, 5:40] = True
    holes[..., 30:38, 30:38] = True
    return holes


@pytest.mark.parametrize("dtype,scale", [(np.uint8, 250), (np.uint16, 60000), (np.float16, 1),
                                         (np.float32, 1), (np.float64, 1000)])
def test_keeps_dtype_range_and_visible_pixels(dtype, scale):
    frames = _smooth((2, 48, 48), dtype, scale)
    holes = _holes(frames.shape)
    out = inpaint(frames, holes, model="biharmonic")
    assert out.dtype == frames.dtype and out.shape == frames.shape
    np.testing.assert_array_equal(out[~holes], frames[~holes])
    err = np.abs(out[holes].astype(np.float64) - frames[holes].astype(np.float64))
    assert err.mean() < 0.01 * scale


def test_corrupted_hole_values_do_not_matter():
    frames = _smooth((1, 40, 40))[0]
    holes = _holes(frames.shape)
    spoiled = frames.copy()
    spoiled[holes] = 1e6
    np.testing.assert_array_equal(inpaint(frames, holes), inpaint(spoiled, holes))


def _constant_model(value):
    image = keras.Input((None, None, 1))
    valid = keras.Input((None, None, 1))
    out = keras.layers.Lambda(lambda x: x * 0.0 + value)(image)
    return keras.Model([image, valid], out)


def test_tiles_blend_without_seams():
    frames = _smooth((1, 100, 90))[0]
    holes = np.zeros(frames.shape, bool)
    holes[::7, :] = True  # rows across every tile boundary
    out = inpaint(frames, holes, model=_constant_model(0.25), tile=32, overlap=8)
    lo, hi = frames[~holes].min(), frames[~holes].max()
    np.testing.assert_allclose(out[holes], lo + 0.25 * (hi - lo), rtol=1e-5)
    np.testing.assert_array_equal(out[~holes], frames[~holes])


def test_a_value_range_replaces_the_visible_min_max():
    frames = _smooth((1, 40, 40))[0] * 2.0 + 1.0  # visible values in about [1.4, 2.6]
    holes = _holes(frames.shape)
    out = inpaint(frames, holes, model=_constant_model(0.25), value_range=(0, 10))
    np.testing.assert_allclose(out[holes], 2.5, rtol=1e-6)
    np.testing.assert_array_equal(out[~holes], frames[~holes])


def test_empty_holes_give_a_copy_with_a_warning():
    frames = _smooth((1, 16, 16))[0]
    with pytest.warns(UserWarning, match="holes is empty"):
        out = inpaint(frames, np.zeros(frames.shape, bool))
    assert out is not frames
    np.testing.assert_array_equal(out, frames)


@pytest.mark.parametrize(
    "frames,holes,kwargs,match",
    [
        (np.zeros((4, 4, 4, 4)), np.zeros((4, 4, 4, 4), bool), {}, r"Received frames.shape=\(4, 4, 4, 4\)"),
        (np.zeros((8, 8)), np.zeros((8, 9), bool), {}, r"Received holes.shape=\(8, 9\)"),
        (np.zeros((8, 8)), np.zeros((8, 8), np.uint8), {}, r"got 0/1 numbers.*holes.dtype=uint8"),
        (np.zeros((8, 8)), np.full((8, 8), 0.5), {}, r"Received holes.dtype=float64"),
        (np.zeros((2, 8, 8)), np.stack([np.zeros((8, 8), bool), np.ones((8, 8), bool)]), {},
         r"holes covering all of frame 1"),
        (np.full((8, 8), np.nan), np.eye(8, dtype=bool), {}, r"NaN or infinity"),
        (np.zeros((8, 8)), np.eye(8, dtype=bool), {"model": "magic"}, r"Received model='magic'"),
        (np.zeros((8, 8)), np.eye(8, dtype=bool), {"tile": 0}, r"Received tile=0"),
        (np.zeros((8, 8)), np.eye(8, dtype=bool), {"value_range": (1, 0)},
         r"Received value_range=\(1, 0\)"),
        (np.zeros((8, 8)), np.eye(8, dtype=bool), {"value_range": (0, np.nan)},
         r"finite low < high"),
        (np.zeros((8, 8)), np.eye(8, dtype=bool), {"value_range": 3}, r"Received value_range=3"),
        (np.zeros((8, 8), bool), np.eye(8, dtype=bool), {}, r"frames.dtype=bool"),
    ],
)
def test_bad_input_names_the_argument(frames, holes, kwargs, match):
    with pytest.raises(ValueError, match=match):
        inpaint(frames, holes, **kwargs)


def test_a_hybrid_model_receives_the_biharmonic_fill():
    from xinpaint.models import unet2d

    frames = _smooth((2, 64, 64))
    holes = _holes(frames.shape)
    untrained = unet2d((None, None, 2), valid_as_channel=True, residual=True, depth=2,
                       base_filters=4)  # starts as the identity on channel 0: the fill
    out = inpaint(frames, holes, model=untrained, tile=48, overlap=8)
    np.testing.assert_allclose(out, inpaint(frames, holes, model="biharmonic"), atol=1e-6)


def test_models_with_other_channel_counts_are_refused():
    from xinpaint.models import unet2d

    frames = _smooth((1, 32, 32))[0]
    with pytest.raises(ValueError, match="Received a model with 3 channels"):
        inpaint(frames, _holes(frames.shape), model=unet2d((None, None, 3), depth=2, base_filters=4))


def test_images_smaller_than_the_overlap_are_one_tile():
    frames = _smooth((1, 24, 40))[0]
    holes = np.zeros(frames.shape, bool)
    holes[8:12, 10:30] = True
    out = inpaint(frames, holes, model=_constant_model(0.5), tile=256, overlap=32)
    lo, hi = frames[~holes].min(), frames[~holes].max()
    np.testing.assert_allclose(out[holes], lo + 0.5 * (hi - lo), rtol=1e-5)


def test_shipped_models_have_cards_and_inpaint_by_name():
    from xinpaint.inference import shipped_models

    shipped = shipped_models()
    assert {"pconv2d", "hybrid2d"} <= set(shipped)
    frames = _smooth((2, 64, 64))
    holes = _holes(frames.shape)
    reference = inpaint(frames, holes, model="biharmonic")
    for name, card in shipped.items():
        assert card["profile"] in ("cpu", "gpu") and card["steps"] > 0
        assert {"hole_psnr", "n_frames"} <= set(card["test"]) and "hole_psnr" in card["test_biharmonic"]
        out = inpaint(frames, holes, model=name)
        np.testing.assert_array_equal(out[~holes], frames[~holes])
        assert np.isfinite(out[holes]).all()
        if card["variant"] in ("hybrid", "hybrid3d"):  # a correction of the biharmonic fill, not a new fill
            assert np.abs(out[holes] - reference[holes]).mean() < 0.02


def _window_model(length, *, value=None, centre=False):
    """A 2D+T stand-in with a known output: its image (or a constant), all frames or the centre."""
    image = keras.Input((length, None, None, 1))
    valid = keras.Input((length, None, None, 1))
    out = image if value is None else keras.layers.Lambda(lambda v: v * 0.0 + value)(valid)
    if centre:
        out = keras.layers.Lambda(lambda v: v[:, length // 2])(out)
    return keras.Model([image, valid], out)


@pytest.mark.parametrize("centre", [False, True])
@pytest.mark.parametrize("count", [11, 3])  # longer and shorter than a window
def test_windows_blend_without_seams_in_time_and_space(centre, count):
    frames = _smooth((count, 40, 36))
    valid = np.ones_like(frames)
    echo = predict_sequence(_window_model(5, centre=centre), frames, valid, tile=16, overlap=4,
                            batch_size=10)  # two windows of 5 frames per call
    np.testing.assert_allclose(echo, frames, rtol=1e-6)
    constant = predict_sequence(_window_model(4, value=0.3, centre=centre), frames, valid,
                                tile=16, overlap=4, batch_size=2)
    np.testing.assert_allclose(constant, 0.3, rtol=1e-6)


def test_the_centre_frame_sees_its_neighbours_mirrored_at_the_ends():
    length = 5
    image = keras.Input((length, None, None, 1))
    valid = keras.Input((length, None, None, 1))
    mean = keras.layers.Lambda(lambda v: keras.ops.mean(v, axis=1))(image)  # mean of the window
    frames = np.arange(6, dtype=np.float32)[:, None, None] * np.ones((6, 8, 8), np.float32)
    out = predict_sequence(keras.Model([image, valid], mean), frames, np.ones_like(frames))
    # frame 0 sees 1, 0, [0], 1, 2 (symmetric mirror); frame 3 sees 1..5
    np.testing.assert_allclose(out[:, 0, 0], [0.8, 1.2, 2, 3, 3.8, 4.2], rtol=1e-6)


@pytest.mark.parametrize("centre", [False, True])
def test_inpaint_with_a_2d_t_model(centre):
    frames = _smooth((7, 40, 40), np.uint16, 50000)
    holes = _holes(frames.shape)
    out = inpaint(frames, holes, model=_window_model(4, value=0.5, centre=centre), tile=32,
                  overlap=8, batch_size=2)
    lo, hi = frames[~holes].min(), frames[~holes].max()
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[~holes], frames[~holes])
    np.testing.assert_allclose(out[holes], np.rint(lo + 0.5 * (float(hi) - lo)), atol=1)
    with pytest.raises(ValueError, match=r"A 2D\+T model needs a sequence"):
        inpaint(frames[0], holes[0], model=_window_model(4, centre=centre))


def test_classical_inpaint_imports_no_tensorflow():
    """``import xinpaint`` and a classical inpaint never start TensorFlow or Keras."""
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, xinpaint\n"
        "frames = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)\n"
        "holes = np.zeros(frames.shape, bool); holes[:, 10:14, 8:20] = True\n"
        "for model in ('biharmonic', 'linear', 'temporal'):\n"
        "    xinpaint.inpaint(frames, holes, model=model)\n"
        "xinpaint.inpaint(frames[0], holes[0], model='telea')\n"
        "xinpaint.inference.shipped_models()\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
    assert out.stderr == ""


def test_progress_frame_by_frame_gives_the_same_result(capsys):
    frames = _smooth((3, 40, 40), np.uint16, 60000)
    holes = _holes(frames.shape)
    quiet = inpaint(frames, holes, model="biharmonic")
    shown = inpaint(frames, holes, model="biharmonic", progress=True)
    np.testing.assert_array_equal(quiet, shown)
    assert "3/3" in capsys.readouterr().err  # tqdm's bar over the frames


def test_a_frame_stack_model_inpaints_a_sequence_as_in_the_study(rng):
    # `xinpaint inpaint` with a frame-stack hybrid gives what the chapters evaluate.
    from tests.test_experiments import TINY, _perturbed, _sequences
    from xinpaint.experiments import build_variant, variant_method

    seq = _sequences(1, rng, frames=6)[0]
    model = _perturbed(build_variant("hybrid-stack", TINY))
    expected = variant_method("hybrid-stack", model, batch_size=2)(seq.frames, seq.holes)
    out = inpaint(seq.frames, seq.holes, model=model, value_range=(0.0, 1.0), tile=64, overlap=0)
    np.testing.assert_allclose(out, expected, atol=2e-5)
    assert np.abs(out - seq.frames)[seq.holes].max() > 1e-3


def test_the_default_model_is_the_recommended_one_else_biharmonic():
    from xinpaint.inference import recommended_model

    cards = {"a": {"recommended": False, "test": {"hole_psnr": 50.0}},
             "b": {"recommended": True, "test": {"hole_psnr": 42.0}},
             "c": {"recommended": True, "test": {"hole_psnr": 43.0}}}
    assert recommended_model(cards) == "c"
    assert recommended_model({"a": cards["a"]}) == "biharmonic"
    assert recommended_model({}) == "biharmonic"

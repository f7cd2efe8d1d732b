"""The model variants of the chapters (xinpaint.experiments), at toy sizes."""

import dataclasses

import numpy as np
import pytest

from xinpaint.data import XraySequence
from xinpaint.experiments import (
    HYBRIDS,
    PRIOR_GUIDED,
    RAW_OUTPUT,
    VARIANTS,
    VARIANTS_3D,
    build_variant,
    run_config,
    run_name,
    train_variant,
    variant_method,
)
from xinpaint.profiles import get_profile

TINY = get_profile("smoke").replace(
    name="smoke", epochs=2, steps_per_epoch=2, finetune_epochs=1, batch_size=2, crop_size=32,
    patch_shape=(4, 32, 32), patch_batch_size=2, base_filters=4, depth=2, val_batches=1,
    learning_rates=(1e-3, 2e-4),
)


def _sequences(n, rng, frames=6, size=32):
    yy, xx = np.mgrid[:size, :size] / size
    out = []
    for i in range(n):
        t = np.arange(frames)[:, None, None] / frames
        stack = (0.4 + 0.2 * np.sin(3 * xx + t + i) * np.cos(2 * yy)).astype(np.float32)
        holes = np.zeros(stack.shape, bool)
        for k in range(frames):
            x0 = 8 + k + int(rng.integers(0, 4))
            holes[k, 6:26, x0:x0 + 3] = True
        # A prior that knows the anatomy under the holes, blurred (as a reconstruction's is).
        prior = (0.4 + 0.18 * np.sin(3 * xx + t + i + 0.1) * np.cos(2 * yy)).astype(np.float32)
        out.append(XraySequence(stack, holes, np.arange(frames, dtype=float),
                                np.zeros(stack.shape, bool), prior=prior))
    return out


def _fill(variant, model, seq, frames=None, **options):
    """The variant's method on ``seq`` (its prior passed where the variant takes one)."""
    fill = variant_method(variant, model, **options)
    extra = {"prior": seq.prior} if "prior" in getattr(fill, "inputs", ()) else {}
    return fill(seq.frames if frames is None else frames, seq.holes, **extra)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("XINPAINT_RUNS", str(tmp_path))
    return tmp_path


def test_unknown_variant_names_the_value():
    with pytest.raises(ValueError, match=r"Received variant='pconv4d'"):
        build_variant("pconv4d", TINY)


@pytest.mark.parametrize("variant", VARIANTS_3D)
def test_3d_variants_train_and_fill_whole_sequences(variant, runs, rng):
    train, val, test = _sequences(2, rng), _sequences(1, rng), _sequences(1, rng, frames=7)
    result = train_variant(variant, TINY, train=train, val=val)
    assert result.steps == TINY.total_steps
    assert np.isfinite(result.history["loss"]).all()
    fill = variant_method(variant, result.model, batch_size=2)
    out = fill(np.where(test[0].holes, 0, test[0].frames), test[0].holes)
    assert out.shape == test[0].frames.shape and np.isfinite(out).all()
    np.testing.assert_array_equal(out[~test[0].holes], test[0].frames[~test[0].holes])
    again = train_variant(variant, TINY, train=train, val=val)
    assert again.loaded


def test_second_stages_start_from_pconv_mask_and_differ_by_their_loss(runs, rng):
    train, val = _sequences(2, rng), _sequences(1, rng)
    first = train_variant("pconv-mask", TINY, train=train, val=val)
    vgg = train_variant("pconv-vgg", TINY, train=train, val=val)
    assert vgg.steps == first.steps + TINY.finetune_epochs * TINY.steps_per_epoch
    assert len(vgg.history["loss"]) == TINY.epochs + TINY.finetune_epochs
    assert vgg.history["loss"][: TINY.epochs] == first.history["loss"]
    frozen = [layer.name for layer in vgg.model.layers
              if layer.name.startswith("enc_bn_") and not layer.trainable]
    assert frozen, "the encoder's batch norm is frozen in the second stage"


def test_every_variant_builds(rng):
    for variant in VARIANTS:
        model = build_variant(variant, TINY)
        assert model.count_params() > 0


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v not in ("unet-mae", "unet-mse")])
def test_l_valid_trains_every_variant_but_the_hybrids_which_paste_the_known_pixels_back(variant, rng):
    # Liu et al.'s L_valid is taken on the raw prediction: a model that pasted the known
    # pixels back would give it no gradient (its value: the noise of the visible pixels).
    import tensorflow as tf

    from xinpaint.losses import valid_l1

    model = _perturbed(build_variant(variant, TINY))
    shape = (2, *(d or 16 for d in model.inputs[0].shape[1:]))
    image = rng.random(shape).astype("float32")
    valid = np.ones((*shape[:-1], 1), "float32")
    valid[..., 4:12, 6:9, :] = 0.0
    target = (image[..., :1] + rng.normal(0, 0.01, valid.shape)).astype("float32")
    if len(model.outputs[0].shape) < len(shape):  # many-to-one: the centre frame
        centre = shape[1] // 2
        target, valid_out = target[:, centre], valid[:, centre]
    else:
        valid_out = valid
    with tf.GradientTape() as tape:
        loss = valid_l1(target, model([image * valid, valid], training=True), valid_out)
    grads = tape.gradient(loss, model.trainable_weights)
    largest = max(float(tf.reduce_max(tf.abs(g))) for g in grads if g is not None)
    if variant in HYBRIDS:
        assert largest == 0.0
    else:
        assert variant in RAW_OUTPUT and largest > 1e-6
        assert run_config(variant, TINY)["output"] == "raw"


@pytest.mark.parametrize("variant, kind", [
    ("pconv-mask", "2D"), ("hybrid", "hybrid (biharmonic fill + learned correction), 2D"),
    ("pconv3d", "2D+T"), ("hybrid3d", "hybrid (biharmonic fill + learned correction), 2D+T"),
    ("hybrid-stack", "hybrid (biharmonic fill + learned correction), 2D+T (frame stack)"),
])
def test_model_kind_names_the_dimensions(variant, kind):
    from xinpaint.shipping import model_kind

    assert model_kind(variant) == kind


def test_ship_variant_writes_a_loadable_model_and_its_card(runs, rng, tmp_path):
    import json

    from xinpaint.inference import inpaint
    from xinpaint.shipping import ship_variant

    train, val = _sequences(2, rng), _sequences(1, rng)
    record = {"rows": [{"method": "hybrid", "hole_psnr": 41.5, "n_frames": 8},
                       {"method": "biharmonic", "hole_psnr": 41.0, "n_frames": 8}]}
    (tmp_path / "pconv.json").write_text(json.dumps(record))
    path = ship_variant("hybrid2d", TINY, train=train, val=val, results=tmp_path,
                        out_dir=tmp_path / "weights")
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["variant"] == "hybrid" and card["profile"] == "smoke"
    assert card["test"]["hole_psnr"] == 41.5 and card["test_biharmonic"]["hole_psnr"] == 41.0
    assert card["kind"].startswith("hybrid")
    selection = card["selection"]
    assert card["steps"] == selection["epoch"] * TINY.steps_per_epoch
    assert set(selection["candidates"]) == {f"{r:g}" for r in TINY.learning_rates}
    frames, holes = train[0].frames, train[0].holes
    out = inpaint(frames, holes, model=str(path))
    np.testing.assert_array_equal(out[~holes], frames[~holes])
    with pytest.raises(ValueError, match="Received name='unet9'"):
        ship_variant("unet9", TINY, train=train, val=val)
    with pytest.raises(FileNotFoundError, match="No recorded results of chapter 'pconv'"):
        ship_variant("pconv2d", TINY, train=train, val=val, results=tmp_path / "none")


def test_a_profile_changed_in_its_sizes_never_trains_over_the_named_profile_s_runs(runs, rng):
    cpu = get_profile("cpu")
    assert run_name("hybrid", cpu) == "2d-hybrid" and run_name("pconv3d", "cpu") == "3d-pconv3d"
    assert run_name("hybrid-stack", cpu) == "2dt-hybrid-stack"
    assert run_name("hybrid", cpu.replace(crop_size=64)) == "2d-hybrid-crop_size64"
    assert run_name("hybrid", cpu.replace(crop_size=64, depth=3)) == "2d-hybrid-depth3-crop_size64"
    assert run_name("hybrid", cpu.replace(patch_shape=(4, 32, 32))) == "2d-hybrid"  # not a 2D size
    assert run_name("hybrid3d", cpu.replace(patch_shape=(4, 32, 32))) == "3d-hybrid3d-patch_shape4x32x32"
    many = cpu.replace(crop_size=64, depth=3, base_filters=8)
    assert run_name("hybrid", many).startswith("2d-hybrid-sizes") and \
        run_name("hybrid", many) != run_name("hybrid", many.replace(base_filters=4))
    assert run_name("hybrid", cpu.replace(epochs=1)) == "2d-hybrid"  # a cap continues the run
    train, val = _sequences(2, rng), _sequences(1, rng)
    small = TINY.replace(learning_rates=(1e-3,))
    first = train_variant("hybrid", small, train=train, val=val)
    other = train_variant("hybrid", small.replace(crop_size=16), train=train, val=val)
    assert not other.loaded and len(list(runs.iterdir())) == 2
    assert train_variant("hybrid", small, train=train, val=val).loaded  # untouched by the other
    assert first.history["loss"] != other.history["loss"]


def test_a_run_depends_only_on_the_profile_fields_of_its_kind():
    from xinpaint.experiments import run_config

    other_patches = TINY.replace(patch_shape=(8, 32, 32), patch_batch_size=5)
    assert run_config("hybrid", TINY) == run_config("hybrid", other_patches)
    assert run_config("hybrid3d", TINY) != run_config("hybrid3d", other_patches)
    assert run_config("hybrid", TINY) != run_config("hybrid", TINY.replace(crop_size=64))
    # The caps are not part of a run: a higher cap continues a run stopped at the lower one.
    assert run_config("pconv-vgg", TINY) == run_config("pconv-vgg", TINY.replace(finetune_epochs=3))
    assert run_config("hybrid", TINY) == run_config("hybrid", TINY.replace(epochs=9))
    assert run_config("hybrid", TINY) != run_config("hybrid", TINY.replace(patience=9))


@pytest.mark.parametrize("variant,folder", [("hybrid", "2d-hybrid"), ("unet-mae", "2d-unet-mae"),
                                            ("hybrid-stack", "2dt-hybrid-stack"),
                                            ("hybrid-prior", "2d-hybrid-prior"),
                                            ("hybrid-stack-prior", "2dt-hybrid-stack-prior")])
def test_every_variant_chooses_rate_and_epoch_on_val_by_one_rule(variant, folder, runs, rng):
    train, val = _sequences(2, rng), _sequences(1, rng)
    best = train_variant(variant, TINY, train=train, val=val)
    assert set(best.candidates) == set(TINY.learning_rates)
    assert best.best_val_loss == min(c["best_val_loss"] for c in best.candidates.values())
    assert best.candidates[best.learning_rate]["best_epoch"] == best.best_epoch
    assert 0 <= best.best_epoch <= TINY.epochs
    assert best.stopped in ("plateau", "cap")
    # The learning curves of every variant: train and val loss and val hole PSNR per epoch.
    assert {"loss", "val_loss", "hole_psnr", "val_hole_psnr"} <= set(best.history)
    assert len(best.history["val_hole_psnr"]) == best.epoch
    assert {"val_loss", "val_hole_psnr", "val_hole_mse"} <= set(best.initial)  # epoch 0
    if best.best_epoch == 0:
        assert best.best_val_loss == pytest.approx(best.initial["val_hole_mse"])
    else:
        assert best.best_val_loss == pytest.approx(best.history["val_hole_mse"][best.best_epoch - 1])
    stem = run_name(variant, TINY)
    assert stem.startswith(f"{folder}-sizes")  # TINY changes many sizes of the smoke profile
    assert sorted(p.name for p in runs.iterdir()) == [f"{stem}-lr{r:g}-smoke"
                                                      for r in sorted(TINY.learning_rates)]
    again = train_variant(variant, TINY, train=train, val=val)
    assert again.loaded and again.learning_rate == best.learning_rate
    seq = _sequences(1, rng)[0]
    np.testing.assert_array_equal(_fill(variant, again.model, seq), _fill(variant, best.model, seq))


def _perturbed(model, seed=1):
    """``model`` with every weight moved at random (a last layer at zero would hide a bug)."""
    gen = np.random.default_rng(seed)
    for w in model.weights:
        if w.trainable:
            w.assign(np.asarray(w) + gen.normal(0, 0.05, w.shape).astype("float32"))
    return model


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_follows_an_affine_change_of_its_input(variant, rng):
    # One footing: standardised by the visible pixels and mapped back, so that
    # f(a * x + b) = a * f(x) + b for every variant (a > 0), whatever the holes held.
    seq = _sequences(1, rng, frames=8)[0]
    model = _perturbed(build_variant(variant, TINY))
    out = _fill(variant, model, seq, batch_size=2)
    other = dataclasses.replace(seq, prior=3.0 * seq.prior + 2.0)  # a prior is an intensity too
    changed = _fill(variant, model, other, np.where(seq.holes, 7.0, 3.0 * seq.frames + 2.0), batch_size=2)
    np.testing.assert_allclose(changed, 3.0 * out + 2.0, rtol=1e-4, atol=2e-5)
    assert np.abs(out - seq.frames)[seq.holes].max() > 1e-3  # the holes were filled, not kept


@pytest.mark.parametrize("variant", HYBRIDS)
def test_an_untrained_prior_guided_hybrid_is_its_classical_fill(variant, rng):
    from xinpaint.baselines import inpaint
    from xinpaint.models import HYBRID_FILL

    seq = _sequences(1, rng, frames=8)[0]
    out = _fill(variant, build_variant(variant, TINY), seq, batch_size=2)
    expected = inpaint(seq.frames, seq.holes, method=HYBRID_FILL)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("variant", PRIOR_GUIDED)
def test_a_prior_guided_hybrid_sees_the_prior_and_needs_it(variant, rng):
    seq = _sequences(1, rng, frames=4)[0]
    model = _perturbed(build_variant(variant, TINY))
    out = _fill(variant, model, seq, batch_size=2)
    other = _fill(variant, model, dataclasses.replace(seq, prior=seq.prior[:, ::-1].copy()),
                  batch_size=2)
    assert np.abs(out - other)[seq.holes].max() > 1e-4  # another prior, another fill
    np.testing.assert_array_equal(out[~seq.holes], other[~seq.holes])
    fill = variant_method(variant, model)
    plain = variant.replace("-prior", "")
    assert fill.inputs == ("prior",) and not hasattr(variant_method(plain, model), "inputs")
    with pytest.raises(ValueError, match=r"Received prior with shape=None"):
        fill(seq.frames, seq.holes)
    with pytest.raises(ValueError, match=r"Received prior with shape=\(4, 32\)"):
        fill(seq.frames, seq.holes, prior=seq.prior[:, 0])


def _records(model_holes, model_volume, nmar_volume=40.0):
    record = {"rows": [{"method": "hybrid", "hole_psnr": model_holes},
                       {"method": "biharmonic", "hole_psnr": 41.0}]}
    volume = {"rows": [{"method": "nmar", "hole_psnr": 38.0}],
              "volume_summary": [
                  {"method": m, "scenario": "overall", "volume_psnr": v}
                  for m, v in (("hybrid", model_volume), ("biharmonic", 40.5), ("nmar", nmar_volume))]
              + [{"method": "hybrid", "scenario": "fusion", "volume_psnr": 99.0}]}
    return record, volume


@pytest.mark.parametrize("holes,volume,expected", [(42.0, 41.0, True), (42.0, 40.2, False),
                                                   (40.9, 41.0, False)])
def test_only_a_model_that_beats_biharmonic_and_nmar_in_both_domains_is_recommended(
        holes, volume, expected):
    from xinpaint.shipping import recommendation

    record, volume_record = _records(holes, volume)
    result = recommendation("hybrid", record, volume_record)
    assert result["recommended"] is expected
    assert result["volume_psnr"] == {"hybrid": volume, "biharmonic": 40.5, "nmar": 40.0}
    assert result["hole_psnr"]["nmar"] == 38.0
    assert result["why"].startswith("beats" if expected else "does not beat")


def test_the_holes_are_compared_on_the_same_whole_scans_where_the_volume_record_has_them():
    from xinpaint.shipping import recommendation

    record, volume_record = _records(42.0, 41.0)  # the chapter: 42 against biharmonic's 41
    volume_record["rows"] += [{"method": "hybrid2d", "hole_psnr": 39.0},
                              {"method": "biharmonic", "hole_psnr": 39.5}]
    for row in volume_record["volume_summary"]:
        row["method"] = "hybrid2d" if row["method"] == "hybrid" else row["method"]
    result = recommendation("hybrid", record, volume_record, volume_method="hybrid2d")
    assert result["hole_psnr"] == {"hybrid": 39.0, "biharmonic": 39.5, "nmar": 38.0}
    assert result["recommended"] is False and result["holes_from"].startswith("the reconstruction")
    assert recommendation("hybrid", record, volume_record)["holes_from"].startswith("the model's chapter")


def test_a_model_not_evaluated_in_the_volume_is_not_recommended():
    from xinpaint.shipping import recommendation

    record, _ = _records(45.0, 45.0)
    result = recommendation("hybrid", record, None)
    assert result["recommended"] is False
    assert result["why"] == ("not compared on the test split: no result for nmar (holes), "
                             "hybrid (volume), biharmonic (volume), nmar (volume)")


def test_the_volume_is_read_under_the_shipped_name():
    from xinpaint.shipping import recommendation

    record, volume_record = _records(42.0, 41.0)
    for row in volume_record["volume_summary"]:
        row["method"] = "hybrid2d" if row["method"] == "hybrid" else row["method"]
    assert recommendation("hybrid", record, volume_record)["recommended"] is False
    assert recommendation("hybrid", record, volume_record, volume_method="hybrid2d")["recommended"]


def test_a_shipped_model_trained_before_its_chapter_s_record_is_named(tmp_path):
    import json

    from xinpaint.shipping import shipped_behind

    folder = tmp_path / "cpu"
    folder.mkdir()
    (folder / "pconv.json").write_text(json.dumps({"rows": [
        {"method": "pconv-mask", "hole_psnr": 41.2}, {"method": "hybrid", "hole_psnr": 40.79}]}))
    cards = {"pconv2d": {"profile": "cpu", "test": {"hole_psnr": 31.9}},
             "hybrid2d": {"profile": "cpu", "test": {"hole_psnr": 40.79}},
             "hybrid3d": {"profile": "cpu", "test": {"hole_psnr": 40.0}},  # temporal: not recorded
             "mine": {"profile": "cpu", "test": {"hole_psnr": 1.0}}}  # not a shipped name
    assert shipped_behind(folder, cards) == {
        "pconv2d": {"variant": "pconv-mask", "chapter": "pconv", "shipped": 31.9, "recorded": 41.2}}
    assert shipped_behind(tmp_path / "smoke", cards) == {}  # other profile's cards


def test_the_training_table_says_which_epoch_was_kept_and_its_val_psnr():
    from xinpaint.experiments import training_table
    from xinpaint.training import TrainResult

    history = {"loss": [1.0, 0.8, 0.9], "val_hole_psnr": [40.0, 41.0, 40.5]}
    first = TrainResult(model=None, history=history, steps=300, best_epoch=2, stopped="plateau",
                        epoch=3, initial={"val_hole_psnr": 39.0}, cpu_seconds=120.0)
    fill = TrainResult(model=None, history=history, steps=300, best_epoch=0, stopped="plateau",
                       epoch=3, initial={"val_hole_psnr": 39.5})
    second = TrainResult(model=None, history={k: [*v, 41.5, 41.2] for k, v in history.items()},
                         steps=500, best_epoch=1, stopped="cap", epoch=2)
    second.first_stage = first
    rows = {r["model"]: r for r in training_table({"a": first, "fill": fill, "two": second})}
    assert rows["a"]["epoch kept"] == 2 and rows["a"]["val hole PSNR at kept epoch"] == 41.0
    assert rows["a"]["CPU min"] == 2.0
    assert rows["fill"]["val hole PSNR at kept epoch"] == 39.5  # epoch 0: the untrained model
    assert rows["two"]["epoch kept"] == "2 + 1" and rows["two"]["epochs"] == "3 + 2"
    assert rows["two"]["val hole PSNR at kept epoch"] == 41.5
    second.best_epoch = 0  # the second stage kept its start: the first stage's kept epoch
    assert training_table({"two": second})[0]["val hole PSNR at kept epoch"] == 41.0


def test_a_second_stage_is_another_run_when_its_first_stage_kept_another_epoch(runs, rng):
    train, val = _sequences(2, rng), _sequences(1, rng)
    small = TINY.replace(learning_rates=(1e-3,), epochs=1)
    first = train_variant("pconv-mask", small, train=train, val=val)
    second = train_variant("pconv-mask-2stage", small, train=train, val=val)
    assert train_variant("pconv-mask-2stage", small, train=train, val=val).loaded
    # A higher cap continues the first stage; where it keeps another epoch, the second
    # stage starts from other weights and is trained again.
    longer = train_variant("pconv-mask", small.replace(epochs=3), train=train, val=val)
    again = train_variant("pconv-mask-2stage", small.replace(epochs=3), train=train, val=val)
    assert (again.loaded, longer.best_epoch != first.best_epoch) in ((False, True), (True, False))
    assert again.first_stage.best_epoch == longer.best_epoch
    assert second.first_stage.best_epoch == first.best_epoch


@pytest.mark.parametrize(("variant", "xla_2d", "expected"), [
    ("hybrid", True, True), ("pconv-mask", False, False), ("hybrid-stack", True, True),
    ("hybrid3d", True, "auto"), ("pconv3d", False, "auto"),
])
def test_xla_follows_the_profile_for_the_2d_models_only_and_every_model_validates_on_as_many_windows(
        variant, xla_2d, expected, runs, rng, monkeypatch):
    import xinpaint.training

    seen = []
    real = xinpaint.training.train

    def spy(*args, **kwargs):
        seen.append((kwargs["jit_compile"], kwargs["validation_steps"]))
        return real(*args, **{**kwargs, "jit_compile": False, "validation_steps": 1})

    monkeypatch.setattr(xinpaint.training, "train", spy)
    prof = TINY.replace(xla_2d=xla_2d, epochs=1, steps_per_epoch=1, val_batches=3, batch_size=8,
                        patch_batch_size=2)
    train_variant(variant, prof, train=_sequences(1, rng), val=_sequences(1, rng))
    # 3 batches of 8 crops, or 12 batches of 2 patches: 24 validation windows either way
    steps = 12 if variant in VARIANTS_3D else 3
    assert seen == [(expected, steps)] * len(TINY.learning_rates)
    windows = run_config(variant, prof).get("val_windows")
    assert windows == (24 if variant in VARIANTS_3D else None)
    assert run_config(variant, prof.replace(batch_size=4)).get("val_windows") == (
        12 if variant in VARIANTS_3D else None)


def test_jit_compile_of_follows_the_profile_for_2d_and_leaves_2dt_to_keras():
    from xinpaint.experiments import jit_compile_of

    cpu = get_profile("cpu")
    assert jit_compile_of("hybrid", cpu) is True and jit_compile_of("pconv-mask", cpu.replace(xla_2d=False)) is False
    assert jit_compile_of("hybrid3d", cpu) == "auto" and jit_compile_of("pconv3d", cpu) == "auto"
    with pytest.raises(ValueError, match=r"^Unknown variant: .*Received variant='nope'\.$"):
        jit_compile_of("nope", cpu)

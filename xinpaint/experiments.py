"""The 2D models of the study, trained the same way in every chapter that needs them.

:func:`train_variant` builds, trains (or reloads) one model variant on the train split
with sizes from a profile; :func:`variant_method` wraps it as a callable for the
evaluation runner. The chapters ``unet``, ``pconv`` and ``vgg_loss`` call them, and a
variant trained by one chapter is reloaded by the next one from its run folder
(``xinpaint.chapter.run_dir``), not trained again.

========================  ===================================================  ==================
variant                   model                                                loss
========================  ===================================================  ==================
``unet-mae``              plain U-Net, mask as an input channel                MAE on the output
``unet-mse``              the same                                             MSE on the output
``unet-mask``             the same                                             L_valid + 6 L_hole + 0.1 L_tv
``pconv-mask``            partial-convolution U-Net                            L_valid + 6 L_hole + 0.1 L_tv
``pconv-mask-2stage``     ``pconv-mask``, then fine-tuned at 5e-5 with the     same
                          encoder's batch norm frozen
``pconv-vgg``             ``pconv-mask``, then fine-tuned like                 the paper's loss with the X-ray VGG16
                          ``pconv-mask-2stage`` but with this loss
``hybrid``                plain U-Net on a biharmonic fill and the mask,       L_valid + 6 L_hole
                          predicting a correction (residual) in the holes
``hybrid-prior``          ``hybrid`` that also sees the NMAR prior's           same
                          projection of the frame (the scan's 3D consistency:
                          :func:`xinpaint.data.nmar_priors`)
``hybrid-stack``          ``hybrid`` that also sees the ``stack_radius``       same
                          neighbouring frames on each side as channels (their
                          fills and masks): 2D+T at the cost of a 2D model
``hybrid-stack-prior``    ``hybrid-stack`` that also sees the NMAR prior's     same
                          projection of the centre frame (``hybrid-prior``
                          in 2D+T)
========================  ===================================================  ==================

The losses of Liu et al. (``L_valid``, ``L_hole``, ``L_tv``: :class:`xinpaint.losses.InpaintingLoss`)
see the network's raw prediction, as in the paper: ``L_valid`` asks it to reproduce the clean
visible pixels (from the noisy ones it sees), so the features near a hole get a gradient
from both sides of its edge, and ``L_tv`` is taken on the composite. Only the hybrids
paste the known pixels back inside the model (a correction of the holes only): their
``L_valid`` is a constant, the noise of the visible pixels, by design. Every variant's
output is composited at inference (:func:`variant_method`, :func:`xinpaint.inpaint`),
so no model changes a known pixel.

Every variant stands on one footing, so that two variants differ only in what their
names say:

* **per-sample intensity normalisation**: the network sees each crop (each frame or
  window at inference) standardised by the mean and standard deviation of its visible
  pixels (:class:`xinpaint.layers.ValidStandardise`), and its output is mapped back
  (``output * std + mean``; a hybrid's correction ``* std``), so every model follows
  ``f(a * x + b) = a * f(x) + b``: one model for bright bone and dim soft tissue, and for
  any intensity scale a user's data comes in. The plain U-Nets get the visible mean (0
  once standardised) in their holes inside the model, whatever the caller put there;
* **the same data**: crops and windows drawn per hole component (every hole size as
  often) from the observed frames of the realistic train scans, targets packed with the
  mask (:func:`xinpaint.losses.pack_targets`) for every loss;
* **one training rule**: for each rate of ``profile.learning_rates`` a run trains until
  its validation hole MSE (:data:`SELECT`, the same for every loss) has not improved by
  the relative ``profile.min_delta`` within ``profile.patience`` epochs, or the cap of
  ``profile.epochs`` epochs (:class:`xinpaint.training.Plateau`); it keeps its epoch with
  the lowest validation hole MSE, the untrained model (epoch 0) included; the rate whose
  kept epoch is best wins. Every model is validated on as many windows (``val_batches *
  batch_size`` crops, or patches for the 2D+T models), the same windows at every epoch.
  A hybrid that learns nothing that holds on val therefore *is* its classical fill, and
  the chapters say so;
* **a residual scale** of :data:`RESIDUAL_SCALE` for the hybrids: the correction is
  ``0.1 × std ×`` the last convolution's output (which starts at zero), on the scale of
  the fill's error, not of the image.

The 2D+T variants of the ``temporal`` chapter are trained on (T, H, W) patches of the
profile's ``patch_shape`` and applied to whole sequences by overlapping windows along time,
blended (:func:`xinpaint.data.stitch_patches`):

========================  ===================================================  ==================
variant                   model                                                loss
========================  ===================================================  ==================
``pconv3d``               3D partial-convolution U-Net, every frame predicted  L_valid + 6 L_hole + 0.1 L_tv
                          (many-to-many)
``pconv3d-centre``        the same, the centre frame only (many-to-one)        same, on the centre frame
``hybrid3d``              plain 3D U-Net on the frame-by-frame biharmonic      L_valid + 6 L_hole
                          fill and the mask, predicting a correction
========================  ===================================================  ==================

``pconv-vgg`` is the second stage of the PConv schedule with the full loss, so that
``pconv-mask-2stage`` and ``pconv-vgg`` differ only by their loss (the same start, the
same steps, learning rate and frozen encoder batch norm): the VGG terms cost about eight
times a plain step on a CPU, and a second stage is where the paper's schedule spends the
fewest steps.
"""

from __future__ import annotations

import functools

import numpy as np

from xinpaint.profiles import Profile, get_profile

__all__ = ["PRIOR_GUIDED", "RAW_OUTPUT", "VARIANTS", "VARIANTS_2D", "VARIANTS_3D", "VARIANTS_STACK", "VARIANTS_TIME",
           "build_variant", "jit_compile_of", "run_name", "train_variant", "training_table",
           "variant_method"]

VARIANTS_2D = ("unet-mae", "unet-mse", "unet-mask", "pconv-mask", "pconv-mask-2stage",
               "pconv-vgg", "hybrid", "hybrid-prior")
#: 2D networks that see neighbouring frames as channels (time, at the cost of a 2D model).
VARIANTS_STACK = ("hybrid-stack", "hybrid-stack-prior")
VARIANTS_3D = ("pconv3d", "pconv3d-centre", "hybrid3d")
VARIANTS = VARIANTS_2D + VARIANTS_STACK + VARIANTS_3D
#: Variants that use the time dimension (the 2D+T side of the study).
VARIANTS_TIME = VARIANTS_STACK + VARIANTS_3D
#: Variants whose model adds a correction to a classical fill (an extra input channel).
HYBRIDS = ("hybrid", "hybrid-prior", "hybrid-stack", "hybrid-stack-prior", "hybrid3d")
#: Variants that also see the NMAR prior's projection of each frame (a whole scan's
#: geometry is needed to make it: :func:`xinpaint.data.nmar_priors`).
PRIOR_GUIDED = ("hybrid-prior", "hybrid-stack-prior")
#: Scale of the hybrids' correction, in units of the crop's standard deviation.
RESIDUAL_SCALE = 0.1
#: The footing every variant shares (part of each run's configuration): inputs standardised
#: by their visible pixels, outputs mapped back; targets packed with the mask; the rate and
#: epoch chosen on val; the plateau rule.
FOOTING = "valid-standardised/v1"
#: Variants with the paper's loss whose models no longer paste the known pixels back, so
#: that ``L_valid`` has a gradient (the plain U-Nets with MAE or MSE never did). Part of
#: their runs' configuration (``output``): runs trained while they pasted them back are
#: other runs.
RAW_OUTPUT = ("unet-mask", "pconv-mask", "pconv-mask-2stage", "pconv-vgg", "pconv3d",
              "pconv3d-centre")
FINETUNE_LEARNING_RATE = 5e-5
#: Variants trained as the second stage of the PConv schedule, from ``pconv-mask``.
SECOND_STAGE = ("pconv-mask-2stage", "pconv-vgg")


def _check(variant):
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant: expected one of {', '.join(VARIANTS)}. "
                         f"Received variant={variant!r}.")


def build_variant(variant: str, prof: Profile):
    """The Keras model of ``variant`` (any frame size divisible by ``2**prof.depth``).

    2D+T variants take windows of ``prof.patch_shape[0]`` frames.
    """
    from xinpaint.models import pconv_unet2d, pconv_unet3d, unet2d, unet3d

    _check(variant)
    # One footing: every variant standardises its input by the visible pixels.
    size = dict(depth=prof.depth, base_filters=prof.base_filters, standardise=True,
                name=variant.replace("-", "_"))
    hybrid = dict(valid_as_channel=True, residual=True, residual_scale=RESIDUAL_SCALE)
    if variant in VARIANTS_3D:
        length = prof.patch_shape[0]
        if variant == "hybrid3d":
            return unet3d((length, None, None, 2), **hybrid, **size)
        return pconv_unet3d((length, None, None, 1), many2many=variant == "pconv3d",
                            composite_output=False, **size)
    if variant in VARIANTS_STACK:  # [fill, masked, neighbours' fills, (prior), neighbours' masks]
        r, guided = prof.stack_radius, variant in PRIOR_GUIDED
        return unet2d((None, None, 4 * r + 2 + guided), intensity_channels=2 * r + 2 + guided,
                      **hybrid, **size)
    if variant.startswith("unet"):
        return unet2d((None, None, 1), valid_as_channel=True, composite_output=False, **size)
    if variant in ("hybrid", "hybrid-prior"):  # [fill, masked] (+ the prior's frame)
        return unet2d((None, None, 3 if variant in PRIOR_GUIDED else 2), **hybrid, **size)
    return pconv_unet2d((None, None, 1), composite_output=False, **size)


def jit_compile_of(variant: str, prof: Profile):
    """The ``jit_compile`` a training of ``variant`` uses: XLA where it was measured to help.

    The 2D models follow :attr:`Profile.xla_2d` (XLA on a CPU at ``cpu``); the 2D+T models
    take Keras' ``"auto"`` (XLA on a GPU only), as XLA slowed their steps on two cores.
    """
    _check(variant)
    return "auto" if variant in VARIANTS_3D else prof.xla_2d


def _loss(variant):
    from xinpaint.losses import InpaintingLoss, PixelLoss

    if variant in ("unet-mae", "unet-mse"):
        return PixelLoss(variant[-3:])
    if variant == "pconv-vgg":
        return InpaintingLoss(feature_extractor="xray")
    if variant in HYBRIDS:
        return InpaintingLoss(perceptual=0.0, style=0.0, tv=0.0)
    return InpaintingLoss(perceptual=0.0, style=0.0)


def _fills(sequences):
    from xinpaint.baselines import inpaint
    from xinpaint.models import HYBRID_FILL

    # From what the detector gives (observed), as at inference; the target stays unseen.
    return [inpaint(np.where(s.holes, 0, getattr(s, "observed", s.frames)), s.holes,
                    method=HYBRID_FILL).astype(np.float32) for s in sequences]


def _datasets(variant, prof, train, val, seed):
    import tensorflow as tf

    from xinpaint.data import crops_2d, patches_3d, stack_crops

    hybrid = variant in HYBRIDS

    def priors(seqs):
        from xinpaint.data import nmar_priors

        return nmar_priors(seqs) if variant in PRIOR_GUIDED else None

    if variant in VARIANTS_STACK:
        def windows(seqs, seed, augment):
            return stack_crops(seqs, crop_size=prof.crop_size, radius=prof.stack_radius,
                               batch_size=prof.batch_size, seed=seed, fills=_fills(seqs),
                               priors=priors(seqs), augment=augment)
    elif variant in VARIANTS_3D:
        def windows(seqs, seed, augment):
            return patches_3d(seqs, patch_shape=prof.patch_shape,
                              batch_size=prof.patch_batch_size, seed=seed,
                              fills=_fills(seqs) if hybrid else None, augment=augment)
    else:
        def windows(seqs, seed, augment):
            return crops_2d(seqs, crop_size=prof.crop_size, batch_size=prof.batch_size,
                            seed=seed, fills=_fills(seqs) if hybrid else None,
                            priors=priors(seqs), augment=augment)
    train_ds, val_ds = windows(train, seed, True), windows(val, seed + 1, False)
    centre = prof.patch_shape[0] // 2

    def pack(inputs, target):
        valid = inputs[1]
        if variant == "pconv3d-centre":  # many-to-one: the loss sees the centre frame only
            target, valid = target[:, centre], valid[:, centre]
        return inputs, tf.concat([target, valid], axis=-1)

    return train_ds.map(pack), val_ds.map(pack)


def _lazy_datasets(*args):
    """``_datasets(*args)`` as two callables, built once and only if a run must train."""
    data = functools.cache(lambda: _datasets(*args))
    return (lambda: data()[0]), (lambda: data()[1])


#: The profile's fields that a run of each kind depends on (the data, the network, the
#: training rule): a finished run is reused while these stay the same.
_RUN_FIELDS = ("detector_shape", "n_frames", "arc_degrees", "n_sequences", "base_filters", "depth",
               "steps_per_epoch", "val_batches", "patience", "min_delta")
_RUN_FIELDS_2D = ("crop_size", "batch_size")
_RUN_FIELDS_STACK = (*_RUN_FIELDS_2D, "stack_radius")
_RUN_FIELDS_3D = ("patch_shape", "patch_batch_size")


def _val_steps(variant, prof):
    """Validation batches per epoch: ``val_batches`` of the 2D crops, and for the 2D+T
    models as many batches of patches as make the same number of windows
    (``val_batches * batch_size``), so that every model's plateau and kept epoch are
    decided on as many validation windows (the 2D+T models' smaller batches would
    otherwise give them a noisier validation error, and an earlier plateau on its noise)."""
    if variant in VARIANTS_3D:
        return prof.val_batches * max(1, prof.batch_size // prof.patch_batch_size)
    return prof.val_batches


def run_config(variant: str, profile, *, seed: int = 0) -> dict:
    """What identifies a run of ``variant``: the variant, the seed and the profile's fields
    it depends on (so that a new profile field, or another kind's size, does not make a
    finished run stale)."""
    _check(variant)
    prof = get_profile(profile)
    fields = _RUN_FIELDS + (_RUN_FIELDS_3D if variant in VARIANTS_3D else
                            _RUN_FIELDS_STACK if variant in VARIANTS_STACK else _RUN_FIELDS_2D)
    # The caps (epochs, finetune_epochs) are not: a higher cap continues a capped run.
    values = prof.as_dict()
    extra = {"prior": "nmar (visual hull), xinpaint.data.priors v1"} if variant in PRIOR_GUIDED else {}
    if variant in RAW_OUTPUT:  # the loss sees the raw prediction (L_valid has a gradient)
        extra["output"] = "raw"
    if variant in VARIANTS_3D:  # validated on as many windows as the 2D crops
        extra["val_windows"] = _val_steps(variant, prof) * prof.patch_batch_size
    return {"variant": variant, "seed": seed, "footing": FOOTING, **extra,
            "profile": {"name": prof.name, **{k: values[k] for k in fields}}}


def run_name(variant: str, profile) -> str:
    """The run folder's stem of ``variant`` (before ``-lr<rate>-<profile>``).

    ``2d-<variant>`` (``3d-`` for the 2D+T variants, ``2dt-`` for the frame stack) with the
    named profile's own sizes; a profile changed in a field the run depends on (e.g.
    ``get_profile("cpu").replace(crop_size=64)``, as a study of sizes does) adds those
    fields, ``-crop_size64``, or a hash of them where more than two differ, so that it
    never trains over the named profile's runs.

    Examples
    --------
    >>> run_name("hybrid", "cpu"), run_name("hybrid", get_profile("cpu").replace(base_filters=8))
    ('2d-hybrid', '2d-hybrid-base_filters8')
    """
    import hashlib
    import json

    from xinpaint.profiles import PROFILES

    _check(variant)
    prof = get_profile(profile)
    rank = "3d" if variant in VARIANTS_3D else "2dt" if variant in VARIANTS_STACK else "2d"
    stem = f"{rank}-{variant}"
    if prof.name not in PROFILES:
        return stem
    own, named = run_config(variant, prof)["profile"], run_config(variant, prof.name)["profile"]
    changed = {k: v for k, v in own.items() if v != named[k]}
    if not changed:
        return stem
    if len(changed) > 2:
        digest = hashlib.sha256(json.dumps(changed, sort_keys=True, default=str).encode()).hexdigest()
        return f"{stem}-sizes{digest[:8]}"

    def text(v):
        return "x".join(map(str, v)) if isinstance(v, (tuple, list)) else f"{v:g}" \
            if isinstance(v, float) else str(v)

    return stem + "".join(f"-{k}{text(v)}" for k, v in changed.items())


def _metrics():
    import keras

    from xinpaint.metrics import keras_hole_mse, keras_hole_psnr

    # Logged for every variant: val_hole_psnr is the learning curve the chapters show;
    # val_hole_mse (the same for every loss) chooses the epoch and the rate and stops a run.
    return [keras.metrics.MeanMetricWrapper(keras_hole_psnr, name="hole_psnr"),
            keras.metrics.MeanMetricWrapper(keras_hole_mse, name="hole_mse")]


#: The validation entry that selects the epoch and rate of every variant and stops a run:
#: the error in the holes (the training losses differ between variants, and some hold a
#: constant, e.g. the noise of the visible pixels that a composite output cannot change).
SELECT = "val_hole_mse"


def _fit_rates(variant, prof, name, build, datasets, *, epochs, rates, config, reuse, verbose,
               seed):
    """One run per learning rate, each stopped on a plateau and keeping its best epoch on
    val (:data:`SELECT`); the run with the lowest value is returned (``candidates`` lists all)."""
    import keras

    from xinpaint.chapter import run_dir
    from xinpaint.training import Plateau
    from xinpaint.training import train as fit

    plateau = Plateau(min_delta=prof.min_delta, patience=prof.patience, monitor=SELECT)
    jit = jit_compile_of(variant, prof)
    runs = []
    for rate in rates:
        keras.utils.set_random_seed(seed)
        runs.append(fit(build, datasets[0], loss=_loss(variant), epochs=epochs,
                        steps_per_epoch=prof.steps_per_epoch,
                        run_dir=run_dir(f"{name}-lr{rate:g}", prof), learning_rate=rate,
                        val_data=datasets[1], validation_steps=_val_steps(variant, prof), config=config,
                        metrics=_metrics(), keep_best=True, select=SELECT, plateau=plateau,
                        reuse=reuse, jit_compile=jit,
                        verbose=verbose))
    best = min(runs, key=lambda r: r.best_val_loss)
    best.candidates = {r.learning_rate: {"best_epoch": r.best_epoch, "best_val_loss": r.best_val_loss,
                                         "epochs": r.epoch, "stopped": r.stopped}
                       for r in runs}
    return best


def train_variant(variant: str, profile, *, train, val, seed: int = 0, reuse: bool = True,
                  verbose: int = 0):
    """Train ``variant`` on ``train`` (validated on ``val``) with the profile's sizes.

    Every variant is trained by one rule: for each learning rate of
    ``profile.learning_rates`` a run (``<run_name>-lr<rate>``: :func:`run_name`) trains until its validation hole MSE
    (:data:`SELECT`, the same for every loss) stops improving (``profile.patience``,
    ``profile.min_delta``: :class:`xinpaint.training.Plateau`) or the cap of
    ``profile.epochs`` epochs, keeping its epoch with the lowest validation hole MSE
    (epoch 0, the untrained model, included); the rate whose kept epoch is lowest wins. A
    higher cap continues a run that stopped at a lower one. A run resumes after an
    interruption and is reloaded, not retrained, when it finished with the same
    configuration. ``pconv-mask-2stage`` and ``pconv-vgg`` are a second stage from the
    chosen ``pconv-mask`` run (at :data:`FINETUNE_LEARNING_RATE`, encoder batch norm
    frozen, at most ``profile.finetune_epochs``), with the same rule (a first stage that
    kept another epoch makes them other runs); their history holds
    both stages (all the first stage's epochs, then the second's, which starts from the
    first stage's kept epoch) and ``first_stage`` is the first stage's result.

    Returns
    -------
    xinpaint.training.TrainResult
        With ``candidates`` (rate → kept epoch, its val hole MSE as ``best_val_loss``,
        epochs, why it stopped).
    """
    from xinpaint.models import freeze_encoder_batchnorm

    _check(variant)
    prof = get_profile(profile)
    config = run_config(variant, prof, seed=seed)
    common = dict(config=config, reuse=reuse, verbose=verbose, seed=seed)
    if variant in SECOND_STAGE:
        first = train_variant("pconv-mask", prof, train=train, val=val, seed=seed, reuse=reuse)
        weights = first.model.get_weights()
        # The weights it starts from: another kept epoch of the first stage is another run.
        common["config"] = {**config, "first_stage": {"best_epoch": first.best_epoch,
                                                      "learning_rate": first.learning_rate}}

        def build():
            model = build_variant("pconv-mask", prof)
            model.set_weights(weights)
            freeze_encoder_batchnorm(model)
            return model

        datasets = _lazy_datasets("pconv-mask", prof, train, val, seed + 7)
        result = _fit_rates(variant, prof, run_name(variant, prof), build, datasets,
                            epochs=prof.finetune_epochs, rates=(FINETUNE_LEARNING_RATE,), **common)
        result.history = {k: first.history.get(k, []) + result.history.get(k, [])
                          for k in set(first.history) | set(result.history)}
        result.first_stage = first
        result.steps += first.steps
        result.seconds += first.seconds
        for key in ("cpu_seconds", "wall_seconds"):
            setattr(result, key, (getattr(result, key) or 0.0) + (getattr(first, key) or 0.0))
        return result
    datasets = _lazy_datasets(variant, prof, train, val, seed)
    return _fit_rates(variant, prof, run_name(variant, prof), lambda: build_variant(variant, prof),
                      datasets, epochs=prof.epochs, rates=prof.learning_rates, **common)


def training_table(runs: dict):
    """How each run trained: a :class:`xinpaint.evaluation.Table` for the chapters.

    Columns: the learning rate and epoch kept on val, the epochs and optimiser steps
    trained, why training stopped (``plateau`` or ``cap``: a model that hit the cap says
    so), CPU and wall time (minutes, over every restart) and the val PSNR in the holes
    at the kept epoch (epoch 0: the untrained model's). A second stage
    (``pconv-mask-2stage``, ``pconv-vgg``) shows its epochs as ``first + second`` (trained;
    kept: the first stage's kept epoch, where the second started, and the second's); its
    steps and times cover both stages.
    """
    from xinpaint.evaluation import Table
    from xinpaint.plotting.training import kept_value

    rows = []
    for name, r in runs.items():
        first = getattr(r, "first_stage", None)  # a second stage: epochs of both stages
        rows.append({
            "model": name,
            "learning rate": r.learning_rate,
            # a second stage starts from its first stage's kept epoch
            "epoch kept": r.best_epoch if first is None else f"{first.best_epoch} + {r.best_epoch}",
            "epochs": r.epoch if first is None else f"{first.epoch} + {r.epoch}",
            "steps": r.steps,
            "stopped": r.stopped,
            "CPU min": None if r.cpu_seconds is None else r.cpu_seconds / 60,
            "wall min": None if r.wall_seconds is None else r.wall_seconds / 60,
            "val hole PSNR at kept epoch": kept_value(r),
        })
    return Table(rows)


def variant_method(variant: str, model, *, fill_value: float = 0.0, batch_size: int = 4):
    """``f(frames, holes) -> frames`` for the evaluation runner.

    The holes of the input hold ``fill_value`` (0, black, as in training), or, for the
    hybrids, the classical fill is computed first (its time is part of the method's).
    2D variants see one frame at a time; the frame stack sees each frame with its
    neighbours as channels (mirrored at both ends). 2D+T variants see windows of the model's length
    along time and whole frames in space, by :func:`xinpaint.inference.predict_sequence`
    (the same code as ``xinpaint inpaint``): many-to-many models predict windows with a
    stride of half their length, blended; the many-to-one model predicts each frame at
    the centre of its own window (the sequence is mirrored at both ends). A
    prior-guided variant (:data:`PRIOR_GUIDED`) also takes ``prior``, the prior's
    projections of the same frames (the evaluation runner passes a sequence's
    ``prior``: the callable's ``inputs`` name it).
    Known pixels are always the input's.
    """
    _check(variant)
    guided = variant in PRIOR_GUIDED

    def fill(frames, holes, prior=None):
        frames = np.asarray(frames, np.float32)
        valid = (~holes).astype(np.float32)
        masked = np.where(holes, np.float32(fill_value), frames)
        classical = None
        if variant in HYBRIDS:
            from xinpaint.baselines import inpaint
            from xinpaint.models import HYBRID_FILL

            classical = inpaint(frames, holes, method=HYBRID_FILL).astype(np.float32)
            masked = frames * valid
        if guided:
            prior = None if prior is None else np.asarray(prior, np.float32)
            if prior is None or prior.shape != frames.shape:
                raise ValueError(f"Expected the prior's projections of the frames' shape "
                                 f"{frames.shape} for {variant}. Received prior with shape="
                                 f"{None if prior is None else prior.shape}.")
        if variant in VARIANTS_STACK:
            from xinpaint.data import stack_radius, stack_sequence

            radius = stack_radius(model.inputs[0].shape[-1], prior=guided)
            image, centre = stack_sequence(classical, masked, valid, radius=radius,
                                           prior=prior if guided else None)
            out = model.predict([image, centre], batch_size=batch_size, verbose=0)[..., 0]
        elif variant in VARIANTS_3D:
            from xinpaint.inference import predict_sequence

            out = predict_sequence(model, masked, valid, fill=classical,
                                   tile=max(frames.shape[-2:]), overlap=0, batch_size=batch_size)
        else:
            channels = [masked] if classical is None else [classical, masked]
            if guided:
                channels.append(prior)
            image = np.stack(channels, -1)
            out = model.predict([image, valid[..., None]], batch_size=batch_size, verbose=0)[..., 0]
        return np.where(holes, out, frames)

    fill.__name__ = variant
    if guided:
        fill.inputs = ("prior",)
    return fill

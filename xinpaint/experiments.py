"""The 2D models of the study, trained the same way in every chapter that needs them.

:func:`train_variant` builds, trains (or reloads) one model variant on the train split
with sizes from a profile; :func:`variant_method` wraps it as a callable for the
evaluation runner. The chapters ``unet``, ``pconv`` and ``vgg_loss`` call them, and a
variant trained by one chapter is reloaded by the next one from its run folder
(``xinpaint.chapter.run_dir``), not trained again.

========================  ===================================================  ==================
variant                   model                                                loss
========================  ===================================================  ==================
``unet-mae``              plain U-Net, mask as an input channel, holes black   MAE on the output
``unet-mse``              the same                                             MSE on the output
``unet-mask``             the same, known pixels pasted back                   L_valid + 6 L_hole + 0.1 L_tv
``pconv-mask``            partial-convolution U-Net                            L_valid + 6 L_hole + 0.1 L_tv
``pconv-mask-2stage``     ``pconv-mask``, then fine-tuned at 5e-5 with the     same
                          encoder's batch norm frozen
``pconv-vgg``             ``pconv-mask``, then fine-tuned like                 the paper's loss with the X-ray VGG16
                          ``pconv-mask-2stage`` but with this loss
``hybrid``                plain U-Net on a biharmonic fill and the mask,       L_valid + 6 L_hole
                          predicting a correction (residual) in the holes
========================  ===================================================  ==================

``pconv-vgg`` is the second stage of the PConv schedule with the full loss, so that
``pconv-mask-2stage`` and ``pconv-vgg`` differ only by their loss (the same start, the
same steps, learning rate and frozen encoder batch norm): the VGG terms cost about eight
times a plain step on a CPU, and a second stage is where the paper's schedule spends the
fewest steps.
"""

from __future__ import annotations

import numpy as np

from xinpaint.profiles import Profile, get_profile

__all__ = ["VARIANTS", "build_variant", "train_variant", "variant_method"]

VARIANTS = ("unet-mae", "unet-mse", "unet-mask", "pconv-mask", "pconv-mask-2stage", "pconv-vgg",
            "hybrid")
LEARNING_RATE = 2e-4
FINETUNE_LEARNING_RATE = 5e-5
HYBRID_FILL = "biharmonic"
#: Variants trained as the second stage of the PConv schedule, from ``pconv-mask``.
SECOND_STAGE = ("pconv-mask-2stage", "pconv-vgg")


def _check(variant):
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant: expected one of {', '.join(VARIANTS)}. "
                         f"Received variant={variant!r}.")


def build_variant(variant: str, prof: Profile):
    """The Keras model of ``variant`` (any frame size divisible by ``2**prof.depth``)."""
    from xinpaint.models import pconv_unet2d, unet2d

    _check(variant)
    size = dict(depth=prof.depth, base_filters=prof.base_filters)
    if variant.startswith("unet"):
        return unet2d((None, None, 1), valid_as_channel=True,
                      composite_output=variant == "unet-mask", name=variant.replace("-", "_"), **size)
    if variant == "hybrid":
        return unet2d((None, None, 2), valid_as_channel=True, residual=True, name="hybrid", **size)
    return pconv_unet2d((None, None, 1), name=variant.replace("-", "_"), **size)


def _loss(variant):
    from xinpaint.losses import InpaintingLoss

    if variant == "unet-mae":
        return "mae"
    if variant == "unet-mse":
        return "mse"
    if variant == "pconv-vgg":
        return InpaintingLoss(feature_extractor="xray")
    if variant == "hybrid":
        return InpaintingLoss(perceptual=0.0, style=0.0, tv=0.0)
    return InpaintingLoss(perceptual=0.0, style=0.0)


def _fills(sequences):
    from xinpaint.baselines import inpaint

    return [inpaint(s.frames, s.holes, method=HYBRID_FILL).astype(np.float32) for s in sequences]


def _datasets(variant, prof, train, val, seed):
    import tensorflow as tf

    from xinpaint.data import crops_2d

    hybrid = variant == "hybrid"
    train_ds = crops_2d(train, crop_size=prof.crop_size, batch_size=prof.batch_size, seed=seed,
                        fills=_fills(train) if hybrid else None)
    val_ds = crops_2d(val, crop_size=prof.crop_size, batch_size=prof.batch_size, seed=seed + 1,
                      fills=_fills(val) if hybrid else None, augment=False)
    if variant in ("unet-mae", "unet-mse"):
        return train_ds, val_ds

    def pack(inputs, target):
        return inputs, tf.concat([target, inputs[1]], axis=-1)

    return train_ds.map(pack), val_ds.map(pack)


def train_variant(variant: str, profile, *, train, val, seed: int = 0, reuse: bool = True,
                  verbose: int = 0):
    """Train ``variant`` on ``train`` (validated on ``val``) with the profile's sizes.

    The run lives in ``run_dir("2d-<variant>", profile)``: it resumes after an
    interruption and is reloaded, not retrained, when it already finished with the same
    configuration. ``pconv-mask-2stage`` and ``pconv-vgg`` start from the finished
    ``pconv-mask`` run; their history holds both stages (the first ``profile.epochs`` entries are the
    first stage's).

    Returns
    -------
    xinpaint.training.TrainResult
    """
    import keras

    from xinpaint.chapter import run_dir
    from xinpaint.models import freeze_encoder_batchnorm
    from xinpaint.training import train as fit

    _check(variant)
    prof = get_profile(profile)
    config = {"variant": variant, "profile": prof.as_dict(), "seed": seed}
    if variant in SECOND_STAGE:
        first = train_variant("pconv-mask", prof, train=train, val=val, seed=seed, reuse=reuse)
        weights = first.model.get_weights()

        def build():
            model = build_variant("pconv-mask", prof)
            model.set_weights(weights)
            freeze_encoder_batchnorm(model)
            return model

        train_ds, val_ds = _datasets("pconv-mask", prof, train, val, seed + 7)
        result = fit(build, train_ds, loss=_loss(variant), epochs=prof.finetune_epochs,
                     steps_per_epoch=prof.steps_per_epoch, run_dir=run_dir(f"2d-{variant}", prof),
                     learning_rate=FINETUNE_LEARNING_RATE, val_data=val_ds,
                     validation_steps=prof.val_batches, config=config, reuse=reuse,
                     verbose=verbose)
        result.history = {k: first.history.get(k, []) + result.history.get(k, [])
                          for k in set(first.history) | set(result.history)}
        result.steps += first.steps
        result.seconds += first.seconds
        return result

    train_ds, val_ds = _datasets(variant, prof, train, val, seed)
    keras.utils.set_random_seed(seed)
    return fit(lambda: build_variant(variant, prof), train_ds, loss=_loss(variant),
               epochs=prof.epochs, steps_per_epoch=prof.steps_per_epoch,
               run_dir=run_dir(f"2d-{variant}", prof), learning_rate=LEARNING_RATE,
               val_data=val_ds, validation_steps=prof.val_batches, config=config, reuse=reuse,
               verbose=verbose)


def variant_method(variant: str, model, *, fill_value: float = 0.0, batch_size: int = 4):
    """``f(frames, holes) -> frames`` for the evaluation runner.

    The holes of the input hold ``fill_value`` (0, black, as in training), or, for the
    hybrid, the classical fill is computed first (its time is part of the method's).
    Known pixels are always the input's.
    """
    _check(variant)

    def fill(frames, holes):
        frames = np.asarray(frames, np.float32)
        valid = (~holes).astype(np.float32)
        image = np.where(holes, np.float32(fill_value), frames)[..., None]
        if variant == "hybrid":
            from xinpaint.baselines import inpaint

            classical = inpaint(frames, holes, method=HYBRID_FILL).astype(np.float32)
            image = np.stack([classical, frames * valid], axis=-1)
        out = model.predict([image, valid[..., None]], batch_size=batch_size, verbose=0)[..., 0]
        return np.where(holes, out, frames)

    fill.__name__ = variant
    return fill

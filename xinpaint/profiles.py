"""Run profiles: every size a chapter uses comes from one of these.

Three profiles are defined, once, here:

``smoke``
    CI and a first look on a laptop: about two minutes a chapter on 2 cores.
``cpu``
    The recorded results of the book: about an hour a chapter on 2 cores.
``gpu``
    Paper scale, chosen by :func:`default_profile` where TensorFlow sees a GPU.

Chapters receive the profile's name as the papermill parameter ``profile`` and
call :func:`get_profile` (usually through :func:`xinpaint.chapter.setup`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["PROFILES", "Profile", "default_profile", "get_profile"]


@dataclass(frozen=True)
class Profile:
    """Sizes of one run profile.

    Attributes
    ----------
    name : str
        ``"smoke"``, ``"cpu"`` or ``"gpu"``.
    description : str
        One line for banners and the status page.
    detector_shape : tuple of int
        (H, W) of every simulated projection frame.
    n_frames : int
        Frames per simulated sequence (T).
    arc_degrees : float
        Angular range of the C-arm rotation covered by one scan: a short scan (180°
        plus the fan angle, 12.2° with the default geometry), rounded up to 200°, so
        that every scan can be reconstructed. The frame spacing (``arc_degrees /
        (n_frames - 1)``) is about 1° in ``cpu`` and ``gpu``, as a C-arm acquires it, and
        8° in ``smoke``.
    n_sequences : dict
        Number of simulated sequences per split (``train``, ``val``, ``test``).
    crop_size : int
        Side of the square 2D training crops.
    patch_shape : tuple of int
        (T, H, W) of the 2D+T training patches.
    batch_size : int
        Training batch size of the 2D models (global batch).
    patch_batch_size : int
        Training batch size of the 2D+T models (patches per step).
    epochs, steps_per_epoch : int
        Training length: at most ``epochs * steps_per_epoch`` optimiser steps (the cap);
        a run stops earlier on a plateau of its validation loss.
    finetune_epochs : int
        At most this many epochs of the second (fine-tuning) stage of the PConv schedule.
    patience, min_delta : int, float
        The plateau rule of every learned model (:class:`xinpaint.training.Plateau`):
        stop when the validation loss has not improved by the relative ``min_delta``
        within ``patience`` epochs.
    learning_rates : tuple of float
        Adam learning rates tried for every learned model; the rate and epoch with the
        lowest validation loss are kept (one rule for every variant).
    stack_radius : int
        Neighbouring frames on each side that the frame-stack hybrid receives as channels.
    base_filters, depth : int
        Width of the first U-Net level and number of down-sampling levels.
    val_batches : int
        Batches of the validation split evaluated after each epoch.
    max_eval_frames : int
        At most this many frames of the test split are evaluated per method.
    eval_block : int
        The evaluated frames are blocks of this many consecutive frames spread over the
        test scans (:func:`xinpaint.data.frame_blocks`); the blocks are the units the
        confidence intervals resample, so a profile needs at least two.
    vgg_steps : int
        Training steps of the package's X-ray VGG16 feature extractor.
    xla_2d : bool or "auto"
        ``jit_compile`` of the 2D models' training (Keras' ``"auto"`` compiles with XLA
        only where a GPU is visible). True in ``cpu``: on 2 cores XLA made a training step
        of ``pconv-mask`` and of ``hybrid`` 1.2–1.4 times faster, and those of
        ``pconv3d`` and ``hybrid3d`` 0.7–0.8 times as fast (``benchmarks/bench_training.py``).
        The 2D+T models are therefore trained without it on a CPU (Keras' ``"auto"``, which
        compiles them on a GPU), and ``smoke`` keeps ``"auto"``: its runs are
        too short to pay for the longer compilation. XLA reorders floating-point
        operations; it does not change the model, and runs do not depend on it.
    """

    name: str
    description: str
    detector_shape: tuple[int, int]
    n_frames: int
    arc_degrees: float
    n_sequences: dict = field(default_factory=dict)
    crop_size: int = 64
    patch_shape: tuple[int, int, int] = (8, 32, 32)
    batch_size: int = 8
    patch_batch_size: int = 2
    epochs: int = 2
    steps_per_epoch: int = 10
    finetune_epochs: int = 1
    base_filters: int = 8
    depth: int = 3
    val_batches: int = 2
    max_eval_frames: int = 8
    vgg_steps: int = 20
    patience: int = 2
    min_delta: float = 0.01
    learning_rates: tuple[float, ...] = (1e-3,)
    stack_radius: int = 1
    eval_block: int = 16
    xla_2d: bool | str = "auto"

    def __post_init__(self):
        if not (isinstance(self.xla_2d, bool) or self.xla_2d == "auto"):
            raise ValueError(f"Expected xla_2d True, False or 'auto'. Received xla_2d={self.xla_2d!r}.")

    @property
    def total_steps(self) -> int:
        """Optimiser steps of the main training stage."""
        return self.epochs * self.steps_per_epoch

    def replace(self, **changes) -> Profile:
        """Return a copy with some fields changed (for experiments in a notebook)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """The profile as plain JSON-serialisable values."""
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="CI smoke run, about two minutes a chapter on 2 CPU cores",
        detector_shape=(128, 128),
        n_frames=26,
        arc_degrees=200.0,
        n_sequences={"train": 2, "val": 1, "test": 1},
        crop_size=64,
        patch_shape=(8, 32, 32),
        batch_size=8,
        patch_batch_size=2,
        epochs=2,
        steps_per_epoch=10,
        finetune_epochs=1,
        base_filters=8,
        depth=3,
        val_batches=2,
        max_eval_frames=16,
        eval_block=8,
        vgg_steps=20,
        patience=2,
        min_delta=0.01,
        learning_rates=(1e-3,),
        stack_radius=1,
    ),
    "cpu": Profile(
        name="cpu",
        description="recorded results, about an hour a chapter on 2 CPU cores",
        detector_shape=(256, 256),
        n_frames=201,
        arc_degrees=200.0,
        n_sequences={"train": 8, "val": 2, "test": 4},
        crop_size=96,
        patch_shape=(8, 64, 64),
        batch_size=16,
        patch_batch_size=2,
        epochs=50,
        steps_per_epoch=100,
        finetune_epochs=15,
        base_filters=16,
        depth=4,
        val_batches=8,
        max_eval_frames=128,
        vgg_steps=1500,
        patience=4,
        min_delta=0.005,
        learning_rates=(1e-3,),
        stack_radius=1,
        xla_2d=True,
    ),
    "gpu": Profile(
        name="gpu",
        description="paper scale, for one modern GPU",
        detector_shape=(512, 512),
        n_frames=401,
        arc_degrees=200.0,
        n_sequences={"train": 200, "val": 20, "test": 40},
        crop_size=256,
        patch_shape=(16, 128, 128),
        batch_size=32,
        patch_batch_size=8,
        epochs=100,
        steps_per_epoch=1000,
        finetune_epochs=25,
        base_filters=32,
        depth=5,
        val_batches=32,
        max_eval_frames=1024,
        vgg_steps=20000,
        patience=8,
        min_delta=0.002,
        learning_rates=(2e-4, 1e-3),
        stack_radius=2,
    ),
}

#: Order of the profiles by size, smallest first.
ORDER = ("smoke", "cpu", "gpu")


def get_profile(name: str | Profile) -> Profile:
    """Return the profile called ``name``.

    Parameters
    ----------
    name : str or Profile
        ``"smoke"``, ``"cpu"`` or ``"gpu"``; a :class:`Profile` is returned as is.

    Raises
    ------
    ValueError
        If ``name`` is not a known profile.

    Examples
    --------
    >>> get_profile("smoke").n_frames
    26
    """
    if isinstance(name, Profile):
        return name
    if name not in PROFILES:
        raise ValueError(
            f"Unknown profile: expected one of {', '.join(ORDER)}. Received profile={name!r}."
        )
    return PROFILES[name]


def default_profile() -> str:
    """The profile ``make reproduce`` uses when none is given.

    ``"gpu"`` when TensorFlow sees a GPU, else ``"cpu"``.
    """
    from xinpaint.system import visible_gpus

    return "gpu" if visible_gpus() else "cpu"

"""What a training step of a model variant costs: peak memory and time, in a fresh process.

:func:`training_step_cost` measures one variant's training step on inputs of a given
size (a patch, or a whole sequence) in its own Python process, so that the peak of
TensorFlow's allocator belongs to that step alone: the memory argument for training the
2D+T models on patches (see the ``temporal`` chapter) and the benchmarks.
:func:`sequence_step_cost` does it for a whole sequence where that fits in memory, and
extrapolates from steps on its first frames where it does not, so that asking never
drives the machine out of memory. :func:`step_seconds` times the training steps of
several models side by side in this process, so that their costs compare on one machine
whatever machine trained their runs, and :func:`choose_sizes` picks the cheapest sizes that
lose nothing on val, for each family and for all of them at once (the ``budget`` chapter).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from xinpaint.experiments import VARIANTS_3D
from xinpaint.profiles import get_profile

__all__ = ["SizeChoice", "available_memory_mib", "choose_sizes", "extrapolate_cost",
           "sequence_step_cost", "step_seconds", "synthetic_batch", "training_step_cost"]

#: The measured quantities of a step, each extrapolated linearly in the number of frames.
COST_KEYS = ("peak_mib", "rss_mib", "seconds")

_STEP_COST_SCRIPT = """
import json, os, resource, sys, time
import numpy as np, keras, tensorflow as tf
from xinpaint.experiments import _loss, build_variant
from xinpaint.profiles import get_profile
spec = json.loads(sys.argv[1])
prof = get_profile(spec["profile"])
model = build_variant(spec["variant"], prof.replace(patch_shape=tuple(spec["window"])))
model.compile(keras.optimizers.Adam(1e-4), _loss(spec["variant"]), jit_compile=False)
rng = np.random.default_rng(0)
shape = (spec["batch_size"], *spec["window"])
target = rng.random(shape + (1,)).astype("float32")
valid = np.ones_like(target)
valid[..., shape[-2] // 3: shape[-2] // 2, :] = 0
image = np.concatenate([target] * model.inputs[0].shape[-1], axis=-1) * valid
packed = np.concatenate([target, valid], axis=-1)
if spec["variant"] in ("unet-mae", "unet-mse"):
    packed = target
times = []
try:
    for _ in range(spec["steps"]):
        start = time.perf_counter()
        model.train_on_batch([image, valid], packed)
        times.append(time.perf_counter() - start)
except tf.errors.ResourceExhaustedError:
    print(json.dumps({"out_of_memory": True}))
    sys.exit(0)
device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
# VmHWM is this process's own peak; ru_maxrss carries over the parent's across fork + exec
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if os.path.exists("/proc/self/status"):
    with open("/proc/self/status") as f:
        rss_kib = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), rss_kib)
print(json.dumps({"peak_mib": tf.config.experimental.get_memory_info(device)["peak"] / 2**20,
                  "device": device, "rss_mib": rss_kib / 1024, "seconds": min(times[1:])}))
"""


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS_3D:
        raise ValueError(f"Expected a 2D+T variant ({', '.join(VARIANTS_3D)}). "
                         f"Received variant={variant!r}.")


def training_step_cost(variant: str, profile, window, *, batch_size: int = 1, steps: int = 3) -> dict:
    """Peak memory and time of a training step of a 2D+T ``variant`` on ``window``-sized inputs.

    The step runs in a fresh Python process with TensorFlow's BFC allocator on the CPU
    (``TF_CPU_ALLOCATOR_USE_BFC``), so that ``peak_mib`` is the peak of tensor memory in
    use (weights, activations, gradients, optimiser state) over ``steps`` training steps
    of ``batch_size`` windows, on the GPU where one is visible (``device`` says which);
    ``rss_mib`` is the process's own peak resident memory (``VmHWM`` on Linux), with
    TensorFlow itself; ``seconds`` the fastest step after the first (which traces).

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS_3D`.
    profile : str or Profile
        Sizes of the network (``depth``, ``base_filters``).
    window : tuple of int
        (T, H, W) of one training input: a patch, or a whole sequence.
    """
    import json
    import os
    import signal
    import subprocess
    import sys

    _check_variant(variant)
    window = tuple(int(w) for w in window)
    if len(window) != 3 or min(window) < 1:
        raise ValueError(f"Expected window=(T, H, W). Received window={window!r}.")
    spec = {"variant": variant, "profile": get_profile(profile).name, "window": list(window),
            "batch_size": int(batch_size), "steps": max(2, int(steps))}
    env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": "true", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", _STEP_COST_SCRIPT, json.dumps(spec)],
                         capture_output=True, text=True, env=env)
    what = f"the training step of {variant} on {batch_size} x {window}"
    if out.returncode == -signal.SIGKILL:
        raise MemoryError(f"{what} was killed by the system (signal {signal.SIGKILL}), "
                          "most likely for running out of memory")
    if out.returncode:
        raise RuntimeError(f"{what} failed: "
                           f"{out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    cost = json.loads(out.stdout.strip().splitlines()[-1])
    if cost.get("out_of_memory"):
        raise MemoryError(f"{what} ran out of memory in TensorFlow")
    return cost


def available_memory_mib() -> float | None:
    """Memory the system can give a new process now (``MemAvailable``), in MiB; None if unknown.

    Read from ``/proc/meminfo`` (Linux); elsewhere None.

    Examples
    --------
    >>> mib = available_memory_mib()
    >>> mib is None or mib > 0
    True
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def extrapolate_cost(probes: dict, frames: int) -> dict:
    """A step's cost on ``frames`` frames, extrapolated linearly from steps on fewer.

    Every quantity of :data:`COST_KEYS` is fitted as ``a + b * frames`` through the
    probes by least squares: the weights, the optimiser state and TensorFlow itself are
    the constant, the activations and the work grow with the frames of the window (the
    networks are fully convolutional).

    Parameters
    ----------
    probes : dict
        Frames of a probe window -> its measured cost (:func:`training_step_cost`); at
        least two different frame counts.
    frames : int
        Frames of the window to extrapolate to.

    Returns
    -------
    dict
        ``peak_mib``, ``rss_mib``, ``seconds``.

    Examples
    --------
    >>> probes = {8: {"peak_mib": 100.0, "rss_mib": 900.0, "seconds": 1.0},
    ...           16: {"peak_mib": 180.0, "rss_mib": 980.0, "seconds": 2.0}}
    >>> extrapolate_cost(probes, 32)
    {'peak_mib': 340.0, 'rss_mib': 1140.0, 'seconds': 4.0}
    """
    if len({int(t) for t in probes}) < 2:
        raise ValueError("Expected probes at two or more frame counts. "
                         f"Received probes at frames={sorted(probes)!r}.")
    if int(frames) < 1:
        raise ValueError(f"Expected frames >= 1. Received frames={frames!r}.")
    order = sorted(probes)
    out = {}
    for key in COST_KEYS:
        b, a = np.polyfit(np.array(order, dtype=float), [float(probes[k][key]) for k in order], 1)
        out[key] = round(float(a + b * int(frames)), 6)
    return out


def sequence_step_cost(variant: str, profile, shape, *, probe_frames=None,
                       memory_budget_mib: float | None = None, steps: int = 3) -> dict:
    """Peak memory and time of a training step of ``variant`` on one whole sequence.

    Steps on the sequence's first ``probe_frames`` frames (whole frames) are measured
    first (:func:`training_step_cost`) and extrapolated to all its frames
    (:func:`extrapolate_cost`). Where the extrapolated peak memory of the process fits in
    ``memory_budget_mib``, the whole sequence is measured too; where it does not (or its
    step runs out of memory), the extrapolation is the answer, and ``measured`` says so.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS_3D`.
    profile : str or Profile
        Sizes of the network (``depth``, ``base_filters``).
    shape : tuple of int
        (T, H, W) of the sequence.
    probe_frames : tuple of int, optional
        Two or more frame counts of the probes, each below T; default those of the
        profile's patch length in time, twice and four times that, which are below T (a
        sequence shorter than that is small, and measured without probes).
    memory_budget_mib : float, optional
        Most process memory the whole step may need to be measured; default half of
        :func:`available_memory_mib` (all of it where that is unknown: measured).
    steps : int
        Steps of each measurement.

    Returns
    -------
    dict
        ``peak_mib``, ``rss_mib``, ``seconds`` (of the whole sequence), ``measured``
        (bool), ``predicted`` (the extrapolation; None without probes), ``probes``
        (frames -> cost) and ``memory_budget_mib``.

    Examples
    --------
    >>> cost = sequence_step_cost("pconv3d", "smoke", (16, 32, 32))  # doctest: +SKIP
    >>> cost["measured"]  # doctest: +SKIP
    True
    """
    _check_variant(variant)
    prof = get_profile(profile)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"Expected shape=(T, H, W). Received shape={shape!r}.")
    frames = shape[0]
    if memory_budget_mib is None:
        free = available_memory_mib()
        memory_budget_mib = None if free is None else free / 2
    elif not memory_budget_mib > 0:
        raise ValueError(f"Expected memory_budget_mib > 0. "
                         f"Received memory_budget_mib={memory_budget_mib!r}.")
    if probe_frames is None:
        probe_frames = tuple(k * prof.patch_shape[0] for k in (1, 2, 4)
                             if k * prof.patch_shape[0] < frames)
        if len(probe_frames) < 2:  # a short sequence: measured without probes
            probe_frames = ()
    else:
        probe_frames = tuple(sorted({int(t) for t in probe_frames}))
        if len(probe_frames) < 2 or probe_frames[0] < 1 or probe_frames[-1] >= frames:
            raise ValueError(f"Expected two or more probe_frames, each between 1 and T - 1 = "
                             f"{frames - 1}. Received probe_frames={probe_frames!r}.")
    probes = {t: training_step_cost(variant, prof, (t, *shape[1:]), batch_size=1, steps=steps)
              for t in probe_frames}
    predicted = extrapolate_cost(probes, frames) if probes else None
    result = {**(predicted or {}), "measured": False, "predicted": predicted, "probes": probes,
              "memory_budget_mib": memory_budget_mib}
    if predicted is None or memory_budget_mib is None or predicted["rss_mib"] <= memory_budget_mib:
        try:
            cost = training_step_cost(variant, prof, shape, batch_size=1, steps=steps)
        except MemoryError:
            if predicted is None:
                raise
            return result
        result.update({key: cost[key] for key in COST_KEYS}, measured=True)
    return result


def synthetic_batch(variant: str, model, prof) -> tuple[list, np.ndarray]:
    """A synthetic batch of the size a training step of ``variant`` takes at ``prof``.

    ``batch_size`` crops of ``crop_size``² (2D variants) or ``patch_batch_size`` patches of
    ``patch_shape`` (2D+T), values in [0.3, 0.5] with a band of holes, as
    ``([image, valid], packed)`` for ``model.train_on_batch``: ``packed`` is the target
    with the mask concatenated, or the target alone for the plain U-Nets. The same seed
    every call, so that timings compare the same work.
    """
    shape = ((prof.patch_batch_size, *prof.patch_shape) if variant in VARIANTS_3D
             else (prof.batch_size, prof.crop_size, prof.crop_size))
    rng = np.random.default_rng(0)
    target = (0.3 + 0.2 * rng.random((*shape, 1))).astype("float32")
    valid = np.ones_like(target)
    valid[..., shape[-2] // 3: shape[-2] // 2, :] = 0  # a band of holes
    image = np.concatenate([target] * model.inputs[0].shape[-1], axis=-1) * valid
    packed = target if variant in ("unet-mae", "unet-mse") else np.concatenate([target, valid], axis=-1)
    return [image, valid], packed


def step_seconds(models: dict, *, rounds: int = 3, steps: int = 3) -> dict:
    """CPU and wall seconds of a training step of each model, timed side by side.

    Each entry ``name: (variant, profile)`` is built with
    :func:`xinpaint.experiments.build_variant` and compiled as its training compiles it
    (the study's loss of the variant, ``jit_compile`` of
    :func:`xinpaint.experiments.jit_compile_of`); a step is one optimiser step on a
    synthetic batch of the profile's size (``batch_size`` crops of ``crop_size``², or
    ``patch_batch_size`` patches of ``patch_shape``). After two untimed steps each (tracing
    and compilation), the models take turns in ``rounds`` rounds of ``steps`` steps, and
    each keeps its fastest round, so that a busy moment of the machine weighs on all of
    them alike. The times are the optimiser's: sampling the crops and validating, which a
    run also spends, are not in them.

    Parameters
    ----------
    models : dict
        Name → ``(variant, profile)``; a profile is a :class:`~xinpaint.profiles.Profile`
        or the name of one.
    rounds, steps : int, keyword-only
        Rounds of timed steps (at least 1), and steps in a round (at least 1).

    Returns
    -------
    dict
        Name → ``{"cpu_seconds": ..., "wall_seconds": ...}`` a step (``cpu_seconds`` is the
        process's CPU time, all its threads).

    References
    ----------
    Georges, A., Buytaert, D. & Eeckhout, L. (2007). Statistically rigorous Java
    performance evaluation. OOPSLA '07, 57–76 (warm-up excluded, repeated measurements).
    https://doi.org/10.1145/1297027.1297033

    Examples
    --------
    >>> from xinpaint.costs import step_seconds
    >>> cost = step_seconds({"hybrid": ("hybrid", "smoke")}, rounds=1, steps=1)
    >>> sorted(cost["hybrid"])
    ['cpu_seconds', 'wall_seconds']
    """
    import time

    import keras

    from xinpaint.experiments import _loss, build_variant, jit_compile_of

    if not isinstance(models, dict) or not models:
        raise ValueError(f"Expected models, a non-empty dict of name -> (variant, profile). "
                         f"Received models={models!r}.")
    for key, value in (("rounds", rounds), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Expected {key} a whole number >= 1. Received {key}={value!r}.")
    built = {}
    for name, spec in models.items():
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise ValueError(f"Expected models[{name!r}] = (variant, profile). "
                             f"Received models[{name!r}]={spec!r}.")
        variant, prof = spec[0], get_profile(spec[1])
        keras.utils.set_random_seed(0)
        model = build_variant(variant, prof)
        model.compile(keras.optimizers.Adam(1e-4), _loss(variant),
                      jit_compile=jit_compile_of(variant, prof))
        batch = synthetic_batch(variant, model, prof)
        for _ in range(2):  # tracing and XLA compilation are not timed
            model.train_on_batch(*batch)
        built[name] = (model, batch)
    best = {name: {"cpu_seconds": float("inf"), "wall_seconds": float("inf")} for name in built}
    for _ in range(rounds):
        for name, (model, batch) in built.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(*batch)
            cpu, wall = (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps
            best[name] = {"cpu_seconds": min(best[name]["cpu_seconds"], cpu),
                          "wall_seconds": min(best[name]["wall_seconds"], wall)}
    return best


@dataclass(frozen=True)
class SizeChoice:
    """What :func:`choose_sizes` found.

    Attributes
    ----------
    keep : dict
        Family → the sizes that lose nothing on val for it, in the order given.
    chosen : dict
        Family → the cheapest of its ``keep``.
    footing : str or None
        The cheapest of :attr:`shared` by the cost summed over the families; None where no
        sizes lose nothing for every family.
    """

    keep: dict
    chosen: dict
    footing: str | None

    @property
    def shared(self) -> list:
        """The sizes that every family keeps, in the order given."""
        first, *others = self.keep.values()
        return [name for name in first if all(name in names for names in others)]


def _finite_nonnegative(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def _check_table(name: str, table, sizes=None) -> list:
    if not isinstance(table, dict) or not table:
        raise ValueError(f"Expected {name}, a non-empty dict of family -> {{sizes: value}}. "
                         f"Received {name}={table!r}.")
    for family, row in table.items():
        if not isinstance(row, dict) or not row:
            raise ValueError(f"Expected {name}[{family!r}], a non-empty dict of sizes -> value. "
                             f"Received {name}[{family!r}]={row!r}.")
        if sizes is not None and list(row) != sizes:
            raise ValueError(f"Expected {name}[{family!r}] to have the sizes {sizes!r}. "
                             f"Received {list(row)!r}.")
        sizes = list(row)
        for key, value in row.items():
            if not _finite_nonnegative(value):
                raise ValueError(f"Expected {name}[{family!r}][{key!r}] a finite number >= 0. "
                                 f"Received {value!r}.")
    return sizes


def choose_sizes(val_loss: dict, cost: dict, *, rel_tol: float) -> SizeChoice:
    """The cheapest sizes that lose nothing on val, per family and shared by all.

    Sizes *lose nothing* for a family when their validation loss is within ``rel_tol`` of
    the family's best, ``loss <= min(loss) * (1 + rel_tol)`` (the relative improvement that
    the plateau rule calls no improvement). Of those, each family's cheapest is its
    ``chosen``. Since the families of a comparison must share their sizes to differ in one
    thing only, ``footing`` is the cheapest, by the cost summed over the families, of the
    sizes that lose nothing for every family; ties keep the order given.

    Parameters
    ----------
    val_loss, cost : dict
        Family → {sizes → value}: the validation loss at the kept epoch, and the cost to the
        plateau (for instance CPU seconds a step, side by side, times the steps). Every family
        lists the same sizes in the same order, in both.
    rel_tol : float, keyword-only
        The relative tolerance, >= 0.

    Returns
    -------
    SizeChoice

    References
    ----------
    Prechelt, L. (1998). Early stopping — but when? In Neural Networks: Tricks of the Trade,
    55–69 (the relative improvement that counts as none). https://doi.org/10.1007/3-540-49430-8_3

    Examples
    --------
    >>> from xinpaint.costs import choose_sizes
    >>> c = choose_sizes({"a": {"big": 1.0, "small": 1.004}, "b": {"big": 1.0, "small": 2.0}},
    ...                  {"a": {"big": 10.0, "small": 5.0}, "b": {"big": 10.0, "small": 5.0}},
    ...                  rel_tol=0.005)
    >>> c.chosen, c.footing
    ({'a': 'small', 'b': 'big'}, 'big')
    """
    sizes = _check_table("val_loss", val_loss)
    _check_table("cost", cost, sizes)
    if list(cost) != list(val_loss):
        raise ValueError(f"Expected cost to have the families of val_loss, {list(val_loss)!r}. "
                         f"Received {list(cost)!r}.")
    if not _finite_nonnegative(rel_tol):
        raise ValueError(f"Expected rel_tol a finite number >= 0. Received rel_tol={rel_tol!r}.")
    keep = {}
    for family, row in val_loss.items():
        best = min(row.values())
        keep[family] = [name for name in sizes if row[name] <= best * (1 + rel_tol)]
    chosen = {family: min(names, key=lambda name: cost[family][name])
              for family, names in keep.items()}
    shared = SizeChoice(keep=keep, chosen=chosen, footing=None).shared
    footing = (min(shared, key=lambda name: sum(cost[family][name] for family in cost))
               if shared else None)
    return SizeChoice(keep=keep, chosen=chosen, footing=footing)

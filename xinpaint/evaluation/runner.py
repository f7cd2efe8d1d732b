"""The evaluation runner: :func:`evaluate_methods` and what it returns, :class:`Evaluation`.

Which array each score uses
---------------------------
A sequence carries two stacks of frames (see :class:`xinpaint.data.XraySequence`):

- ``observed``: what the detector gives, with its noise and the metal on it. The
  methods receive these frames, with the hidden pixels set to 0 (the
  :attr:`Evaluation.inputs`): the metal's values never reach a method.
- ``target`` (``frames`` in sequences that have no ``target``): the noise-free,
  metal-free frames. Every metric compares a method's output with them
  (:attr:`Evaluation.targets`): the PSNR, SSIM and MAE in the holes and on the
  whole image of :func:`xinpaint.metrics.evaluate`, the bins of
  :func:`~xinpaint.evaluation.bins.bin_rows` and the regions.

A sequence without ``observed`` is fed its ``frames`` (or ``target``). Under the
ideal physics ``observed`` equals the target outside the holes, so the inputs, and
the scores, are those of the noise-free frames. The whole-image scores (``psnr``,
``ssim``, ``mae``, ``mse``) include the visible pixels, which a method returns as it
received them: on noisy frames they measure the noise of the input, the same for
every method that keeps the visible pixels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from xinpaint.evaluation.bins import bin_rows, hole_components, size_bins
from xinpaint.evaluation.methods import _as_methods
from xinpaint.evaluation.tables import BIN_COLUMNS, REGION_COLUMNS, TABLE_COLUMNS, Table
from xinpaint.evaluation.writer import write_results

__all__ = ["Evaluation", "evaluate_methods"]


@dataclass
class Evaluation:
    """What :func:`evaluate_methods` returns.

    Attributes
    ----------
    rows : Table
        One row per method from :func:`xinpaint.metrics.evaluate` (keys ``method,
        hole_psnr, hole_ssim, hole_mae, hole_mse, psnr, ssim, mae, mse,
        seconds_per_frame, n_frames``).
    bins : Table
        One row per method and hole-size bin (see :func:`bin_rows`).
    targets, holes : (N, H, W) ndarray
        The ground truth (each sequence's ``target``, else ``frames``: noise-free,
        metal-free) and holes, sequences concatenated.
    inputs : (N, H, W) ndarray
        What the methods received: the observed frames (``observed``, else
        ``frames``) with hidden pixels set to 0.
    outputs : dict of str to (N, H, W) ndarray
        Each method's output (empty when ``keep_outputs=False``).
    widths, areas : ndarray of int
        Width (pixels, inscribed-disc diameter) and area (pixels) of each hole
        component (see :func:`hole_components`).
    component_sq : dict of str to (n,) ndarray of float
        Per method, the sum of squared errors (output − target, data range 1) over
        the pixels of each hole component, in the order of ``widths`` and ``areas``
        (the labels :func:`bin_rows` uses): ``component_sq[m][i] / areas[i]`` is the
        MSE of component ``i``. Written to the JSON as ``"components"``; what
        :func:`~xinpaint.evaluation.compare.paired_difference` resamples.
    component_sequence : (n,) ndarray of int
        Index, in the ``sequences`` given to :func:`evaluate_methods`, of the
        sequence whose frames hold each hole component (in the order of ``widths``):
        the components of one sequence (the same metal in neighbouring frames) are
        not independent, and
        :func:`~xinpaint.evaluation.compare.paired_difference` resamples them
        together. Written to the JSON as ``"components"["sequence"]``.
    regions : Table
        One row per method and region: metrics over the hidden pixels of the region
        (see ``regions`` of :func:`evaluate_methods`); empty without regions.
    region_masks : dict of str to (N, H, W) ndarray of bool
        The hidden pixels of each region (holes ∩ region) in the evaluated frames.
    volumes : Table
        One row per method and sequence from the ``volume`` callback of
        :func:`evaluate_methods` (``method, sequence`` and the callback's keys);
        empty without it.
    paths : dict of str to Path
        Files written (``json``, ``csv``, ``bins_csv``, and ``volumes_csv``).
    """

    rows: Table
    bins: Table
    targets: np.ndarray
    holes: np.ndarray
    inputs: np.ndarray
    outputs: dict = field(default_factory=dict)
    widths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    areas: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    component_sq: dict = field(default_factory=dict)
    component_sequence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    regions: Table = field(default_factory=lambda: Table([], REGION_COLUMNS))
    region_masks: dict = field(default_factory=dict)
    volumes: Table = field(default_factory=Table)
    paths: dict = field(default_factory=dict)
    data: str = "ideal"

    def _repr_html_(self) -> str:
        return self.rows.to_html()


@dataclass
class _Picked:
    """One evaluated sequence: its frames (truncated), and where it came from."""

    index: int
    sequence: object
    observed: np.ndarray
    target: np.ndarray
    holes: np.ndarray
    extra: dict


def _array(seq, name: str, fallback: np.ndarray | None = None) -> np.ndarray | None:
    """``seq.<name>`` as an array, or ``fallback`` where the sequence has none."""
    value = getattr(seq, name, None)
    return fallback if value is None else np.asarray(value)


def _select(sequences, max_frames, attributes=()) -> list[_Picked]:
    """The sequences' (observed, target, holes), truncated to ``max_frames`` frames in all.

    With ``attributes``, ``extra`` holds ``{name: array}`` of those boolean (T, H, W)
    attributes of the sequence, truncated alike.
    """
    picked, total = [], 0
    for i, seq in enumerate(sequences):
        frames = _array(seq, "target", _array(seq, "frames"))
        holes = getattr(seq, "holes", None)
        if frames is None or holes is None:
            raise ValueError(
                f"Expected sequences with .frames and .holes. Received sequences[{i}] of type {type(seq).__name__}."
            )
        observed = _array(seq, "observed", frames)
        holes = np.asarray(holes)
        if frames.ndim == 2:
            frames, observed, holes = frames[None], observed[None], holes[None]
        if frames.ndim != 3:
            raise ValueError(
                f"Expected (T, H, W) frames in each sequence. Received sequences[{i}].frames.shape={frames.shape}."
            )
        if holes.shape != frames.shape or holes.dtype != bool:
            raise ValueError(
                f"Expected boolean holes of the frames' shape {frames.shape} in each sequence. "
                f"Received sequences[{i}].holes with shape={holes.shape}, dtype={holes.dtype}."
            )
        if observed.shape != frames.shape:
            raise ValueError(
                f"Expected observed frames of the frames' shape {frames.shape} in each sequence. "
                f"Received sequences[{i}].observed.shape={observed.shape}."
            )
        extra = {}
        for name in attributes:
            value = np.asarray(getattr(seq, name, None))
            if value.shape != frames.shape or value.dtype != bool:
                raise ValueError(
                    f"Expected a boolean region {name!r} of the frames' shape {frames.shape} in each "
                    f"sequence. Received sequences[{i}].{name} with shape={value.shape}, "
                    f"dtype={value.dtype}."
                )
            extra[name] = value
        if max_frames is not None:
            n = max_frames - total
            frames, observed, holes = frames[:n], observed[:n], holes[:n]
            extra = {k: v[:n] for k, v in extra.items()}
        if len(frames):
            picked.append(
                _Picked(
                    index=i,
                    sequence=seq,
                    observed=observed.astype(np.float32, copy=False),
                    target=frames.astype(np.float32, copy=False),
                    holes=holes,
                    extra=extra,
                )
            )
            total += len(frames)
        if max_frames is not None and total >= max_frames:
            break
    if not picked:
        raise ValueError("Expected at least one sequence with frames. Received none.")
    return picked


def evaluate_methods(
    sequences,
    methods,
    *,
    chapter: str | None = None,
    profile=None,
    split: str = "test",
    max_frames: int | None = None,
    bins: Sequence[tuple[str, float, float]] | None = None,
    keep_outputs: bool = True,
    warmup: bool = True,
    seed: int | None = None,
    regions: Mapping[str, str] | None = None,
    volume: Callable[[object, np.ndarray], Mapping] | None = None,
) -> Evaluation:
    """Run methods on the same frames and holes, score them, and record the results.

    Parameters
    ----------
    sequences : sequence of objects with ``.frames`` and ``.holes``
        Test sequences (e.g. :class:`xinpaint.data.XraySequence` from
        :func:`xinpaint.data.load_split`): ``holes`` (T, H, W) bool, True where metal
        hides a pixel; ``observed`` (T, H, W) float, what the methods are fed
        (optional: ``frames`` where absent); ``target`` (optional: else ``frames``),
        the noise-free, metal-free ground truth every score uses (see the module
        docstring).
    methods : dict or list
        Names of baselines (:data:`xinpaint.baselines.METHODS`, or a denoised variant
        such as ``"biharmonic (σ 0.75)"``) or callables ``f(frames, holes) -> frames``
        on (T, H, W) arrays (e.g. :func:`keras_method`,
        :func:`xinpaint.baselines.smoothed`, or a MAR method with its geometry bound);
        a dict maps display names to them, a list uses the baseline name or the
        callable's ``__name__``. Methods receive the observed frames with hidden
        pixels set to 0; every method sees whole sequences (so temporal methods see
        the neighbouring frames). A callable whose ``inputs`` attribute names
        attributes of the sequences (e.g. ``("prior",)`` for a prior-guided model of
        :func:`xinpaint.experiments.variant_method`) also receives them, as keyword
        arguments truncated like the frames.
    chapter : str, optional
        Chapter name; when given with ``profile``, the results are written to
        ``results_dir(profile) / f"{chapter}.json"`` and ``{chapter}.csv`` (one row
        per method) and ``{chapter}-bins.csv`` (one row per method and bin) beside it.
    profile : str or Profile, optional
        Run profile (also the default of ``max_frames``: ``max_eval_frames``).
    split : str
        Name of the split, recorded in the JSON.
    max_frames : int, optional
        Evaluate at most this many frames: the sequences are taken in order and the
        last one truncated. Default: the profile's ``max_eval_frames``, else all.
    bins : sequence of (name, min_width, max_width), optional
        Hole-size bins; default :func:`size_bins` of the frames' width.
    keep_outputs : bool
        Keep each method's outputs in the result (for figures).
    warmup : bool
        Call each method once, untimed, on the first frame before timing it, so
        that one-time costs (lazy imports, Keras graph tracing) are not counted.
    seed : int, optional
        Seed of the bootstrap; default :data:`xinpaint.chapter.SEED`.
    regions : dict of str to str, optional
        Regions to score separately, as ``{region name: attribute of the sequences}``,
        e.g. ``{"ribs": "ribs"}`` for :attr:`XraySequence.ribs`: each attribute is a
        boolean (T, H, W) array; metrics (PSNR, SSIM, gradient SSIM, MAE) are computed
        over the hidden pixels of the region (holes ∩ region), frames with none
        skipped, and written to the JSON as ``"regions"``.
    volume : callable, optional
        ``volume(sequence, output) -> dict``, called (untimed) for each method and each
        evaluated sequence with the sequence object and the method's (T, H, W) output
        for it, e.g. to reconstruct the volume and score it. Its dict (metric name to
        number) becomes a row ``{"method", "sequence": index, **dict}`` of
        :attr:`Evaluation.volumes`, written to the JSON as ``"volumes"``. With
        ``max_frames`` the output may hold only the first frames of the last sequence.

    Returns
    -------
    Evaluation
        ``rows`` and ``bins`` tables, the evaluated arrays, outputs, the squared
        errors per hole component (``component_sq``), the sequence of each
        component (``component_sequence``) and paths.

    Raises
    ------
    ValueError
        If a sequence lacks ``frames``/``holes`` or has bad shapes, a method is
        neither a baseline name nor a callable, a method returns an array of
        another shape or non-finite values in the holes, ``volume`` is not callable,
        or it returns something else than a dict.

    Examples
    --------
    >>> from xinpaint.data import load_split  # doctest: +SKIP
    >>> res = evaluate_methods(load_split("test", profile="smoke"),
    ...                        ["linear", "biharmonic"], chapter="interpolation",
    ...                        profile="smoke")  # doctest: +SKIP
    >>> res.rows.to_markdown()  # doctest: +SKIP
    """
    from xinpaint import metrics
    from xinpaint.chapter import SEED

    prof = None
    if profile is not None:
        from xinpaint.profiles import get_profile

        prof = get_profile(profile)
        if max_frames is None:
            max_frames = prof.max_eval_frames
    if max_frames is not None and (not isinstance(max_frames, int | np.integer) or max_frames < 1):
        raise ValueError(
            f"Expected a positive number of frames. Received max_frames={max_frames!r}."
        )
    if volume is not None and not callable(volume):
        raise ValueError(
            f"Expected volume to be a callable volume(sequence, output) -> dict. Received volume={volume!r}."
        )
    fns = _as_methods(methods)
    regions = dict(regions or {})
    sequences = list(sequences)
    picked = _select(sequences, max_frames, tuple(regions.values()))
    targets = np.concatenate([p.target for p in picked])
    holes = np.concatenate([p.holes for p in picked])
    region_masks = {
        name: holes & np.concatenate([p.extra[attr] for p in picked])
        for name, attr in regions.items()
    }
    inputs = np.where(holes, np.float32(0), np.concatenate([p.observed for p in picked]))
    components = hole_components(holes)
    seed = SEED if seed is None else seed
    if bins is None:
        bins = size_bins(int(targets.shape[-1]))

    rows, bin_table, region_table, volume_table, outputs = [], [], [], [], {}
    component_sq = {}
    for name, fn in fns.items():
        parts, seconds = [], 0.0
        start = 0
        extras = [_inputs_of(fn, name, p) for p in picked]
        if warmup:
            fn(inputs[:1].copy(), holes[:1].copy(), **{k: v[:1] for k, v in extras[0].items()})
        for p, extra in zip(picked, extras, strict=True):
            x = inputs[start : start + len(p.target)]
            start += len(p.target)
            t0 = time.perf_counter()
            y = fn(x.copy(), p.holes.copy(), **extra)
            seconds += time.perf_counter() - t0
            y = np.asarray(y)
            if y.shape != x.shape:
                raise ValueError(
                    f"Expected method {name!r} to return frames of shape {x.shape}. Received shape={y.shape}."
                )
            if not np.isfinite(y[p.holes]).all():
                raise ValueError(
                    f"Expected finite values in the holes from method {name!r}. Received non-finite values."
                )
            y = y.astype(np.float32, copy=False)
            parts.append(y)
            if volume is not None:
                scores = volume(p.sequence, y)
                if not isinstance(scores, Mapping):
                    raise ValueError(
                        "Expected volume(sequence, output) to return a dict of scores. "
                        f"Received {type(scores).__name__} for method {name!r}, sequences[{p.index}]."
                    )
                volume_table.append({"method": name, "sequence": p.index, **scores})
        out = np.concatenate(parts)
        row = metrics.evaluate(targets, out, holes, method=name, seconds=seconds)
        rows.append(dict(row))
        bin_table.extend(
            bin_rows(targets, out, holes, method=name, bins=bins, seed=seed, components=components)
        )
        region_table.extend(
            _region_row(targets, out, mask, method=name, region=region)
            for region, mask in region_masks.items()
        )
        component_sq[name] = _component_sq(targets, out, holes, components)
        if keep_outputs:
            outputs[name] = out

    result = Evaluation(
        rows=Table(rows, TABLE_COLUMNS),
        bins=Table(bin_table, BIN_COLUMNS),
        targets=targets,
        holes=holes,
        inputs=inputs,
        outputs=outputs,
        widths=components[1],
        areas=components[2],
        component_sq=component_sq,
        component_sequence=_component_sequence(picked, components),
        regions=Table(region_table, REGION_COLUMNS),
        region_masks=region_masks,
        volumes=Table(volume_table),
        data="+".join(sorted({str(getattr(s, "physics", "ideal")) for s in sequences})),
    )
    if chapter is not None and prof is not None:
        result.paths = write_results(result, chapter=chapter, profile=prof, split=split)
    return result


def _inputs_of(fn, name, picked) -> dict:
    """The sequence attributes that method ``fn`` asks for (its ``inputs``), truncated."""
    out = {}
    for attr in getattr(fn, "inputs", ()) or ():
        value = getattr(picked.sequence, attr, None)
        if value is None:
            raise ValueError(
                f"Expected sequences with {attr!r} for method {name!r}. "
                f"Received sequences[{picked.index}].{attr}=None."
            )
        value = np.asarray(value)[: len(picked.holes)]
        if value.shape != picked.holes.shape:
            raise ValueError(
                f"Expected {attr!r} of the frames' shape {picked.holes.shape} for method {name!r}. "
                f"Received sequences[{picked.index}].{attr} with shape={value.shape}."
            )
        out[attr] = value
    return out


def _component_sq(targets, outputs, holes, components) -> np.ndarray:
    """Sum of squared errors over each hole component (float64, as in :func:`bin_rows`)."""
    labels, widths, _ = components
    err = outputs[holes].astype(np.float64) - targets[holes].astype(np.float64)
    return np.bincount(labels[holes], weights=err**2, minlength=len(widths) + 1)[1:]


def _component_sequence(picked, components) -> np.ndarray:
    """Index in ``sequences`` of the sequence holding each hole component."""
    labels, widths, _ = components
    sequence_of_frame = np.repeat([p.index for p in picked], [len(p.target) for p in picked])
    frame, _, _ = np.nonzero(labels)
    out = np.zeros(len(widths), dtype=np.int64)
    out[labels[labels > 0] - 1] = sequence_of_frame[frame]
    return out


def _region_row(targets, outputs, mask, *, method, region) -> dict:
    """Metrics over the pixels of ``mask`` (holes ∩ region); NaN where it is empty."""
    from xinpaint import metrics

    row = {"method": method, "region": region, "n_pixels": int(mask.sum())}
    if not mask.any():
        return row | {k: math.nan for k in ("psnr", "ssim", "gradient_ssim", "mae")}
    return row | {
        "psnr": metrics.psnr(targets, outputs, holes=mask),
        "ssim": metrics.ssim(targets, outputs, holes=mask),
        "gradient_ssim": metrics.gradient_ssim(targets, outputs, holes=mask),
        "mae": metrics.mae(targets, outputs, holes=mask),
    }

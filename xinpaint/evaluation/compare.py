"""Does method A beat method B in the holes? :func:`paired_difference`.

The difference of two methods' pooled PSNR in the holes, with a 95 % confidence
interval from a paired percentile bootstrap over the evaluated sequences: each
resample draws whole sequences (all their hole components together) with
replacement and scores *both* methods on the same draw, so that what the two methods
have in common (a component hard for every method) cancels out of the difference,
while the components of one sequence, the same metal in neighbouring frames, stay
together. It reads the squared errors per hole component and the sequence of each
component that :func:`~xinpaint.evaluation.evaluate_methods` keeps
(:attr:`~xinpaint.evaluation.Evaluation.component_sq`,
:attr:`~xinpaint.evaluation.Evaluation.component_sequence`) and writes into the
chapter's JSON record (``"components"``), so a claim can be checked in the chapter
or later from the record alone.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from xinpaint.evaluation.bins import MSE_FLOOR

__all__ = ["paired_difference"]

#: Most resampled component indices held in memory at once by the bootstrap.
_CHUNK = 4_000_000


#: The resampling units of :func:`paired_difference` (``cluster=``) and what it reports.
CLUSTERS = {"sequence": "sequences", "component": "components"}

#: The ``"note"`` of a result whose record holds no sequence per component.
NO_SEQUENCES_NOTE = (
    "no sequence recorded per hole component (a record or Evaluation from before they "
    "were kept): the components were resampled as if independent, which gives too narrow "
    "an interval where neighbouring frames hold the same metal"
)


def _components_of(result):
    """``(widths, areas, sequence or None, {method: squared errors})`` of an Evaluation or record."""
    from xinpaint.evaluation.runner import Evaluation

    if isinstance(result, Evaluation):
        if not result.component_sq:
            raise ValueError(
                "Expected an evaluation with squared errors per hole component "
                "(Evaluation.component_sq, kept by evaluate_methods). Received an Evaluation "
                "with component_sq={}."
            )
        sequence = getattr(result, "component_sequence", None)
        if sequence is not None and len(sequence) == 0 and len(result.widths):
            sequence = None  # an Evaluation built without them
        return result.widths, result.areas, sequence, result.component_sq
    if not isinstance(result, Mapping):
        raise ValueError(
            "Expected an Evaluation or a loaded JSON record (dict) of evaluate_methods. "
            f"Received result of type {type(result).__name__}."
        )
    components = result.get("components")
    if components is None:
        chapter = result.get("chapter")
        where = f" of chapter {chapter!r}" if chapter is not None else ""
        raise ValueError(
            "Expected a record with squared errors per hole component (its \"components\" "
            f"entry, written by write_results). Received a record{where} without component "
            "errors: evaluate the methods again to record them."
        )
    if not isinstance(components, Mapping) or not {"widths", "areas", "sq_error"} <= set(components):
        raise ValueError(
            'Expected result["components"] to hold "widths", "areas" and "sq_error". Received '
            + (f"keys {sorted(components)}." if isinstance(components, Mapping)
               else f"{type(components).__name__}.")
        )
    return (components["widths"], components["areas"], components.get("sequence"),
            components["sq_error"])


def _check_width(name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"Expected {name} to be a number of pixels or None. Received {name}={value!r}.")
    return float(value)


def _pooled_psnr(sq_sum, n_pixels):
    """10·log10(1 / MSE) of the pooled pixels, MSE floored at :data:`MSE_FLOOR` (data range 1)."""
    return 10 * np.log10(1.0 / np.maximum(np.asarray(sq_sum) / n_pixels, MSE_FLOOR))


def paired_difference(
    result,
    a: str,
    b: str,
    *,
    seed: int = 0,
    n_boot: int = 2000,
    min_width: float | None = None,
    max_width: float | None = None,
    cluster: str = "sequence",
) -> dict:
    """Difference of two methods' pooled PSNR in the holes, with a paired bootstrap 95 % CI.

    Both methods are scored on the pixels of the selected hole components pooled:
    ``PSNR = 10 log10(1 / MSE)``, ``MSE = Σ squared errors / Σ areas`` (data range 1,
    as the runner's scores; MSE floored at :data:`~xinpaint.evaluation.MSE_FLOOR`).
    This is the ``pooled_psnr`` of :func:`~xinpaint.evaluation.bin_rows`, not the
    frame-averaged ``hole_psnr`` of the rows, which differs slightly. The confidence
    interval is the 2.5th and 97.5th percentiles of the difference over ``n_boot``
    resamples with replacement of the clusters, by default the evaluated sequences:
    each resample sums the squared errors and the areas of the selected components of
    the clusters drawn, the same draw for both methods (a paired percentile cluster
    bootstrap [1]_ [2]_; see the Notes).

    Parameters
    ----------
    result : Evaluation or dict
        What :func:`~xinpaint.evaluation.evaluate_methods` returned, or its JSON
        record loaded with :func:`json.load` (``<chapter>.json``, with its
        ``"components"`` entry).
    a, b : str
        Names of the two methods, as in the rows.
    seed : int, optional
        Seed of the bootstrap.
    n_boot : int, optional
        Number of bootstrap resamples.
    min_width, max_width : float, optional
        Keep only the components whose width (pixels) is in ``[min_width,
        max_width]`` (inclusive), e.g. the edges of a size bin; default: no limit.
    cluster : {"sequence", "component"}, optional
        What a resample draws. ``"sequence"`` (default): whole sequences, the
        sequences given to :func:`~xinpaint.evaluation.evaluate_methods` (e.g. the
        blocks of :func:`xinpaint.data.frame_blocks`), each with all its selected
        components. ``"component"``: single components, as if independent (too
        narrow an interval where neighbouring frames hold the same metal). A result
        or record without a sequence per component (written before they were kept)
        falls back to ``"component"`` and says so (``resampled`` and ``note``).

    Returns
    -------
    dict
        ``method_a, method_b``: the names; ``psnr_a, psnr_b``: pooled PSNR (dB) over
        the selected components; ``difference_db``: ``psnr_a - psnr_b``; ``ci_low,
        ci_high``: its 95 % percentile-bootstrap interval; ``n_holes``: selected
        components; ``n_pixels``: their pixels; ``supported``: ``ci_low > 0``, i.e. A
        beats B at 95 %; ``resampled``: ``"sequences"`` or ``"components"``, the
        clusters drawn; ``n_clusters``: how many there are (the sequences holding a
        selected component, or the components); ``note``: None, or why the
        components were resampled although ``cluster="sequence"`` was asked for.
        With a single cluster (e.g. one sequence) there is nothing to resample: the
        point estimate is returned with ``ci_low = ci_high = nan`` and
        ``supported=False``.

    Raises
    ------
    ValueError
        If ``result`` is neither an Evaluation nor a record dict, holds no squared
        errors per component (records written before they were kept), ``a`` or ``b``
        names no method of it, ``seed`` or ``n_boot`` is not a suitable integer, the
        width limits are not numbers or ``min_width > max_width``, no component
        has a width within them, ``cluster`` is neither ``"sequence"`` nor
        ``"component"``, or the widths, areas, sequences and errors differ in length.

    Notes
    -----
    The bootstrap assumes that what it draws is independent. Hole components are
    not: the evaluated frames are contiguous blocks of a scan (e.g. 16 frames 1°
    apart), and the same screw appears in every frame of a block with nearly the
    same error, so resampling components as if independent counts one screw 16
    times and gives far too narrow an interval. Resampling whole clusters of
    dependent units, here the sequences, keeps the dependence within a cluster and
    relies only on the clusters being independent ([2]_, sec. 3.8, on resampling
    clusters in hierarchical data). The interval is then only as good as the number
    of clusters allows: with a few sequences it is coarse (it rests on few distinct
    values) and tends to be too narrow, a caveat worth stating beside a claim.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*,
           Chapman & Hall/CRC, 1993, ch. 13. :DOI:`10.1201/9780429246593`
    .. [2] A. C. Davison and D. V. Hinkley, *Bootstrap Methods and their
           Application*, Cambridge University Press, 1997.
           :DOI:`10.1017/CBO9780511802843`

    Examples
    --------
    >>> record = {"components": {"widths": [2, 5, 9, 19], "areas": [40, 60, 90, 300],
    ...           "sequence": [0, 0, 1, 1],
    ...           "sq_error": {"a": [0.004, 0.006, 0.009, 0.03],
    ...                        "b": [0.008, 0.012, 0.018, 0.06]}}}
    >>> d = paired_difference(record, "a", "b")
    >>> round(d["difference_db"], 3), d["n_holes"], d["n_pixels"]
    (3.01, 4, 490)
    >>> round(d["ci_low"], 3), round(d["ci_high"], 3), d["supported"]  # B's errors are twice A's
    (3.01, 3.01, True)
    >>> d["resampled"], d["n_clusters"]
    ('sequences', 2)
    >>> paired_difference(record, "a", "b", cluster="component")["n_clusters"]
    4
    >>> d = paired_difference(record, "a", "b", max_width=5)  # one sequence left: no interval
    >>> d["n_holes"], d["n_clusters"], d["ci_low"], d["supported"]
    (2, 1, nan, False)
    """
    if not isinstance(cluster, str) or cluster not in CLUSTERS:
        raise ValueError(
            f'Expected cluster="sequence" or "component". Received cluster={cluster!r}.'
        )
    widths, areas, sequence, sq_error = _components_of(result)
    methods = list(sq_error)
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, str) or value not in sq_error:
            raise ValueError(
                f"Unknown method: expected one of {', '.join(methods)}. Received {name}={value!r}."
            )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"Expected a non-negative integer seed. Received seed={seed!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(
            f"Expected a positive number of bootstrap resamples. Received n_boot={n_boot!r}."
        )
    lo = _check_width("min_width", min_width)
    hi = _check_width("max_width", max_width)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(
            f"Expected min_width <= max_width. Received min_width={min_width!r}, max_width={max_width!r}."
        )
    widths = np.asarray(widths, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64)
    sq_a = np.asarray(sq_error[a], dtype=np.float64)
    sq_b = np.asarray(sq_error[b], dtype=np.float64)
    if not (widths.ndim == 1 and widths.shape == areas.shape == sq_a.shape == sq_b.shape):
        raise ValueError(
            "Expected one width, area and squared error per hole component. Received "
            f"{widths.size} widths, {areas.size} areas, {sq_a.size} errors of {a!r} and "
            f"{sq_b.size} of {b!r}."
        )
    note = None
    if cluster == "sequence" and sequence is None:
        cluster, note = "component", NO_SEQUENCES_NOTE
    if cluster == "sequence":
        sequence = np.asarray(sequence)
        if sequence.shape != widths.shape or not (
            sequence.size == 0 or np.issubdtype(sequence.dtype, np.integer)
        ):
            raise ValueError(
                "Expected one sequence index (an integer) per hole component. Received "
                f"{sequence.size} sequence indices of dtype {sequence.dtype} for "
                f"{widths.size} components."
            )

    sel = np.ones(widths.shape, dtype=bool)
    if lo is not None:
        sel &= widths >= lo
    if hi is not None:
        sel &= widths <= hi
    if not sel.any():
        span = f"{widths.min():g}–{widths.max():g} px" if widths.size else "none"
        raise ValueError(
            f"Expected at least one hole component with a width in [min_width, max_width]. "
            f"Received min_width={min_width!r}, max_width={max_width!r} (widths recorded: {span})."
        )
    sq_a, sq_b, areas = sq_a[sel], sq_b[sel], areas[sel]
    n = len(areas)
    n_pixels = areas.sum()
    psnr_a = float(_pooled_psnr(sq_a.sum(), n_pixels))
    psnr_b = float(_pooled_psnr(sq_b.sum(), n_pixels))

    # the clusters: sums of the squared errors and areas of their selected components
    if cluster == "sequence":
        _, members = np.unique(sequence[sel], return_inverse=True)
        k = int(members.max()) + 1
        sq_a, sq_b, areas = (np.bincount(members, weights=v, minlength=k) for v in (sq_a, sq_b, areas))
    k = len(areas)

    if k < 2:  # one cluster: nothing to resample
        ci_low = ci_high = math.nan
    else:  # paired percentile bootstrap: one draw of clusters for both methods
        rng = np.random.default_rng(seed)
        diffs = np.empty(n_boot)
        step = max(1, _CHUNK // k)
        for start in range(0, n_boot, step):
            idx = rng.integers(0, k, size=(min(step, n_boot - start), k))
            pix = areas[idx].sum(axis=1)
            diffs[start : start + len(idx)] = _pooled_psnr(sq_a[idx].sum(axis=1), pix) - _pooled_psnr(
                sq_b[idx].sum(axis=1), pix
            )
        ci_low, ci_high = (float(v) for v in np.percentile(diffs, [2.5, 97.5]))
    return {
        "method_a": a,
        "method_b": b,
        "psnr_a": psnr_a,
        "psnr_b": psnr_b,
        "difference_db": psnr_a - psnr_b,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "n_holes": int(n),
        "n_pixels": int(n_pixels),
        "supported": bool(ci_low > 0),
        "resampled": CLUSTERS[cluster],
        "n_clusters": k,
        "note": note,
    }

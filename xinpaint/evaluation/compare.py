"""Does method A beat method B in the holes? :func:`paired_difference`.

The difference of two methods' pooled PSNR in the holes, with a 95 % confidence
interval from a paired percentile bootstrap over the hole components: each resample
draws components with replacement and scores *both* methods on the same draw, so
that what the two methods have in common (a component hard for every method) cancels
out of the difference. It reads the squared errors per hole component that
:func:`~xinpaint.evaluation.evaluate_methods` keeps
(:attr:`~xinpaint.evaluation.Evaluation.component_sq`) and writes into the chapter's
JSON record (``"components"``), so a claim can be checked in the chapter or later
from the record alone.
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


def _components_of(result):
    """``(widths, areas, {method: squared errors})`` of an Evaluation or a loaded record."""
    from xinpaint.evaluation.runner import Evaluation

    if isinstance(result, Evaluation):
        if not result.component_sq:
            raise ValueError(
                "Expected an evaluation with squared errors per hole component "
                "(Evaluation.component_sq, kept by evaluate_methods). Received an Evaluation "
                "with component_sq={}."
            )
        return result.widths, result.areas, result.component_sq
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
    return components["widths"], components["areas"], components["sq_error"]


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
) -> dict:
    """Difference of two methods' pooled PSNR in the holes, with a paired bootstrap 95 % CI.

    Both methods are scored on the pixels of the selected hole components pooled:
    ``PSNR = 10 log10(1 / MSE)``, ``MSE = Σ squared errors / Σ areas`` (data range 1,
    as the runner's scores; MSE floored at :data:`~xinpaint.evaluation.MSE_FLOOR`).
    This is the ``pooled_psnr`` of :func:`~xinpaint.evaluation.bin_rows`, not the
    frame-averaged ``hole_psnr`` of the rows, which differs slightly. The confidence
    interval is the 2.5th and 97.5th percentiles of the difference over ``n_boot``
    resamples of the components with replacement, the same resample for both methods
    (a paired percentile bootstrap [1]_).

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

    Returns
    -------
    dict
        ``method_a, method_b``: the names; ``psnr_a, psnr_b``: pooled PSNR (dB) over
        the selected components; ``difference_db``: ``psnr_a - psnr_b``; ``ci_low,
        ci_high``: its 95 % percentile-bootstrap interval; ``n_holes``: selected
        components; ``n_pixels``: their pixels; ``supported``: ``ci_low > 0``, i.e. A
        beats B at 95 %.

    Raises
    ------
    ValueError
        If ``result`` is neither an Evaluation nor a record dict, holds no squared
        errors per component (records written before they were kept), ``a`` or ``b``
        names no method of it, ``seed`` or ``n_boot`` is not a suitable integer, the
        width limits are not numbers or ``min_width > max_width``, or no component
        has a width within them.

    Notes
    -----
    The components are resampled as if independent. Components of neighbouring
    frames of a sequence are the same metal seen from nearby angles, so the interval
    can be narrower than one that resampled whole sequences.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*,
           Chapman & Hall/CRC, 1993, ch. 13. :DOI:`10.1201/9780429246593`

    Examples
    --------
    >>> record = {"components": {"widths": [2, 5, 9, 19], "areas": [40, 60, 90, 300],
    ...           "sq_error": {"a": [0.004, 0.006, 0.009, 0.03],
    ...                        "b": [0.008, 0.012, 0.018, 0.06]}}}
    >>> d = paired_difference(record, "a", "b")
    >>> round(d["difference_db"], 3), d["n_holes"], d["n_pixels"]
    (3.01, 4, 490)
    >>> round(d["ci_low"], 3), round(d["ci_high"], 3), d["supported"]  # B's errors are twice A's
    (3.01, 3.01, True)
    >>> paired_difference(record, "a", "b", max_width=5)["n_holes"]
    2
    """
    widths, areas, sq_error = _components_of(result)
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
    n_pixels = areas.sum()
    psnr_a = float(_pooled_psnr(sq_a.sum(), n_pixels))
    psnr_b = float(_pooled_psnr(sq_b.sum(), n_pixels))

    # paired percentile bootstrap: one draw of components for both methods
    rng = np.random.default_rng(seed)
    n = len(areas)
    diffs = np.empty(n_boot)
    step = max(1, _CHUNK // n)
    for start in range(0, n_boot, step):
        idx = rng.integers(0, n, size=(min(step, n_boot - start), n))
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
    }

"""Hole-size bins: connected components of the holes, their widths and areas, scores per bin.

The holes of each frame are split into connected components (8-connectivity, within
a frame). A component's *width* is the diameter of the largest disc inscribed in it,
``2 * max(EDT) - 1`` pixels rounded, where EDT is the Euclidean distance of a hidden
pixel to the nearest visible pixel: ``w`` for a needle ``w`` pixels across when ``w``
is odd, ``w - 1`` when it is even, and about ``2 r - 1`` for a digital coin of
radius ``r``. Width is what makes a hole hard to interpolate (the distance from
its middle to the nearest known pixel is half of it), and it does not depend on the
length of a needle. A component's *area* is its number of pixels.

Like the published metal-artefact benchmarks, which report every table by metal
size (CNN-MAR, Zhang & Yu 2018: ten mask sizes), :data:`SIZE_BINS` has ten bins,
from a guide wire to a pacemaker, with widths for a detector 256 pixels wide:

============ ============== =========================================================
bin          width (pixels) typical metal (256-pixel detector over a chest)
============ ============== =========================================================
w 1–2 px     1–2            guide wires, thin wires
w 3–4 px     3–4            thin needles, K-wires
w 5–6 px     5–6            needles, cerclage wires
w 7–9 px     7–9            thick needles, screws seen edge-on
w 10–13 px   10–13          screws, small coil packs
w 14–19 px   14–19          screws seen end-on, coils, small coins
w 20–27 px   20–27          coins, coil packs
w 28–39 px   28–39          large coins, plates
w 40–59 px   40–59          plates, overlapping objects
w ≥ 60 px    60 and more    pacemakers, large plates, overlaps
============ ============== =========================================================

The same metal covers twice as many pixels on a detector twice as fine, and so does
the anatomy, so :func:`size_bins` scales the upper edges with the detector width
(``W / 256``, rounded half up): a bin holds the same metal in every profile. Bins
whose scaled range is empty (small detectors) are merged into the next one, so that
no two bins share a name; the names give the widths on the detector at hand:

=============== ===================================================================
detector        bins (widths in pixels)
=============== ===================================================================
256 px          1–2, 3–4, 5–6, 7–9, 10–13, 14–19, 20–27, 28–39, 40–59, ≥ 60
128 px          1, 2, 3, 4–5, 6–7, 8–10, 11–14, 15–20, 21–30, ≥ 31
512 px          1–4, 5–8, 9–12, 13–18, 19–26, 27–38, 39–54, 55–78, 79–118, ≥ 119
64 px           1, 2, 3, 4–5, 6–7, 8–10, 11–15, ≥ 16 (two bins merged)
=============== ===================================================================

Where a needle crosses a coin in projection the two make one component, binned by
its widest part. For each method and bin, :func:`bin_rows` reports the number of
components and the median of their areas, the PSNR of the pooled pixels of the bin
(from the mean squared error over all its pixels; the overall ``hole_psnr`` of
:func:`xinpaint.metrics.evaluate` is a mean of per-frame PSNRs instead, so the two
differ slightly), and the mean, median and standard deviation of the per-component
PSNR with a 95 % percentile-bootstrap confidence interval of the mean (2,000
resamples of the components, fixed seed). A component reproduced exactly would have
infinite PSNR; per-component MSE is floored at :data:`MSE_FLOOR` (100 dB).

References
----------
.. [1] Y. Zhang and H. Yu, "Convolutional Neural Network Based Metal Artifact
       Reduction in X-Ray Computed Tomography", IEEE Transactions on Medical
       Imaging 37(6), 1370–1381, 2018. :DOI:`10.1109/TMI.2018.2823083`
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.ndimage as ndi

__all__ = [
    "MSE_FLOOR",
    "SIZE_BINS",
    "SIZE_BINS_WIDTH",
    "bin_rows",
    "error_by_distance",
    "hole_components",
    "size_bins",
]

#: Upper edges (inclusive, pixels at 256 px) of the width bins; the last bin is open.
_UPPER_EDGES = (2, 4, 6, 9, 13, 19, 27, 39, 59, math.inf)


def _bin_name(lo: int, hi: float) -> str:
    if not math.isfinite(hi):
        return f"w ≥ {lo} px"
    return f"w {lo} px" if hi == lo else f"w {lo}–{int(hi)} px"


def _bins_from_edges(edges, scale: float) -> tuple[tuple[str, int, float], ...]:
    out, lo = [], 1
    for hi in edges:
        if not math.isfinite(hi):
            out.append((_bin_name(lo, math.inf), lo, math.inf))
            break
        top = math.floor(hi * scale + 0.5)  # rounded half up
        if top < lo:  # empty at this detector: merged into the next bin
            continue
        out.append((_bin_name(lo, top), lo, top))
        lo = top + 1
    return tuple(out)


#: Detector width (pixels) for which :data:`SIZE_BINS` is written.
SIZE_BINS_WIDTH = 256

#: Hole-size bins by component width in pixels: ``(name, min_width, max_width)``,
#: inclusive, for a detector :data:`SIZE_BINS_WIDTH` pixels wide.
SIZE_BINS: tuple[tuple[str, int, float], ...] = _bins_from_edges(_UPPER_EDGES, 1.0)


def size_bins(width: int) -> tuple[tuple[str, int, float], ...]:
    """:data:`SIZE_BINS` with edges scaled to a detector ``width`` pixels wide.

    Upper edges are scaled by ``width / 256`` and rounded half up; a bin whose
    scaled range is empty is merged into the next one (see the module docstring).

    Parameters
    ----------
    width : int
        Detector width in pixels (the frames' last axis).

    Returns
    -------
    tuple of (name, min_width, max_width)
        Inclusive width ranges in pixels, the last one open (``inf``); names give
        the range, e.g. ``"w 4–5 px"``.

    Raises
    ------
    ValueError
        If ``width`` is not a positive integer.

    Examples
    --------
    >>> [name for name, _, _ in size_bins(128)][:5]
    ['w 1 px', 'w 2 px', 'w 3 px', 'w 4–5 px', 'w 6–7 px']
    >>> size_bins(128)[-1]
    ('w ≥ 31 px', 31, inf)
    """
    if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
        raise ValueError(f"Expected a positive detector width in pixels. Received width={width!r}.")
    if width == SIZE_BINS_WIDTH:
        return SIZE_BINS
    return _bins_from_edges(_UPPER_EDGES, int(width) / SIZE_BINS_WIDTH)


#: Floor of a component's mean squared error (data range 1): PSNR is capped at 100 dB.
MSE_FLOOR = 1e-10


def hole_components(holes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of the holes of each frame, and their widths and areas.

    Parameters
    ----------
    holes : (T, H, W) or (H, W) ndarray of bool
        True where metal hides a pixel.

    Returns
    -------
    labels : ndarray of int, shape of ``holes``
        0 outside the holes; components numbered 1..n, never shared between frames.
    widths : (n,) ndarray of int
        Diameter in pixels of the largest disc inscribed in each component,
        ``2 * max(EDT) - 1`` (see the module docstring).
    areas : (n,) ndarray of int
        Pixels of each component.

    Examples
    --------
    >>> holes = np.zeros((1, 20, 20), bool)
    >>> holes[0, 2:5, 1:19] = True  # a needle 3 pixels across
    >>> holes[0, 10:19, 6:15] = True  # a 9 x 9 plate
    >>> labels, widths, areas = hole_components(holes)
    >>> widths.tolist(), areas.tolist()
    ([3, 9], [54, 81])
    """
    holes = np.asarray(holes, dtype=bool)
    stack = holes.reshape((-1, *holes.shape[-2:]))
    labels = np.zeros(stack.shape, dtype=np.int64)
    widths, areas = [], []
    n = 0
    for t in range(stack.shape[0]):
        if not stack[t].any():
            continue
        lab, k = ndi.label(stack[t], structure=np.ones((3, 3), dtype=bool))
        edt = ndi.distance_transform_edt(stack[t])
        idx = np.arange(1, k + 1)
        widths.append(2 * np.asarray(ndi.maximum(edt, lab, idx)) - 1)
        areas.append(np.bincount(lab.ravel(), minlength=k + 1)[1:])
        labels[t] = np.where(lab > 0, lab + n, 0)
        n += k
    widths = np.rint(np.concatenate(widths)).astype(np.int64) if widths else np.zeros(0, np.int64)
    areas = np.concatenate(areas).astype(np.int64) if areas else np.zeros(0, np.int64)
    return labels.reshape(holes.shape), widths, areas


def _bootstrap_ci(
    values: np.ndarray, rng: np.random.Generator, n: int = 2000
) -> tuple[float, float]:
    if len(values) == 0:
        return math.nan, math.nan
    if len(values) == 1:
        return float(values[0]), float(values[0])
    means = rng.choice(values, size=(n, len(values)), replace=True).mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def bin_rows(
    targets: np.ndarray,
    outputs: np.ndarray,
    holes: np.ndarray,
    *,
    method: str,
    bins: Sequence[tuple[str, float, float]] = SIZE_BINS,
    seed: int = 0,
    components=None,
) -> list[dict]:
    """Scores of one method per hole-size bin (see the module docstring).

    Parameters
    ----------
    targets, outputs : ndarray of float
        Ground truth and inpainted frames, same shape as ``holes``; data range 1.
    holes : ndarray of bool
        True where metal hides a pixel.
    method : str
        Name written into each row.
    bins : sequence of (name, min_width, max_width)
        Width bins, inclusive.
    seed : int
        Seed of the bootstrap.
    components : tuple, optional
        The result of :func:`hole_components` for ``holes``, to skip recomputing it.

    Returns
    -------
    list of dict
        One row per bin: ``method, bin, width_min, width_max, n_holes, area_median,
        n_pixels, pooled_psnr, psnr_mean, ci_low, ci_high, psnr_median, psnr_std,
        mae``; ``area_median`` is the median area (pixels) of the bin's components.
        Empty bins have ``n_holes = 0`` and NaN scores.

    Examples
    --------
    >>> holes = np.zeros((1, 32, 32), bool); holes[0, 10:13, 5:25] = True
    >>> frames = np.full(holes.shape, 0.5)
    >>> row = bin_rows(frames, frames + 0.01, holes, method="m")[1]
    >>> row["bin"], row["n_holes"], row["area_median"], round(row["pooled_psnr"], 3)
    ('w 3–4 px', 1, 60.0, 40.0)
    """
    labels, widths, areas = components if components is not None else hole_components(holes)
    err = np.asarray(outputs, np.float64) - np.asarray(targets, np.float64)
    flat = labels.ravel()
    sq = np.bincount(flat, weights=(err**2).ravel(), minlength=len(widths) + 1)[1:]
    ab = np.bincount(flat, weights=np.abs(err).ravel(), minlength=len(widths) + 1)[1:]
    mse = sq / np.maximum(areas, 1)
    psnr = 10 * np.log10(1.0 / np.maximum(mse, MSE_FLOOR))
    rng = np.random.default_rng(seed)
    rows = []
    for name, lo, hi in bins:
        sel = (widths >= lo) & (widths <= hi)
        n_pix = int(areas[sel].sum())
        p = psnr[sel]
        ci = _bootstrap_ci(p, rng)
        pooled = sq[sel].sum() / n_pix if n_pix else math.nan
        rows.append(
            {
                "method": method,
                "bin": name,
                "width_min": float(lo),
                "width_max": float(hi) if math.isfinite(hi) else None,
                "n_holes": int(sel.sum()),
                "area_median": float(np.median(areas[sel])) if sel.any() else math.nan,
                "n_pixels": n_pix,
                "pooled_psnr": float(10 * np.log10(1.0 / max(pooled, MSE_FLOOR)))
                if n_pix
                else math.nan,
                "psnr_mean": float(p.mean()) if len(p) else math.nan,
                "ci_low": ci[0],
                "ci_high": ci[1],
                "psnr_median": float(np.median(p)) if len(p) else math.nan,
                "psnr_std": float(p.std(ddof=1)) if len(p) > 1 else math.nan,
                "mae": float(ab[sel].sum() / n_pix) if n_pix else math.nan,
            }
        )
    return rows


def error_by_distance(
    targets: np.ndarray,
    outputs: np.ndarray,
    holes: np.ndarray,
    *,
    method: str,
    max_distance: int = 12,
) -> list[dict]:
    """Error of hidden pixels as a function of their distance to the nearest visible pixel.

    Parameters
    ----------
    targets, outputs : ndarray of float
        Ground truth and inpainted frames, shape of ``holes``.
    holes : (T, H, W) or (H, W) ndarray of bool
        True where metal hides a pixel.
    method : str
        Name written into each row.
    max_distance : int
        Distances above this are pooled in the last row.

    Returns
    -------
    list of dict
        One row per distance ``d`` = 1, 2, ... (pixels, rounded Euclidean distance
        within the frame): ``method, distance, n_pixels, mae, rmse, psnr``; the last
        row holds every distance ``>= max_distance``.

    Examples
    --------
    >>> holes = np.zeros((1, 9, 9), bool); holes[0, 3:6, 3:6] = True
    >>> rows = error_by_distance(np.zeros(holes.shape), holes * 0.1, holes, method="m")
    >>> [(r["distance"], r["n_pixels"]) for r in rows]
    [(1, 8), (2, 1)]
    """
    holes = np.asarray(holes, dtype=bool)
    stack = holes.reshape((-1, *holes.shape[-2:]))
    dist = np.stack(
        [ndi.distance_transform_edt(h) if h.any() else np.zeros(h.shape) for h in stack]
    )
    d = np.minimum(np.rint(dist[stack]).astype(np.int64), max_distance)
    err = (np.asarray(outputs, np.float64) - np.asarray(targets, np.float64)).reshape(stack.shape)[
        stack
    ]
    rows = []
    for k in np.unique(d):
        e = err[d == k]
        mse = float(np.mean(e**2))
        rows.append(
            {
                "method": method,
                "distance": int(k),
                "n_pixels": len(e),
                "mae": float(np.mean(np.abs(e))),
                "rmse": math.sqrt(mse),
                "psnr": float(10 * np.log10(1.0 / max(mse, MSE_FLOOR))),
            }
        )
    return rows

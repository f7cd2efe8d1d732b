"""Evaluation figures: qualitative panels, zooms on holes, error maps, per-bin scores.

Images are drawn in grey (:data:`xinpaint.chapter.CMAP_IMAGE`), absolute errors in
``cividis`` (:data:`~xinpaint.chapter.CMAP_ERROR`, perceptually uniform and readable
by colour-blind readers and in grey print), holes outlined in a colour-blind-safe
orange.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.ndimage as ndi

__all__ = [
    "HOLE_COLOR",
    "hole_box",
    "plot_bins",
    "plot_timing",
    "qualitative_panel",
]

#: Colour of hole outlines and overlays (Okabe–Ito orange).
HOLE_COLOR = "#E69F00"

#: Okabe–Ito colour cycle for lines and bars (colour-blind safe).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def hole_box(holes: np.ndarray, *, which: str = "largest", margin: int = 8, min_size: int = 32):
    """A square box around one hole component of a frame, for zooms.

    Parameters
    ----------
    holes : (H, W) ndarray of bool
        Holes of one frame.
    which : {"largest", "widest", "longest"}
        ``"largest"``: the component with the most pixels; ``"widest"``: the one with
        the largest inscribed disc (a coin); ``"longest"``: the most elongated one
        (a needle: pixels per squared width), where streaks show.
    margin : int
        Pixels of context around the component.
    min_size : int
        Smallest side of the box.

    Returns
    -------
    tuple of slice
        ``(rows, cols)`` slices; the whole frame if there is no hole.
    """
    holes = np.asarray(holes, dtype=bool)
    if which not in ("largest", "widest", "longest"):
        raise ValueError(
            f"Unknown component choice: expected 'largest', 'widest' or 'longest'. Received which={which!r}."
        )
    h, w = holes.shape
    lab, n = ndi.label(holes, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return slice(0, h), slice(0, w)
    idx = np.arange(1, n + 1)
    areas = np.asarray(ndi.sum(holes, lab, idx))
    widths = 2 * np.asarray(ndi.maximum(ndi.distance_transform_edt(holes), lab, idx)) - 1
    score = {"largest": areas, "widest": widths, "longest": areas / np.maximum(widths, 1) ** 2}[
        which
    ]
    k = int(np.argmax(score))
    rows, cols = ndi.find_objects(lab)[k]
    if which == "longest":  # a needle may cross the frame: zoom on its middle
        half = max(min_size, 3 * int(widths[k]) + 2 * margin) // 2
        ys, xs = np.nonzero(lab == k + 1)
        mid = len(ys) // 2
        order = np.argsort(ys * w + xs)
        cy, cx = ys[order[mid]], xs[order[mid]]
        rows, cols = slice(cy - half, cy + half), slice(cx - half, cx + half)
    side = max(rows.stop - rows.start, cols.stop - cols.start) + 2 * margin
    side = min(max(side, min_size), h, w)

    def _centre(sl, n_):
        c = (sl.start + sl.stop) // 2
        lo = int(np.clip(c - side // 2, 0, n_ - side))
        return slice(lo, lo + side)

    return _centre(rows, h), _centre(cols, w)


def _outline(ax, holes, **kw):
    if holes.any():
        ax.contour(holes.astype(float), levels=[0.5], colors=HOLE_COLOR, linewidths=0.8, **kw)


def qualitative_panel(
    target: np.ndarray,
    holes: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    *,
    zoom: str | tuple = "largest",
    error_max: float | None = None,
    title: str | None = None,
    column_width: float = 1.6,
):
    """Input with holes, each method's output, a zoom on a hole, and error maps.

    Three rows: the whole frame; a zoom on one hole (outlined); the absolute error
    in the zoom, on one colour scale shared by all methods (``cividis``). The first
    column shows the input (holes filled in orange) and the ground truth.

    Parameters
    ----------
    target : (H, W) ndarray
        Ground-truth frame.
    holes : (H, W) ndarray of bool
        True where metal hides a pixel.
    outputs : dict of str to (H, W) ndarray
        Each method's output for this frame.
    zoom : {"largest", "widest", "longest"} or (slice, slice)
        Which hole to zoom on (:func:`hole_box`), or the box itself.
    error_max : float, optional
        Top of the error colour scale; default: the 99th percentile of the errors in
        the zoom's holes over all methods.
    title : str, optional
        Figure title.
    column_width : float
        Inches per column.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from xinpaint.chapter import CMAP_ERROR, CMAP_IMAGE

    target = np.asarray(target, dtype=np.float64)
    holes = np.asarray(holes, dtype=bool)
    if target.ndim != 2 or holes.shape != target.shape:
        raise ValueError(
            f"Expected one (H, W) frame and holes of its shape. Received target.shape={target.shape}, "
            f"holes.shape={holes.shape}."
        )
    box = hole_box(holes, which=zoom) if isinstance(zoom, str) else tuple(zoom)
    names = list(outputs)
    ncols = 1 + len(names)
    fig, axes = plt.subplots(
        3,
        ncols,
        figsize=(column_width * ncols + 0.6, column_width * 3 + 0.4),
        squeeze=False,
        layout="constrained",
    )
    vmin, vmax = np.percentile(target, [0.5, 99.5])
    zv = target[box]
    zmin, zmax = np.percentile(zv, [0.5, 99.5])
    errors = {n: np.abs(np.asarray(outputs[n], np.float64) - target) for n in names}
    if error_max is None:
        zh = holes[box]
        pooled = np.concatenate([e[box][zh] for e in errors.values()]) if zh.any() else np.zeros(1)
        error_max = float(np.percentile(pooled, 99)) or 1e-6
    overlay = ListedColormap([HOLE_COLOR])

    ax = axes[0, 0]
    ax.imshow(target, cmap=CMAP_IMAGE, vmin=vmin, vmax=vmax)
    ax.imshow(np.ma.masked_where(~holes, holes), cmap=overlay, vmin=0, vmax=1)
    r, c = box
    ax.add_patch(
        plt.Rectangle(
            (c.start - 0.5, r.start - 0.5),
            c.stop - c.start,
            r.stop - r.start,
            fill=False,
            ec="white",
            lw=0.8,
        )
    )
    ax.set_title("input (holes)")
    axes[1, 0].imshow(zv, cmap=CMAP_IMAGE, vmin=zmin, vmax=zmax)
    _outline(axes[1, 0], holes[box])
    axes[1, 0].set_title("truth, zoom")
    axes[2, 0].imshow(np.ma.masked_where(~holes[box], zv), cmap=CMAP_IMAGE, vmin=zmin, vmax=zmax)
    axes[2, 0].set_title("truth in holes")
    im = None
    for j, name in enumerate(names, start=1):
        out = np.asarray(outputs[name], np.float64)
        axes[0, j].imshow(out, cmap=CMAP_IMAGE, vmin=vmin, vmax=vmax)
        axes[0, j].set_title(name)
        axes[1, j].imshow(out[box], cmap=CMAP_IMAGE, vmin=zmin, vmax=zmax)
        _outline(axes[1, j], holes[box])
        im = axes[2, j].imshow(errors[name][box], cmap=CMAP_ERROR, vmin=0, vmax=error_max)
        _outline(axes[2, j], holes[box], alpha=0.6)
    for a in axes.ravel():
        a.set_xticks([])
        a.set_yticks([])
    axes[0, 0].set_ylabel("frame")
    axes[1, 0].set_ylabel("zoom")
    axes[2, 0].set_ylabel("|error|")
    if im is not None:
        fig.colorbar(im, ax=axes[2, :].tolist(), shrink=0.8, label="absolute error")
    if title:
        fig.suptitle(title)
    return fig


def plot_bins(bins: Sequence[Mapping], *, methods: Sequence[str] | None = None, ax=None):
    """Mean per-hole PSNR by hole-size bin with 95 % bootstrap intervals, one marker per method.

    Parameters
    ----------
    bins : sequence of dict
        Rows of :func:`xinpaint.evaluation.bin_rows` (``method, bin, psnr_mean,
        ci_low, ci_high, n_holes``).
    methods : sequence of str, optional
        Methods to show, in order; default: all, in the rows' order.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rows = list(bins)
    names = list(methods) if methods is not None else list(dict.fromkeys(r["method"] for r in rows))
    labels = list(dict.fromkeys(r["bin"] for r in rows))
    counts = {r["bin"]: r["n_holes"] for r in rows}
    if ax is None:  # wide enough for ten bins' labels
        _, ax = plt.subplots(figsize=(max(6.4, 0.8 * len(labels) + 1.5), 4.0), layout="constrained")
    n = len(names)
    for j, name in enumerate(names):
        xs, ys, lo, hi = [], [], [], []
        for i, b in enumerate(labels):
            r = next((r for r in rows if r["method"] == name and r["bin"] == b), None)
            if r is None or r["psnr_mean"] is None or not np.isfinite(r["psnr_mean"]):
                continue
            xs.append(i + (j - (n - 1) / 2) * 0.8 / max(n, 1))
            ys.append(r["psnr_mean"])
            lo.append(r["psnr_mean"] - r["ci_low"])
            hi.append(r["ci_high"] - r["psnr_mean"])
        ax.errorbar(
            xs,
            ys,
            yerr=[lo, hi],
            fmt="o",
            ms=4,
            capsize=2,
            label=name,
            color=OKABE_ITO[j % len(OKABE_ITO)],
        )
    ax.set_xticks(range(len(labels)), [f"{b}\n(n={counts[b]})" for b in labels])
    ax.set_ylabel("PSNR in hole (dB), mean ± 95 % CI")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", ncols=2)
    return ax.figure


def plot_timing(rows: Sequence[Mapping], *, ax=None):
    """Milliseconds per frame of each method, on a log scale.

    Parameters
    ----------
    rows : sequence of dict
        Rows with ``method`` and ``seconds_per_frame``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rows = list(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(rows) + 1), layout="constrained")
    names = [r["method"] for r in rows]
    ms = [1000 * r["seconds_per_frame"] for r in rows]
    ax.barh(range(len(rows)), ms, color=OKABE_ITO[0])
    ax.set_yticks(range(len(rows)), names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms per frame (2 CPU cores)")
    for i, v in enumerate(ms):
        ax.text(v, i, f" {v:.1f}", va="center", fontsize="small")
    return ax.figure

"""Figures of reconstructed volumes: slices in an HU window, differences, two-domain rankings.

* :func:`slices_through` — the axial and coronal slices of a volume through a point
  (e.g. the centre of the metal), in the CT's ``[x, y, z]`` order.
* :func:`slice_grid` — the same slices of several volumes side by side, in a display
  window (``(width, level)`` in HU, as a radiologist sets it) or as differences to a
  reference, with the metal outlined.
* :func:`plot_domains` — methods ranked by their PSNR in the holes of the projections
  and by their PSNR in the volume, side by side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from xinpaint.chapter import CMAP_SIGNED_ERROR

__all__ = ["WINDOWS", "plot_domains", "slice_grid", "slices_through", "window_limits"]

#: Display windows ``(width, level)`` in HU.
WINDOWS = {"soft tissue": (400.0, 40.0), "bone": (2000.0, 500.0)}

#: Colour of the metal's outline (Okabe–Ito orange, as the holes of the projections).
METAL_COLOR = "#E69F00"

#: The two views of :func:`slices_through`, and the axes each shows (horizontal, vertical).
VIEWS = {"axial": ("x", "y"), "coronal": ("x", "z")}


def window_limits(width: float, level: float) -> tuple[float, float]:
    """The grey range ``(level - width / 2, level + width / 2)`` of a display window (HU).

    Examples
    --------
    >>> window_limits(400, 40)
    (-160.0, 240.0)
    """
    width, level = float(width), float(level)
    if not (math.isfinite(width) and math.isfinite(level) and width > 0):
        raise ValueError(f"Expected a positive window width and a finite level. "
                         f"Received width={width!r}, level={level!r}.")
    return level - width / 2, level + width / 2


def slices_through(volume, point) -> dict:
    """The axial (``[:, :, z]``) and coronal (``[:, y, :]``) slices of an (X, Y, Z) volume.

    Parameters
    ----------
    volume : (X, Y, Z) array_like
        A volume in the CT's axis order (e.g. ``ReconstructedVolume.hu``).
    point : (int, int, int)
        The voxel ``(x, y, z)`` the slices go through.

    Returns
    -------
    dict
        ``{"axial": (X, Y) array, "coronal": (X, Z) array}`` (copies).
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"Expected an (X, Y, Z) volume. Received volume.shape={volume.shape}.")
    x, y, z = (int(p) for p in point)
    if not all(0 <= p < n for p, n in zip((x, y, z), volume.shape, strict=True)):
        raise ValueError(f"Expected a point inside the volume of shape {volume.shape}. "
                         f"Received point={tuple(point)!r}.")
    return {"axial": volume[:, :, z].copy(), "coronal": volume[:, y, :].copy()}


def slice_grid(
    views: Mapping[str, Mapping[str, np.ndarray]],
    *,
    window: tuple[float, float] | None = None,
    reference: Mapping[str, np.ndarray] | None = None,
    limit: float = 200.0,
    metal: Mapping[str, np.ndarray] | None = None,
    ncols: int = 5,
    cell: float = 1.7,
):
    """The axial and coronal slices of several volumes, each volume a column of two panels.

    Parameters
    ----------
    views : dict of str to dict
        Volume name (a method) to its slices, ``{"axial": (X, Y), "coronal": (X, Z)}``
        (:func:`slices_through`), in HU. The volumes wrap into blocks of ``ncols``
        columns: axial on the upper row of a block, coronal below it.
    window : (width, level), optional
        Show the HU in this display window (grey), e.g. ``WINDOWS["soft tissue"]``.
    reference : dict, optional
        Slices of the reference instead: show ``view - reference`` (HU) on a diverging
        scale from ``-limit`` to ``limit``. Exactly one of ``window`` and ``reference``.
    limit : float
        Half-range (HU) of the difference scale.
    metal : dict, optional
        Boolean slices of the metal (``{"axial", "coronal"}``, the views' shapes),
        outlined on every panel; or one such dict per volume name, for volumes of
        different scans.
    ncols : int
        Volumes per block of columns.
    cell : float
        Size (inches) of one panel.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 * ceil(len(views) / ncols)`` rows and ``min(ncols, len(views))`` columns of
        panels (unused ones hidden), the volume's name above its axial panel, and one
        colour bar.

    Raises
    ------
    ValueError
        No views, not exactly one of ``window`` and ``reference``, a view without its
        axial and coronal slices, or slices of different shapes.
    """
    import matplotlib.pyplot as plt

    views = dict(views)
    if not views:
        raise ValueError("Expected at least one volume to show. Received views={}.")
    if (window is None) == (reference is None):
        raise ValueError("Expected exactly one of window (HU) and reference (differences). "
                         f"Received window={window!r} and reference "
                         f"{'given' if reference is not None else 'None'}.")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"Expected a positive number of columns. Received ncols={ncols!r}.")
    first = next(iter(views.values()))
    shapes = {}
    for name in VIEWS:
        if name not in first:
            raise ValueError(f"Expected the slices {', '.join(VIEWS)} of each volume. "
                             f"Received keys {sorted(first)}.")
        shapes[name] = np.shape(first[name])
    metal = dict(metal or {})
    if metal and set(metal) <= set(VIEWS):
        metal = {name: metal for name in views}
    if metal and set(metal) != set(views):
        raise ValueError(f"Expected metal slices for every volume, or one pair for all. "
                         f"Received metal for {sorted(metal)}.")
    others = [("reference", reference or {}), *(("metal of " + k, v) for k, v in metal.items())]
    for label, slices in [*views.items(), *others]:
        for name, shape in shapes.items():
            if slices and np.shape(slices.get(name)) != shape:
                raise ValueError(f"Expected {name} slices of shape {shape}. Received "
                                 f"{np.shape(slices.get(name))} for {label!r}.")
    if window is not None:
        vmin, vmax = window_limits(*window)
        cmap, label = "gray", f"HU (window W{window[0]:.0f} / L{window[1]:.0f})"
    else:
        vmin, vmax = -float(limit), float(limit)
        cmap, label = CMAP_SIGNED_ERROR, "difference to the reference (HU)"
    n = len(views)
    cols = min(ncols, n)
    blocks = math.ceil(n / cols)
    heights = [shapes[v][1] / shapes[v][0] for _ in range(blocks) for v in VIEWS]
    fig, axes = plt.subplots(2 * blocks, cols, figsize=(cell * cols + 0.8, cell * sum(heights) + 0.3),
                             gridspec_kw={"height_ratios": heights}, squeeze=False,
                             layout="constrained")
    image = None
    for i, (name, slices) in enumerate(views.items()):
        block, col = divmod(i, cols)
        for j, view in enumerate(VIEWS):
            ax = axes[2 * block + j, col]
            values = np.asarray(slices[view], dtype=np.float32)
            if reference is not None:
                values = values - np.asarray(reference[view], dtype=np.float32)
            image = ax.imshow(values.T, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if metal and np.any(metal[name][view]):
                ax.contour(np.asarray(metal[name][view], dtype=float).T, levels=[0.5], colors=METAL_COLOR,
                           linewidths=0.6)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_title(name, fontsize=8)
            if col == 0:
                ax.set_ylabel(view, fontsize=8)
    for i in range(n, blocks * cols):
        block, col = divmod(i, cols)
        axes[2 * block, col].set_axis_off()
        axes[2 * block + 1, col].set_axis_off()
    fig.colorbar(image, ax=axes, shrink=0.6, label=label)
    return fig


def plot_domains(rows: Sequence[Mapping], *, holes: str = "hole_psnr", volume: str = "volume_psnr",
                 method: str = "method", marked: Sequence[str] = ()):
    """Methods ranked in the projections and in the volume: two bar charts side by side.

    Parameters
    ----------
    rows : sequence of dict
        One row per method with ``method``, ``holes`` and ``volume`` keys; rows whose
        two scores are not both finite are left out.
    holes, volume : str
        The keys of the PSNR in the holes and in the volume (dB).
    method : str
        The key of the method's name.
    marked : sequence of str
        Methods drawn in a second colour (e.g. the learned models).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the method axis, methods in the order of ``holes`` (best
        on top); each bar of the right panel is labelled with its rank in the volume.
    """
    import matplotlib.pyplot as plt

    def finite(value):
        return value is not None and math.isfinite(float(value))

    kept = [r for r in rows if finite(r.get(holes)) and finite(r.get(volume))]
    if not kept:
        raise ValueError(f"Expected rows with finite {holes!r} and {volume!r}. Received none.")
    kept.sort(key=lambda r: -float(r[holes]))
    rank = {id(r): k + 1 for k, r in enumerate(sorted(kept, key=lambda r: -float(r[volume])))}
    names = [str(r[method]) for r in kept][::-1]
    colours = ["#E69F00" if str(r[method]) in marked else "#0072B2" for r in kept][::-1]
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 0.3 * len(kept) + 1.0), sharey=True,
                             layout="constrained")
    for ax, key, title in ((axes[0], holes, "in the holes (projections)"),
                           (axes[1], volume, "in the volume (FDK)")):
        values = [float(r[key]) for r in kept][::-1]
        ax.barh(names, values, color=colours)
        lo, hi = min(values), max(values)
        ax.set_xlim(max(0.0, lo - 0.1 * (hi - lo) - 1), hi + 0.08 * (hi - lo) + 1)
        ax.set_xlabel("PSNR (dB)")
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    for k, r in enumerate(kept[::-1]):
        axes[1].annotate(f"#{rank[id(r)]}", (float(r[volume]), k), xytext=(3, 0),
                         textcoords="offset points", va="center", fontsize=7)
    axes[0].tick_params(axis="y", labelsize=7)
    return fig

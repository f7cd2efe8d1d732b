"""One picture to look at before trusting an inpainting: ``xinpaint inpaint --preview``.

:func:`preview_figure` draws one row of three panels:

1. the input, its holes outlined in orange (:data:`~xinpaint.plotting.panels.HOLE_COLOR`),
   and a white box around the largest hole;
2. the output, on the same grey scale, with the same box;
3. a zoom on the largest hole of the output (its outline dashed), on a grey scale of
   its own, where a wrong fill shows first. A hole larger than a quarter of the frame
   (needles that cross it) is zoomed on a square of that quarter, centred on its
   thickest point (where needles cross, the middle of a coin).

For a sequence the panels show the frame with the most hidden pixels. The grey
scale of the first two panels is set by the *visible* pixels (0.5 and 99.5
percentiles), so that bright or dark metal in the input does not flatten it.
Only ``matplotlib.figure.Figure`` is used (no ``pyplot``): no window, no global state.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from xinpaint.plotting.panels import HOLE_COLOR, hole_box

__all__ = ["PANEL_TITLES", "preview_figure", "preview_frame", "save_preview"]

#: Titles of the three panels, left to right (each may be followed by details).
PANEL_TITLES = ("input, holes outlined", "output", "zoom on the largest hole")


def preview_frame(holes) -> int:
    """Index of the frame with the most hidden pixels (0 for one frame; the first on ties).

    Examples
    --------
    >>> holes = np.zeros((3, 4, 4), bool); holes[1, :2] = True; holes[2, 0] = True
    >>> preview_frame(holes)
    1
    """
    holes = np.asarray(holes, dtype=bool)
    if holes.ndim == 2:
        return 0
    if holes.ndim != 3:
        raise ValueError(f"Expected holes of shape (H, W) or (T, H, W). "
                         f"Received holes.shape={holes.shape}.")
    return int(np.argmax(holes.reshape(len(holes), -1).sum(axis=1)))


def _zoom_box(holes, *, margin: int = 8, min_size: int = 32):
    """The box of :func:`~xinpaint.plotting.panels.hole_box` (largest hole), at most a
    quarter of the frame's side (at least ``max(64, min_size)``), centred on the
    thickest point of the hole when it is larger."""
    import scipy.ndimage as ndi

    rows, cols = hole_box(holes, which="largest", margin=margin, min_size=min_size)
    h, w = holes.shape
    cap = min(h, w, max(64, min_size, min(h, w) // 4))
    if max(rows.stop - rows.start, cols.stop - cols.start) <= cap:
        return rows, cols
    labels, n = ndi.label(holes, structure=np.ones((3, 3), bool))
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    largest = labels == 1 + int(np.argmax(areas))
    depth = ndi.distance_transform_edt(largest)
    cy, cx = np.unravel_index(int(np.argmax(depth)), depth.shape)
    top = int(np.clip(cy - cap // 2, 0, h - cap))
    left = int(np.clip(cx - cap // 2, 0, w - cap))
    return slice(top, top + cap), slice(left, left + cap)


def _grey_range(values) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def preview_figure(frames, output, holes, *, title: str | None = None,
                   panel_inches: float = 3.5):
    """Input with its holes outlined, the output, and a zoom on the largest hole.

    Parameters
    ----------
    frames, output : array_like
        The input and the inpainted result, (H, W) or (T, H, W), any real dtype.
    holes : array_like of bool
        Same shape; True where metal hides a pixel.
    title : str, optional
        Figure title (e.g. the file names and the model).
    panel_inches : float, optional
        Width of each of the three panels, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One row of three axes titled by :data:`PANEL_TITLES`; for a sequence, the
        first title names the frame shown.

    Raises
    ------
    ValueError
        If the three arrays do not have one shape of rank 2 or 3.

    Examples
    --------
    >>> frames = np.tile(np.linspace(0, 1, 32), (32, 1))
    >>> holes = np.zeros((32, 32), bool); holes[12:16, 8:20] = True
    >>> fig = preview_figure(frames, frames, holes)
    >>> [ax.get_title() for ax in fig.axes][1]
    'output'
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    frames, output = np.asarray(frames), np.asarray(output)
    holes = np.asarray(holes, dtype=bool)
    if not (frames.shape == output.shape == holes.shape) or frames.ndim not in (2, 3):
        raise ValueError(
            "Expected frames, output and holes of one shape (H, W) or (T, H, W). Received "
            f"frames.shape={frames.shape}, output.shape={output.shape}, holes.shape={holes.shape}."
        )
    t = preview_frame(holes)
    first = PANEL_TITLES[0]
    if frames.ndim == 3:
        frame, out, hole = frames[t], output[t], holes[t]
        first += f"\nframe {t} of {len(frames)} (the most hidden pixels)"
    else:
        frame, out, hole = frames, output, holes
    frame, out = frame.astype(np.float64), out.astype(np.float64)
    vmin, vmax = _grey_range(frame[~hole])
    rows, cols = _zoom_box(hole)
    zoom, zoom_holes = out[rows, cols], hole[rows, cols]
    zmin, zmax = _grey_range(zoom)

    fig = Figure(figsize=(3 * panel_inches, panel_inches + (0.8 if title else 0.5)),
                 layout="constrained")
    axes = fig.subplots(1, 3)
    shown = {"cmap": "gray", "interpolation": "antialiased"}
    axes[0].imshow(frame, vmin=vmin, vmax=vmax, **shown)
    if hole.any():
        axes[0].contour(hole.astype(np.float32), levels=[0.5], colors=HOLE_COLOR,
                        linewidths=0.8)
    axes[1].imshow(out, vmin=vmin, vmax=vmax, **shown)
    for ax in axes[:2]:
        ax.add_patch(Rectangle((cols.start - 0.5, rows.start - 0.5), cols.stop - cols.start,
                               rows.stop - rows.start, fill=False, ec="white", lw=0.8))
    axes[2].imshow(zoom, cmap="gray", vmin=zmin, vmax=zmax, interpolation="nearest")
    if zoom_holes.any() and not zoom_holes.all():
        axes[2].contour(zoom_holes.astype(np.float32), levels=[0.5], colors=HOLE_COLOR,
                        linewidths=0.8, linestyles="dashed")
    titles = (first, PANEL_TITLES[1],
              f"{PANEL_TITLES[2]}\n{int(zoom_holes.sum())} hidden pixels in "
              f"{zoom.shape[0]} × {zoom.shape[1]}")
    for ax, text in zip(axes, titles, strict=True):
        ax.set_title(text, fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def save_preview(path: str | os.PathLike, frames, output, holes, *, title: str | None = None,
                 dpi: int = 100) -> Path:
    """Write :func:`preview_figure` as a PNG file (to a temporary name, then renamed).

    Parameters
    ----------
    path : path-like
        The PNG file; its name must end in ``.png``.
    frames, output, holes, title
        As in :func:`preview_figure`.
    dpi : int, optional
        Pixels per inch: the default gives a picture 1050 pixels wide (400 high
        without a title, 430 with one).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        If ``path`` does not end in ``.png``, or the arrays do not match.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"The preview is a PNG picture: expected a name ending in .png. "
                         f"Received path={str(path)!r}.")
    fig = preview_figure(frames, output, holes, title=title)
    tmp = path.with_name(f".{path.name}.part")
    try:
        fig.savefig(tmp, format="png", dpi=dpi)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path

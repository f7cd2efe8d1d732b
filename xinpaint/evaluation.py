"""The evaluation runner shared by every chapter.

:func:`evaluate_methods` runs a set of methods (names of classical baselines from
:mod:`xinpaint.baselines`, or callables ``f(frames, holes) -> frames``, e.g. a trained
Keras model wrapped by :func:`keras_method`) on the same test frames and holes,
times them, scores them with :func:`xinpaint.metrics.evaluate`, adds the scores per
hole-size bin, and writes ``<results_dir>/<chapter>.json`` with CSV files beside it.

Hole-size bins
--------------
The holes of each frame are split into connected components (8-connectivity, within
a frame). A component's *width* is the diameter of the largest disc inscribed in it,
``2 * max(EDT) - 1`` pixels rounded, where EDT is the Euclidean distance of a hidden
pixel to the nearest visible pixel: ``w`` for a needle ``w`` pixels across when ``w``
is odd, ``w - 1`` when it is even, and about ``2 r - 1`` for a digital coin of
radius ``r``. Width is what makes a hole hard to interpolate (the distance from
its middle to the nearest known pixel is half of it), and it does not depend on the
length of a needle. :data:`SIZE_BINS` names three bins, with widths for a detector
256 pixels wide:

=================== ============== ==============================================
bin                 width (pixels) typical metal
=================== ============== ==============================================
thin needles        1–6            guide wires, thin needles
thick needles       7–16           thick needles, wires, screws seen edge-on
coins/plates        17 and more    coins, plates, screws seen end-on, overlaps
=================== ============== ==============================================

The same metal covers twice as many pixels on a detector twice as fine, and so does
the anatomy, so :func:`size_bins` scales the edges with the detector width (W / 256):
a bin holds the same metal in every profile (at 128 pixels: 1–3, 4–8, 9 and more).

Where a needle crosses a coin in projection the two make one component, binned by
its widest part. For each method and bin the runner reports the number of
components, the PSNR of the pooled pixels of the bin (from the mean squared error
over all its pixels; the overall ``hole_psnr`` of :func:`xinpaint.metrics.evaluate`
is a mean of per-frame PSNRs instead, so the two differ slightly), and the mean, median and standard deviation of the per-component
PSNR with a 95 % percentile-bootstrap confidence interval of the mean (2,000
resamples of the components, fixed seed). A component reproduced exactly would have
infinite PSNR; per-component MSE is floored at :data:`MSE_FLOOR` (100 dB).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

__all__ = [
    "MSE_FLOOR",
    "SIZE_BINS",
    "Evaluation",
    "Table",
    "baseline_method",
    "bin_rows",
    "error_by_distance",
    "evaluate_methods",
    "hole_components",
    "keras_method",
    "render_table",
    "size_bins",
]

#: Hole-size bins by component width in pixels: ``(name, min_width, max_width)``, inclusive.
SIZE_BINS: tuple[tuple[str, int, float], ...] = (
    ("thin needles", 1, 6),
    ("thick needles", 7, 16),
    ("coins/plates", 17, math.inf),
)

#: Detector width (pixels) for which :data:`SIZE_BINS` is written.
SIZE_BINS_WIDTH = 256


def size_bins(width: int) -> tuple[tuple[str, int, float], ...]:
    """:data:`SIZE_BINS` with edges scaled to a detector ``width`` pixels wide.

    Examples
    --------
    >>> size_bins(128)
    (('thin needles', 1, 3), ('thick needles', 4, 8), ('coins/plates', 9, inf))
    """
    if not isinstance(width, int | np.integer) or width < 1:
        raise ValueError(f"Expected a positive detector width in pixels. Received width={width!r}.")
    scale = width / SIZE_BINS_WIDTH
    out, lo = [], 1
    for name, _, hi in SIZE_BINS:
        top = max(lo, round(hi * scale)) if math.isfinite(hi) else math.inf
        out.append((name, lo, top))
        lo = top + 1 if math.isfinite(top) else lo
    return tuple(out)


#: Floor of a component's mean squared error (data range 1): PSNR is capped at 100 dB.
MSE_FLOOR = 1e-10

#: Columns of the standard table, in order (those absent from the rows are skipped).
TABLE_COLUMNS = (
    "method",
    "hole_psnr",
    "hole_ssim",
    "hole_mae",
    "psnr",
    "ssim",
    "seconds_per_frame",
    "n_frames",
)
BIN_COLUMNS = (
    "method",
    "bin",
    "n_holes",
    "pooled_psnr",
    "psnr_mean",
    "ci_low",
    "ci_high",
    "psnr_median",
    "psnr_std",
)

#: Columns of the region table (metrics in holes ∩ region, see ``regions``).
REGION_COLUMNS = ("method", "region", "n_pixels", "psnr", "ssim", "gradient_ssim", "mae")

Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


# --------------------------------------------------------------------------- tables


class Table(list):
    """A list of row dicts that renders itself as a table in notebooks.

    Parameters
    ----------
    rows : iterable of dict
        The rows.
    columns : sequence of str, optional
        Columns to show, in order; default: the keys of the first row.

    Examples
    --------
    >>> t = Table([{"method": "nearest", "hole_psnr": 28.31}])
    >>> print(t.to_markdown())
    | method | hole_psnr |
    |---|---|
    | nearest | 28.31 |
    """

    def __init__(self, rows: Iterable[dict] = (), columns: Sequence[str] | None = None):
        super().__init__(rows)
        self.columns = tuple(columns) if columns is not None else None

    def _columns(self) -> list[str]:
        if not self:
            return list(self.columns or ())
        keys = list(self[0])
        if self.columns is None:
            return keys
        present = {k for row in self for k in row}
        return [c for c in self.columns if c in present]

    def column(self, name: str) -> list:
        """The values of one column (None where a row lacks it)."""
        return [row.get(name) for row in self]

    def where(self, **equal) -> Table:
        """The rows whose values equal the given ones, e.g. ``t.where(method="linear")``."""
        rows = [r for r in self if all(r.get(k) == v for k, v in equal.items())]
        return Table(rows, self.columns)

    def to_markdown(self, digits: int = 2) -> str:
        """The table as GitHub/MyST markdown."""
        return render_table(self, columns=self._columns(), fmt="markdown", digits=digits)

    def to_html(self, digits: int = 2) -> str:
        """The table as an HTML ``<table>``."""
        return render_table(self, columns=self._columns(), fmt="html", digits=digits)

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _format(value, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if v != 0 and abs(v) < 10 ** (-digits):
            return f"{v:.{digits}e}"
        return f"{v:.{digits}f}"
    return str(value)


def render_table(
    rows: Iterable[Mapping],
    *,
    columns: Sequence[str] | None = None,
    fmt: str = "markdown",
    digits: int = 2,
) -> str:
    """Render rows (dicts) as a markdown or HTML table.

    Parameters
    ----------
    rows : iterable of dict
        The rows; missing keys are left blank.
    columns : sequence of str, optional
        Columns in order; default: the keys of the first row.
    fmt : {"markdown", "html"}
        Output format.
    digits : int
        Digits after the decimal point for floats (small values switch to
        scientific notation).

    Returns
    -------
    str
        The table. In a notebook, show it with ``IPython.display.Markdown`` or
        ``IPython.display.HTML``.

    Raises
    ------
    ValueError
        If ``fmt`` is unknown.
    """
    if fmt not in ("markdown", "html"):
        raise ValueError(
            f"Unknown table format: expected 'markdown' or 'html'. Received fmt={fmt!r}."
        )
    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows else []
    cells = [[_format(r.get(c), digits) for c in columns] for r in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    import html

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in cells
    )
    return f'<table class="table xinpaint-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# --------------------------------------------------------------------------- methods


def baseline_method(name: str) -> Method:
    """The classical baseline ``name`` as a callable ``f(frames, holes) -> frames``."""
    from xinpaint.baselines import METHODS, inpaint

    if name not in METHODS:
        raise ValueError(
            f"Unknown method: expected one of {', '.join(METHODS)} or a callable. Received method={name!r}."
        )

    def fill(frames, holes):
        return inpaint(frames, holes, method=name)

    fill.__name__ = name
    return fill


def keras_method(model, *, mode: str = "2d", batch_size: int = 8) -> Method:
    """Wrap a Keras inpainting model as a callable ``f(frames, holes) -> frames``.

    The model takes ``[image, valid]`` with ``image = frames * valid`` and
    ``valid = 1 - holes`` (float32, trailing channel axis) and returns the image.
    Only hidden pixels are taken from the model; visible pixels are the input's.

    Parameters
    ----------
    model : keras.Model
        The trained model.
    mode : {"2d", "3d"}
        ``"2d"``: frames are fed one by one as a batch of (H, W, 1) images.
        ``"3d"``: the whole (T, H, W) sequence is fed as one (T, H, W, 1) sample.
    batch_size : int
        Frames per batch in ``"2d"`` mode.

    Returns
    -------
    callable
        ``f(frames, holes)`` for (T, H, W) frames and holes.
    """
    if mode not in ("2d", "3d"):
        raise ValueError(f"Unknown mode: expected '2d' or '3d'. Received mode={mode!r}.")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"Expected a positive batch size. Received batch_size={batch_size!r}.")

    def fill(frames, holes):
        frames = np.asarray(frames, dtype=np.float32)
        holes = np.asarray(holes, dtype=bool)
        valid = (~holes).astype(np.float32)[..., None]
        image = frames[..., None] * valid
        if mode == "2d":
            pred = model.predict([image, valid], batch_size=batch_size, verbose=0)
        else:
            pred = model.predict([image[None], valid[None]], batch_size=1, verbose=0)[0]
        pred = np.asarray(pred, dtype=np.float32).reshape(frames.shape)
        return np.where(holes, pred, frames)

    fill.__name__ = getattr(model, "name", "model")
    return fill


def _as_methods(methods) -> dict[str, Method]:
    if isinstance(methods, str) or callable(methods):
        methods = [methods]
    items = methods.items() if isinstance(methods, Mapping) else [(None, m) for m in methods]
    out: dict[str, Method] = {}
    for name, m in items:
        if isinstance(m, str):
            fn = baseline_method(m)
            name = name or m
        elif callable(m):
            fn = m
            name = name or getattr(m, "__name__", None) or repr(m)
        else:
            raise ValueError(
                f"Expected a baseline name or a callable f(frames, holes) for each method. Received method={m!r}."
            )
        if name in out:
            raise ValueError(f"Expected distinct method names. Received {name!r} twice.")
        out[name] = fn
    if not out:
        raise ValueError("Expected at least one method. Received methods=[].")
    return out


# --------------------------------------------------------------------------- holes


def hole_components(holes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of the holes of each frame, and their widths.

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
        One row per bin: ``method, bin, width_min, width_max, n_holes, n_pixels,
        pooled_psnr, psnr_mean, ci_low, ci_high, psnr_median, psnr_std, mae``.
        Empty bins have ``n_holes = 0`` and NaN scores.
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


# --------------------------------------------------------------------------- runner


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
        The evaluated frames (ground truth) and holes, sequences concatenated.
    inputs : (N, H, W) ndarray
        What the methods received: the targets with hidden pixels set to 0.
    outputs : dict of str to (N, H, W) ndarray
        Each method's output (empty when ``keep_outputs=False``).
    widths : ndarray of int
        Width of each hole component (see :func:`hole_components`).
    regions : Table
        One row per method and region: metrics over the hidden pixels of the region
        (see ``regions`` of :func:`evaluate_methods`); empty without regions.
    region_masks : dict of str to (N, H, W) ndarray of bool
        The hidden pixels of each region (holes ∩ region) in the evaluated frames.
    paths : dict of str to Path
        Files written (``json``, ``csv``, ``bins_csv``).
    """

    rows: Table
    bins: Table
    targets: np.ndarray
    holes: np.ndarray
    inputs: np.ndarray
    outputs: dict = field(default_factory=dict)
    widths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    regions: Table = field(default_factory=lambda: Table([], REGION_COLUMNS))
    region_masks: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        return self.rows.to_html()


def _select(sequences, max_frames, attributes=()):
    """(frames, holes) pairs of the sequences, truncated to ``max_frames`` frames in all.

    With ``attributes``, each pair has a third item: ``{name: array}`` of those boolean
    (T, H, W) attributes of the sequence, truncated alike.
    """
    picked, total = [], 0
    for i, seq in enumerate(sequences):
        frames = getattr(seq, "frames", None)
        holes = getattr(seq, "holes", None)
        if frames is None or holes is None:
            raise ValueError(
                f"Expected sequences with .frames and .holes. Received sequences[{i}] of type {type(seq).__name__}."
            )
        frames = np.asarray(frames)
        holes = np.asarray(holes)
        if frames.ndim == 2:
            frames, holes = frames[None], holes[None]
        if frames.ndim != 3:
            raise ValueError(
                f"Expected (T, H, W) frames in each sequence. Received sequences[{i}].frames.shape={frames.shape}."
            )
        if holes.shape != frames.shape or holes.dtype != bool:
            raise ValueError(
                f"Expected boolean holes of the frames' shape {frames.shape} in each sequence. "
                f"Received sequences[{i}].holes with shape={holes.shape}, dtype={holes.dtype}."
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
            frames, holes = frames[: max_frames - total], holes[: max_frames - total]
            extra = {k: v[: len(frames)] for k, v in extra.items()}
        if len(frames):
            picked.append((frames.astype(np.float32, copy=False), holes, extra))
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
) -> Evaluation:
    """Run methods on the same frames and holes, score them, and record the results.

    Parameters
    ----------
    sequences : sequence of objects with ``.frames`` and ``.holes``
        Test sequences: ``frames`` (T, H, W) float in [0, 1], the ground truth;
        ``holes`` (T, H, W) bool, True where metal hides a pixel (e.g.
        :class:`xinpaint.data.XraySequence` from :func:`xinpaint.data.load_split`).
    methods : dict or list
        Names of baselines (:data:`xinpaint.baselines.METHODS`) or callables
        ``f(frames, holes) -> frames`` on (T, H, W) arrays; a dict maps display
        names to them, a list uses the baseline name or the callable's
        ``__name__``. Methods receive the frames with hidden pixels set to 0; every
        method sees whole sequences (so temporal methods see the neighbouring
        frames).
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

    Returns
    -------
    Evaluation
        ``rows`` and ``bins`` tables, the evaluated arrays, outputs and paths.

    Raises
    ------
    ValueError
        If a sequence lacks ``frames``/``holes`` or has bad shapes, a method is
        neither a baseline name nor a callable, or a method returns an array of
        another shape or non-finite values in the holes.

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
    fns = _as_methods(methods)
    regions = dict(regions or {})
    picked = _select(sequences, max_frames, tuple(regions.values()))
    targets = np.concatenate([f for f, _, _ in picked])
    holes = np.concatenate([h for _, h, _ in picked])
    region_masks = {name: holes & np.concatenate([e[attr] for _, _, e in picked])
                    for name, attr in regions.items()}
    inputs = np.where(holes, np.float32(0), targets)
    components = hole_components(holes)
    seed = SEED if seed is None else seed
    if bins is None:
        bins = size_bins(int(targets.shape[-1]))

    rows, bin_table, region_table, outputs = [], [], [], {}
    for name, fn in fns.items():
        parts, seconds = [], 0.0
        start = 0
        if warmup:
            fn(inputs[:1].copy(), holes[:1].copy())
        for frames, h, _ in picked:
            x = inputs[start : start + len(frames)]
            start += len(frames)
            t0 = time.perf_counter()
            y = fn(x.copy(), h.copy())
            seconds += time.perf_counter() - t0
            y = np.asarray(y)
            if y.shape != x.shape:
                raise ValueError(
                    f"Expected method {name!r} to return frames of shape {x.shape}. Received shape={y.shape}."
                )
            if not np.isfinite(y[h]).all():
                raise ValueError(
                    f"Expected finite values in the holes from method {name!r}. Received non-finite values."
                )
            parts.append(y.astype(np.float32, copy=False))
        out = np.concatenate(parts)
        row = metrics.evaluate(targets, out, holes, method=name, seconds=seconds)
        rows.append(dict(row))
        bin_table.extend(
            bin_rows(targets, out, holes, method=name, bins=bins, seed=seed, components=components)
        )
        region_table.extend(_region_row(targets, out, mask, method=name, region=region)
                            for region, mask in region_masks.items())
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
        regions=Table(region_table, REGION_COLUMNS),
        region_masks=region_masks,
    )
    if chapter is not None and prof is not None:
        result.paths = write_results(result, chapter=chapter, profile=prof, split=split)
    return result


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


def _jsonable(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_csv(path: Path, rows: list[dict]) -> None:
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _jsonable(r.get(k)) for k in columns})
    tmp.replace(path)


def write_results(evaluation: Evaluation, *, chapter: str, profile, split: str = "test") -> dict:
    """Write an evaluation's tables to ``results_dir(profile)``.

    Files: ``<chapter>.json`` holding ``{"chapter", "profile", "split", "rows",
    "bins"}`` and ``"regions"`` where regions were scored (NaN and infinity written as null), ``<chapter>.csv`` (rows) and
    ``<chapter>-bins.csv`` (bins).

    Returns
    -------
    dict of str to Path
        ``{"json": ..., "csv": ..., "bins_csv": ...}``.
    """
    from xinpaint.chapter import results_dir, write_json
    from xinpaint.profiles import get_profile

    name = get_profile(profile).name
    folder = results_dir(name)
    rows = [{k: _jsonable(v) for k, v in r.items()} for r in evaluation.rows]
    bins = [{k: _jsonable(v) for k, v in r.items()} for r in evaluation.bins]
    payload = {"chapter": chapter, "profile": name, "split": split, "rows": rows, "bins": bins}
    if len(evaluation.regions):
        payload["regions"] = [{k: _jsonable(v) for k, v in r.items()} for r in evaluation.regions]
    paths = {"json": write_json(folder / f"{chapter}.json", payload)}
    paths["csv"] = folder / f"{chapter}.csv"
    _write_csv(paths["csv"], rows)
    paths["bins_csv"] = folder / f"{chapter}-bins.csv"
    _write_csv(paths["bins_csv"], bins)
    return paths

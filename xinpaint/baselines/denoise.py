"""Classical baselines that know about noise: smooth the visible pixels, then interpolate.

Real detectors are noisy (quantum noise at 10⁵ photons per pixel is a few tenths of
a percent of a chest's line integral), and an interpolating baseline continues the
noise of the hole's border into the hole. Smoothing the visible pixels first removes
much of that error: on noisy polychromatic scans of the example chest, a Gaussian of
σ 0.5 px before biharmonic inpainting gains about 1 dB in the holes.

:func:`smooth_visible` is a *normalised convolution* [1]_: the Gaussian average of
the visible pixels only, ``G * (f v) / G * v`` with ``v = 1 - holes``, so that the
hidden values (metal) never leak into it and the average near a hole's border or the
image's edge is taken over the visible pixels that are there.
:func:`xinpaint.baselines.inpaint` takes ``smooth=σ`` to fill the holes from the
smoothed frames (its visible pixels stay the input's noisy values);
:func:`smoothed` names that as a method of the evaluation runner, e.g.
``"biharmonic (σ 0.75)"``; :func:`choose_smoothing` picks σ on training sequences.

References
----------
.. [1] H. Knutsson and C.-F. Westin, "Normalized and differential convolution",
       CVPR 1993, 515–523. :DOI:`10.1109/CVPR.1993.341081`
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as ndi

__all__ = [
    "DEFAULT_SIGMAS",
    "SmoothingChoice",
    "choose_smoothing",
    "parse_method",
    "smooth_visible",
    "smoothed",
    "smoothed_name",
]

#: The σ (pixels) that :func:`choose_smoothing` tries by default.
DEFAULT_SIGMAS = (0.0, 0.5, 0.75, 1.0, 1.5, 2.0)

#: Truncation of the Gaussian kernel, in standard deviations (scipy's default).
_TRUNCATE = 4.0


def _check_sigma(value, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.integer | np.floating)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"Expected a non-negative, finite {name} in pixels. Received {name}={value!r}."
        )
    return float(value)


def check_frames_holes(frames, holes) -> tuple[np.ndarray, np.ndarray]:
    """``frames`` (H, W) or (T, H, W) and boolean ``holes`` of their shape, as arrays
    (the checks every baseline shares; a one-line ValueError otherwise)."""
    frames = np.asarray(frames)
    if frames.ndim not in (2, 3):
        raise ValueError(
            f"Expected frames of shape (H, W) or (T, H, W). Received frames.shape={frames.shape}."
        )
    holes = np.asarray(holes)
    if holes.dtype != bool:
        raise ValueError(
            "Expected boolean holes (True where metal hides a pixel). "
            f"Received holes.dtype={holes.dtype}."
        )
    if holes.shape != frames.shape:
        raise ValueError(
            f"Expected holes of the frames' shape {frames.shape}. Received holes.shape={holes.shape}."
        )
    return frames, holes


def smooth_visible(frames, holes, *, sigma, sigma_t=0.0) -> np.ndarray:
    """Gaussian smoothing of the visible pixels only (normalised convolution).

    Each visible pixel becomes ``(G * (f v))(x) / (G * v)(x)`` with ``v = 1 - holes``
    and ``G`` a Gaussian of standard deviation ``sigma`` pixels in the frame (and
    ``sigma_t`` frames along time for a sequence), truncated at 4 σ, outside the
    image taken as missing (zero weight) [1]_. Hidden pixels are returned as they
    were: their values never enter the average.

    Parameters
    ----------
    frames : (H, W) or (T, H, W) array_like of float
        One frame or a sequence. Values under the holes are ignored (they may be NaN).
    holes : ndarray of bool, same shape as ``frames``
        True where metal hides a pixel.
    sigma : float
        Standard deviation of the Gaussian in the frame (pixels); 0 returns a copy.
    sigma_t : float
        Standard deviation along time (frames) for a (T, H, W) sequence; 0 (the
        default) smooths each frame on its own. Must be 0 for one (H, W) frame.

    Returns
    -------
    ndarray of float
        A new array of the shape of ``frames`` (float32 for float32 and smaller
        input, else float64): the smoothed visible pixels, the hidden pixels as given.

    Raises
    ------
    ValueError
        If ``frames`` is not 2D or 3D, ``holes`` is not boolean of the frames' shape,
        ``sigma`` or ``sigma_t`` is negative or not finite, or ``sigma_t`` is given
        for one frame.

    References
    ----------
    .. [1] H. Knutsson and C.-F. Westin, "Normalized and differential convolution",
           CVPR 1993, 515–523. :DOI:`10.1109/CVPR.1993.341081`

    Examples
    --------
    >>> frame = np.full((5, 5), 0.5, np.float32)
    >>> holes = np.zeros((5, 5), bool); holes[2, 2] = True
    >>> frame[2, 2] = 9.0  # the metal's value never enters the average
    >>> out = smooth_visible(frame, holes, sigma=1.0)
    >>> bool(np.allclose(out[~holes], 0.5)), float(out[2, 2])
    (True, 9.0)
    """
    sigma = _check_sigma(sigma, "sigma")
    sigma_t = _check_sigma(sigma_t, "sigma_t")
    frames, holes = check_frames_holes(frames, holes)
    if frames.ndim == 2 and sigma_t > 0:
        raise ValueError(
            f"Expected sigma_t=0 for one (H, W) frame. Received sigma_t={sigma_t!r}."
        )
    dtype = np.result_type(frames.dtype, np.float32)
    out = np.array(frames, dtype=dtype, copy=True)
    if sigma == 0 and sigma_t == 0:
        return out
    work = np.where(holes, 0.0, frames).astype(np.float64)
    visible = (~holes).astype(np.float64)
    sigmas = (sigma, sigma) if frames.ndim == 2 else (sigma_t, sigma, sigma)
    opts = {"sigma": sigmas, "mode": "constant", "cval": 0.0, "truncate": _TRUNCATE}
    num = ndi.gaussian_filter(work, **opts)
    den = ndi.gaussian_filter(visible, **opts)
    keep = ~holes
    out[keep] = (num[keep] / den[keep]).astype(dtype)
    return out


def smoothed_name(method: str, sigma: float) -> str:
    """Display name of ``method`` on frames smoothed with ``sigma``: ``"biharmonic (σ 0.75)"``.

    Examples
    --------
    >>> smoothed_name("biharmonic", 0.75)
    'biharmonic (σ 0.75)'
    """
    return f"{method} (σ {float(sigma):g})"


_NAME = re.compile(r"^\s*(?P<method>[\w-]+)\s*\(\s*(?:σ|sigma)\s*=?\s*(?P<sigma>[0-9.eE+-]+)\s*\)\s*$")


def parse_method(name: str) -> tuple[str, float]:
    """Split a method name into the baseline and its smoothing σ.

    Parameters
    ----------
    name : str
        ``"biharmonic"`` (σ 0) or a smoothed name such as ``"biharmonic (σ 0.75)"``
        (``"biharmonic (sigma 0.75)"`` is read too).

    Returns
    -------
    method : str
        The baseline's name (not checked against :data:`xinpaint.baselines.METHODS`).
    sigma : float
        The smoothing σ in pixels, 0 when the name has none.

    Raises
    ------
    ValueError
        If the σ part cannot be read or is negative.

    Examples
    --------
    >>> parse_method("biharmonic (σ 0.75)"), parse_method("linear")
    (('biharmonic', 0.75), ('linear', 0.0))
    """
    if not isinstance(name, str):
        raise ValueError(f"Expected a method name (str). Received method={name!r}.")
    if "(" not in name:
        return name, 0.0
    m = _NAME.match(name)
    sigma = None
    if m:
        try:
            sigma = float(m["sigma"])
        except ValueError:
            sigma = None
    if m is None or sigma is None:
        raise ValueError(
            "Expected a method name like 'biharmonic' or 'biharmonic (σ 0.75)'. "
            f"Received method={name!r}."
        )
    return m["method"], _check_sigma(sigma, "sigma")


def smoothed(method: str, sigma: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The baseline ``method`` on smoothed frames, as a named callable for the runner.

    Parameters
    ----------
    method : str
        One of :data:`xinpaint.baselines.METHODS`.
    sigma : float
        Smoothing σ in pixels (``smooth`` of :func:`xinpaint.baselines.inpaint`).

    Returns
    -------
    callable
        ``f(frames, holes) -> frames``, named :func:`smoothed_name` (``__name__``),
        e.g. ``"biharmonic (σ 0.75)"``, for :func:`xinpaint.evaluation.evaluate_methods`.

    Raises
    ------
    ValueError
        If ``method`` is unknown or ``sigma`` is negative.

    Examples
    --------
    >>> smoothed("biharmonic", 0.75).__name__
    'biharmonic (σ 0.75)'
    """
    from xinpaint.baselines import METHODS, inpaint

    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"Unknown method: expected one of {', '.join(METHODS)}. Received method={method!r}."
        )
    sigma = _check_sigma(sigma, "sigma")

    def fill(frames, holes):
        return inpaint(frames, holes, method=method, smooth=sigma)

    fill.__name__ = fill.__qualname__ = smoothed_name(method, sigma)
    fill.method, fill.sigma = method, sigma
    return fill


@dataclass
class SmoothingChoice:
    """What :func:`choose_smoothing` returns.

    Attributes
    ----------
    method : str
        The baseline.
    sigma : float
        The σ (pixels) with the best hole PSNR (the smallest among ties).
    scores : list of dict
        One row per σ tried: ``{"sigma", "hole_psnr"}`` (dB, mean over frames of the
        PSNR in the holes, as :func:`xinpaint.metrics.psnr` computes it).
    n_frames : int
        Frames scored.
    """

    method: str
    sigma: float
    scores: list = field(default_factory=list)
    n_frames: int = 0

    def __float__(self) -> float:
        return self.sigma


def _pick_frames(sequences, max_frames):
    """(observed, target, holes) per sequence: the first frames of each, ``max_frames`` in all."""
    seqs = list(sequences)
    if not seqs:
        raise ValueError("Expected at least one sequence. Received sequences=[].")
    per = None if max_frames is None else max(1, max_frames // len(seqs))
    picked, total = [], 0
    for i, seq in enumerate(seqs):
        holes = getattr(seq, "holes", None)
        target = getattr(seq, "target", None)
        target = getattr(seq, "frames", None) if target is None else target
        if target is None or holes is None:
            raise ValueError(
                "Expected sequences with .frames (or .target) and .holes. "
                f"Received sequences[{i}] of type {type(seq).__name__}."
            )
        observed = getattr(seq, "observed", None)
        observed = target if observed is None else observed
        target, observed, holes = np.asarray(target), np.asarray(observed), np.asarray(holes)
        if holes.dtype != bool or holes.shape != target.shape or observed.shape != target.shape:
            raise ValueError(
                f"Expected boolean holes and observed frames of the target's shape {target.shape}. "
                f"Received sequences[{i}].holes with shape={holes.shape}, dtype={holes.dtype} and "
                f"observed with shape={observed.shape}."
            )
        if target.ndim == 2:
            target, observed, holes = target[None], observed[None], holes[None]
        n = len(target) if per is None else min(per, len(target), max_frames - total)
        if n > 0:
            picked.append((observed[:n], target[:n], holes[:n]))
            total += n
        if max_frames is not None and total >= max_frames:
            break
    return picked


def choose_smoothing(
    sequences,
    *,
    method: str,
    sigmas: Sequence[float] = DEFAULT_SIGMAS,
    max_frames: int | None = 32,
) -> SmoothingChoice:
    """Pick the smoothing σ of a baseline by its PSNR in the holes on (training) sequences.

    Each sequence's ``observed`` frames (what the detector gives; ``frames`` where a
    sequence has no ``observed``) are filled with
    ``inpaint(observed, holes, method=method, smooth=σ)`` and scored in the holes
    against the noise-free, metal-free ``target`` (``frames`` where it has none).

    Parameters
    ----------
    sequences : iterable of objects with ``.frames`` (or ``.target``) and ``.holes``
        E.g. :class:`xinpaint.data.XraySequence` of the train split; never the test split.
    method : str
        One of :data:`xinpaint.baselines.METHODS`.
    sigmas : sequence of float
        The σ (pixels) to try.
    max_frames : int or None
        Score at most this many frames, the first ``max_frames // len(sequences)``
        (at least one) of each sequence; None scores all.

    Returns
    -------
    SmoothingChoice
        The best σ (ties: the smallest) and the score of every σ.

    Raises
    ------
    ValueError
        If ``method`` is unknown, ``sigmas`` is empty or holds a negative σ,
        ``max_frames`` is not positive, or a sequence lacks frames or holes.

    Examples
    --------
    >>> from xinpaint.data import load_split  # doctest: +SKIP
    >>> choice = choose_smoothing(load_split("train", profile="cpu"), method="biharmonic")  # doctest: +SKIP
    >>> smoothed("biharmonic", choice.sigma)  # doctest: +SKIP
    """
    from xinpaint import metrics
    from xinpaint.baselines import METHODS, inpaint

    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"Unknown method: expected one of {', '.join(METHODS)}. Received method={method!r}."
        )
    sigmas = [_check_sigma(s, "sigma") for s in sigmas]
    if not sigmas:
        raise ValueError("Expected at least one sigma to try. Received sigmas=().")
    if max_frames is not None and (
        isinstance(max_frames, bool) or not isinstance(max_frames, int | np.integer) or max_frames < 1
    ):
        raise ValueError(
            f"Expected a positive number of frames or None. Received max_frames={max_frames!r}."
        )
    picked = [p for p in _pick_frames(sequences, max_frames) if p[2].any()]
    if not picked:
        raise ValueError("Expected holes in the sequences to score. Received no hidden pixel.")
    target = np.concatenate([t for _, t, _ in picked])
    holes = np.concatenate([h for _, _, h in picked])
    scores = []
    for s in dict.fromkeys(sigmas):
        out = np.concatenate([inpaint(o, h, method=method, smooth=s) for o, _, h in picked])
        scores.append({"sigma": s, "hole_psnr": metrics.psnr(target, out, holes=holes)})
    best = max(scores, key=lambda r: (r["hole_psnr"], -r["sigma"]))
    return SmoothingChoice(method=method, sigma=best["sigma"], scores=scores, n_frames=len(target))

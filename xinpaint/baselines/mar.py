"""Metal artefact reduction in the projections: LI-MAR and NMAR.

Both methods fill the metal trace (the holes) of every frame of a scan by
interpolation; they share one code path and differ in what is interpolated:

* ``"li"`` (LI-MAR, Kalender et al. 1987): the frames themselves;
* ``"nmar"`` (normalised MAR, Meyer et al. 2010): the frames divided by the
  projections of a *prior* volume (:func:`nmar_prior`), multiplied back afterwards. The
  prior is flat where the anatomy is soft tissue and keeps the bone, so the ratio is
  nearly flat across the trace and the interpolation follows the edges of the anatomy
  that the prior predicts.

The interpolation is :func:`xinpaint.baselines.inpaint` with ``method="linear"`` by
default (piecewise-linear over a Delaunay triangulation of the ring of visible pixels
around each hole: the 2D interpolation a cone-beam projection needs), or
``"rowwise"`` (along detector rows, as in the fan-beam sinograms of the original
papers).

Visible pixels are returned bit-identical to the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xinpaint.data.projection import LINE_INTEGRAL_SCALE, MU_WATER

__all__ = [
    "MAR_INTERPOLATIONS",
    "MAR_METHODS",
    "METAL_HU",
    "NMAR_THRESHOLDS_HU",
    "MARResult",
    "NMARPrior",
    "mar",
    "mar_inpaint",
    "nmar_prior",
]

#: The projection-domain MAR methods of :func:`mar`.
MAR_METHODS = ("li", "nmar")

#: Interpolations :func:`mar` accepts (methods of :func:`xinpaint.baselines.inpaint`).
MAR_INTERPOLATIONS = ("linear", "rowwise")

#: Voxels of the uncorrected reconstruction above this (HU) are metal.
METAL_HU = 3000.0

#: Air / soft tissue and soft tissue / bone thresholds (HU) of the NMAR prior.
NMAR_THRESHOLDS_HU = (-500.0, 300.0)

#: Floor of the prior's projections (frame units) in the division of NMAR.
_PRIOR_FLOOR = 1e-3


@dataclass
class NMARPrior:
    """The prior of NMAR and what it was made from.

    Attributes
    ----------
    projections : ndarray of float32
        (T, H, W) frames of the prior (line integrals divided by ``scale``, rows as the
        input's): an input for learned models.
    volume : ReconstructedVolume
        The prior (HU): air, water and the bone of the smoothed LI reconstruction,
        metal set to water.
    li_volume : ReconstructedVolume
        FDK of the linearly interpolated frames, on the prior's grid.
    metal : ndarray of bool
        (X, Y, Z) metal voxels on that grid.
    """

    projections: np.ndarray
    volume: object
    li_volume: object
    metal: np.ndarray


@dataclass
class MARResult:
    """Corrected frames, and the NMAR prior where there is one (None for LI)."""

    frames: np.ndarray
    method: str
    prior: NMARPrior | None = None


def _check(frames, holes, geometry, method, interpolation):
    if not isinstance(method, str) or method not in MAR_METHODS:
        raise ValueError(f"Unknown MAR method: expected one of {', '.join(MAR_METHODS)}. "
                         f"Received method={method!r}.")
    if interpolation not in MAR_INTERPOLATIONS:
        raise ValueError(f"Expected interpolation one of {', '.join(MAR_INTERPOLATIONS)}. "
                         f"Received interpolation={interpolation!r}.")
    frames = np.asarray(frames)
    holes = np.asarray(holes)
    if holes.dtype != bool:
        raise ValueError("Expected boolean holes (True where metal hides a pixel). "
                         f"Received holes.dtype={holes.dtype}.")
    if holes.shape != frames.shape:
        raise ValueError(f"Expected holes of the frames' shape {frames.shape}. "
                         f"Received holes.shape={holes.shape}.")
    if method == "nmar":
        if geometry is None:
            raise ValueError("NMAR needs the scan geometry (a CArmGeometry, an RTK geometry or "
                             "its XML file) to reconstruct and project its prior. "
                             "Received geometry=None.")
        if frames.ndim != 3:
            raise ValueError(f"Expected frames of shape (T, H, W), a whole scan, for NMAR. "
                             f"Received frames.shape={frames.shape}.")
    return frames, holes


def nmar_prior(
    frames,
    holes,
    *,
    geometry,
    metal=None,
    metal_hu: float = METAL_HU,
    thresholds_hu=NMAR_THRESHOLDS_HU,
    smooth_voxels: float = 1.0,
    voxels=None,
    spacing_mm=None,
    downsample: int = 2,
    interpolation: str = "linear",
    pitch_mm=None,
    scale: float = LINE_INTEGRAL_SCALE,
    mu_water: float = MU_WATER,
    hann_cut: float | None = None,
    short_scan: bool = True,
) -> NMARPrior:
    """The prior of NMAR: reconstruct the LI frames, segment, project.

    Steps (Meyer et al. 2010 [1]_): fill the holes by interpolation (LI); reconstruct
    with :func:`~xinpaint.reconstruction.fdk`; set the metal voxels to water; smooth
    (Gaussian, ``smooth_voxels``) and segment by ``thresholds_hu``: below the first
    threshold air (-1000 HU), between them water (0 HU), above the second the bone
    keeps its smoothed value; forward-project with the same geometry
    (:func:`~xinpaint.data.projection.forward_project`).

    Parameters
    ----------
    frames : (T, H, W) array_like of float
        The observed frames (normalised line integrals), metal included.
    holes : (T, H, W) ndarray of bool
        True where metal hides a pixel (the metal trace).
    geometry : CArmGeometry, ScanGeometry, RTK geometry or path of its XML file
        The scan (``pitch_mm`` too for an RTK geometry).
    metal : None, "hull" or (X, Y, Z) ndarray of bool
        Metal voxels on the prior's grid. None: the uncorrected reconstruction (of
        ``frames`` as observed, metal in the holes) above ``metal_hu``. ``"hull"``: the
        voxels that project into the holes of at least 95 % of the frames (the metal's
        visual hull; needs no value under the holes).
    metal_hu : float
        Threshold of the uncorrected reconstruction (HU) for ``metal=None``.
    thresholds_hu : (float, float)
        Air / soft tissue and soft tissue / bone thresholds (HU).
    smooth_voxels : float
        Gaussian sigma (voxels) applied to the LI reconstruction before segmentation.
    voxels, spacing_mm : optional
        The prior's grid; default the detector's field of view at the isocentre in
        ``(W // downsample)² × (H // downsample)`` voxels.
    downsample : int
        Coarsening of the default grid (the prior is smooth; 2 makes it 8 times cheaper).
    interpolation : {"linear", "rowwise"}
        How the LI frames are filled (see the module docstring).
    pitch_mm, scale, mu_water, hann_cut, short_scan
        As in :func:`~xinpaint.reconstruction.fdk` (``hann_cut`` None: its default).

    Returns
    -------
    NMARPrior

    References
    ----------
    .. [1] E. Meyer, R. Raupach, M. Lell, B. Schmidt and M. Kachelrieß, "Normalized
           metal artifact reduction (NMAR) in computed tomography", Medical Physics
           37(10), 5482–5493, 2010. :DOI:`10.1118/1.3484090`
    """
    import scipy.ndimage as ndi

    from xinpaint.baselines import inpaint
    from xinpaint.data.projection import forward_project
    from xinpaint.reconstruction import (
        DEFAULT_HANN_CUT,
        ReconstructedVolume,
        backproject_holes,
        check_frames,
        fdk,
        volume_grid,
    )

    frames, holes = _check(frames, holes, geometry, "nmar", interpolation)
    frames, scan = check_frames(frames, geometry, pitch_mm=pitch_mm)
    lo, hi = (float(t) for t in thresholds_hu)
    if not lo < hi:
        raise ValueError(f"Expected thresholds_hu (air/tissue, tissue/bone) increasing. "
                         f"Received thresholds_hu={thresholds_hu!r}.")
    if not isinstance(downsample, (int, np.integer)) or downsample < 1:
        raise ValueError(f"Expected a whole downsample >= 1. Received downsample={downsample!r}.")
    grid, spacing = volume_grid(scan, voxels, spacing_mm, downsample=int(downsample))
    if isinstance(metal, str):
        if metal != "hull":
            raise ValueError(f"Expected metal None, 'hull' or a boolean volume. Received metal={metal!r}.")
    elif metal is not None:
        metal = np.asarray(metal)
        if metal.dtype != bool or metal.shape != grid:
            raise ValueError(f"Expected metal as a boolean volume of the prior's grid {grid}. "
                             f"Received metal of shape {metal.shape} and dtype {metal.dtype}.")
    elif not np.isfinite(frames).all():
        raise ValueError("Expected finite frames, the metal included, to find the metal in the "
                         "uncorrected reconstruction (pass metal='hull' otherwise). "
                         "Received frames with NaN or infinity.")
    options = dict(voxels=grid, spacing_mm=spacing, scale=scale, mu_water=mu_water,
                   hann_cut=DEFAULT_HANN_CUT if hann_cut is None else hann_cut,
                   short_scan=short_scan)
    li_frames = inpaint(frames, holes, method=interpolation)
    li_volume = fdk(li_frames, scan, **options)
    if metal is None:
        metal = fdk(frames, scan, **options).hu > float(metal_hu)
    elif isinstance(metal, str):
        metal = backproject_holes(holes, scan, grid, spacing) >= 0.95
    smooth = ndi.gaussian_filter(np.where(metal, 0.0, li_volume.hu), float(smooth_voxels))
    prior_hu = np.where(smooth < lo, -1000.0, np.where(smooth < hi, 0.0, smooth))
    prior_hu[metal] = 0.0
    prior = ReconstructedVolume(prior_hu.astype(np.float32), li_volume.spacing_mm,
                                li_volume.origin_mm, li_volume.mu_water)
    mu = np.clip(prior.mu, 0.0, None)
    projections = forward_project(prior.image(mu), scan)[:, ::-1] / np.float32(scale)
    return NMARPrior(np.ascontiguousarray(projections, dtype=np.float32), prior, li_volume, metal)


def mar(frames, holes, *, geometry=None, method: str = "nmar", interpolation: str = "linear",
        **options) -> MARResult:
    """Metal artefact reduction in the projections: fill the metal trace by LI or NMAR.

    Parameters
    ----------
    frames : (T, H, W) array_like of float
        Observed frames (normalised line integrals); for ``"li"`` also one (H, W) frame.
    holes : ndarray of bool, the frames' shape
        True where metal hides a pixel.
    geometry : optional
        The scan, required by NMAR (see :func:`nmar_prior`).
    method : {"nmar", "li"}
        NMAR [2]_ or linear interpolation (LI-MAR) [1]_.
    interpolation : {"linear", "rowwise"}
        The interpolation of the trace, shared by both methods.
    **options
        For NMAR, the keywords of :func:`nmar_prior` (``metal``, ``thresholds_hu``,
        grid, ``pitch_mm``, ``scale``, ``mu_water``, ...).

    Returns
    -------
    MARResult
        ``frames`` (a new array, float32 for float32 input; visible pixels
        bit-identical), ``method``, and ``prior`` (:class:`NMARPrior`, None for LI).

    Raises
    ------
    ValueError
        An unknown method or interpolation, holes that are not boolean or not of the
        frames' shape, NMAR without a geometry, or what :func:`nmar_prior`,
        :func:`~xinpaint.reconstruction.fdk` and :func:`~xinpaint.baselines.inpaint`
        reject.

    References
    ----------
    .. [1] W. A. Kalender, R. Hebel and J. Ebersberger, "Reduction of CT artifacts
           caused by metallic implants", Radiology 164(2), 576–577, 1987.
           :DOI:`10.1148/radiology.164.2.3602406`
    .. [2] E. Meyer, R. Raupach, M. Lell, B. Schmidt and M. Kachelrieß, "Normalized
           metal artifact reduction (NMAR) in computed tomography", Medical Physics
           37(10), 5482–5493, 2010. :DOI:`10.1118/1.3484090`

    Examples
    --------
    >>> from xinpaint.data import CArmGeometry
    >>> g = CArmGeometry(detector_shape=(64, 64), n_frames=90, arc_degrees=200)
    >>> frames = np.full((90, 64, 64), 0.3, np.float32)
    >>> holes = np.zeros(frames.shape, bool); holes[:, 30:34, 30:34] = True
    >>> out = mar(frames, holes, geometry=g, method="nmar", metal="hull").frames  # doctest: +SKIP
    >>> bool((out[~holes] == frames[~holes]).all())  # doctest: +SKIP
    True
    """
    from xinpaint.baselines import inpaint

    frames, holes = _check(frames, holes, geometry, method, interpolation)
    if method == "li" or not holes.any():
        if options and method == "li":
            raise TypeError(f"LI takes no NMAR options. Received {', '.join(sorted(options))}.")
        if not holes.any():
            return MARResult(np.array(frames, dtype=np.result_type(frames.dtype, np.float32)), method)
        return MARResult(inpaint(frames, holes, method=interpolation), method)
    prior = nmar_prior(frames, holes, geometry=geometry, interpolation=interpolation, **options)
    weights = np.maximum(prior.projections.astype(np.float64), _PRIOR_FLOOR)
    normalised = np.where(holes, 0.0, frames / weights)
    filled = inpaint(normalised, holes, method=interpolation)
    out = np.array(frames, dtype=np.result_type(frames.dtype, np.float32), copy=True)
    out[holes] = np.clip(filled[holes] * weights[holes], 0.0, None).astype(out.dtype)
    return MARResult(out, method, prior)


def mar_inpaint(frames, holes, *, geometry=None, method: str = "nmar", **options) -> np.ndarray:
    """The corrected frames of :func:`mar` (NMAR or LI): the metal trace filled, the rest
    bit-identical to ``frames``."""
    return mar(frames, holes, geometry=geometry, method=method, **options).frames

"""Classical inpainting of metal in X-ray projections: the baselines every model must beat.

One entry point, :func:`inpaint`, fills the holes of one frame ``(H, W)`` or of a
sequence ``(T, H, W)`` with one of the methods in :data:`METHODS`:

============== ==========================================================================
method         what fills a hidden pixel
============== ==========================================================================
nearest        the nearest visible pixel of the same frame (Euclidean distance)
linear         piecewise-linear interpolation over a Delaunay triangulation of a thin
               ring of visible pixels around the holes (nearest where undefined)
rowwise        linear interpolation along the detector row (LI-MAR, Kalender 1987)
biharmonic     scikit-image's biharmonic inpainting, frame by frame
telea          OpenCV's fast-marching inpainting (Telea 2004), frame by frame
navier-stokes  OpenCV's Navier–Stokes inpainting (Bertalmio et al. 2001), frame by frame
temporal       the same pixel in the nearest frames before and after where it is visible,
               blended linearly in time
spatiotemporal biharmonic inpainting of the whole (T, H, W) volume
============== ==========================================================================

Every method has a denoised variant, ``inpaint(frames, holes, method=m, smooth=σ)``:
the holes are filled by the method from the frames whose visible pixels were
smoothed by a normalised-convolution Gaussian of σ pixels
(:func:`xinpaint.baselines.denoise.smooth_visible`, Knutsson & Westin 1993); the
visible pixels of the output stay the input's (noisy) values. In the evaluation
tables such a variant is named ``"<method> (σ <sigma>)"``:

=========================== ===============================================================
method                      what fills a hidden pixel
=========================== ===============================================================
``<method> (σ <sigma>)``    ``<method>`` applied to the frames smoothed with σ, e.g.
                            ``biharmonic (σ 0.75)``; :func:`smoothed` makes one for the
                            evaluation runner, :func:`choose_smoothing` picks σ on
                            training sequences
=========================== ===============================================================

:func:`inpaint_sinograms` applies a frame method to each detector row's sinogram (the row
over all gantry angles, where a metal trace is a band) instead of to each projection; its
name in the tables is ``"<method> (sinogram plane)"`` (:func:`sinogram_name`).

The mask convention of the package holds: ``holes`` is boolean, True where metal
hides a pixel. Every method returns a new floating-point array whose visible pixels
are bit-identical to the input's.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from xinpaint.baselines.denoise import (
    SmoothingChoice,
    check_frames_holes,
    choose_smoothing,
    parse_method,
    smooth_visible,
    smoothed,
    smoothed_name,
)
from xinpaint.baselines.sinogram import SINOGRAM_PLANE, inpaint_sinograms, sinogram_name

__all__ = [
    "CLASSICAL_NAMES",
    "CV_INPAINT_RADIUS",
    "LINEAR_RING_WIDTH",
    "METHODS",
    "SINOGRAM_PLANE",
    "SmoothingChoice",
    "choose_smoothing",
    "inpaint",
    "inpaint_sinograms",
    "is_classical",
    "parse_method",
    "sinogram_name",
    "smooth_visible",
    "smoothed",
    "smoothed_name",
]

#: The classical methods known to :func:`inpaint`, in the order the book reports them.
METHODS = (
    "nearest",
    "linear",
    "rowwise",
    "biharmonic",
    "telea",
    "navier-stokes",
    "temporal",
    "spatiotemporal",
)

#: The names the chapters' records give the classical methods: :data:`METHODS`, and the MAR
#: methods of :mod:`xinpaint.baselines.mar` as the reconstruction chapter names them.
CLASSICAL_NAMES = (*METHODS, "li-mar", "nmar")


def is_classical(method: str) -> bool:
    """Whether a method name of a chapter's record is a classical method.

    One of :data:`CLASSICAL_NAMES`, its denoised variant (``"biharmonic (σ 0.75)"``), or
    its fill of the sinograms (``"biharmonic (sinogram plane)"``: :func:`sinogram_name`).

    Examples
    --------
    >>> is_classical("biharmonic (σ 0.75)"), is_classical("nmar"), is_classical("hybrid 2D")
    (True, True, False)
    >>> is_classical("biharmonic (sinogram plane)"), is_classical("hybrid (sinogram plane)")
    (True, False)
    """
    method = method.removesuffix(f" ({SINOGRAM_PLANE})")
    return method.split(" (σ")[0] in CLASSICAL_NAMES


#: Width (pixels) of the ring of visible pixels around each hole that ``linear`` triangulates.
LINEAR_RING_WIDTH = 2

#: Neighbourhood radius (pixels) given to ``cv2.inpaint`` for ``telea`` and ``navier-stokes``.
CV_INPAINT_RADIUS = 3

#: OpenCV's grey-level range: the float image is mapped affinely onto it (see ``_opencv``).
_CV_RANGE = 65535.0


def inpaint(frames, holes, *, method, smooth=0.0):
    """Fill the holes of one X-ray frame or of a sequence with a classical method.

    Parameters
    ----------
    frames : (H, W) or (T, H, W) array_like of float
        One frame or a sequence of frames (normalised line integrals). Values under
        the holes are ignored (they may be NaN).
    holes : ndarray of bool, same shape as ``frames``
        True where metal hides a pixel.
    method : str
        One of :data:`METHODS`:

        ``"nearest"``
            Each hidden pixel takes the value of the nearest visible pixel of its
            frame (ties broken by :func:`scipy.ndimage.distance_transform_edt`).
        ``"linear"``
            Piecewise-linear interpolation over the Delaunay triangulation of the
            visible pixels within :data:`LINEAR_RING_WIDTH` pixels of each connected
            hole (the interpolant only needs the hole's border, and the ring keeps it
            fast), as :func:`scipy.interpolate.griddata` with ``method="linear"``
            computes it on those points; hidden pixels outside the triangulation's
            convex hull (holes at the image border) fall back to ``"nearest"``.
        ``"rowwise"``
            Linear interpolation along each detector row between the visible pixels
            left and right of the hole, the projection-domain linear interpolation of
            metal artefact reduction [1]_; a hole reaching the row's end is filled
            with the row's last visible value, and a row with no visible pixel falls
            back to ``"nearest"``.
        ``"biharmonic"``
            :func:`skimage.restoration.inpaint_biharmonic` [2]_ on each frame, with
            ``split_into_regions=True`` (each connected hole solved on its own
            bounding box; the same linear system, so the same result to rounding).
        ``"telea"``, ``"navier-stokes"``
            :func:`cv2.inpaint` with ``INPAINT_TELEA`` [3]_ or ``INPAINT_NS`` [4]_ and
            radius :data:`CV_INPAINT_RADIUS`. To keep float precision, each frame is
            mapped affinely from the range of its visible pixels onto [0, 65535] and
            passed as float32 (not quantised); the result is mapped back. OpenCV's
            Telea code rounds as if values were grey levels, and on [0, 1] data its
            error is about 100 times larger than on this 16-bit scale.
        ``"temporal"``
            For a (T, H, W) sequence, each hidden pixel is interpolated linearly in
            time between the same pixel in the nearest earlier and later frames where
            it is visible (copied where it is visible on one side only). No motion
            compensation. Pixels hidden in every frame (and all pixels of a single
            (H, W) frame) fall back to ``"biharmonic"`` in their frame, after the
            temporal fill.
        ``"spatiotemporal"``
            :func:`skimage.restoration.inpaint_biharmonic` on the whole (T, H, W)
            volume, with the frame index as a third axis of unit step; on one (H, W)
            frame it equals ``"biharmonic"``.
    smooth : float
        σ in pixels of a Gaussian that smooths the visible pixels of each frame
        before the method fills the holes from them (normalised convolution [5]_,
        :func:`~xinpaint.baselines.denoise.smooth_visible`): the denoised variant
        of the method, for noisy frames. Only the filled values change; the visible
        pixels of the output are the input's. 0 (the default) fills from the frames
        as given.

    Returns
    -------
    out : ndarray of float
        A new array of the shape of ``frames``: float32 for float32 (and smaller)
        input, float64 for float64 and integers wider than 16 bits. Visible pixels
        are bit-identical to ``frames``. Empty ``holes`` give a copy of ``frames``.

    Raises
    ------
    ValueError
        If ``frames`` is not 2D or 3D, ``holes`` is not boolean or not of the
        frames' shape, ``method`` is unknown, a visible pixel is not finite, or
        ``smooth`` is negative or not finite, or
        the holes leave nothing to interpolate from (a whole frame hidden for the
        frame-by-frame methods; the whole sequence for ``"temporal"`` and
        ``"spatiotemporal"``).

    References
    ----------
    .. [1] W. A. Kalender, R. Hebel and J. Ebersberger, "Reduction of CT artifacts
           caused by metallic implants", Radiology 164(2), 576–577, 1987.
           :DOI:`10.1148/radiology.164.2.3602406`
    .. [2] S. B. Damelin and N. S. Hoang, "On Surface Completion and Image
           Inpainting by Biharmonic Functions: Numerical Aspects", International
           Journal of Mathematics and Mathematical Sciences, 2018, 3950312.
           :DOI:`10.1155/2018/3950312`
    .. [3] A. Telea, "An Image Inpainting Technique Based on the Fast Marching
           Method", Journal of Graphics Tools 9(1), 23–34, 2004.
           :DOI:`10.1080/10867651.2004.10487596`
    .. [4] M. Bertalmio, A. L. Bertozzi and G. Sapiro, "Navier-Stokes, fluid
           dynamics, and image and video inpainting", CVPR 2001.
           :DOI:`10.1109/CVPR.2001.990497`
    .. [5] H. Knutsson and C.-F. Westin, "Normalized and differential convolution",
           CVPR 1993, 515–523. :DOI:`10.1109/CVPR.1993.341081`

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1))
    >>> holes = np.zeros(frame.shape, dtype=bool)
    >>> holes[3:5, 2:6] = True
    >>> out = inpaint(frame, holes, method="rowwise")
    >>> bool(np.allclose(out, frame, atol=1e-6))
    True
    >>> noisy = frame + np.random.default_rng(0).normal(0, 0.01, frame.shape).astype(np.float32)
    >>> out = inpaint(noisy, holes, method="biharmonic", smooth=0.75)
    >>> bool((out[~holes] == noisy[~holes]).all())
    True
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"Unknown method: expected one of {', '.join(METHODS)}. Received method={method!r}."
        )
    if (
        isinstance(smooth, bool)
        or not isinstance(smooth, int | float | np.integer | np.floating)
        or not np.isfinite(smooth)
        or smooth < 0
    ):
        raise ValueError(
            f"Expected a non-negative, finite smoothing sigma in pixels. Received smooth={smooth!r}."
        )
    frames = np.asarray(frames)
    if frames.ndim in (2, 3) and not (np.issubdtype(frames.dtype, np.floating)
                                      or np.issubdtype(frames.dtype, np.integer)):
        raise ValueError(f"Expected real-valued frames. Received frames.dtype={frames.dtype}.")
    frames, holes = check_frames_holes(frames, holes)
    dtype = np.result_type(frames.dtype, np.float32)
    visible = frames[~holes]
    if visible.size and not np.isfinite(visible).all():
        bad = int(np.count_nonzero(~np.isfinite(visible)))
        raise ValueError(
            f"Expected finite values in the visible pixels of frames. Received {bad} "
            f"non-finite visible value(s), e.g. {visible[~np.isfinite(visible)][0]!r}."
        )
    stack = frames.reshape((-1, *frames.shape[-2:]))
    hstack = holes.reshape(stack.shape)
    if method in ("temporal", "spatiotemporal"):
        if hstack.all():
            raise ValueError(
                "Nothing to interpolate from: holes cover every pixel of frames. "
                f"Received holes.all()=True for holes.shape={holes.shape}."
            )
    else:
        full = np.flatnonzero(hstack.all(axis=(1, 2)))
        if full.size:
            where = "the frame" if frames.ndim == 2 else f"frame {int(full[0])}"
            raise ValueError(
                f"Nothing to interpolate from: holes cover all of {where} for method={method!r}. "
                f"Received holes{'' if frames.ndim == 2 else f'[{int(full[0])}]'}.all()=True."
            )

    out = np.array(frames, dtype=dtype, copy=True)
    if not holes.any():
        return out
    work = stack.astype(np.float64)
    work[hstack] = 0.0  # hidden values never reach a method
    if smooth > 0:  # the denoised variant: fill from smoothed visible pixels
        work = smooth_visible(work, hstack, sigma=float(smooth))
    if method == "temporal":
        filled = _temporal(work, hstack)
    elif method == "spatiotemporal":
        filled = _biharmonic(work, hstack)
    else:
        fill = _FRAME_METHODS[method]
        filled = np.empty_like(work)
        for t in range(work.shape[0]):
            filled[t] = fill(work[t], hstack[t]) if hstack[t].any() else work[t]
    out[holes] = filled.reshape(frames.shape)[holes].astype(dtype)
    return out


def _nearest(frame, holes):
    idx = ndi.distance_transform_edt(holes, return_distances=False, return_indices=True)
    return frame[tuple(idx)]


def _linear(frame, holes):
    """Piecewise-linear fill from a Delaunay triangulation of each hole's ring.

    Each connected hole is triangulated on its own ring of visible pixels; hidden
    pixels are located in the triangles with matplotlib's trapezoid-map finder and
    weighted barycentrically in NumPy. (``scipy.interpolate.LinearNDInterpolator``
    gives the same values, but its point location computes per-triangle transforms
    through multithreaded LAPACK, which took seconds per frame on a busy 2-core
    machine.)
    """
    from matplotlib.tri import TrapezoidMapTriFinder, Triangulation
    from scipy.spatial import Delaunay, QhullError  # here: the CLI's other methods skip its import

    out = frame.copy()
    labels, _ = ndi.label(holes, structure=np.ones((3, 3), dtype=bool))
    filled = np.zeros(holes.shape, dtype=bool)
    pad = LINEAR_RING_WIDTH
    for k, box in enumerate(ndi.find_objects(labels), start=1):
        box = tuple(slice(max(b.start - pad, 0), b.stop + pad) for b in box)
        component = labels[box] == k
        ring = ndi.binary_dilation(component, iterations=pad) & ~holes[box]
        points = np.argwhere(ring).astype(np.float64)
        if len(points) < 3:
            continue
        try:
            simplices = Delaunay(points).simplices
        except QhullError:  # collinear ring (e.g. a hole one pixel from a thin image's edge)
            continue
        corners = points[simplices]
        e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        simplices, corners, det = simplices[det != 0], corners[det != 0], det[det != 0]
        if len(simplices) == 0:
            continue
        targets = np.argwhere(component)
        finder = TrapezoidMapTriFinder(
            Triangulation(points[:, 1], points[:, 0], triangles=simplices)
        )
        tri = finder(targets[:, 1].astype(np.float64), targets[:, 0].astype(np.float64))
        inside = tri >= 0
        targets, tri = targets[inside], tri[inside]
        a, b, c = corners[tri, 0], corners[tri, 1], corners[tri, 2]
        d = targets - a
        w1 = (d[:, 0] * (c - a)[:, 1] - d[:, 1] * (c - a)[:, 0]) / det[tri]
        w2 = ((b - a)[:, 0] * d[:, 1] - (b - a)[:, 1] * d[:, 0]) / det[tri]
        values = frame[box][ring][simplices[tri]]
        rows, cols = targets[:, 0] + box[0].start, targets[:, 1] + box[1].start
        out[rows, cols] = (1 - w1 - w2) * values[:, 0] + w1 * values[:, 1] + w2 * values[:, 2]
        filled[rows, cols] = True
    missing = holes & ~filled
    if missing.any():  # outside the ring's convex hull, e.g. holes at the image border
        out[missing] = _nearest(frame, holes)[missing]
    return out


def _interp_along(values, holes, axis):
    """Linear interpolation along ``axis`` between the nearest visible samples.

    Returns the filled array and a mask of the samples with no visible sample on
    either side along ``axis`` (left as they were).
    """
    values = np.moveaxis(values, axis, -1)
    holes = np.moveaxis(holes, axis, -1)
    n = values.shape[-1]
    pos = np.broadcast_to(np.arange(n), values.shape)
    prev = np.maximum.accumulate(np.where(holes, -1, pos), axis=-1)
    nxt = np.flip(
        np.minimum.accumulate(np.flip(np.where(holes, n, pos), axis=-1), axis=-1), axis=-1
    )
    has_prev, has_next = prev >= 0, nxt < n
    v_prev = np.take_along_axis(values, np.clip(prev, 0, n - 1), axis=-1)
    v_next = np.take_along_axis(values, np.clip(nxt, 0, n - 1), axis=-1)
    w = np.where(has_prev & has_next, (pos - prev) / np.maximum(nxt - prev, 1), 0.0)
    blend = (1.0 - w) * v_prev + w * v_next
    filled = np.where(has_prev & has_next, blend, np.where(has_prev, v_prev, v_next))
    orphan = holes & ~has_prev & ~has_next
    filled = np.where(holes & ~orphan, filled, values)
    return np.moveaxis(filled, -1, axis), np.moveaxis(orphan, -1, axis)


def _rowwise(frame, holes):
    filled, orphan = _interp_along(frame, holes, axis=1)
    if orphan.any():
        filled[orphan] = _nearest(frame, holes)[orphan]
    return filled


def _biharmonic(image, holes):
    from skimage.restoration import inpaint_biharmonic

    return inpaint_biharmonic(image, holes, split_into_regions=True)


def _opencv(frame, holes, flag):
    import cv2

    visible = frame[~holes]
    lo, hi = float(visible.min()), float(visible.max())
    scale = _CV_RANGE / (hi - lo) if hi > lo else 1.0
    src = ((frame - lo) * scale).astype(np.float32)
    src[holes] = 0.0
    res = cv2.inpaint(src, holes.astype(np.uint8), CV_INPAINT_RADIUS, flag)
    return res.astype(np.float64) / scale + lo


def _telea(frame, holes):
    import cv2

    return _opencv(frame, holes, cv2.INPAINT_TELEA)


def _navier_stokes(frame, holes):
    import cv2

    return _opencv(frame, holes, cv2.INPAINT_NS)


def _temporal(stack, holes):
    filled, orphan = _interp_along(stack, holes, axis=0)
    if orphan.any():
        for t in range(stack.shape[0]):
            if orphan[t].any():
                filled[t] = _biharmonic(filled[t], orphan[t])
    return filled


_FRAME_METHODS = {
    "nearest": _nearest,
    "linear": _linear,
    "rowwise": _rowwise,
    "biharmonic": _biharmonic,
    "telea": _telea,
    "navier-stokes": _navier_stokes,
}

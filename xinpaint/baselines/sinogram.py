"""Classical inpainting in the sinogram plane: each detector row over all gantry angles.

A C-arm sequence ``(T, H, W)`` holds, for each detector row ``v``, a sinogram
``frames[:, v, :]`` of shape ``(T, W)``: the row seen from every angle, where a metal
object's trace is a band that moves smoothly with the angle. Interpolating the metal
trace there, rather than in each projection, is how projection-domain metal artefact
reduction works on fan-beam CT (Kalender et al. 1987; NMAR, Meyer et al. 2010), and the
plane that sinogram-inpainting networks learn in (Ghani & Karl 2020; partial convolutions on
sinograms, arXiv:1911.05530).
:func:`inpaint_sinograms` applies a frame method of :func:`xinpaint.baselines.inpaint` to
every such sinogram, so that the frame-by-frame and the sinogram-plane fills of the same
method can be compared on the same holes.
"""

from __future__ import annotations

import numpy as np

from xinpaint.baselines.denoise import check_frames_holes

__all__ = ["SINOGRAM_PLANE", "inpaint_sinograms", "sinogram_name"]

#: The suffix of a method's name in the chapters' records when it fills the sinograms.
SINOGRAM_PLANE = "sinogram plane"

#: Methods that already use the time axis: they have no sinogram-plane variant.
_WHOLE_SEQUENCE = ("temporal", "spatiotemporal")


def sinogram_name(method: str) -> str:
    """The name the evaluation tables give ``method`` applied in the sinogram plane.

    Examples
    --------
    >>> sinogram_name("biharmonic")
    'biharmonic (sinogram plane)'
    """
    return f"{method} ({SINOGRAM_PLANE})"


def inpaint_sinograms(frames, holes, *, method: str = "biharmonic", smooth: float = 0.0):
    """Fill the holes of a sequence with a frame method applied to each detector row's sinogram.

    Parameters
    ----------
    frames : (T, H, W) array_like of float
        A sequence of projections (gantry angle, detector row, detector column), in
        the order of the angles. Values under the holes are ignored. With one frame,
        each sinogram is one detector row, filled along the row.
    holes : ndarray of bool, shape (T, H, W)
        True where metal hides a pixel.
    method : str
        A frame-by-frame method of :func:`xinpaint.baselines.inpaint` (``"biharmonic"``,
        ``"rowwise"``, ``"linear"``, ...), applied to each ``(T, W)`` sinogram
        ``frames[:, v, :]`` as if it were a frame. ``"rowwise"`` there interpolates along
        the detector row (the same as frame by frame); ``"biharmonic"`` across angles and
        columns at once.
    smooth : float
        σ (pixels, in the sinogram plane: one angle step by one column) of the
        denoised variant, as in :func:`xinpaint.baselines.inpaint`.

    Returns
    -------
    out : ndarray of float
        A new array of the shape of ``frames``, of :func:`~xinpaint.baselines.inpaint`'s
        dtype; visible pixels bit-identical to ``frames``.

    Raises
    ------
    ValueError
        If ``frames`` is not a (T, H, W) sequence, ``holes`` is
        not boolean or not of its shape, ``method`` is not a frame method, or a
        detector row is hidden at every angle and column (nothing to interpolate from).

    References
    ----------
    .. [1] W. A. Kalender, R. Hebel and J. Ebersberger, "Reduction of CT artifacts
           caused by metallic implants", Radiology 164(2), 576–577, 1987.
           :DOI:`10.1148/radiology.164.2.3602406`
    .. [2] E. Meyer, R. Raupach, M. Lell, B. Schmidt and M. Kachelrieß, "Normalized
           metal artifact reduction (NMAR) in computed tomography", Medical Physics
           37(10), 5482–5493, 2010. :DOI:`10.1118/1.3484090`
    .. [3] M. U. Ghani and W. C. Karl, "Fast enhanced CT metal artifact reduction
           using data domain deep learning", IEEE Transactions on Computational
           Imaging 6, 181–193, 2020. :DOI:`10.1109/TCI.2019.2937221`

    Examples
    --------
    A field linear in the angle and the column is recovered by biharmonic inpainting
    of its sinograms:

    >>> t, v, u = np.meshgrid(np.arange(12), np.arange(4), np.arange(16), indexing="ij")
    >>> frames = (0.01 * t + 0.02 * u + 0.1).astype(np.float32)
    >>> holes = np.zeros(frames.shape, bool)
    >>> holes[4:7, :, 5:9] = True
    >>> out = inpaint_sinograms(np.where(holes, 0, frames), holes)
    >>> bool(np.abs(out - frames).max() < 1e-5)
    True
    """
    from xinpaint.baselines import METHODS, inpaint

    frames, holes = check_frames_holes(frames, holes)
    if frames.ndim != 3:
        raise ValueError("Expected a sequence of shape (T, H, W): the sinogram of a detector row spans "
                         f"the angles. Received frames.shape={frames.shape}.")
    frame_methods = [m for m in METHODS if m not in _WHOLE_SEQUENCE]
    if method not in frame_methods:
        raise ValueError(f"Expected a frame method for the sinograms: one of {', '.join(frame_methods)}. "
                         f"Received method={method!r}.")
    full = np.flatnonzero(holes.all(axis=(0, 2)))
    if full.size:
        raise ValueError("Expected every detector row to have a visible pixel at some angle. "
                         f"Received holes[:, {int(full[0])}, :].all()=True.")
    sinograms = inpaint(np.moveaxis(frames, 1, 0), np.moveaxis(holes, 1, 0), method=method,
                        smooth=smooth)
    return np.ascontiguousarray(np.moveaxis(sinograms, 0, 1))

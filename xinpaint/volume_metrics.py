"""Image quality of reconstructed volumes (HU): PSNR, SSIM, MAE and a streak index.

:func:`volume_metrics` compares a volume with a reference of the same grid, both in
Hounsfield units (e.g. the FDK of the metal-free frames and the FDK of the corrected
frames), as metal artefact reduction papers report them, with the hygiene their
readers ask for: one stated HU window, one SSIM data range, the metal excluded.

* Both volumes are clipped to ``hu_range`` (default -1000 to 2000 HU, air to dense
  bone); ``R = hu_range[1] - hu_range[0]`` is the data range.
* Voxels scored: inside ``body`` (default all), outside the metal dilated by
  ``margin_mm`` (nothing can be recovered inside the metal, and its edge depends on
  the segmentation).
* ``psnr``: ``10 log10(R**2 / MSE)`` over those voxels (dB).
* ``ssim``: scikit-image's ``structural_similarity`` of the clipped volumes in 3D
  (7×7×7 uniform window, K1 = 0.01, K2 = 0.03, ``data_range = R``), the mean of its
  SSIM map over those voxels (borders included, which scikit-image's own mean crops).
* ``mae_hu``: mean absolute error (HU) over those voxels.
* ``streak_index_hu``: the standard deviation (HU) of the error ``volume - reference``
  in a ring of ``ring_mm`` around the dilated metal (inside the body): streaks are
  bright and dark bands radiating from the metal, so they raise the spread of the
  error next to it, while a constant offset does not. Taking the error rather than
  the volume's own HU removes the anatomy's own variation. NaN without ``metal``.

References
----------
Wang, Z., Bovik, A. C., Sheikh, H. R., & Simoncelli, E. P. (2004). Image quality
assessment: from error visibility to structural similarity. IEEE TIP 13(4), 600–612.
https://doi.org/10.1109/TIP.2003.819861
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["HU_RANGE", "metal_regions", "volume_metrics"]

#: Default HU window of :func:`volume_metrics`: air to dense bone.
HU_RANGE = (-1000.0, 2000.0)


def _spacing(spacing_mm, *volumes):
    if spacing_mm is None:
        for v in volumes:
            if hasattr(v, "spacing_mm"):
                spacing_mm = v.spacing_mm
                break
        else:
            spacing_mm = 1.0
    values = (spacing_mm,) * 3 if np.ndim(spacing_mm) == 0 else tuple(spacing_mm)
    if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"Expected spacing_mm as one positive number or three. "
                         f"Received spacing_mm={spacing_mm!r}.")
    return tuple(float(v) for v in values)


def metal_regions(metal, *, spacing_mm=1.0, margin_mm: float = 2.0, ring_mm: float = 10.0):
    """The metal dilated by ``margin_mm`` and the ring of ``ring_mm`` around it.

    Returns ``(near, ring)``: boolean volumes of the voxels within ``margin_mm`` of a
    metal voxel (the metal included), and those farther than ``margin_mm`` but within
    ``margin_mm + ring_mm`` (Euclidean distance between voxel centres, in mm).
    """
    import scipy.ndimage as ndi

    metal = np.asarray(metal, dtype=bool)
    spacing = _spacing(spacing_mm)
    if not metal.any():
        return np.zeros(metal.shape, bool), np.zeros(metal.shape, bool)
    distance = ndi.distance_transform_edt(~metal, sampling=spacing)
    near = distance <= margin_mm
    return near, ~near & (distance <= margin_mm + ring_mm)


def volume_metrics(reference_hu, volume_hu, *, body=None, metal=None, spacing_mm=None,
                   margin_mm: float = 2.0, ring_mm: float = 10.0, hu_range=HU_RANGE) -> dict:
    """PSNR, SSIM, mean absolute error and streak index of a volume against a reference.

    Parameters
    ----------
    reference_hu, volume_hu : (X, Y, Z) array_like
        HU volumes of one grid (arrays or
        :class:`~xinpaint.reconstruction.ReconstructedVolume`), each at least 7 voxels
        along every axis (the SSIM window).
    body : (X, Y, Z) ndarray of bool, optional
        The voxels to score (default all).
    metal : (X, Y, Z) ndarray of bool, optional
        Metal voxels: excluded with a margin, and the centre of the streak index's ring.
    spacing_mm : float or tuple of 3 float, optional
        Voxel size (mm), for the margins; default the volumes' ``spacing_mm``, else 1.
    margin_mm, ring_mm : float
        Dilation of the metal excluded from the scores, and width of the ring of the
        streak index around it (see :func:`metal_regions`).
    hu_range : (float, float)
        The HU window both volumes are clipped to; its width is the data range.

    Returns
    -------
    dict
        ``psnr`` (dB), ``ssim``, ``mae_hu``, ``streak_index_hu`` (NaN without metal
        or an empty ring), ``voxels`` and ``ring_voxels`` (counts), ``hu_range``.

    Raises
    ------
    ValueError
        Volumes of different shapes or not 3D, non-finite values, masks that are not
        boolean or not of the volumes' shape, nothing left to score, or a bad
        ``hu_range``, ``margin_mm`` or ``ring_mm``.

    Examples
    --------
    >>> ref = np.zeros((16, 16, 16), np.float32)
    >>> out = ref + 30.0
    >>> m = volume_metrics(ref, out)
    >>> round(m["psnr"], 2), round(m["mae_hu"], 1)
    (40.0, 30.0)
    """
    from skimage.metrics import structural_similarity

    spacing = _spacing(spacing_mm, reference_hu, volume_hu)
    ref = np.asarray(reference_hu, dtype=np.float64)
    vol = np.asarray(volume_hu, dtype=np.float64)
    if ref.ndim != 3:
        raise ValueError(f"Expected 3D volumes (X, Y, Z). Received reference_hu.shape={ref.shape}.")
    if vol.shape != ref.shape:
        raise ValueError(f"Expected volume_hu of the reference's shape {ref.shape}. "
                         f"Received volume_hu.shape={vol.shape}.")
    if min(ref.shape) < 7:
        raise ValueError(f"Expected at least 7 voxels along each axis (the SSIM window). "
                         f"Received reference_hu.shape={ref.shape}.")
    for name, arr in (("reference_hu", ref), ("volume_hu", vol)):
        if not np.isfinite(arr).all():
            raise ValueError(f"Expected finite values. Received {name} with NaN or infinity.")
    try:
        lo, hi = (float(v) for v in hu_range)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"Expected hu_range as (low, high) with low < high. Received hu_range={hu_range!r}.")
    for name, value in (("margin_mm", margin_mm), ("ring_mm", ring_mm)):
        if not (np.isscalar(value) and math.isfinite(value) and value >= 0):
            raise ValueError(f"Expected a non-negative {name}. Received {name}={value!r}.")
    masks = {}
    for name, mask in (("body", body), ("metal", metal)):
        if mask is None:
            continue
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != ref.shape:
            raise ValueError(f"Expected {name} as a boolean volume of shape {ref.shape}. "
                             f"Received {name} of shape {mask.shape} and dtype {mask.dtype}.")
        masks[name] = mask
    inside = masks.get("body", np.ones(ref.shape, bool))
    if "metal" in masks:
        near, ring = metal_regions(masks["metal"], spacing_mm=spacing, margin_mm=margin_mm,
                                   ring_mm=ring_mm)
    else:
        near, ring = np.zeros(ref.shape, bool), np.zeros(ref.shape, bool)
    scored = inside & ~near
    if not scored.any():
        raise ValueError("Nothing to score: the body minus the dilated metal is empty. "
                         f"Received body with {int(inside.sum())} voxel(s) and margin_mm={margin_mm!r}.")
    ring &= inside
    data_range = hi - lo
    r, v = np.clip(ref, lo, hi), np.clip(vol, lo, hi)
    error = v - r
    mse = float(np.mean(error[scored] ** 2))
    _, ssim_map = structural_similarity(r, v, data_range=data_range, full=True)
    return {
        "psnr": math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse),
        "ssim": float(np.mean(ssim_map[scored])),
        "mae_hu": float(np.mean(np.abs(error[scored]))),
        "streak_index_hu": float(np.std(error[ring])) if ring.any() else math.nan,
        "voxels": int(scored.sum()),
        "ring_voxels": int(ring.sum()),
        "hu_range": (lo, hi),
    }

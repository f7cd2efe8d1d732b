"""Analytic ellipsoid phantoms: exact projections and voxelised references, with RTK.

An :class:`Ellipsoid` is given in the CT's frame (x, y in the plane of rotation, z the
rotation axis; mm from the isocentre) and adds ``mu`` (1/mm) inside. Its projections
are exact chord lengths (RTK's ``RayEllipsoidIntersectionImageFilter``), so a test of a
reconstruction does not depend on a voxel projector; its voxelised image (RTK's
``DrawEllipsoidImageFilter``, voxel centres inside) is the reference volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xinpaint.data.projection import LINE_INTEGRAL_SCALE, MU_WATER
from xinpaint.reconstruction.cone_beam import (
    ReconstructedVolume,
    _projection_image,
    _triple,
    _volume_source,
)
from xinpaint.reconstruction.geometry import scan_geometry

__all__ = ["Ellipsoid", "draw_ellipsoids", "project_ellipsoids"]


@dataclass(frozen=True)
class Ellipsoid:
    """An axis-aligned ellipsoid of uniform added attenuation.

    Parameters
    ----------
    centre_mm : tuple of 3 float
        Centre (CT x, y, z; mm from the isocentre).
    axes_mm : tuple of 3 float
        Semi-axes along x, y, z (mm), positive.
    mu : float
        Attenuation added inside (1/mm); negative values carve holes.
    """

    centre_mm: tuple
    axes_mm: tuple
    mu: float

    def __post_init__(self):
        centre = tuple(float(c) for c in self.centre_mm)
        if len(centre) != 3 or not np.isfinite(centre).all():
            raise ValueError(f"Expected centre_mm as three numbers. Received centre_mm={self.centre_mm!r}.")
        object.__setattr__(self, "centre_mm", centre)
        object.__setattr__(self, "axes_mm", _triple(self.axes_mm, "axes_mm"))
        object.__setattr__(self, "mu", float(self.mu))

    @classmethod
    def of_hu(cls, centre_mm, axes_mm, hu: float, *, inside_hu: float = -1000.0,
              mu_water: float = MU_WATER) -> Ellipsoid:
        """The ellipsoid that turns ``inside_hu`` (default air) into ``hu``."""
        return cls(centre_mm, axes_mm, mu_water * (hu - inside_hu) / 1000.0)

    def rtk_centre(self) -> list:
        x, y, z = self.centre_mm
        return [x, z, y]  # CT y is RTK's z, CT z (the rotation axis) is RTK's y

    def rtk_axes(self) -> list:
        ax, ay, az = self.axes_mm
        return [ax, az, ay]


def project_ellipsoids(ellipsoids, geometry, *, pitch_mm=None, detector_shape=None,
                       scale: float = LINE_INTEGRAL_SCALE) -> np.ndarray:
    """Exact frames (T, H, W) of a sum of ellipsoids: line integrals divided by ``scale``.

    Rows are head-to-feet (flipped against RTK's ``v``), as the package's frames are;
    values are not clipped. ``geometry`` is anything :func:`scan_geometry` takes
    (``pitch_mm`` and ``detector_shape`` for an RTK geometry).

    Examples
    --------
    >>> from xinpaint.data import CArmGeometry
    >>> g = CArmGeometry(detector_shape=(32, 32), n_frames=2)
    >>> frames = project_ellipsoids([Ellipsoid((0, 0, 0), 50, 0.02)], g)  # doctest: +SKIP
    >>> round(float(frames.max()) * 10, 2)  # doctest: +SKIP
    2.0
    """
    import itk
    from itk import RTK as rtk

    image_type = itk.Image[itk.F, 3]
    scan = scan_geometry(geometry, detector_shape=detector_shape, pitch_mm=pitch_mm)
    h, w = scan.detector_shape
    image = _projection_image(np.zeros((scan.n_frames, h, w), np.float32), scan)
    for ellipsoid in ellipsoids:
        ray = rtk.RayEllipsoidIntersectionImageFilter[image_type, image_type].New()
        ray.SetInput(image)
        ray.SetGeometry(scan.rtk_geometry())
        ray.SetDensity(ellipsoid.mu)
        ray.SetCenter(ellipsoid.rtk_centre())
        ray.SetAxis(ellipsoid.rtk_axes())
        ray.Update()
        image = ray.GetOutput()
        image.DisconnectPipeline()
    stack = np.array(itk.array_from_image(image), dtype=np.float32)
    return np.ascontiguousarray(stack[:, ::-1] / np.float32(scale))


def draw_ellipsoids(ellipsoids, *, voxels, spacing_mm, centre_mm=(0.0, 0.0, 0.0),
                    mu_water: float = MU_WATER) -> ReconstructedVolume:
    """The voxelised phantom on a CT grid (voxel centres inside an ellipsoid get its ``mu``).

    Returns a :class:`ReconstructedVolume` (HU from ``mu_water``, air outside every
    ellipsoid) on the grid :func:`~xinpaint.reconstruction.fdk` would use with the
    same ``voxels``, ``spacing_mm`` and ``centre_mm``.
    """
    import itk
    from itk import RTK as rtk

    image_type = itk.Image[itk.F, 3]
    voxels = _triple(voxels, "voxels", integer=True)
    spacing = _triple(spacing_mm, "spacing_mm")
    centre = tuple(float(c) for c in centre_mm)
    source = _volume_source(voxels, spacing, centre)
    source.Update()
    image = source.GetOutput()
    for ellipsoid in ellipsoids:
        draw = rtk.DrawEllipsoidImageFilter[image_type, image_type].New()
        draw.SetInput(image)
        draw.SetDensity(ellipsoid.mu)
        draw.SetCenter(ellipsoid.rtk_centre())
        draw.SetAxis(ellipsoid.rtk_axes())
        draw.Update()
        image = draw.GetOutput()
        image.DisconnectPipeline()
    mu = np.transpose(itk.array_from_image(image), (2, 0, 1))
    hu = (1000.0 * (mu / float(mu_water) - 1.0)).astype(np.float32)
    origin = tuple(c - (n - 1) * s / 2 for c, n, s in zip(centre, voxels, spacing, strict=True))
    return ReconstructedVolume(np.ascontiguousarray(hu), spacing, origin, float(mu_water))

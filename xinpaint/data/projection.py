"""Forward projection of CT volumes into X-ray frames with RTK's Joseph projector.

Attenuation: ``mu = MU_WATER * (1 + HU / 1000)``, clipped at 0 (air and the region
outside the scanner's field of view attenuate nothing). ``MU_WATER`` = 0.02 /mm, water's
linear attenuation coefficient near 70 keV. A frame holds the line integral of ``mu``
along each ray (dimensionless), divided by :data:`LINE_INTEGRAL_SCALE` = 10 and clipped
to [0, 1]: one fixed scale for every frame of every sequence (a ray through 35 cm of
chest integrates to about 7), so frames can be compared and models trained across
sequences.
"""

from __future__ import annotations

import numpy as np

from xinpaint.data.geometry import CArmGeometry

__all__ = ["LINE_INTEGRAL_SCALE", "MU_WATER", "forward_project", "hu_to_mu", "volume_image"]

MU_WATER = 0.02
LINE_INTEGRAL_SCALE = 10.0


def hu_to_mu(hu: np.ndarray) -> np.ndarray:
    """Linear attenuation (1/mm) from Hounsfield units: ``0.02 * (1 + HU / 1000)``, ≥ 0."""
    return np.clip(MU_WATER * (1.0 + np.asarray(hu, np.float32) / 1000.0), 0.0, None)


def volume_image(values_xyz: np.ndarray, spacing_xyz, *, centre_xyz_mm=None):
    """An ITK image in RTK's frame from a CT-ordered array ``[x, y, z]``.

    CT ``z`` (long axis) goes on RTK's rotation axis ``y``; CT ``y`` on RTK's ``z``. The
    point ``centre_xyz_mm`` (CT voxel coordinates times spacing, default the volume's
    centre) is put on the isocentre.
    """
    import itk

    values = np.ascontiguousarray(np.transpose(values_xyz, (1, 2, 0)), dtype=np.float32)
    image = itk.image_from_array(values)  # array [z_itk, y_itk, x_itk] = [ct y, ct z, ct x]
    sx, sy, sz = (float(s) for s in spacing_xyz)
    image.SetSpacing([sx, sz, sy])
    nx, ny, nz = values_xyz.shape
    if centre_xyz_mm is None:
        centre_xyz_mm = ((nx - 1) * sx / 2, (ny - 1) * sy / 2, (nz - 1) * sz / 2)
    cx, cy, cz = centre_xyz_mm
    image.SetOrigin([-cx, -cz, -cy])
    return image


def forward_project(volume, geometry: CArmGeometry) -> np.ndarray:
    """Line integrals (T, H, W) of an ITK volume (RTK frame) for every frame of ``geometry``."""
    import itk
    from itk import RTK as rtk

    image_type = itk.Image[itk.F, 3]
    h, w = geometry.detector_shape
    u0, v0 = geometry.detector_origin()
    source = rtk.ConstantImageSource[image_type].New()
    source.SetOrigin([u0, v0, 0.0])
    source.SetSpacing([geometry.pitch, geometry.pitch, 1.0])
    source.SetSize([w, h, geometry.n_frames])
    source.SetConstant(0.0)
    projector = rtk.JosephForwardProjectionImageFilter[image_type, image_type].New()
    projector.SetInput(0, source.GetOutput())
    projector.SetInput(1, volume)
    projector.SetGeometry(geometry.rtk_geometry())
    projector.Update()
    return np.array(itk.array_from_image(projector.GetOutput()), dtype=np.float32)

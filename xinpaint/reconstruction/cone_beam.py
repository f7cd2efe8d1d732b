"""From projections to volumes: FDK cone-beam reconstruction with RTK.

:func:`fdk` reconstructs a stack of frames (normalised line integrals, the package's
convention) into a volume of Hounsfield units, in the CT's axis order ``[x, y, z]``
used by :func:`xinpaint.data.projection.volume_image`: it is that function's inverse
up to the reconstruction's blur. The scan geometry is a
:class:`~xinpaint.data.CArmGeometry`, an RTK ``ThreeDCircularProjectionGeometry``, or the
path of an RTK geometry XML file (:func:`read_geometry`, :func:`write_geometry`).

Conventions, as in :mod:`xinpaint.data.projection`:

* a frame holds the line integral of ``mu`` (1/mm) divided by ``scale``
  (:data:`~xinpaint.data.projection.LINE_INTEGRAL_SCALE` = 10);
* frame rows run from head (row 0) to feet, i.e. flipped against RTK's detector
  ``v`` axis: frame ``t`` is ``projection[t, ::-1]`` of RTK's stack;
* RTK's rotation axis ``y`` is the CT's long axis ``z``; the CT's ``y`` is RTK's ``z``;
* ``HU = 1000 (mu / mu_water - 1)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xinpaint.data.projection import LINE_INTEGRAL_SCALE, MU_WATER
from xinpaint.reconstruction.geometry import ScanGeometry, check_frames, check_short_scan

__all__ = ["DEFAULT_HANN_CUT", "ReconstructedVolume", "backproject_holes", "fdk", "volume_grid"]

#: Default ramp apodisation of :func:`fdk`: a Hann window reaching 0 at Nyquist.
DEFAULT_HANN_CUT = 1.0

@dataclass
class ReconstructedVolume:
    """A reconstructed volume in Hounsfield units.

    Attributes
    ----------
    hu : ndarray of float32
        (X, Y, Z) Hounsfield units in the CT's axis order: ``x`` and ``y`` in the plane
        of rotation, ``z`` the rotation axis (the patient's long axis).
    spacing_mm : tuple of float
        Voxel size along x, y, z (mm).
    origin_mm : tuple of float
        Position of the centre of voxel ``[0, 0, 0]`` relative to the isocentre, along
        the CT's x, y, z (mm).
    mu_water : float
        The water attenuation (1/mm) that defined the HU.
    """

    hu: np.ndarray
    spacing_mm: tuple
    origin_mm: tuple
    mu_water: float = MU_WATER

    def __array__(self, dtype=None, copy=None):
        return self.hu if dtype is None else self.hu.astype(dtype)

    @property
    def shape(self) -> tuple:
        return self.hu.shape

    @property
    def mu(self) -> np.ndarray:
        """Linear attenuation (1/mm), not clipped (FDK under-shoots below 0 near edges)."""
        return (self.mu_water * (1.0 + self.hu / 1000.0)).astype(np.float32)

    @property
    def centre_mm(self) -> tuple:
        """Where the isocentre lies in the volume: CT voxel coordinates times spacing (mm),
        as :func:`~xinpaint.data.projection.volume_image` takes ``centre_xyz_mm``."""
        return tuple(-float(o) for o in self.origin_mm)

    def image(self, values_xyz=None):
        """An ITK image in RTK's frame of ``values_xyz`` (default :attr:`mu`) on this grid."""
        from xinpaint.data.projection import volume_image

        values = self.mu if values_xyz is None else values_xyz
        return volume_image(values, self.spacing_mm, centre_xyz_mm=self.centre_mm)

    def affine(self) -> np.ndarray:
        """4×4 voxel-index-to-mm matrix (CT axes, isocentre at 0), for NIfTI."""
        affine = np.diag([*self.spacing_mm, 1.0])
        affine[:3, 3] = self.origin_mm
        return affine

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the HU volume as NIfTI (``.nii``, ``.nii.gz``, with :meth:`affine`) or ``.npy``.

        The file is written under a temporary name and renamed, so a failure leaves no
        partial file. Raises ``FileExistsError`` for an existing ``path`` without
        ``overwrite``, ``ValueError`` for another suffix.
        """
        path = Path(path)
        name = path.name.lower()
        if not name.endswith((".nii", ".nii.gz", ".npy")):
            raise ValueError(f"Expected a volume file ending in .nii, .nii.gz or .npy. "
                             f"Received path={str(path)!r}.")
        if path.exists() and not overwrite:
            raise FileExistsError(f"The output exists; pass overwrite=True to replace it. "
                                  f"Received path={str(path)!r}.")
        tmp = path.with_name(f".part-{path.name}")
        try:
            if name.endswith(".npy"):
                with open(tmp, "wb") as fh:
                    np.save(fh, self.hu)
            else:
                import nibabel as nib

                image = nib.Nifti1Image(self.hu.astype(np.float32), self.affine())
                image.header.set_xyzt_units("mm")
                nib.save(image, tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path


def _triple(value, name, *, integer=False):
    try:
        raw = (value,) * 3 if np.ndim(value) == 0 else tuple(value)
        values = tuple(float(v) for v in raw)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"Expected {name} as one positive number or three (x, y, z). "
                         f"Received {name}={value!r}.")
    if integer:
        if any(v != round(v) for v in values):
            raise ValueError(f"Expected whole numbers of voxels. Received {name}={value!r}.")
        return tuple(int(v) for v in values)
    return values


def volume_grid(scan: ScanGeometry, voxels=None, spacing_mm=None, *, downsample: int = 1):
    """The default grid of a scan: ``W × W × H`` voxels of ``pitch / magnification``
    (the detector's field of view at the isocentre), coarsened by ``downsample``."""
    h, w = scan.detector_shape
    if voxels is None:
        voxels = (max(w // downsample, 1), max(w // downsample, 1), max(h // downsample, 1))
    voxels = _triple(voxels, "voxels", integer=True)
    if spacing_mm is None:
        fov = (w * scan.pitch / scan.magnification, w * scan.pitch / scan.magnification,
               h * scan.pitch / scan.magnification)
        spacing_mm = tuple(f / n for f, n in zip(fov, voxels, strict=True))
    return voxels, _triple(spacing_mm, "spacing_mm")


def fdk(
    frames,
    geometry,
    *,
    voxels=None,
    spacing_mm=None,
    centre_mm=(0.0, 0.0, 0.0),
    pitch_mm=None,
    scale: float = LINE_INTEGRAL_SCALE,
    mu_water: float = MU_WATER,
    hann_cut: float = DEFAULT_HANN_CUT,
    short_scan: bool = True,
) -> ReconstructedVolume:
    """Reconstruct frames into a volume of Hounsfield units (FDK, RTK).

    Parameters
    ----------
    frames : (T, H, W) array_like of float
        Normalised line integrals, one frame per projection of ``geometry``, rows
        head-to-feet as :func:`~xinpaint.data.simulate_sequence` makes them.
    geometry : CArmGeometry, ScanGeometry, rtk.ThreeDCircularProjectionGeometry or path
        The scan; a path is read with :func:`read_geometry`.
    voxels : int or tuple of 3 int, optional
        Grid size along the CT's x, y, z. Default ``(W, W, H)``.
    spacing_mm : float or tuple of 3 float, optional
        Voxel size (mm). Default: the detector's field of view at the isocentre
        (``W * pitch / magnification`` in x and y, ``H * pitch / magnification`` in z)
        divided by ``voxels``.
    centre_mm : tuple of 3 float
        Where the volume's centre lies relative to the isocentre (CT x, y, z; mm).
    pitch_mm : float, optional
        Detector pixel size (mm); needed when ``geometry`` is RTK's or a file.
    scale : float
        What the frames' line integrals were divided by
        (:data:`~xinpaint.data.projection.LINE_INTEGRAL_SCALE`).
    mu_water : float
        Water's attenuation (1/mm) for the HU scale; a polychromatic simulation passes
        the effective value of its spectrum. Default
        :data:`~xinpaint.data.projection.MU_WATER`.
    hann_cut : float in [0, 1]
        Apodisation of the ramp filter (RTK's ``HannCutFrequency``): the ramp is
        multiplied by ``0.5 (1 + cos(pi f / f_c))`` up to ``f_c = hann_cut × Nyquist``
        and set to 0 above it; 0 disables the window (the plain Ram-Lak ramp). The
        default 1 is a Hann window over the whole band: less noise and ringing at the
        cost of a little resolution.
    short_scan : bool
        Weight the redundant rays of a short scan with Parker's weights [2]_ (RTK's
        ``ParkerShortScanImageFilter``); a full scan (largest angular gap below 20°) is
        left unweighted, as RTK does. A short scan needs an arc of at least 180° plus
        the fan angle. False skips the weights (limited-angle or full scans).

    Returns
    -------
    ReconstructedVolume
        ``hu`` (X, Y, Z) float32 in the CT's axis order (the inverse of
        :func:`~xinpaint.data.projection.volume_image`), ``spacing_mm``, ``origin_mm``.
        Outside the field of view the volume is air (-1000 HU).

    Raises
    ------
    ValueError
        Frames that are not (T, H, W) or hold NaN, a frame count or detector shape
        that differs from the geometry's, a geometry file RTK cannot read, a missing
        ``pitch_mm`` for an RTK geometry, bad ``voxels``, ``spacing_mm``, ``scale``,
        ``mu_water`` or ``hann_cut``, or an arc too short for a short scan.

    References
    ----------
    .. [1] L. A. Feldkamp, L. C. Davis and J. W. Kress, "Practical cone-beam
           algorithm", J. Opt. Soc. Am. A 1(6), 612–619, 1984.
           :DOI:`10.1364/JOSAA.1.000612`
    .. [2] D. L. Parker, "Optimal short scan convolution reconstruction for fan beam
           CT", Medical Physics 9(2), 254–257, 1982. :DOI:`10.1118/1.595078`
    .. [3] S. Rit, M. Vila Oliva, S. Brousmiche, R. Labarbe, D. Sarrut and G. C. Sharp,
           "The Reconstruction Toolkit (RTK), an open-source cone-beam CT reconstruction
           toolkit based on the Insight Toolkit (ITK)", J. Phys.: Conf. Ser. 489,
           012079, 2014. :DOI:`10.1088/1742-6596/489/1/012079`

    Examples
    --------
    >>> from xinpaint.data import CArmGeometry
    >>> geometry = CArmGeometry(detector_shape=(64, 64), n_frames=90, arc_degrees=200)
    >>> frames = np.zeros((90, 64, 64), np.float32)  # an empty scan: air
    >>> volume = fdk(frames, geometry, voxels=32)  # doctest: +SKIP
    >>> volume.hu.shape, float(volume.hu.mean())  # doctest: +SKIP
    ((32, 32, 32), -1000.0)
    """
    frames, scan = check_frames(frames, geometry, pitch_mm=pitch_mm)
    if not np.isfinite(frames).all():
        raise ValueError("Expected finite frames. Received frames with NaN or infinity.")
    for name, value in (("scale", scale), ("mu_water", mu_water)):
        if isinstance(value, bool) or not (np.isscalar(value) and math.isfinite(value) and value > 0):
            raise ValueError(f"Expected a positive {name}. Received {name}={value!r}.")
    if isinstance(hann_cut, bool) or not (np.isscalar(hann_cut) and 0.0 <= float(hann_cut) <= 1.0):
        raise ValueError(f"Expected hann_cut in [0, 1] (a fraction of Nyquist; 0 = no window). "
                         f"Received hann_cut={hann_cut!r}.")
    voxels, spacing = volume_grid(scan, voxels, spacing_mm)
    try:
        centre = tuple(float(c) for c in centre_mm)
    except (TypeError, ValueError):
        centre = ()
    if len(centre) != 3 or not all(math.isfinite(c) for c in centre):
        raise ValueError(f"Expected centre_mm as three numbers (x, y, z). Received centre_mm={centre_mm!r}.")
    if short_scan:
        check_short_scan(scan)
    mu = _fdk_mu(frames, scan, voxels, spacing, centre, float(scale), float(hann_cut), bool(short_scan))
    hu = (1000.0 * (mu / float(mu_water) - 1.0)).astype(np.float32)
    origin = tuple(c - (n - 1) * s / 2 for c, n, s in zip(centre, voxels, spacing, strict=True))
    return ReconstructedVolume(hu, spacing, origin, float(mu_water))


def _projection_image(stack: np.ndarray, scan: ScanGeometry):
    import itk

    image = itk.image_from_array(np.ascontiguousarray(stack, dtype=np.float32))
    image.SetSpacing([scan.pitch, scan.pitch, 1.0])
    image.SetOrigin([float(scan.origin[0]), float(scan.origin[1]), 0.0])
    return image


def _volume_source(voxels, spacing, centre):
    """RTK-frame constant image on the CT grid (CT x → RTK x, z → y, y → z)."""
    import itk
    from itk import RTK as rtk

    nx, ny, nz = voxels
    sx, sy, sz = spacing
    cx, cy, cz = centre
    source = rtk.ConstantImageSource[itk.Image[itk.F, 3]].New()
    source.SetOrigin([cx - (nx - 1) * sx / 2, cz - (nz - 1) * sz / 2, cy - (ny - 1) * sy / 2])
    source.SetSpacing([sx, sz, sy])
    source.SetSize([nx, nz, ny])
    source.SetConstant(0.0)
    return source


def _fdk_mu(frames, scan, voxels, spacing, centre, scale, hann_cut, short_scan) -> np.ndarray:
    """Attenuation (1/mm) on the CT grid ``[x, y, z]``."""
    import itk
    from itk import RTK as rtk

    image_type = itk.Image[itk.F, 3]
    projections = _projection_image(np.asarray(frames, np.float32)[:, ::-1] * np.float32(scale), scan)
    geometry = scan.rtk_geometry()
    if short_scan:
        parker = rtk.ParkerShortScanImageFilter[image_type].New()
        parker.SetInput(projections)
        parker.SetGeometry(geometry)
        projections = parker.GetOutput()
    source = _volume_source(voxels, spacing, centre)
    recon = rtk.FDKConeBeamReconstructionFilter[image_type].New()
    recon.SetInput(0, source.GetOutput())
    recon.SetInput(1, projections)
    recon.SetGeometry(geometry)
    recon.GetRampFilter().SetHannCutFrequency(hann_cut)
    recon.Update()
    values = itk.array_from_image(recon.GetOutput())  # [ct y, ct z, ct x]
    return np.ascontiguousarray(np.transpose(values, (2, 0, 1)), dtype=np.float32)


def backproject_holes(holes, scan: ScanGeometry, voxels, spacing, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Fraction (X, Y, Z) of the frames in which each voxel's centre projects into a hole.

    A plain voxel-driven back projection (RTK's ``BackProjectionImageFilter``, bilinear
    in the detector) of the boolean holes, divided by the number of frames: voxels at 1
    are inside the metal's visual hull.
    """
    import itk
    from itk import RTK as rtk

    image_type = itk.Image[itk.F, 3]
    holes = np.asarray(holes, dtype=bool)
    stack = _projection_image(holes[:, ::-1].astype(np.float32), scan)
    source = _volume_source(voxels, spacing, centre)
    back = rtk.BackProjectionImageFilter[image_type, image_type].New()
    back.SetInput(0, source.GetOutput())
    back.SetInput(1, stack)
    back.SetGeometry(scan.rtk_geometry())
    back.Update()
    values = itk.array_from_image(back.GetOutput())
    return np.ascontiguousarray(np.transpose(values, (2, 0, 1)), dtype=np.float32) / holes.shape[0]

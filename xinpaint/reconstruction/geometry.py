"""Scan geometries for reconstruction: RTK's circular geometry with its detector grid.

:class:`ScanGeometry` pairs an RTK ``ThreeDCircularProjectionGeometry`` with the detector
grid (shape, pitch, origin) it projects onto, and has the attributes of
:class:`~xinpaint.data.CArmGeometry` that :func:`~xinpaint.data.projection.forward_project`
uses. :func:`read_geometry` and :func:`write_geometry` read and write RTK's XML files.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ScanGeometry", "check_frames", "check_short_scan", "read_geometry", "scan_geometry",
           "write_geometry"]

#: RTK's own rule (``ParkerShortScanImageFilter``): a largest angular gap below this is
#: a full scan, which Parker weighting leaves untouched.
_FULL_SCAN_GAP_DEGREES = 20.0


@dataclass(frozen=True)
class ScanGeometry:
    """An RTK geometry with the detector grid it projects onto.

    It has the attributes of :class:`~xinpaint.data.CArmGeometry` that
    :func:`~xinpaint.data.projection.forward_project` uses (``detector_shape``,
    ``pitch``, ``n_frames``, ``detector_origin()``, ``rtk_geometry()``), so volumes can
    be projected with any geometry RTK describes.

    Attributes
    ----------
    rtk : rtk.ThreeDCircularProjectionGeometry
        One projection per frame.
    detector_shape : tuple of int
        (H, W) pixels.
    pitch : float
        Pixel size (mm), the same along rows and columns.
    origin : tuple of float
        Physical (u, v) of the centre of pixel (0, 0) of RTK's stack, in mm.
    """

    rtk: object
    detector_shape: tuple
    pitch: float
    origin: tuple

    @property
    def n_frames(self) -> int:
        return len(self.rtk.GetGantryAngles())

    def rtk_geometry(self):
        return self.rtk

    def detector_origin(self) -> tuple[float, float]:
        return self.origin

    @property
    def angles(self) -> np.ndarray:
        """Gantry angles (degrees, in [0, 360)) of the frames."""
        return np.degrees(np.asarray(self.rtk.GetGantryAngles(), dtype=np.float64))

    @property
    def arc_degrees(self) -> float:
        """Angular range covered: 360° minus the largest gap between sorted angles."""
        angles = np.unique(np.round(self.angles % 360.0, 9))
        if len(angles) < 2:
            return 0.0
        return float(360.0 - self._largest_gap(angles))

    @property
    def is_short_scan(self) -> bool:
        """True when the largest angular gap is 20° or more (RTK's rule for Parker weights)."""
        angles = np.unique(np.round(self.angles % 360.0, 9))
        return len(angles) < 2 or self._largest_gap(angles) >= _FULL_SCAN_GAP_DEGREES

    @staticmethod
    def _largest_gap(sorted_angles) -> float:
        return float(np.max(np.diff(np.r_[sorted_angles, sorted_angles[0] + 360.0])))

    @property
    def fan_angle_degrees(self) -> float:
        """Full fan angle: ``2 atan(w / sdd)``, ``w`` the distance from the detector
        centre (the ray through the isocentre) to the nearer outer pixel centre."""
        w = self.detector_shape[1]
        u0 = self.origin[0] + np.median(self.rtk.GetProjectionOffsetsX())
        half = min(abs(u0), abs(u0 + (w - 1) * self.pitch))
        sdd = float(np.median(self.rtk.GetSourceToDetectorDistances()))
        return float(2.0 * math.degrees(math.atan(half / sdd)))

    @property
    def magnification(self) -> float:
        sdd = np.asarray(self.rtk.GetSourceToDetectorDistances(), dtype=np.float64)
        sid = np.asarray(self.rtk.GetSourceToIsocenterDistances(), dtype=np.float64)
        return float(np.median(sdd / sid))


def read_geometry(path: str | os.PathLike):
    """Read an RTK geometry XML file (``ThreeDCircularProjectionGeometryXMLFileReader``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If RTK cannot read it as a geometry (the message names the path).

    Examples
    --------
    >>> geometry = read_geometry("geometry.xml")  # doctest: +SKIP
    >>> len(geometry.GetGantryAngles())  # doctest: +SKIP
    200
    """
    from itk import RTK as rtk

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such geometry file: path={str(path)!r}.")
    reader = rtk.ThreeDCircularProjectionGeometryXMLFileReader.New()
    reader.SetFilename(str(path))
    try:
        reader.GenerateOutputInformation()
    except Exception as err:  # RTK raises RuntimeError (ITK exceptions) with a long trace
        first = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise ValueError(f"RTK could not read the geometry file ({first.strip()}). "
                         f"Received path={str(path)!r}.") from None
    geometry = reader.GetOutputObject()
    if geometry is None or len(geometry.GetGantryAngles()) == 0:
        raise ValueError(f"RTK could not read the geometry file (no projection in it). "
                         f"Received path={str(path)!r}.")
    return geometry


def write_geometry(geometry, path: str | os.PathLike) -> Path:
    """Write a geometry as RTK's XML (``ThreeDCircularProjectionGeometryXMLFileWriter``).

    ``geometry`` is a :class:`~xinpaint.data.CArmGeometry`, a :class:`ScanGeometry` or an
    RTK ``ThreeDCircularProjectionGeometry``. The detector grid is not part of RTK's
    file: :func:`fdk` then needs ``pitch_mm``.
    """
    from itk import RTK as rtk

    path = Path(path)
    rtk_geometry = _rtk_of(geometry)  # held here: the writer keeps a raw pointer to it
    writer = rtk.ThreeDCircularProjectionGeometryXMLFileWriter.New()
    writer.SetFilename(str(path))
    writer.SetObject(rtk_geometry)
    writer.WriteFile()
    return path


def _rtk_of(geometry):
    if hasattr(geometry, "GetGantryAngles"):
        return geometry
    if hasattr(geometry, "rtk_geometry"):
        return geometry.rtk_geometry()
    raise TypeError(f"Expected a CArmGeometry, a ScanGeometry or an RTK geometry. "
                    f"Received geometry of type {type(geometry).__name__}.")


def scan_geometry(geometry, *, detector_shape=None, pitch_mm=None) -> ScanGeometry:
    """A :class:`ScanGeometry` from a CArmGeometry, an RTK geometry or an XML path.

    Parameters
    ----------
    geometry : CArmGeometry, ScanGeometry, rtk.ThreeDCircularProjectionGeometry or path
        The scan.
    detector_shape : tuple of int, optional
        (H, W) of the frames; needed for an RTK geometry or a file (for a CArmGeometry
        it is checked against the geometry's own).
    pitch_mm : float, optional
        Detector pixel size (mm); needed for an RTK geometry or a file, whose detector is
        then centred on the ray through the isocentre (RTK's projection offsets shift it).
    """
    if isinstance(geometry, ScanGeometry):
        scan = geometry
    elif hasattr(geometry, "rtk_geometry") and hasattr(geometry, "detector_origin"):
        scan = ScanGeometry(geometry.rtk_geometry(), tuple(geometry.detector_shape),
                            float(geometry.pitch), tuple(geometry.detector_origin()))
    else:
        if isinstance(geometry, (str, os.PathLike)):
            rtk_geometry = read_geometry(geometry)
        elif hasattr(geometry, "GetGantryAngles"):
            rtk_geometry = geometry
        else:
            raise TypeError(f"Expected a CArmGeometry, an RTK geometry or the path of an RTK "
                            f"geometry XML file. Received geometry of type "
                            f"{type(geometry).__name__}.")
        if pitch_mm is None or detector_shape is None:
            raise ValueError("An RTK geometry does not hold the detector grid: pass pitch_mm "
                             f"(pixel size, mm). Received pitch_mm={pitch_mm!r}.")
        pitch = float(pitch_mm)
        if not (math.isfinite(pitch) and pitch > 0):
            raise ValueError(f"Expected a positive pitch_mm. Received pitch_mm={pitch_mm!r}.")
        h, w = (int(s) for s in detector_shape)
        scan = ScanGeometry(rtk_geometry, (h, w), pitch,
                            (-(w - 1) * pitch / 2, -(h - 1) * pitch / 2))
    if detector_shape is not None and tuple(int(s) for s in detector_shape) != scan.detector_shape:
        raise ValueError(f"Expected frames of the geometry's detector shape {scan.detector_shape}. "
                         f"Received frames of shape {tuple(detector_shape)}.")
    return scan


def check_frames(frames, scan_or_geometry, *, pitch_mm=None, name="frames"):
    """Validate a (T, H, W) stack against a geometry; return (float array, ScanGeometry)."""
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise ValueError(f"Expected {name} of shape (T, H, W), one frame per projection. "
                         f"Received {name}.shape={frames.shape}.")
    if not np.issubdtype(frames.dtype, np.number) or frames.dtype == bool:
        raise ValueError(f"Expected real-valued {name}. Received {name}.dtype={frames.dtype}.")
    scan = scan_geometry(scan_or_geometry, detector_shape=frames.shape[1:], pitch_mm=pitch_mm)
    if frames.shape[0] != scan.n_frames:
        raise ValueError(f"Expected one frame per projection of the geometry ({scan.n_frames}). "
                         f"Received {name}.shape={frames.shape}.")
    return frames, scan


def check_short_scan(scan: ScanGeometry) -> None:
    """Raise ValueError if a short scan covers less than 180° plus the fan angle."""
    if not scan.is_short_scan:
        return
    fan = scan.fan_angle_degrees
    arc = scan.arc_degrees
    if arc < 180.0 + fan - 1e-6:
        raise ValueError(
            f"Expected an arc of at least 180° + the fan angle ({fan:.1f}°) = {180 + fan:.1f}° "
            f"for a short scan (Parker weights). Received an arc of {arc:.1f}° from geometry; "
            "pass short_scan=False for a limited-angle reconstruction."
        )

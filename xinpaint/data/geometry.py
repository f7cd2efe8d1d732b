"""The C-arm: a circular cone-beam geometry (RTK's ``ThreeDCircularProjectionGeometry``).

The source turns around the patient's long axis. In RTK's frame the rotation axis is
``y``; the CT is therefore laid out with its ``z`` axis (feet to head) on RTK's ``y``,
its ``x`` (right to left) on RTK's ``x`` and its ``y`` (posterior to anterior) on RTK's
``z``, and centred on the isocentre. At gantry angle 0 the beam is antero-posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CArmGeometry"]


@dataclass(frozen=True)
class CArmGeometry:
    """Distances, detector and angles of one C-arm rotation.

    Parameters
    ----------
    detector_shape : tuple of int
        (H, W) pixels; at least 32 each.
    n_frames : int
        Number of projections (frames), at least 1.
    arc_degrees : float
        Angular range covered by the frames (> 0 and ≤ 360).
    start_degrees : float
        Gantry angle of the first frame.
    sid, sdd : float
        Source–isocentre and source–detector distances (mm).
    detector_size_mm : float
        Physical width (and height) of the detector (mm); the pixel pitch is
        ``detector_size_mm / W``. With the defaults the field of view at the isocentre
        is 160 mm (magnification ``sdd / sid`` = 1.6).
    """

    detector_shape: tuple = (256, 256)
    n_frames: int = 32
    arc_degrees: float = 64.0
    start_degrees: float = 0.0
    sid: float = 750.0
    sdd: float = 1200.0
    detector_size_mm: float = 256.0

    def __post_init__(self):
        shape = tuple(int(s) for s in self.detector_shape)
        if len(shape) != 2 or min(shape) < 32:
            raise ValueError(f"Expected a detector of at least 32×32 pixels. "
                             f"Received detector_shape={self.detector_shape!r}.")
        object.__setattr__(self, "detector_shape", shape)
        if not isinstance(self.n_frames, (int, np.integer)) or self.n_frames < 1:
            raise ValueError(f"Expected at least one frame. Received n_frames={self.n_frames!r}.")
        if not 0 < float(self.arc_degrees) <= 360:
            raise ValueError(f"Expected an arc in (0, 360] degrees. "
                             f"Received arc_degrees={self.arc_degrees!r}.")
        if not 0 < self.sid < self.sdd:
            raise ValueError(f"Expected 0 < sid < sdd. Received sid={self.sid!r}, sdd={self.sdd!r}.")

    @property
    def pitch(self) -> float:
        """Detector pixel size (mm)."""
        return self.detector_size_mm / self.detector_shape[1]

    @property
    def magnification(self) -> float:
        return self.sdd / self.sid

    @property
    def fan_angle_degrees(self) -> float:
        """Full fan angle of the detector's width seen from the source (degrees)."""
        return float(np.degrees(2 * np.arctan(self.detector_size_mm / 2 / self.sdd)))

    @property
    def short_scan_degrees(self) -> float:
        """The arc a short scan needs for a complete reconstruction: 180° plus the fan angle."""
        return 180.0 + self.fan_angle_degrees

    @property
    def frame_spacing_degrees(self) -> float:
        """Gantry angle between neighbouring frames (degrees; the arc for one frame)."""
        return float(self.arc_degrees) / max(self.n_frames - 1, 1)

    def check_short_scan(self, *, argument: str = "arc_degrees") -> None:
        """Raise ``ValueError`` unless the arc covers a short scan (180° + fan angle)."""
        if float(self.arc_degrees) + 1e-6 < self.short_scan_degrees:
            raise ValueError(
                f"Expected an arc of at least 180° + the fan angle ({self.fan_angle_degrees:.1f}°) "
                f"= {self.short_scan_degrees:.1f}° to reconstruct. "
                f"Received {argument}={float(self.arc_degrees):g}.")

    @property
    def angles(self) -> np.ndarray:
        """Gantry angle of each frame (degrees)."""
        if self.n_frames == 1:
            return np.array([self.start_degrees], dtype=np.float64)
        step = self.arc_degrees / (self.n_frames - 1)
        return self.start_degrees + step * np.arange(self.n_frames)

    def rtk_geometry(self):
        """RTK's ``ThreeDCircularProjectionGeometry`` with one projection per frame."""
        from itk import RTK as rtk

        geometry = rtk.ThreeDCircularProjectionGeometry.New()
        for angle in self.angles:
            geometry.AddProjection(self.sid, self.sdd, float(angle))
        return geometry

    def detector_origin(self) -> tuple[float, float]:
        """Physical (u, v) of the centre of pixel (0, 0), in mm."""
        h, w = self.detector_shape
        return (-(w - 1) * self.pitch / 2, -(h - 1) * self.pitch / 2)

    def projection_matrices(self) -> np.ndarray:
        """(T, 3, 4) matrices mapping RTK world points (mm) to detector (u, v) in mm."""
        import itk

        geometry = self.rtk_geometry()
        return np.stack([itk.array_from_matrix(geometry.GetMatrix(i)) for i in range(self.n_frames)])

    def project_points(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates (T, N, 2) as (column, row) of world points (N, 3), RTK frame."""
        matrices = self.projection_matrices()
        homogeneous = np.c_[points, np.ones(len(points))]
        uvw = np.einsum("tij,nj->tni", matrices, homogeneous)
        uv = uvw[..., :2] / uvw[..., 2:3]
        u0, v0 = self.detector_origin()
        return np.stack([(uv[..., 0] - u0) / self.pitch, (uv[..., 1] - v0) / self.pitch], axis=-1)

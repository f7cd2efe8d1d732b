"""From projections to volumes: FDK reconstruction with RTK, geometries and phantoms.

* :func:`fdk` — frames (normalised line integrals) to a volume of Hounsfield units in
  the CT's axis order ``[x, y, z]`` (:class:`ReconstructedVolume`), with Parker
  short-scan weights and a Hann-apodised ramp.
* :class:`ScanGeometry`, :func:`scan_geometry`, :func:`read_geometry`,
  :func:`write_geometry` — RTK geometries (objects or XML files) with their detector grid.
* :func:`project_ellipsoids`, :func:`draw_ellipsoids` — analytic phantoms (RTK's
  ``RayEllipsoidIntersectionImageFilter`` and ``DrawEllipsoidImageFilter``) for tests
  and benchmarks.
"""

from xinpaint.reconstruction.fdk import (
    DEFAULT_HANN_CUT,
    ReconstructedVolume,
    backproject_holes,
    fdk,
    volume_grid,
)
from xinpaint.reconstruction.geometry import (
    ScanGeometry,
    check_frames,
    check_short_scan,
    read_geometry,
    scan_geometry,
    write_geometry,
)
from xinpaint.reconstruction.phantoms import Ellipsoid, draw_ellipsoids, project_ellipsoids

__all__ = [
    "DEFAULT_HANN_CUT",
    "Ellipsoid",
    "ReconstructedVolume",
    "ScanGeometry",
    "backproject_holes",
    "check_frames",
    "check_short_scan",
    "draw_ellipsoids",
    "fdk",
    "project_ellipsoids",
    "read_geometry",
    "scan_geometry",
    "volume_grid",
    "write_geometry",
]

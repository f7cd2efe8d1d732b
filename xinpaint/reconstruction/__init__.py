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

from __future__ import annotations

import importlib

_WHERE = {
    "DEFAULT_HANN_CUT": "cone_beam",
    "ReconstructedVolume": "cone_beam",
    "backproject_holes": "cone_beam",
    "fdk": "cone_beam",
    "volume_grid": "cone_beam",
    "ScanGeometry": "geometry",
    "check_frames": "geometry",
    "check_short_scan": "geometry",
    "read_geometry": "geometry",
    "scan_geometry": "geometry",
    "write_geometry": "geometry",
    "Ellipsoid": "phantoms",
    "draw_ellipsoids": "phantoms",
    "project_ellipsoids": "phantoms",
}


def __getattr__(name):  # lazy: `xinpaint reconstruct --help` imports neither NumPy nor ITK
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_WHERE])


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
